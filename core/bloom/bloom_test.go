package bloom_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/bloom"
	"github.com/logos-messaging/libsds-go/core/nimhash"
	"github.com/logos-messaging/libsds-go/internal/vectors"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// setBits lists the set bits of a word array in ascending order.
func setBits(words []uint64) []uint64 {
	var out []uint64
	for i, w := range words {
		for j := range uint64(64) {
			if w&(1<<j) != 0 {
				out = append(out, uint64(i)*64+j)
			}
		}
	}
	return out
}

func sortedUnique(p []uint64) []uint64 {
	p = slices.Clone(p)
	slices.Sort(p)
	return slices.Compact(p)
}

func TestGoldenPositions(t *testing.T) {
	g := vectors.LoadGolden(t)
	require.NotEmpty(t, g.BloomPositions)
	for _, v := range g.BloomPositions {
		name := fmt.Sprintf("%q k=%d m=%d", v.ID, v.K, v.MBits)
		pos := bloom.Positions(v.ID, v.K, v.MBits)
		require.Len(t, pos, v.K, name)
		require.Equal(t, v.SetBits, sortedUnique(pos), name)

		// The filter's incremental positions set exactly the same bits.
		f := bloom.NewFilter(bloom.Params{Capacity: 1, ErrorRate: 0.5, K: v.K, MBits: v.MBits})
		f.Add(v.ID)
		require.Equal(t, v.SetBits, setBits(f.Words()), name)
		require.True(t, f.Contains(v.ID), name)
	}
}

func TestProtocolDocPositions(t *testing.T) {
	require.Equal(t, int64(7995000676772511300), nimhash.String("msg-1"))
	require.Equal(t, int64(-6138618504618002191), nimhash.String("msg-1 b"))
	require.Equal(t, int64(7367732934273318457), nimhash.String("test-msg-1"))
	require.Equal(t, int64(-7286425919675154353), nimhash.String(""))
	for id, want := range map[string][]uint64{
		"msg-1":      {111300, 113491, 115682, 117873, 120064, 122255, 124446, 126637, 128828, 131019},
		"test-msg-1": {18457, 48093, 77729, 107365, 137001, 16637, 46273, 75909, 105545, 135181},
		"":           {54353, 85446, 116539, 147632, 28725, 59818, 90911, 122004, 3097, 34190},
	} {
		require.Equal(t, want, bloom.Positions(id, 10, 150000), "%q", id)
	}
	require.Nil(t, bloom.Positions("x", 0, 150000))
	require.Nil(t, bloom.Positions("x", 10, 0))
}

func TestNewParams(t *testing.T) {
	for _, c := range []struct {
		capacity  int
		rate      float64
		k, m, wds int
	}{
		{10000, 0.001, 10, 150000, 2344},
		{12000, 0.001, 10, 180000, 2813},
		{100, 0.01, 7, 1000, 16},
		{12, 0.01, 7, 120, 2},
		{50, 0.1, 3, 250, 4},
		{64, 0.5, 1, 128, 3},          // bitsPerElem = ceil(1.44) = 2, k = round(1.386) = 1
		{10, 1e-300, 997, 14380, 225}, // large k is allowed locally,
	} {
		p := bloom.NewParams(c.capacity, c.rate)
		require.Equal(t, bloom.Params{Capacity: c.capacity, ErrorRate: c.rate, K: c.k, MBits: c.m}, p)
		require.Equal(t, c.wds, p.Words())
	}
}

