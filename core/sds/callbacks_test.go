package sds

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
	"github.com/logos-messaging/libsds-go/internal/goid"
)

// TestCallbacks_Combined mirrors the bindings' test across three managers:
// ready on the receiver, sent (ack) on the sender, missing deps on a third.
func TestCallbacks_Combined(t *testing.T) {
	senderRm, receiverRm := newRM(t), newRM(t)
	channelID := "test-cb-combined"
	var recSender, recReceiver, recReceiver2 recorder
	receiverRm.RegisterCallbacks(recReceiver.callbacks(false))
	senderRm.RegisterCallbacks(recSender.callbacks(false))

	wrappedMsg1 := wrap(t, senderRm, "combined test 1", "cb-comb-1", channelID)
	unwrap(t, receiverRm, wrappedMsg1)
	wrappedMsg2 := wrap(t, receiverRm, "combined test 2", "cb-comb-2", channelID)
	unwrap(t, senderRm, wrappedMsg2)
	wrappedMsg3 := wrap(t, senderRm, "combined test 3", "cb-comb-3", channelID)

	receiverRm2 := newRM(t)
	receiverRm2.RegisterCallbacks(recReceiver2.callbacks(false))
	res := unwrap(t, receiverRm2, wrappedMsg3)
	require.Equal(t, []MessageID{"cb-comb-1", "cb-comb-2"}, depIDs(*res.MissingDeps))

	for _, rm := range []*ReliabilityManager{senderRm, receiverRm, receiverRm2} {
		rm.flush()
	}
	require.Equal(t, []string{"ready:cb-comb-1@test-cb-combined"}, recReceiver.take())
	require.Equal(t, []string{"sent:cb-comb-1@test-cb-combined", "ready:cb-comb-2@test-cb-combined"}, recSender.take())
	require.Equal(t, []string{"missing:cb-comb-3@test-cb-combined[cb-comb-1,cb-comb-2]"}, recReceiver2.take())
}

func TestMultiChannel_SingleRM(t *testing.T) {
	rm := newRM(t)
	channel1, channel2 := "test-channel-1", "test-channel-2"
	msg1, msg2 := []byte("message for channel 1"), []byte("message for channel 2")
	wrappedMsg1, err := rm.WrapOutgoingMessage(msg1, "msg1", channel1)
	require.NoError(t, err)
	wrappedMsg2, err := rm.WrapOutgoingMessage(msg2, "msg2", channel2)
	require.NoError(t, err)

	unwrapped1 := unwrap(t, rm, wrappedMsg1)
	require.Equal(t, msg1, *unwrapped1.Message)
	require.Equal(t, channel1, *unwrapped1.ChannelId)
	unwrapped2 := unwrap(t, rm, wrappedMsg2)
	require.Equal(t, msg2, *unwrapped2.Message)
	require.Equal(t, channel2, *unwrapped2.ChannelId)

	require.NoError(t, rm.MarkDependenciesMet([]MessageID{"msg1"}, channel1))
	require.NoError(t, rm.MarkDependenciesMet([]MessageID{"msg2"}, channel2))
}

func TestMultiChannelCallbacks(t *testing.T) {
	rm1, rm2 := newRM(t), newRM(t)
	channel1, channel2 := "callback-channel-1", "callback-channel-2"
	var rec recorder
	rm1.RegisterCallbacks(rec.callbacks(false))

	w1 := wrap(t, rm1, "payload1", "msg-on-ch1", channel1)
	w2 := wrap(t, rm1, "payload2", "msg-on-ch2", channel2)
	unwrap(t, rm2, w1)
	unwrap(t, rm2, w2)
	ack1 := wrap(t, rm2, "ack_payload1", "ack-on-ch1", channel1)
	ack2 := wrap(t, rm2, "ack_payload2", "ack-on-ch2", channel2)
	// each ack cites only its own channel's message
	res := unwrap(t, newRM(t), ack2)
	require.Equal(t, []MessageID{"msg-on-ch2"}, depIDs(*res.MissingDeps))

	unwrap(t, rm1, ack1)
	unwrap(t, rm1, ack2)
	rm1.flush()
	require.Equal(t, []string{
		"sent:msg-on-ch1@callback-channel-1", "ready:ack-on-ch1@callback-channel-1",
		"sent:msg-on-ch2@callback-channel-2", "ready:ack-on-ch2@callback-channel-2",
	}, rec.take())
}

