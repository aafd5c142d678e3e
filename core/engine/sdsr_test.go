package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/clock"
	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/repair"
	"github.com/logos-messaging/libsds-go/core/wire"
)

var tMin = engine.DefaultConfig().RepairTMin

func TestMissingDepsEnterOutgoingRepairBuffer(t *testing.T) {
	alice, bob := et.NewPeer(t, et.WithID("alice")), et.NewPeer(t, et.WithID("bob"))
	m1 := alice.MustWrap("m1", "c")
	m2 := alice.MustWrap("m2", "c")
	bob.MustUnwrap(m2)
	st := bob.MustState("c")
	require.Len(t, st.OutgoingRepairs, 1)
	r := st.OutgoingRepairs[0]
	require.Equal(t, "m1", r.Entry.MessageID)
	require.Equal(t, "alice", r.Entry.SenderID, "the request names the original sender")
	require.Equal(t, et.Epoch.Add(repair.TReq("bob", "m1", tMin, et.TMax)), r.Due)
	// receiving the message clears it
	bob.MustUnwrap(m1)
	require.Empty(t, bob.MustState("c").OutgoingRepairs)
}

func TestEmptyParticipantDisablesRepair(t *testing.T) {
	alice, bob := et.NewPeer(t, et.WithID("alice")), et.NewPeer(t)
	alice.MustWrap("m1", "c")
	bob.MustUnwrap(alice.MustWrap("m2", "c"))
	require.Empty(t, bob.MustState("c").OutgoingRepairs)
	require.Empty(t, et.Decode(t, bob.MustWrap("b", "c")).SenderID)
}

func TestMarkDependenciesMetClearsRepairBuffers(t *testing.T) {
	alice, bob := et.NewPeer(t, et.WithID("alice")), et.NewPeer(t, et.WithID("bob"))
	alice.MustWrap("m1", "c")
	bob.MustUnwrap(alice.MustWrap("m2", "c"))
	require.Len(t, bob.MustState("c").OutgoingRepairs, 1)
	require.NoError(t, bob.MarkDependenciesMet([]string{"m1"}, "c"))
	require.Empty(t, bob.MustState("c").OutgoingRepairs)
}

func TestDueRequestsAttachedMostOverdueFirstAndCapped(t *testing.T) {
	alice, bob := et.NewPeer(t, et.WithID("alice")), et.NewPeer(t, et.WithID("bob"))
	for _, id := range et.Numbered("gap", 6) {
		alice.MustWrap(id, "c")
	}
	bob.MustUnwrap(alice.MustWrap("last", "c"))
	st := bob.MustState("c")
	require.Len(t, st.OutgoingRepairs, 6)
	// nothing is due before T_min
	require.Empty(t, et.Decode(t, bob.MustWrap("early", "c")).RepairRequest)
	bob.Clock.Advance(et.TMax)
	first := et.Decode(t, bob.MustWrap("b1", "c")).RepairRequest
	require.Len(t, first, 3)
	var want []string
	for _, r := range st.OutgoingRepairs { // state lists by due time
		want = append(want, r.Entry.MessageID)
	}
	require.Equal(t, want[:3], et.IDsOf(first))
	for _, e := range first {
		require.Equal(t, "alice", e.SenderID)
	}
	second := et.Decode(t, bob.MustWrap("b2", "c")).RepairRequest
	require.Equal(t, want[3:], et.IDsOf(second))
	require.Empty(t, et.Decode(t, bob.MustWrap("b3", "c")).RepairRequest)
	require.Empty(t, bob.MustState("c").OutgoingRepairs)
}

func TestIncomingRequestScheduledWhenEligible(t *testing.T) {
	alice, bob, carol := et.NewPeer(t, et.WithID("alice")), et.NewPeer(t, et.WithID("bob")), et.NewPeer(t, et.WithID("carol"))
	m1 := alice.MustWrap("m1", "c")
	carol.MustUnwrap(m1)
	bob.MustUnwrap(alice.MustWrap("m2", "c")) // bob misses m1
	bob.Clock.Advance(et.TMax)
	req := bob.MustWrap("b1", "c")
	require.Equal(t, []string{"m1"}, et.IDsOf(et.Decode(t, req).RepairRequest))

	carol.MustUnwrap(req)
	st := carol.MustState("c")
	require.Len(t, st.IncomingRepairs, 1)
	r := st.IncomingRepairs[0]
	require.Equal(t, "m1", r.Entry.MessageID)
	require.Equal(t, et.Epoch.Add(repair.TResp("carol", "alice", "m1", et.TMax)), r.Due)
	rebroadcast := et.Decode(t, r.Message)
	require.Equal(t, "m1", rebroadcast.MessageID)
	require.Equal(t, []byte("body of m1"), rebroadcast.Content)
	require.Empty(t, rebroadcast.BloomFilter, "repairs carry no filter")

	// the original sender answers at once (T_resp = 0)
	alice.MustUnwrap(req)
	st = alice.MustState("c")
	require.Len(t, st.IncomingRepairs, 1)
	require.Equal(t, alice.Clock.Now(), st.IncomingRepairs[0].Due)
}

