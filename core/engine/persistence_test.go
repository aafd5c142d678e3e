package engine_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/clock"
	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
	"github.com/logos-messaging/libsds-go/core/store/storetest"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// restart builds a new manager with p's options on the same store (the one
// given), as a process restart would.
func restart(p *et.Peer, s store.Store, opts ...et.Option) *et.Peer {
	return p.Restart(func() store.Store { return s }, opts...)
}

func TestRestartRestoresEveryBuffer(t *testing.T) {
	s := memstore.New()
	_, bob := et.BusyChannel(t, s, et.WithConfig(func(c *engine.Config) { c.MaxMessageHistory = 6 }))
	before := bob.MustState("c")
	require.Len(t, before.Log, 6, "history bound applied before the restart")
	bob2 := restart(bob, s, et.WithConfig(func(c *engine.Config) { c.MaxMessageHistory = 6 }))
	require.Equal(t, []string{"c"}, bob2.Channels(), "a listing store restores channels at construction")
	after := bob2.MustState("c")
	require.Equal(t, et.WithoutBloom(before), et.WithoutBloom(after))
	require.Equal(t, before.Log, after.BloomIDs, "the filter is rebuilt from the log, oldest first")
	// the restored state keeps working: FIFO eviction continues from the stored order
	bob2.MustWrap("b3", "c")
	require.Equal(t, append(before.Log[1:], "b3"), bob2.MustState("c").Log)
}

// TestStoreWrittenBy03WriterReopensWriting04: a store filled by a manager
// writing 0.3 (records are generation-free: messages are kept in the 0.3
// layout, sender ids included) opens in a manager writing 0.4, which re-cites
// the history with the stored sender ids.
func TestStoreWrittenBy03WriterReopensWriting04(t *testing.T) {
	s := memstore.New()
	_, bob := et.BusyChannel(t, s)
	before := bob.MustState("c")
	et.CheckRestartWritesV04(t, before, restart(bob, s, et.WithGeneration(wire.V04)))
}

func TestRestartWithoutListingLoadsOnFirstUse(t *testing.T) {
	s := storetest.Plain(memstore.New())
	_, bob := et.BusyChannel(t, s)
	before := bob.MustState("c")
	bob2 := restart(bob, s)
	require.Empty(t, bob2.Channels())
	require.ErrorIs(t, bob2.MarkDependenciesMet([]string{"gap1"}, "c"), engine.ErrUnknownChannel,
		"as in nim-sds, marking does not load a channel")
	bob2.MustUnwrap(et.NewPeer(t).MustWrap("later", "c"))
	after := bob2.MustState("c")
	require.Equal(t, before.Outgoing, after.Outgoing)
	require.Equal(t, before.Incoming, after.Incoming)
	require.Equal(t, before.IncomingRepairs, after.IncomingRepairs)
}

func TestRestartedTimersResumeFromAbsoluteTimes(t *testing.T) {
	s := memstore.New()
	_, bob := et.BusyChannel(t, s)
	before := bob.MustState("c")
	et.CheckTimersResumed(t, before, restart(bob, s))
}

func TestAckAfterRestartRemovesStoredOutgoing(t *testing.T) {
	s := memstore.New()
	a, b := et.NewPeer(t, et.WithStore(s)), et.NewPeer(t)
	b.MustUnwrap(a.MustWrap("m1", "c"))
	a2 := restart(a, s)
	a2.MustUnwrap(b.MustWrap("r1", "c"))
	require.Equal(t, []string{"message_acknowledged:m1@c", "message_ready:r1@c"}, et.Summary(a2.Events.Take()))
	a3 := restart(a2, s)
	require.Empty(t, a3.MustState("c").Outgoing)
}

func TestLamportMonotonicAcrossRestarts(t *testing.T) {
	s := memstore.New()
	p := et.NewPeer(t, et.WithStore(s))
	var last int64
	for cycle := 0; cycle < 4; cycle++ {
		for i := 0; i < 3; i++ {
			l := et.Decode(t, p.MustWrap(fmt.Sprintf("m%d-%d", cycle, i), "c")).Lamport
			require.Greater(t, l, last)
			last = l
		}
		p = restart(p, s)
		require.Equal(t, last, p.MustState("c").Lamport)
	}
	require.Len(t, p.MustState("c").Log, 12)
}

func TestRemovedChannelIsGoneFromStore(t *testing.T) {
	w := storetest.Wrap(memstore.New())
	p := et.NewPeer(t, et.WithStore(w))
	for i := 0; i < 5; i++ {
		p.MustWrap(fmt.Sprintf("m%d", i), "c")
	}
	w.Reset()
	require.NoError(t, p.RemoveChannel("c"))
	require.Equal(t, []string{"begin", "dropChannel(c)", "commit"}, callStrings(w.Calls()))
	p2 := restart(p, w)
	require.Empty(t, p2.Channels())
	l := et.Decode(t, p2.MustWrap("fresh", "c")).Lamport
	require.Equal(t, et.Epoch.Unix()+1, l, "a recreated channel does not inherit the old lamport")
}

func TestNoOpStoreKeepsWorking(t *testing.T) {
	p := et.NewPeer(t, et.WithStore(store.NoOp{}))
	p.MustWrap("m", "c")
	p2 := restart(p, store.NoOp{})
	require.Empty(t, p2.Channels())
}

