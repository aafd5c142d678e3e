package engine

import (
	"math/bits"
	"slices"

	"github.com/logos-messaging/libsds-go/core/bloom"
)

// witnessIndexMin is the number of outgoing entries beyond which ack review
// keeps the witness index; below half of it the index is dropped again.
const witnessIndexMin = 128

// witnesses lets ack review skip the outgoing entries a received filter
// cannot contain, instead of testing every entry against every filter.
//
// Each entry keeps a witness: one of its id's bit positions — its first one
// at first, afterwards one that was unset in the last filter that tested it. A
// filter without the witness bit cannot contain the entry, so only entries
// whose witness is set in the filter are tested in full, and those still not
// contained move their witness to a bit that filter lacks. A peer's filter
// grows by a few ids per message, so once a peer's filter has been reviewed
// few witnesses are set in its next one.
//
// With few entries, review tests each witness bit. Beyond witnessIndexMin
// entries it keeps a bitmap of the witness positions and the entries bucketed
// by the 64-bit word of their witness: a review ANDs the filter's words with
// the bitmap and visits only the buckets where they meet.
//
// It also keeps ids, which spares looking up in the id index the cited ids
// that are not outgoing entries' (nearly all).
type witnesses struct {
	m       uint64           // the filter size witnesses are positions in; 0: none yet
	bits    []uint64         // indexed: bit p set iff some entry's witness is p
	buckets [][]*outgoingMsg // indexed: entries by witness / 64
	scratch []*outgoingMsg   // candidates of one bucket
	ids     idSlots
}

func (w *witnesses) indexed() bool { return w.bits != nil }

// usable prepares the witnesses for a filter of m bits: a new size resets every
// entry's witness to its first position there. False for sizes a witness
// cannot hold (the caller then tests every entry in full).
func (w *witnesses) usable(m uint64, outgoing []*outgoingMsg) bool {
	if m == 0 || m > 1<<32 {
		return false
	}
	if w.m == m {
		return true
	}
	w.m = m
	for _, o := range outgoing {
		o.setWitness(o.key.First(m))
	}
	w.bits, w.buckets = nil, nil
	if len(outgoing) > witnessIndexMin {
		w.build(outgoing)
	}
	return true
}

func (w *witnesses) build(outgoing []*outgoingMsg) {
	n := (w.m + 63) / 64
	w.bits, w.buckets = make([]uint64, n), make([][]*outgoingMsg, n)
	for _, o := range outgoing {
		w.insert(o)
	}
}

func (w *witnesses) insert(o *outgoingMsg) {
	i := o.witness / 64
	w.bits[i] |= 1 << (o.witness % 64)
	w.buckets[i] = append(w.buckets[i], o)
}

func (w *witnesses) unlink(o *outgoingMsg) {
	i := o.witness / 64
	b := w.buckets[i]
	if j := slices.Index(b, o); j >= 0 {
		b[j] = b[len(b)-1]
		b[len(b)-1] = nil
		b = b[:len(b)-1]
		w.buckets[i] = b
	}
	for _, e := range b {
		if e.witness == o.witness {
			return
		}
	}
	w.bits[i] &^= 1 << (o.witness % 64)
}

// add takes a new entry, the last of outgoing.
func (w *witnesses) add(o *outgoingMsg, outgoing []*outgoingMsg) {
	w.ids.add(o.id, outgoing)
	if w.m == 0 {
		return
	}
	o.setWitness(o.key.First(w.m))
	switch {
	case w.indexed():
		w.insert(o)
	case len(outgoing) > witnessIndexMin:
		w.build(outgoing)
	}
}

// remove forgets an entry leaving the buffer; n is the buffer's length
// without it.
func (w *witnesses) remove(o *outgoingMsg, n int) {
	w.ids.remove(o.id)
	if !w.indexed() {
		return
	}
	if n < witnessIndexMin/2 {
		w.bits, w.buckets, w.scratch = nil, nil, nil
		return
	}
	w.unlink(o)
}

// move sets an entry's witness to pos.
func (w *witnesses) move(o *outgoingMsg, pos uint64) {
	if w.indexed() {
		w.unlink(o)
		o.setWitness(pos)
		w.insert(o)
		return
	}
	o.setWitness(pos)
}

