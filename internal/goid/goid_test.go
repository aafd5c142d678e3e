package goid

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// identities checks that id names the calling goroutine: non-zero, stable
// within it, distinct across goroutines that are alive at the same time.
func identities(t *testing.T, id func() uint64) {
	t.Helper()
	me := id()
	require.NotZero(t, me)
	require.Equal(t, me, id())
	const n = 16
	ids := make([]uint64, n)
	var started, release sync.WaitGroup
	started.Add(n)
	release.Add(1)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ids[i] = id()
			started.Done()
			release.Wait() // all alive at once: no identity can be reused
			assert.Equal(t, ids[i], id())
		})
	}
	started.Wait()
	release.Done()
	wg.Wait()
	seen := map[uint64]bool{me: true}
	for _, g := range ids {
		require.NotZero(t, g)
		require.False(t, seen[g], "two live goroutines share an identity")
		seen[g] = true
	}
}

func TestCurrentDistinctPerGoroutineAndStable(t *testing.T) { identities(t, Current) }

func TestFromStackDistinctPerGoroutineAndStable(t *testing.T) { identities(t, fromStack) }

func BenchmarkCurrent(b *testing.B) {
	for b.Loop() {
		Current()
	}
}