func TestCascadeResumedAcrossRestart(t *testing.T) {
	// A store without transactions loses the tail of an operation in a crash.
	// Simulate one: after m2's missing set is saved empty, no later write lands.
	w := storetest.Wrap(memstore.New())
	a := et.NewPeer(t)
	m1, m2, m3 := a.MustWrap("m1", "c"), a.MustWrap("m2", "c"), a.MustWrap("m3", "c")
	_ = m1
	b := et.NewPeer(t, et.WithStore(storetest.Plain(w)))
	b.MustUnwrap(m3) // missing m1, m2
	b.MustUnwrap(m2) // missing m1
	crashed := false
	w.FailOn(func(c storetest.Call) error {
		if crashed {
			return errors.New("process is gone")
		}
		if c.Op == "saveIncoming" && c.MessageID == "m2" {
			crashed = true
		}
		return nil
	})
	b.MustUnwrap(m1) // the failures are reported as events; memory goes on
	require.True(t, crashed)
	var failures int
	for _, e := range b.Events.Take() {
		if e.Kind == engine.StoreFailed {
			failures++
			require.ErrorContains(t, e.Err, "process is gone")
		}
	}
	require.Positive(t, failures)
	w.FailOn(nil)
	b2 := restart(b, w)
	st := b2.MustState("c")
	require.Equal(t, []engine.IncomingState{{ID: "m3", Missing: []string{"m2"}}, {ID: "m2", Missing: []string{}}}, st.Incoming)
	require.Equal(t, []string{"m1"}, st.Log, "m1 was logged before the crash, m2 was not")
	// the next delivery of anything resumes the cascade
	b2.MustUnwrap(et.NewPeer(t).MustWrap("x", "c"))
	require.Equal(t, []string{"message_ready:m2@c", "message_ready:m3@c", "message_ready:x@c"}, et.Summary(b2.Events.Take()))
	require.Equal(t, []string{"m1", "x", "m2", "m3"}, b2.MustState("c").Log, "x is logged before what it released")
	require.Empty(t, b2.MustState("c").Incoming)
}

func callStrings(calls []storetest.Call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.String()
	}
	return out
}

func TestPersistenceCallsFollowProtocolSteps(t *testing.T) {
	w := storetest.Wrap(memstore.New())
	clk := clock.NewFake(et.Epoch)
	alice := et.NewPeer(t, et.WithID("alice"), et.WithClock(clk))
	bob := et.NewPeer(t, et.WithID("bob"), et.WithStore(w), et.WithClock(clk), et.WithConfig(func(c *engine.Config) { c.MaxMessageHistory = 3 }),
		et.WithHints(func(id string) []byte {
			if id == "a1" {
				return []byte("h")
			}
			return nil
		}))
	a1 := alice.MustWrap("a1", "c")
	a2 := alice.MustWrap("a2", "c")
	a3 := alice.MustWrap("a3", "c")

	w.Reset()
	bob.MustUnwrap(a3)
	calls := callStrings(w.Calls())
	require.Equal(t, []string{
		"loadAllForChannel(c)",
		"begin", "saveLamport(c)",
		"saveIncoming(c,a3)",
		"saveOutgoingRepair(c,a1)", "saveOutgoingRepair(c,a2)",
		"commit",
	}, calls, "unwrap with missing dependencies")

	w.Reset()
	bob.MustUnwrap(a1)
	require.Equal(t, []string{
		"begin", "removeOutgoingRepair(c,a1)", "saveLamport(c)",
		"appendLogEntry(c,a1)", "saveIncoming(c,a3)",
		"commit",
	}, callStrings(w.Calls()), "deliverable, releases nothing yet")

	w.Reset()
	bob.MustUnwrap(a2)
	require.Equal(t, []string{
		"begin", "removeOutgoingRepair(c,a2)", "saveLamport(c)",
		"appendLogEntry(c,a2)", "saveIncoming(c,a3)",
		"appendLogEntry(c,a3)",
		"removeIncoming(c,a3)",
		"commit",
	}, callStrings(w.Calls()), "deliverable, releases a3")

	w.Reset()
	bob.MustUnwrap(a2)
	require.Empty(t, w.Calls(), "a duplicate with nothing to cancel writes nothing")

	w.Reset()
	bob.MustWrap("b1", "c")
	require.Equal(t, []string{
		"begin", "saveLamport(c)", "setRetrievalHint(a1)", "saveOutgoing(c,b1)",
		"appendLogEntry(c,b1)", "removeLogEntry(c,a1)",
		"commit",
	}, callStrings(w.Calls()), "wrap with a hint and an eviction")

	w.Reset()
	ack := et.Decode(t, et.NewPeer(t).MustWrap("ack", "c"))
	ack.CausalHistory = []wire.HistoryEntry{et.Entry("b1", "bob")}
	bob.MustUnwrap(ack.Marshal())
	require.Equal(t, []string{
		"begin", "saveLamport(c)", "removeOutgoing(c,b1)",
		"appendLogEntry(c,ack)", "removeLogEntry(c,a2)",
		"commit",
	}, callStrings(w.Calls()), "acknowledgement")

	w.Reset()
	clk.Advance(time.Hour)
	bob.MustWrap("b2", "c")
	w.Reset()
	clk.Advance(61 * time.Second)
	require.NoError(t, bob.SweepBuffers())
	require.Equal(t, []string{"begin", "saveOutgoing(c,b2)", "commit"}, callStrings(w.Calls()), "buffer sweep")

	w.Reset()
	require.NoError(t, bob.SyncTick())
	require.Empty(t, w.Calls())

	w.Reset()
	require.NoError(t, bob.Reset())
	require.Equal(t, []string{"begin", "dropChannel(c)", "commit"}, callStrings(w.Calls()))
}
