// The SIMD scanner of a request's byte array (bytearray.c); simd.go calls it.
#ifndef NC04_BYTEARRAY_H
#define NC04_BYTEARRAY_H

#include <stddef.h>
#include <stdint.h>

// nc04_scan_blocks's answer: where the clean stretch it took ends (just after
// a comma, or the start position if it took nothing) and how many values it
// wrote.
typedef struct {
	size_t pos;
	size_t n;
} nc04_scan;

// nc04_simd_level is the best scanner this CPU runs (0: none; amd64: 1 SSSE3,
// 2 AVX2, 3 AVX-512 VBMI2; arm64: 1 NEON). It also fills the scanners' tables:
// call it once before nc04_scan_blocks.
int nc04_simd_level(void);

// nc04_scan_blocks takes whole blocks of buf[pos:len] while they hold
// elements "<spaces><1 to 3 digits>," only, writes each element's value mod
// 256 to out (at most cap bytes, some of them scratch) and returns where the
// elements it took end. It reads buf[pos:len] only, in whole blocks.
// level is at most nc04_simd_level().
nc04_scan nc04_scan_blocks(int level, const uint8_t *buf, size_t len, size_t pos, uint8_t *out, size_t cap);

#endif