func TestGoldenFilters(t *testing.T) {
	g := vectors.LoadGolden(t)
	require.Len(t, g.BloomFilters, 3)
	for _, v := range g.BloomFilters {
		name := fmt.Sprintf("cap=%d rate=%g", v.Capacity, v.ErrorRate)
		want := mustHex(t, v.SerializedHex)

		p := bloom.NewParams(v.Capacity, v.ErrorRate)
		require.Equal(t, v.KHashes, p.K, name)
		require.Equal(t, v.MBits, p.MBits, name)

		f := bloom.NewFilter(p)
		require.Equal(t, p, f.Params())
		for _, id := range v.IDs {
			f.Add(id)
		}
		require.Equal(t, want, f.Serialized(), name)

		// Keys produce the same filter.
		fk := bloom.NewFilter(p)
		for _, id := range v.IDs {
			k := bloom.NewKey(id)
			fk.AddKey(&k)
		}
		require.Equal(t, want, fk.Serialized(), name)

		r, err := bloom.ParseRemote(want)
		require.NoError(t, err, name)
		rp := r.Params()
		require.Equal(t, v.Capacity, rp.Capacity, name)
		require.InDelta(t, v.ErrorRate, rp.ErrorRate, 1e-12, name)
		require.Equal(t, v.KHashes, rp.K, name)
		require.Equal(t, v.MBits, rp.MBits, name)
		for _, id := range v.IDs {
			require.True(t, r.Contains(id), "%s %s", name, id)
			require.True(t, f.Contains(id), "%s %s", name, id)
		}
		// Local and remote agree on absent ids too (false positives included).
		for i := range 2000 {
			id := fmt.Sprintf("absent-%d", i)
			require.Equal(t, f.Contains(id), r.Contains(id), "%s %s", name, id)
		}
	}
}

func TestProtocolDocTwoIDFilter(t *testing.T) {
	f := bloom.NewFilter(bloom.NewParams(bloom.DefaultCapacity, bloom.DefaultErrorRate))
	f.Add("msg-1")
	f.Add("test-msg-1")
	ser := f.Serialized()
	wordBytes := ser[4 : 4+18752]
	got := map[int]byte{}
	for i, b := range wordBytes {
		if b != 0 {
			got[i] = b
		}
	}
	want := map[int]byte{
		2079: 0x20, 2307: 0x02, 5784: 0x02, 6011: 0x20, 9488: 0x20, 9716: 0x02,
		13193: 0x02, 13420: 0x20, 13912: 0x10, 14186: 0x08, 14460: 0x04, 14734: 0x02,
		15008: 0x01, 15281: 0x80, 15555: 0x40, 15829: 0x20, 16103: 0x10, 16377: 0x08,
		16897: 0x20, 17125: 0x02,
	}
	require.Equal(t, want, got)
	// The words are the same bits, little-endian.
	for i, w := range f.Words() {
		require.Equal(t, w, binary.LittleEndian.Uint64(wordBytes[8*i:]))
	}
}

func TestEmptyDefaultSerialization(t *testing.T) {
	want := append([]byte{0x0a, 0xc0, 0x92, 0x01}, make([]byte, 18752)...)
	want = append(want, 0x10, 0x90, 0x4e, 0x18, 0xe8, 0x07, 0x20, 0x0a, 0x28, 0xf0, 0x93, 0x09)
	require.Len(t, want, 18768)
	f := bloom.NewFilter(bloom.NewParams(bloom.DefaultCapacity, bloom.DefaultErrorRate))
	require.Equal(t, want, f.Serialized())
	require.Len(t, f.Words(), 2344)
	require.Equal(t, want, bloom.NewRolling(bloom.DefaultCapacity, bloom.DefaultErrorRate).Serialized())
}

func TestSerializationTracksWords(t *testing.T) {
	// The cached serialization always equals a fresh encoding of the words.
	f := bloom.NewFilter(bloom.NewParams(100, 0.01))
	for i := range 300 {
		f.Add(fmt.Sprintf("w-%d", i))
		ser := f.Serialized()
		require.Equal(t, []byte{0x0a, 0x80, 0x01}, ser[:3])
		for j, w := range f.Words() {
			require.Equal(t, w, binary.LittleEndian.Uint64(ser[3+8*j:]))
		}
		require.Equal(t, []byte{0x10, 0x64, 0x18, 0x90, 0x4e, 0x20, 0x07, 0x28, 0xe8, 0x07}, ser[3+128:])
	}
}

func TestNewFilterRejectsInvalidParams(t *testing.T) {
	for _, p := range []bloom.Params{
		{Capacity: 10, ErrorRate: 0.01, K: 0, MBits: 100},
		{Capacity: 10, ErrorRate: 0.01, K: 7, MBits: 0},
		{Capacity: 10, ErrorRate: 0.01, K: -1, MBits: 100},
		{Capacity: 10, ErrorRate: 0.01, K: 7, MBits: -64},
		{Capacity: 10, ErrorRate: 0.01, K: 1 << 40, MBits: 1 << 30},
		bloom.NewParams(10, 1.0), // k = 0, m = 0
		bloom.NewParams(10, 2.0), // negative k and m
		bloom.NewParams(10, 0),
		bloom.NewParams(10, -1),
		bloom.NewParams(10, math.NaN()),
		bloom.NewParams(math.MaxInt64, 0),
		bloom.NewParams(0, 0.001),
		bloom.NewParams(-10, 0.001),
	} {
		require.Panics(t, func() { bloom.NewFilter(p) }, "%+v", p)
	}
}