// setWitness sets an entry's witness to pos, which is below 2^32 (see usable).
func (o *outgoingMsg) setWitness(pos uint64) {
	o.witness, o.witnessBit = uint32(pos), 1<<(pos%8)
}

// candidates calls check for every entry whose witness is set in f (of w.m
// bits); check may move witnesses.
func (w *witnesses) candidates(f *bloom.Remote, outgoing []*outgoingMsg, check func(*outgoingMsg)) {
	if !w.indexed() {
		bits := f.Bits()
		for i := firstCandidate(bits, outgoing, 0); i < len(outgoing); i = firstCandidate(bits, outgoing, i+1) {
			check(outgoing[i])
		}
		return
	}
	f.Intersect(w.bits, func(i int, hit uint64) {
		w.scratch = w.scratch[:0]
		for _, o := range w.buckets[i] {
			if hit&(1<<(o.witness%64)) != 0 {
				w.scratch = append(w.scratch, o)
			}
		}
		for _, o := range w.scratch {
			check(o)
		}
	})
	clear(w.scratch)
}

// firstCandidate returns the index of the first entry from i on whose witness
// is set in bits (a filter's, as Remote.Bits gives them), or len(outgoing).
// It runs once per entry and review, and finds few: the loop makes no call,
// so its values stay in registers, and tests the witness's byte with the
// entry's precomputed bit.
func firstCandidate(bits []byte, outgoing []*outgoingMsg, i int) int {
	for ; i < len(outgoing); i++ {
		if o := outgoing[i]; bits[o.witness/8]&o.witnessBit != 0 {
			return i
		}
	}
	return i
}

// idSlots counts the outgoing entries by a slot of their id, so that an id
// in an empty slot is known not to be an entry's without a map lookup. The
// slot is a cheap hash of the id's length and its first and last eight
// bytes, where ids differ (counters, random or hashed ids): it is not keyed,
// so a peer can make its cited ids land in full slots, which costs no more
// than the lookups idSlots spares. The table keeps the largest size it had:
// at most 16 bytes per entry of the fullest buffer.
type idSlots struct {
	counts []uint8 // by slot; maxSlotCount sticks (such a slot never empties)
	n      int     // ids counted
	shift  uint8   // 64 - log2(len(counts))
}

const (
	maxSlotCount = 255
	minSlots     = 64
	slotsPerID   = 8
)

// mayHold reports whether id may be one of the counted ids. False means it
// is not; nearly every id that is not gets false.
func (s *idSlots) mayHold(id string) bool {
	return s.n > 0 && s.counts[slotHash(id)>>s.shift] != 0
}

// add counts id, the last of outgoing, keeping at least slotsPerID slots
// per id, so that few slots are full: a larger table is filled again from
// outgoing.
func (s *idSlots) add(id string, outgoing []*outgoingMsg) {
	s.n++
	if slotsPerID*s.n <= len(s.counts) {
		s.count(id)
		return
	}
	size := max(minSlots, 2*len(s.counts))
	s.counts, s.shift = make([]uint8, size), uint8(64-bits.Len(uint(size))+1)
	for _, o := range outgoing {
		s.count(o.id)
	}
}

func (s *idSlots) count(id string) {
	if c := &s.counts[slotHash(id)>>s.shift]; *c < maxSlotCount {
		*c++
	}
}

// remove uncounts id, which was counted.
func (s *idSlots) remove(id string) {
	s.n--
	if c := &s.counts[slotHash(id)>>s.shift]; *c < maxSlotCount {
		*c--
	}
}

// slotHash mixes id's length with its first and last (up to) eight bytes;
// the slot is the top bits of the product (Fibonacci hashing).
func slotHash(id string) uint64 {
	var head, tail uint64
	switch n := len(id); {
	case n >= 8:
		head, tail = load64(id), load64(id[n-8:])
	case n >= 4:
		head, tail = load32(id), load32(id[n-4:])
	case n > 0:
		head, tail = uint64(id[0]), uint64(id[n-1])<<8|uint64(id[n/2])
	}
	return (head ^ bits.RotateLeft64(tail, 31) ^ uint64(len(id))) * 0x9e3779b97f4a7c15
}

// load64 and load32 read s's first bytes as a little-endian word (one load).
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func load32(s string) uint64 {
	_ = s[3]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}
