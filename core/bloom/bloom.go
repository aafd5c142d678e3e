package bloom

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"

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
	h := hashBInto(bp, id)
	if cap(*bp) <= maxPooled {
		scratch.Put(bp)
	}
	return h
}

// hashBInto is hashB writing id & " b" in *buf, which it grows as needed.
func hashBInto(buf *[]byte, id string) int64 {
	*buf = append(append((*buf)[:0], id...), ' ', 'b')
	return nimhash.Bytes(*buf)
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

// NewKey hashes id once.
func NewKey(id string) Key {
	h1, h2 := hashes(id)
	return Key{h1: h1, h2: h2}
}

// First returns k's first bit position in filters of mBits bits (mBits > 0).
func (k *Key) First(mBits uint64) uint64 {
	a, _ := k.reduce(mBits)
	return a
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

// Filter is a nim-compatible bloom filter. Its bits live in their own
// serialization: nim's words travel as little-endian int64s, which is the same as
// an LSB-first byte array (byte h>>3, bit h&7), so the bytes a message carries in
// field 6 are the filter's storage and serializing it is one copy. It is not safe
// for concurrent use.
type Filter struct {
	p       Params
	m       uint64
	k       int
	ser     []byte // the serialization; bit h is ser[wordOff+h>>3] bit h&7
	wordOff int    // offset of the word bytes inside ser
}

// NewFilter returns an empty filter with parameters p. It panics if p.K < 1, p.MBits
// < 1 or K*MBits does not fit in an int64: nim would divide by zero, index out of range
// or overflow on such parameters, and nim-sds never creates them (NewRolling falls back
// to the defaults first).
func NewFilter(p Params) *Filter {
	checkParams(p)
	f := &Filter{p: p, m: uint64(p.MBits), k: p.K}
	f.ser = make([]byte, 0, serializedSize(p))
	f.ser = appendHeader(f.ser, p)
	f.wordOff = len(f.ser)
	f.ser = append(f.ser, make([]byte, 8*p.Words())...)
	f.ser = appendTrailer(f.ser, p)
	return f
}

func checkParams(p Params) {
	if p.K < 1 || p.MBits < 1 || p.MBits > math.MaxInt64/p.K {
		panic(fmt.Sprintf("bloom: invalid filter parameters %+v", p))
	}
}

// The serialization is nim-sds' toBytes: field 1 the words as little-endian
// int64s, then capacity, uint64(errorRate*1e6), k and mBits as varints, every
// field always written.

// appendHeader appends field 1's tag and length.
func appendHeader(b []byte, p Params) []byte {
	b = append(b, 0x0a)
	return binary.AppendUvarint(b, uint64(8*p.Words()))
}

// appendTrailer appends fields 2 to 5.
func appendTrailer(b []byte, p Params) []byte {
	b = append(b, 0x10)
	b = binary.AppendUvarint(b, uint64(p.Capacity))
	b = append(b, 0x18)
	b = binary.AppendUvarint(b, p.errorRateField())
	b = append(b, 0x20)
	b = binary.AppendUvarint(b, uint64(p.K))
	b = append(b, 0x28)
	return binary.AppendUvarint(b, uint64(p.MBits))
}

// serializedSize is the length of a serialization with parameters p.
func serializedSize(p Params) int {
	n := 8 * p.Words()
	return 1 + uvarintLen(uint64(n)) + n + 4 + uvarintLen(uint64(p.Capacity)) +
		uvarintLen(p.errorRateField()) + uvarintLen(uint64(p.K)) + uvarintLen(uint64(p.MBits))
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
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
	setBits(f.ser[f.wordOff:], a, b, f.m, f.k)
}

// setBits sets the k positions starting at a with stride b (modulo m) in an
// LSB-first bit array.
func setBits(bits []byte, a, b, m uint64, k int) {
	pos := a
	for range k {
		bits[pos>>3] |= 1 << (pos & 7)
		pos = step(pos, b, m)
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
	bits := f.ser[f.wordOff:]
	pos := a
	for range f.k {
		if bits[pos>>3]&(1<<(pos&7)) == 0 {
			return false
		}
		pos = step(pos, b, f.m)
	}
	return true
}

// Serialized returns the filter's nim-sds serialization, the bytes for field 6 of an
// SdsMessage. The slice is the filter's own storage: the caller must not modify
// it, and its contents change with the next Add.
func (f *Filter) Serialized() []byte { return f.ser }

// SerializedSize is len(Serialized()).
func (f *Filter) SerializedSize() int { return len(f.ser) }

// AppendSerialized appends the serialization to b.
func (f *Filter) AppendSerialized(b []byte) []byte { return append(b, f.ser...) }

// Words returns a copy of the filter's 1 + MBits/64 words (bit h in word h/64,
// bit h%64).
func (f *Filter) Words() []uint64 {
	words := make([]uint64, f.p.Words())
	bits := f.ser[f.wordOff:]
	for i := range words {
		words[i] = binary.LittleEndian.Uint64(bits[8*i:])
	}
	return words
}

// clear empties the filter, keeping its parameters and buffer.
func (f *Filter) clear() {
	clear(f.ser[f.wordOff : f.wordOff+8*f.p.Words()])
}
