package bloom

import (
	"encoding/binary"
	"errors"
	"unsafe"
)

// ErrInvalidFilter is returned by ParseRemote for bytes that nim-sds would fail to
// decode, or would decode into a filter it crashes on. Callers treat it as "the
// message carries no filter".
var ErrInvalidFilter = errors.New("bloom: invalid or inconsistent filter")

// maxRemoteK bounds k in received filters. nim-sds only ever creates k <= 12; a huge
// k would make every lookup loop that many times.
const maxRemoteK = 64

// Remote is a filter received from a peer: a read-only view over the bytes it was
// parsed from, which must not be modified while the Remote is in use. The zero Remote
// contains nothing.
type Remote struct {
	words    []byte // 8 * (len(field 1) / 8) bytes of little-endian words
	capacity uint64
	errRate  uint64 // errorRate * 1e6, as sent
	k        uint64
	m        uint64
}

// ParseRemote decodes a serialized filter without copying it. It accepts exactly what
// nim-sds' BloomFilter.fromBytes accepts (nim-libp2p minprotobuf rules: all five
// fields required, the last occurrence of a field wins, a field with an unexpected
// wire type counts as absent, wire types 3, 4, 6 and 7 and truncated, over-long or
// non-minimal varints are errors, field 1 holds len/8 words and its trailing bytes
// are ignored),
// and additionally rejects, as ErrInvalidFilter, what nim-sds would crash on: mBits 0,
// mBits beyond 64 × the word count, and k of 0 or above 64. It does not allocate.
func ParseRemote(data []byte) (Remote, error) {
	var (
		r     Remote
		words []byte
		have  [6]bool
		vals  [6]uint64
	)
	for i := 0; i < len(data); {
		key, n := uvarint(data[i:])
		if n == 0 {
			return Remote{}, ErrInvalidFilter
		}
		i += n
		num := key >> 3
		switch key & 7 {
		case 0: // varint
			v, n := uvarint(data[i:])
			if n == 0 {
				return Remote{}, ErrInvalidFilter
			}
			i += n
			if num >= 2 && num <= 5 {
				vals[num], have[num] = v, true
			}
		case 1: // fixed64
			if len(data)-i < 8 {
				return Remote{}, ErrInvalidFilter
			}
			i += 8
		case 2: // length-delimited
			l, n := uvarint(data[i:])
			if n == 0 {
				return Remote{}, ErrInvalidFilter
			}
			i += n
			if l > uint64(len(data)-i) {
				return Remote{}, ErrInvalidFilter
			}
			if num == 1 {
				words, have[1] = data[i:i+int(l)], true
			}
			i += int(l)
		case 5: // fixed32
			if len(data)-i < 4 {
				return Remote{}, ErrInvalidFilter
			}
			i += 4
		default: // 3, 4 (groups), 6, 7
			return Remote{}, ErrInvalidFilter
		}
	}
	for _, ok := range have[1:] {
		if !ok {
			return Remote{}, ErrInvalidFilter
		}
	}
	nWords := uint64(len(words) / 8)
	r.words = words[:8*nWords]
	r.capacity, r.errRate, r.k, r.m = vals[2], vals[3], vals[4], vals[5]
	// m <= 64*nWords = 8*len(data) and k <= 64 keep k*m far below 2^63, which the
	// incremental position computation relies on.
	if r.m == 0 || r.m > 64*nWords || r.k == 0 || r.k > maxRemoteK {
		return Remote{}, ErrInvalidFilter
	}
	return r, nil
}

// uvarint decodes a varint as nim-libp2p 1.15.3's PB.getUVarint (the version
// nim-sds links) does: at most 10 bytes, minimal encoding only (a zero final
// byte after the first, or a tenth byte other than 0x01, is Overlong). It
// returns n = 0 for anything it rejects. See wire.rejectNonMinimalVarints.
func uvarint(b []byte) (v uint64, n int) {
	// A filter's varints are at most three bytes, but for hand-made input:
	// those are read without the loop. A zero final byte is Overlong.
	switch {
	case len(b) > 0 && b[0] < 0x80:
		return uint64(b[0]), 1
	case len(b) > 1 && b[1] < 0x80:
		if b[1] == 0 {
			return 0, 0
		}
		return uint64(b[0]&0x7f) | uint64(b[1])<<7, 2
	case len(b) > 2 && b[2] < 0x80:
		if b[2] == 0 {
			return 0, 0
		}
		return uint64(b[0]&0x7f) | uint64(b[1]&0x7f)<<7 | uint64(b[2])<<14, 3
	}
	for i, c := range b {
		if i == 9 {
			if c != 1 {
				return 0, 0
			}
			return v | 1<<63, 10
		}
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c < 0x80 {
			if c == 0 && i > 0 {
				return 0, 0
			}
			return v, i + 1
		}
	}
	return 0, 0
}

// Params returns the parameters as sent: capacity, errorRate = field 3 / 1e6, k and
// mBits.
func (r Remote) Params() Params {
	return Params{
		Capacity:  int(r.capacity),
		ErrorRate: float64(r.errRate) / 1_000_000,
		K:         int(r.k),
		MBits:     int(r.m),
	}
}

// Contains reports whether all of id's k bits are set, with the sender's k and mBits.
func (r *Remote) Contains(id string) bool {
	if r.m == 0 {
		return false
	}
	h1, h2 := hashes(id)
	return r.test(h1%r.m, h2%r.m)
}

