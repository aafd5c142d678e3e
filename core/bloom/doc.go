// Package bloom is a bit-exact port of nim-sds' bloom filter (sds/bloom.nim), its
// rolling wrapper (sds/rolling_bloom_filter.nim) and its protobuf serialization, the
// bytes every SDS message carries in field 6.
//
// # Nim compatibility
//
// The SDS spec defines no bloom format, so interoperating with nim-sds means
// reproducing bloom.nim exactly:
//
//   - Parameters come from (capacity, errorRate) by nim's float formulas (see
//     NewParams): the default (10000, 0.001) gives k = 10 and mBits = 150000, stored in
//     1 + mBits/64 words (nim always keeps one spare word).
//   - The n-th bit of an id is Kirsch–Mitzenmacher double hashing with Nim 2.2's
//     hash(string) (package nimhash): a = abs(H(id)) mod m, b = abs(H(id & " b")) mod
//     m, pos = abs(a + n*b) mod m, for n = 0..k-1.
//   - Bit h lives in word h/64, bit h%64; the words travel as little-endian int64s,
//     which is the same as an LSB-first byte array (byte h>>3, bit h&7).
//   - The serialization is a five-field protobuf (words, capacity,
//     uint64(errorRate*1e6), k, mBits), every field always written.
//
// # Where the bits live
//
// A Filter keeps its bits inside its own serialization (the words are an
// LSB-first byte array there), so serializing it is one copy and a dense filter
// costs its ~18.8 KB once. A Rolling filter backing only a few ids keeps no bit
// array at all (see SparseMaxIDs): it derives the bits from the ids' hashes when it
// serializes, and the bytes are the same as a dense filter's.
//
// # Hot paths
//
// A Key caches an id's two hashes and
// their reductions modulo the last m it met, so checking many of our ids against a
// received filter costs only additions and bit loads. Received filters are parsed by
// ParseRemote into a Remote, a zero-copy view over the received bytes that validates
// everything nim-sds would crash on (mBits 0, mBits beyond the words, absurd k).
package bloom
