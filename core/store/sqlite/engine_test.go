//go:build cgo

package sqlite_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/sds"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/sqlite"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// Restart survival of every piece of engine state through the SQLite store,
// a restart being: close the manager and the store, open the store from the
// file, build a new manager on it.

func TestEngineRestartRestoresEveryBuffer(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "bob")
	hist := et.WithConfig(func(c *engine.Config) { c.MaxMessageHistory = 6 })
	alice, bob := et.BusyChannel(t, s, hist)
	before := bob.MustState("c")
	require.Len(t, before.Log, 6, "history bound applied before the restart")

	bob, s = restart(t, bob, s, path)
	require.Equal(t, []string{"c"}, bob.Channels(), "ListChannels restores channels at construction")
	after := bob.MustState("c")
	et.RequireReloaded(t, before, after)
	// every piece of state, spelled out
	require.Equal(t, before.Lamport, after.Lamport)
	require.NotZero(t, after.Outgoing[0].SendTime)
	require.NotEmpty(t, after.Incoming[0].Missing)
	require.NotZero(t, after.OutgoingRepairs[0].Due)
	require.NotZero(t, after.IncomingRepairs[0].Due)
	require.NotEmpty(t, after.IncomingRepairs[0].Message)

	// FIFO eviction continues from the stored order
	bob.MustWrap("b3", "c")
	require.Equal(t, append(before.Log[1:], "b3"), bob.MustState("c").Log)

	// more restart cycles, each changing the state
	for cycle := 0; cycle < 3; cycle++ {
		bob.MustUnwrap(alice.MustWrap(fmt.Sprint("cycle-a", cycle), "c"))
		bob.MustWrap(fmt.Sprint("cycle-b", cycle), "c")
		bob.Clock.Advance(61 * time.Second)
		require.NoError(t, bob.SweepBuffers()) // resend attempts advance
		require.NoError(t, bob.SweepRepairs())
		before := bob.MustState("c")
		bob, s = restart(t, bob, s, path)
		et.RequireReloaded(t, before, bob.MustState("c"))
	}
	require.Equal(t, 3, bob.MustState("c").Outgoing[0].ResendAttempts)
}

// TestEngineStoreWrittenBy03WriterReopensWriting04: the file a 0.3-writing
// manager filled opens in a manager writing 0.4 (no schema change), which
// re-cites the history with the stored sender ids.
func TestEngineStoreWrittenBy03WriterReopensWriting04(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "bob")
	_, bob := et.BusyChannel(t, s)
	before := bob.MustState("c")
	bob, _ = restart(t, bob, s, path, et.WithGeneration(wire.V04))
	et.CheckRestartWritesV04(t, before, bob)
}

func TestEngineRestartedTimersResumeFromAbsoluteTimes(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "bob")
	_, bob := et.BusyChannel(t, s)
	before := bob.MustState("c")
	bob, _ = restart(t, bob, s, path)
	et.CheckTimersResumed(t, before, bob)
}

func TestEngineLamportMonotonicAcrossRestarts(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "p")
	p := et.NewPeer(t, et.WithID("p"), et.WithStore(s))
	var last int64
	for cycle := 0; cycle < 4; cycle++ {
		for i := 0; i < 3; i++ {
			l := et.Decode(t, p.MustWrap(fmt.Sprintf("m%d-%d", cycle, i), "c")).Lamport
			require.Greater(t, l, last)
			last = l
		}
		p, s = restart(t, p, s, path)
		require.Equal(t, last, p.MustState("c").Lamport)
	}
	require.Len(t, p.MustState("c").Log, 12)
}

func TestEngineAckAndRemoveAfterRestart(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "a")
	a, b := et.NewPeer(t, et.WithID("a"), et.WithStore(s)), et.NewPeer(t, et.WithID("b"))
	b.MustUnwrap(a.MustWrap("m1", "c"))
	a.MustWrap("m-other", "other")
	a, s = restart(t, a, s, path)
	require.Equal(t, []string{"c", "other"}, a.Channels())
	a.MustUnwrap(b.MustWrap("r1", "c"))
	require.Equal(t, []string{"message_acknowledged:m1@c", "message_ready:r1@c"}, et.Summary(a.Events.Take()))
	require.NoError(t, a.RemoveChannel("other"))
	a, _ = restart(t, a, s, path)
	require.Equal(t, []string{"c"}, a.Channels())
	require.Empty(t, a.MustState("c").Outgoing)
}

// TestEngineNamespacesOfOneFileStaySeparate: two managers keep their state in
// one file, on the same channel ids, and each gets back exactly its own.
func TestEngineNamespacesOfOneFileStaySeparate(t *testing.T) {
	path := dbPath(t)
	sa, sb := openStore(t, path, "alice"), openStore(t, path, "bob")
	a := et.NewPeer(t, et.WithID("alice"), et.WithStore(sa))
	b := et.NewPeer(t, et.WithID("bob"), et.WithStore(sb), et.WithClock(a.Clock))
	for i := 0; i < 5; i++ {
		b.MustUnwrap(a.MustWrap(fmt.Sprint("a", i), "c"))
		a.MustUnwrap(b.MustWrap(fmt.Sprint("b", i), "c"))
	}
	a.MustWrap("alice-only", "a-chan")
	b.MustWrap("bob-only", "b-chan")
	a.MustWrap("a-last", "c") // unacknowledged
	beforeA, beforeB := a.MustState("c"), b.MustState("c")
	require.NotEqual(t, et.WithoutBloom(beforeA), et.WithoutBloom(beforeB))
	a, sa = restart(t, a, sa, path)
	b, sb = restart(t, b, sb, path)
	require.Equal(t, []string{"a-chan", "c"}, a.Channels())
	require.Equal(t, []string{"b-chan", "c"}, b.Channels())
	et.RequireReloaded(t, beforeA, a.MustState("c"))
	et.RequireReloaded(t, beforeB, b.MustState("c"))
	require.NoError(t, a.Reset())
	b, _ = restart(t, b, sb, path)
	et.RequireReloaded(t, beforeB, b.MustState("c"))
	a, _ = restart(t, a, sa, path)
	require.Empty(t, a.Channels())
}

