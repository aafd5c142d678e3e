//go:build cgo

package sqlite_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/store/sqlite"
	"github.com/logos-messaging/libsds-go/core/store/storetest"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// Restart survival of every piece of engine state through the SQLite store,
// a restart being: close the manager and the store, open the store from the
// file, build a new manager on it.

// requireSameState compares a state with one reloaded from the store: equal
// but for the filter, which a reload rebuilds from the log alone (the filter
// in memory also holds evicted and buffered ids).
func requireSameState(t *testing.T, want, got engine.ChannelState) {
	t.Helper()
	require.Equal(t, withoutBloom(want), withoutBloom(got))
	require.Equal(t, got.Log, got.BloomIDs, "the filter is rebuilt from the log, oldest first")
}

func TestEngineRestartRestoresEveryBuffer(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "bob")
	hist := withConfig(func(c *engine.Config) { c.MaxMessageHistory = 6 })
	alice, bob := busyChannel(t, s, hist)
	before := bob.state("c")
	require.Len(t, before.Log, 6, "history bound applied before the restart")

	bob, s = restart(t, bob, s, path)
	require.Equal(t, []string{"c"}, bob.Channels(), "ListChannels restores channels at construction")
	after := bob.state("c")
	requireSameState(t, before, after)
	// every piece of state, spelled out
	require.Equal(t, before.Lamport, after.Lamport)
	require.NotZero(t, after.Outgoing[0].SendTime)
	require.NotEmpty(t, after.Incoming[0].Missing)
	require.NotZero(t, after.OutgoingRepairs[0].Due)
	require.NotZero(t, after.IncomingRepairs[0].Due)
	require.NotEmpty(t, after.IncomingRepairs[0].Message)

	// FIFO eviction continues from the stored order
	bob.wrap("b3", "c")
	require.Equal(t, append(before.Log[1:], "b3"), bob.state("c").Log)

	// more restart cycles, each changing the state
	for cycle := 0; cycle < 3; cycle++ {
		bob.unwrap(alice.wrap(fmt.Sprint("cycle-a", cycle), "c"))
		bob.wrap(fmt.Sprint("cycle-b", cycle), "c")
		bob.clk.Advance(61 * time.Second)
		require.NoError(t, bob.SweepBuffers()) // resend attempts advance
		require.NoError(t, bob.SweepRepairs())
		before := bob.state("c")
		bob, s = restart(t, bob, s, path)
		requireSameState(t, before, bob.state("c"))
	}
	require.Equal(t, 3, bob.state("c").Outgoing[0].ResendAttempts)
}

func TestEngineRestartedTimersResumeFromAbsoluteTimes(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "bob")
	_, bob := busyChannel(t, s)
	before := bob.state("c")
	bob, _ = restart(t, bob, s, path)
	bob.clk.Set(before.IncomingRepairs[0].Due)
	require.NoError(t, bob.SweepRepairs())
	var repairs int
	for _, e := range bob.ev.take() {
		if e.Kind == engine.RepairReady {
			repairs++
			require.Equal(t, "early4", decode(t, e.Message).MessageID)
		}
	}
	require.Equal(t, 1, repairs)
	bob.clk.Set(before.Outgoing[0].SendTime.Add(61 * time.Second))
	require.NoError(t, bob.SweepBuffers())
	require.Equal(t, 1, bob.state("c").Outgoing[0].ResendAttempts)
	// the due outgoing repair requests ride on the next wrap
	bob.clk.Set(before.OutgoingRepairs[len(before.OutgoingRepairs)-1].Due)
	w := decode(t, bob.wrap("b-after", "c"))
	require.NotEmpty(t, w.RepairRequest)
}

func TestEngineLamportMonotonicAcrossRestarts(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "p")
	p := newPeer(t, withID("p"), withStore(s))
	var last int64
	for cycle := 0; cycle < 4; cycle++ {
		for i := 0; i < 3; i++ {
			l := decode(t, p.wrap(fmt.Sprintf("m%d-%d", cycle, i), "c")).Lamport
			require.Greater(t, l, last)
			last = l
		}
		p, s = restart(t, p, s, path)
		require.Equal(t, last, p.state("c").Lamport)
	}
	require.Len(t, p.state("c").Log, 12)
}

