package bloom

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"

	bb "github.com/bits-and-blooms/bloom/v3"

	"github.com/logos-messaging/libsds-go/core/nimhash"
)

// DefaultCapacity is nim-sds' default bloom filter capacity (and, through the C API,
// the only one used).
const DefaultCapacity = 10000

// DefaultErrorRate is nim-sds' default bloom filter false-positive rate.
const DefaultErrorRate = 0.001

// Params are a filter's parameters as nim-sds stores and serializes them.
type Params struct {
	// Capacity is the number of elements the filter was sized for.
	Capacity int
	// ErrorRate is the target false-positive rate.
	ErrorRate float64
	// K is the number of bit positions per element.
	K int
	// MBits is the number of addressable bits; positions are reduced modulo MBits.
	MBits int
}

// NewParams derives k and mBits from capacity and errorRate with nim-sds' formulas
// (initializeBloomFilter with k = 0):
//
//	bitsPerElem = ceil(-1.0 * (ln(errorRate) / pow(ln(2), 2)))
//	K           = round(ln(2) * bitsPerElem)   // half away from zero
//	MBits       = capacity * round(bitsPerElem)
//
// It applies no fallback: an errorRate outside (0, 1) or a non-positive capacity gives
// parameters that NewFilter rejects (K and MBits are 0 when ln(errorRate) is not
// finite), as nim would fail on them.
func NewParams(capacity int, errorRate float64) Params {
	bitsPerElem := math.Ceil(-1.0 * (math.Log(errorRate) / math.Pow(math.Log(2.0), 2)))
	if math.IsNaN(bitsPerElem) || math.IsInf(bitsPerElem, 0) {
		// errorRate 0, negative or NaN: Go's float-to-int conversion of these is
		// platform-dependent, so report K = MBits = 0 instead.
		return Params{Capacity: capacity, ErrorRate: errorRate}
	}
	k := int(math.Round(math.Log(2.0) * bitsPerElem))
	nBitsPerElem := int(math.Round(bitsPerElem))
	return Params{
		Capacity:  capacity,
		ErrorRate: errorRate,
		K:         k,
		MBits:     capacity * nBitsPerElem,
	}
}

// Words is the number of 64-bit words nim allocates for these parameters:
// 1 + MBits/64, so there is always one spare word.
func (p Params) Words() int { return 1 + p.MBits/64 }

// errorRateField is the serialized form of the error rate: uint64(errorRate * 1e6),
// truncated, as nim-sds writes it.
func (p Params) errorRateField() uint64 {
	v := p.ErrorRate * 1_000_000
	if !(v > 0) { // negative, zero or NaN
		return 0
	}
	if v >= math.MaxUint64 {
		return math.MaxUint64
	}
	return uint64(v)
}

// hashes returns abs(H(id)) and abs(H(id & " b")), the two hashes every position of id
// derives from.
func hashes(id string) (h1, h2 uint64) {
	return uint64(nimhash.Abs(nimhash.String(id))), uint64(nimhash.Abs(hashB(id)))
}

// scratch holds buffers for id & " b". go-farm's assembly Fingerprint64 has no
// go:noescape annotation, so any buffer passed to it escapes; a stack buffer (as in
// nimhash.Concat) would cost a heap allocation per hash. Pooled buffers do not.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 128); return &b }}

// maxPooled caps the buffers kept in scratch, so one huge id does not pin memory.
const maxPooled = 4096

// hashB returns Nim's hash(id & " b").
func hashB(id string) int64 {
	bp := scratch.Get().(*[]byte)
	b := append(append((*bp)[:0], id...), ' ', 'b')
	h := nimhash.Bytes(b)
	if cap(b) <= maxPooled {
		*bp = b
		scratch.Put(bp)
	}
	return h
}

// Positions returns the k bit positions nim-sds sets for id in a filter of mBits bits,
// in nim's order n = 0..k-1 (not sorted, possibly repeated). It follows hashN
// literally, including int64 wraparound, and is meant for tests and tools; filters use
// an equivalent incremental form. It returns nil if k or mBits is not positive.
func Positions(id string, k, mBits int) []uint64 {
	if k <= 0 || mBits <= 0 {
		return nil
	}
	m := int64(mBits)
	a := nimhash.Abs(nimhash.String(id)) % m
	b := nimhash.Abs(hashB(id)) % m
	out := make([]uint64, k)
	for n := range out {
		out[n] = uint64(nimhash.Abs(a+int64(n)*b) % m)
	}
	return out
}

// Key is an id's two hashes, computed once, plus their reductions modulo the last
// filter size it was used with. Reusing a Key across filters of the same mBits makes a
// membership test cost only additions and bit loads. Create Keys with NewKey; the zero
// Key does not correspond to any id. A Key is mutated by the lookups that use it, so
// it must not be shared between goroutines.
type Key struct {
	h1, h2  uint64 // abs(H(id)), abs(H(id & " b"))
	m, a, b uint64 // a = h1 mod m, b = h2 mod m for the cached m (0: none yet)
}

// Probe is an id's first four bit positions in filters of one size: most
// lookups of an absent id end on these four bits, and a caller testing many
// ids against many filters of the same size can keep the probes of all its
// ids in one compact array (16 bytes each) — see Remote.MayContain.
type Probe [4]uint32

