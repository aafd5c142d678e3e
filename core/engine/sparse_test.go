package engine_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/bloom"
	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
)

// A channel's filter is sparse while it backs few ids and dense beyond; every
// wrapped message carries the bytes a dense filter of the same ids serializes
// to, before and after the switch (and, with a small capacity, across the
// rollovers that switch back).
func TestWrapFilterAcrossRepresentationSwitch(t *testing.T) {
	for _, capacity := range []int{bloom.DefaultCapacity, 60} {
		t.Run(fmt.Sprint(capacity), func(t *testing.T) {
			cfg := et.WithConfig(func(c *engine.Config) { c.BloomCapacity = capacity; c.BloomErrorRate = 0.01 })
			alice := et.NewPeer(t, et.WithID("alice"), cfg)
			bob := et.NewPeer(t, et.WithID("bob"), cfg)
			params := bloom.NewParams(capacity, 0.01)
			added := 0 // ids alice's filter has taken
			for i := range 3*bloom.SparseMaxIDs + 20 {
				var ids []string
				if s, ok, err := alice.ChannelState("c"); err == nil && ok {
					ids = s.BloomIDs
				}
				if added > capacity*12/10 { // nim's rollover rebuilds at 120 % capacity
					params = bloom.NewParams(capacity*12/10, 0.01)
				}
				ref := bloom.NewFilter(params)
				for _, id := range ids {
					ref.Add(id)
				}
				out := alice.MustWrap(fmt.Sprintf("a-%d", i), "c")
				added++
				require.Equal(t, ref.Serialized(), et.Decode(t, out).BloomFilter, "wrap %d", i)
				if i%4 == 0 { // some ids reach the filter through unwrap
					alice.MustUnwrap(bob.MustWrap(fmt.Sprintf("b-%d", i), "c"))
					added++
				}
			}
		})
	}
}