func TestIncomingRequestNotEligible(t *testing.T) {
	alice := et.NewPeer(t, et.WithID("alice"))
	m1 := alice.MustWrap("m1", "c")
	cases := map[string]struct {
		responder *et.Peer
		req       wire.HistoryEntry
	}{
		"empty sender id":      {et.NewPeer(t, et.WithID("carol")), wire.HistoryEntry{MessageID: "m1"}},
		"not delivered here":   {et.NewPeer(t, et.WithID("carol")), wire.HistoryEntry{MessageID: "zzz", SenderID: "alice"}},
		"no participant id":    {et.NewPeer(t), wire.HistoryEntry{MessageID: "m1", SenderID: "alice"}},
		"not in the group (4)": {nil, wire.HistoryEntry{MessageID: "m1", SenderID: "alice"}},
	}
	// find a participant outside alice's response group for m1 with 4 groups
	for i := 0; ; i++ {
		id := fmt.Sprintf("p%d", i)
		if !repair.InResponseGroup(id, "alice", "m1", 4) {
			c := cases["not in the group (4)"]
			c.responder = et.NewPeer(t, et.WithID(id), et.WithConfig(func(c *engine.Config) { c.NumResponseGroups = 4 }))
			cases["not in the group (4)"] = c
			break
		}
	}
	for name, c := range cases {
		c.responder.MustUnwrap(m1)
		asker := wire.Message{MessageID: "ask-" + name, Lamport: 1, ChannelID: "c", Content: []byte{1},
			RepairRequest: []wire.HistoryEntry{c.req}}
		c.responder.MustUnwrap(asker.Marshal())
		require.Empty(t, c.responder.MustState("c").IncomingRepairs, name)
	}
}

func TestCompetingRequestCancelsOwnRequest(t *testing.T) {
	alice, bob, dave := et.NewPeer(t, et.WithID("alice")), et.NewPeer(t, et.WithID("bob")), et.NewPeer(t, et.WithID("dave"))
	alice.MustWrap("m1", "c")
	m2 := alice.MustWrap("m2", "c")
	bob.MustUnwrap(m2)
	dave.MustUnwrap(m2)
	require.Len(t, dave.MustState("c").OutgoingRepairs, 1)
	bob.Clock.Advance(et.TMax)
	dave.MustUnwrap(bob.MustWrap("b1", "c")) // bob asks for m1 first
	require.Empty(t, dave.MustState("c").OutgoingRepairs, "someone else asked: dave need not")
}

func TestDuplicateArrivalCancelsPendingResponse(t *testing.T) {
	alice, bob, carol := et.NewPeer(t, et.WithID("alice")), et.NewPeer(t, et.WithID("bob")), et.NewPeer(t, et.WithID("carol"))
	m1 := alice.MustWrap("m1", "c")
	carol.MustUnwrap(m1)
	bob.MustUnwrap(alice.MustWrap("m2", "c"))
	bob.Clock.Advance(et.TMax)
	carol.MustUnwrap(bob.MustWrap("b1", "c"))
	require.Len(t, carol.MustState("c").IncomingRepairs, 1)
	carol.MustUnwrap(m1) // someone rebroadcast m1 first: a duplicate, but it cancels
	require.Empty(t, carol.MustState("c").IncomingRepairs)
}

