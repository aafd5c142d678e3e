//go:build cgo && (amd64 || arm64) && !purego

// The SIMD scanner of a request's byte array: request.go's scanDigits, a
// block of text at a time. See fastScan (request.go) for why and for the
// block invariant; every scanner here is the same algorithm:
//
//   At block B (the next 64 bytes of text) with the previous block's
//   masks carried in, mark digits, commas and spaces. The block is clean if
//   every byte is one of them, every comma directly follows a digit, every
//   space follows a comma or a space, and no digit is the fourth of a run.
//   The text before the start position counts as spaces, so the stretch may
//   start with spaces but not with a comma. As every earlier byte is a digit,
//   a comma or a space, "a space follows a comma or a space" is "a space does
//   not follow a digit": a separator is bad where (previous byte is a digit)
//   XOR (it is a comma). A clean stretch is exactly a run of elements
//   "<spaces><1 to 3 digits>," (cut anywhere), which is what scanDigits
//   takes.
//   At each comma i, the element's value mod 256 is
//     d[i-1] + (10*d[i-2] & 255) + (100*d[i-3] & 255) (the last only if
//   byte i-2 is a digit), with d the digit values (0 elsewhere), the
//   products by table lookup and the sums in 8-bit lanes. The values at the
//   commas are packed to the output.
//   The first unclean byte ends the scan: the values at the commas before it
//   are kept and the scan answers the position just after the last comma
//   taken; scanDigits goes on from there.
//
// Loads are whole blocks inside buf[pos:len]: none reads before pos (the
// previous block's bytes come from registers) or after len.

#include "bytearray.h"

// lut[m] lists the positions of m's set bits, then 0x80 (a shuffle's zero);
// cnt[m] is their number.
static uint8_t lut[256][8];
static uint8_t cnt[256];

static void init_tables(void) {
	for (int m = 0; m < 256; m++) {
		int k = 0;
		for (int i = 0; i < 8; i++) {
			if (m >> i & 1) {
				lut[m][k++] = (uint8_t)i;
			}
		}
		cnt[m] = (uint8_t)k;
		for (; k < 8; k++) {
			lut[m][k] = 0x80;
		}
	}
}

// 10*x and 100*x mod 256 for a digit x (pshufb/tbl tables).
static const uint8_t t10s[16] = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90};
static const uint8_t t100s[16] = {0, 100, 200, 44, 144, 244, 88, 188, 32, 132};

// blocks is how many whole blocks of size bs the scan may take: inside
// buf[pos:len], and within cap bytes of output when a block adds at most per
// values and its stores reach at most store bytes past its first value.
static size_t blocks(size_t len, size_t pos, size_t cap, size_t bs, size_t per, size_t store) {
	if (pos > len || cap < store) {
		return 0;
	}
	size_t b = (len - pos) / bs, c = (cap - store) / per;
	return b < c ? b : c;
}

// block_commas applies the block invariant (above) to one block's masks of
// digits, commas and separators, pdig being the previous block's digits: it
// returns the commas whose values the block emits (all of them in a clean
// block, else those before its first unclean byte) and sets *clean.
static inline uint64_t block_commas(uint64_t dig, uint64_t comma, uint64_t sep, uint64_t pdig, int *clean) {
	uint64_t dig1 = dig << 1 | pdig >> 63, dig2 = dig << 2 | pdig >> 62, dig3 = dig << 3 | pdig >> 61;
	uint64_t bad = ~(dig | sep) | (sep & (dig1 ^ comma)) | (dig & dig1 & dig2 & dig3);
	*clean = bad == 0;
	return bad ? comma & ((bad & -bad) - 1) : comma;
}

// after_commas is where the scan resumes after the block at p that emitted
// the commas m: just after the last of them, or still at resume if none.
static inline size_t after_commas(size_t p, uint64_t m, size_t resume) {
	return m ? p + 64 - (size_t)__builtin_clzll(m) : resume;
}

#if defined(__x86_64__)
#include <immintrin.h>

// The AVX-512 scanner needs a compiler that knows VBMI2, also in
// __builtin_cpu_supports (GCC 8; Clang 10 to be safe).
#if defined(__clang__) ? __clang_major__ >= 10 : __GNUC__ >= 8
#define NC04_AVX512 1
#else
#define NC04_AVX512 0
#endif

// EMIT8 packs the values of v's low 8 lanes that m marks to out.
#define EMIT8(v, m)                                                                                        \
	do {                                                                                                   \
		unsigned m8_ = (unsigned)(m) & 0xff;                                                               \
		_mm_storel_epi64((__m128i *)(out + n), _mm_shuffle_epi8((v), _mm_loadl_epi64((const __m128i *)lut[m8_]))); \
		n += cnt[m8_];                                                                                     \
	} while (0)

