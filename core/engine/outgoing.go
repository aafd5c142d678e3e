package engine

import (
	"time"

	"github.com/logos-messaging/libsds-go/core/bloom"
	"github.com/logos-messaging/libsds-go/core/record"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// addOutgoing appends to the outgoing buffer, with the id's bloom key, and
// indexes the entry by id. The buffer holds one entry per id (see
// supersedeOutgoing).
func (c *channel) addOutgoing(o *outgoingMsg) *bloom.Key {
	c.outgoing = append(c.outgoing, o)
	c.outKeys = append(c.outKeys, bloom.NewKey(o.id))
	k := &c.outKeys[len(c.outKeys)-1]
	p, _ := k.ProbeFor(c.probeM)
	c.outProbes = append(c.outProbes, p)
	c.outIndex[o.id] = o
	if c.outLow.IsZero() || o.sendTime.Before(c.outLow) {
		c.outLow = o.sendTime
	}
	return k
}

// supersedeOutgoing removes the unacknowledged message with the id of a
// message being wrapped, which takes its place at the end of the buffer. The
// store keeps outgoing messages by id, so keeping both (as nim-sds does in
// memory) would leave a restart with one of them, and removing the older
// would delete the newer's record. No event fires: the id is still tracked,
// and gets its one acknowledgement or give-up when the newer message does.
func (m *Manager) supersedeOutgoing(c *channel, id string) {
	old := c.outIndex[id]
	if old == nil {
		return
	}
	c.keepOutgoing(func(_ int, o *outgoingMsg) bool { return o != old })
	c.unindex(old)
	if m.persist() {
		m.check("removeOutgoing", c.id, m.store.RemoveOutgoing(c.id, id))
	}
}

// probesFor makes the probes valid for filters of m bits; false if m does not
// fit a probe (then ack review tests every key in full).
func (c *channel) probesFor(m uint64) bool {
	if c.probeM == m {
		return m != 0
	}
	for i := range c.outKeys {
		p, ok := c.outKeys[i].ProbeFor(m)
		if !ok {
			c.probeM = 0
			return false
		}
		c.outProbes[i] = p
	}
	c.probeM = m
	return true
}

// dropOldestOutgoing removes the first entry of the outgoing buffer.
func (c *channel) dropOldestOutgoing() *outgoingMsg {
	o := c.outgoing[0]
	c.outgoing[0] = nil
	c.outgoing = c.outgoing[1:]
	c.outKeys = c.outKeys[1:]
	c.outProbes = c.outProbes[1:]
	if len(c.outgoing) == 0 {
		c.outLow = time.Time{}
	}
	return o
}

// keepOutgoing compacts the outgoing buffer to the entries keep reports true
// for, in order, together with their keys.
func (c *channel) keepOutgoing(keep func(i int, o *outgoingMsg) bool) {
	n := 0
	for i, o := range c.outgoing {
		if keep(i, o) {
			if n != i { // nothing moves until the first removal (the usual case)
				c.outgoing[n], c.outKeys[n], c.outProbes[n] = o, c.outKeys[i], c.outProbes[i]
			}
			n++
		}
	}
	clear(c.outgoing[n:])
	c.outgoing, c.outKeys, c.outProbes = c.outgoing[:n], c.outKeys[:n], c.outProbes[:n]
	if n == 0 {
		c.outLow = time.Time{}
	}
}

// unindex removes o from the id index; the caller removes it from the slice.
func (c *channel) unindex(o *outgoingMsg) {
	if c.outIndex[o.id] == o {
		delete(c.outIndex, o.id)
	}
}

func (m *Manager) saveOutgoing(c *channel, o *outgoingMsg) {
	if m.persist() {
		rec := record.Outgoing{Message: o.message, SendTimeMs: o.sendTime.UnixMilli(), ResendAttempts: o.attempts}
		m.check("saveOutgoing", c.id, m.store.SaveOutgoing(c.id, o.id, rec.Marshal()))
	}
}

func (m *Manager) removeOutgoing(c *channel, o *outgoingMsg, kind EventKind) {
	c.unindex(o)
	m.emit(Event{Kind: kind, ChannelID: c.id, MessageID: o.id})
	if m.persist() {
		m.check("removeOutgoing", c.id, m.store.RemoveOutgoing(c.id, o.id))
	}
}

// enforceOutgoingBound gives up the oldest messages beyond MaxOutgoingBuffer.
func (m *Manager) enforceOutgoingBound(c *channel) {
	for len(c.outgoing) > m.cfg.MaxOutgoingBuffer {
		m.removeOutgoing(c, c.dropOldestOutgoing(), MessageGivenUp)
	}
}

// reviewAcks acknowledges every outgoing message the received message confirms:
// by citing it in its causal history, or by its bloom filter containing it. A
// filter that is malformed or inconsistent counts as no filter. Events follow
// the buffer order, as in nim-sds.
func (m *Manager) reviewAcks(c *channel, msg *wire.Message) {
	if len(c.outgoing) == 0 {
		return
	}
	var filter bloom.Remote
	hasFilter := false
	// A filter larger than any the budgets allow is not parsed: it counts as
	// no filter, so an oversized one costs nothing.
	if len(msg.BloomFilter) > 0 && len(msg.BloomFilter) <= MaxBloomBytes {
		f, err := bloom.ParseRemote(msg.BloomFilter)
		hasFilter = err == nil
		filter = f
	}
	c.ackGen++
	cited := false
	for i := range msg.CausalHistory {
		if o := c.outIndex[msg.CausalHistory[i].MessageID]; o != nil {
			o.ackMark = c.ackGen
			cited = true
		}
	}
	if !cited && !hasFilter {
		return
	}
	probes := hasFilter && c.probesFor(filter.MBits())
	c.keepOutgoing(func(i int, o *outgoingMsg) bool {
		if o.ackMark == c.ackGen || (hasFilter && (!probes || filter.MayContain(&c.outProbes[i])) &&
			filter.ContainsKey(&c.outKeys[i])) {
			m.removeOutgoing(c, o, MessageAcknowledged)
			return false
		}
		return true
	})
}

// sweepOutgoing is nim-sds's checkUnacknowledgedMessages: a message unanswered
// for longer than ResendInterval counts one resend attempt (nothing is sent);
// after MaxResendAttempts it is given up.
func (m *Manager) sweepOutgoing(c *channel) {
	now := m.clock.Now()
	c.keepOutgoing(func(_ int, o *outgoingMsg) bool {
		if now.Sub(o.sendTime) <= m.cfg.ResendInterval {
			return true
		}
		m.touch(c)
		if o.attempts < m.cfg.MaxResendAttempts {
			o.attempts++
			o.sendTime = now
			m.saveOutgoing(c, o)
			return true
		}
		m.removeOutgoing(c, o, MessageGivenUp)
		return false
	})
	c.outLow = time.Time{} // the sweep read every send time: make the bound exact
	for _, o := range c.outgoing {
		if c.outLow.IsZero() || o.sendTime.Before(c.outLow) {
			c.outLow = o.sendTime
		}
	}
}
