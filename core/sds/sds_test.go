package sds

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests named as in sds-go-bindings' sds_test.go mirror them: they are
// what the bindings' users rely on. The others cover what the bindings' tests
// leave out (errors, ordering, re-entrancy, Cleanup) and the extensions.

func TestLifecycle(t *testing.T) {
	rm, err := NewReliabilityManager(nil) // a nil logger is allowed, as in the bindings
	require.NoError(t, err)
	require.NotNil(t, rm)
	rm.RegisterCallbacks(EventCallbacks{})
	require.NoError(t, rm.Reset())
	require.NoError(t, rm.StartPeriodicTasks())
	require.NoError(t, rm.StartPeriodicTasks(), "idempotent")

	require.NoError(t, rm.Cleanup())
	require.NoError(t, rm.Cleanup(), "a second Cleanup is not an error")

	_, err = rm.WrapOutgoingMessage([]byte("x"), "m", "c")
	require.ErrorIs(t, err, ErrClosed)
	_, err = rm.UnwrapReceivedMessage([]byte{1})
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, rm.MarkDependenciesMet([]MessageID{"m"}, "c"), ErrClosed)
	require.NoError(t, rm.MarkDependenciesMet(nil, "c"), "an empty list does nothing, as in the bindings")
	require.ErrorIs(t, rm.StartPeriodicTasks(), ErrClosed)
	require.ErrorIs(t, rm.Reset(), ErrClosed)
	rm.RegisterCallbacks(EventCallbacks{}) // harmless
}

func TestNilManager(t *testing.T) {
	var rm *ReliabilityManager
	rm.RegisterCallbacks(EventCallbacks{})
	_, err := rm.WrapOutgoingMessage([]byte("x"), "m", "c")
	require.ErrorIs(t, err, errEmptyReliabilityManager)
	_, err = rm.UnwrapReceivedMessage([]byte{1})
	require.ErrorIs(t, err, errEmptyReliabilityManager)
	require.ErrorIs(t, rm.MarkDependenciesMet([]MessageID{"m"}, "c"), errEmptyReliabilityManager)
	require.ErrorIs(t, rm.StartPeriodicTasks(), errEmptyReliabilityManager)
	require.ErrorIs(t, rm.Reset(), errEmptyReliabilityManager)
	_, err = rm.Channels()
	require.ErrorIs(t, err, errEmptyReliabilityManager)
	require.ErrorIs(t, rm.RemoveChannel("c"), errEmptyReliabilityManager)
	require.ErrorIs(t, rm.Cleanup(), errEmptyReliabilityManager)
	require.EqualError(t, rm.Cleanup(), "empty reliability manager")
}

func TestInvalidConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SyncInterval = 0
	_, err := NewReliabilityManagerWithOptions(nil, Options{Config: &cfg})
	require.ErrorIs(t, err, ErrInvalidConfig)
	// Upper bounds too, naming the field (every field: core/engine's TestConfigRanges).
	for field, mutate := range map[string]func(*Config){
		"BloomCapacity": func(c *Config) { c.BloomCapacity = 1<<32 - 1 },
		"MaxIDLength":   func(c *Config) { c.MaxIDLength = 1 << 20 },
		"SyncInterval":  func(c *Config) { c.SyncInterval = 1 << 62 },
	} {
		cfg := DefaultConfig()
		mutate(&cfg)
		_, err := NewReliabilityManagerWithOptions(nil, Options{Config: &cfg})
		require.ErrorIs(t, err, ErrInvalidConfig, field)
		require.ErrorContains(t, err, field)
	}
}

func TestOverBudgetMessageRefused(t *testing.T) {
	rm := newRM(t)
	_, err := rm.WrapOutgoingMessage([]byte("x"), MessageID(strings.Repeat("i", 1025)), "ch")
	require.ErrorIs(t, err, ErrMessageTooLarge)
}

func TestWrapUnwrap(t *testing.T) {
	rm := newRM(t)
	channelID := "test-wrap-unwrap"
	originalPayload := []byte("hello reliability")

	wrappedMsg, err := rm.WrapOutgoingMessage(originalPayload, "msg-wrap-1", channelID)
	require.NoError(t, err)
	require.NotEmpty(t, wrappedMsg)

	// Our own message comes back as a duplicate: content, no missing deps.
	res := unwrap(t, rm, wrappedMsg)
	require.Equal(t, string(originalPayload), string(*res.Message))
	require.Empty(t, *res.MissingDeps)
	require.Equal(t, channelID, *res.ChannelId)

	// A peer gets the same.
	res = unwrap(t, newRM(t), wrappedMsg)
	require.Equal(t, originalPayload, *res.Message)
	require.Empty(t, *res.MissingDeps)
	require.Equal(t, channelID, *res.ChannelId)

	// The content is a copy: changing the input leaves the result alone.
	wrappedMsg[len(wrappedMsg)-1] ^= 0xff
	require.Equal(t, originalPayload, *res.Message)
}

