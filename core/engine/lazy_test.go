package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
	"github.com/logos-messaging/libsds-go/core/store/storetest"
)

// TestChannelsLoadLazily: a manager on a store with 10,000 channels loads none
// at construction, a sweep loads only the channels with a timer due, and a
// channel loads on first use. The work is counted in store loads, not time.
func TestChannelsLoadLazily(t *testing.T) {
	const n = 10_000
	s := memstore.New()
	small := et.WithConfig(func(c *engine.Config) { c.BloomCapacity = 16 }) // 10,000 filters
	alice := et.NewPeer(t, small)
	bob := et.NewPeer(t, et.WithStore(s), et.WithID("bob"), small)
	for i := range 100 {
		bob.MustUnwrap(alice.MustWrap(fmt.Sprint("m", i), fmt.Sprint("ch", i)))
	}
	// the other channels: copies of ch0's records, written to the store directly
	snap, err := s.LoadAllForChannel("ch0")
	require.NoError(t, err)
	for i := 100; i < n; i++ {
		ch := fmt.Sprint("ch", i)
		require.NoError(t, s.SaveLamport(ch, snap.Lamport))
		require.NoError(t, s.AppendLogEntry(ch, "m0", snap.Log[0]))
	}
	bob.MustWrap("own", "ch7") // one channel with a resend pending
	require.NoError(t, bob.Close())
	loads := s.Loads()

	bob = et.NewPeer(t, et.WithStore(s), et.WithID("bob"), small)
	require.Len(t, bob.Channels(), n, "every stored channel is listed")
	require.Equal(t, loads, s.Loads(), "construction loads no channel")
	require.NoError(t, bob.SweepBuffers())
	require.NoError(t, bob.SweepRepairs())
	require.Equal(t, loads, s.Loads(), "nothing is due yet")

	bob.Clock.Advance(61 * time.Second)
	require.NoError(t, bob.SweepBuffers())
	require.Equal(t, loads+1, s.Loads(), "the sweep loads the one due channel")
	require.Equal(t, 1, bob.MustState("ch7").Outgoing[0].ResendAttempts, "and its timer ran")

	require.Equal(t, []string{"m42"}, bob.MustState("ch42").Log, "another loads on first use")
	require.Equal(t, []string{"m0"}, bob.MustState("ch4242").Log)
	require.Equal(t, loads+3, s.Loads())
}

// TestDueTimeFailureRollsBack: the due time is written inside the operation;
// its failure fails the operation like any other write.
func TestDueTimeFailureRollsBack(t *testing.T) {
	w := storetest.WrapDue(memstore.New())
	p := et.NewPeer(t, et.WithStore(w))
	p.MustWrap("m1", "c")
	before := p.MustState("c")
	w.FailOn(storetest.FailFirst("saveChannelDue", errDisk))
	p.Clock.Advance(61 * time.Second)
	err := p.SweepBuffers() // m1's resend attempt moves its due time
	require.ErrorIs(t, err, engine.ErrStore)
	w.FailOn(nil)
	et.RequireReloaded(t, before, p.MustState("c"))
	et.RequireRestartReproduces(t, p)
	require.NoError(t, p.SweepBuffers())
	require.Equal(t, 1, p.MustState("c").Outgoing[0].ResendAttempts)
	et.RequireRestartReproduces(t, p)
}
