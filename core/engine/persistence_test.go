package engine_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
	"github.com/logos-messaging/libsds-go/core/store/storetest"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// restart builds a new manager on the same store and clock, as a process
// restart would.
func restart(t *testing.T, p *peer, s store.Store, opts ...peerOption) *peer {
	t.Helper()
	require.NoError(t, p.Close())
	return newPeer(t, append([]peerOption{withID(p.ParticipantID()), withStore(s), withClock(p.clk)}, opts...)...)
}

// busyChannel gives bob on channel "c" something in every buffer: log (with
// evictions), outgoing, incoming with missing ids, both repair buffers.
func busyChannel(t *testing.T, s store.Store, opts ...peerOption) (alice, bob *peer) {
	clk := newFakeClock()
	alice = newPeer(t, withID("alice"), withClock(clk))
	bob = newPeer(t, append([]peerOption{withID("bob"), withStore(s), withClock(clk)}, opts...)...)
	carol := newPeer(t, withID("carol"), withClock(clk))
	for _, id := range nids("early", 5) {
		bob.unwrap(alice.wrap(id, "c"))
	}
	bob.wrap("b1", "c")
	clk.Advance(1500 * time.Millisecond)
	bob.wrap("b2", "c")
	alice.wrap("gap1", "c")
	alice.wrap("gap2", "c")
	bob.unwrap(alice.wrap("after-gap", "c")) // waits for gap1, gap2; schedules repairs
	early := alice.wrap("e-ask", "c")
	carol.unwrap(early)
	clk.Advance(tMax)
	// dave asks for early4, which bob holds: bob schedules a response
	ask := carol.wrap("carol-ask", "c")
	_ = ask
	req := newPeer(t, withID("dave"), withClock(clk))
	reqMsg := reqFor(t, req, "early4", "alice")
	bob.unwrap(reqMsg)
	st := bob.state("c")
	require.NotEmpty(t, st.Log)
	require.NotEmpty(t, st.Outgoing)
	require.NotEmpty(t, st.Incoming)
	require.NotEmpty(t, st.OutgoingRepairs)
	require.NotEmpty(t, st.IncomingRepairs)
	return alice, bob
}

// reqFor makes p emit a message carrying a repair request for id.
func reqFor(t *testing.T, p *peer, id, sender string) []byte {
	t.Helper()
	w := decode(t, p.wrap("req-for-"+id, "c"))
	w.RepairRequest = append(w.RepairRequest, historyEntry(id, sender))
	return w.Marshal()
}

func withoutBloom(s engine.ChannelState) engine.ChannelState {
	s.BloomIDs = nil
	return s
}

func TestRestartRestoresEveryBuffer(t *testing.T) {
	s := memstore.New()
	_, bob := busyChannel(t, s, withConfig(func(c *engine.Config) { c.MaxMessageHistory = 6 }))
	before := bob.state("c")
	require.Len(t, before.Log, 6, "history bound applied before the restart")
	bob2 := restart(t, bob, s, withConfig(func(c *engine.Config) { c.MaxMessageHistory = 6 }))
	require.Equal(t, []string{"c"}, bob2.Channels(), "a listing store restores channels at construction")
	after := bob2.state("c")
	require.Equal(t, withoutBloom(before), withoutBloom(after))
	require.Equal(t, before.Log, after.BloomIDs, "the filter is rebuilt from the log, oldest first")
	// the restored state keeps working: FIFO eviction continues from the stored order
	bob2.wrap("b3", "c")
	require.Equal(t, append(before.Log[1:], "b3"), bob2.state("c").Log)
}

func TestRestartWithoutListingLoadsOnFirstUse(t *testing.T) {
	s := storetest.Plain(memstore.New())
	_, bob := busyChannel(t, s)
	before := bob.state("c")
	bob2 := restart(t, bob, s)
	require.Empty(t, bob2.Channels())
	require.ErrorIs(t, bob2.MarkDependenciesMet([]string{"gap1"}, "c"), engine.ErrUnknownChannel,
		"as in nim-sds, marking does not load a channel")
	bob2.unwrap(newPeer(t).wrap("later", "c"))
	after := bob2.state("c")
	require.Equal(t, before.Outgoing, after.Outgoing)
	require.Equal(t, before.Incoming, after.Incoming)
	require.Equal(t, before.IncomingRepairs, after.IncomingRepairs)
}

