package engine_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
	"github.com/logos-messaging/libsds-go/core/store/storetest"
	"github.com/logos-messaging/libsds-go/core/wire"
)

var errDisk = errors.New("disk full")

// failing returns a FailOn predicate that fails the first call to op.
func failing(op string) func(storetest.Call) error {
	done := false
	return func(c storetest.Call) error {
		if !done && c.Op == op {
			done = true
			return errDisk
		}
		return nil
	}
}

// TestTransactionalFailureLeavesMemoryEqualToDisk fails each kind of write in
// turn inside several operations and checks the documented policy: the call
// returns ErrStore, its events are dropped, and what the manager then holds is
// exactly what a fresh manager reads from the store — the state before the
// operation. Every store operation must be covered by at least one case.
func TestTransactionalFailureLeavesMemoryEqualToDisk(t *testing.T) {
	storeOps := []string{
		"begin", "commit", "saveLamport", "appendLogEntry", "removeLogEntry", "setRetrievalHint",
		"saveOutgoing", "removeOutgoing", "saveIncoming", "removeIncoming",
		"saveOutgoingRepair", "removeOutgoingRepair", "saveIncomingRepair", "removeIncomingRepair",
	}
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
	}
	covered := map[string]bool{}
	for name, operation := range operations {
		for _, op := range storeOps {
			t.Run(name+"/"+op, func(t *testing.T) {
				w := storetest.Wrap(memstore.New())
				hints := withHints(func(id string) []byte { return []byte("hint-" + id) })
				alice, bob := busyChannel(t, w, withConfig(func(c *engine.Config) { c.MaxMessageHistory = 8 }), hints)
				before := bob.state("c")
				bob.ev.take()
				w.FailOn(failing(op))
				err := operation(t, alice, bob)
				w.FailOn(nil)
				if !errors.Is(err, engine.ErrStore) {
					require.NoError(t, err)
					return // this operation does not call op
				}
				covered[op] = true
				require.ErrorContains(t, err, "disk full")
				require.Empty(t, bob.ev.take(), "events of a failed operation are not delivered")
				require.Equal(t, withoutBloom(before), withoutBloom(bob.state("c")), "memory reloaded from the store")
				fresh := restart(t, bob, w, hints)
				require.Equal(t, withoutBloom(before), withoutBloom(fresh.state("c")))
				// the operation can simply be retried
				fresh.clk.Set(alice.clk.Now())
				require.NoError(t, operation(t, alice, fresh))
			})
		}
	}
	for _, op := range storeOps {
		require.True(t, covered[op], "no case fails %s", op)
	}
}

func TestTransactionalFailureOnWrapAndSweeps(t *testing.T) {
	w := storetest.Wrap(memstore.New())
	p := newPeer(t, withStore(w))
	p.wrap("m1", "c")
	before := p.state("c")
	w.FailOn(failing("saveOutgoing"))
	_, err := p.Wrap([]byte("x"), "m2", "c")
	require.ErrorIs(t, err, engine.ErrStore)
	require.Equal(t, before, p.state("c"))

	p.clk.Advance(61e9)
	w.FailOn(failing("saveOutgoing"))
	require.ErrorIs(t, p.SweepBuffers(), engine.ErrStore)
	require.Equal(t, before, p.state("c"), "the failed sweep changed nothing")
	require.NoError(t, p.SweepBuffers())
	require.Equal(t, 1, p.state("c").Outgoing[0].ResendAttempts)

	w.FailOn(failing("dropChannel"))
	require.ErrorIs(t, p.Reset(), engine.ErrStore)
	require.Equal(t, []string{"c"}, p.Channels(), "a failed reset keeps the channel")
	w.FailOn(failing("commit"))
	require.ErrorIs(t, p.Reset(), engine.ErrStore)
	require.Equal(t, []string{"c"}, p.Channels(), "a reset whose commit failed keeps the channel")
	require.Equal(t, before.Log, p.state("c").Log, "reloaded from the store")
	w.FailOn(failing("commit"))
	require.ErrorIs(t, p.RemoveChannel("c"), engine.ErrStore)
	require.Equal(t, []string{"c"}, p.Channels(), "a removal whose commit failed keeps the channel")
	require.NoError(t, p.Reset())
	require.Empty(t, p.Channels())
}

func TestNonTransactionalFailureIsReportedAndMemoryGoesOn(t *testing.T) {
	w := storetest.Wrap(memstore.New())
	p := newPeer(t, withStore(storetest.Plain(w)))
	w.FailOn(failing("appendLogEntry"))
	_, err := p.Wrap([]byte("x"), "m1", "c")
	require.NoError(t, err)
	evs := p.ev.take()
	require.Len(t, evs, 1)
	require.Equal(t, engine.StoreFailed, evs[0].Kind)
	require.Equal(t, "c", evs[0].ChannelID)
	require.ErrorIs(t, evs[0].Err, errDisk)
	require.Equal(t, []string{"m1"}, p.state("c").Log)
}

func TestLoadFailureCreatesNothing(t *testing.T) {
	w := storetest.Wrap(storetest.Plain(memstore.New()))
	p := newPeer(t, withStore(w))
	w.FailOn(failing("loadAllForChannel"))
	_, err := p.Wrap([]byte("x"), "m1", "c")
	require.ErrorIs(t, err, engine.ErrStore)
	require.Empty(t, p.Channels())
	p.wrap("m1", "c")
	require.Equal(t, []string{"c"}, p.Channels())
}

func TestListingFailureFailsConstruction(t *testing.T) {
	w := storetest.Wrap(memstore.New())
	w.FailOn(failing("listChannels"))
	_, err := engine.New(engine.Options{Store: w})
	require.ErrorIs(t, err, engine.ErrStore)
}

func TestCorruptRecordIsAClearError(t *testing.T) {
	mem := memstore.New()
	require.NoError(t, mem.AppendLogEntry("c", "m", []byte("not a record")))
	_, err := engine.New(engine.Options{Store: mem})
	require.ErrorIs(t, err, engine.ErrStore)
	require.ErrorContains(t, err, `channel "c"`)
}