func TestRetrievalHints(t *testing.T) {
	rm := newRM(t)
	channelID := "test-retrieval-hints"
	hints := func(messageId MessageID) []byte { return []byte("hint-for-" + messageId) }
	rm.RegisterCallbacks(EventCallbacks{RetrievalHintProvider: hints})

	msgID1 := MessageID("msg-hint-1")
	wrappedMsg1 := wrap(t, rm, "message one", string(msgID1), channelID)
	unwrap(t, rm, wrappedMsg1)
	wrappedMsg2 := wrap(t, rm, "message two", "msg-hint-2", channelID)

	rm2 := newRM(t)
	var rec recorder
	rm2.RegisterCallbacks(rec.callbacks(false))
	res := unwrap(t, rm2, wrappedMsg2)
	require.Equal(t, []HistoryEntry{{MessageID: msgID1, RetrievalHint: []byte("hint-for-msg-hint-1")}}, *res.MissingDeps)
	rm2.flush()
	require.Equal(t, []string{"missing:msg-hint-2@test-retrieval-hints[msg-hint-1(hint-for-msg-hint-1)]"}, rec.take())

	// without a provider, an empty (non-nil) hint, as the bindings decode ""
	rm.RegisterCallbacks(EventCallbacks{})
	res = unwrap(t, newRM(t), wrap(t, rm, "message three", "msg-hint-3", channelID))
	require.Len(t, *res.MissingDeps, 2)
	require.NotNil(t, (*res.MissingDeps)[0].RetrievalHint)
	require.Empty(t, (*res.MissingDeps)[0].RetrievalHint)
}

// TestHintProviderReentrant: a provider that calls its own manager gets an
// error instead of deadlocking (nim-sds deadlocks), and the wrap completes.
func TestHintProviderReentrant(t *testing.T) {
	rm := newRM(t)
	var inner []error
	rm.RegisterCallbacks(EventCallbacks{RetrievalHintProvider: func(id MessageID) []byte {
		_, err := rm.WrapOutgoingMessage([]byte("x"), "inner", "c")
		inner = append(inner, err, rm.Reset(), rm.Cleanup())
		return nil
	}})
	wrap(t, rm, "1", "m1", "c")
	var err error
	within(t, 5*time.Second, func() { _, err = rm.WrapOutgoingMessage([]byte("2"), "m2", "c") })
	require.NoError(t, err)
	require.Len(t, inner, 3)
	for _, e := range inner {
		require.ErrorIs(t, e, ErrReentrantCall)
	}
	// other goroutines are not mistaken for the provider: the provider waits
	// for another goroutine's call, which completes while it runs (bad input
	// is refused before the manager's lock is taken)
	var others []error
	rm.RegisterCallbacks(EventCallbacks{RetrievalHintProvider: func(id MessageID) []byte {
		other := make(chan error, 1)
		go func() { _, err := rm.UnwrapReceivedMessage([]byte{0xff}); other <- err }()
		select {
		case err := <-other:
			others = append(others, err) // providers run one at a time
		case <-time.After(5 * time.Second):
			others = append(others, errors.New("another goroutine's call did not return while the provider ran"))
		}
		return nil
	}})
	wrap(t, rm, "3", "m3", "c")
	require.NotEmpty(t, others)
	for _, err := range others {
		require.ErrorIs(t, err, ErrDeserialization)
	}
}

func TestDuplicates(t *testing.T) {
	a, b := newRM(t), newRM(t)
	var recA, recB recorder
	a.RegisterCallbacks(recA.callbacks(false))
	b.RegisterCallbacks(recB.callbacks(false))
	m1 := wrap(t, a, "hello", "m1", "c")
	for range 3 {
		res := unwrap(t, b, m1)
		require.Equal(t, "hello", string(*res.Message))
		require.Empty(t, *res.MissingDeps)
	}
	unwrap(t, a, m1) // our own message
	a.flush()
	b.flush()
	require.Equal(t, []string{"ready:m1@c"}, recB.take(), "one event, duplicates are silent")
	require.Empty(t, recA.take())
}

