package sds

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/logos-messaging/libsds-go/core/clock"
)

// newRM returns a manager with a test logger, cleaned up when the test ends.
func newRM(t *testing.T) *ReliabilityManager {
	t.Helper()
	rm, err := NewReliabilityManager(zaptest.NewLogger(t))
	require.NoError(t, err)
	require.NotNil(t, rm)
	t.Cleanup(func() { require.NoError(t, rm.Cleanup()) })
	return rm
}

// newRMWith returns a manager built with options, cleaned up at the end.
func newRMWith(t *testing.T, opts Options) *ReliabilityManager {
	t.Helper()
	rm, err := NewReliabilityManagerWithOptions(zaptest.NewLogger(t), opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rm.Cleanup()) })
	return rm
}

// recorder keeps every event a manager delivers, as short strings in order.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

// take returns the events so far and forgets them.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// callbacks records every event kind; give-ups go to OnMessageSent unless
// givenUp is set.
func (r *recorder) callbacks(givenUp bool) EventCallbacks {
	cbs := EventCallbacks{
		OnMessageReady: func(id MessageID, ch string) { r.add("ready:%s@%s", id, ch) },
		OnMessageSent:  func(id MessageID, ch string) { r.add("sent:%s@%s", id, ch) },
		OnMissingDependencies: func(id MessageID, deps []HistoryEntry, ch string) {
			ids := make([]string, len(deps))
			for i, d := range deps {
				ids[i] = string(d.MessageID)
				if len(d.RetrievalHint) > 0 {
					ids[i] += "(" + string(d.RetrievalHint) + ")"
				}
			}
			r.add("missing:%s@%s[%s]", id, ch, strings.Join(ids, ","))
		},
		OnPeriodicSync:    func() { r.add("sync") },
		OnRepairReady:     func(msg []byte, ch string) { r.add("repair@%s", ch) },
		OnIncomingDropped: func(id MessageID, ch string) { r.add("dropped:%s@%s", id, ch) },
		OnStoreFailed:     func(ch string, err error) { r.add("storefailed@%s", ch) },
	}
	if givenUp {
		cbs.OnMessageGivenUp = func(id MessageID, ch string) { r.add("givenup:%s@%s", id, ch) }
	}
	return cbs
}

// wrap wraps content on rm, failing the test on error.
func wrap(t *testing.T, rm *ReliabilityManager, content, id, ch string) []byte {
	t.Helper()
	out, err := rm.WrapOutgoingMessage([]byte(content), MessageID(id), ch)
	require.NoError(t, err)
	require.NotEmpty(t, out)
	return out
}

// unwrap unwraps on rm, failing the test on error.
func unwrap(t *testing.T, rm *ReliabilityManager, msg []byte) *UnwrappedMessage {
	t.Helper()
	res, err := rm.UnwrapReceivedMessage(msg)
	require.NoError(t, err)
	require.NotNil(t, res.Message)
	require.NotNil(t, res.MissingDeps)
	require.NotNil(t, res.ChannelId)
	return res
}

func depIDs(deps []HistoryEntry) []MessageID {
	out := make([]MessageID, len(deps))
	for i, d := range deps {
		out[i] = d.MessageID
	}
	return out
}

// waitTimeout waits for wg, failing the test after timeout (as the bindings'
// tests do).
func waitTimeout(t *testing.T, wg *sync.WaitGroup, timeout time.Duration) {
	t.Helper()
	c := make(chan struct{})
	go func() {
		defer close(c)
		wg.Wait()
	}()
	select {
	case <-c:
	case <-time.After(timeout):
		t.Fatalf("timed out waiting for callbacks")
	}
}

// within runs f and fails the test if it does not return in time (a deadlock).
func within(t *testing.T, timeout time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		t.Fatalf("did not return within %v: deadlock?", timeout)
	}
}

// epoch is the fake clocks' start.
var epoch = time.Unix(1_750_000_000, 0)

func newFakeClock() *clock.Fake { return clock.NewFake(epoch) }
