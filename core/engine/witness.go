package engine

import (
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
type witnesses struct {
	m       uint64           // the filter size witnesses are positions in; 0: none yet
	bits    []uint64         // indexed: bit p set iff some entry's witness is p
	buckets [][]*outgoingMsg // indexed: entries by witness / 64
	scratch []*outgoingMsg   // candidates of one bucket
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