// TestCallbacksOnCallerAndOrdered: with one goroutine calling, handlers run
// on that goroutine, in event order.
func TestCallbacksOnCallerAndOrdered(t *testing.T) {
	a, b := newRM(t), newRM(t)
	caller := goid.Current()
	var elsewhere int
	var got []MessageID
	b.RegisterCallbacks(EventCallbacks{OnMessageReady: func(id MessageID, _ string) {
		if goid.Current() != caller {
			elsewhere++
		}
		got = append(got, id)
	}})
	const n = 200
	var want []MessageID
	for i := range n {
		id := fmt.Sprintf("m%03d", i)
		want = append(want, MessageID(id))
		unwrap(t, b, wrap(t, a, "x", id, "c"))
	}
	require.Equal(t, want, got)
	require.Zero(t, elsewhere)
}

// TestConcurrentCallersWaitForTheirHandlers: with many goroutines calling one
// manager, one delivers at a time and the others wait, yet each call returns
// only once the handler of its own event has run; handlers never overlap and
// keep each channel's order. Run with -race.
func TestConcurrentCallersWaitForTheirHandlers(t *testing.T) {
	a, b := newRM(t), newRM(t)
	const workers, each = 6, 40
	msgs := make([][][]byte, workers)
	for w := range workers {
		for i := range each {
			msgs[w] = append(msgs[w], wrap(t, a, "x", fmt.Sprintf("w%d-%02d", w, i), fmt.Sprintf("c%d", w)))
		}
	}
	var running, overlap atomic.Int32
	var mu sync.Mutex
	seen := map[MessageID]bool{}
	perChannel := map[string][]MessageID{}
	b.RegisterCallbacks(EventCallbacks{OnMessageReady: func(id MessageID, ch string) {
		if running.Add(1) > 1 {
			overlap.Add(1)
		}
		runtime.Gosched() // let an overlapping handler, if any, run now
		mu.Lock()
		seen[id] = true
		perChannel[ch] = append(perChannel[ch], id)
		mu.Unlock()
		running.Add(-1)
	}})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i, m := range msgs[w] {
				if _, err := b.UnwrapReceivedMessage(m); !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				ran := seen[MessageID(fmt.Sprintf("w%d-%02d", w, i))]
				mu.Unlock()
				assert.True(t, ran, "w%d-%02d: the call returned before its handler ran", w, i)
			}
		})
	}
	wg.Wait()
	require.Zero(t, overlap.Load())
	for w := range workers {
		var want []MessageID
		for i := range each {
			want = append(want, MessageID(fmt.Sprintf("w%d-%02d", w, i)))
		}
		require.Equal(t, want, perChannel[fmt.Sprintf("c%d", w)])
	}
}

// TestHandlersCallOtherManagers: a handler may call another manager whose
// handlers call back into the first, nested; nothing deadlocks, each call
// from inside a handler returns before its events run, and each manager's
// events keep their order.
func TestHandlersCallOtherManagers(t *testing.T) {
	a, b := newRM(t), newRM(t)
	var order []string
	a.RegisterCallbacks(EventCallbacks{OnMessageReady: func(id MessageID, ch string) {
		order = append(order, "a ready "+string(id))
		if id == "b1" { // answer in a's handler: b unwraps the answer, nested
			unwrap(t, b, wrap(t, a, "answer", "a2", ch))
			order = append(order, "a: b unwrapped a2")
		}
	}})
	b.RegisterCallbacks(EventCallbacks{OnMessageReady: func(id MessageID, ch string) {
		order = append(order, "b ready "+string(id))
		if id == "a2" { // b, delivering inside a's handler, calls back into a
			unwrap(t, a, wrap(t, b, "thanks", "b2", ch))
			order = append(order, "b: a unwrapped b2")
		}
	}})
	a1 := wrap(t, a, "hello", "a1", "c")
	unwrap(t, b, a1)
	within(t, 5*time.Second, func() { unwrap(t, a, wrap(t, b, "hi", "b1", "c")) })
	require.Equal(t, []string{
		"b ready a1",
		"a ready b1",
		"b ready a2", // b's first delivery of a2 runs inside a's handler
		"b: a unwrapped b2",
		"a: b unwrapped a2",
		"a ready b2", // a's events wait for a's handler to return
	}, order)
}