func TestRestartedTimersResumeFromAbsoluteTimes(t *testing.T) {
	s := memstore.New()
	_, bob := busyChannel(t, s)
	before := bob.state("c")
	bob2 := restart(t, bob, s)
	bob2.clk.Set(before.IncomingRepairs[0].Due)
	require.NoError(t, bob2.SweepRepairs())
	var repairs int
	for _, e := range bob2.ev.take() {
		if e.Kind == engine.RepairReady {
			repairs++
			require.Equal(t, "early4", decode(t, e.Message).MessageID)
		}
	}
	require.Equal(t, 1, repairs)
	// resend attempts continue from the stored send time
	bob2.clk.Set(before.Outgoing[0].SendTime.Add(61 * time.Second))
	require.NoError(t, bob2.SweepBuffers())
	require.Equal(t, 1, bob2.state("c").Outgoing[0].ResendAttempts)
}

func TestAckAfterRestartRemovesStoredOutgoing(t *testing.T) {
	s := memstore.New()
	a, b := newPeer(t, withStore(s)), newPeer(t)
	b.unwrap(a.wrap("m1", "c"))
	a2 := restart(t, a, s)
	a2.unwrap(b.wrap("r1", "c"))
	require.Equal(t, []string{"message_acknowledged:m1@c", "message_ready:r1@c"}, summary(a2.ev.take()))
	a3 := restart(t, a2, s)
	require.Empty(t, a3.state("c").Outgoing)
}

func TestLamportMonotonicAcrossRestarts(t *testing.T) {
	s := memstore.New()
	p := newPeer(t, withStore(s))
	var last int64
	for cycle := 0; cycle < 4; cycle++ {
		for i := 0; i < 3; i++ {
			l := decode(t, p.wrap(fmt.Sprintf("m%d-%d", cycle, i), "c")).Lamport
			require.Greater(t, l, last)
			last = l
		}
		p = restart(t, p, s)
		require.Equal(t, last, p.state("c").Lamport)
	}
	require.Len(t, p.state("c").Log, 12)
}

func TestRemovedChannelIsGoneFromStore(t *testing.T) {
	w := storetest.Wrap(memstore.New())
	p := newPeer(t, withStore(w))
	for i := 0; i < 5; i++ {
		p.wrap(fmt.Sprintf("m%d", i), "c")
	}
	w.Reset()
	require.NoError(t, p.RemoveChannel("c"))
	require.Equal(t, []string{"begin", "dropChannel(c)", "commit"}, callStrings(w.Calls()))
	p2 := restart(t, p, w)
	require.Empty(t, p2.Channels())
	l := decode(t, p2.wrap("fresh", "c")).Lamport
	require.Equal(t, epoch.Unix()+1, l, "a recreated channel does not inherit the old lamport")
}

func TestNoOpStoreKeepsWorking(t *testing.T) {
	p := newPeer(t, withStore(store.NoOp{}))
	p.wrap("m", "c")
	p2 := restart(t, p, store.NoOp{})
	require.Empty(t, p2.Channels())
}

