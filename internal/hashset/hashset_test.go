package hashset_test

import (
	"hash/maphash"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/internal/hashset"
)

// The set agrees with a map through growth, clearing and refilling, for
// random hashes, clustered ones (long probe runs) and 0.
func TestAgreesWithMap(t *testing.T) {
	seed := maphash.MakeSeed()
	for _, gen := range map[string]func(i int) uint64{
		"random":    func(i int) uint64 { return maphash.Comparable(seed, i) },
		"clustered": func(i int) uint64 { return uint64(i%500) << 40 }, // same low bits: one probe run
		"small":     func(i int) uint64 { return uint64(i % 300) },     // 0 included
	} {
		var s hashset.Set
		want := map[uint64]bool{}
		rng := rand.New(rand.NewPCG(1, 2))
		for round := range 3 {
			for range 2000 {
				h := gen(rng.IntN(1500))
				s.Add(h)
				want[h] = true
				require.Equal(t, len(want), s.Len())
			}
			for i := range 1500 {
				h := gen(i)
				require.Equal(t, want[h], s.Has(h), "round %d, hash %x", round, h)
			}
			require.False(t, s.Has(gen(1500)+1<<63), "a hash never added")
			s.Clear()
			clear(want)
			require.Zero(t, s.Len())
			require.False(t, s.Has(gen(0)))
		}
	}
	var empty hashset.Set
	require.False(t, empty.Has(0))
	require.False(t, empty.Has(7))
}

// Once its table has grown, a set cleared and refilled to the same size
// allocates nothing.
func TestClearKeepsTheTable(t *testing.T) {
	var s hashset.Set
	fill := func() {
		for i := range uint64(1000) {
			s.Add(i*0x9e3779b97f4a7c15 + 1)
		}
	}
	fill()
	require.Zero(t, testing.AllocsPerRun(10, func() { s.Clear(); fill() }))
	require.Equal(t, 1000, s.Len())
}
