package sds

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/scheduler"
	"github.com/logos-messaging/libsds-go/core/wire"
	"github.com/logos-messaging/libsds-go/internal/goid"
)

// Errors the methods return, wrapped with the method's name; test with
// errors.Is. All but ErrReentrantCall are the engine's sentinels.
var (
	// ErrClosed: the manager was cleaned up.
	ErrClosed = engine.ErrClosed
	// ErrInvalidArgument: empty content to wrap, or an empty channel id (the
	// bindings get these from nim-sds as reInvalidArgument).
	ErrInvalidArgument = engine.ErrInvalidArgument
	// ErrMessageTooLarge: content over 1 MiB to wrap (as nim-sds), or unwrap
	// input over 16 MiB.
	ErrMessageTooLarge = engine.ErrMessageTooLarge
	// ErrDeserialization: the unwrap input is not an SDS message.
	ErrDeserialization = engine.ErrDeserialization
	// ErrUnknownChannel: MarkDependenciesMet on a channel the manager has never
	// seen (nim-sds reports reInvalidArgument).
	ErrUnknownChannel = engine.ErrUnknownChannel
	// ErrTooManyChannels: the call would create a channel beyond
	// Config.MaxChannels.
	ErrTooManyChannels = engine.ErrTooManyChannels
	// ErrStore: the store failed; with a transactional store the call's changes
	// were rolled back.
	ErrStore = engine.ErrStore
	// ErrInvalidConfig: an Options.Config field is out of range.
	ErrInvalidConfig = engine.ErrInvalidConfig
	// ErrReentrantCall: the RetrievalHintProvider called into the manager that
	// is asking it for a hint.
	ErrReentrantCall = errors.New("sds: call from the retrieval-hint provider into its own manager")
	// ErrEventQueueFull: a call from inside an event handler found
	// EventChanBufferSize batches of events not yet delivered; it did nothing.
	// Return from the handler (the queue drains) and call again.
	ErrEventQueueFull = errors.New("sds: event queue full")
)

// errEmptyReliabilityManager is what every method of a nil manager returns,
// with the bindings' text, and of a zero-value one, which no constructor made.
var errEmptyReliabilityManager = errors.New("empty reliability manager")

// EventChanBufferSize bounds a manager's queue of undelivered events, in
// batches (one batch per call or periodic task; the name and the value are
// sds-go-bindings'). The queue only grows while handlers run late: every call
// waits for the events it caused, so it reaches the bound only through calls
// made from inside handlers, which then fail with ErrEventQueueFull.
const EventChanBufferSize = 1024

// ReliabilityManager is an SDS reliability manager for any number of
// channels: the pure-Go replacement for the sds-go-bindings type of the same
// name. Its methods are safe for concurrent use, and may be called from inside
// its event handlers.
type ReliabilityManager struct {
	logger    *zap.Logger
	engine    *engine.Manager
	runner    *scheduler.Runner
	callbacks atomic.Pointer[EventCallbacks]

	mu      sync.Mutex // guards closing, and orders StartPeriodicTasks before Cleanup
	closing bool
	closed  atomic.Bool // set when Cleanup begins: later calls fail
	done    chan struct{}
	// stopDelivery is set when Cleanup runs inside an event handler: the rest of
	// the batch being delivered must not run after Cleanup returns.
	stopDelivery atomic.Bool

	// The event queue (see delivery.go). dmu guards the fields after it;
	// dcond, on dmu, is signalled when a batch has been delivered or the
	// deliverer stops.
	dmu       sync.Mutex
	dcond     sync.Cond
	batches   [][]engine.Event // batches[head:] are queued, not yet delivered, in order
	head      int
	posted    uint64 // batches ever queued
	delivered uint64 // batches whose handlers have run (or were dropped)
	// postedAtDelivery is posted when the last delivered batch finished: the
	// batches its handlers queued are among the first postedAtDelivery.
	postedAtDelivery uint64
	qclosed          bool // Cleanup: later batches are dropped
	// deliverer is the goroutine delivering this manager's events (its
	// goid.Current), zero when none is; written under dmu.
	deliverer atomic.Uint64

	// Detection of a call from the hint provider into this manager: wrapMu
	// serializes the wraps that may ask for hints, wrapG is the goroutine of the
	// one in progress, inHint is set while the provider runs.
	wrapMu sync.Mutex
	wrapG  atomic.Uint64
	inHint atomic.Bool
}

// NewReliabilityManager creates a manager as sds-go-bindings does: nim-sds
// defaults, no SDS-R, state in memory. A nil logger logs nothing. Register the
// handlers with RegisterCallbacks, and call Cleanup when done.
func NewReliabilityManager(logger *zap.Logger) (*ReliabilityManager, error) {
	return NewReliabilityManagerWithOptions(logger, Options{})
}

