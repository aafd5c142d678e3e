package bloom

import "github.com/logos-messaging/libsds-go/core/nimhash"

// capacityFlexPercent is nim-sds' CapacityFlexPercent: the filter rolls over at 120 %
// of its capacity and keeps the newest 80 %.
const capacityFlexPercent = 20

// SparseMaxIDs is the number of ids up to which a Rolling filter keeps no bit
// array: its bits are derived from the ids' hashes, which it keeps anyway, when
// they are needed. Past it the filter switches to a dense Filter, whose
// serialization is a single copy; a rollover that keeps no more ids than this
// switches back.
const SparseMaxIDs = 64

// Rolling is nim-sds' RollingBloomFilter: a filter plus the ids backing it, rebuilt
// from the newest ids when it grows past 120 % of its capacity. It is not safe for
// concurrent use.
//
// A quiet channel's filter holds a few ids in a bit array of ~18.8 KB. So while it
// backs at most SparseMaxIDs ids, a Rolling keeps only the ids and their hashes
// (sparse) and computes its bits when asked; the bytes it serializes to are the
// same either way.
type Rolling struct {
	f         *Filter // the dense filter; nil while sparse
	p         Params  // the current filter's parameters
	errorRate float64
	minCap    int // ids kept at a rollover
	maxCap    int // ids allowed before a rollover; also the rebuilt filter's capacity
	// The recorded ids, oldest first, as one byte string and each id's end
	// in it: a busy filter backs thousands of ids, and holding them as
	// strings would give the garbage collector a pointer to scan, and often
	// an object to mark, per id on every cycle.
	idText  []byte
	idEnds  []int
	hashes  [][2]uint64 // abs'd hashes of the ids, so rollovers need not rehash
	scratch []byte      // for hashing id & " b" (see NewKey)
}

// NewRolling returns an empty rolling filter, as RollingBloomFilter.init does: a
// capacity <= 0 becomes DefaultCapacity and an errorRate outside (0, 1) becomes
// DefaultErrorRate (NaN included, where nim would go on with NaN). The filter
// starts with NewParams(capacity, errorRate). minCapacity = int(capacity*80/100) and
// maxCapacity = int(capacity*120/100) are computed in float64 and truncated, once:
// every rollover rebuilds the filter with NewParams(maxCapacity, errorRate) and keeps
// the newest minCapacity ids.
func NewRolling(capacity int, errorRate float64) *Rolling {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	if !(errorRate > 0 && errorRate < 1) {
		errorRate = DefaultErrorRate
	}
	p := NewParams(capacity, errorRate)
	checkParams(p)
	return &Rolling{
		p:         p,
		errorRate: errorRate,
		minCap:    int(float64(capacity) * float64(100-capacityFlexPercent) / 100.0),
		maxCap:    int(float64(capacity) * float64(100+capacityFlexPercent) / 100.0),
	}
}

// Add inserts id and records it (duplicates too). When more than maxCapacity ids are
// recorded, the filter is rebuilt with NewParams(maxCapacity, errorRate) from the
// newest minCapacity ids, and the others are forgotten.
func (r *Rolling) Add(id string) {
	k := r.NewKey(id)
	r.AddKey(id, &k)
}

// NewKey is the package's NewKey hashing in a buffer the filter keeps, rather
// than a pooled one: a caller that holds the filter spares the pool's cost.
func (r *Rolling) NewKey(id string) Key {
	h2 := hashBInto(&r.scratch, id)
	if cap(r.scratch) > maxPooled {
		r.scratch = nil // one huge id does not pin memory
	}
	return Key{h1: uint64(nimhash.Abs(nimhash.String(id))), h2: uint64(nimhash.Abs(h2))}
}

// AddKey is Add for a caller that already holds id's Key.
func (r *Rolling) AddKey(id string, k *Key) {
	if r.f != nil {
		r.f.AddKey(k)
	}
	r.record(id, k.h1, k.h2)
}

func (r *Rolling) record(id string, h1, h2 uint64) {
	r.idText = append(r.idText, id...)
	r.idEnds = append(r.idEnds, len(r.idText))
	r.hashes = append(r.hashes, [2]uint64{h1, h2})
	if len(r.hashes) > r.maxCap {
		r.rollover()
	} else if r.f == nil && len(r.hashes) > SparseMaxIDs {
		r.densify()
	}
}

// densify builds the dense filter from the recorded hashes.
func (r *Rolling) densify() {
	r.f = NewFilter(r.p)
	r.fill()
}

// fill sets the bits of every recorded id in the dense filter.
func (r *Rolling) fill() {
	m := r.f.m
	for _, h := range r.hashes {
		r.f.insert(h[0]%m, h[1]%m)
	}
}

