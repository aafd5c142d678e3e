package dispatch_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/dispatch"
)

func TestOrderAndDrainOnClose(t *testing.T) {
	q := dispatch.New()
	var got []int
	for i := 0; i < 1000; i++ {
		require.True(t, q.Post(func() { got = append(got, i) }))
	}
	q.Close()
	require.Len(t, got, 1000)
	for i, v := range got {
		require.Equal(t, i, v)
	}
	require.False(t, q.Post(func() { t.Error("ran after close") }))
	q.Close() // idempotent
}

func TestConcurrentPostersKeepPerPosterOrder(t *testing.T) {
	q := dispatch.New()
	var mu sync.Mutex
	last := map[int]int{}
	var wg sync.WaitGroup
	for p := 0; p < 8; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				q.Post(func() {
					mu.Lock()
					defer mu.Unlock()
					if prev, ok := last[p]; ok && prev != i-1 {
						t.Errorf("poster %d: %d after %d", p, i, prev)
					}
					last[p] = i
				})
			}
		}()
	}
	wg.Wait()
	q.Flush()
	for p := 0; p < 8; p++ {
		require.Equal(t, 499, last[p])
	}
	q.Close()
}

func TestCloseFromInsideDiscardsRestAndDoesNotDeadlock(t *testing.T) {
	q := dispatch.New()
	var after atomic.Int32
	closed := make(chan struct{})
	q.Post(func() {
		require.True(t, q.InDispatcher())
		q.Flush() // must not deadlock either
		q.Close()
		close(closed)
	})
	q.Post(func() { after.Add(1) })
	<-closed
	q.Close() // waits for the dispatcher to exit
	require.Zero(t, after.Load())
	require.False(t, q.InDispatcher())
}

// TestLenCountsWaitingFunctions: Len counts what has not started running.
func TestLenCountsWaitingFunctions(t *testing.T) {
	q := dispatch.New()
	defer q.Close()
	release := make(chan struct{})
	started := make(chan struct{})
	q.Post(func() { close(started); <-release })
	<-started
	require.Zero(t, q.Len(), "the running function is not counted")
	for i := 0; i < 3; i++ {
		q.Post(func() {})
	}
	require.Equal(t, 3, q.Len())
	close(release)
	q.Flush()
	require.Zero(t, q.Len())
}

// TestFlushReturnsWhenCloseFromInsideDiscardsItsMarker: a Flush waiting
// behind a function that closes the queue from inside returns once the
// dispatcher exits, though its marker was discarded.
func TestFlushReturnsWhenCloseFromInsideDiscardsItsMarker(t *testing.T) {
	q := dispatch.New()
	entered := make(chan struct{})
	proceed := make(chan struct{})
	q.Post(func() {
		close(entered)
		<-proceed
		q.Close() // discards the Flush marker queued behind this function
	})
	<-entered
	flushed := make(chan struct{})
	go func() { q.Flush(); close(flushed) }()
	for q.Len() == 0 {
		runtime.Gosched() // until the marker is queued
	}
	close(proceed)
	<-flushed
	<-q.Done()
}