// NewReliabilityManagerWithOptions creates a manager with a participant id
// (SDS-R), a configuration, a store and a clock; see Options. A store that can
// list its channels has them all restored now.
func NewReliabilityManagerWithOptions(logger *zap.Logger, opts Options) (*ReliabilityManager, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	rm := &ReliabilityManager{logger: logger, done: make(chan struct{})}
	rm.dcond.L = &rm.dmu
	rm.logger.Info("creating new reliability manager")
	m, err := engine.New(engine.Options{
		ParticipantID: opts.ParticipantID,
		Config:        opts.Config,
		Store:         opts.Store,
		Clock:         opts.Clock,
		Events:        engine.EventSinkFunc(rm.post),
		HintProvider:  rm.hint,
	})
	if err != nil {
		return nil, fmt.Errorf("error creating reliability manager: %w", err)
	}
	rm.engine = m
	rm.runner = scheduler.New(periodicTasks{rm}, scheduler.IntervalsOf(m.Config()), func(err error) {
		rm.logger.Warn("sds periodic task failed", zap.Error(err))
	})
	rm.logger.Debug("successfully created reliability manager")
	return rm, nil
}

// RegisterCallbacks sets the handlers, replacing any set before. It may be
// called at any time; an event is given to the handlers registered when it is
// delivered. Set RetrievalHintProvider before wrapping, not during a wrap.
func (rm *ReliabilityManager) RegisterCallbacks(callbacks EventCallbacks) {
	if !rm.usable() {
		return
	}
	rm.callbacks.Store(&callbacks)
}

// WrapOutgoingMessage stamps message with the channel's SDS metadata (lamport
// timestamp, causal history with retrieval hints, bloom filter) and returns
// the bytes to broadcast. The message waits for an acknowledgement in the
// outgoing buffer; OnMessageSent reports it. The channel is created on first
// use.
//
// Empty message content or an empty channelId is ErrInvalidArgument, content
// over 1 MiB is ErrMessageTooLarge, as with nim-sds. An empty messageId is
// allowed.
func (rm *ReliabilityManager) WrapOutgoingMessage(message []byte, messageId MessageID, channelId string) ([]byte, error) {
	return rm.appendWrap("WrapOutgoingMessage", nil, message, messageId, channelId)
}

// AppendWrapOutgoingMessage is WrapOutgoingMessage appending the bytes to
// broadcast to dst and returning the extended slice, for a sender that hands
// them to its transport and reuses the buffer: each wire message carries the
// channel's bloom filter (kilobytes), and a fresh slice per message costs the
// garbage collector more than the wrap itself. On error it returns dst.
func (rm *ReliabilityManager) AppendWrapOutgoingMessage(dst, message []byte, messageId MessageID, channelId string) ([]byte, error) {
	return rm.appendWrap("AppendWrapOutgoingMessage", dst, message, messageId, channelId)
}

func (rm *ReliabilityManager) appendWrap(op string, dst, message []byte, messageId MessageID, channelId string) ([]byte, error) {
	if !rm.usable() {
		return dst, errEmptyReliabilityManager
	}
	nested, err := rm.enter(op)
	if err != nil {
		return dst, err
	}
	if !nested {
		defer rm.settle()
	}
	if channelId == "" {
		return dst, fail(op, fmt.Errorf("%w: channel ID is empty string", ErrInvalidArgument))
	}
	rm.logger.Debug("wrapping outgoing message", zap.String("messageId", string(messageId)))
	if cbs := rm.callbacks.Load(); cbs != nil && cbs.RetrievalHintProvider != nil {
		// The provider will run on this goroutine: remember it, so that a call
		// back from the provider is refused instead of deadlocking.
		rm.wrapMu.Lock()
		defer rm.wrapMu.Unlock()
		rm.wrapG.Store(goid.Current())
		defer rm.wrapG.Store(0)
	}
	out, err := rm.engine.AppendWrap(dst, message, string(messageId), channelId)
	if err != nil {
		return dst, fail(op, err)
	}
	return out, nil
}

