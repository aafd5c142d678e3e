package bloom_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/bloom"
)

// denseReference is a plain Filter with r's parameters holding r's ids: what r
// must serialize to and answer, whichever representation it uses.
func denseReference(r *bloom.Rolling) *bloom.Filter {
	f := bloom.NewFilter(r.Params())
	for _, id := range r.Messages() {
		f.Add(id)
	}
	return f
}

// checkSparseDense adds n ids to a rolling filter of the given capacity and,
// after every add, compares it with a dense reference: serialization (alone and
// appended after other bytes) and membership of added and absent ids.
func checkSparseDense(t *testing.T, capacity int, rate float64, n int, prefix string) (sawSparse, sawDense bool) {
	r := bloom.NewRolling(capacity, rate)
	for i := range n {
		if i%3 == 0 {
			k := bloom.NewKey(fmt.Sprintf("%s-%d", prefix, i))
			r.AddKey(fmt.Sprintf("%s-%d", prefix, i), &k)
		} else {
			r.Add(fmt.Sprintf("%s-%d", prefix, i))
		}
		if r.Dense() {
			sawDense = true
		} else {
			sawSparse = true
			require.LessOrEqual(t, len(r.Messages()), bloom.SparseMaxIDs)
		}
		ref := denseReference(r)
		want := ref.Serialized()
		require.Equal(t, want, r.Serialized(), "cap %d rate %g after %d adds", capacity, rate, i+1)
		require.Equal(t, len(want), r.SerializedSize())
		require.Equal(t, append([]byte{1, 2, 3}, want...), r.AppendSerialized([]byte{1, 2, 3}))
		for j := max(0, i-5); j <= i+5; j++ {
			id := fmt.Sprintf("%s-%d", prefix, j)
			require.Equal(t, ref.Contains(id), r.Contains(id), "%s", id)
			k := bloom.NewKey(id)
			require.Equal(t, ref.Contains(id), r.ContainsKey(&k), "%s", id)
		}
		for j := range 3 {
			id := fmt.Sprintf("absent-%d-%d", i, j)
			require.Equal(t, ref.Contains(id), r.Contains(id), "%s", id)
		}
	}
	return sawSparse, sawDense
}

func TestSparseDenseEquivalence(t *testing.T) {
	cases := []struct {
		capacity int
		rate     float64
		n        int
	}{
		{bloom.DefaultCapacity, bloom.DefaultErrorRate, 3 * bloom.SparseMaxIDs}, // sparse, then dense
		{10, 0.01, 80},   // rolls over while sparse (min 8, max 12)
		{60, 0.01, 300},  // dense at 65 ids, back to sparse at each rollover (keeps 48)
		{100, 0.01, 400}, // dense, rollovers stay dense (keeps 80)
		{1, 0.5, 20},     // smallest filter: k = 1
	}
	for _, c := range cases {
		sparse, dense := checkSparseDense(t, c.capacity, c.rate, c.n, fmt.Sprintf("c%d", c.capacity))
		require.True(t, sparse, "capacity %d", c.capacity)
		if c.n > bloom.SparseMaxIDs && c.capacity >= bloom.SparseMaxIDs {
			require.True(t, dense, "capacity %d", c.capacity)
		}
	}
}

func TestSparseToDenseBackAtRollover(t *testing.T) {
	// capacity 60: min 48, max 72. Dense from the 65th id; the rollover after the
	// 73rd keeps 48 ids and goes back to sparse.
	r := bloom.NewRolling(60, 0.01)
	for i := range 73 {
		r.Add(fmt.Sprintf("b-%d", i))
		require.Equal(t, i+1 > bloom.SparseMaxIDs && i+1 <= 72, r.Dense(), "after %d", i+1)
	}
	require.Len(t, r.Messages(), 48)
	require.Equal(t, bloom.NewParams(72, 0.01), r.Params())
	require.Equal(t, denseReference(r).Serialized(), r.Serialized())
}

func FuzzSparseDense(f *testing.F) {
	f.Add(uint16(10), uint8(10), uint16(40), "x")
	f.Add(uint16(60), uint8(10), uint16(200), "y")
	f.Add(uint16(10000), uint8(1), uint16(100), "z")
	f.Fuzz(func(t *testing.T, capacity uint16, ratePermille uint8, n uint16, prefix string) {
		rate := float64(ratePermille) / 1000
		checkSparseDense(t, int(capacity%300), rate, int(n%400), prefix)
	})
}
