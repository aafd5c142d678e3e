package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
)

func TestBadRecordQuarantinesItsChannelOnly(t *testing.T) {
	s := memstore.New()
	p := et.NewPeer(t, et.WithStore(s))
	p.MustWrap("g1", "good")
	p.MustWrap("b1", "bad")
	require.NoError(t, p.Close())
	require.NoError(t, s.SaveOutgoing("bad", "b2", []byte{0xff, 0xff, 0xff})) // not a record

	p = et.NewPeer(t, et.WithStore(s))
	require.Empty(t, p.Events.Take(), "channels load lazily")
	require.Equal(t, []string{"bad", "good"}, p.Channels(), "listed, so the host can remove it")
	p.Clock.Advance(61 * time.Second) // b1's resend is due: the sweep loads the channel
	require.NoError(t, p.SweepBuffers(), "sweeps skip it")
	require.Equal(t, []string{"store_failed@bad"}, et.Summary(p.Events.Take()), "reported when loaded")
	p.MustWrap("g2", "good")
	for _, err := range []error{
		func() error { _, err := p.Wrap([]byte("x"), "b3", "bad"); return err }(),
		func() error { _, _, err := p.ChannelState("bad"); return err }(),
		p.MarkDependenciesMet([]string{"b1"}, "bad"),
	} {
		require.ErrorIs(t, err, engine.ErrChannelQuarantined)
		require.ErrorIs(t, err, engine.ErrStore)
	}
	require.NoError(t, p.SweepBuffers())
	snap, err := s.LoadAllForChannel("bad")
	require.NoError(t, err)
	require.Len(t, snap.Outgoing, 2, "its rows are kept for inspection")

	require.NoError(t, p.RemoveChannel("bad"))
	p.MustWrap("b4", "bad")
	require.Equal(t, []string{"b4"}, p.MustState("bad").Log, "a fresh channel")
	et.RequireRestartReproduces(t, p)
}
