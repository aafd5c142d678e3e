package bloom_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/bloom"
	"github.com/logos-messaging/libsds-go/internal/vectors"
)

func TestGoldenRollover(t *testing.T) {
	v := vectors.LoadGolden(t).Rollover
	require.Len(t, v.Added, 13)
	r := bloom.NewRolling(v.Capacity, v.ErrorRate)
	for i, id := range v.Added {
		r.Add(id)
		if i < 12 {
			require.Equal(t, v.Added[:i+1], r.Messages())
		}
	}
	require.Equal(t, v.KeptMessages, r.Messages())
	p := r.Filter().Params()
	require.Equal(t, v.KHashes, p.K)
	require.Equal(t, v.MBits, p.MBits)
	require.Equal(t, v.FilterCapacity, p.Capacity)
	require.Equal(t, mustHex(t, v.SerializedHex), r.Serialized())
	for _, id := range v.KeptMessages {
		require.True(t, r.Contains(id), id)
	}
}

// expectedKept derives, from nim's algorithm alone, which of ids[:n] a rolling filter
// with the given min/max capacities holds after n adds: every add appends; when the
// count exceeds max, only the newest min survive.
func expectedKept(n, minCap, maxCap int) (from int) {
	held := 0
	for range n {
		held++
		if held > maxCap {
			held = minCap
		}
	}
	return n - held
}

func TestRepeatedRollovers(t *testing.T) {
	// capacity 10: min 8, max 12. Rollovers after the 13th, 18th, 23rd ... add.
	r := bloom.NewRolling(10, 0.01)
	var ids []string
	for n := 1; n <= 60; n++ {
		id := fmt.Sprintf("q-%d", n-1)
		ids = append(ids, id)
		r.Add(id)

		want := ids[expectedKept(n, 8, 12):]
		switch {
		case n <= 12:
			require.Len(t, want, n)
		default:
			require.Len(t, want, 8+(n-13)%5, "n=%d", n)
		}
		require.Equal(t, want, r.Messages(), "n=%d", n)
		for _, kept := range want {
			require.True(t, r.Contains(kept), "n=%d %s", n, kept)
		}

		p := r.Filter().Params()
		if n <= 12 {
			require.Equal(t, bloom.Params{Capacity: 10, ErrorRate: 0.01, K: 7, MBits: 100}, p, "n=%d", n)
		} else {
			// Every rebuild uses the capacities computed at init: (12, 0.01).
			require.Equal(t, bloom.Params{Capacity: 12, ErrorRate: 0.01, K: 7, MBits: 120}, p, "n=%d", n)
		}

		// The rolling filter holds exactly the kept ids: same bytes as a fresh filter
		// with the same parameters filled with them.
		fresh := bloom.NewFilter(p)
		for _, id := range want {
			fresh.Add(id)
		}
		require.Equal(t, fresh.Serialized(), r.Serialized(), "n=%d", n)
	}
}

func TestRolloverDefaultCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("12001 adds")
	}
	r := bloom.NewRolling(bloom.DefaultCapacity, bloom.DefaultErrorRate)
	require.Len(t, r.Serialized(), 18768)
	for i := range 12000 {
		r.Add(fmt.Sprintf("d-%d", i))
	}
	require.Len(t, r.Messages(), 12000)
	require.Equal(t, 10000, r.Filter().Params().Capacity)
	r.Add("d-12000")
	require.Len(t, r.Messages(), 8000)
	require.Equal(t, "d-4001", r.Messages()[0])
	require.Equal(t, "d-12000", r.Messages()[7999])
	require.Equal(t, bloom.Params{Capacity: 12000, ErrorRate: 0.001, K: 10, MBits: 180000}, r.Filter().Params())
	ser := r.Serialized()
	require.Len(t, r.Filter().Words(), 2813)
	require.Equal(t, []byte{0x0a, 0xe8, 0xaf, 0x01}, ser[:4]) // 22504 bytes of words
	require.Equal(t, []byte{0x10, 0xe0, 0x5d, 0x18, 0xe8, 0x07, 0x20, 0x0a, 0x28, 0xa0, 0xfe, 0x0a}, ser[4+22504:])
	require.False(t, r.Contains("d-0"))
	require.True(t, r.Contains("d-4001"))
}