// TestPanickingHandler: a handler's panic goes up the call that delivered it,
// and the manager stays usable: later calls deliver their events.
func TestPanickingHandler(t *testing.T) {
	a, b := newRM(t), newRM(t)
	var got []MessageID
	b.RegisterCallbacks(EventCallbacks{OnMessageReady: func(id MessageID, _ string) {
		got = append(got, id)
		if id == "m1" {
			panic("handler failed")
		}
	}})
	m1 := wrap(t, a, "1", "m1", "c")
	require.PanicsWithValue(t, "handler failed", func() { _, _ = b.UnwrapReceivedMessage(m1) })
	within(t, 5*time.Second, func() { unwrap(t, b, wrap(t, a, "2", "m2", "c")) })
	require.Equal(t, []MessageID{"m1", "m2"}, got)
}

// TestCallbackCallsManager: a handler may call any method of its manager —
// with nim-sds that deadlocks (e.g. wrapping a sync message in OnPeriodicSync).
func TestCallbackCallsManager(t *testing.T) {
	a, b := newRM(t), newRM(t)
	errs := make(chan error, 10)
	syncMsgs := make(chan []byte, 10)
	b.RegisterCallbacks(EventCallbacks{
		OnMessageReady: func(id MessageID, ch string) {
			reply, err := b.WrapOutgoingMessage([]byte("re: "+string(id)), "re-"+id, ch)
			errs <- err
			_, err = b.UnwrapReceivedMessage(reply)
			errs <- err
			errs <- b.MarkDependenciesMet([]MessageID{id}, ch)
		},
		OnPeriodicSync: func() {
			msg, err := b.WrapOutgoingMessage([]byte("sync"), "sync-1", "c")
			errs <- err
			errs <- b.StartPeriodicTasks()
			errs <- b.Reset()
			syncMsgs <- msg
		},
	})
	unwrap(t, b, wrap(t, a, "hello", "m1", "c"))
	within(t, 5*time.Second, b.flush)
	require.NoError(t, b.StartPeriodicTasks())
	within(t, 5*time.Second, b.flush)
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, syncMsgs, 1)
	require.Equal(t, "sync", string(*unwrap(t, a, <-syncMsgs).Message))
}

// TestCleanupFromCallback: Cleanup inside a handler returns at once, and the
// rest of the batch is not delivered.
func TestCleanupFromCallback(t *testing.T) {
	a := newRM(t)
	b, err := NewReliabilityManager(nil)
	require.NoError(t, err)
	var got []MessageID
	cleaned := make(chan error, 1)
	b.RegisterCallbacks(EventCallbacks{OnMessageReady: func(id MessageID, _ string) {
		got = append(got, id)
		cleaned <- b.Cleanup()
	}})
	m1 := wrap(t, a, "1", "m1", "c")
	m2 := wrap(t, a, "2", "m2", "c")
	m3 := wrap(t, a, "3", "m3", "c")
	unwrap(t, b, m3)
	unwrap(t, b, m2)
	unwrap(t, b, m1) // releases m2, m3: three ready events in one batch
	select {
	case err := <-cleaned:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Cleanup inside a handler did not return")
	}
	within(t, 5*time.Second, func() { _ = b.Cleanup() }) // waits for the first
	require.Equal(t, []MessageID{"m2"}, got, "nothing after Cleanup returned")
	_, err = b.UnwrapReceivedMessage(m1)
	require.ErrorIs(t, err, ErrClosed)
}

// TestCleanupDrainsThenStops: events queued before Cleanup are delivered
// before it returns; none after. The first handler queues the rest (a call
// from inside a handler returns at once, its events queued behind it), then
// starts Cleanup and holds the queue until Cleanup has begun.
func TestCleanupDrainsThenStops(t *testing.T) {
	a := newRM(t)
	b, err := NewReliabilityManager(nil)
	require.NoError(t, err)
	const n = 50
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = wrap(t, a, "x", fmt.Sprintf("m%d", i), "c")
	}
	var returned atomic.Bool
	var late, delivered atomic.Int32
	cleaned := make(chan error, 1)
	b.RegisterCallbacks(EventCallbacks{OnMessageReady: func(MessageID, string) {
		if delivered.Load() == 0 {
			for _, m := range msgs[1:] {
				if _, err := b.UnwrapReceivedMessage(m); err != nil {
					t.Errorf("unwrap from the handler: %v", err)
				}
			}
			go func() {
				err := b.Cleanup()
				returned.Store(true)
				cleaned <- err
			}()
			for !b.closed.Load() {
				runtime.Gosched()
			}
		}
		if returned.Load() {
			late.Add(1)
		}
		delivered.Add(1)
	}})
	unwrap(t, b, msgs[0])
	select {
	case err := <-cleaned:
		require.NoError(t, err)
	case <-time.After(5 * time.Second): // a bound on a hang, not synchronisation
		t.Fatal("Cleanup did not return")
	}
	require.EqualValues(t, n, delivered.Load())
	// the fence: nobody delivers, nothing is queued and nothing more can be,
	// so no handler can run any more
	require.Zero(t, b.deliverer.Load(), "a handler still runs after Cleanup returned")
	require.Zero(t, b.queued())
	b.dmu.Lock()
	closed := b.qclosed
	b.dmu.Unlock()
	require.True(t, closed)
	require.Zero(t, late.Load())
}

