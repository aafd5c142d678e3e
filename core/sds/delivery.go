package sds

import (
	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/internal/goid"
)

// Event delivery. The engine queues each operation's events as one batch
// (post, under the engine's lock). A call, once the engine has returned,
// delivers the queued batches itself, on its own goroutine, unless another
// goroutine is delivering this manager's events already; then it waits until
// its batches have been delivered. One goroutine at a time delivers, in queue
// order, so a manager's handlers never overlap and keep the engine's order.
//
// A call made from inside a handler runs on the delivering goroutine: it is
// recognized by comparing its goroutine with the deliverer's, and returns
// without delivering (its events run after the handler returns, from the
// delivery loop below it on the same stack). The periodic tasks deliver their
// events from a goroutine started for the purpose, since their own goroutines
// are the ones Cleanup (perhaps called from a handler) waits for.

// post is the engine's event sink. It runs with the engine's lock held, so it
// only queues the batch. After Cleanup the events are dropped.
func (rm *ReliabilityManager) post(events []engine.Event) {
	rm.dmu.Lock()
	if !rm.qclosed {
		rm.batches = append(rm.batches, events)
		rm.posted++
	}
	rm.dmu.Unlock()
}

// inHandler reports whether the caller runs inside one of this manager's
// handlers (directly, or through other managers' handlers and calls): only
// the delivering goroutine runs them, and while it does it is recorded.
func (rm *ReliabilityManager) inHandler() bool {
	d := rm.deliverer.Load()
	return d != 0 && d == goid.Current()
}

// queued returns how many batches wait to be delivered.
func (rm *ReliabilityManager) queued() int {
	rm.dmu.Lock()
	defer rm.dmu.Unlock()
	return len(rm.batches) - rm.head
}

// settle returns once every batch queued before it was called has been
// delivered (or dropped by Cleanup), and the batches that their handlers'
// own calls queued too, delivering them on this goroutine unless another is
// doing so. It must not be called from inside a handler (see inHandler): that
// would wait for itself.
func (rm *ReliabilityManager) settle() {
	rm.dmu.Lock()
	target := rm.posted
	for {
		for rm.delivered < target {
			if rm.deliverer.Load() == 0 {
				rm.drain()
				continue
			}
			rm.dcond.Wait()
		}
		// Batches queued while the awaited ones were delivered may come from
		// their handlers: await those as well (and, conservatively, any other
		// batch queued by then).
		if rm.postedAtDelivery <= target {
			break
		}
		target = rm.postedAtDelivery
	}
	rm.dmu.Unlock()
}

// drain delivers batches until none is left, as the delivering goroutine.
// It is called and returns with dmu held, and releases it while handlers
// run. If a handler panics, the panic goes on up the caller's stack, and the
// manager stays usable: the batch counts as delivered and the next call
// delivers the rest.
func (rm *ReliabilityManager) drain() {
	rm.deliverer.Store(goid.Current())
	locked := true
	defer func() {
		panicking := !locked // the loop only exits unlocked through a panic
		if panicking {
			rm.dmu.Lock()
			rm.countDelivered()
		}
		rm.deliverer.Store(0)
		rm.dcond.Broadcast()
		if panicking {
			rm.dmu.Unlock() // settle, the caller, unwinds without unlocking
		}
	}()
	for rm.head < len(rm.batches) {
		events := rm.batches[rm.head]
		rm.batches[rm.head] = nil
		rm.head++
		if rm.head == len(rm.batches) { // drained: reuse the array from its start
			rm.batches, rm.head = rm.batches[:0], 0
		}
		rm.dmu.Unlock()
		locked = false
		rm.deliver(events)
		rm.dmu.Lock()
		locked = true
		rm.countDelivered()
		rm.dcond.Broadcast()
	}
}

// countDelivered counts the batch just delivered, unless Cleanup dropped the
// queue meanwhile and counted every batch already.
func (rm *ReliabilityManager) countDelivered() {
	if rm.delivered < rm.posted {
		rm.delivered++
	}
	rm.postedAtDelivery = rm.posted
}

// dropQueued forgets the batches not yet delivered and refuses later ones:
// Cleanup called from inside a handler, where nothing may run after it
// returns. Calls waiting for those batches return.
func (rm *ReliabilityManager) dropQueued() {
	rm.stopDelivery.Store(true)
	rm.dmu.Lock()
	rm.qclosed = true
	rm.batches, rm.head = nil, 0
	rm.delivered = rm.posted
	rm.postedAtDelivery = rm.posted
	rm.dcond.Broadcast()
	rm.dmu.Unlock()
}

// closeQueue delivers what is queued, waits for the handler running, if any,
// to return (it may have dropped the queue by calling Cleanup itself), and
// refuses later batches: Cleanup from outside the handlers, once the engine
// is closed and posts no more.
func (rm *ReliabilityManager) closeQueue() {
	rm.settle()
	rm.dmu.Lock()
	for rm.deliverer.Load() != 0 {
		rm.dcond.Wait()
	}
	rm.qclosed = true
	rm.dmu.Unlock()
}

// deliverInBackground delivers the queued batches on a new goroutine, if there
// are any and nobody delivers them already: the periodic tasks' events.
func (rm *ReliabilityManager) deliverInBackground() {
	rm.dmu.Lock()
	pending := rm.head < len(rm.batches) && rm.deliverer.Load() == 0
	rm.dmu.Unlock()
	if pending {
		go rm.settle()
	}
}
