// Package nimhash reproduces the integer arithmetic nim-sds builds on: Nim 2.2's
// hash(string) and the int64 abs it applies before every modulo.
//
// Nim 2.2 hashes a string with FarmHash's farmhashna::Hash64 (identical to
// util::Fingerprint64) and reinterprets the uint64 as a signed int64. In Go that is
// exactly farm.Fingerprint64 from github.com/dgryski/go-farm. Note that farm.Hash64
// is a different function and does not match for inputs longer than 32 bytes.
package nimhash

import (
	"math"
	"unsafe"

	farm "github.com/dgryski/go-farm"
)

// Bytes returns Nim's hash(string) of b.
func Bytes(b []byte) int64 {
	return int64(farm.Fingerprint64(b))
}

// String returns Nim's hash(string) of s without copying it.
func String(s string) int64 {
	return int64(farm.Fingerprint64(unsafe.Slice(unsafe.StringData(s), len(s))))
}

// Concat returns Nim's hash(a & b): the hash of the two strings' bytes joined
// without a separator, as nim-sds's SDS-R formulas compute it.
func Concat(a, b string) int64 {
	if len(a)+len(b) <= 256 {
		var buf [256]byte
		n := copy(buf[:], a)
		n += copy(buf[n:], b)
		return Bytes(buf[:n])
	}
	return Bytes([]byte(a + b))
}

// Abs is int64 absolute value with one defined edge: Nim raises an overflow
// defect (or, with checks off, returns a negative number) for abs(MinInt64); we
// take it as MaxInt64 so every caller gets a non-negative result.
func Abs(x int64) int64 {
	switch {
	case x == math.MinInt64:
		return math.MaxInt64
	case x < 0:
		return -x
	default:
		return x
	}
}