// ContainsKey is Contains for the id k was made from. Reusing k across filters with
// the same mBits skips all hashing and division.
func (r *Remote) ContainsKey(k *Key) bool {
	if r.m == 0 {
		return false
	}
	return r.test(k.reduce(r.m))
}

// MBits is the filter's size in bits (0 for the zero Remote).
func (r *Remote) MBits() uint64 { return r.m }

// Has reports whether bit pos (< MBits) is set.
func (r *Remote) Has(pos uint64) bool { return r.words[pos>>3]&(1<<(pos&7)) != 0 }

// Bits returns the filter's bits, bit pos (< MBits) at bit pos%8 of byte
// pos/8, for loops that test many positions (Has, inlined, reloads the bytes
// at each call). The bytes are the Remote's: read only.
func (r *Remote) Bits() []byte { return r.words }

// Intersect calls fn(i, hit) for each i where hit, the AND of mask[i] and the
// filter's bits 64*i to 64*i+63 (bit 64*i+j as bit j), is not zero. mask must
// not be longer than (MBits+63)/64 words.
func (r *Remote) Intersect(mask []uint64, fn func(i int, hit uint64)) {
	words := r.words[:8*len(mask)]
	le := binary.LittleEndian
	i := 0
	for {
		// Hits are rare: a call-free loop finds the next block of words
		// with one, which is then tested word by word.
		if i = meetBlock(mask, words, i); i == len(mask)/blockWords*blockWords {
			break
		}
		for j := i; j < i+blockWords; j++ {
			if hit := mask[j] & le.Uint64(words[8*j:]); hit != 0 {
				fn(j, hit)
			}
		}
		i += blockWords
	}
	for ; i < len(mask); i++ {
		if hit := mask[i] & le.Uint64(words[8*i:]); hit != 0 {
			fn(i, hit)
		}
	}
}

// blockWords is how many words meetBlock tests per branch.
const blockWords = 8

// meetBlock returns the first i' >= i, in steps of blockWords, where one of
// the words mask[i':i'+blockWords] meets the filter's (words: 8 little-endian
// bytes per mask word), or the last block's end when none does. i is a
// multiple of blockWords.
//
// Intersect scans the whole filter: the loop is kept free of bounds checks
// by viewing both slices as arrays of blocks (unsafe.Slice over the same
// memory; the words are still read as little-endian bytes).
func meetBlock(mask []uint64, words []byte, i int) int {
	n := len(mask) / blockWords
	if n == 0 || len(words) < 8*blockWords*n {
		return n * blockWords
	}
	mb := unsafe.Slice((*[blockWords]uint64)(unsafe.Pointer(&mask[0])), n)
	wb := unsafe.Slice((*[8 * blockWords]byte)(unsafe.Pointer(&words[0])), n)
	le := binary.LittleEndian
	for k := i / blockWords; k < len(mb) && k < len(wb); k++ {
		m, w := &mb[k], &wb[k]
		if m[0]&le.Uint64(w[0:])|m[1]&le.Uint64(w[8:])|m[2]&le.Uint64(w[16:])|m[3]&le.Uint64(w[24:])|
			m[4]&le.Uint64(w[32:])|m[5]&le.Uint64(w[40:])|m[6]&le.Uint64(w[48:])|m[7]&le.Uint64(w[56:]) != 0 {
			return k * blockWords
		}
	}
	return n * blockWords
}

// FirstUnset returns the first of k's positions that is not set; ok is false
// when all are set, that is when the filter contains k's id. r must not be the
// zero Remote.
func (r *Remote) FirstUnset(k *Key) (pos uint64, ok bool) {
	a, b := k.reduce(r.m)
	pos = a
	for range r.k {
		if r.words[pos>>3]&(1<<(pos&7)) == 0 {
			return pos, true
		}
		pos = step(pos, b, r.m)
	}
	return 0, false
}

func (r *Remote) test(a, b uint64) bool { return r.testFrom(a, b, r.k) }

// testFrom checks n positions starting at pos.
func (r *Remote) testFrom(pos, b, n uint64) bool {
	words, m := r.words, r.m
	// Most ack-review lookups are for ids the peer has not seen, and with a filter
	// a third to half full the first unset bit is a coin toss: testing four bits
	// per branch instead of one avoids most branch mispredictions.
	for ; n >= 4; n -= 4 {
		p0 := pos
		p1 := step(p0, b, m)
		p2 := step(p1, b, m)
		p3 := step(p2, b, m)
		pos = step(p3, b, m)
		if (words[p0>>3]>>(p0&7))&(words[p1>>3]>>(p1&7))&(words[p2>>3]>>(p2&7))&(words[p3>>3]>>(p3&7))&1 == 0 {
			return false
		}
	}
	for ; n > 0; n-- {
		if words[pos>>3]&(1<<(pos&7)) == 0 {
			return false
		}
		pos = step(pos, b, m)
	}
	return true
}

// step advances a position by b modulo m (pos, b < m < 2^62). It is
// branch-free: whether pos+b wraps is a coin toss, and a mispredicted branch
// per step cost more than the bit loads of a lookup.
func step(pos, b, m uint64) uint64 {
	d := pos + b - m
	return d + m&uint64(int64(d)>>63) // d went negative: pos+b < m, add m back
}
