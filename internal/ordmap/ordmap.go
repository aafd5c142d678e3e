// Package ordmap is an insertion-ordered map: O(1) insert, lookup, delete and
// oldest-first eviction, with in-place replacement that keeps an entry's position.
// It models Nim's OrderedTable as nim-sds uses it for the local log, and the
// arrival order of the library's buffers.
package ordmap

import "github.com/logos-messaging/libsds-go/internal/hashindex"

// Map is an insertion-ordered map of string keys. The zero value is not
// usable; call New. It is not safe for concurrent use.
//
// Its entries are linked nodes, found through a hashindex of them rather
// than a Go map: an insertion after a failed lookup reuses the lookup's
// slot, and an eviction finds its slot from the hash kept in the node. The
// log inserts and evicts on every message, which a Go map made cost a lookup
// more each.
type Map[K ~string, V any] struct {
	index      hashindex.Index[node[K, V]]
	head, tail *node[K, V] // head is the oldest entry
	// spare is the node of the last entry deleted, emptied, for the next
	// new key: a bounded map evicts one entry per insertion, which then
	// allocates nothing.
	spare *node[K, V]
}

type node[K ~string, V any] struct {
	key        K
	hash       uint64 // the key's, in the map's index
	value      V
	prev, next *node[K, V]
}

// nodeKey is the index's key of a node.
func nodeKey[K ~string, V any](n *node[K, V]) string { return string(n.key) }

// New returns an empty map.
func New[K ~string, V any]() *Map[K, V] {
	return &Map[K, V]{index: hashindex.Make(nodeKey[K, V])}
}

// Len returns the number of entries.
func (m *Map[K, V]) Len() int { return m.index.Len() }

// Get returns the value stored under k.
func (m *Map[K, V]) Get(k K) (V, bool) {
	if n := m.index.Get(string(k)); n != nil {
		return n.value, true
	}
	var zero V
	return zero, false
}

// Has reports whether k is present.
func (m *Map[K, V]) Has(k K) bool { return m.index.Get(string(k)) != nil }

// Set stores v under k. A new key goes to the newest end; an existing key keeps
// its position and only its value is replaced. It reports whether k was new.
func (m *Map[K, V]) Set(k K, v V) bool {
	_, replaced := m.Swap(k, v)
	return !replaced
}

// Swap is Set returning the value it replaced, if k was present: one lookup
// where Get and Set take two.
func (m *Map[K, V]) Swap(k K, v V) (old V, replaced bool) {
	h := m.index.Hash(string(k))
	i, n := m.index.Find(string(k), h)
	if n != nil {
		old, n.value = n.value, v
		return old, true
	}
	m.insert(i, k, h, v)
	return old, false
}

// insert adds k, which is not present and whose slot Find returned as i, at
// the newest end.
func (m *Map[K, V]) insert(i int, k K, h uint64, v V) {
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
	m.index.Insert(i, h, n)
}

// Delete removes k and reports whether it was present.
func (m *Map[K, V]) Delete(k K) bool {
	if m.index.Len() == 0 {
		return false
	}
	i, n := m.index.Find(string(k), m.index.Hash(string(k)))
	if n == nil {
		return false
	}
	m.index.RemoveAt(i)
	m.release(n)
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
	m.index.Remove(n.hash, n)
	m.release(n)
	return k, v, true
}

// release unlinks n, which has left the index, and keeps it as the spare.
func (m *Map[K, V]) release(n *node[K, V]) {
	m.unlink(n)
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
	m.index.Clear()
	m.head, m.tail = nil, nil
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
