// Package hashset is a set of 64-bit hashes: open addressing with linear
// probing in a table of plain words, which doubles as it fills. An insertion
// costs a probe or two where a Go map's costs a call into its general
// machinery; the engine adds one hash per log eviction.
//
// The hashes are used as they are, their low bits picking the slot, so they
// must be well mixed and, against a peer, keyed (hash/maphash).
package hashset

// Set is a set of uint64 hashes. The zero value is an empty set ready to use.
// It is not safe for concurrent use.
type Set struct {
	slots []uint64 // a power of two of them; 0 is an empty slot
	n     int      // hashes in slots
	zero  bool     // whether 0, which no slot can hold, is in the set
}

// minSlots is the table's first size.
const minSlots = 64

// Len returns the number of hashes in the set.
func (s *Set) Len() int {
	if s.zero {
		return s.n + 1
	}
	return s.n
}

// Add inserts h.
func (s *Set) Add(h uint64) {
	if h == 0 {
		s.zero = true
		return
	}
	// At most two thirds full, so that a probe meets an empty slot soon.
	if 3*(s.n+1) > 2*len(s.slots) {
		s.grow()
	}
	if s.insert(h) {
		s.n++
	}
}

// Has reports whether h is in the set.
func (s *Set) Has(h uint64) bool {
	if h == 0 {
		return s.zero
	}
	return len(s.slots) > 0 && s.slots[s.slot(h)] == h
}

// Clear empties the set, keeping its table for the hashes to come.
func (s *Set) Clear() {
	clear(s.slots)
	s.n, s.zero = 0, false
}

// insert puts h, not 0, in its slot unless it is there, and reports whether
// it was not. The table has an empty slot.
func (s *Set) insert(h uint64) bool {
	i := s.slot(h)
	if s.slots[i] == h {
		return false
	}
	s.slots[i] = h
	return true
}

// slot returns the slot holding h, not 0, or the empty slot that ends its
// probe. The table has an empty slot.
func (s *Set) slot(h uint64) int {
	mask := uint64(len(s.slots) - 1)
	i := h & mask
	for s.slots[i] != h && s.slots[i] != 0 {
		i = (i + 1) & mask
	}
	return int(i)
}

// grow doubles the table.
func (s *Set) grow() {
	old := s.slots
	s.slots = make([]uint64, max(2*len(old), minSlots))
	for _, h := range old {
		if h != 0 {
			s.insert(h)
		}
	}
}
