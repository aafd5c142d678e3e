package engine_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
)

// TestConcurrentUse hammers three managers from many goroutines at once —
// wraps, unwraps of each other's messages, marks, sweeps, state reads — under
// the race detector; every message must be delivered at most once per manager
// and every operation must succeed.
func TestConcurrentUse(t *testing.T) {
	const goroutines, perG = 8, 60
	type peerState struct {
		m     *engine.Manager
		mu    sync.Mutex
		ready map[string]int
	}
	peers := make([]*peerState, 3)
	for i := range peers {
		p := &peerState{ready: map[string]int{}}
		m, err := engine.New(engine.Options{
			ParticipantID: fmt.Sprintf("p%d", i),
			Store:         memstore.New(),
			Events: engine.EventSinkFunc(func(evs []engine.Event) {
				p.mu.Lock()
				defer p.mu.Unlock()
				for _, e := range evs {
					if e.Kind == engine.MessageReady {
						p.ready[e.MessageID]++
					}
				}
			}),
		})
		require.NoError(t, err)
		p.m = m
		peers[i] = p
	}
	var (
		mu    sync.Mutex
		wires [][]byte
		ops   atomic.Int64
	)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perG; i++ {
				p := peers[(g+i)%len(peers)]
				switch i % 5 {
				case 0, 1:
					w, err := p.m.Wrap([]byte("x"), fmt.Sprintf("g%d-%d", g, i), fmt.Sprintf("ch%d", i%2))
					require.NoError(t, err)
					mu.Lock()
					wires = append(wires, w)
					mu.Unlock()
				case 2, 3:
					mu.Lock()
					var w []byte
					if len(wires) > 0 {
						w = wires[(g*7+i)%len(wires)]
					}
					mu.Unlock()
					if w != nil {
						_, err := p.m.Unwrap(w)
						require.NoError(t, err)
					}
				case 4:
					err := p.m.MarkDependenciesMet([]string{fmt.Sprintf("g%d-%d", (g+1)%goroutines, i-4)}, "ch0")
					if err != nil {
						require.ErrorIs(t, err, engine.ErrUnknownChannel)
					}
					require.NoError(t, p.m.SweepBuffers())
					require.NoError(t, p.m.SweepRepairs())
					_, _, err = p.m.ChannelState("ch1")
					require.NoError(t, err)
				}
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int64(goroutines*perG), ops.Load())
	for i, p := range peers {
		p.mu.Lock()
		for id, n := range p.ready {
			require.Equal(t, 1, n, "p%d delivered %s %d times", i, id, n)
		}
		p.mu.Unlock()
	}
}