// TestCleanupWaitsForTheHandlerThatCleansUp: a Cleanup from outside returns
// only after the handler running has returned, even when that handler calls
// Cleanup too (which drops the queue and returns at once).
func TestCleanupWaitsForTheHandlerThatCleansUp(t *testing.T) {
	a := newRM(t)
	b, err := NewReliabilityManager(nil)
	require.NoError(t, err)
	var returned atomic.Bool
	var returnedDuringHandler bool
	outside := make(chan error, 1)
	b.RegisterCallbacks(EventCallbacks{OnMessageReady: func(MessageID, string) {
		go func() {
			err := b.Cleanup()
			returned.Store(true)
			outside <- err
		}()
		for !b.closed.Load() {
			runtime.Gosched()
		}
		assert.NoError(t, b.Cleanup()) // inside: returns at once
		// give the outside Cleanup every chance to return early
		for i := 0; i < 1000 && !returned.Load(); i++ {
			runtime.Gosched()
		}
		returnedDuringHandler = returned.Load()
	}})
	unwrap(t, b, wrap(t, a, "x", "m1", "c"))
	select {
	case err := <-outside:
		require.NoError(t, err)
	case <-time.After(5 * time.Second): // a bound on a hang, not synchronisation
		t.Fatal("Cleanup did not return")
	}
	require.False(t, returnedDuringHandler, "Cleanup returned while a handler ran")
}

func TestConcurrentCleanup(t *testing.T) {
	rm, err := NewReliabilityManager(nil)
	require.NoError(t, err)
	require.NoError(t, rm.StartPeriodicTasks())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { assert.NoError(t, rm.Cleanup()) })
	}
	wg.Wait()
	require.False(t, rm.runner.Running())
}

// TestConcurrentUse: many goroutines on two managers; run with -race.
func TestConcurrentUse(t *testing.T) {
	a, b := newRM(t), newRM(t)
	var ready atomic.Int32
	b.RegisterCallbacks(EventCallbacks{
		OnMessageReady:        func(MessageID, string) { ready.Add(1) },
		RetrievalHintProvider: func(id MessageID) []byte { return []byte(id) },
	})
	a.RegisterCallbacks(EventCallbacks{RetrievalHintProvider: func(id MessageID) []byte { return []byte(id) }})
	var wg sync.WaitGroup
	const workers, each = 8, 25
	for w := range workers {
		wg.Go(func() {
			ch := fmt.Sprintf("c%d", w%3)
			for i := range each {
				msg, err := a.WrapOutgoingMessage([]byte("x"), MessageID(fmt.Sprintf("w%d-%d", w, i)), ch)
				if !assert.NoError(t, err) {
					return
				}
				_, err = b.UnwrapReceivedMessage(msg)
				assert.NoError(t, err)
				_, err = b.WrapOutgoingMessage([]byte("y"), MessageID(fmt.Sprintf("b%d-%d", w, i)), ch)
				assert.NoError(t, err)
			}
		})
	}
	wg.Go(func() { assert.NoError(t, b.StartPeriodicTasks()) })
	wg.Wait()
	b.flush()
	require.GreaterOrEqual(t, ready.Load(), int32(1))
}

