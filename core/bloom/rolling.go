package bloom

// capacityFlexPercent is nim-sds' CapacityFlexPercent: the filter rolls over at 120 %
// of its capacity and keeps the newest 80 %.
const capacityFlexPercent = 20

// Rolling is nim-sds' RollingBloomFilter: a Filter plus the ids backing it, rebuilt
// from the newest ids when it grows past 120 % of its capacity. It is not safe for
// concurrent use.
type Rolling struct {
	f         *Filter
	errorRate float64
	minCap    int // ids kept at a rollover
	maxCap    int // ids allowed before a rollover; also the rebuilt filter's capacity
	messages  []string
	hashes    [][2]uint64 // abs'd hashes of messages, so rollovers need not rehash
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
	return &Rolling{
		f:         NewFilter(NewParams(capacity, errorRate)),
		errorRate: errorRate,
		minCap:    int(float64(capacity) * float64(100-capacityFlexPercent) / 100.0),
		maxCap:    int(float64(capacity) * float64(100+capacityFlexPercent) / 100.0),
	}
}

// Add inserts id and records it (duplicates too). When more than maxCapacity ids are
// recorded, the filter is rebuilt with NewParams(maxCapacity, errorRate) from the
// newest minCapacity ids, and the others are forgotten.
func (r *Rolling) Add(id string) {
	h1, h2 := hashes(id)
	r.f.insert(h1%r.f.m, h2%r.f.m)
	r.record(id, h1, h2)
}

// AddKey is Add for a caller that already holds id's Key.
func (r *Rolling) AddKey(id string, k *Key) {
	r.f.AddKey(k)
	r.record(id, k.h1, k.h2)
}

func (r *Rolling) record(id string, h1, h2 uint64) {
	r.messages = append(r.messages, id)
	r.hashes = append(r.hashes, [2]uint64{h1, h2})
	if len(r.messages) > r.maxCap {
		r.rollover()
	}
}

// rollover is nim's clean(): new filter from (maxCapacity, errorRate), refilled with
// the last minCapacity ids.
func (r *Rolling) rollover() {
	p := NewParams(r.maxCap, r.errorRate)
	if r.f.p == p {
		r.f.clear() // second and later rollovers: same parameters, reuse the buffers
	} else {
		r.f = NewFilter(p)
	}
	start := max(0, len(r.messages)-r.minCap)
	n := copy(r.messages, r.messages[start:])
	copy(r.hashes, r.hashes[start:])
	clear(r.messages[n:]) // release the dropped ids
	r.messages, r.hashes = r.messages[:n], r.hashes[:n]
	m := r.f.m
	for _, h := range r.hashes {
		r.f.insert(h[0]%m, h[1]%m)
	}
}

// Contains reports whether id is in the filter (nim's filter.lookup).
func (r *Rolling) Contains(id string) bool { return r.f.Contains(id) }

// ContainsKey is Contains for the id k was made from.
func (r *Rolling) ContainsKey(k *Key) bool { return r.f.ContainsKey(k) }

// Serialized returns the current filter's serialization (see Filter.Serialized): do
// not modify; its contents change with the next Add.
func (r *Rolling) Serialized() []byte { return r.f.Serialized() }

// Filter returns the current filter. A rollover may replace it, so do not keep it
// across Add calls.
func (r *Rolling) Filter() *Filter { return r.f }

// Messages returns the ids currently backing the filter, oldest first. The slice is
// the filter's own storage: read-only, valid until the next Add.
func (r *Rolling) Messages() []string { return r.messages }