func TestRepairSweep(t *testing.T) {
	alice, bob, carol := et.NewPeer(t, et.WithID("alice")), et.NewPeer(t, et.WithID("bob")), et.NewPeer(t, et.WithID("carol"))
	require.NoError(t, carol.SweepRepairs(), "no-op on empty buffers")
	m1 := alice.MustWrap("m1", "c")
	carol.MustUnwrap(m1)
	bob.MustUnwrap(alice.MustWrap("m2", "c"))
	bob.Clock.Advance(et.TMax)
	carol.MustUnwrap(bob.MustWrap("b1", "c"))
	carol.Events.Take()
	due := carol.MustState("c").IncomingRepairs[0].Due
	carol.Clock.Set(due.Add(-time.Millisecond))
	require.NoError(t, carol.SweepRepairs())
	require.Empty(t, carol.Events.Take())
	carol.Clock.Set(due)
	require.NoError(t, carol.SweepRepairs())
	evs := carol.Events.Take()
	require.Len(t, evs, 1)
	require.Equal(t, engine.RepairReady, evs[0].Kind)
	require.Equal(t, "c", evs[0].ChannelID)
	rebroadcast := et.Decode(t, evs[0].Message)
	require.Equal(t, "m1", rebroadcast.MessageID)
	require.Empty(t, rebroadcast.BloomFilter, "a rebroadcast omits the stored message's filter")
	require.Empty(t, rebroadcast.RepairRequest, "and its stale repair requests")
	require.Empty(t, carol.MustState("c").IncomingRepairs)
	late := et.NewPeer(t)
	late.MustUnwrap(evs[0].Message)
	require.Equal(t, []string{"message_ready:m1@c"}, et.Summary(late.Events.Take()), "accepted without a filter")

	// outgoing requests expire T_max after their time
	dave := et.NewPeer(t, et.WithID("dave"))
	dave.MustUnwrap(alice.MustWrap("m3", "c"))
	reqDue := dave.MustState("c").OutgoingRepairs[0].Due
	dave.Clock.Set(reqDue.Add(et.TMax))
	require.NoError(t, dave.SweepRepairs())
	require.Len(t, dave.MustState("c").OutgoingRepairs, 2, "exactly T_max late is kept")
	dave.Clock.Set(reqDue.Add(et.TMax + time.Millisecond))
	require.NoError(t, dave.SweepRepairs())
	st := dave.MustState("c")
	require.Len(t, st.OutgoingRepairs, 1)
	require.NotEqual(t, st.OutgoingRepairs[0].Due, reqDue)
}

func TestSDSRStatePerChannelAndClearedByReset(t *testing.T) {
	alice, bob := et.NewPeer(t, et.WithID("alice")), et.NewPeer(t, et.WithID("bob"))
	alice.MustWrap("m1", "x")
	bob.MustUnwrap(alice.MustWrap("m2", "x"))
	alice.MustWrap("n1", "y")
	bob.MustUnwrap(alice.MustWrap("n2", "y"))
	require.Equal(t, "m1", bob.MustState("x").OutgoingRepairs[0].Entry.MessageID)
	require.Equal(t, "n1", bob.MustState("y").OutgoingRepairs[0].Entry.MessageID)
	require.NoError(t, bob.Reset())
	require.Empty(t, bob.Channels())
}

// TestSingleGapRepairedByRebroadcast is the multi-participant scenario: Bob
// misses Alice's message, learns of it from Carol's, asks, and gets it back
// from a rebroadcast — one rebroadcast only, since the first cancels the rest.
func TestSingleGapRepairedByRebroadcast(t *testing.T) {
	clk := clock.NewFake(et.Epoch)
	alice := et.NewPeer(t, et.WithID("alice"), et.WithClock(clk))
	bob := et.NewPeer(t, et.WithID("bob"), et.WithClock(clk))
	carol := et.NewPeer(t, et.WithID("carol"), et.WithClock(clk))
	dave := et.NewPeer(t, et.WithID("dave"), et.WithClock(clk))
	m1 := alice.MustWrap("m1", "c")
	for _, p := range []*et.Peer{carol, dave} {
		p.MustUnwrap(m1)
	}
	c1 := carol.MustWrap("c1", "c")
	for _, p := range []*et.Peer{alice, bob, dave} {
		p.MustUnwrap(c1)
	}
	require.Equal(t, []string{"missing_dependencies:c1[m1]@c"}, et.Summary(bob.Events.Take()))
	clk.Advance(et.TMax) // bob's T_req has passed
	req := bob.MustWrap("b1", "c")
	require.Equal(t, []string{"m1"}, et.IDsOf(et.Decode(t, req).RepairRequest))
	for _, p := range []*et.Peer{alice, carol, dave} {
		p.MustUnwrap(req)
		require.Len(t, p.MustState("c").IncomingRepairs, 1, p.ParticipantID())
	}
	// alice (the sender) is due first; her rebroadcast reaches everyone
	require.NoError(t, alice.SweepRepairs())
	evs := alice.Events.Take()
	var repaired []byte
	for _, e := range evs {
		if e.Kind == engine.RepairReady {
			repaired = e.Message
		}
	}
	require.NotNil(t, repaired)
	for _, p := range []*et.Peer{bob, carol, dave} {
		p.Events.Take()
		p.MustUnwrap(repaired)
	}
	require.Equal(t, []string{"message_ready:c1@c", "message_ready:m1@c"}, et.Summary(bob.Events.Take()),
		"the released message first, then the one that released it")
	for _, p := range []*et.Peer{carol, dave} {
		require.Empty(t, p.MustState("c").IncomingRepairs, "the rebroadcast cancelled %s's response", p.ParticipantID())
		clk.Advance(et.TMax)
		require.NoError(t, p.SweepRepairs())
		for _, e := range p.Events.Take() {
			require.NotEqual(t, engine.RepairReady, e.Kind)
		}
	}
}

