package bloom_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/bloom"
	"github.com/logos-messaging/libsds-go/internal/vectors"
)

// Hand-rolled protobuf pieces, independent of the package's encoder.

func vfield(num, v uint64) []byte {
	b := binary.AppendUvarint(nil, num<<3)
	return binary.AppendUvarint(b, v)
}

func bfield(num uint64, data []byte) []byte {
	b := binary.AppendUvarint(nil, num<<3|2)
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// smallFilter returns the golden (100, 0.01) filter's parts: its word bytes, the
// canonical serialization, and its ids.
func smallFilter(t *testing.T) (words, ser []byte, ids []string) {
	g := vectors.LoadGolden(t)
	v := g.BloomFilters[1]
	require.Equal(t, 100, v.Capacity)
	ser = mustHex(t, v.SerializedHex)
	require.Equal(t, []byte{0x0a, 0x80, 0x01}, ser[:3])
	words = ser[3 : 3+128]
	require.Equal(t, ser, cat(bfield(1, words), vfield(2, 100), vfield(3, 10000), vfield(4, 7), vfield(5, 1000)))
	return words, ser, v.IDs
}

func requireValid(t *testing.T, data []byte, ids []string, wantParams bloom.Params, msg string) {
	t.Helper()
	r, err := bloom.ParseRemote(data)
	require.NoError(t, err, msg)
	require.Equal(t, wantParams, r.Params(), msg)
	for _, id := range ids {
		require.True(t, r.Contains(id), "%s: %s", msg, id)
	}
}

func requireInvalid(t *testing.T, data []byte, msg string) {
	t.Helper()
	var r bloom.Remote
	var err error
	require.NotPanics(t, func() { r, err = bloom.ParseRemote(data) }, msg)
	require.ErrorIs(t, err, bloom.ErrInvalidFilter, msg)
	require.False(t, r.Contains("id-0"), msg)
}

func TestRemoteAcceptsNimVariants(t *testing.T) {
	words, ser, ids := smallFilter(t)
	want := bloom.Params{Capacity: 100, ErrorRate: 0.01, K: 7, MBits: 1000}
	requireValid(t, ser, ids, want, "canonical")

	// Field order does not matter.
	requireValid(t, cat(vfield(5, 1000), vfield(4, 7), bfield(1, words), vfield(3, 10000), vfield(2, 100)), ids, want, "reordered")

	// Trailing bytes in field 1 (length not a multiple of 8) are ignored.
	for extra := 1; extra < 8; extra++ {
		w := append(append([]byte{}, words...), make([]byte, extra)...)
		for i := range extra {
			w[len(words)+i] = 0xff
		}
		requireValid(t, cat(bfield(1, w), ser[3+128:]), ids, want, fmt.Sprintf("%d trailing bytes", extra))
	}

	// The last occurrence of a field wins.
	requireValid(t, cat(vfield(4, 99), ser), ids, want, "earlier k overridden")
	requireValid(t, cat(bfield(1, make([]byte, 8)), ser), ids, want, "earlier words overridden")
	r, err := bloom.ParseRemote(cat(ser, vfield(2, 5)))
	require.NoError(t, err)
	require.Equal(t, 5, r.Params().Capacity)
	r, err = bloom.ParseRemote(cat(ser, bfield(1, make([]byte, 128))))
	require.NoError(t, err)
	require.False(t, r.Contains(ids[0]), "later, empty words win")

	// A field with an unexpected wire type is skipped as if absent; the valid one stays.
	requireValid(t, cat(ser, bfield(4, []byte{1, 2, 3})), ids, want, "k as bytes after k")
	requireValid(t, cat(ser, []byte{0x2d, 1, 2, 3, 4}), ids, want, "m as fixed32 after m")
	requireValid(t, cat(ser, []byte{0x11, 1, 2, 3, 4, 5, 6, 7, 8}), ids, want, "capacity as fixed64")
	requireValid(t, cat(ser, vfield(1, 3)), ids, want, "words as varint")

	// Unknown fields of supported wire types are skipped; so is field 0.
	requireValid(t, cat(vfield(9, 1), bfield(6, []byte("zz")), ser, []byte{0x0d, 0, 0, 0, 0}, []byte{0x09, 0, 0, 0, 0, 0, 0, 0, 0}, vfield(0, 7)), ids, want, "unknown fields")
	// A field number is the whole key >> 3: 1 | 1<<32 is not field 1.
	requireValid(t, cat(ser, bfield(1|1<<32, make([]byte, 128))), ids, want, "big field number")

	// mBits may use all of 64*words bits, and k up to 64 is accepted.
	edge := cat(bfield(1, words), vfield(2, 100), vfield(3, 10000), vfield(4, 64), vfield(5, 64*16))
	r, err = bloom.ParseRemote(edge)
	require.NoError(t, err)
	require.Equal(t, bloom.Params{Capacity: 100, ErrorRate: 0.01, K: 64, MBits: 1024}, r.Params())
	for i := range 100 {
		r.Contains(fmt.Sprintf("e%d", i)) // positions up to 1023 must be in range
	}

	// A remote filter reports exactly what the sender's positions say.
	one := make([]byte, 16)
	for _, p := range bloom.Positions("solo", 3, 100) {
		one[p>>3] |= 1 << (p & 7)
	}
	r, err = bloom.ParseRemote(cat(bfield(1, one), vfield(2, 1), vfield(3, 0), vfield(4, 3), vfield(5, 100)))
	require.NoError(t, err)
	require.True(t, r.Contains("solo"))
	require.Equal(t, 0.0, r.Params().ErrorRate)
}

func TestRemoteRejectsHazards(t *testing.T) {
	words, ser, _ := smallFilter(t)
	body := func(k, m uint64) []byte {
		return cat(bfield(1, words), vfield(2, 100), vfield(3, 10000), vfield(4, k), vfield(5, m))
	}
	cases := map[string][]byte{
		"nil":                 nil,
		"empty":               {},
		"mBits 0":             body(7, 0),
		"mBits 64*words+1":    body(7, 64*16+1),
		"mBits huge":          body(7, 1<<62),
		"mBits max":           body(7, 1<<64-1),
		"k 0":                 body(0, 1000),
		"k 65":                body(65, 1000),
		"k 2^40":              body(1<<40, 1000),
		"k max":               body(1<<64-1, 1000),
		"no words":            cat(vfield(2, 100), vfield(3, 10000), vfield(4, 7), vfield(5, 1000)),
		"no capacity":         cat(bfield(1, words), vfield(3, 10000), vfield(4, 7), vfield(5, 1000)),
		"no error rate":       cat(bfield(1, words), vfield(2, 100), vfield(4, 7), vfield(5, 1000)),
		"no k":                cat(bfield(1, words), vfield(2, 100), vfield(3, 10000), vfield(5, 1000)),
		"no mBits":            cat(bfield(1, words), vfield(2, 100), vfield(3, 10000), vfield(4, 7)),
		"words empty":         cat(bfield(1, nil), vfield(2, 100), vfield(3, 10000), vfield(4, 7), vfield(5, 1000)),
		"words too short":     cat(bfield(1, words[:7]), vfield(2, 100), vfield(3, 10000), vfield(4, 7), vfield(5, 1)),
		"k as bytes only":     cat(bfield(1, words), vfield(2, 100), vfield(3, 10000), bfield(4, []byte{7}), vfield(5, 1000)),
		"m as fixed32 only":   cat(bfield(1, words), vfield(2, 100), vfield(3, 10000), vfield(4, 7), []byte{0x2d, 0xe8, 0x03, 0, 0}),
		"cap as fixed64 only": cat(bfield(1, words), []byte{0x11, 100, 0, 0, 0, 0, 0, 0, 0}, vfield(3, 10000), vfield(4, 7), vfield(5, 1000)),
		"words as varint":     cat(vfield(1, 5), vfield(2, 100), vfield(3, 10000), vfield(4, 7), vfield(5, 1000)),
		"start group":         cat(ser, []byte{0x33}),
		"end group":           cat(ser, []byte{0x34}),
		"group before fields": cat([]byte{0x0b}, ser),
		"start group, data":   cat(ser, []byte{0x33, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
		"end group, data":     cat(ser, []byte{0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
		"field 1 group":       cat(ser, []byte{0x0b, 0x0c}),
		"wire type 6, data":   cat(ser, []byte{0x36, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
		"wire type 7, data":   cat(ser, []byte{0x2f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
		"wire type 6":         cat(ser, []byte{0x36, 0}),
		"wire type 7":         cat(ser, []byte{0x0f}),
		"11-byte varint":      cat(ser, []byte{0x20, 0x87, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}),
		"11-byte tag":         cat(ser, []byte{0xa0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 7}),
		"k 10th byte bit":     cat(ser, []byte{0x20, 0x87, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}),
		// nim-libp2p 1.15.3 (what nim-sds links) rejects non-minimal varints and a
		// tenth byte other than 0x01 as Overlong.
		"10th byte above 1":    cat(ser, []byte{0x20, 0x87, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7e}),
		"non-minimal tag":      cat(ser, []byte{0xa0, 0x80, 0x00, 0x07}),
		"non-minimal value":    cat(ser, []byte{0x20, 0x87, 0x00}),
		"truncated tag":        cat(ser, []byte{0x80}),
		"truncated varint":     cat(ser, []byte{0x20, 0x87}),
		"truncated fixed64":    cat(ser, []byte{0x49, 1, 2, 3}),
		"truncated fixed32":    cat(ser, []byte{0x4d, 1, 2, 3}),
		"truncated length":     cat(ser, []byte{0x52, 0x85}),
		"length past end":      cat(ser, []byte{0x52, 0x05, 1, 2}),
		"length past end by 1": cat(ser, []byte{0x52, 0x03, 1, 2}),
		"words past end by 1":  cat(vfield(2, 100), vfield(3, 10000), vfield(4, 7), vfield(5, 1000), []byte{0x0a, 0x81, 0x01}, words),
		"length 2^64-1":        cat(ser, []byte{0x52, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}),
	}
	for name, data := range cases {
		requireInvalid(t, data, name)
	}
	// Every strict prefix of a valid filter is truncated or lacks a field.
	for n := range len(ser) {
		requireInvalid(t, ser[:n], fmt.Sprintf("prefix %d", n))
	}
}

func TestZeroRemoteContainsNothing(t *testing.T) {
	var r bloom.Remote
	require.False(t, r.Contains("x"))
	k := bloom.NewKey("x")
	require.False(t, r.ContainsKey(&k))
	require.Equal(t, bloom.Params{}, r.Params())
}

func TestRemoteIsAView(t *testing.T) {
	f := bloom.NewFilter(bloom.NewParams(100, 0.01))
	data := append([]byte{}, f.Serialized()...)
	r, err := bloom.ParseRemote(data)
	require.NoError(t, err)
	require.False(t, r.Contains("late"))
	// Setting the bits in the underlying bytes shows through: nothing was copied.
	for _, p := range bloom.Positions("late", 7, 1000) {
		data[3+p>>3] |= 1 << (p & 7)
	}
	require.True(t, r.Contains("late"))
	require.Zero(t, testing.AllocsPerRun(100, func() { _, _ = bloom.ParseRemote(data) }))
}

// intersectWant is what Intersect(mask) reports: the non-zero ANDs, by word.
func intersectWant(mask, words []uint64) map[int]uint64 {
	want := map[int]uint64{}
	for i := range mask {
		if h := mask[i] & words[i]; h != 0 {
			want[i] = h
		}
	}
	return want
}

func TestIntersectAndFirstUnset(t *testing.T) {
	f := bloom.NewFilter(bloom.NewParams(90, 0.01)) // 900 bits: 15 words, one block and a tail
	for i := range 60 {
		f.Add(fmt.Sprintf("in-%d", i))
	}
	r, err := bloom.ParseRemote(f.Serialized())
	require.NoError(t, err)
	words := f.Words()
	m := int(r.MBits())
	mask := make([]uint64, (m+63)/64)
	for i := range mask {
		mask[i] = uint64(0x9e3779b97f4a7c15) * uint64(i+1) // arbitrary bits
	}
	mask[3] = 0
	got := map[int]uint64{}
	r.Intersect(mask, func(i int, hit uint64) { got[i] = hit })
	require.Equal(t, intersectWant(mask, words), got)
	require.NotEmpty(t, got)
	got = map[int]uint64{}
	r.Intersect(mask[:7], func(i int, hit uint64) { got[i] = hit }) // a tail only
	require.Equal(t, intersectWant(mask[:7], words), got)

	for i := range 200 {
		id := fmt.Sprintf("in-%d", i) // the first 60 are in the filter
		k := bloom.NewKey(id)
		pos, ok := r.FirstUnset(&k)
		require.Equal(t, !r.Contains(id), ok, id)
		if ok {
			require.False(t, r.Has(pos), id)
			require.Contains(t, bloom.Positions(id, 7, m), pos, id)
		}
	}
}

// A sparse mask over a large filter: hits in a few blocks, none in most,
// each reported once with its word index.
func TestIntersectSparse(t *testing.T) {
	f := bloom.NewFilter(bloom.NewParams(10000, 0.001))
	for i := range 5000 {
		f.Add(fmt.Sprintf("in-%d", i))
	}
	r, err := bloom.ParseRemote(f.Serialized())
	require.NoError(t, err)
	words := f.Words()
	mask := make([]uint64, (r.MBits()+63)/64)
	for _, i := range []int{0, 7, 8, 9, 250, 511, len(mask) - 9, len(mask) - 1} {
		mask[i] = ^words[i] | 1<<(i%64) // one bit that may meet, the rest never
	}
	got := map[int]uint64{}
	r.Intersect(mask, func(i int, hit uint64) {
		_, dup := got[i]
		require.False(t, dup, i)
		got[i] = hit
	})
	require.Equal(t, intersectWant(mask, words), got)
	require.NotEmpty(t, got)
}
