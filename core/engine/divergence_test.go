package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
	"github.com/logos-messaging/libsds-go/core/store/storetest"
)

// Memory and disk never diverge: after each of these, a restart reproduces
// exactly what the manager holds.

func TestFailedOperationLeavesNoPhantomChannel(t *testing.T) {
	w := storetest.Wrap(memstore.New())
	p := et.NewPeer(t, et.WithStore(w), et.WithConfig(func(c *engine.Config) { c.MaxChannels = 2 }))
	p.MustWrap("m1", "a")
	w.FailOn(storetest.FailFirst("saveLamport", errDisk))
	_, err := p.Wrap([]byte("x"), "m2", "phantom")
	require.ErrorIs(t, err, engine.ErrStore)
	w.FailOn(nil)
	require.Equal(t, []string{"a"}, p.Channels(), "the failed wrap's channel is gone")
	et.RequireRestartReproduces(t, p)
	p.MustWrap("m3", "b") // the phantom would have taken the second slot
	require.Equal(t, []string{"a", "b"}, p.Channels())
	et.RequireRestartReproduces(t, p)
}

func TestDuplicateOutgoingIDSurvivesRestart(t *testing.T) {
	p := et.NewPeer(t, et.WithStore(memstore.New()), et.WithConfig(func(c *engine.Config) { c.MaxOutgoingBuffer = 2 }))
	p.MustWrap("dup", "c")
	p.MustWrap("other", "c")
	p.Clock.Advance(time.Second)
	p.MustWrap("dup", "c") // with both kept, the bound would give up the older "dup" and delete the only record
	require.Equal(t, []string{"other", "dup"}, outgoingIDs(p.MustState("c")))
	require.Empty(t, p.Events.Take())
	et.RequireRestartReproduces(t, p)
	p.Clock.Advance(time.Second)
	p.MustWrap("third", "c")
	require.Equal(t, []string{"message_given_up:other@c"}, et.Summary(p.Events.Take()))
	require.Equal(t, []string{"dup", "third"}, outgoingIDs(p.MustState("c")), "the newer dup is still tracked")
	et.RequireRestartReproduces(t, p)
}

func TestWaitingMessageArrivingAgainKeepsItsPosition(t *testing.T) {
	alice := et.NewPeer(t)
	bob := et.NewPeer(t, et.WithStore(memstore.New()), et.WithConfig(func(c *engine.Config) { c.MaxIncomingBuffer = 2 }))
	alice.MustWrap("m1", "c") // bob never gets it
	m2 := alice.MustWrap("m2", "c")
	m3 := alice.MustWrap("m3", "c")
	bob.MustUnwrap(m2)
	bob.MustUnwrap(m3)
	bob.MustUnwrap(m2) // arrives again
	require.Equal(t, []string{"m2", "m3"}, incomingIDs(bob.MustState("c")), "it keeps its first position")
	et.RequireRestartReproduces(t, bob)
	bob.Events.Take()
	bob.MustUnwrap(alice.MustWrap("m4", "c"))
	require.Contains(t, et.Summary(bob.Events.Take()), "incoming_dropped:m2@c", "the bound drops the oldest arrival")
	require.Equal(t, []string{"m3", "m4"}, incomingIDs(bob.MustState("c")))
	et.RequireRestartReproduces(t, bob)
}

func incomingIDs(st engine.ChannelState) []string {
	var ids []string
	for _, in := range st.Incoming {
		ids = append(ids, in.ID)
	}
	return ids
}