// TestUnwrappedJSON: the result marshals as the bindings' did.
func TestUnwrappedJSON(t *testing.T) {
	a, b := newRM(t), newRM(t)
	wrap(t, a, "one", "m1", "c")
	m2 := wrap(t, a, "two", "m2", "c")
	res := unwrap(t, b, m2)
	out, err := json.Marshal(res)
	require.NoError(t, err)
	require.JSONEq(t, `{"message":"dHdv","missingDeps":[{"messageId":"m1","retrievalHint":""}],"channelId":"c"}`, string(out))
	var back UnwrappedMessage
	require.NoError(t, json.Unmarshal(out, &back))
	require.Equal(t, *res.MissingDeps, *back.MissingDeps)
}

func TestWrapUnwrapErrors(t *testing.T) {
	rm := newRM(t)
	for name, content := range map[string][]byte{"empty": {}, "nil": nil} {
		_, err := rm.WrapOutgoingMessage(content, "m", "c")
		require.ErrorIs(t, err, ErrInvalidArgument, name)
		require.Contains(t, err.Error(), "error WrapOutgoingMessage: ")
	}
	_, err := rm.WrapOutgoingMessage([]byte("x"), "m", "")
	require.ErrorIs(t, err, ErrInvalidArgument, "empty channel")
	_, err = rm.WrapOutgoingMessage(make([]byte, 1<<20+1), "big", "c")
	require.ErrorIs(t, err, ErrMessageTooLarge)
	_, err = rm.WrapOutgoingMessage(make([]byte, 1<<20), "big", "c")
	require.NoError(t, err, "1 MiB is the limit, inclusive")
	_, err = rm.WrapOutgoingMessage([]byte("x"), "", "c")
	require.NoError(t, err, "the empty id is allowed")

	for name, in := range map[string][]byte{"nil": nil, "empty": {}, "garbage": {0xff, 1, 2, 3}} {
		_, err := rm.UnwrapReceivedMessage(in)
		require.ErrorIs(t, err, ErrDeserialization, name)
		require.Contains(t, err.Error(), "error UnwrapReceivedMessage: ")
	}
}

func TestDependencies(t *testing.T) {
	rm := newRM(t)
	channelID := "test-deps"
	msgID1 := MessageID("msg-dep-1")
	wrappedMsg1, err := rm.WrapOutgoingMessage([]byte("message one"), msgID1, channelID)
	require.NoError(t, err)
	_, err = rm.UnwrapReceivedMessage(wrappedMsg1)
	require.NoError(t, err)
	wrappedMsg2, err := rm.WrapOutgoingMessage([]byte("message two"), "msg-dep-2", channelID)
	require.NoError(t, err)

	rm2 := newRM(t)
	var rec recorder
	rm2.RegisterCallbacks(rec.callbacks(false))
	res := unwrap(t, rm2, wrappedMsg2)
	require.Equal(t, []MessageID{msgID1}, depIDs(*res.MissingDeps))
	require.NoError(t, rm2.MarkDependenciesMet([]MessageID{msgID1}, channelID))
	rm2.flush()
	require.Equal(t, []string{"missing:msg-dep-2@test-deps[msg-dep-1]", "ready:msg-dep-2@test-deps"}, rec.take())
}

// TestDependenciesResolvedByArrival: the missing message arrives; messages it
// releases are reported before it, as nim-sds does.
func TestDependenciesResolvedByArrival(t *testing.T) {
	a, b := newRM(t), newRM(t)
	var rec recorder
	b.RegisterCallbacks(rec.callbacks(false))
	m1 := wrap(t, a, "1", "m1", "c")
	m2 := wrap(t, a, "2", "m2", "c")
	m3 := wrap(t, a, "3", "m3", "c")
	require.Equal(t, []MessageID{"m1", "m2"}, depIDs(*unwrap(t, b, m3).MissingDeps))
	require.Equal(t, []MessageID{"m1"}, depIDs(*unwrap(t, b, m2).MissingDeps))
	require.Empty(t, *unwrap(t, b, m1).MissingDeps)
	b.flush()
	require.Equal(t, []string{
		"missing:m3@c[m1,m2]", "missing:m2@c[m1]",
		"ready:m2@c", "ready:m3@c", "ready:m1@c",
	}, rec.take())
}

