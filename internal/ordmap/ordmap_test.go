package ordmap_test

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/internal/ordmap"
)

func keys(m *ordmap.Map[string, int]) []string {
	var out []string
	m.All(func(k string, _ int) bool { out = append(out, k); return true })
	return out
}

func TestInsertionOrderAndReplaceInPlace(t *testing.T) {
	m := ordmap.New[string, int]()
	require.True(t, m.Set("a", 1))
	require.True(t, m.Set("b", 2))
	require.True(t, m.Set("c", 3))
	require.False(t, m.Set("a", 10), "existing key is replaced, not re-added")
	require.Equal(t, []string{"a", "b", "c"}, keys(m))
	v, ok := m.Get("a")
	require.True(t, ok)
	require.Equal(t, 10, v)
	require.Equal(t, 3, m.Len())
}

func TestDeleteOldestAndNewest(t *testing.T) {
	m := ordmap.New[string, int]()
	for i, k := range []string{"a", "b", "c", "d"} {
		m.Set(k, i)
	}
	require.True(t, m.Delete("b"))
	require.False(t, m.Delete("b"))
	k, v, ok := m.Oldest()
	require.True(t, ok)
	require.Equal(t, "a", k)
	require.Equal(t, 0, v)
	require.True(t, m.Delete("a"))
	require.True(t, m.Delete("d"))
	require.Equal(t, []string{"c"}, keys(m))
	m.Set("e", 5)
	m.Clear()
	require.Zero(t, m.Len())
	_, _, ok = m.Oldest()
	require.False(t, ok)
	require.False(t, m.Has("e"))
}

// A cursor walks from the newest entry back and forth over deletions, and
// writes through Value in place.
func TestCursor(t *testing.T) {
	m := ordmap.New[string, int]()
	require.False(t, m.Last().Valid(), "an empty map has no last entry")
	for i, k := range []string{"a", "b", "c", "d"} {
		m.Set(k, i)
	}
	m.Delete("c")
	var back []string
	first := m.Last()
	for e := first; e.Valid(); e = e.Prev() {
		back = append(back, e.Key())
		first = e
	}
	require.Equal(t, []string{"d", "b", "a"}, back)
	var forth []string
	for e := first; e.Valid(); e = e.Next() {
		forth = append(forth, e.Key())
		*e.Value() *= 10
	}
	require.Equal(t, []string{"a", "b", "d"}, forth)
	v, _ := m.Get("d")
	require.Equal(t, 30, v)
	require.Equal(t, []string{"a", "b", "d"}, keys(m), "writing a value keeps the order")
}

func TestDeleteOldest(t *testing.T) {
	m := ordmap.New[string, int]()
	_, _, ok := m.DeleteOldest()
	require.False(t, ok)
	for i, k := range []string{"a", "b", "c"} {
		m.Set(k, i)
	}
	m.Set("a", 7) // replaced in place: still the oldest
	k, v, ok := m.DeleteOldest()
	require.True(t, ok)
	require.Equal(t, "a", k)
	require.Equal(t, 7, v)
	require.False(t, m.Has("a"))
	require.Equal(t, 2, m.Len())
	require.Equal(t, []string{"b", "c"}, keys(m))
	m.Set("a", 1)
	require.Equal(t, []string{"b", "c", "a"}, keys(m), "a deleted key comes back as the newest")
	for range 3 {
		_, _, ok = m.DeleteOldest()
		require.True(t, ok)
	}
	_, _, ok = m.DeleteOldest()
	require.False(t, ok)
	require.False(t, m.Last().Valid())
	m.Set("z", 26)
	require.Equal(t, []string{"z"}, keys(m))
}

func TestEarlyStop(t *testing.T) {
	m := ordmap.New[string, int]()
	for i := 0; i < 10; i++ {
		m.Set(strconv.Itoa(i), i)
	}
	n := 0
	m.All(func(string, int) bool { n++; return n < 3 })
	require.Equal(t, 3, n)
}

func TestSwap(t *testing.T) {
	m := ordmap.New[string, int]()
	old, replaced := m.Swap("a", 1)
	require.False(t, replaced)
	require.Zero(t, old)
	m.Set("b", 2)
	old, replaced = m.Swap("a", 10)
	require.True(t, replaced)
	require.Equal(t, 1, old)
	require.Equal(t, []string{"a", "b"}, keys(m), "a replaced value keeps its position")
	v, _ := m.Get("a")
	require.Equal(t, 10, v)
}

// A bounded map (one eviction per insertion) reuses the evicted entry's node:
// the cycle allocates nothing once the index has grown, and the reused node
// carries nothing of the entry it held.
func TestEvictionReusesNode(t *testing.T) {
	m := ordmap.New[string, *int]()
	keys := make([]string, 1000) // made beforehand: the cycle's allocations are the map's
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	for i := range 8 {
		v := i
		m.Set(keys[i], &v)
	}
	next := 8
	v := 0
	cycle := func() {
		if next%2 == 0 { // both ways of evicting reuse the node
			k, _, _ := m.Oldest()
			m.Delete(k)
		} else {
			m.DeleteOldest()
		}
		m.Set(keys[next%len(keys)], &v)
		next++
	}
	for range 100 { // let the index reach its steady size
		cycle()
	}
	require.Zero(t, testing.AllocsPerRun(100, cycle))
	var got []string
	m.All(func(k string, p *int) bool {
		require.Same(t, &v, p)
		got = append(got, k)
		return true
	})
	var want []string
	for i := next - 8; i < next; i++ {
		want = append(want, keys[i%len(keys)])
	}
	require.Equal(t, want, got)
}

// Random operations agree with a Go map and an insertion-order list, through
// the index's growth, deletions in the middle of probe runs (few keys of many
// short ones collide) and clearing.
func TestAgreesWithAModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := ordmap.New[string, int]()
	model := map[string]int{}
	var order []string
	remove := func(k string) {
		delete(model, k)
		order = slices.DeleteFunc(order, func(o string) bool { return o == k })
	}
	for step := range 60_000 {
		k := strconv.Itoa(rng.IntN(300 + step/100))
		switch op := rng.IntN(100); {
		case op < 40:
			_, had := model[k]
			require.Equal(t, !had, m.Set(k, step))
			if !had {
				order = append(order, k)
			}
			model[k] = step
		case op < 50:
			old, replaced := m.Swap(k, step)
			want, had := model[k]
			require.Equal(t, had, replaced)
			require.Equal(t, want, old)
			if !had {
				order = append(order, k)
			}
			model[k] = step
		case op < 75:
			_, had := model[k]
			require.Equal(t, had, m.Delete(k))
			remove(k)
		case op < 85:
			k, v, ok := m.DeleteOldest()
			require.Equal(t, len(order) > 0, ok)
			if ok {
				require.Equal(t, order[0], k)
				require.Equal(t, model[k], v)
				remove(k)
			}
		case op < 99:
			v, ok := m.Get(k)
			want, had := model[k]
			require.Equal(t, had, ok)
			require.Equal(t, want, v)
			require.Equal(t, had, m.Has(k))
		default:
			if rng.IntN(20) == 0 {
				m.Clear()
				clear(model)
				order = order[:0]
			}
		}
		require.Equal(t, len(model), m.Len())
		if step%1000 == 0 {
			require.Equal(t, append([]string{}, order...), append([]string{}, keys(m)...), "step %d", step)
		}
	}
	require.Equal(t, append([]string{}, order...), append([]string{}, keys(m)...))
	for k, v := range model {
		got, ok := m.Get(k)
		require.True(t, ok)
		require.Equal(t, v, got)
	}
}