func TestEngineAckAndRemoveAfterRestart(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "a")
	a, b := newPeer(t, withID("a"), withStore(s)), newPeer(t, withID("b"))
	b.unwrap(a.wrap("m1", "c"))
	a.wrap("m-other", "other")
	a, s = restart(t, a, s, path)
	require.Equal(t, []string{"c", "other"}, a.Channels())
	a.unwrap(b.wrap("r1", "c"))
	require.Equal(t, []string{"message_acknowledged:m1@c", "message_ready:r1@c"}, summary(a.ev.take()))
	require.NoError(t, a.RemoveChannel("other"))
	a, _ = restart(t, a, s, path)
	require.Equal(t, []string{"c"}, a.Channels())
	require.Empty(t, a.state("c").Outgoing)
}

// TestEngineNamespacesOfOneFileStaySeparate: two managers keep their state in
// one file, on the same channel ids, and each gets back exactly its own.
func TestEngineNamespacesOfOneFileStaySeparate(t *testing.T) {
	path := dbPath(t)
	sa, sb := openStore(t, path, "alice"), openStore(t, path, "bob")
	a := newPeer(t, withID("alice"), withStore(sa))
	b := newPeer(t, withID("bob"), withStore(sb), withClock(a.clk))
	for i := 0; i < 5; i++ {
		b.unwrap(a.wrap(fmt.Sprint("a", i), "c"))
		a.unwrap(b.wrap(fmt.Sprint("b", i), "c"))
	}
	a.wrap("alice-only", "a-chan")
	b.wrap("bob-only", "b-chan")
	a.wrap("a-last", "c") // unacknowledged
	beforeA, beforeB := a.state("c"), b.state("c")
	require.NotEqual(t, withoutBloom(beforeA), withoutBloom(beforeB))
	a, sa = restart(t, a, sa, path)
	b, sb = restart(t, b, sb, path)
	require.Equal(t, []string{"a-chan", "c"}, a.Channels())
	require.Equal(t, []string{"b-chan", "c"}, b.Channels())
	requireSameState(t, beforeA, a.state("c"))
	requireSameState(t, beforeB, b.state("c"))
	require.NoError(t, a.Reset())
	b, _ = restart(t, b, sb, path)
	requireSameState(t, beforeB, b.state("c"))
	a, _ = restart(t, a, sa, path)
	require.Empty(t, a.Channels())
}

var errInjected = errors.New("injected failure")

func failingOnce(op string) func(storetest.Call) error {
	done := false
	return func(c storetest.Call) error {
		if !done && c.Op == op {
			done = true
			return errInjected
		}
		return nil
	}
}