func TestMarkDependenciesMetErrors(t *testing.T) {
	rm := newRM(t)
	err := rm.MarkDependenciesMet([]MessageID{"x"}, "nochan")
	require.ErrorIs(t, err, ErrUnknownChannel)
	require.Contains(t, err.Error(), "error MarkDependenciesMet: ")
	require.ErrorIs(t, rm.MarkDependenciesMet([]MessageID{"x"}, ""), ErrInvalidArgument)
	require.NoError(t, rm.MarkDependenciesMet(nil, "nochan"), "an empty list does nothing, as in the bindings")
	require.NoError(t, rm.MarkDependenciesMet([]MessageID{}, ""))
}

func TestCallback_OnMessageReady(t *testing.T) {
	senderRm, receiverRm := newRM(t), newRM(t)
	channelID := "test-cb-ready"
	readyChan := make(chan MessageID, 1)
	receiverRm.RegisterCallbacks(EventCallbacks{
		OnMessageReady: func(messageId MessageID, chId string) {
			assert.Equal(t, channelID, chId)
			select {
			case readyChan <- messageId:
			default:
			}
		},
	})
	msgID := MessageID("cb-ready-1")
	wrappedMsg, err := senderRm.WrapOutgoingMessage([]byte("ready test"), msgID, channelID)
	require.NoError(t, err)
	_, err = receiverRm.UnwrapReceivedMessage(wrappedMsg)
	require.NoError(t, err)
	select {
	case got := <-readyChan:
		require.Equal(t, msgID, got)
	case <-time.After(2 * time.Second):
		t.Fatal("timed out waiting for OnMessageReady")
	}
}

func TestCallback_OnMessageSent(t *testing.T) {
	rm1, rm2 := newRM(t), newRM(t)
	channelID := "test-cb-sent"
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sent []MessageID
	rm1.RegisterCallbacks(EventCallbacks{
		OnMessageSent: func(messageId MessageID, chId string) {
			assert.Equal(t, channelID, chId)
			mu.Lock()
			sent = append(sent, messageId)
			mu.Unlock()
			wg.Done()
		},
	})
	wrappedMsg1 := wrap(t, rm1, "sent test 1", "cb-sent-1", channelID)
	unwrap(t, rm2, wrappedMsg1)
	wrappedMsg2 := wrap(t, rm2, "sent test 2", "cb-sent-2", channelID)
	wg.Add(1)
	unwrap(t, rm1, wrappedMsg2)
	waitTimeout(t, &wg, 2*time.Second)
	rm1.flush()
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []MessageID{"cb-sent-1"}, sent)
}

// TestCallback_OnMessageSentOnGiveUp: a message out of resend attempts is
// reported as sent, as nim-sds does — or to OnMessageGivenUp when it is set.
func TestCallback_OnMessageSentOnGiveUp(t *testing.T) {
	for _, givenUp := range []bool{false, true} {
		clk := newFakeClock()
		cfg := DefaultConfig()
		cfg.ResendInterval = time.Second
		cfg.MaxResendAttempts = 1
		rm := newRMWith(t, Options{Config: &cfg, Clock: clk})
		var rec recorder
		rm.RegisterCallbacks(rec.callbacks(givenUp))
		wrap(t, rm, "x", "m1", "c")
		clk.Advance(2 * time.Second)
		require.NoError(t, rm.engine.SweepBuffers()) // one resend attempt
		clk.Advance(2 * time.Second)
		require.NoError(t, rm.StartPeriodicTasks()) // the first sweep gives up
		rm.flush()
		want := "sent:m1@c"
		if givenUp {
			want = "givenup:m1@c"
		}
		require.Equal(t, []string{want, "sync"}, rec.take())
	}
}

