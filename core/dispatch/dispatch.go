// Package dispatch runs callbacks one at a time, in the order they were posted,
// on a goroutine of its own. The engine posts events while holding a manager's
// lock; the queue never blocks the poster, and callbacks run without any lock
// held, so they may call back into the manager.
package dispatch

import (
	"sync"
	"sync/atomic"

	"github.com/logos-messaging/libsds-go/internal/goid"
)

// Queue is an unbounded FIFO of functions run by one goroutine.
type Queue struct {
	mu     sync.Mutex
	wake   chan struct{} // capacity 1: a pending wake-up
	items  []func()
	closed bool
	// runner is the dispatcher goroutine's identity while it runs, zero once
	// it has exited (a later goroutine may be given the same identity).
	runner  atomic.Uint64
	started chan struct{}
	done    chan struct{}
}

// New starts a queue and its dispatcher goroutine.
func New() *Queue {
	q := &Queue{wake: make(chan struct{}, 1), started: make(chan struct{}), done: make(chan struct{})}
	go q.run()
	<-q.started
	return q
}

// unpark wakes the dispatcher if it is idle; wake-ups merge, and the dispatcher
// re-checks its queue after each one.
func (q *Queue) unpark() {
	select {
	case q.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

func (q *Queue) run() {
	q.runner.Store(goid.Current())
	close(q.started)
	defer close(q.done)
	defer q.runner.Store(0)
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			closed := q.closed
			q.mu.Unlock()
			if closed {
				return
			}
			<-q.wake
			continue
		}
		f := q.items[0]
		q.items[0] = nil
		q.items = q.items[1:]
		q.mu.Unlock()
		f()
	}
}

// Post queues f and reports whether it was accepted; after Close it is not.
func (q *Queue) Post(f func()) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, f)
	q.mu.Unlock()
	q.unpark()
	return true
}

// Len returns how many posted functions have not started running.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// InDispatcher reports whether the caller is running on the dispatcher goroutine,
// i.e. inside a posted function.
func (q *Queue) InDispatcher() bool {
	r := q.runner.Load()
	return r != 0 && goid.Current() == r
}

// Flush waits until everything posted before the call has run, or was
// discarded by a Close from inside a posted function. Called from inside a
// posted function it returns at once (waiting would deadlock).
func (q *Queue) Flush() {
	if q.InDispatcher() {
		return
	}
	done := make(chan struct{})
	if q.Post(func() { close(done) }) {
		select {
		case <-done:
		case <-q.done:
		}
	}
}

// Done is closed when the dispatcher goroutine has exited: after Close, once the
// function running (if any) has returned.
func (q *Queue) Done() <-chan struct{} { return q.done }

// Close stops accepting posts. From any other goroutine it runs everything
// already queued and returns when the dispatcher has exited. From inside a posted
// function it cannot wait for itself: it discards what is still queued and
// returns at once, and the dispatcher exits when the current function returns,
// so nothing runs after Close has returned in either case. Close is idempotent.
func (q *Queue) Close() {
	inside := q.InDispatcher()
	q.mu.Lock()
	q.closed = true
	if inside {
		q.items = nil
	}
	q.mu.Unlock()
	q.unpark()
	if !inside {
		<-q.done
	}
}