// SSE_CLASS classifies the 16 bytes at q: t the bytes minus '0', dv the
// digits, cv the commas, sv the separators (commas and spaces).
#define SSE_CLASS(q, t, dv, cv, sv)                                                                        \
	__m128i t, dv, cv, sv;                                                                                 \
	do {                                                                                                   \
		__m128i x_ = _mm_loadu_si128((const __m128i *)(q));                                                \
		t = _mm_sub_epi8(x_, c0);                                                                          \
		dv = _mm_cmpeq_epi8(_mm_max_epu8(t, c9), c9);                                                      \
		cv = _mm_cmpeq_epi8(x_, ccomma);                                                                   \
		sv = _mm_or_si128(cv, _mm_cmpeq_epi8(x_, cspace));                                                 \
	} while (0)

// SSE_VALS emits the values at the commas m marks in 16 bytes with digit
// values d (0 elsewhere) and digit mask dv, after 16 bytes with pd and pdv.
#define SSE_VALS(d, dv, pd, pdv, m)                                                                        \
	do {                                                                                                   \
		__m128i v_ = _mm_add_epi8(_mm_add_epi8(_mm_alignr_epi8((d), (pd), 15),                             \
		                                       _mm_shuffle_epi8(t10, _mm_alignr_epi8((d), (pd), 14))),     \
		                          _mm_and_si128(_mm_shuffle_epi8(t100, _mm_alignr_epi8((d), (pd), 13)),    \
		                                        _mm_alignr_epi8((dv), (pdv), 14)));                        \
		EMIT8(v_, (m));                                                                                    \
		EMIT8(_mm_srli_si128(v_, 8), (m) >> 8);                                                            \
	} while (0)

#define MASK64(a, b, c, d)                                                                                 \
	((uint64_t)(uint16_t)_mm_movemask_epi8(a) | (uint64_t)(uint16_t)_mm_movemask_epi8(b) << 16 |          \
	 (uint64_t)(uint16_t)_mm_movemask_epi8(c) << 32 | (uint64_t)(uint16_t)_mm_movemask_epi8(d) << 48)

// The SSSE3 scanner takes 64 bytes (four vectors) a step, so that the masks
// are 64-bit words and their logic is paid once for all four.
__attribute__((target("ssse3"))) static nc04_scan scan_ssse3(const uint8_t *buf, size_t len, size_t pos,
                                                             uint8_t *out, size_t cap) {
	const __m128i c0 = _mm_set1_epi8('0'), c9 = _mm_set1_epi8(9);
	const __m128i ccomma = _mm_set1_epi8(','), cspace = _mm_set1_epi8(' ');
	const __m128i t10 = _mm_loadu_si128((const __m128i *)t10s), t100 = _mm_loadu_si128((const __m128i *)t100s);
	__m128i pd = _mm_setzero_si128(), pdv = _mm_setzero_si128();
	uint64_t pdig = 0;
	size_t p = pos, resume = pos, n = 0;
	for (size_t b = blocks(len, pos, cap, 64, 32, 64); b > 0; b--, p += 64) {
		SSE_CLASS(buf + p, t0, dv0, cv0, sv0);
		SSE_CLASS(buf + p + 16, t1, dv1, cv1, sv1);
		SSE_CLASS(buf + p + 32, t2, dv2, cv2, sv2);
		SSE_CLASS(buf + p + 48, t3, dv3, cv3, sv3);
		uint64_t dig = MASK64(dv0, dv1, dv2, dv3), comma = MASK64(cv0, cv1, cv2, cv3);
		uint64_t sep = MASK64(sv0, sv1, sv2, sv3);
		int clean;
		uint64_t m = block_commas(dig, comma, sep, pdig, &clean);
		__m128i d0 = _mm_and_si128(t0, dv0), d1 = _mm_and_si128(t1, dv1);
		__m128i d2 = _mm_and_si128(t2, dv2), d3 = _mm_and_si128(t3, dv3);
		SSE_VALS(d0, dv0, pd, pdv, m);
		SSE_VALS(d1, dv1, d0, dv0, m >> 16);
		SSE_VALS(d2, dv2, d1, dv1, m >> 32);
		SSE_VALS(d3, dv3, d2, dv2, m >> 48);
		resume = after_commas(p, m, resume);
		if (!clean) {
			break;
		}
		pdig = dig, pd = d3, pdv = dv3;
	}
	return (nc04_scan){resume, n};
}

