package engine

import (
	"fmt"
	"time"

	"github.com/logos-messaging/libsds-go/core/wire"
)

// entryOverhead is what the engine counts for one history entry beyond its
// bytes (map and slice slots), so that many empty entries still cost something.
const entryOverhead = 64

// entrySize is the bytes one history entry counts against a byte budget.
func entrySize(e *wire.HistoryEntry) int {
	return len(e.MessageID) + len(e.SenderID) + len(e.RetrievalHint) + entryOverhead
}

// checkShape rejects, before any decoding, a message whose entry counts or
// channel id are over budget.
func (c *Config) checkShape(s wire.Shape) error {
	switch {
	case s.CausalEntries > c.MaxCausalEntries:
		return overBudget("causal history", s.CausalEntries, "entries", "MaxCausalEntries", c.MaxCausalEntries)
	case s.RepairEntries > c.MaxRepairEntries:
		return overBudget("repair request", s.RepairEntries, "entries", "MaxRepairEntries", c.MaxRepairEntries)
	case s.ChannelIDLen > c.MaxChannelIDLength:
		return overBudget("channel id", s.ChannelIDLen, "bytes", "MaxChannelIDLength", c.MaxChannelIDLength)
	}
	return nil
}

// checkIncoming rejects a decoded message with an id, sender id or hint over
// budget.
func (c *Config) checkIncoming(msg *wire.Message) error {
	if err := c.checkID("message id", msg.MessageID); err != nil {
		return err
	}
	if err := c.checkID("sender id", msg.SenderID); err != nil {
		return err
	}
	for _, list := range [][]wire.HistoryEntry{msg.CausalHistory, msg.RepairRequest} {
		for i := range list {
			e := &list[i]
			if err := c.checkID("entry message id", e.MessageID); err != nil {
				return err
			}
			if err := c.checkID("entry sender id", e.SenderID); err != nil {
				return err
			}
			if len(e.RetrievalHint) > c.MaxHintLength {
				return overBudget("retrieval hint", len(e.RetrievalHint), "bytes", "MaxHintLength", c.MaxHintLength)
			}
		}
	}
	return nil
}

func (c *Config) checkID(what, id string) error {
	if len(id) > c.MaxIDLength {
		return overBudget(what, len(id), "bytes", "MaxIDLength", c.MaxIDLength)
	}
	return nil
}

func (c *Config) checkChannelID(id string) error {
	if len(id) > c.MaxChannelIDLength {
		return overBudget("channel id", len(id), "bytes", "MaxChannelIDLength", c.MaxChannelIDLength)
	}
	return nil
}

func overBudget(what string, n int, unit, budget string, limit int) error {
	return fmt.Errorf("%w: %s is %d %s, over the %s budget of %d", ErrMessageTooLarge, what, n, unit, budget, limit)
}

// dedupeEntries removes repeated ids from a causal history in place, keeping
// each id's first citation: a message citing one id a million times costs what
// citing it once does.
func dedupeEntries(es []wire.HistoryEntry) []wire.HistoryEntry {
	if len(es) < 2 {
		return es
	}
	seen := make(map[string]struct{}, len(es))
	n := 0
	for _, e := range es {
		if _, dup := seen[e.MessageID]; dup {
			continue
		}
		seen[e.MessageID] = struct{}{}
		es[n] = e
		n++
	}
	clear(es[n:])
	return es[:n]
}

// trimHistoryBodies lets go of the oldest message bodies of the log until it
// holds at most MaxHistoryBytes. The ids stay: what cites them is delivered.
func (m *Manager) trimHistoryBodies(c *channel) {
	if c.logBytes <= m.cfg.MaxHistoryBytes {
		return
	}
	var strip []string
	excess := c.logBytes - m.cfg.MaxHistoryBytes
	c.log.All(func(id string, e logEntry) bool {
		if e.message == nil {
			return true
		}
		strip = append(strip, id)
		excess -= len(e.message)
		return excess > 0
	})
	for _, id := range strip {
		e, _ := c.log.Get(id)
		c.logBytes -= len(e.message)
		e.message = nil
		c.log.Set(id, e)
	}
}

func inRepairSize(r *inRepair) int { return len(r.message) + entrySize(&r.entry) }

// setInRepair schedules a repair response, keeping the queue's byte count.
func (c *channel) setInRepair(id string, due time.Time, r inRepair) {
	if old, _, ok := c.inRepairs.Get(id); ok {
		c.inRepairBytes -= inRepairSize(&old)
	}
	c.inRepairs.Set(id, due, r)
	c.inRepairBytes += inRepairSize(&r)
}

// deleteInRepair cancels a repair response, keeping the queue's byte count.
func (c *channel) deleteInRepair(id string) bool {
	old, _, ok := c.inRepairs.Get(id)
	if !ok {
		return false
	}
	c.inRepairs.Delete(id)
	c.inRepairBytes -= inRepairSize(&old)
	return true
}

// enforceRepairBounds drops the repair requests and responses beyond
// MaxPendingRepairs and MaxRepairBytes, soonest due first, each reported by a
// RepairDropped event.
func (m *Manager) enforceRepairBounds(c *channel) {
	for c.outRepairs.Len() > m.cfg.MaxPendingRepairs {
		id, _, _, _ := c.outRepairs.Peek()
		c.outRepairs.Delete(id)
		if m.persist() {
			m.check("removeOutgoingRepair", c.id, m.store.RemoveOutgoingRepair(c.id, id))
		}
		m.emit(Event{Kind: RepairDropped, ChannelID: c.id, MessageID: id})
	}
	for c.inRepairs.Len() > m.cfg.MaxPendingRepairs || c.inRepairBytes > m.cfg.MaxRepairBytes {
		id, _, _, _ := c.inRepairs.Peek()
		c.deleteInRepair(id)
		if m.persist() {
			m.check("removeIncomingRepair", c.id, m.store.RemoveIncomingRepair(c.id, id))
		}
		m.emit(Event{Kind: RepairDropped, ChannelID: c.id, MessageID: id})
	}
}
