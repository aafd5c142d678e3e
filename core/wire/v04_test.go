package wire

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestDistinctKeys holds distinctKeys's bitmap pass to the pairwise check on
// lists with equal keys, keys whose residues collide, and neither.
func TestDistinctKeys(t *testing.T) {
	pairwise := func(keys []uint64) bool {
		for i := range keys {
			for j := range i {
				if keys[i] == keys[j] {
					return false
				}
			}
		}
		return true
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		keys := make([]uint64, rng.IntN(17))
		for i := range keys {
			switch rng.IntN(4) {
			case 0: // a residue collision without equality, often
				keys[i] = 251 * rng.Uint64N(4)
			case 1: // a repeat
				if i > 0 {
					keys[i] = keys[rng.IntN(i)]
				}
			default:
				keys[i] = rng.Uint64()
			}
		}
		if got, want := distinctKeys(keys), pairwise(keys); got != want {
			t.Fatalf("distinctKeys(%v) = %v, want %v", keys, got, want)
		}
	}
	// equal ids have equal keys, whatever their length
	for n := range 20 {
		id := []byte("abcdefghijklmnopqrstuvwxyz")[:n]
		if idKey(id) != idKey(bytes.Clone(id)) {
			t.Fatalf("idKey differs for equal ids of %d bytes", n)
		}
	}
}