// TestEngineTransactionalFailurePolicy fails one store call inside engine
// operations on the SQLite store: the operation returns ErrStore and a manager
// reopened from the file holds exactly the state before the operation.
func TestEngineTransactionalFailurePolicy(t *testing.T) {
	operations := map[string]func(t *testing.T, alice, bob *peer) error{
		"unwrap acking, delivering, evicting, cancelling": func(t *testing.T, alice, bob *peer) error {
			gap1 := decode(t, alice.wrap("gap1-again", "c"))
			gap1.MessageID = "gap1"
			gap1.CausalHistory = []wire.HistoryEntry{historyEntry("b1", "bob"), historyEntry("b2", "bob")}
			gap1.RepairRequest = []wire.HistoryEntry{historyEntry("early3", "alice")}
			_, err := bob.Unwrap(gap1.Marshal())
			return err
		},
		"unwrap with new missing dependencies": func(t *testing.T, alice, bob *peer) error {
			m := decode(t, alice.wrap("x", "c"))
			m.CausalHistory = []wire.HistoryEntry{historyEntry("unseen1", "alice"), historyEntry("unseen2", "alice")}
			_, err := bob.Unwrap(m.Marshal())
			return err
		},
		"mark releasing a waiting message": func(t *testing.T, alice, bob *peer) error {
			return bob.MarkDependenciesMet([]string{"gap1", "gap2"}, "c")
		},
		"wrap with hints and due repair requests": func(t *testing.T, alice, bob *peer) error {
			_, err := bob.Wrap([]byte("w"), "b9", "c")
			return err
		},
		"repair sweep": func(t *testing.T, alice, bob *peer) error {
			bob.clk.Advance(tMax)
			return bob.SweepRepairs()
		},
		"buffer sweep": func(t *testing.T, alice, bob *peer) error {
			bob.clk.Advance(61 * time.Second)
			return bob.SweepBuffers()
		},
		"reset": func(t *testing.T, alice, bob *peer) error {
			return bob.Reset()
		},
	}
	storeOps := []string{
		"begin", "commit", "saveLamport", "appendLogEntry", "removeLogEntry", "setRetrievalHint",
		"saveOutgoing", "removeOutgoing", "saveIncoming", "removeIncoming",
		"saveOutgoingRepair", "removeOutgoingRepair", "saveIncomingRepair", "removeIncomingRepair", "dropChannel",
	}
	covered := map[string]bool{}
	for name, operation := range operations {
		for _, op := range storeOps {
			t.Run(name+"/"+op, func(t *testing.T) {
				path := dbPath(t)
				s := openStore(t, path, "bob")
				w := storetest.Wrap(s)
				hints := withHints(func(id string) []byte { return []byte("hint-" + id) })
				hist := withConfig(func(c *engine.Config) { c.MaxMessageHistory = 8 })
				alice, bob := busyChannel(t, w, hist, hints)
				before := bob.state("c")
				bob.ev.take()
				w.FailOn(failingOnce(op))
				err := operation(t, alice, bob)
				w.FailOn(nil)
				if !errors.Is(err, engine.ErrStore) {
					require.NoError(t, err)
					return // this operation does not call op
				}
				covered[op] = true
				require.ErrorContains(t, err, "injected failure")
				require.Empty(t, bob.ev.take(), "events of a failed operation are not delivered")
				requireSameState(t, before, bob.state("c"))
				fresh, _ := restart(t, bob, s, path)
				requireSameState(t, before, fresh.state("c"))
				fresh.clk.Set(alice.clk.Now())
				require.NoError(t, operation(t, alice, fresh), "the operation can be retried")
			})
		}
	}
	for _, op := range storeOps {
		require.True(t, covered[op], "no case fails %s", op)
	}
}

// TestEngineDiskFullRollsBack: a real SQLite failure (the database cannot
// grow) inside an engine operation. The operation returns ErrStore; memory
// and a reopened manager hold the state before it; once there is room again
// the operation succeeds.
func TestEngineDiskFullRollsBack(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "bob")
	hints := withHints(func(id string) []byte { return []byte("hint-" + id) })
	alice, bob := busyChannel(t, s, hints)
	before := bob.state("c")
	bob.ev.take()
	require.NoError(t, sqlite.LimitPages(s, 0))
	big := make([]byte, 512<<10) // needs many new pages
	_, err := bob.Wrap(big, "big", "c")
	require.ErrorIs(t, err, engine.ErrStore)
	require.ErrorContains(t, err, "disk full")
	t.Log(err)
	require.Empty(t, bob.ev.take())
	requireSameState(t, before, bob.state("c"))
	// an unwrap that fits in place still works under the cap
	_, err = bob.Unwrap(alice.wrap("small", "c"))
	if err == nil {
		before = bob.state("c")
	} else {
		require.ErrorIs(t, err, engine.ErrStore)
	}
	bob2, s2 := restart(t, bob, s, path, hints)
	requireSameState(t, before, bob2.state("c"))
	integrityCheck(t, path)
	_, err = bob2.Wrap(big, "big", "c")
	require.NoError(t, err)
	require.Contains(t, bob2.state("c").Log, "big")
	bob3, _ := restart(t, bob2, s2, path, hints)
	require.Contains(t, bob3.state("c").Log, "big")
}