func TestResponseGroupFiltering(t *testing.T) {
	groups := func(c *engine.Config) { c.NumResponseGroups = 2 }
	clk := clock.NewFake(et.Epoch)
	alice := et.NewPeer(t, et.WithID("alice"), et.WithClock(clk), et.WithConfig(groups))
	m1 := alice.MustWrap("m1", "c")
	asker := wire.Message{MessageID: "ask", Lamport: 1, ChannelID: "c", Content: []byte{1},
		RepairRequest: []wire.HistoryEntry{{MessageID: "m1", SenderID: "alice"}}}
	in, out := 0, 0
	for i := 0; i < 40; i++ {
		id := fmt.Sprintf("p%d", i)
		p := et.NewPeer(t, et.WithID(id), et.WithClock(clk), et.WithConfig(groups))
		p.MustUnwrap(m1)
		p.MustUnwrap(asker.Marshal())
		answers := len(p.MustState("c").IncomingRepairs) == 1
		require.Equal(t, repair.InResponseGroup(id, "alice", "m1", 2), answers, id)
		if answers {
			in++
		} else {
			out++
		}
	}
	require.Positive(t, in)
	require.Positive(t, out)
}

func TestManyGapsSplitAcrossRequests(t *testing.T) {
	clk := clock.NewFake(et.Epoch)
	alice := et.NewPeer(t, et.WithID("alice"), et.WithClock(clk))
	bob := et.NewPeer(t, et.WithID("bob"), et.WithClock(clk))
	carol := et.NewPeer(t, et.WithID("carol"), et.WithClock(clk))
	var all [][]byte
	for _, id := range et.Numbered("g", 8) {
		all = append(all, alice.MustWrap(id, "c"))
	}
	last := alice.MustWrap("last", "c")
	for _, w := range all {
		carol.MustUnwrap(w)
	}
	bob.MustUnwrap(last) // bob misses the 8 cited ones (causal history is 8 long here)
	clk.Advance(et.TMax)
	var asked []string
	for i := 0; i < 4; i++ {
		req := bob.MustWrap(fmt.Sprintf("b%d", i), "c")
		reqs := et.IDsOf(et.Decode(t, req).RepairRequest)
		require.LessOrEqual(t, len(reqs), 3)
		asked = append(asked, reqs...)
		carol.MustUnwrap(req)
	}
	require.ElementsMatch(t, et.Numbered("g", 8), asked)
	clk.Advance(et.TMax)
	carol.Events.Take()
	require.NoError(t, carol.SweepRepairs())
	n := 0
	for _, e := range carol.Events.Take() {
		if e.Kind == engine.RepairReady {
			bob.MustUnwrap(e.Message)
			n++
		}
	}
	require.Equal(t, 8, n)
	require.Equal(t, et.Sorted(append(et.Numbered("g", 8), "b0", "b1", "b2", "b3", "last")), et.Sorted(bob.MustState("c").Log))
}

func TestRequestsAreSentOnceUnlessRerequestEnabled(t *testing.T) {
	for _, rerequest := range []bool{false, true} {
		alice := et.NewPeer(t, et.WithID("alice"))
		bob := et.NewPeer(t, et.WithID("bob"), et.WithConfig(func(c *engine.Config) { c.RerequestRepairs = rerequest }))
		alice.MustWrap("m1", "c")
		bob.MustUnwrap(alice.MustWrap("m2", "c"))
		bob.Clock.Advance(et.TMax)
		require.Equal(t, []string{"m1"}, et.IDsOf(et.Decode(t, bob.MustWrap("b1", "c")).RepairRequest))
		require.NoError(t, bob.SweepRepairs())
		st := bob.MustState("c")
		if !rerequest {
			require.Empty(t, st.OutgoingRepairs, "nim-sds asks once")
			continue
		}
		require.Len(t, st.OutgoingRepairs, 1, "m2 still waits for m1: ask again")
		require.Equal(t, "alice", st.OutgoingRepairs[0].Entry.SenderID)
		require.Equal(t, bob.Clock.Now().Add(repair.TReq("bob", "m1", tMin, et.TMax)), st.OutgoingRepairs[0].Due)
		// once m1 arrives nothing is asked again
		require.NoError(t, bob.MarkDependenciesMet([]string{"m1"}, "c"))
		require.NoError(t, bob.SweepRepairs())
		require.Empty(t, bob.MustState("c").OutgoingRepairs)
	}
}