// TestRepairReady: with participant ids (SDS-R), a peer that misses a message
// asks for it with its next message, and a holder rebroadcasts it through
// OnRepairReady; the bytes deliver the message and release what waited for it.
func TestRepairReady(t *testing.T) {
	clk := newFakeClock()
	cfg := DefaultConfig()
	cfg.RepairTMin, cfg.RepairTMax = time.Second, 2*time.Second
	alice := newRMWith(t, Options{ParticipantID: "alice", Config: &cfg, Clock: clk})
	bob := newRMWith(t, Options{ParticipantID: "bob", Config: &cfg, Clock: clk})
	repairs := make(chan []byte, 1)
	var recA, recB recorder
	cbs := recA.callbacks(false)
	cbs.OnRepairReady = func(msg []byte, ch string) {
		recA.add("repair@%s", ch)
		repairs <- msg
	}
	alice.RegisterCallbacks(cbs)
	bob.RegisterCallbacks(recB.callbacks(false))

	wrap(t, alice, "one", "m1", "c")
	m2 := wrap(t, alice, "two", "m2", "c")
	require.Equal(t, []MessageID{"m1"}, depIDs(*unwrap(t, bob, m2).MissingDeps))
	clk.Advance(3 * time.Second)
	unwrap(t, alice, wrap(t, bob, "ask", "b1", "c")) // carries bob's repair request for m1
	clk.Advance(3 * time.Second)
	require.NoError(t, alice.StartPeriodicTasks()) // the first repair sweep answers it
	alice.flush()
	// b1's bloom filter acknowledges m2; the sweeps run buffer, sync, repair
	require.Equal(t, []string{"sent:m2@c", "ready:b1@c", "sync", "repair@c"}, recA.take())
	res := unwrap(t, bob, <-repairs)
	require.Equal(t, "one", string(*res.Message))
	bob.flush()
	require.Equal(t, []string{"missing:m2@c[m1]", "ready:m2@c", "ready:m1@c"}, recB.take())
}

func TestIncomingDropped(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxIncomingBuffer = 1
	a, b := newRM(t), newRMWith(t, Options{Config: &cfg})
	var rec recorder
	b.RegisterCallbacks(rec.callbacks(false))
	wrap(t, a, "1", "m1", "c")
	m2 := wrap(t, a, "2", "m2", "c")
	m3 := wrap(t, a, "3", "m3", "c")
	unwrap(t, b, m2)
	unwrap(t, b, m3)
	b.flush()
	require.Equal(t, []string{"missing:m2@c[m1]", "missing:m3@c[m1,m2]", "dropped:m2@c"}, rec.take())
}

// TestStoreOption: a manager on a store resumes where its predecessor on the
// same store stopped.
func TestStoreOption(t *testing.T) {
	st := memstore.New()
	a1, err := NewReliabilityManagerWithOptions(nil, Options{Store: st})
	require.NoError(t, err)
	wrap(t, a1, "one", "m1", "c")
	require.NoError(t, a1.Cleanup())

	a2 := newRMWith(t, Options{Store: st})
	var rec recorder
	a2.RegisterCallbacks(rec.callbacks(false))
	m2 := wrap(t, a2, "two", "m2", "c")
	b := newRM(t)
	require.Equal(t, []MessageID{"m1"}, depIDs(*unwrap(t, b, m2).MissingDeps), "m2 cites m1 from the store")
	require.NoError(t, b.MarkDependenciesMet([]MessageID{"m1"}, "c"))
	unwrap(t, a2, wrap(t, b, "ack", "r1", "c"))
	a2.flush()
	require.Equal(t, []string{"sent:m1@c", "sent:m2@c", "ready:r1@c"}, rec.take(),
		"m1 is still unacknowledged after the restart")
}

// failingStore fails every SaveOutgoing and has no transactions.
type failingStore struct{ store.NoOp }

func (failingStore) SaveOutgoing(string, string, []byte) error { return errors.New("disk full") }

func TestStoreFailed(t *testing.T) {
	rm := newRMWith(t, Options{Store: failingStore{}})
	var rec recorder
	var gotErr error
	cbs := rec.callbacks(false)
	cbs.OnStoreFailed = func(ch string, err error) { rec.add("storefailed@%s", ch); gotErr = err }
	rm.RegisterCallbacks(cbs)
	wrap(t, rm, "x", "m1", "c")
	rm.flush()
	require.Equal(t, []string{"storefailed@c"}, rec.take())
	require.ErrorContains(t, gotErr, "disk full")
}
