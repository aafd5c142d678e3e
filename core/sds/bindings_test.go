package sds

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/logos-messaging/libsds-go/internal/goid"
)

// TestHandlersHaveRunWhenTheCallReturns: as with the bindings over nim-sds,
// the handlers of a call's events have run when the call returns, with no
// flush in between — here on the caller's goroutine, which delivers them
// itself when no other goroutine is delivering (no hand-off).
func TestHandlersHaveRunWhenTheCallReturns(t *testing.T) {
	a, b := newRM(t), newRM(t)
	var rec recorder
	caller := goid.Current()
	onCaller := false
	cbs := rec.callbacks(false)
	ready := cbs.OnMessageReady
	cbs.OnMessageReady = func(id MessageID, ch string) {
		onCaller = onCaller || goid.Current() == caller
		ready(id, ch)
	}
	b.RegisterCallbacks(cbs)
	a.RegisterCallbacks(rec.callbacks(false))

	m1 := wrap(t, a, "one", "m1", "c")
	m2 := wrap(t, a, "two", "m2", "c")
	unwrap(t, b, m2)
	require.Equal(t, []string{"missing:m2@c[m1]"}, rec.take())
	unwrap(t, b, m1)
	require.Equal(t, []string{"ready:m2@c", "ready:m1@c"}, rec.take())
	require.True(t, onCaller, "the call delivered its events itself")

	unwrap(t, a, wrap(t, b, "ack", "b1", "c")) // acknowledges m1 and m2
	require.Equal(t, []string{"sent:m1@c", "sent:m2@c", "ready:b1@c"}, rec.take())

	wrap(t, a, "four", "m4", "d") // b misses it
	unwrap(t, b, wrap(t, a, "five", "m5", "d"))
	require.Equal(t, []string{"missing:m5@d[m4]"}, rec.take())
	require.NoError(t, b.MarkDependenciesMet([]MessageID{"m4"}, "d"))
	require.Equal(t, []string{"ready:m5@d"}, rec.take())

	require.NoError(t, b.StartPeriodicTasks())
	require.Equal(t, []string{"sync"}, rec.take(), "the first round's periodic_sync")
}

// TestCallsFromHandlersDoNotWait: a handler's own calls return before their
// events run (they run after the handler), so nothing deadlocks.
func TestCallsFromHandlersDoNotWait(t *testing.T) {
	a, b := newRM(t), newRM(t)
	var order []string
	b.RegisterCallbacks(EventCallbacks{OnMessageReady: func(id MessageID, ch string) {
		order = append(order, "ready:"+string(id))
		if id == "m1" {
			unwrap(t, b, wrap(t, a, "two", "m2", "c"))
			order = append(order, "unwrapped m2")
		}
	}})
	within(t, 5*time.Second, func() { unwrap(t, b, wrap(t, a, "one", "m1", "c")) })
	require.Equal(t, []string{"ready:m1", "unwrapped m2", "ready:m2"}, order)
}

// TestEventQueueIsBounded: calls from inside a handler cannot wait for their
// events, so they fill the queue; at EventChanBufferSize undelivered batches a
// call fails with ErrEventQueueFull having done nothing, and every event of
// the calls that succeeded is still delivered, once.
func TestEventQueueIsBounded(t *testing.T) {
	require.Equal(t, 1024, EventChanBufferSize, "the bindings' value")
	a, b := newRM(t), newRM(t)
	const n = EventChanBufferSize + 50
	wires := make([][]byte, n)
	for i := range wires {
		wires[i] = wrap(t, a, "x", fmt.Sprintf("q%04d", i), "c")
	}
	ready := map[MessageID]int{}
	var accepted, refused int
	var failures []error
	b.RegisterCallbacks(EventCallbacks{
		OnMessageReady: func(id MessageID, _ string) { ready[id]++ },
		OnPeriodicSync: func() {
			if accepted+refused > 0 {
				return
			}
			for _, w := range wires {
				_, err := b.UnwrapReceivedMessage(w)
				if err != nil {
					refused++
					failures = append(failures, err)
					continue
				}
				accepted++
			}
		},
	})
	within(t, 10*time.Second, func() { require.NoError(t, b.StartPeriodicTasks()) })
	require.Equal(t, n, accepted+refused)
	require.Positive(t, refused, "the queue is bounded")
	require.GreaterOrEqual(t, accepted, EventChanBufferSize-1)
	for _, err := range failures {
		require.ErrorIs(t, err, ErrEventQueueFull)
	}
	require.Len(t, ready, accepted, "each accepted message delivered")
	for id, c := range ready {
		require.Equal(t, 1, c, "%s delivered once", id)
	}
	// a refused message was not processed: unwrapping it again delivers it
	before := len(ready)
	for _, w := range wires {
		unwrap(t, b, w)
	}
	require.Equal(t, n, len(ready))
	require.Greater(t, len(ready), before)
}

