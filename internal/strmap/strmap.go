// Package strmap is a map from strings to pointers: open addressing with
// linear probing over slots that keep each key's hash, keyed by a per-map
// maphash seed (a peer choosing keys cannot aim for collisions). It costs
// less per operation than a Go map with string keys, which the engine looks
// up, inserts into and deletes from on every message.
package strmap

import "hash/maphash"

// Map maps strings to non-nil pointers. The zero value is not usable; call
// New. It is not safe for concurrent use.
type Map[V any] struct {
	seed maphash.Seed
	// slots is a power of two of them, at most half full; allocated with the
	// first entry (many maps never get one).
	slots []slot[V]
	n     int
}

type slot[V any] struct {
	hash uint64
	key  string
	val  *V // nil: an empty slot
}

// minSlots is the table's first size.
const minSlots = 8

// New returns an empty map.
func New[V any]() *Map[V] {
	return &Map[V]{seed: maphash.MakeSeed()}
}

// Len returns the number of entries.
func (m *Map[V]) Len() int { return m.n }

// Get returns the value stored under k, or nil.
func (m *Map[V]) Get(k string) *V {
	if m.n == 0 {
		return nil
	}
	return m.slots[m.find(k, m.hash(k))].val
}

// Put stores v, which must not be nil, under k.
func (m *Map[V]) Put(k string, v *V) {
	if m.slots == nil {
		m.grow()
	}
	h := m.hash(k)
	i := m.find(k, h)
	if m.slots[i].val == nil {
		if 2*(m.n+1) > len(m.slots) {
			m.grow()
			i = m.find(k, h)
		}
		m.n++
	}
	m.slots[i] = slot[V]{hash: h, key: k, val: v}
}

// Remove removes k if v is its value, and reports whether it did.
func (m *Map[V]) Remove(k string, v *V) bool {
	if m.n == 0 {
		return false
	}
	i := m.find(k, m.hash(k))
	if m.slots[i].val != v || v == nil {
		return false
	}
	m.vacate(i)
	m.n--
	return true
}

func (m *Map[V]) hash(k string) uint64 { return maphash.String(m.seed, k) }

// find returns the slot of k, whose hash is h, or the empty slot where it
// would go.
func (m *Map[V]) find(k string, h uint64) int {
	mask := len(m.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.val == nil || s.hash == h && s.key == k {
			return i
		}
	}
}

// vacate empties slot i, moving back the entries after it in its probe run
// that could not otherwise be found (no tombstones: a full run stays short).
func (m *Map[V]) vacate(i int) {
	mask := len(m.slots) - 1
	for j := (i + 1) & mask; m.slots[j].val != nil; j = (j + 1) & mask {
		// The entry at j may move to i if its home slot is not in (i, j],
		// cyclically: its probe from home passes i.
		home := int(m.slots[j].hash) & mask
		if (j-home)&mask >= (j-i)&mask {
			m.slots[i] = m.slots[j]
			i = j
		}
	}
	m.slots[i] = slot[V]{}
}

// grow doubles the table, or makes its first one.
func (m *Map[V]) grow() {
	old := m.slots
	m.slots = make([]slot[V], max(minSlots, 2*len(old)))
	mask := len(m.slots) - 1
	for _, s := range old {
		if s.val == nil {
			continue
		}
		i := int(s.hash) & mask
		for m.slots[i].val != nil {
			i = (i + 1) & mask
		}
		m.slots[i] = s
	}
}
