package engine

import (
	"github.com/logos-messaging/libsds-go/core/bloom"
	"github.com/logos-messaging/libsds-go/core/record"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// addOutgoing appends to the outgoing buffer (duplicate ids are kept, as in
// nim-sds) and indexes the entry by id.
func (c *channel) addOutgoing(o *outgoingMsg) {
	c.outgoing = append(c.outgoing, o)
	o.sameID = c.outIndex[o.id]
	c.outIndex[o.id] = o
}

// unindex removes o from the id index; the caller removes it from the slice.
func (c *channel) unindex(o *outgoingMsg) {
	head := c.outIndex[o.id]
	if head == o {
		if o.sameID != nil {
			c.outIndex[o.id] = o.sameID
		} else {
			delete(c.outIndex, o.id)
		}
		return
	}
	for e := head; e != nil; e = e.sameID {
		if e.sameID == o {
			e.sameID = o.sameID
			return
		}
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
		o := c.outgoing[0]
		c.outgoing[0] = nil
		c.outgoing = c.outgoing[1:]
		m.removeOutgoing(c, o, MessageGivenUp)
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
	if len(msg.BloomFilter) > 0 {
		f, err := bloom.ParseRemote(msg.BloomFilter)
		hasFilter = err == nil
		filter = f
	}
	c.ackGen++
	cited := false
	for i := range msg.CausalHistory {
		for o := c.outIndex[msg.CausalHistory[i].MessageID]; o != nil; o = o.sameID {
			o.ackMark = c.ackGen
			cited = true
		}
	}
	if !cited && !hasFilter {
		return
	}
	kept := c.outgoing[:0]
	for _, o := range c.outgoing {
		if o.ackMark == c.ackGen || (hasFilter && filter.ContainsKey(&o.key)) {
			m.removeOutgoing(c, o, MessageAcknowledged)
			continue
		}
		kept = append(kept, o)
	}
	clear(c.outgoing[len(kept):])
	c.outgoing = kept
}

// sweepOutgoing is nim-sds's checkUnacknowledgedMessages: a message unanswered
// for longer than ResendInterval counts one resend attempt (nothing is sent);
// after MaxResendAttempts it is given up.
func (m *Manager) sweepOutgoing(c *channel) {
	now := m.clock.Now()
	kept := c.outgoing[:0]
	for _, o := range c.outgoing {
		if now.Sub(o.sendTime) <= m.cfg.ResendInterval {
			kept = append(kept, o)
			continue
		}
		m.touch(c)
		if o.attempts < m.cfg.MaxResendAttempts {
			o.attempts++
			o.sendTime = now
			m.saveOutgoing(c, o)
			kept = append(kept, o)
			continue
		}
		m.removeOutgoing(c, o, MessageGivenUp)
	}
	clear(c.outgoing[len(kept):])
	c.outgoing = kept
}
