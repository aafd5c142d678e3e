package duequeue_test

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/internal/duequeue"
)

func TestOrderByDueThenID(t *testing.T) {
	q := duequeue.New[int]()
	t0 := time.Unix(100, 0)
	q.Set("c", t0.Add(2*time.Second), 3)
	q.Set("b", t0, 2)
	q.Set("a", t0, 1)
	q.Set("d", t0.Add(time.Second), 4)
	q.Set("c", t0.Add(-time.Second), 30) // moves to the front
	require.True(t, q.Delete("d"))
	require.False(t, q.Delete("d"))
	var got []string
	for q.Len() > 0 {
		id, _, _, ok := q.Pop()
		require.True(t, ok)
		got = append(got, id)
	}
	require.Equal(t, []string{"c", "a", "b"}, got)
	_, _, _, ok := q.Peek()
	require.False(t, ok)
}

func TestRandomAgainstSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	q := duequeue.New[int]()
	want := map[string]time.Time{}
	for i := 0; i < 2000; i++ {
		id := string(rune('a' + r.IntN(26)))
		id += string(rune('a' + r.IntN(26)))
		if r.IntN(4) == 0 {
			q.Delete(id)
			delete(want, id)
			continue
		}
		due := time.Unix(int64(r.IntN(50)), 0)
		q.Set(id, due, i)
		want[id] = due
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if !want[ids[i]].Equal(want[ids[j]]) {
			return want[ids[i]].Before(want[ids[j]])
		}
		return ids[i] < ids[j]
	})
	require.Equal(t, len(ids), q.Len())
	for _, id := range ids {
		got, due, _, ok := q.Pop()
		require.True(t, ok)
		require.Equal(t, id, got)
		require.Equal(t, want[id], due)
	}
}