func TestRollingDuplicatesAreRecorded(t *testing.T) {
	r := bloom.NewRolling(10, 0.01)
	for range 5 {
		r.Add("same")
	}
	require.Equal(t, []string{"same", "same", "same", "same", "same"}, r.Messages())
	for range 8 {
		r.Add("same")
	}
	require.Len(t, r.Messages(), 8)
	require.True(t, r.Contains("same"))
}

func TestRollingFallbacks(t *testing.T) {
	def := bloom.Params{Capacity: 10000, ErrorRate: 0.001, K: 10, MBits: 150000}
	for _, c := range []struct {
		capacity int
		rate     float64
		want     bloom.Params
	}{
		{0, 0.001, def},
		{-5, 0.001, def},
		{0, 0, def},
		{10, 0, bloom.NewParams(10, 0.001)},
		{10, 1, bloom.NewParams(10, 0.001)},
		{10, -0.5, bloom.NewParams(10, 0.001)},
		{10, math.NaN(), bloom.NewParams(10, 0.001)},
		{10, math.Inf(1), bloom.NewParams(10, 0.001)},
		{0, 0.01, bloom.NewParams(10000, 0.01)},
		{10, 0.01, bloom.NewParams(10, 0.01)},
	} {
		r := bloom.NewRolling(c.capacity, c.rate)
		require.Equal(t, c.want, r.Filter().Params(), "%d %g", c.capacity, c.rate)
	}
}

func TestRollingTinyCapacity(t *testing.T) {
	// capacity 1: min int(0.8) = 0, max int(1.2) = 1. The second add rolls over and
	// keeps nothing; the rebuilt filter has capacity 1.
	r := bloom.NewRolling(1, 0.01)
	r.Add("a")
	require.Equal(t, []string{"a"}, r.Messages())
	r.Add("b")
	require.Empty(t, r.Messages())
	require.False(t, r.Contains("a"))
	require.False(t, r.Contains("b"))
	require.Equal(t, bloom.NewParams(1, 0.01), r.Filter().Params())

	// capacity 3: min int(2.4) = 2, max int(3.6) = 3.
	r = bloom.NewRolling(3, 0.01)
	for _, id := range []string{"a", "b", "c", "d"} {
		r.Add(id)
	}
	require.Equal(t, []string{"c", "d"}, r.Messages())
	require.Equal(t, bloom.NewParams(3, 0.01), r.Filter().Params())
}

func TestRollingAddKeyEqualsAdd(t *testing.T) {
	a := bloom.NewRolling(10, 0.01)
	b := bloom.NewRolling(10, 0.01)
	for i := range 40 {
		id := fmt.Sprintf("k-%d", i)
		a.Add(id)
		k := bloom.NewKey(id)
		if i%3 == 0 {
			// A key that has seen another filter size first.
			bloom.NewFilter(bloom.NewParams(100, 0.01)).ContainsKey(&k)
		}
		b.AddKey(id, &k)
		require.Equal(t, a.Serialized(), b.Serialized(), id)
		require.Equal(t, a.Messages(), b.Messages(), id)
		require.True(t, b.ContainsKey(&k))
	}
}

// A Rolling filter's NewKey, which hashes in the filter's own buffer, makes the
// package's Keys, for short, long and empty ids, one after another.
func TestRollingNewKeyIsNewKey(t *testing.T) {
	r := bloom.NewRolling(100, 0.01)
	for _, id := range []string{"a", "", strings.Repeat("x", 5000), "message-42", strings.Repeat("y", 300), "b"} {
		require.Equal(t, bloom.NewKey(id), r.NewKey(id), "id of %d bytes", len(id))
	}
}