// ProbeFor returns k's first four positions for filters of mBits bits; ok is
// false if mBits does not fit in 32 bits (no filter this protocol sends).
func (k *Key) ProbeFor(mBits uint64) (p Probe, ok bool) {
	if mBits == 0 || mBits > 1<<32 {
		return p, false
	}
	a, b := k.reduce(mBits)
	pos := a
	for i := range p {
		p[i] = uint32(pos)
		pos = step(pos, b, mBits)
	}
	return p, true
}

// NewKey hashes id once.
func NewKey(id string) Key {
	h1, h2 := hashes(id)
	return Key{h1: h1, h2: h2}
}

// reduce returns h1 mod m and h2 mod m, recomputing them only when m changes. m must
// be positive.
func (k *Key) reduce(m uint64) (a, b uint64) {
	if k.m != m {
		k.m, k.a, k.b = m, k.h1%m, k.h2%m
	}
	return k.a, k.b
}

// Incremental positions. nim computes pos_n = abs(a + n*b) mod m with a, b < m. As long
// as a + (k-1)*b cannot overflow int64 (k*m < 2^63, which NewFilter and ParseRemote
// guarantee), that equals starting at a and adding b modulo m at each step, with a
// conditional subtraction instead of a division.

// Filter is a nim-compatible bloom filter with a cached serialization. It is not safe
// for concurrent use.
type Filter struct {
	p       Params
	m       uint64
	k       int
	bf      *bb.BloomFilter
	words   []uint64 // the bitset's words (shared with bf)
	ser     []byte   // cached serialization, made on first use: many filters are never sent
	wordOff int      // offset of the word bytes inside ser
}

// NewFilter returns an empty filter with parameters p. It panics if p.K < 1, p.MBits
// < 1 or K*MBits does not fit in an int64: nim would divide by zero, index out of range
// or overflow on such parameters, and nim-sds never creates them (NewRolling falls back
// to the defaults first).
func NewFilter(p Params) *Filter {
	if p.K < 1 || p.MBits < 1 || p.MBits > math.MaxInt64/p.K {
		panic(fmt.Sprintf("bloom: invalid filter parameters %+v", p))
	}
	words := make([]uint64, p.Words())
	f := &Filter{
		p:     p,
		m:     uint64(p.MBits),
		k:     p.K,
		bf:    bb.From(words, uint(p.K)),
		words: words,
	}
	return f
}

// encode serializes p and words the way nim-sds' toBytes does: field 1 the words as
// little-endian int64s, then capacity, uint64(errorRate*1e6), k and mBits as varints,
// every field always written. It returns the buffer and the offset of the word bytes.
func encode(p Params, words []uint64) ([]byte, int) {
	n := 8 * len(words)
	buf := make([]byte, 0, 1+10+n+5*11)
	buf = append(buf, 0x0a)
	buf = binary.AppendUvarint(buf, uint64(n))
	off := len(buf)
	for _, w := range words {
		buf = binary.LittleEndian.AppendUint64(buf, w)
	}
	buf = append(buf, 0x10)
	buf = binary.AppendUvarint(buf, uint64(p.Capacity))
	buf = append(buf, 0x18)
	buf = binary.AppendUvarint(buf, p.errorRateField())
	buf = append(buf, 0x20)
	buf = binary.AppendUvarint(buf, uint64(p.K))
	buf = append(buf, 0x28)
	buf = binary.AppendUvarint(buf, uint64(p.MBits))
	return buf, off
}

// Params returns the filter's parameters.
func (f *Filter) Params() Params { return f.p }

// Add inserts id (its raw bytes) into the filter.
func (f *Filter) Add(id string) {
	h1, h2 := hashes(id)
	f.insert(h1%f.m, h2%f.m)
}

// AddKey inserts the id k was made from.
func (f *Filter) AddKey(k *Key) {
	f.insert(k.reduce(f.m))
}

func (f *Filter) insert(a, b uint64) {
	bs := f.bf.BitSet()
	pos := a
	if f.ser == nil {
		for range f.k {
			bs.Set(uint(pos))
			pos = step(pos, b, f.m)
		}
		return
	}
	ser := f.ser[f.wordOff:]
	for range f.k {
		bs.Set(uint(pos))
		ser[pos>>3] |= 1 << (pos & 7)
		pos = step(pos, b, f.m)
	}
}

// Contains reports whether all of id's bits are set: true for every id added, and
// for others with roughly the filter's error rate.
func (f *Filter) Contains(id string) bool {
	h1, h2 := hashes(id)
	return f.test(h1%f.m, h2%f.m)
}

// ContainsKey is Contains for the id k was made from.
func (f *Filter) ContainsKey(k *Key) bool {
	return f.test(k.reduce(f.m))
}

func (f *Filter) test(a, b uint64) bool {
	words := f.words
	pos := a
	for range f.k {
		if words[pos>>6]&(1<<(pos&63)) == 0 {
			return false
		}
		pos = step(pos, b, f.m)
	}
	return true
}

// Serialized returns the filter's nim-sds serialization, the bytes for field 6 of an
// SdsMessage. The slice is cached and updated in place: the caller must not modify
// it, and its contents change with the next Add.
func (f *Filter) Serialized() []byte {
	if f.ser == nil {
		f.ser, f.wordOff = encode(f.p, f.words)
	}
	return f.ser
}

// Words returns the filter's 1 + MBits/64 words (bit h in word h/64, bit h%64). The
// slice is the filter's own storage: read-only.
func (f *Filter) Words() []uint64 { return f.words }

// clear empties the filter, keeping its parameters and buffers.
func (f *Filter) clear() {
	clear(f.words)
	if f.ser != nil {
		clear(f.ser[f.wordOff : f.wordOff+8*len(f.words)])
	}
}