func TestRebroadcastCarriesNoStaleRepairRequests(t *testing.T) {
	alice, bob, carol := et.NewPeer(t, et.WithID("alice")), et.NewPeer(t, et.WithID("bob")), et.NewPeer(t, et.WithID("carol"))
	alice.MustWrap("m1", "c")
	bob.MustUnwrap(alice.MustWrap("m2", "c")) // bob misses m1
	bob.Clock.Advance(et.TMax)
	b1 := bob.MustWrap("b1", "c") // carries a request for m1
	require.Equal(t, []string{"m1"}, et.IDsOf(et.Decode(t, b1).RepairRequest))
	carol.MustUnwrap(alice.MustWrap("m0", "c")) // unrelated: carol must hold b1 to answer for it
	carol.MustUnwrap(b1)
	// dave asks carol for b1; carol's rebroadcast of b1 must not repeat b1's request for m1
	ask := wire.Message{MessageID: "ask", Lamport: 1, ChannelID: "c", Content: []byte{1},
		RepairRequest: []wire.HistoryEntry{et.Entry("b1", "bob")}}
	carol.MustUnwrap(ask.Marshal())
	carol.Clock.Advance(et.TMax)
	carol.Events.Take()
	require.NoError(t, carol.SweepRepairs())
	var found bool
	for _, e := range carol.Events.Take() {
		if e.Kind == engine.RepairReady {
			found = true
			rebroadcast := et.Decode(t, e.Message)
			require.Equal(t, "b1", rebroadcast.MessageID)
			require.Empty(t, rebroadcast.RepairRequest, "the original's request for m1 is stale")
			require.Empty(t, rebroadcast.BloomFilter)
		}
	}
	require.True(t, found)
}

func TestNoRepairRequestForAMessageHeldInTheDependencyBuffer(t *testing.T) {
	alice, bob := et.NewPeer(t, et.WithID("alice")), et.NewPeer(t, et.WithID("bob"))
	alice.MustWrap("m1", "c")
	m2 := alice.MustWrap("m2", "c")
	m3 := alice.MustWrap("m3", "c")
	bob.MustUnwrap(m2) // waits for m1: asks for m1
	bob.MustUnwrap(m3) // waits for m1 and m2; m2 is here, waiting: ask only for m1
	var asked []string
	for _, r := range bob.MustState("c").OutgoingRepairs {
		asked = append(asked, r.Entry.MessageID)
	}
	require.Equal(t, []string{"m1"}, asked)
}

// TestRepeatedRequestPostponesResponseUnlessRerequestEnabled: nim-sds
// reschedules a pending response at every request for the message; with
// RerequestRepairs, whose requesters ask again every T_req, that would postpone
// the response for good, so the first schedule is kept.
func TestRepeatedRequestPostponesResponseUnlessRerequestEnabled(t *testing.T) {
	for _, rerequest := range []bool{false, true} {
		alice, bob := et.NewPeer(t, et.WithID("alice")), et.NewPeer(t, et.WithID("bob"))
		carol := et.NewPeer(t, et.WithID("carol"), et.WithConfig(func(c *engine.Config) { c.RerequestRepairs = rerequest }))
		carol.MustUnwrap(alice.MustWrap("m1", "c"))
		bob.MustUnwrap(alice.MustWrap("m2", "c")) // bob misses m1
		first := carol.Clock.Now().Add(repair.TResp("carol", "alice", "m1", et.TMax))
		carol.MustUnwrap(et.RequestFor(t, bob, "m1", "alice"))
		require.Equal(t, first, carol.MustState("c").IncomingRepairs[0].Due)
		carol.Clock.Advance(time.Second)
		again := et.Decode(t, bob.MustWrap("b-again", "c")) // asked again before T_resp
		again.RepairRequest = []wire.HistoryEntry{et.Entry("m1", "alice")}
		carol.MustUnwrap(again.Marshal())
		due := carol.MustState("c").IncomingRepairs[0].Due
		if rerequest {
			require.Equal(t, first, due, "the first schedule stands")
		} else {
			require.Equal(t, first.Add(time.Second), due, "nim-sds reschedules")
		}
	}
}
