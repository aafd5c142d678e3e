// Package duequeue keeps items keyed by id and ordered by a due time, so the
// SDS-R buffers can take "the most overdue first" and expire old entries without
// scanning every pending entry on each message.
package duequeue

import (
	"container/heap"
	"time"
)

// Queue maps ids to items, ordered by (due, id). The zero value is not usable;
// call New. It is not safe for concurrent use.
type Queue[V any] struct {
	h     itemHeap[V]
	index map[string]*item[V]
}

type item[V any] struct {
	id    string
	due   time.Time
	value V
	pos   int
}

// New returns an empty queue.
func New[V any]() *Queue[V] {
	return &Queue[V]{index: make(map[string]*item[V])}
}

// Len returns the number of items.
func (q *Queue[V]) Len() int { return len(q.index) }

// Get returns the item stored under id.
func (q *Queue[V]) Get(id string) (V, time.Time, bool) {
	if it, ok := q.index[id]; ok {
		return it.value, it.due, true
	}
	var zero V
	return zero, time.Time{}, false
}

// Has reports whether id is queued.
func (q *Queue[V]) Has(id string) bool {
	_, ok := q.index[id]
	return ok
}

// Set stores (or replaces) the item under id with the given due time.
func (q *Queue[V]) Set(id string, due time.Time, v V) {
	if it, ok := q.index[id]; ok {
		it.due, it.value = due, v
		heap.Fix(&q.h, it.pos)
		return
	}
	it := &item[V]{id: id, due: due, value: v}
	q.index[id] = it
	heap.Push(&q.h, it)
}

// Delete removes id and reports whether it was queued.
func (q *Queue[V]) Delete(id string) bool {
	it, ok := q.index[id]
	if !ok {
		return false
	}
	heap.Remove(&q.h, it.pos)
	delete(q.index, id)
	return true
}

// Peek returns the item with the earliest due time (ties: smallest id).
func (q *Queue[V]) Peek() (id string, due time.Time, v V, ok bool) {
	if len(q.h) == 0 {
		return "", time.Time{}, v, false
	}
	it := q.h[0]
	return it.id, it.due, it.value, true
}

// Pop removes and returns the earliest item.
func (q *Queue[V]) Pop() (id string, due time.Time, v V, ok bool) {
	if len(q.h) == 0 {
		return "", time.Time{}, v, false
	}
	it := heap.Pop(&q.h).(*item[V])
	delete(q.index, it.id)
	return it.id, it.due, it.value, true
}

// All calls yield for every item in no particular order until it returns false.
func (q *Queue[V]) All(yield func(id string, due time.Time, v V) bool) {
	for _, it := range q.h {
		if !yield(it.id, it.due, it.value) {
			return
		}
	}
}

// Clear removes every item.
func (q *Queue[V]) Clear() {
	q.h = nil
	clear(q.index)
}

type itemHeap[V any] []*item[V]

func (h itemHeap[V]) Len() int { return len(h) }
func (h itemHeap[V]) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].id < h[j].id
}
func (h itemHeap[V]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pos, h[j].pos = i, j
}
func (h *itemHeap[V]) Push(x any) {
	it := x.(*item[V])
	it.pos = len(*h)
	*h = append(*h, it)
}
func (h *itemHeap[V]) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