// avx2_vals computes the values of a 32-byte half whose digit values are d
// (0 elsewhere) and digit mask digv, the previous half's being pd and pdigv.
#define AVX2_VALS(v, d, digv, pd, pdigv)                                                                     \
	do {                                                                                                   \
		__m256i dc_ = _mm256_permute2x128_si256((pd), (d), 0x21);                                          \
		__m256i digc_ = _mm256_permute2x128_si256((pdigv), (digv), 0x21);                                  \
		__m256i d1_ = _mm256_alignr_epi8((d), dc_, 15), d2_ = _mm256_alignr_epi8((d), dc_, 14);           \
		__m256i d3_ = _mm256_alignr_epi8((d), dc_, 13), dig2_ = _mm256_alignr_epi8((digv), digc_, 14);    \
		(v) = _mm256_add_epi8(_mm256_add_epi8(d1_, _mm256_shuffle_epi8(t10, d2_)),                        \
		                      _mm256_and_si256(_mm256_shuffle_epi8(t100, d3_), dig2_));                    \
	} while (0)

// The AVX2 scanner takes 64 bytes (two vectors) a step, so that the masks
// are 64-bit words and their logic is paid once for both.
__attribute__((target("avx2"))) static nc04_scan scan_avx2(const uint8_t *buf, size_t len, size_t pos,
                                                                  uint8_t *out, size_t cap) {
	const __m256i c0 = _mm256_set1_epi8('0'), c9 = _mm256_set1_epi8(9);
	const __m256i ccomma = _mm256_set1_epi8(','), cspace = _mm256_set1_epi8(' ');
	const __m256i t10 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t10s));
	const __m256i t100 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t100s));
	__m256i pd = _mm256_setzero_si256(), pdigv = _mm256_setzero_si256();
	uint64_t pdig = 0;
	size_t p = pos, resume = pos, n = 0;
	for (size_t b = blocks(len, pos, cap, 64, 32, 64); b > 0; b--, p += 64) {
		__m256i x0 = _mm256_loadu_si256((const __m256i *)(buf + p));
		__m256i x1 = _mm256_loadu_si256((const __m256i *)(buf + p + 32));
		__m256i t0 = _mm256_sub_epi8(x0, c0), t1 = _mm256_sub_epi8(x1, c0);
		__m256i digv0 = _mm256_cmpeq_epi8(_mm256_max_epu8(t0, c9), c9);
		__m256i digv1 = _mm256_cmpeq_epi8(_mm256_max_epu8(t1, c9), c9);
		__m256i comma0 = _mm256_cmpeq_epi8(x0, ccomma), comma1 = _mm256_cmpeq_epi8(x1, ccomma);
		__m256i sep0 = _mm256_or_si256(comma0, _mm256_cmpeq_epi8(x0, cspace));
		__m256i sep1 = _mm256_or_si256(comma1, _mm256_cmpeq_epi8(x1, cspace));
		uint64_t dig = (uint32_t)_mm256_movemask_epi8(digv0) | (uint64_t)(uint32_t)_mm256_movemask_epi8(digv1) << 32;
		uint64_t comma =
		    (uint32_t)_mm256_movemask_epi8(comma0) | (uint64_t)(uint32_t)_mm256_movemask_epi8(comma1) << 32;
		uint64_t sep = (uint32_t)_mm256_movemask_epi8(sep0) | (uint64_t)(uint32_t)_mm256_movemask_epi8(sep1) << 32;
		__m256i d0 = _mm256_and_si256(t0, digv0), d1 = _mm256_and_si256(t1, digv1), v0, v1;
		AVX2_VALS(v0, d0, digv0, pd, pdigv);
		AVX2_VALS(v1, d1, digv1, d0, digv0);
		int clean;
		uint64_t m = block_commas(dig, comma, sep, pdig, &clean);
		__m128i v00 = _mm256_castsi256_si128(v0), v01 = _mm256_extracti128_si256(v0, 1);
		__m128i v10 = _mm256_castsi256_si128(v1), v11 = _mm256_extracti128_si256(v1, 1);
		EMIT8(v00, m);
		EMIT8(_mm_srli_si128(v00, 8), m >> 8);
		EMIT8(v01, m >> 16);
		EMIT8(_mm_srli_si128(v01, 8), m >> 24);
		EMIT8(v10, m >> 32);
		EMIT8(_mm_srli_si128(v10, 8), m >> 40);
		EMIT8(v11, m >> 48);
		EMIT8(_mm_srli_si128(v11, 8), m >> 56);
		resume = after_commas(p, m, resume);
		if (!clean) {
			break;
		}
		pdig = dig, pd = d1, pdigv = digv1;
	}
	return (nc04_scan){resume, n};
}

