package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/repair"
	"github.com/logos-messaging/libsds-go/core/wire"
)

var (
	tMin = engine.DefaultConfig().RepairTMin
	tMax = engine.DefaultConfig().RepairTMax
)

func TestMissingDepsEnterOutgoingRepairBuffer(t *testing.T) {
	alice, bob := newPeer(t, withID("alice")), newPeer(t, withID("bob"))
	m1 := alice.wrap("m1", "c")
	m2 := alice.wrap("m2", "c")
	bob.unwrap(m2)
	st := bob.state("c")
	require.Len(t, st.OutgoingRepairs, 1)
	r := st.OutgoingRepairs[0]
	require.Equal(t, "m1", r.Entry.MessageID)
	require.Equal(t, "alice", r.Entry.SenderID, "the request names the original sender")
	require.Equal(t, epoch.Add(repair.TReq("bob", "m1", tMin, tMax)), r.Due)
	// receiving the message clears it
	bob.unwrap(m1)
	require.Empty(t, bob.state("c").OutgoingRepairs)
}

func TestEmptyParticipantDisablesRepair(t *testing.T) {
	alice, bob := newPeer(t, withID("alice")), newPeer(t)
	alice.wrap("m1", "c")
	bob.unwrap(alice.wrap("m2", "c"))
	require.Empty(t, bob.state("c").OutgoingRepairs)
	require.Empty(t, decode(t, bob.wrap("b", "c")).SenderID)
}

func TestMarkDependenciesMetClearsRepairBuffers(t *testing.T) {
	alice, bob := newPeer(t, withID("alice")), newPeer(t, withID("bob"))
	alice.wrap("m1", "c")
	bob.unwrap(alice.wrap("m2", "c"))
	require.Len(t, bob.state("c").OutgoingRepairs, 1)
	require.NoError(t, bob.MarkDependenciesMet([]string{"m1"}, "c"))
	require.Empty(t, bob.state("c").OutgoingRepairs)
}

func TestDueRequestsAttachedMostOverdueFirstAndCapped(t *testing.T) {
	alice, bob := newPeer(t, withID("alice")), newPeer(t, withID("bob"))
	for _, id := range nids("gap", 6) {
		alice.wrap(id, "c")
	}
	bob.unwrap(alice.wrap("last", "c"))
	st := bob.state("c")
	require.Len(t, st.OutgoingRepairs, 6)
	// nothing is due before T_min
	require.Empty(t, decode(t, bob.wrap("early", "c")).RepairRequest)
	bob.clk.Advance(tMax)
	first := decode(t, bob.wrap("b1", "c")).RepairRequest
	require.Len(t, first, 3)
	var want []string
	for _, r := range st.OutgoingRepairs { // state lists by due time
		want = append(want, r.Entry.MessageID)
	}
	require.Equal(t, want[:3], ids(first))
	for _, e := range first {
		require.Equal(t, "alice", e.SenderID)
	}
	second := decode(t, bob.wrap("b2", "c")).RepairRequest
	require.Equal(t, want[3:], ids(second))
	require.Empty(t, decode(t, bob.wrap("b3", "c")).RepairRequest)
	require.Empty(t, bob.state("c").OutgoingRepairs)
}

func TestIncomingRequestScheduledWhenEligible(t *testing.T) {
	alice, bob, carol := newPeer(t, withID("alice")), newPeer(t, withID("bob")), newPeer(t, withID("carol"))
	m1 := alice.wrap("m1", "c")
	carol.unwrap(m1)
	bob.unwrap(alice.wrap("m2", "c")) // bob misses m1
	bob.clk.Advance(tMax)
	req := bob.wrap("b1", "c")
	require.Equal(t, []string{"m1"}, ids(decode(t, req).RepairRequest))

	carol.unwrap(req)
	st := carol.state("c")
	require.Len(t, st.IncomingRepairs, 1)
	r := st.IncomingRepairs[0]
	require.Equal(t, "m1", r.Entry.MessageID)
	require.Equal(t, epoch.Add(repair.TResp("carol", "alice", "m1", tMax)), r.Due)
	rebroadcast := decode(t, r.Message)
	require.Equal(t, "m1", rebroadcast.MessageID)
	require.Equal(t, []byte("body of m1"), rebroadcast.Content)
	require.Empty(t, rebroadcast.BloomFilter, "repairs carry no filter")

	// the original sender answers at once (T_resp = 0)
	alice.unwrap(req)
	st = alice.state("c")
	require.Len(t, st.IncomingRepairs, 1)
	require.Equal(t, alice.clk.Now(), st.IncomingRepairs[0].Due)
}

