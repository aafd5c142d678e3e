package enginetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/clock"
	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/store"
)

// MaxProgramOps bounds the operations RunRestartProgram runs, so every input
// costs a bounded time.
const MaxProgramOps = 200

// RunRestartProgram is the body of the stateful restart fuzz targets. It
// drives a manager "a" (SDS-R on, its state in the store s) and two peers
// that keep nothing through the operations data encodes, two bytes each:
// wraps (ids drawn from a small set, so they repeat), unwraps of the peers'
// messages as sent and mutated, acknowledgements, marks, clock advances with
// both sweeps, channel removals, resets and restarts. reopen closes the store
// a used and returns it reopened, as a process restart would.
//
// Oracles: a restart — at every restart the program asks for, and at the end —
// reproduces exactly the channels and channel states a held (filters aside,
// see RequireReloaded); a never delivers one message twice (until the channel
// is removed or reset); no operation fails in the store.
func RunRestartProgram(t *testing.T, data []byte, s store.Store, reopen func(store.Store) store.Store) {
	t.Helper()
	clk := clock.NewFake(Epoch)
	small := WithConfig(func(c *engine.Config) { c.BloomCapacity = 64 }) // filters of a few hundred bytes
	a := NewPeer(t, WithID("a"), WithStore(s), WithClock(clk), small)
	peers := []*Peer{NewPeer(t, WithID("b"), WithClock(clk), small), NewPeer(t, WithID("c"), WithClock(clk), small)}
	channels := []string{"c0", "c1", "c2"}
	var fromPeers, fromA [][]byte
	delivered := map[string]bool{}
	seq := 0

	noStoreError := func(what string, err error) {
		t.Helper()
		if errors.Is(err, engine.ErrStore) {
			t.Fatalf("%s: %v", what, err)
		}
	}
	checkEvents := func() {
		t.Helper()
		for _, e := range a.Events.Take() {
			if e.Kind != engine.MessageReady {
				continue
			}
			key := e.ChannelID + "/" + e.MessageID
			if delivered[key] {
				t.Fatalf("%s delivered twice", key)
			}
			delivered[key] = true
		}
	}
	forget := func(ch string) {
		for k := range delivered {
			if len(k) > len(ch) && k[:len(ch)+1] == ch+"/" {
				delete(delivered, k)
			}
		}
	}
	restart := func() {
		t.Helper()
		before := Dump(t, a.Manager)
		a = a.Restart(func() store.Store { return reopen(s) })
		s = a.Options.Store
		require.Equal(t, before, Dump(t, a.Manager), "a restart reproduces memory")
	}

	for i := 0; i+1 < len(data) && i/2 < MaxProgramOps; i += 2 {
		op, arg := data[i], int(data[i+1])
		ch := channels[arg%len(channels)]
		switch op % 10 {
		case 0: // a wraps; ids repeat
			id := fmt.Sprint("a", arg%8)
			out, err := a.Wrap([]byte("body"), id, ch)
			noStoreError("wrap", err)
			if err == nil {
				fromA = append(fromA, out)
			}
		case 1, 2: // a peer wraps
			seq++
			id := fmt.Sprintf("p%d", seq)
			if arg%8 == 0 {
				id = "dup" // the same id from both peers, or again
			}
			fromPeers = append(fromPeers, peers[op%2].MustWrap(id, ch))
		case 3: // a receives a peer's message
			if len(fromPeers) > 0 {
				_, err := a.Unwrap(fromPeers[arg%len(fromPeers)])
				noStoreError("unwrap", err)
			}
		case 4: // a receives a mutated message
			if len(fromPeers) > 0 {
				m := append([]byte(nil), fromPeers[arg%len(fromPeers)]...)
				m[(arg*131+int(op))%len(m)] ^= byte(1 + arg%255)
				_, err := a.Unwrap(m)
				noStoreError("unwrap mutated", err)
			}
		case 5: // a peer receives a's message: its next one acknowledges
			if len(fromA) > 0 {
				_, _ = peers[arg%2].Unwrap(fromA[arg%len(fromA)])
			}
		case 6: // the application found a message itself
			noStoreError("mark", ignoreUnknown(a.MarkDependenciesMet([]string{fmt.Sprintf("p%d", 1+arg%max(seq, 1))}, ch)))
		case 7: // time passes; both sweeps run
			clk.Advance(time.Duration(arg) * 500 * time.Millisecond)
			noStoreError("buffer sweep", a.SweepBuffers())
			noStoreError("repair sweep", a.SweepRepairs())
		case 8:
			checkEvents()
			restart()
		case 9:
			switch arg % 16 {
			case 0, 1, 2:
				noStoreError("remove", a.RemoveChannel(ch))
				checkEvents()
				forget(ch)
			case 3:
				noStoreError("reset", a.Reset())
				checkEvents()
				clear(delivered)
			}
		}
		checkEvents()
	}
	restart()
}

func ignoreUnknown(err error) error {
	if errors.Is(err, engine.ErrUnknownChannel) {
		return nil
	}
	return err
}

// Dump is a canonical copy of a manager's whole state: every channel's state
// (filters aside: a reload rebuilds them from the log alone), by id.
func Dump(t testing.TB, m *engine.Manager) map[string]engine.ChannelState {
	t.Helper()
	out := map[string]engine.ChannelState{}
	for _, ch := range m.Channels() {
		st, ok, err := m.ChannelState(ch)
		require.NoError(t, err)
		require.True(t, ok, ch)
		out[ch] = WithoutBloom(st)
	}
	return out
}
