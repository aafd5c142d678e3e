//go:build cgo && (amd64 || arm64) && !purego

package nimcompat04

// #include "bytearray.h"
import "C"

import (
	"slices"
	"unsafe"
)

// simdLevel is the best block scanner this CPU runs (bytearray.h): 0 for
// none, then scanDigits does all the work.
var simdLevel = int(C.nc04_simd_level())

// scanBlocks takes the clean stretch of buf from pos (an element's start) in
// whole blocks with the scanner of the given level, appending its values to
// dst, and returns the position after the last comma it took (pos if none).
// buf[len(buf)-1] is the request's NUL; no block reads past it.
func scanBlocks(level int, buf []byte, pos int, dst []byte) (int, []byte) {
	// at most one value per two bytes of text, plus the scanner's scratch
	dst = slices.Grow(dst, (len(buf)-pos)/2+64)
	p, n := scanInto(level, buf, pos, dst[len(dst):cap(dst)])
	return p, dst[:len(dst)+n]
}

// scanInto is scanBlocks writing to out: the n values are out[:n]; it writes
// nothing past len(out) and stops early rather than run out of room.
func scanInto(level int, buf []byte, pos int, out []byte) (int, int) {
	if len(out) == 0 {
		return pos, 0
	}
	r := C.nc04_scan_blocks(C.int(level), (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(buf))), C.size_t(len(buf)),
		C.size_t(pos), (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(out))), C.size_t(len(out)))
	return int(r.pos), int(r.n)
}