func TestIncomingRequestNotEligible(t *testing.T) {
	alice := newPeer(t, withID("alice"))
	m1 := alice.wrap("m1", "c")
	cases := map[string]struct {
		responder *peer
		req       wire.HistoryEntry
	}{
		"empty sender id":      {newPeer(t, withID("carol")), wire.HistoryEntry{MessageID: "m1"}},
		"not delivered here":   {newPeer(t, withID("carol")), wire.HistoryEntry{MessageID: "zzz", SenderID: "alice"}},
		"no participant id":    {newPeer(t), wire.HistoryEntry{MessageID: "m1", SenderID: "alice"}},
		"not in the group (4)": {nil, wire.HistoryEntry{MessageID: "m1", SenderID: "alice"}},
	}
	// find a participant outside alice's response group for m1 with 4 groups
	for i := 0; ; i++ {
		id := fmt.Sprintf("p%d", i)
		if !repair.InResponseGroup(id, "alice", "m1", 4) {
			c := cases["not in the group (4)"]
			c.responder = newPeer(t, withID(id), withConfig(func(c *engine.Config) { c.NumResponseGroups = 4 }))
			cases["not in the group (4)"] = c
			break
		}
	}
	for name, c := range cases {
		c.responder.unwrap(m1)
		asker := wire.Message{MessageID: "ask-" + name, Lamport: 1, ChannelID: "c", Content: []byte{1},
			RepairRequest: []wire.HistoryEntry{c.req}}
		c.responder.unwrap(asker.Marshal())
		require.Empty(t, c.responder.state("c").IncomingRepairs, name)
	}
}

func TestCompetingRequestCancelsOwnRequest(t *testing.T) {
	alice, bob, dave := newPeer(t, withID("alice")), newPeer(t, withID("bob")), newPeer(t, withID("dave"))
	alice.wrap("m1", "c")
	m2 := alice.wrap("m2", "c")
	bob.unwrap(m2)
	dave.unwrap(m2)
	require.Len(t, dave.state("c").OutgoingRepairs, 1)
	bob.clk.Advance(tMax)
	dave.unwrap(bob.wrap("b1", "c")) // bob asks for m1 first
	require.Empty(t, dave.state("c").OutgoingRepairs, "someone else asked: dave need not")
}

func TestDuplicateArrivalCancelsPendingResponse(t *testing.T) {
	alice, bob, carol := newPeer(t, withID("alice")), newPeer(t, withID("bob")), newPeer(t, withID("carol"))
	m1 := alice.wrap("m1", "c")
	carol.unwrap(m1)
	bob.unwrap(alice.wrap("m2", "c"))
	bob.clk.Advance(tMax)
	carol.unwrap(bob.wrap("b1", "c"))
	require.Len(t, carol.state("c").IncomingRepairs, 1)
	carol.unwrap(m1) // someone rebroadcast m1 first: a duplicate, but it cancels
	require.Empty(t, carol.state("c").IncomingRepairs)
}

func TestRepairSweep(t *testing.T) {
	alice, bob, carol := newPeer(t, withID("alice")), newPeer(t, withID("bob")), newPeer(t, withID("carol"))
	require.NoError(t, carol.SweepRepairs(), "no-op on empty buffers")
	m1 := alice.wrap("m1", "c")
	carol.unwrap(m1)
	bob.unwrap(alice.wrap("m2", "c"))
	bob.clk.Advance(tMax)
	carol.unwrap(bob.wrap("b1", "c"))
	carol.ev.take()
	due := carol.state("c").IncomingRepairs[0].Due
	carol.clk.Set(due.Add(-time.Millisecond))
	require.NoError(t, carol.SweepRepairs())
	require.Empty(t, carol.ev.take())
	carol.clk.Set(due)
	require.NoError(t, carol.SweepRepairs())
	evs := carol.ev.take()
	require.Len(t, evs, 1)
	require.Equal(t, engine.RepairReady, evs[0].Kind)
	require.Equal(t, "c", evs[0].ChannelID)
	require.Equal(t, "m1", decode(t, evs[0].Message).MessageID)
	require.Empty(t, carol.state("c").IncomingRepairs)

	// outgoing requests expire T_max after their time
	dave := newPeer(t, withID("dave"))
	dave.unwrap(alice.wrap("m3", "c"))
	reqDue := dave.state("c").OutgoingRepairs[0].Due
	dave.clk.Set(reqDue.Add(tMax))
	require.NoError(t, dave.SweepRepairs())
	require.Len(t, dave.state("c").OutgoingRepairs, 2, "exactly T_max late is kept")
	dave.clk.Set(reqDue.Add(tMax + time.Millisecond))
	require.NoError(t, dave.SweepRepairs())
	st := dave.state("c")
	require.Len(t, st.OutgoingRepairs, 1)
	require.NotEqual(t, st.OutgoingRepairs[0].Due, reqDue)
}

