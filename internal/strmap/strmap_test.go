package strmap_test

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/internal/strmap"
)

// Random operations agree with a Go map, through growth and removals in the
// middle of probe runs; Remove leaves a key whose value is another alone.
func TestAgreesWithGoMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m := strmap.New[int]()
	model := map[string]*int{}
	for step := range 60_000 {
		k := strconv.Itoa(rng.IntN(200 + step/50))
		switch op := rng.IntN(10); {
		case op < 4:
			v := step
			m.Put(k, &v)
			model[k] = &v
		case op < 6:
			old := model[k]
			require.Equal(t, old != nil, m.Remove(k, old))
			delete(model, k)
		case op < 7:
			other := -1
			require.False(t, m.Remove(k, &other), "a value not stored under k")
		default:
			require.Same(t, model[k], m.Get(k))
		}
		require.Equal(t, len(model), m.Len())
	}
	for k, v := range model {
		require.Same(t, v, m.Get(k))
	}
	require.Nil(t, m.Get("absent"))
	require.False(t, m.Remove("absent", nil))
}
