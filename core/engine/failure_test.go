package engine_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
	"github.com/logos-messaging/libsds-go/core/store/storetest"
)

var errDisk = errors.New("disk full")

// TestTransactionalFailureLeavesMemoryEqualToDisk fails each kind of write in
// turn inside several operations and checks the documented policy: the call
// returns ErrStore, its events are dropped, and what the manager then holds is
// exactly what a fresh manager reads from the store — the state before the
// operation. Every store operation must be covered by at least one case.
func TestTransactionalFailureLeavesMemoryEqualToDisk(t *testing.T) {
	et.CheckFailurePolicy(t, errDisk, func(*testing.T) (store.Store, func() store.Store) {
		s := memstore.New()
		return s, func() store.Store { return s }
	})
}

func TestTransactionalFailureOnWrapAndSweeps(t *testing.T) {
	w := storetest.Wrap(memstore.New())
	p := et.NewPeer(t, et.WithStore(w))
	p.MustWrap("m1", "c")
	before := p.MustState("c")
	w.FailOn(storetest.FailFirst("saveOutgoing", errDisk))
	_, err := p.Wrap([]byte("x"), "m2", "c")
	require.ErrorIs(t, err, engine.ErrStore)
	require.Equal(t, before, p.MustState("c"))

	p.Clock.Advance(61e9)
	w.FailOn(storetest.FailFirst("saveOutgoing", errDisk))
	require.ErrorIs(t, p.SweepBuffers(), engine.ErrStore)
	require.Equal(t, before, p.MustState("c"), "the failed sweep changed nothing")
	require.NoError(t, p.SweepBuffers())
	require.Equal(t, 1, p.MustState("c").Outgoing[0].ResendAttempts)

	w.FailOn(storetest.FailFirst("dropChannel", errDisk))
	require.ErrorIs(t, p.Reset(), engine.ErrStore)
	require.Equal(t, []string{"c"}, p.Channels(), "a failed reset keeps the channel")
	w.FailOn(storetest.FailFirst("commit", errDisk))
	require.ErrorIs(t, p.Reset(), engine.ErrStore)
	require.Equal(t, []string{"c"}, p.Channels(), "a reset whose commit failed keeps the channel")
	require.Equal(t, before.Log, p.MustState("c").Log, "reloaded from the store")
	w.FailOn(storetest.FailFirst("commit", errDisk))
	require.ErrorIs(t, p.RemoveChannel("c"), engine.ErrStore)
	require.Equal(t, []string{"c"}, p.Channels(), "a removal whose commit failed keeps the channel")
	require.NoError(t, p.Reset())
	require.Empty(t, p.Channels())
}

func TestNonTransactionalFailureIsReportedAndMemoryGoesOn(t *testing.T) {
	w := storetest.Wrap(memstore.New())
	p := et.NewPeer(t, et.WithStore(storetest.Plain(w)))
	w.FailOn(storetest.FailFirst("appendLogEntry", errDisk))
	_, err := p.Wrap([]byte("x"), "m1", "c")
	require.NoError(t, err)
	evs := p.Events.Take()
	require.Len(t, evs, 1)
	require.Equal(t, engine.StoreFailed, evs[0].Kind)
	require.Equal(t, "c", evs[0].ChannelID)
	require.ErrorIs(t, evs[0].Err, errDisk)
	require.Equal(t, []string{"m1"}, p.MustState("c").Log)
}

func TestLoadFailureCreatesNothing(t *testing.T) {
	w := storetest.Wrap(storetest.Plain(memstore.New()))
	p := et.NewPeer(t, et.WithStore(w))
	w.FailOn(storetest.FailFirst("loadAllForChannel", errDisk))
	_, err := p.Wrap([]byte("x"), "m1", "c")
	require.ErrorIs(t, err, engine.ErrStore)
	require.Empty(t, p.Channels())
	p.MustWrap("m1", "c")
	require.Equal(t, []string{"c"}, p.Channels())
}

func TestListingFailureFailsConstruction(t *testing.T) {
	w := storetest.Wrap(memstore.New())
	w.FailOn(storetest.FailFirst("listChannels", errDisk))
	_, err := engine.New(engine.Options{Store: w})
	require.ErrorIs(t, err, engine.ErrStore)
}

func TestCorruptRecordIsAClearError(t *testing.T) {
	mem := memstore.New()
	require.NoError(t, mem.AppendLogEntry("c", "m", []byte("not a record")))
	m, err := engine.New(engine.Options{Store: mem})
	require.NoError(t, err, "one bad channel does not make the manager unopenable")
	_, err = m.Wrap([]byte("x"), "m2", "c")
	require.ErrorIs(t, err, engine.ErrStore)
	require.ErrorIs(t, err, engine.ErrChannelQuarantined)
	require.ErrorContains(t, err, `channel "c"`)
}