var errInjected = errors.New("injected failure")

// TestEngineTransactionalFailurePolicy fails one store call inside engine
// operations on the SQLite store: the operation returns ErrStore and a manager
// reopened from the file holds exactly the state before the operation.
func TestEngineTransactionalFailurePolicy(t *testing.T) {
	et.CheckFailurePolicy(t, errInjected, func(t *testing.T) (store.Store, func() store.Store) {
		path := dbPath(t)
		s := openStore(t, path, "bob")
		return s, func() store.Store {
			require.NoError(t, s.Close())
			return openStore(t, path, "bob")
		}
	})
}

// TestEngineDiskFullRollsBack: a real SQLite failure (the database cannot
// grow) inside an engine operation. The operation returns ErrStore; memory
// and a reopened manager hold the state before it; once there is room again
// the operation succeeds.
func TestEngineDiskFullRollsBack(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "bob")
	hints := et.WithHints(func(id string) []byte { return []byte("hint-" + id) })
	alice, bob := et.BusyChannel(t, s, hints)
	before := bob.MustState("c")
	bob.Events.Take()
	require.NoError(t, sqlite.LimitPages(s, 0))
	big := make([]byte, 512<<10) // needs many new pages
	_, err := bob.Wrap(big, "big", "c")
	require.ErrorIs(t, err, engine.ErrStore)
	require.ErrorContains(t, err, "disk full")
	t.Log(err)
	require.Empty(t, bob.Events.Take())
	et.RequireReloaded(t, before, bob.MustState("c"))
	// an unwrap that fits in place still works under the cap
	_, err = bob.Unwrap(alice.MustWrap("small", "c"))
	if err == nil {
		before = bob.MustState("c")
	} else {
		require.ErrorIs(t, err, engine.ErrStore)
	}
	bob2, s2 := restart(t, bob, s, path, hints)
	et.RequireReloaded(t, before, bob2.MustState("c"))
	integrityCheck(t, path)
	_, err = bob2.Wrap(big, "big", "c")
	require.NoError(t, err)
	require.Contains(t, bob2.MustState("c").Log, "big")
	bob3, _ := restart(t, bob2, s2, path, hints)
	require.Contains(t, bob3.MustState("c").Log, "big")
}

// TestEngineErrorsWrapStoreSentinels: a store's sentinel errors survive every
// layer above it, so errors.Is works on what engine.Manager and core/sds
// return. The database turns read-only under an open store (PRAGMA
// query_only), so writes fail with SQLITE_READONLY.
func TestEngineErrorsWrapStoreSentinels(t *testing.T) {
	t.Run("engine", func(t *testing.T) {
		s := openStore(t, dbPath(t), "")
		m, err := engine.New(engine.Options{Store: s})
		require.NoError(t, err)
		defer m.Close()
		_, err = m.Wrap([]byte("before"), "m1", "c")
		require.NoError(t, err)
		require.NoError(t, sqlite.Exec(s, "PRAGMA query_only = ON"))
		_, err = m.Wrap([]byte("after"), "m2", "c")
		require.ErrorIs(t, err, engine.ErrStore)
		require.ErrorIs(t, err, sqlite.ErrReadOnly)
		t.Log(err)
		// a channel loaded for the first time: its load reads, the write fails
		_, err = m.Wrap([]byte("new"), "m3", "other")
		require.ErrorIs(t, err, sqlite.ErrReadOnly)
	})
	t.Run("core/sds", func(t *testing.T) {
		s := openStore(t, dbPath(t), "")
		rm, err := sds.NewReliabilityManagerWithOptions(nil, sds.Options{Store: s})
		require.NoError(t, err)
		defer func() { require.NoError(t, rm.Cleanup()) }()
		require.NoError(t, sqlite.Exec(s, "PRAGMA query_only = ON"))
		_, err = rm.WrapOutgoingMessage([]byte("x"), "m1", "c")
		require.ErrorIs(t, err, engine.ErrStore)
		require.ErrorIs(t, err, sqlite.ErrReadOnly)
		t.Log(err)
	})
	t.Run("closed store", func(t *testing.T) {
		s := openStore(t, dbPath(t), "")
		m, err := engine.New(engine.Options{Store: s})
		require.NoError(t, err)
		defer m.Close()
		require.NoError(t, s.Close())
		_, err = m.Wrap([]byte("x"), "m1", "c")
		require.ErrorIs(t, err, engine.ErrStore)
		require.ErrorIs(t, err, sqlite.ErrClosed)
	})
}