func TestKeyCachingAcrossFilterSizes(t *testing.T) {
	// Three filter sizes (m = 150000, 1000, 250) as local filters and remote views.
	var locals []*bloom.Filter
	var remotes []bloom.Remote
	for i, c := range []struct {
		capacity int
		rate     float64
		n        int
	}{{10000, 0.001, 3000}, {100, 0.01, 60}, {50, 0.1, 40}} {
		f := bloom.NewFilter(bloom.NewParams(c.capacity, c.rate))
		for j := range c.n {
			f.Add(fmt.Sprintf("id-%d-%d", i, j))
		}
		r, err := bloom.ParseRemote(f.Serialized())
		require.NoError(t, err)
		locals = append(locals, f)
		remotes = append(remotes, r)
	}
	hits := 0
	for i := range 3 {
		for j := range 3000 {
			id := fmt.Sprintf("id-%d-%d", i, j)
			key := bloom.NewKey(id)
			// Alternate between sizes with the same Key, twice over.
			for range 2 {
				for x := range locals {
					want := locals[x].Contains(id)
					require.Equal(t, want, locals[x].ContainsKey(&key), "%s local %d", id, x)
					require.Equal(t, want, remotes[x].Contains(id), "%s remote %d", id, x)
					require.Equal(t, want, remotes[x].ContainsKey(&key), "%s remote %d", id, x)
					if want {
						hits++
					}
				}
			}
		}
	}
	require.Greater(t, hits, 3000) // both outcomes exercised
}

func TestFilterAgreesWithPositions(t *testing.T) {
	// Positions follows nim literally; filters use the incremental form. Compare on
	// many ids and several (k, m), including m not a multiple of 64 and k > m.
	for _, km := range [][2]int{{1, 1}, {3, 7}, {10, 150000}, {7, 1000}, {12, 65}, {30, 17}, {64, 180000}} {
		k, m := km[0], km[1]
		for i := range 200 {
			id := fmt.Sprintf("x%d", i)
			f := bloom.NewFilter(bloom.Params{Capacity: 1, ErrorRate: 0.5, K: k, MBits: m})
			f.Add(id)
			require.Equal(t, sortedUnique(bloom.Positions(id, k, m)), setBits(f.Words()), "%s k=%d m=%d", id, k, m)
		}
	}
}

func TestPositionsLiteralWraparound(t *testing.T) {
	// With huge m, a + n*b overflows int64 in nim (overflow checks off) and abs()
	// folds it back; Positions reproduces that literally.
	id := "msg-1"
	m := int64(math.MaxInt64)
	a := nimhash.Abs(nimhash.String(id)) % m
	b := nimhash.Abs(nimhash.String(id+" b")) % m
	pos := bloom.Positions(id, 3, math.MaxInt64)
	for n := range int64(3) {
		require.Equal(t, uint64(nimhash.Abs(a+n*b)%m), pos[n])
	}
}

func TestErrorRateFieldTruncated(t *testing.T) {
	// Field 3 is uint64(errorRate * 1e6), truncated toward zero.
	for rate, want := range map[float64]uint64{
		0.0123456789: 12345,
		0.0000019:    1,
		0.0000001:    0,
		0.999999:     999999,
		0.5:          500000,
	} {
		p := bloom.NewParams(10, rate)
		f := bloom.NewFilter(p)
		suffix := cat(vfield(3, want), vfield(4, uint64(p.K)), vfield(5, uint64(p.MBits)))
		require.True(t, bytes.HasSuffix(f.Serialized(), suffix), "%g", rate)
		r, err := bloom.ParseRemote(f.Serialized())
		require.NoError(t, err)
		require.Equal(t, float64(want)/1e6, r.Params().ErrorRate, "%g", rate)
	}
}
