// Package hashindex is the hash table under the engine's own maps (ordmap's
// index and the outgoing buffer's): it finds entries its user keeps, by their
// string keys. Open addressing with linear probing over slots that hold an
// entry's pointer and its key's hash, keyed by a per-index maphash seed (a
// peer choosing keys cannot aim for collisions), deletion by backward shift
// (no tombstones). It costs less per operation than a Go map with string
// keys, which the engine looks up, inserts into and deletes from on every
// message: an insertion reuses the slot its lookup found, a removal can
// start from an entry's kept hash, and a probe compares hashes in the table
// before it reads an entry.
package hashindex

import "hash/maphash"

// Index finds entries of type E by the key its key function reads from them.
// An entry must not change its key while it is in the index. The zero value
// is not usable; make one with Make (a value, to embed in its user: one
// allocation fewer per map). It is not safe for concurrent use.
type Index[E any] struct {
	seed maphash.Seed
	key  func(*E) string
	// slots is a power of two of them, at most half full; allocated with the
	// first entry (many indexes, a quiet channel's, never get one).
	slots []slot[E]
	n     int
}

type slot[E any] struct {
	hash uint64
	e    *E // nil: an empty slot
}

// minSlots is the table's first size.
const minSlots = 4

// Make returns an empty index of entries whose key is key(e).
func Make[E any](key func(*E) string) Index[E] {
	return Index[E]{seed: maphash.MakeSeed(), key: key}
}

// Len returns the number of entries.
func (x *Index[E]) Len() int { return x.n }

// Hash returns k's hash in this index, for Find, Insert and Remove.
func (x *Index[E]) Hash(k string) uint64 { return maphash.String(x.seed, k) }

// Find returns the entry whose key is k, hashing to h, and its slot; or nil
// and the slot where Insert puts an entry with that key (-1 if the index has
// no table yet).
func (x *Index[E]) Find(k string, h uint64) (int, *E) {
	if x.slots == nil {
		return -1, nil
	}
	mask := len(x.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.e == nil || s.hash == h && x.key(s.e) == k {
			return i, s.e
		}
	}
}

// Get returns the entry whose key is k, or nil.
func (x *Index[E]) Get(k string) *E {
	if x.n == 0 {
		return nil
	}
	_, e := x.Find(k, x.Hash(k))
	return e
}

// Insert adds e, whose key hashes to h and is not in the index, at slot i,
// which Find returned for that key with nothing changed since.
func (x *Index[E]) Insert(i int, h uint64, e *E) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
		i = x.emptySlot(h)
	}
	x.slots[i] = slot[E]{hash: h, e: e}
	x.n++
}

// Put adds e, or makes it the entry of its key in place of the one there.
func (x *Index[E]) Put(e *E) {
	k := x.key(e)
	h := x.Hash(k)
	i, old := x.Find(k, h)
	if old != nil {
		x.slots[i].e = e
		return
	}
	x.Insert(i, h, e)
}

// RemoveAt removes the entry at slot i, which Find returned for it with
// nothing changed since.
func (x *Index[E]) RemoveAt(i int) {
	x.vacate(i)
	x.n--
}

// Remove removes e, which is in the index and whose key hashes to h, without
// comparing keys.
func (x *Index[E]) Remove(h uint64, e *E) {
	mask := len(x.slots) - 1
	i := int(h) & mask
	for x.slots[i].e != e {
		i = (i + 1) & mask
	}
	x.RemoveAt(i)
}

// Delete removes e if it is the entry of its key, and reports whether it was.
func (x *Index[E]) Delete(e *E) bool {
	if x.n == 0 || e == nil {
		return false
	}
	k := x.key(e)
	i, found := x.Find(k, x.Hash(k))
	if found != e {
		return false
	}
	x.RemoveAt(i)
	return true
}

// Clear removes every entry. The table keeps its size.
func (x *Index[E]) Clear() {
	clear(x.slots)
	x.n = 0
}

// emptySlot returns the first empty slot of h's probe run.
func (x *Index[E]) emptySlot(h uint64) int {
	mask := len(x.slots) - 1
	i := int(h) & mask
	for x.slots[i].e != nil {
		i = (i + 1) & mask
	}
	return i
}

// vacate empties slot i, moving back the entries after it in its probe run
// that could not otherwise be found.
func (x *Index[E]) vacate(i int) {
	mask := len(x.slots) - 1
	for j := (i + 1) & mask; x.slots[j].e != nil; j = (j + 1) & mask {
		// The entry at j may move to i if its home slot is not in (i, j],
		// cyclically: its probe from home passes i.
		home := int(x.slots[j].hash) & mask
		if (j-home)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = slot[E]{}
}

// grow doubles the table, or makes its first one.
func (x *Index[E]) grow() {
	old := x.slots
	x.slots = make([]slot[E], max(minSlots, 2*len(old)))
	for _, s := range old {
		if s.e != nil {
			x.slots[x.emptySlot(s.hash)] = s
		}
	}
}