// UnwrapReceivedMessage processes a received SDS message and returns its
// content, channel and missing dependencies. It acknowledges our messages the
// sender has seen (OnMessageSent), then delivers the message (OnMessageReady,
// after any buffered messages it releases) or buffers it until its
// dependencies arrive (OnMissingDependencies). A message already delivered is
// a duplicate: its content comes back with no event. Input that is not an SDS
// message is ErrDeserialization.
func (rm *ReliabilityManager) UnwrapReceivedMessage(message []byte) (*UnwrappedMessage, error) {
	const op = "UnwrapReceivedMessage"
	if !rm.usable() {
		return nil, errEmptyReliabilityManager
	}
	nested, err := rm.enter(op)
	if err != nil {
		return nil, err
	}
	if !nested {
		defer rm.settle()
	}
	res, err := rm.engine.Unwrap(message)
	if err != nil {
		return nil, fail(op, err)
	}
	content := bytes.Clone(res.Content) // the engine's aliases the input
	if content == nil {
		content = []byte{}
	}
	missing := historyEntries(res.MissingDeps)
	channelID := res.ChannelID
	rm.logger.Debug("successfully unwrapped message")
	return &UnwrappedMessage{Message: &content, MissingDeps: &missing, ChannelId: &channelID}, nil
}

// MarkDependenciesMet tells the manager that the application obtained the
// given messages by other means (for example through their retrieval hints),
// so that messages waiting for them are delivered (OnMessageReady). An empty
// list does nothing, as in the bindings. Otherwise the channel must exist
// (ErrUnknownChannel) and not be empty (ErrInvalidArgument).
func (rm *ReliabilityManager) MarkDependenciesMet(messageIDs []MessageID, channelId string) error {
	const op = "MarkDependenciesMet"
	if !rm.usable() {
		return errEmptyReliabilityManager
	}
	if len(messageIDs) == 0 {
		return nil
	}
	nested, err := rm.enter(op)
	if err != nil {
		return err
	}
	if !nested {
		defer rm.settle()
	}
	if channelId == "" {
		return fail(op, fmt.Errorf("%w: channel ID is empty string", ErrInvalidArgument))
	}
	ids := make([]string, len(messageIDs))
	for i, id := range messageIDs {
		ids[i] = string(id)
	}
	if err := rm.engine.MarkDependenciesMet(ids, channelId); err != nil {
		return fail(op, err)
	}
	rm.logger.Debug("successfully marked dependencies as met")
	return nil
}

