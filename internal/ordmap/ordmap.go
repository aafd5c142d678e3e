// Package ordmap is an insertion-ordered map: O(1) insert, lookup, delete and
// oldest-first eviction, with in-place replacement that keeps an entry's position.
// It models Nim's OrderedTable as nim-sds uses it for the local log, and the
// arrival order of the library's buffers.
package ordmap

import "hash/maphash"

// Map is an insertion-ordered map of string keys. The zero value is not
// usable; call New. It is not safe for concurrent use.
//
// Its index is its own hash table rather than a Go map: the entries are
// linked nodes already, so the table holds pointers to them, found by a
// keyed hash (a peer choosing keys cannot aim for collisions) kept in each
// node. An insertion after a failed lookup reuses the lookup's slot, and an
// eviction finds its slot from the node's hash: the log inserts and evicts
// on every message, which a Go map made cost a lookup more each.
type Map[K ~string, V any] struct {
	seed maphash.Seed
	// slots is open addressing with linear probing, a power of two of them,
	// at most half full; nil is an empty slot. It is allocated with the first
	// entry: many maps (a quiet channel's buffers) never get one.
	slots      []*node[K, V]
	n          int
	head, tail *node[K, V] // head is the oldest entry
	// spare is the node of the last entry deleted, emptied, for the next
	// new key: a bounded map evicts one entry per insertion, which then
	// allocates nothing.
	spare *node[K, V]
}

type node[K ~string, V any] struct {
	key        K
	hash       uint64 // the key's, with the map's seed
	value      V
	prev, next *node[K, V]
}

// minSlots is the index's first size.
const minSlots = 8

// New returns an empty map.
func New[K ~string, V any]() *Map[K, V] {
	return &Map[K, V]{seed: maphash.MakeSeed()}
}

// Len returns the number of entries.
func (m *Map[K, V]) Len() int { return m.n }

// Get returns the value stored under k.
func (m *Map[K, V]) Get(k K) (V, bool) {
	if m.n > 0 {
		if n := m.slots[m.find(k, m.hash(k))]; n != nil {
			return n.value, true
		}
	}
	var zero V
	return zero, false
}

// Has reports whether k is present.
func (m *Map[K, V]) Has(k K) bool {
	return m.n > 0 && m.slots[m.find(k, m.hash(k))] != nil
}

// Set stores v under k. A new key goes to the newest end; an existing key keeps
// its position and only its value is replaced. It reports whether k was new.
func (m *Map[K, V]) Set(k K, v V) bool {
	if m.slots == nil {
		m.grow()
	}
	h := m.hash(k)
	i := m.find(k, h)
	if n := m.slots[i]; n != nil {
		n.value = v
		return false
	}
	m.insert(i, k, h, v)
	return true
}

// Swap is Set returning the value it replaced, if k was present: one lookup
// where Get and Set take two.
func (m *Map[K, V]) Swap(k K, v V) (old V, replaced bool) {
	if m.slots == nil {
		m.grow()
	}
	h := m.hash(k)
	i := m.find(k, h)
	if n := m.slots[i]; n != nil {
		old, n.value = n.value, v
		return old, true
	}
	m.insert(i, k, h, v)
	return old, false
}

// insert adds k, which is not present and whose empty slot find returned as
// i, at the newest end.
func (m *Map[K, V]) insert(i int, k K, h uint64, v V) {
	if 2*(m.n+1) > len(m.slots) {
		m.grow()
		i = m.find(k, h)
	}
	n := m.spare
	if n != nil {
		m.spare = nil
		n.key, n.hash, n.value, n.prev = k, h, v, m.tail
	} else {
		n = &node[K, V]{key: k, hash: h, value: v, prev: m.tail}
	}
	if m.tail != nil {
		m.tail.next = n
	} else {
		m.head = n
	}
	m.tail = n
	m.slots[i] = n
	m.n++
}

// Delete removes k and reports whether it was present.
func (m *Map[K, V]) Delete(k K) bool {
	if m.n == 0 {
		return false
	}
	i := m.find(k, m.hash(k))
	n := m.slots[i]
	if n == nil {
		return false
	}
	m.remove(i, n)
	return true
}