func TestCascadeResumedAcrossRestart(t *testing.T) {
	// A store without transactions loses the tail of an operation in a crash.
	// Simulate one: after m2's missing set is saved empty, no later write lands.
	w := storetest.Wrap(memstore.New())
	a := newPeer(t)
	m1, m2, m3 := a.wrap("m1", "c"), a.wrap("m2", "c"), a.wrap("m3", "c")
	_ = m1
	b := newPeer(t, withStore(storetest.Plain(w)))
	b.unwrap(m3) // missing m1, m2
	b.unwrap(m2) // missing m1
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
	b.unwrap(m1) // the failures are reported as events; memory goes on
	require.True(t, crashed)
	var failures int
	for _, e := range b.ev.take() {
		if e.Kind == engine.StoreFailed {
			failures++
			require.ErrorContains(t, e.Err, "process is gone")
		}
	}
	require.Positive(t, failures)
	w.FailOn(nil)
	b2 := restart(t, b, w)
	st := b2.state("c")
	require.Equal(t, []engine.IncomingState{{ID: "m3", Missing: []string{"m2"}}, {ID: "m2", Missing: []string{}}}, st.Incoming)
	require.Equal(t, []string{"m1"}, st.Log, "m1 was logged before the crash, m2 was not")
	// the next delivery of anything resumes the cascade
	b2.unwrap(newPeer(t).wrap("x", "c"))
	require.Equal(t, []string{"message_ready:m2@c", "message_ready:m3@c", "message_ready:x@c"}, summary(b2.ev.take()))
	require.Equal(t, []string{"m1", "x", "m2", "m3"}, b2.state("c").Log, "x is logged before what it released")
	require.Empty(t, b2.state("c").Incoming)
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
	clk := newFakeClock()
	alice := newPeer(t, withID("alice"), withClock(clk))
	bob := newPeer(t, withID("bob"), withStore(w), withClock(clk), withConfig(func(c *engine.Config) { c.MaxMessageHistory = 3 }),
		withHints(func(id string) []byte {
			if id == "a1" {
				return []byte("h")
			}
			return nil
		}))
	a1 := alice.wrap("a1", "c")
	a2 := alice.wrap("a2", "c")
	a3 := alice.wrap("a3", "c")

	w.Reset()
	bob.unwrap(a3)
	calls := callStrings(w.Calls())
	require.Equal(t, []string{
		"loadAllForChannel(c)",
		"begin", "saveLamport(c)",
		"saveIncoming(c,a3)",
		"saveOutgoingRepair(c,a1)", "saveOutgoingRepair(c,a2)",
		"commit",
	}, calls, "unwrap with missing dependencies")

	w.Reset()
	bob.unwrap(a1)
	require.Equal(t, []string{
		"begin", "removeOutgoingRepair(c,a1)", "saveLamport(c)",
		"appendLogEntry(c,a1)", "saveIncoming(c,a3)",
		"commit",
	}, callStrings(w.Calls()), "deliverable, releases nothing yet")

	w.Reset()
	bob.unwrap(a2)
	require.Equal(t, []string{
		"begin", "removeOutgoingRepair(c,a2)", "saveLamport(c)",
		"appendLogEntry(c,a2)", "saveIncoming(c,a3)",
		"appendLogEntry(c,a3)",
		"removeIncoming(c,a3)",
		"commit",
	}, callStrings(w.Calls()), "deliverable, releases a3")

	w.Reset()
	bob.unwrap(a2)
	require.Empty(t, w.Calls(), "a duplicate with nothing to cancel writes nothing")

	w.Reset()
	bob.wrap("b1", "c")
	require.Equal(t, []string{
		"begin", "saveLamport(c)", "setRetrievalHint(a1)", "saveOutgoing(c,b1)",
		"appendLogEntry(c,b1)", "removeLogEntry(c,a1)",
		"commit",
	}, callStrings(w.Calls()), "wrap with a hint and an eviction")

	w.Reset()
	ack := decode(t, newPeer(t).wrap("ack", "c"))
	ack.CausalHistory = []wire.HistoryEntry{historyEntry("b1", "bob")}
	bob.unwrap(ack.Marshal())
	require.Equal(t, []string{
		"begin", "saveLamport(c)", "removeOutgoing(c,b1)",
		"appendLogEntry(c,ack)", "removeLogEntry(c,a2)",
		"commit",
	}, callStrings(w.Calls()), "acknowledgement")

	w.Reset()
	clk.Advance(time.Hour)
	bob.wrap("b2", "c")
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