// StartPeriodicTasks starts the periodic work: the buffer sweep (resend
// accounting and give-ups), the sync notification (OnPeriodicSync) and the
// SDS-R repair sweep, at the intervals of the configuration. Each task runs
// once at once, before StartPeriodicTasks returns, as nim-sds's loops do; the
// events of that first round are queued by then. Calling it again while the
// tasks run does nothing (nim-sds would start a second set). Cleanup stops them.
func (rm *ReliabilityManager) StartPeriodicTasks() error {
	const op = "StartPeriodicTasks"
	if !rm.usable() {
		return errEmptyReliabilityManager
	}
	nested, err := rm.enter(op)
	if err != nil {
		return err
	}
	if !nested {
		defer rm.settle()
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if rm.closing {
		return fail(op, ErrClosed)
	}
	if rm.runner.Start() {
		rm.logger.Debug("successfully started periodic tasks")
	}
	return nil
}

// Reset forgets every channel (in the store too, if there is one). The
// handlers and the periodic tasks are kept, as in nim-sds.
func (rm *ReliabilityManager) Reset() error {
	const op = "ResetReliabilityManager"
	if !rm.usable() {
		return errEmptyReliabilityManager
	}
	nested, err := rm.enter(op)
	if err != nil {
		return err
	}
	if !nested {
		defer rm.settle()
	}
	if err := rm.engine.Reset(); err != nil {
		return fail(op, err)
	}
	rm.logger.Debug("successfully reset reliability manager")
	return nil
}

// Channels lists every channel the manager has, sorted: those in memory and
// those only in its store (loaded on first use), including channels set aside
// after a bad stored record. With RemoveChannel, how an application cleans up
// channels it no longer wants.
func (rm *ReliabilityManager) Channels() ([]string, error) {
	if rm == nil {
		return nil, errEmptyReliabilityManager
	}
	if _, err := rm.enter("Channels"); err != nil {
		return nil, err
	}
	return rm.engine.Channels(), nil
}

// RemoveChannel forgets one channel, in memory and in the store. An unknown
// channel is not an error.
func (rm *ReliabilityManager) RemoveChannel(channelId string) error {
	const op = "RemoveChannel"
	if rm == nil {
		return errEmptyReliabilityManager
	}
	if _, err := rm.enter(op); err != nil {
		return err
	}
	if err := rm.engine.RemoveChannel(channelId); err != nil {
		return fail(op, err)
	}
	return nil
}

// Cleanup stops the periodic tasks, releases the manager's state (a store is
// left as it is, not closed) and delivers the events already queued. No
// handler runs after Cleanup returns; later calls return ErrClosed, and a
// second Cleanup returns nil. Called from inside a handler it returns at once,
// dropping the events not yet delivered.
func (rm *ReliabilityManager) Cleanup() error {
	if !rm.usable() {
		return errEmptyReliabilityManager
	}
	if rm.reentrant() {
		return fail("CleanupReliabilityManager", ErrReentrantCall)
	}
	inside := rm.inHandler()
	rm.mu.Lock()
	if rm.closing {
		rm.mu.Unlock()
		if inside {
			rm.dropQueued()
		} else {
			<-rm.done
		}
		return nil
	}
	rm.closing = true
	rm.closed.Store(true)
	rm.mu.Unlock()

	rm.logger.Debug("cleaning up reliability manager")
	rm.runner.Stop()
	if err := rm.engine.Close(); err != nil && !errors.Is(err, engine.ErrClosed) {
		rm.logger.Warn("closing sds engine", zap.Error(err))
	}
	if inside {
		rm.dropQueued()
	} else {
		rm.closeQueue()
	}
	close(rm.done)
	rm.logger.Debug("cleaned up reliability manager")
	return nil
}

// usable reports whether rm was made by a constructor: nil and zero-value
// managers answer errEmptyReliabilityManager instead of panicking.
func (rm *ReliabilityManager) usable() bool { return rm != nil && rm.engine != nil }

// enter refuses calls after Cleanup and calls from the hint provider, tells
// whether the call comes from inside a handler (nested: it must not wait for
// events), and keeps the event queue bounded: a call finding
// EventChanBufferSize batches undelivered waits for them to be delivered, or,
// from inside a handler (which they wait for), fails.
func (rm *ReliabilityManager) enter(op string) (nested bool, err error) {
	if rm.closed.Load() {
		return false, fail(op, ErrClosed)
	}
	if rm.reentrant() {
		return false, fail(op, ErrReentrantCall)
	}
	nested = rm.inHandler()
	if rm.queued() >= EventChanBufferSize {
		if nested {
			return true, fail(op, ErrEventQueueFull)
		}
		rm.settle()
	}
	return nested, nil
}

// periodicTasks runs the scheduler's tasks, skipping a round while
// EventChanBufferSize batches are undelivered (a handler is stuck): the sweeps
// redo any skipped work next round, and the queue stays bounded. The loops do
// not wait for their events, which could deadlock with a handler's Cleanup.
type periodicTasks struct{ rm *ReliabilityManager }

func (p periodicTasks) SweepBuffers() error { return p.run(p.rm.engine.SweepBuffers) }
func (p periodicTasks) SyncTick() error     { return p.run(p.rm.engine.SyncTick) }
func (p periodicTasks) SweepRepairs() error { return p.run(p.rm.engine.SweepRepairs) }

func (p periodicTasks) run(task func() error) error {
	if p.rm.queued() >= EventChanBufferSize {
		return nil
	}
	err := task()
	p.rm.deliverInBackground()
	return err
}

// reentrant reports whether the caller is the hint provider of a wrap in
// progress. It costs an atomic load unless a provider is running.
func (rm *ReliabilityManager) reentrant() bool {
	if !rm.inHint.Load() {
		return false
	}
	g := rm.wrapG.Load()
	return g != 0 && g == goid.Current()
}

// hint is the engine's hint provider: the application's, if registered.
func (rm *ReliabilityManager) hint(messageID string) []byte {
	cbs := rm.callbacks.Load()
	if cbs == nil || cbs.RetrievalHintProvider == nil {
		return nil
	}
	rm.inHint.Store(true)
	defer rm.inHint.Store(false)
	return cbs.RetrievalHintProvider(MessageID(messageID))
}

// flush waits until the handlers of every event queued so far have run (from
// inside a handler it returns at once). Tests use it to see the events of the
// periodic tasks.
func (rm *ReliabilityManager) flush() {
	if !rm.inHandler() {
		rm.settle()
	}
}

func fail(op string, err error) error { return fmt.Errorf("error %s: %w", op, err) }

// historyEntries copies the engine's entries; the result is never nil and an
// empty hint is an empty slice, as the bindings decode them.
func historyEntries(deps []wire.HistoryEntry) []HistoryEntry {
	out := make([]HistoryEntry, len(deps))
	for i, d := range deps {
		hint := bytes.Clone(d.RetrievalHint)
		if hint == nil {
			hint = []byte{}
		}
		out[i] = HistoryEntry{MessageID: MessageID(d.MessageID), RetrievalHint: hint}
	}
	return out
}