func TestCallback_OnMissingDependencies(t *testing.T) {
	senderRm, receiverRm := newRM(t), newRM(t)
	channelID := "test-cb-missing"
	var wg sync.WaitGroup
	var mu sync.Mutex
	var missingMsgID MessageID
	var missing []MessageID
	receiverRm.RegisterCallbacks(EventCallbacks{
		OnMissingDependencies: func(messageId MessageID, missingDeps []HistoryEntry, chId string) {
			assert.Equal(t, channelID, chId)
			mu.Lock()
			missingMsgID, missing = messageId, depIDs(missingDeps)
			mu.Unlock()
			wg.Done()
		},
	})
	wrap(t, senderRm, "missing test 1", "cb-miss-1", channelID)
	wrappedMsg2 := wrap(t, senderRm, "missing test 2", "cb-miss-2", channelID)
	wg.Add(1)
	unwrap(t, receiverRm, wrappedMsg2)
	waitTimeout(t, &wg, 2*time.Second)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, MessageID("cb-miss-2"), missingMsgID)
	require.Equal(t, []MessageID{"cb-miss-1"}, missing)
}

func TestCallback_OnPeriodicSync(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SyncInterval = 20 * time.Millisecond
	rm := newRMWith(t, Options{Config: &cfg})
	syncs := make(chan struct{}, 1000)
	rm.RegisterCallbacks(EventCallbacks{OnPeriodicSync: func() { syncs <- struct{}{} }})
	require.NoError(t, rm.StartPeriodicTasks())
	rm.flush()
	require.NotEmpty(t, syncs, "the first sync is queued before StartPeriodicTasks returns")
	deadline := time.After(5 * time.Second)
	for n := 0; n < 3; n++ { // then one per SyncInterval
		select {
		case <-syncs:
		case <-deadline:
			t.Fatalf("timed out waiting for OnPeriodicSync (got %d)", n)
		}
	}
}

// TestStartPeriodicTasksIdempotent: a second start starts no second set of
// loops (nim-sds would, and fire a second first-round sync).
func TestStartPeriodicTasksIdempotent(t *testing.T) {
	rm := newRM(t) // default 30 s sync interval
	var rec recorder
	rm.RegisterCallbacks(rec.callbacks(false))
	require.NoError(t, rm.StartPeriodicTasks())
	require.NoError(t, rm.StartPeriodicTasks())
	rm.flush()
	require.Equal(t, []string{"sync"}, rec.take())
	require.True(t, rm.runner.Running())
	require.NoError(t, rm.Cleanup())
	require.False(t, rm.runner.Running(), "Cleanup stops the periodic tasks")
}

func TestChannelsAndRemoveChannel(t *testing.T) {
	rm := newRM(t)
	for _, ch := range []string{"b", "a", "c"} {
		_, err := rm.WrapOutgoingMessage([]byte("x"), MessageID("m-"+ch), ch)
		require.NoError(t, err)
	}
	ids, err := rm.Channels()
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c"}, ids)
	require.NoError(t, rm.RemoveChannel("b"))
	require.NoError(t, rm.RemoveChannel("never"))
	ids, err = rm.Channels()
	require.NoError(t, err)
	require.Equal(t, []string{"a", "c"}, ids)
	require.NoError(t, rm.Cleanup())
	_, err = rm.Channels()
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, rm.RemoveChannel("a"), ErrClosed)
}

// TestAppendWrapOutgoingMessage: the appending wrap writes after what dst
// holds, the same message a peer unwraps, and leaves dst to the caller on
// error.
func TestAppendWrapOutgoingMessage(t *testing.T) {
	a, err := NewReliabilityManager(nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, a.Cleanup()) }()
	b, err := NewReliabilityManager(nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Cleanup()) }()

	prefix := []byte("frame:")
	buf := append(make([]byte, 0, 64), prefix...)
	for i, id := range []MessageID{"m1", "m2", "m3"} {
		out, err := a.AppendWrapOutgoingMessage(buf, []byte("hello"), id, "c")
		require.NoError(t, err)
		require.Equal(t, prefix, out[:len(prefix)], "dst's bytes kept")
		res, err := b.UnwrapReceivedMessage(out[len(prefix):])
		require.NoError(t, err)
		require.Equal(t, []byte("hello"), *res.Message)
		require.Empty(t, *res.MissingDeps, "message %d cites what b has", i)
		buf = out[:len(prefix)] // reused, as a sender would
	}

	out, err := a.AppendWrapOutgoingMessage(buf, nil, "m4", "c")
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.Equal(t, buf, out, "dst returned on error")
	out, err = a.AppendWrapOutgoingMessage(buf, []byte("x"), "m4", "")
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.Equal(t, buf, out)

	var zero ReliabilityManager
	out, err = zero.AppendWrapOutgoingMessage(buf, []byte("x"), "m", "c")
	require.ErrorIs(t, err, errEmptyReliabilityManager)
	require.Equal(t, buf, out)
}
