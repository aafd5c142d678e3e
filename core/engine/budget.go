package engine

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"time"

	"github.com/logos-messaging/libsds-go/core/wire"
	"github.com/logos-messaging/libsds-go/internal/hashset"
)

// entryOverhead is what the engine counts for one history entry beyond its
// bytes (map and slice slots), so that many empty entries still cost something.
const entryOverhead = 64

// entrySize is the bytes one history entry counts against a byte budget.
func entrySize(e *wire.HistoryEntry) int {
	return len(e.MessageID) + len(e.SenderID) + len(e.RetrievalHint) + entryOverhead
}

// MaxFields is how many top-level fields an incoming message may have: its
// entries plus room for the singular fields (repeated, as protobuf allows) and
// unknown ones. Scanning stops beyond it, so that 16 MiB of tiny fields costs
// what a few thousand do.
//
// A 0.4 message carries each causal entry twice (field 3, its id, and field
// 8, its hint and sender), hence two fields per causal entry.
func (c *Config) MaxFields() int { return 2*c.MaxCausalEntries + c.MaxRepairEntries + 64 }

// maxEntryBytes is the longest history entry the id and hint budgets allow.
func (c *Config) maxEntryBytes() int {
	return 3*(1+binary.MaxVarintLen64) + 2*c.MaxIDLength + c.MaxHintLength
}

// checkShape rejects, before any decoding, a message whose field or entry
// counts, entry sizes or ids are over budget: an oversized id is never copied.
func (c *Config) checkShape(s wire.Shape) error {
	switch {
	case s.Fields > c.MaxFields():
		return overBudget("the message", s.Fields, "fields or more",
			"2 × MaxCausalEntries + MaxRepairEntries + 64", c.MaxFields())
	case s.LargestEntry > c.maxEntryBytes():
		return overBudget("a history entry", s.LargestEntry, "bytes",
			"2 × MaxIDLength + MaxHintLength + 33", c.maxEntryBytes())
	case s.CausalEntries > c.MaxCausalEntries:
		return overBudget("causal history", s.CausalEntries, "entries", "MaxCausalEntries", c.MaxCausalEntries)
	case s.RepairEntries > c.MaxRepairEntries:
		return overBudget("repair request", s.RepairEntries, "entries", "MaxRepairEntries", c.MaxRepairEntries)
	case s.ChannelIDLen > c.MaxChannelIDLength:
		return overBudget("channel id", s.ChannelIDLen, "bytes", "MaxChannelIDLength", c.MaxChannelIDLength)
	case s.MessageIDLen > c.MaxIDLength:
		return overBudget("message id", s.MessageIDLen, "bytes", "MaxIDLength", c.MaxIDLength)
	case s.SenderIDLen > c.MaxIDLength:
		return overBudget("sender id", s.SenderIDLen, "bytes", "MaxIDLength", c.MaxIDLength)
	}
	return nil
}

// checkIncoming rejects a decoded message with an id, sender id or hint over
// budget.
func (c *Config) checkIncoming(msg *wire.Message) error {
	// One pass over the lengths clears nearly every message; one over a
	// budget is walked again to report the first excess, in order.
	ids, hints := max(len(msg.MessageID), len(msg.SenderID)), 0
	for _, list := range [2][]wire.HistoryEntry{msg.CausalHistory, msg.RepairRequest} {
		for i := range list {
			ids = max(ids, len(list[i].MessageID), len(list[i].SenderID))
			hints = max(hints, len(list[i].RetrievalHint))
		}
	}
	if ids <= c.MaxIDLength && hints <= c.MaxHintLength {
		return nil
	}
	return c.firstOverBudget(msg)
}

// firstOverBudget is checkIncoming's error: the first id, sender id or hint
// over budget.
func (c *Config) firstOverBudget(msg *wire.Message) error {
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
	if len(es) <= smallHistory {
		return dedupeSmall(es)
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

// smallHistory is the history length up to which dedupeEntries compares
// pairwise instead of building a set: the usual ten entries need no allocation.
const smallHistory = 32

func dedupeSmall(es []wire.HistoryEntry) []wire.HistoryEntry {
	// seen is a one-word Bloom filter of the ids kept: an id whose bit is
	// clear is new, which spares comparing it with every id kept so far.
	var seen uint64
	n := 0
outer:
	for i := range es {
		id := es[i].MessageID
		bit := uint64(1) << (idBits(id) & 63)
		if seen&bit != 0 {
			for k := range es[:n] {
				if es[k].MessageID == id {
					continue outer
				}
			}
		}
		seen |= bit
		if i != n {
			es[n] = es[i]
		}
		n++
	}
	clear(es[n:])
	return es[:n]
}

// idBits mixes an id's length with its last and middle bytes, where ids cited
// together mostly differ (counters, hashes): enough to pick a bit of seen.
func idBits(id string) uint {
	h := uint(len(id))
	if len(id) > 0 {
		h = h*31 + uint(id[len(id)-1])
		h = h*31 + uint(id[len(id)/2])
	}
	return h
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

// evictedFactor is how many log evictions the evicted-id memory spans at
// least, in units of MaxMessageHistory, up to maxEvicted.
const (
	evictedFactor = 10
	maxEvicted    = 100_000
)

// evictedIDs remembers the ids the log let go, as keyed 64-bit hashes, for at
// least the next span = evictedFactor × MaxMessageHistory evictions (span at
// most maxEvicted): a message citing one of them cites a message that was
// delivered here, so it is not missing. Without it a flood of valid messages
// would push honest history out of the log, and the honest peer's next
// message would wait for what it already had.
//
// Two generations of at most span hashes each: a hash joins cur, and when
// cur is full it becomes prev, the older prev being emptied to be the next
// cur. A hash then stays for at least span more evictions, at most 2 × span,
// and an eviction costs one insertion into a set, where a ring of exactly the
// last span hashes with counts would cost an insertion and a deletion, each
// a likely cache miss in a large set.
type evictedIDs struct {
	span      int
	cur, prev *hashset.Set
}

func newEvictedIDs(span int) *evictedIDs {
	return &evictedIDs{span: span, cur: &hashset.Set{}, prev: &hashset.Set{}}
}

func (e *evictedIDs) add(h uint64) {
	if e.cur.Len() >= e.span {
		e.prev, e.cur = e.cur, e.prev
		e.cur.Clear() // keeps its table: the generations are the same size
	}
	e.cur.Add(h)
}

func (e *evictedIDs) has(h uint64) bool {
	return e.cur.Has(h) || e.prev.Has(h)
}

// idHash is id's keyed hash. The key is the manager's, so a peer cannot aim
// for collisions.
func (m *Manager) idHash(id string) uint64 {
	return maphash.String(m.seed, id)
}

// rememberEvicted records an id the log let go.
func (m *Manager) rememberEvicted(c *channel, id string) {
	if c.evicted == nil {
		c.evicted = newEvictedIDs(min(evictedFactor*m.cfg.MaxMessageHistory, maxEvicted))
	}
	c.evicted.add(m.idHash(id))
}

// delivered reports whether id was delivered here: in the log, or let go by it
// recently (see evictedIDs).
func (m *Manager) delivered(c *channel, id string) bool {
	if c.log.Has(id) {
		return true
	}
	if c.evicted == nil {
		return false
	}
	return c.evicted.has(m.idHash(id))
}
