package engine

import (
	"cmp"
	"slices"

	"github.com/logos-messaging/libsds-go/core/record"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// setMissing records the entries the message still waits for, in citation order.
func (in *incomingMsg) setMissing(deps []wire.HistoryEntry) {
	in.deps = deps
	in.missing = make(map[string]struct{}, len(deps))
	for _, d := range deps {
		in.missing[d.MessageID] = struct{}{}
	}
}

// stillMissing lists the entries still missing, in citation order.
func (in *incomingMsg) stillMissing() []wire.HistoryEntry {
	out := make([]wire.HistoryEntry, 0, len(in.missing))
	for _, d := range in.deps {
		if _, ok := in.missing[d.MessageID]; ok {
			out = append(out, d)
		}
	}
	return out
}

// addIncoming buffers a message. A message already waiting under the same id
// is replaced where it is, keeping its arrival position, as the store keeps
// its record: a restart then releases and evicts in the same order as memory.
func (c *channel) addIncoming(in *incomingMsg) {
	if old, ok := c.incoming.Get(in.id); ok {
		c.forgetWaits(old)
		c.incomingBytes -= old.size
		in.arrival = old.arrival
	} else {
		c.arrivals++
		in.arrival = c.arrivals
	}
	in.size = len(in.message) + entryOverhead
	for i := range in.deps {
		in.size += entrySize(&in.deps[i])
	}
	c.incomingBytes += in.size
	c.incoming.Set(in.id, in)
	for id := range in.missing {
		c.waiting[id] = append(c.waiting[id], in)
	}
}

// forgetIncoming removes a buffered message and its entries in the waiting index.
func (c *channel) forgetIncoming(in *incomingMsg) {
	c.dropIncoming(in)
	c.forgetWaits(in)
}

// forgetWaits removes a buffered message's entries in the waiting index and
// voids any queued reference to it.
func (c *channel) forgetWaits(in *incomingMsg) {
	for id := range in.missing {
		ws := slices.DeleteFunc(c.waiting[id], func(w *incomingMsg) bool { return w == in })
		if len(ws) == 0 {
			delete(c.waiting, id)
		} else {
			c.waiting[id] = ws
		}
	}
	in.released = true // any queued reference is now void
}

func (m *Manager) saveIncoming(c *channel, in *incomingMsg) {
	if m.persist() {
		rec := record.Incoming{Message: in.message, MissingDeps: in.stillMissing()}
		m.check("saveIncoming", c.id, m.store.SaveIncoming(c.id, in.id, rec.Marshal()))
	}
}

func (m *Manager) removeIncoming(c *channel, id string) {
	if m.persist() {
		m.check("removeIncoming", c.id, m.store.RemoveIncoming(c.id, id))
	}
}

// resolve marks id as no longer missing for every buffered message waiting for
// it, saving each, and returns those that now miss nothing, in arrival order.
func (m *Manager) resolve(c *channel, id string) []*incomingMsg {
	ws, ok := c.waiting[id]
	if !ok {
		return nil
	}
	delete(c.waiting, id)
	var ready []*incomingMsg
	for _, w := range ws {
		delete(w.missing, id)
		m.saveIncoming(c, w)
		if len(w.missing) == 0 {
			ready = append(ready, w)
		}
	}
	return ready
}

// release delivers buffered messages that miss nothing, then whatever their
// delivery unblocks, breadth-first in arrival order (nim-sds's
// processIncomingBuffer; where nim's order follows its hash table, ours follows
// arrival). Each delivery fires MessageReady; the released entries leave the
// buffer (and the store) at the end, as in nim-sds.
func (m *Manager) release(c *channel, ready []*incomingMsg) {
	if len(c.unreleased) > 0 {
		ready = append(ready, c.unreleased...)
		c.unreleased = nil
	}
	if len(ready) == 0 {
		return
	}
	slices.SortFunc(ready, func(a, b *incomingMsg) int { return cmp.Compare(a.arrival, b.arrival) })
	var released []*incomingMsg
	for i := 0; i < len(ready); i++ {
		in := ready[i]
		if in.released {
			continue
		}
		in.released = true
		released = append(released, in)
		m.addToHistory(c, in.id, in.senderID, in.message)
		m.emit(Event{Kind: MessageReady, ChannelID: c.id, MessageID: in.id, Content: m.readyContent(in)})
		ready = append(ready, m.resolve(c, in.id)...)
	}
	for _, in := range released {
		c.dropIncoming(in)
		m.removeIncoming(c, in.id)
	}
}

// readyContent is the payload of a released message for its MessageReady
// event when Config.ReadyContent asks for it. The buffer keeps the stored
// encoding, which the engine wrote and can always decode.
func (m *Manager) readyContent(in *incomingMsg) []byte {
	if !m.cfg.ReadyContent {
		return nil
	}
	msg, err := wire.Unmarshal(in.message)
	if err != nil {
		return nil
	}
	return msg.Content
}

// dropIncoming removes a buffered message from the buffer and its byte count.
func (c *channel) dropIncoming(in *incomingMsg) {
	if cur, ok := c.incoming.Get(in.id); ok && cur == in {
		c.incoming.Delete(in.id)
		c.incomingBytes -= in.size
	}
}

// enforceIncomingBound drops the oldest waiting messages beyond
// MaxIncomingBuffer and MaxIncomingBytes.
func (m *Manager) enforceIncomingBound(c *channel) {
	for c.incoming.Len() > m.cfg.MaxIncomingBuffer || c.incomingBytes > m.cfg.MaxIncomingBytes {
		_, in, _ := c.incoming.Oldest()
		c.forgetIncoming(in)
		m.removeIncoming(c, in.id)
		m.emit(Event{Kind: IncomingDropped, ChannelID: c.id, MessageID: in.id})
	}
}
