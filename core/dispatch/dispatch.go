// Package dispatch runs callbacks one at a time, in the order they were posted,
// on a goroutine of its own. The engine posts events while holding a manager's
// lock; the queue never blocks the poster, and callbacks run without any lock
// held, so they may call back into the manager.
package dispatch

import (
	"io"
	"sync"

	"github.com/logos-messaging/libsds-go/internal/goid"
)

// Queue is an unbounded FIFO of functions run by one goroutine.
type Queue struct {
	mu      sync.Mutex
	parker  Parker
	items   []func()
	closed  bool
	runner  uint64 // goroutine id of the dispatcher
	started chan struct{}
	done    chan struct{}
}

// Parker puts the idle dispatcher to sleep and wakes it. Unpark may be called
// any number of times; Park returns once an Unpark happened since the last
// Park returned (the dispatcher re-checks its queue, so wake-ups may merge).
// If the parker is also an io.Closer, the dispatcher closes it when it exits.
type Parker interface {
	Park()
	Unpark()
}

// chanParker parks the dispatcher goroutine on a channel.
type chanParker chan struct{}

func (p chanParker) Park() { <-p }
func (p chanParker) Unpark() {
	select {
	case p <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// New starts a queue and its dispatcher goroutine, parked on a channel while idle.
func New() *Queue { return NewWithParker(make(chanParker, 1)) }

// NewWithParker starts a queue whose idle dispatcher sleeps through p. The C
// library parks it on a C condition variable: waking a goroutine parked by the
// Go scheduler from a C caller's thread took 50-110 µs on small VMs, waking a
// thread parked in C about 15 µs.
func NewWithParker(p Parker) *Queue {
	q := &Queue{parker: p, started: make(chan struct{}), done: make(chan struct{})}
	go q.run()
	<-q.started
	return q
}

func (q *Queue) run() {
	q.mu.Lock()
	q.runner = goid.Current()
	q.mu.Unlock()
	close(q.started)
	defer close(q.done)
	if c, ok := q.parker.(io.Closer); ok {
		defer c.Close() // the dispatcher is the parker's last user
	}
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			closed := q.closed
			q.mu.Unlock()
			if closed {
				return
			}
			q.parker.Park()
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
	q.parker.Unpark()
	return true
}

// InDispatcher reports whether the caller is running on the dispatcher goroutine,
// i.e. inside a posted function.
func (q *Queue) InDispatcher() bool {
	return goid.Current() == q.runner
}

// Flush waits until everything posted before the call has run. Called from
// inside a posted function it returns at once (waiting would deadlock).
func (q *Queue) Flush() {
	if q.InDispatcher() {
		return
	}
	done := make(chan struct{})
	if q.Post(func() { close(done) }) {
		<-done
	}
}

// Done is closed when the dispatcher goroutine has exited: after Close, once the
// function running (if any) has returned.
func (q *Queue) Done() <-chan struct{} { return q.done }

// CloseLater stops accepting posts without discarding anything: what is queued
// is still delivered, in order, and the dispatcher then exits. From any other
// goroutine it waits for that, like Close; from inside a posted function it
// returns at once and the rest is delivered after that function returns.
func (q *Queue) CloseLater() {
	inside := q.InDispatcher()
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.parker.Unpark()
	if !inside {
		<-q.done
	}
}

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
	q.parker.Unpark()
	if !inside {
		<-q.done
	}
}
