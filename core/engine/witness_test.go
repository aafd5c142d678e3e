package engine_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/bloom"
	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// Ack review skips outgoing entries by their witness bits; it must still
// acknowledge exactly the entries a full test of each one would, in buffer
// order, whether the buffer is small (witness bits tested one by one) or large
// (the witness index), while peers' filters grow, switch size and shrink.
func TestAckReviewMatchesFullTest(t *testing.T) {
	for _, n := range []int{20, 400} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(n), 7))
			alice := et.NewPeer(t, et.WithID("alice"))
			bob := et.NewPeer(t, et.WithID("bob"))
			// carol's filters have another size: witnesses must be reset for them.
			carol := et.NewPeer(t, et.WithID("carol"), et.WithConfig(func(c *engine.Config) { c.BloomCapacity = 500 }))
			var sent [][]byte
			wrap := func() {
				sent = append(sent, alice.MustWrap(fmt.Sprintf("a-%d", len(sent)), "c"))
			}
			for range n {
				wrap()
			}
			alice.Events.Take()
			acks := 0
			for round := range 30 {
				peer := bob
				if round%5 == 4 {
					peer = carol
				}
				for range rng.IntN(n/10 + 2) { // the peer receives a few of alice's messages
					peer.MustUnwrap(sent[rng.IntN(len(sent))])
				}
				if round%3 == 0 {
					for range rng.IntN(n/4 + 1) {
						wrap()
					}
					alice.Events.Take()
				}
				msg := peer.MustWrap(fmt.Sprintf("%s-%d", peer.Options.ParticipantID, round), "c")
				decoded := et.Decode(t, msg)
				remote, err := bloom.ParseRemote(decoded.BloomFilter)
				require.NoError(t, err)
				cited := map[string]bool{}
				for _, e := range decoded.CausalHistory {
					cited[e.MessageID] = true
				}
				var want []string
				for _, o := range alice.MustState("c").Outgoing {
					if cited[o.ID] || remote.Contains(o.ID) {
						want = append(want, "message_acknowledged:"+o.ID+"@c")
					}
				}
				alice.MustUnwrap(msg)
				var got []string
				for _, s := range et.Summary(alice.Events.Take()) {
					if strings.HasPrefix(s, "message_acknowledged:") {
						got = append(got, s)
					}
				}
				acks += len(got)
				require.Equal(t, want, got, "round %d", round)
			}
			require.Greater(t, acks, n/10, "the filters acknowledged messages")
		})
	}
}

// TestCitationsAcknowledgeAcrossSlotTables checks that citations acknowledge
// exactly the cited outgoing messages while the buffer grows through several
// sizes of the cited-id slot table and shrinks again, with ids short and long
// that share their first or last bytes (so their slots often coincide), and
// citations of ids that are not outgoing.
func TestCitationsAcknowledgeAcrossSlotTables(t *testing.T) {
	alice := et.NewPeer(t, et.WithID("alice"))
	ids := func(i int) []string {
		return []string{fmt.Sprint(i), fmt.Sprintf("m-%d", i), fmt.Sprintf("prefix-shared-%06d", i),
			fmt.Sprintf("%06d-suffix-shared", i)}
	}
	var outgoing []string
	for i := range 150 {
		for _, id := range ids(i) {
			alice.MustWrap(id, "c")
			outgoing = append(outgoing, id)
		}
	}
	alice.Events.Take()
	rng := rand.New(rand.NewPCG(3, 4))
	acked := map[string]bool{}
	for round := range 40 {
		var cite []wire.HistoryEntry
		var want []string
		for range 12 {
			id := outgoing[rng.IntN(len(outgoing))]
			if rng.IntN(3) == 0 {
				id = ids(1000 + rng.IntN(1000))[rng.IntN(4)] // never sent
			}
			cite = append(cite, wire.HistoryEntry{MessageID: id})
		}
		for _, id := range outgoing { // acknowledgements come in buffer order
			for _, e := range cite {
				if e.MessageID == id && !acked[id] {
					want = append(want, "message_acknowledged:"+id+"@c")
					acked[id] = true
					break
				}
			}
		}
		alice.MustUnwrap(hostile(fmt.Sprintf("bob-%d", round), cite, nil))
		var got []string
		for _, s := range et.Summary(alice.Events.Take()) {
			if strings.HasPrefix(s, "message_acknowledged:") {
				got = append(got, s)
			}
		}
		require.Equal(t, want, got, "round %d", round)
	}
	require.Greater(t, len(acked), 100)
}
