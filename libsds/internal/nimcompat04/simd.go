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
	free := dst[len(dst):cap(dst)]
	r := C.nc04_scan_blocks(C.int(level), (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(buf))), C.size_t(len(buf)),
		C.size_t(pos), (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(free))), C.size_t(len(free)))
	return int(r.pos), dst[:len(dst)+int(r.n)]
}