// rollover is nim's clean(): new filter from (maxCapacity, errorRate), refilled with
// the last minCapacity ids.
func (r *Rolling) rollover() {
	p := NewParams(r.maxCap, r.errorRate)
	checkParams(p)
	start := max(0, len(r.hashes)-r.minCap)
	r.dropOldest(start)
	n := len(r.hashes)
	switch {
	case n <= SparseMaxIDs:
		r.f = nil
	case r.f != nil && r.f.p == p:
		r.f.clear() // second and later rollovers: same parameters, reuse the buffer
	default:
		r.f = NewFilter(p)
	}
	r.p = p
	if r.f != nil {
		r.fill()
	}
}

// dropOldest forgets the n oldest recorded ids.
func (r *Rolling) dropOldest(n int) {
	if n == 0 {
		return
	}
	cut := r.idEnds[n-1]
	r.idText = r.idText[:copy(r.idText, r.idText[cut:])]
	kept := copy(r.idEnds, r.idEnds[n:])
	r.idEnds = r.idEnds[:kept]
	for i := range r.idEnds {
		r.idEnds[i] -= cut
	}
	r.hashes = r.hashes[:copy(r.hashes, r.hashes[n:])]
}

// Contains reports whether id is in the filter (nim's filter.lookup).
func (r *Rolling) Contains(id string) bool {
	k := NewKey(id)
	return r.ContainsKey(&k)
}

// ContainsKey is Contains for the id k was made from.
func (r *Rolling) ContainsKey(k *Key) bool {
	if r.f != nil {
		return r.f.ContainsKey(k)
	}
	if r.p.K > 64 { // beyond the bit mask below; no default comes near
		return r.Filter().ContainsKey(k)
	}
	// Sparse: each of k's positions must be one of the recorded ids' positions.
	m := uint64(r.p.MBits)
	a, b := k.reduce(m)
	var found uint64 // bit n: k's n-th position is set
	want := uint64(1)<<uint(r.p.K) - 1
	for _, h := range r.hashes {
		ha, hb := h[0]%m, h[1]%m
		for range r.p.K {
			pos := a
			for n := range r.p.K {
				if pos == ha {
					found |= 1 << uint(n)
				}
				pos = step(pos, b, m)
			}
			ha = step(ha, hb, m)
		}
		if found == want {
			return true
		}
	}
	return false
}

// Params returns the current filter's parameters.
func (r *Rolling) Params() Params { return r.p }

// Dense reports whether the filter keeps a bit array (see SparseMaxIDs).
func (r *Rolling) Dense() bool { return r.f != nil }

// SerializedSize is the length of the current filter's serialization.
func (r *Rolling) SerializedSize() int {
	if r.f != nil {
		return len(r.f.ser)
	}
	return serializedSize(r.p)
}

// AppendSerialized appends the current filter's serialization to b: the bytes
// a dense filter with the same parameters and ids serializes to.
func (r *Rolling) AppendSerialized(b []byte) []byte {
	if r.f != nil {
		return append(b, r.f.ser...)
	}
	b = appendHeader(b, r.p)
	off := len(b)
	b = append(b, make([]byte, 8*r.p.Words())...)
	bits, m := b[off:], uint64(r.p.MBits)
	for _, h := range r.hashes {
		setBits(bits, h[0]%m, h[1]%m, m, r.p.K)
	}
	return appendTrailer(b, r.p)
}

// Serialized returns the current filter's serialization. Do not modify it; it
// may be the dense filter's own storage, whose contents change with the next Add.
func (r *Rolling) Serialized() []byte {
	if r.f != nil {
		return r.f.ser
	}
	return r.AppendSerialized(make([]byte, 0, r.SerializedSize()))
}

// Filter returns the current filter. While the filter is sparse it is a dense
// copy built for the call; a rollover may replace it, so do not keep it across
// Add calls.
func (r *Rolling) Filter() *Filter {
	if r.f != nil {
		return r.f
	}
	f := NewFilter(r.p)
	m := f.m
	for _, h := range r.hashes {
		f.insert(h[0]%m, h[1]%m)
	}
	return f
}

// Messages returns the ids currently backing the filter, oldest first, in a new
// slice (for inspection: the filter itself keeps them in one byte string).
func (r *Rolling) Messages() []string {
	ids := make([]string, len(r.idEnds))
	text := string(r.idText) // one allocation; the ids share it
	start := 0
	for i, end := range r.idEnds {
		ids[i] = text[start:end]
		start = end
	}
	return ids
}
