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