func TestSDSRStatePerChannelAndClearedByReset(t *testing.T) {
	alice, bob := newPeer(t, withID("alice")), newPeer(t, withID("bob"))
	alice.wrap("m1", "x")
	bob.unwrap(alice.wrap("m2", "x"))
	alice.wrap("n1", "y")
	bob.unwrap(alice.wrap("n2", "y"))
	require.Equal(t, "m1", bob.state("x").OutgoingRepairs[0].Entry.MessageID)
	require.Equal(t, "n1", bob.state("y").OutgoingRepairs[0].Entry.MessageID)
	require.NoError(t, bob.Reset())
	require.Empty(t, bob.Channels())
}

// TestSingleGapRepairedByRebroadcast is the multi-participant scenario: Bob
// misses Alice's message, learns of it from Carol's, asks, and gets it back
// from a rebroadcast — one rebroadcast only, since the first cancels the rest.
func TestSingleGapRepairedByRebroadcast(t *testing.T) {
	clk := newFakeClock()
	alice := newPeer(t, withID("alice"), withClock(clk))
	bob := newPeer(t, withID("bob"), withClock(clk))
	carol := newPeer(t, withID("carol"), withClock(clk))
	dave := newPeer(t, withID("dave"), withClock(clk))
	m1 := alice.wrap("m1", "c")
	for _, p := range []*peer{carol, dave} {
		p.unwrap(m1)
	}
	c1 := carol.wrap("c1", "c")
	for _, p := range []*peer{alice, bob, dave} {
		p.unwrap(c1)
	}
	require.Equal(t, []string{"missing_dependencies:c1[m1]@c"}, summary(bob.ev.take()))
	clk.Advance(tMax) // bob's T_req has passed
	req := bob.wrap("b1", "c")
	require.Equal(t, []string{"m1"}, ids(decode(t, req).RepairRequest))
	for _, p := range []*peer{alice, carol, dave} {
		p.unwrap(req)
		require.Len(t, p.state("c").IncomingRepairs, 1, p.ParticipantID())
	}
	// alice (the sender) is due first; her rebroadcast reaches everyone
	require.NoError(t, alice.SweepRepairs())
	evs := alice.ev.take()
	var repaired []byte
	for _, e := range evs {
		if e.Kind == engine.RepairReady {
			repaired = e.Message
		}
	}
	require.NotNil(t, repaired)
	for _, p := range []*peer{bob, carol, dave} {
		p.ev.take()
		p.unwrap(repaired)
	}
	require.Equal(t, []string{"message_ready:c1@c", "message_ready:m1@c"}, summary(bob.ev.take()),
		"the released message first, then the one that released it")
	for _, p := range []*peer{carol, dave} {
		require.Empty(t, p.state("c").IncomingRepairs, "the rebroadcast cancelled %s's response", p.ParticipantID())
		clk.Advance(tMax)
		require.NoError(t, p.SweepRepairs())
		for _, e := range p.ev.take() {
			require.NotEqual(t, engine.RepairReady, e.Kind)
		}
	}
}