#if NC04_AVX512
__attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vbmi2,popcnt"))) static nc04_scan
scan_avx512(const uint8_t *buf, size_t len, size_t pos, uint8_t *out, size_t cap) {
	const __m512i c0 = _mm512_set1_epi8('0'), c10 = _mm512_set1_epi8(10);
	const __m512i ccomma = _mm512_set1_epi8(','), cspace = _mm512_set1_epi8(' ');
	const __m512i t10 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)t10s));
	const __m512i t100 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)t100s));
	// idx_k[i] = 64-k+i: byte i-k of (previous block, this block)
	uint8_t iota[64];
	for (int i = 0; i < 64; i++) {
		iota[i] = (uint8_t)i;
	}
	const __m512i io = _mm512_loadu_si512(iota);
	const __m512i idx1 = _mm512_add_epi8(io, _mm512_set1_epi8(63)), idx2 = _mm512_add_epi8(io, _mm512_set1_epi8(62));
	const __m512i idx3 = _mm512_add_epi8(io, _mm512_set1_epi8(61));
	__m512i pd = _mm512_setzero_si512();
	uint64_t pdig = 0;
	size_t p = pos, resume = pos, n = 0;
	for (size_t b = blocks(len, pos, cap, 64, 32, 64); b > 0; b--, p += 64) {
		__m512i x = _mm512_loadu_si512(buf + p);
		__m512i t = _mm512_sub_epi8(x, c0);
		uint64_t dig = _mm512_cmplt_epu8_mask(t, c10);
		uint64_t comma = _mm512_cmpeq_epi8_mask(x, ccomma), space = _mm512_cmpeq_epi8_mask(x, cspace);
		uint64_t sep = comma | space;
		uint64_t dig2 = dig << 2 | pdig >> 62; // the hundreds count where two bytes back is a digit
		__m512i d = _mm512_maskz_mov_epi8(dig, t);
		__m512i d1 = _mm512_permutex2var_epi8(pd, idx1, d), d2 = _mm512_permutex2var_epi8(pd, idx2, d);
		__m512i d3 = _mm512_permutex2var_epi8(pd, idx3, d);
		__m512i v = _mm512_add_epi8(_mm512_add_epi8(d1, _mm512_shuffle_epi8(t10, d2)),
		                            _mm512_maskz_shuffle_epi8(dig2, t100, d3));
		int clean;
		uint64_t m = block_commas(dig, comma, sep, pdig, &clean);
		_mm512_storeu_si512(out + n, _mm512_maskz_compress_epi8(m, v));
		n += (size_t)__builtin_popcountll(m);
		resume = after_commas(p, m, resume);
		if (!clean) {
			break;
		}
		pdig = dig, pd = d;
	}
	return (nc04_scan){resume, n};
}

#endif

int nc04_simd_level(void) {
	init_tables();
	__builtin_cpu_init();
#if NC04_AVX512
	if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi") &&
	    __builtin_cpu_supports("avx512vbmi2") && __builtin_cpu_supports("popcnt")) {
		return 3;
	}
#endif
	if (__builtin_cpu_supports("avx2")) {
		return 2;
	}
	return __builtin_cpu_supports("ssse3") ? 1 : 0;
}

nc04_scan nc04_scan_blocks(int level, const uint8_t *buf, size_t len, size_t pos, uint8_t *out, size_t cap) {
	switch (level) {
#if NC04_AVX512
	case 3:
		return scan_avx512(buf, len, pos, out, cap);
#endif
	case 2:
		return scan_avx2(buf, len, pos, out, cap);
	case 1:
		return scan_ssse3(buf, len, pos, out, cap);
	}
	return (nc04_scan){pos, 0};
}

#elif defined(__aarch64__)
#include <arm_neon.h>

// movemask64 is the mask of the 64 lanes (each 0 or 0xff) of a, b, c, d.
static inline uint64_t movemask64(uint8x16_t a, uint8x16_t b, uint8x16_t c, uint8x16_t d) {
	const uint8x16_t bits = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
	uint8x16_t ab = vpaddq_u8(vandq_u8(a, bits), vandq_u8(b, bits));
	uint8x16_t cd = vpaddq_u8(vandq_u8(c, bits), vandq_u8(d, bits));
	uint8x16_t abcd = vpaddq_u8(ab, cd);
	return vgetq_lane_u64(vreinterpretq_u64_u8(vpaddq_u8(abcd, abcd)), 0);
}

