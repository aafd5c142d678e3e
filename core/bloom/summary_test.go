package bloom_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/bloom"
	"github.com/logos-messaging/libsds-go/internal/vectors"
)

// SetBits counts exactly the bits nim-sds sets for each golden id, and the
// union of all of them for a filter holding them together.
func TestRemoteSetBits(t *testing.T) {
	var empty bloom.Remote
	require.Zero(t, empty.SetBits())
	g := vectors.LoadGolden(t)
	union := map[string]map[uint64]bool{}
	filters := map[string]*bloom.Filter{}
	for _, v := range g.BloomPositions {
		key := fmt.Sprintf("k=%d m=%d", v.K, v.MBits)
		p := bloom.Params{Capacity: 1, ErrorRate: 0.5, K: v.K, MBits: v.MBits}
		one := bloom.NewFilter(p)
		one.Add(v.ID)
		r, err := bloom.ParseRemote(one.Serialized())
		require.NoError(t, err)
		require.Equal(t, len(v.SetBits), r.SetBits(), "%q %s", v.ID, key)

		if filters[key] == nil {
			filters[key], union[key] = bloom.NewFilter(p), map[uint64]bool{}
		}
		filters[key].Add(v.ID)
		for _, b := range v.SetBits {
			union[key][b] = true
		}
	}
	for key, f := range filters {
		r, err := bloom.ParseRemote(f.Serialized())
		require.NoError(t, err)
		require.Equal(t, len(union[key]), r.SetBits(), key)
	}
}