// DeleteOldest removes the entry inserted first and returns it: Oldest and
// Delete without hashing the key.
func (m *Map[K, V]) DeleteOldest() (K, V, bool) {
	n := m.head
	if n == nil {
		var k K
		var v V
		return k, v, false
	}
	k, v := n.key, n.value
	m.remove(m.slotOf(n), n)
	return k, v, true
}

// remove unlinks n, in slot i, and empties the slot.
func (m *Map[K, V]) remove(i int, n *node[K, V]) {
	m.unlink(n)
	m.vacate(i)
	m.n--
	*n = node[K, V]{} // holds nothing of the entry
	m.spare = n
}

// Oldest returns the entry inserted first.
func (m *Map[K, V]) Oldest() (K, V, bool) {
	if m.head == nil {
		var k K
		var v V
		return k, v, false
	}
	return m.head.key, m.head.value, true
}

// All calls yield for each entry from oldest to newest until yield returns false.
// The map must not be modified during the iteration.
func (m *Map[K, V]) All(yield func(K, V) bool) {
	for n := m.head; n != nil; n = n.next {
		if !yield(n.key, n.value) {
			return
		}
	}
}

// Cursor is the position of an entry, for walking the map without a call
// per entry: Last().Prev()... visits it from the newest entry backwards. A
// cursor past either end is not Valid. It must not be used once its entry
// has been deleted.
type Cursor[K ~string, V any] struct{ n *node[K, V] }

// Last returns the position of the newest entry (not Valid if the map is
// empty).
func (m *Map[K, V]) Last() Cursor[K, V] { return Cursor[K, V]{m.tail} }

// Valid reports whether c is at an entry.
func (c Cursor[K, V]) Valid() bool { return c.n != nil }

// Prev returns the position of the next older entry.
func (c Cursor[K, V]) Prev() Cursor[K, V] { return Cursor[K, V]{c.n.prev} }

// Next returns the position of the next newer entry.
func (c Cursor[K, V]) Next() Cursor[K, V] { return Cursor[K, V]{c.n.next} }

// Key returns the entry's key.
func (c Cursor[K, V]) Key() K { return c.n.key }

// Value returns a pointer to the entry's value, valid while the entry is in
// the map: writing through it replaces the value in place, as Set does.
func (c Cursor[K, V]) Value() *V { return &c.n.value }

// Clear removes every entry. The index keeps its size.
func (m *Map[K, V]) Clear() {
	clear(m.slots)
	m.head, m.tail, m.n = nil, nil, 0
}

func (m *Map[K, V]) unlink(n *node[K, V]) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		m.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		m.tail = n.prev
	}
	n.prev, n.next = nil, nil
}

func (m *Map[K, V]) hash(k K) uint64 { return maphash.String(m.seed, string(k)) }

// find returns the slot of k, whose hash is h, or the empty slot where it
// would go.
func (m *Map[K, V]) find(k K, h uint64) int {
	mask := len(m.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		n := m.slots[i]
		if n == nil || n.hash == h && n.key == k {
			return i
		}
	}
}

// slotOf returns the slot of n, which is in the map.
func (m *Map[K, V]) slotOf(n *node[K, V]) int {
	mask := len(m.slots) - 1
	i := int(n.hash) & mask
	for m.slots[i] != n {
		i = (i + 1) & mask
	}
	return i
}

// vacate empties slot i, moving back the entries after it in its probe run
// that could not otherwise be found (no tombstones: a full run stays short).
func (m *Map[K, V]) vacate(i int) {
	mask := len(m.slots) - 1
	for j := (i + 1) & mask; m.slots[j] != nil; j = (j + 1) & mask {
		// The entry at j may move to i if its home slot is not in (i, j],
		// cyclically: its probe from home passes i.
		home := int(m.slots[j].hash) & mask
		if (j-home)&mask >= (j-i)&mask {
			m.slots[i] = m.slots[j]
			i = j
		}
	}
	m.slots[i] = nil
}

// grow doubles the index, or makes its first one.
func (m *Map[K, V]) grow() {
	old := m.slots
	m.slots = make([]*node[K, V], max(minSlots, 2*len(old)))
	mask := len(m.slots) - 1
	for _, n := range old {
		if n == nil {
			continue
		}
		i := int(n.hash) & mask
		for m.slots[i] != nil {
			i = (i + 1) & mask
		}
		m.slots[i] = n
	}
}
