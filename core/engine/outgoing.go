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
	o.key = c.bloom.NewKey(o.id)
	c.outgoing = append(c.outgoing, o)
	c.outIndex.Put(o)
	c.wit.add(o, c.outgoing)
	if c.outLow.IsZero() || o.sendTime.Before(c.outLow) {
		c.outLow = o.sendTime
	}
	return &o.key
}

// supersedeOutgoing removes the unacknowledged message with the id of a
// message being wrapped, which takes its place at the end of the buffer. The
// store keeps outgoing messages by id, so keeping both (as nim-sds does in
// memory) would leave a restart with one of them, and removing the older
// would delete the newer's record. No event fires: the id is still tracked,
// and gets its one acknowledgement or give-up when the newer message does.
func (m *Manager) supersedeOutgoing(c *channel, id string) {
	old := c.outIndex.Get(id)
	if old == nil {
		return
	}
	c.keepOutgoing(func(o *outgoingMsg) bool { return o != old })
	c.unindex(old)
	if m.persist() {
		m.check("removeOutgoing", c.id, m.store.RemoveOutgoing(c.id, id))
	}
}

// dropOldestOutgoing removes the first entry of the outgoing buffer.
func (c *channel) dropOldestOutgoing() *outgoingMsg {
	o := c.outgoing[0]
	c.outgoing[0] = nil
	c.outgoing = c.outgoing[1:]
	c.wit.remove(o, len(c.outgoing))
	if len(c.outgoing) == 0 {
		c.outLow = time.Time{}
	}
	return o
}

// keepOutgoing compacts the outgoing buffer to the entries keep reports true
// for, in order.
func (c *channel) keepOutgoing(keep func(o *outgoingMsg) bool) {
	n := 0
	for i, o := range c.outgoing {
		if keep(o) {
			if n != i { // nothing moves until the first removal (the usual case)
				c.outgoing[n] = o
			}
			n++
		} else {
			c.wit.remove(o, n+len(c.outgoing)-i-1)
		}
	}
	clear(c.outgoing[n:])
	c.outgoing = c.outgoing[:n]
	if n == 0 {
		c.outLow = time.Time{}
	}
}

// unindex removes o from the id index; the caller removes it from the slice.
func (c *channel) unindex(o *outgoingMsg) {
	c.outIndex.Delete(o)
}

// saveOutgoing stores o. A message the log holds (the same bytes under its
// id) is stored once, in the log record: the outgoing record leaves it out.
func (m *Manager) saveOutgoing(c *channel, o *outgoingMsg) {
	e, ok := c.log.Get(o.id)
	m.saveOutgoingRecord(c, o, ok && sameBytes(e.message, o.message))
}

func (m *Manager) saveOutgoingRecord(c *channel, o *outgoingMsg, inLog bool) {
	if m.persist() {
		rec := record.Outgoing{SendTimeMs: o.sendTime.UnixMilli(), ResendAttempts: o.attempts}
		if inLog {
			rec.ID = o.id
		} else {
			rec.Message = o.message
		}
		m.check("saveOutgoing", c.id, m.store.SaveOutgoing(c.id, o.id, rec.Marshal()))
	}
}

// leavingLog stores in full the outgoing entry whose message is the log entry
// e of id, which the log is about to drop or replace. An entry whose body the
// log already let go (MaxHistoryBytes) may have been stored by id: it is
// stored in full too.
func (m *Manager) leavingLog(c *channel, id string, e logEntry) {
	if !m.persistent {
		return // nothing stored: spare the lookup
	}
	if o := c.outIndex.Get(id); o != nil && (e.message == nil || sameBytes(o.message, e.message)) {
		m.saveOutgoingRecord(c, o, false)
	}
}

// sameBytes reports whether a and b are the same slice of memory.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func (m *Manager) removeOutgoing(c *channel, o *outgoingMsg, kind EventKind) {
	c.unindex(o)
	m.emit(Event{Kind: kind, ChannelID: c.id, MessageID: o.id})
	if m.persist() {
		m.check("removeOutgoing", c.id, m.store.RemoveOutgoing(c.id, o.id))
	}
}

// enforceOutgoingBound gives up the oldest messages beyond MaxOutgoingBuffer.
// The entry given up is kept for the next wrap's message (newOutgoing): a
// full buffer gives one up per wrap, which then allocates no entry.
func (m *Manager) enforceOutgoingBound(c *channel) {
	for len(c.outgoing) > m.cfg.MaxOutgoingBuffer {
		o := c.dropOldestOutgoing()
		m.removeOutgoing(c, o, MessageGivenUp)
		c.spareOutgoing = o
	}
}

// newOutgoing returns an empty outgoing entry: the one enforceOutgoingBound
// last gave up, which nothing refers to any more, or a new one.
func (c *channel) newOutgoing() *outgoingMsg {
	o := c.spareOutgoing
	if o == nil {
		return &outgoingMsg{}
	}
	c.spareOutgoing = nil
	*o = outgoingMsg{}
	return o
}

// reviewAcks acknowledges every outgoing message the received message confirms:
// by citing it in its causal history, or by its bloom filter containing it. A
// filter that is malformed or inconsistent counts as no filter. Events follow
// the buffer order, as in nim-sds.
func (m *Manager) reviewAcks(c *channel, msg *wire.Message) {
	if len(c.outgoing) == 0 {
		return
	}
	c.ackGen++
	acked := false
	for i := range msg.CausalHistory {
		id := msg.CausalHistory[i].MessageID
		if !c.wit.ids.mayHold(id) {
			continue // no outgoing entry has it: nearly every citation
		}
		if o := c.outIndex.Get(id); o != nil {
			o.ackMark = c.ackGen
			acked = true
		}
	}
	// A filter larger than any the budgets allow is not parsed: it counts as
	// no filter, so an oversized one costs nothing.
	if len(msg.BloomFilter) > 0 && len(msg.BloomFilter) <= MaxBloomBytes {
		if filter, err := bloom.ParseRemote(msg.BloomFilter); err == nil {
			acked = c.reviewFilter(&filter) || acked
		}
	}
	if !acked {
		return
	}
	c.keepOutgoing(func(o *outgoingMsg) bool {
		if o.ackMark == c.ackGen {
			m.removeOutgoing(c, o, MessageAcknowledged)
			return false
		}
		return true
	})
}

// reviewFilter marks with ackGen the outgoing entries the filter contains and
// reports whether there were any. Only entries whose witness bit the filter
// has set can be in it (see witnesses).
func (c *channel) reviewFilter(f *bloom.Remote) bool {
	acked := false
	if !c.wit.usable(f.MBits(), c.outgoing) {
		for _, o := range c.outgoing {
			if _, ok := f.FirstUnset(&o.key); !ok {
				o.ackMark = c.ackGen
				acked = true
			}
		}
		return acked
	}
	c.wit.candidates(f, c.outgoing, func(o *outgoingMsg) {
		if pos, ok := f.FirstUnset(&o.key); ok {
			c.wit.move(o, pos)
		} else {
			o.ackMark = c.ackGen
			acked = true
		}
	})
	return acked
}

// sweepOutgoing is nim-sds's checkUnacknowledgedMessages: a message unanswered
// for longer than ResendInterval counts one resend attempt (nothing is sent);
// after MaxResendAttempts it is given up.
func (m *Manager) sweepOutgoing(c *channel) {
	now := m.clock.Now()
	c.keepOutgoing(func(o *outgoingMsg) bool {
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