func TestResponseGroupFiltering(t *testing.T) {
	groups := func(c *engine.Config) { c.NumResponseGroups = 2 }
	clk := newFakeClock()
	alice := newPeer(t, withID("alice"), withClock(clk), withConfig(groups))
	m1 := alice.wrap("m1", "c")
	asker := wire.Message{MessageID: "ask", Lamport: 1, ChannelID: "c", Content: []byte{1},
		RepairRequest: []wire.HistoryEntry{{MessageID: "m1", SenderID: "alice"}}}
	in, out := 0, 0
	for i := 0; i < 40; i++ {
		id := fmt.Sprintf("p%d", i)
		p := newPeer(t, withID(id), withClock(clk), withConfig(groups))
		p.unwrap(m1)
		p.unwrap(asker.Marshal())
		answers := len(p.state("c").IncomingRepairs) == 1
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
	clk := newFakeClock()
	alice := newPeer(t, withID("alice"), withClock(clk))
	bob := newPeer(t, withID("bob"), withClock(clk))
	carol := newPeer(t, withID("carol"), withClock(clk))
	var all [][]byte
	for _, id := range nids("g", 8) {
		all = append(all, alice.wrap(id, "c"))
	}
	last := alice.wrap("last", "c")
	for _, w := range all {
		carol.unwrap(w)
	}
	bob.unwrap(last) // bob misses the 8 cited ones (causal history is 8 long here)
	clk.Advance(tMax)
	var asked []string
	for i := 0; i < 4; i++ {
		req := bob.wrap(fmt.Sprintf("b%d", i), "c")
		reqs := ids(decode(t, req).RepairRequest)
		require.LessOrEqual(t, len(reqs), 3)
		asked = append(asked, reqs...)
		carol.unwrap(req)
	}
	require.ElementsMatch(t, nids("g", 8), asked)
	clk.Advance(tMax)
	carol.ev.take()
	require.NoError(t, carol.SweepRepairs())
	n := 0
	for _, e := range carol.ev.take() {
		if e.Kind == engine.RepairReady {
			bob.unwrap(e.Message)
			n++
		}
	}
	require.Equal(t, 8, n)
	require.Equal(t, sortedLog(append(nids("g", 8), "b0", "b1", "b2", "b3", "last")), sortedLog(bob.state("c").Log))
}

func TestRequestsAreSentOnceUnlessRerequestEnabled(t *testing.T) {
	for _, rerequest := range []bool{false, true} {
		alice := newPeer(t, withID("alice"))
		bob := newPeer(t, withID("bob"), withConfig(func(c *engine.Config) { c.RerequestRepairs = rerequest }))
		alice.wrap("m1", "c")
		bob.unwrap(alice.wrap("m2", "c"))
		bob.clk.Advance(tMax)
		require.Equal(t, []string{"m1"}, ids(decode(t, bob.wrap("b1", "c")).RepairRequest))
		require.NoError(t, bob.SweepRepairs())
		st := bob.state("c")
		if !rerequest {
			require.Empty(t, st.OutgoingRepairs, "nim-sds asks once")
			continue
		}
		require.Len(t, st.OutgoingRepairs, 1, "m2 still waits for m1: ask again")
		require.Equal(t, "alice", st.OutgoingRepairs[0].Entry.SenderID)
		require.Equal(t, bob.clk.Now().Add(repair.TReq("bob", "m1", tMin, tMax)), st.OutgoingRepairs[0].Due)
		// once m1 arrives nothing is asked again
		require.NoError(t, bob.MarkDependenciesMet([]string{"m1"}, "c"))
		require.NoError(t, bob.SweepRepairs())
		require.Empty(t, bob.state("c").OutgoingRepairs)
	}
}

func TestRebroadcastCarriesNoStaleRepairRequests(t *testing.T) {
	alice, bob, carol := newPeer(t, withID("alice")), newPeer(t, withID("bob")), newPeer(t, withID("carol"))
	alice.wrap("m1", "c")
	bob.unwrap(alice.wrap("m2", "c")) // bob misses m1
	bob.clk.Advance(tMax)
	b1 := bob.wrap("b1", "c") // carries a request for m1
	require.Equal(t, []string{"m1"}, ids(decode(t, b1).RepairRequest))
	carol.unwrap(alice.wrap("m0", "c")) // unrelated: carol must hold b1 to answer for it
	carol.unwrap(b1)
	// dave asks carol for b1; carol's rebroadcast of b1 must not repeat b1's request for m1
	ask := wire.Message{MessageID: "ask", Lamport: 1, ChannelID: "c", Content: []byte{1},
		RepairRequest: []wire.HistoryEntry{historyEntry("b1", "bob")}}
	carol.unwrap(ask.Marshal())
	carol.clk.Advance(tMax)
	carol.ev.take()
	require.NoError(t, carol.SweepRepairs())
	var found bool
	for _, e := range carol.ev.take() {
		if e.Kind == engine.RepairReady {
			found = true
			rebroadcast := decode(t, e.Message)
			require.Equal(t, "b1", rebroadcast.MessageID)
			require.Empty(t, rebroadcast.RepairRequest, "the original's request for m1 is stale")
			require.Empty(t, rebroadcast.BloomFilter)
		}
	}
	require.True(t, found)
}

func TestNoRepairRequestForAMessageHeldInTheDependencyBuffer(t *testing.T) {
	alice, bob := newPeer(t, withID("alice")), newPeer(t, withID("bob"))
	alice.wrap("m1", "c")
	m2 := alice.wrap("m2", "c")
	m3 := alice.wrap("m3", "c")
	bob.unwrap(m2) // waits for m1: asks for m1
	bob.unwrap(m3) // waits for m1 and m2; m2 is here, waiting: ask only for m1
	var asked []string
	for _, r := range bob.state("c").OutgoingRepairs {
		asked = append(asked, r.Entry.MessageID)
	}
	require.Equal(t, []string{"m1"}, asked)
}
