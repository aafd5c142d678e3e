package engine_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// Mixed wire generations on the seeded lossy, duplicating, reordering network
// of sim_test.go. nim-sds peers are modelled by their readers (peerKind.read):
// a 0.3 peer refuses 0.4 messages with causal history, a 0.4 peer takes 0.3
// history entries for ids. This library's peers read both.

// TestUpgradePathConverges runs each stage of the documented upgrade path
// ("read both, write 0.3; then flip writers to 0.4") as a group: in every
// stage each participant delivers every message of the others exactly once,
// in causal order, refuses nothing and reports no dependency that was never
// sent.
func TestUpgradePathConverges(t *testing.T) {
	for _, stage := range []struct {
		name  string
		kinds []peerKind
	}{
		{"1 nim-sds 0.3 and ours writing 0.3", []peerKind{nim03, ours03, nim03, ours03, ours03}},
		{"2 ours, writers flipping to 0.4", []peerKind{ours03, ours04, ours03, ours04, ours04}},
		{"3 ours writing 0.4 and nim-sds 0.4", []peerKind{nim04, ours04, nim04, ours04, ours04}},
	} {
		for seed := uint64(1); seed <= 2; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", stage.name, seed), func(t *testing.T) {
				n := runSim(t, simParams{participants: len(stage.kinds), lossyRounds: 25, loss: 0.2, dup: 0.1,
					maxDelay: 3, seed: seed, kinds: stage.kinds})
				t.Logf("rounds %d, messages %d, repairs rebroadcast %d", n.round, len(n.sentBy), n.repairs)
				require.Positive(t, n.repairs, "the lossy phase must have needed SDS-R")
				require.Zero(t, n.givenUp)
				for i := range n.peers {
					require.True(t, n.readsAll[i])
					requireDelivered(t, n, i, true)
					require.Zero(t, n.rejected[i], "p%d (%s) refused a message", i, n.kinds[i].name)
					require.Zero(t, n.bogus[i], "p%d (%s) waits for an id no one sent", i, n.kinds[i].name)
				}
			})
		}
	}
}

// TestUpgradeInPlaceConverges runs the whole upgrade path on one lossy network
// without a pause: nim-sds 0.3 peers are replaced by this library writing 0.3
// two at a time, then writers flip to 0.4 two at a time, then one peer moves to
// nim-sds 0.4 — each step once the previous generation's packets are gone.
// Every message is delivered exactly once everywhere, in causal order, with
// nothing refused and no bogus dependency. The loss is 10%: with the restarts'
// backlogs, 20% can strand a message no delivered message cites any more (SDS
// finds a gap only through causal histories, whatever the wire generation;
// seed 2 does so).
func TestUpgradeInPlaceConverges(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			n := newSimNet(t, simParams{participants: 4, loss: 0.1, dup: 0.1, maxDelay: 3, seed: seed,
				kinds: []peerKind{nim03, nim03, nim03, nim03}})
			steps := map[int]func(){
				8:  func() { n.replace(0, ours03); n.replace(1, ours03) },
				16: func() { n.replace(2, ours03); n.replace(3, ours03) },
				24: func() { n.replace(0, ours04); n.replace(1, ours04) },
				32: func() { n.replace(2, ours04); n.replace(3, ours04) },
				// 0.3 packets are at most maxDelay rounds late: all gone by now
				40: func() { n.replace(3, nim04) },
			}
			n.lossy = true
			for r := 1; r <= 48; r++ {
				if step := steps[r]; step != nil {
					step()
				}
				n.step(true)
			}
			n.lossy = false
			for r := 0; !n.converged(); r++ {
				require.Less(t, r, 500, "no convergence after 500 lossless rounds")
				n.step(true)
			}
			n.step(true)
			t.Logf("rounds %d, messages %d, repairs rebroadcast %d", n.round, len(n.sentBy), n.repairs)
			require.Positive(t, n.repairs)
			require.Zero(t, n.givenUp)
			for i := range n.peers {
				requireDelivered(t, n, i, true)
				require.Zero(t, n.rejected[i], "p%d (%s) refused a message", i, n.kinds[i].name)
				require.Zero(t, n.bogus[i], "p%d (%s) waits for an id no one sent", i, n.kinds[i].name)
			}
		})
	}
}

// TestMixedGenerationsOurPeersConverge puts every kind in one group — the
// flag day the upgrade path avoids. This library's peers, in either write
// mode, still deliver every message exactly once in causal order and never
// wait for a bogus id; the nim-sds models show the breakage (0.3 refuses 0.4
// messages, 0.4 waits for bogus ids) yet never deliver a message twice or
// out of causal order.
func TestMixedGenerationsOurPeersConverge(t *testing.T) {
	kinds := []peerKind{nim03, ours03, nim04, ours04, ours03, ours04}
	for seed := uint64(1); seed <= 2; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			n := runSim(t, simParams{participants: len(kinds), lossyRounds: 25, loss: 0.2, dup: 0.1,
				maxDelay: 3, seed: seed, kinds: kinds})
			t.Logf("rounds %d, messages %d, repairs %d, refused %v, bogus deps %v",
				n.round, len(n.sentBy), n.repairs, n.rejected, n.bogus)
			for i, k := range n.kinds {
				ours := k.read == nil
				require.Equal(t, ours, n.readsAll[i])
				requireDelivered(t, n, i, ours)
				if ours {
					require.Zero(t, n.rejected[i])
					require.Zero(t, n.bogus[i], "p%d (%s) waits for an id no one sent", i, k.name)
				}
			}
			require.Positive(t, n.rejected[0], "nim-sds 0.3 refuses 0.4 messages")
			require.Positive(t, n.bogus[2], "nim-sds 0.4 waits for 0.3 entries taken for ids")
		})
	}
}

// requireDelivered checks participant i's deliveries: at most once each, and
// in causal order; with all, every message of the others but the final
// round's exactly once and nothing left waiting.
func requireDelivered(t *testing.T, n *simNet, i int, all bool) {
	t.Helper()
	for id, from := range n.sentBy {
		if from == i {
			continue
		}
		got := n.ready[i][id]
		require.LessOrEqual(t, got, 1, "p%d delivered %s twice", i, id)
		if all && !n.lastRound[id] {
			require.Equal(t, 1, got, "p%d (%s) delivered %s", i, n.kinds[i].name, id)
		}
	}
	st, ok, err := n.peers[i].ChannelState("chat")
	require.NoError(t, err)
	require.True(t, ok)
	if all {
		require.Empty(t, st.Incoming, "p%d still waits", i)
	}
	pos := map[string]int{}
	for k, id := range st.Log {
		pos[id] = k
	}
	for k, id := range st.Log {
		for _, dep := range n.deps[id] {
			at, ok := pos[dep] // the simulation's log never evicts
			require.True(t, ok, "p%d: %s cites %s, which is not in the log", i, id, dep)
			require.Less(t, at, k, "p%d: %s logged before its dependency %s", i, id, dep)
		}
	}
}
