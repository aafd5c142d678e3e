package hashindex_test

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/internal/hashindex"
)

type entry struct {
	key string
	val int
}

func entryKey(e *entry) string { return e.key }

// Random operations agree with a Go map, through growth and removals in the
// middle of probe runs, by every way in and out of the index: Put, Find then
// Insert, Delete (which leaves another entry of the same key alone), Remove
// by kept hash, Find then RemoveAt.
func TestAgreesWithGoMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := hashindex.Make(entryKey)
	model := map[string]*entry{}
	for step := range 60_000 {
		k := strconv.Itoa(rng.IntN(200 + step/50))
		h := x.Hash(k)
		switch op := rng.IntN(12); {
		case op < 3:
			e := &entry{key: k, val: step}
			x.Put(e)
			model[k] = e
		case op < 5:
			i, found := x.Find(k, h)
			require.Same(t, model[k], found)
			if found == nil {
				e := &entry{key: k, val: step}
				x.Insert(i, h, e)
				model[k] = e
			}
		case op < 6:
			old := model[k]
			require.Equal(t, old != nil, x.Delete(old))
			delete(model, k)
		case op < 7:
			require.False(t, x.Delete(&entry{key: k}), "an entry not in the index")
		case op < 8:
			if e := model[k]; e != nil {
				x.Remove(h, e)
				delete(model, k)
			}
		case op < 9:
			if i, found := x.Find(k, h); found != nil {
				x.RemoveAt(i)
				delete(model, k)
			}
		default:
			require.Same(t, model[k], x.Get(k))
		}
		require.Equal(t, len(model), x.Len())
	}
	for k, e := range model {
		require.Same(t, e, x.Get(k))
	}
	require.Nil(t, x.Get("absent"))
	require.False(t, x.Delete(nil))
	x.Clear()
	require.Zero(t, x.Len())
	for k := range model {
		require.Nil(t, x.Get(k))
	}
}

// An index with no table yet answers lookups, and its first Insert makes the
// table wherever Find said to put the entry.
func TestEmptyIndex(t *testing.T) {
	x := hashindex.Make(entryKey)
	i, found := x.Find("a", x.Hash("a"))
	require.Equal(t, -1, i)
	require.Nil(t, found)
	require.Nil(t, x.Get("a"))
	require.False(t, x.Delete(&entry{key: "a"}))
	e := &entry{key: "a"}
	x.Insert(i, x.Hash("a"), e)
	require.Same(t, e, x.Get("a"))
	require.Equal(t, 1, x.Len())
}

// Two indexes hash the same key differently: each has its own seed, so a
// peer cannot choose ids that collide in every manager.
func TestSeedsDiffer(t *testing.T) {
	a, b := hashindex.Make(entryKey), hashindex.Make(entryKey)
	require.NotEqual(t, a.Hash("msg-1"), b.Hash("msg-1"))
	require.Equal(t, a.Hash("msg-1"), a.Hash("msg-1"))
}