// NEON_CLASS classifies the 16 bytes at q: t the bytes minus '0', dv the
// digits, cv the commas, sv the separators (commas and spaces).
#define NEON_CLASS(q, t, dv, cv, sv)                                                                       \
	uint8x16_t t, dv, cv, sv;                                                                              \
	do {                                                                                                   \
		uint8x16_t x_ = vld1q_u8(q);                                                                       \
		t = vsubq_u8(x_, c0);                                                                              \
		dv = vcltq_u8(t, c10);                                                                             \
		cv = vceqq_u8(x_, ccomma);                                                                         \
		sv = vorrq_u8(cv, vceqq_u8(x_, cspace));                                                           \
	} while (0)

// NEON_VALS emits the values at the commas m marks in 16 bytes with digit
// values d (0 elsewhere) and digit mask dv, after 16 bytes with pd and pdv.
#define NEON_VALS(d, dv, pd, pdv, m)                                                                       \
	do {                                                                                                   \
		uint8x16_t v_ = vaddq_u8(vaddq_u8(vextq_u8((pd), (d), 15), vqtbl1q_u8(t10, vextq_u8((pd), (d), 14))), \
		                         vandq_u8(vqtbl1q_u8(t100, vextq_u8((pd), (d), 13)), vextq_u8((pdv), (dv), 14))); \
		unsigned lo_ = (unsigned)(m) & 0xff, hi_ = (unsigned)((m) >> 8) & 0xff;                            \
		vst1_u8(out + n, vqtbl1_u8(v_, vld1_u8(lut[lo_])));                                                \
		n += cnt[lo_];                                                                                     \
		vst1_u8(out + n, vqtbl1_u8(v_, vadd_u8(vld1_u8(lut[hi_]), c8)));                                   \
		n += cnt[hi_];                                                                                     \
	} while (0)

// The NEON scanner takes 64 bytes (four vectors) a step, as the SSSE3 one.
static nc04_scan scan_neon(const uint8_t *buf, size_t len, size_t pos, uint8_t *out, size_t cap) {
	const uint8x16_t c0 = vdupq_n_u8('0'), c10 = vdupq_n_u8(10);
	const uint8x16_t ccomma = vdupq_n_u8(','), cspace = vdupq_n_u8(' ');
	const uint8x16_t t10 = vld1q_u8(t10s), t100 = vld1q_u8(t100s);
	const uint8x8_t c8 = vdup_n_u8(8);
	uint8x16_t pd = vdupq_n_u8(0), pdv = vdupq_n_u8(0);
	uint64_t pdig = 0;
	size_t p = pos, resume = pos, n = 0;
	for (size_t b = blocks(len, pos, cap, 64, 32, 64); b > 0; b--, p += 64) {
		NEON_CLASS(buf + p, t0, dv0, cv0, sv0);
		NEON_CLASS(buf + p + 16, t1, dv1, cv1, sv1);
		NEON_CLASS(buf + p + 32, t2, dv2, cv2, sv2);
		NEON_CLASS(buf + p + 48, t3, dv3, cv3, sv3);
		uint64_t dig = movemask64(dv0, dv1, dv2, dv3), comma = movemask64(cv0, cv1, cv2, cv3);
		uint64_t sep = movemask64(sv0, sv1, sv2, sv3);
		int clean;
		uint64_t m = block_commas(dig, comma, sep, pdig, &clean);
		uint8x16_t d0 = vandq_u8(t0, dv0), d1 = vandq_u8(t1, dv1), d2 = vandq_u8(t2, dv2), d3 = vandq_u8(t3, dv3);
		NEON_VALS(d0, dv0, pd, pdv, m);
		NEON_VALS(d1, dv1, d0, dv0, m >> 16);
		NEON_VALS(d2, dv2, d1, dv1, m >> 32);
		NEON_VALS(d3, dv3, d2, dv2, m >> 48);
		resume = after_commas(p, m, resume);
		if (!clean) {
			break;
		}
		pdig = dig, pd = d3, pdv = dv3;
	}
	return (nc04_scan){resume, n};
}

int nc04_simd_level(void) {
	init_tables();
	return 1;
}

nc04_scan nc04_scan_blocks(int level, const uint8_t *buf, size_t len, size_t pos, uint8_t *out, size_t cap) {
	if (level == 1) {
		return scan_neon(buf, len, pos, out, cap);
	}
	return (nc04_scan){pos, 0};
}

#else

int nc04_simd_level(void) { return 0; }

nc04_scan nc04_scan_blocks(int level, const uint8_t *buf, size_t len, size_t pos, uint8_t *out, size_t cap) {
	(void)level, (void)buf, (void)len, (void)out, (void)cap;
	return (nc04_scan){pos, 0};
}

#endif
