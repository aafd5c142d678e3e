// Package ordmap is an insertion-ordered map: O(1) insert, lookup, delete and
// oldest-first eviction, with in-place replacement that keeps an entry's position.
// It models Nim's OrderedTable as nim-sds uses it for the local log, and the
// arrival order of the library's buffers.
package ordmap

// Map is an insertion-ordered map. The zero value is not usable; call New.
// It is not safe for concurrent use.
type Map[K comparable, V any] struct {
	index      map[K]*node[K, V]
	head, tail *node[K, V] // head is the oldest entry
	// spare is the node of the last entry deleted, emptied, for the next
	// new key: a bounded map evicts one entry per insertion, which then
	// allocates nothing.
	spare *node[K, V]
}

type node[K comparable, V any] struct {
	key        K
	value      V
	prev, next *node[K, V]
}

// New returns an empty map.
func New[K comparable, V any]() *Map[K, V] {
	return &Map[K, V]{index: make(map[K]*node[K, V])}
}

// Len returns the number of entries.
func (m *Map[K, V]) Len() int { return len(m.index) }

// Get returns the value stored under k.
func (m *Map[K, V]) Get(k K) (V, bool) {
	if n, ok := m.index[k]; ok {
		return n.value, true
	}
	var zero V
	return zero, false
}

// Has reports whether k is present.
func (m *Map[K, V]) Has(k K) bool {
	_, ok := m.index[k]
	return ok
}

// Set stores v under k. A new key goes to the newest end; an existing key keeps
// its position and only its value is replaced. It reports whether k was new.
func (m *Map[K, V]) Set(k K, v V) bool {
	if n, ok := m.index[k]; ok {
		n.value = v
		return false
	}
	m.insert(k, v)
	return true
}

// Swap is Set returning the value it replaced, if k was present: one lookup
// where Get and Set take two.
func (m *Map[K, V]) Swap(k K, v V) (old V, replaced bool) {
	if n, ok := m.index[k]; ok {
		old, n.value = n.value, v
		return old, true
	}
	m.insert(k, v)
	return old, false
}

// insert adds k, which is not present, at the newest end.
func (m *Map[K, V]) insert(k K, v V) {
	n := m.spare
	if n != nil {
		m.spare = nil
		n.key, n.value, n.prev = k, v, m.tail
	} else {
		n = &node[K, V]{key: k, value: v, prev: m.tail}
	}
	if m.tail != nil {
		m.tail.next = n
	} else {
		m.head = n
	}
	m.tail = n
	m.index[k] = n
}

// Delete removes k and reports whether it was present.
func (m *Map[K, V]) Delete(k K) bool {
	n, ok := m.index[k]
	if !ok {
		return false
	}
	m.remove(n)
	return true
}

// DeleteOldest removes the entry inserted first and returns it: Oldest and
// Delete without looking the key up.
func (m *Map[K, V]) DeleteOldest() (K, V, bool) {
	n := m.head
	if n == nil {
		var k K
		var v V
		return k, v, false
	}
	k, v := n.key, n.value
	m.remove(n)
	return k, v, true
}

// remove unlinks n and drops it from the index.
func (m *Map[K, V]) remove(n *node[K, V]) {
	m.unlink(n)
	delete(m.index, n.key)
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
type Cursor[K comparable, V any] struct{ n *node[K, V] }

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

// Clear removes every entry.
func (m *Map[K, V]) Clear() {
	clear(m.index)
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
