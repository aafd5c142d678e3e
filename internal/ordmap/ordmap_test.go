package ordmap_test

import (
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
	m := ordmap.New[int, int]()
	for i := 0; i < 10; i++ {
		m.Set(i, i)
	}
	n := 0
	m.All(func(int, int) bool { n++; return n < 3 })
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
// the cycle allocates nothing beyond the index's own growth, and the reused
// node carries nothing of the entry it held.
func TestEvictionReusesNode(t *testing.T) {
	m := ordmap.New[int, *int]()
	for i := range 8 {
		v := i
		m.Set(i, &v)
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
		m.Set(next, &v)
		next++
	}
	for range 100 { // let the index reach its steady size
		cycle()
	}
	require.Zero(t, testing.AllocsPerRun(100, cycle))
	var got []int
	m.All(func(k int, p *int) bool {
		require.Same(t, &v, p)
		got = append(got, k)
		return true
	})
	require.Equal(t, []int{next - 8, next - 7, next - 6, next - 5, next - 4, next - 3, next - 2, next - 1}, got)
}