// TestZeroValueManager: a ReliabilityManager no constructor made answers
// every call with the bindings' "empty reliability manager" error instead of
// panicking, as a nil one does.
func TestZeroValueManager(t *testing.T) {
	var rm ReliabilityManager
	rm.RegisterCallbacks(EventCallbacks{OnPeriodicSync: func() { t.Fatal("called") }})
	_, err := rm.WrapOutgoingMessage([]byte("x"), "m", "c")
	require.ErrorIs(t, err, errEmptyReliabilityManager)
	_, err = rm.UnwrapReceivedMessage([]byte{1})
	require.ErrorIs(t, err, errEmptyReliabilityManager)
	require.ErrorIs(t, rm.MarkDependenciesMet([]MessageID{"m"}, "c"), errEmptyReliabilityManager)
	require.ErrorIs(t, rm.StartPeriodicTasks(), errEmptyReliabilityManager)
	require.ErrorIs(t, rm.Reset(), errEmptyReliabilityManager)
	require.EqualError(t, rm.Cleanup(), "empty reliability manager")
	rm.OnEvent(`{"eventType":"periodic_sync"}`)
	rm.OnCallbackError(1, "x")
	var nilRM *ReliabilityManager
	nilRM.OnEvent(`{"eventType":"periodic_sync"}`)
	nilRM.OnCallbackError(1, "x")
}

// TestOnEventDispatchesNimSdsJSON: OnEvent decodes nim-sds's event JSON (hints
// in base64) into the registered handlers, on the caller's goroutine.
func TestOnEventDispatchesNimSdsJSON(t *testing.T) {
	core, logs := observer.New(zapcore.ErrorLevel)
	rm, err := NewReliabilityManager(zap.New(core))
	require.NoError(t, err)
	defer func() { require.NoError(t, rm.Cleanup()) }()
	var rec recorder
	rm.RegisterCallbacks(rec.callbacks(false))
	for _, ev := range []string{
		`{"messageId":"m1","channelId":"ch","eventType":"message_ready"}`,
		`{"messageId":"m2","channelId":"ch","eventType":"message_sent"}`,
		`{"eventType":"missing_dependencies","messageId":"m3","channelId":"ch","missingDeps":[{"messageId":"m1","retrievalHint":"aGludA=="},{"messageId":"m0","retrievalHint":""}]}`,
		`{"eventType":"periodic_sync"}`,
		`{"eventType":"something_new","messageId":"m9"}`,
	} {
		rm.OnEvent(ev)
	}
	require.Equal(t, []string{"ready:m1@ch", "sent:m2@ch", "missing:m3@ch[m1(hint),m0]", "sync"}, rec.take(),
		"delivered before OnEvent returns; unknown types ignored")
	require.Zero(t, logs.Len())
	rm.OnEvent(`{"eventType":`)
	require.Empty(t, rec.take())
	require.Equal(t, 1, logs.Len(), "a malformed event is logged")

	rm.OnCallbackError(2, "missing callback")
	entries := logs.TakeAll()
	require.Len(t, entries, 2)
	last := entries[1]
	require.Equal(t, zapcore.ErrorLevel, last.Level)
	require.Equal(t, "sds callback error", last.Message)
	require.Equal(t, int64(2), last.ContextMap()["retCode"])
	require.Equal(t, "missing callback", last.ContextMap()["errMsg"])
}
