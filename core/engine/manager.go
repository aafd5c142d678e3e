package engine

import (
	"fmt"
	"hash/maphash"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/logos-messaging/libsds-go/core/clock"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// HintProvider returns the retrieval hint (for example a transport message hash)
// the application knows for a message id, or nil. The engine asks for every
// causal-history entry of every outgoing message, with its lock held.
type HintProvider func(messageID string) []byte

// Options configure a Manager. The zero value is valid: no SDS-R, nim-sds
// defaults, no persistence, wall clock, events discarded.
type Options struct {
	// ParticipantID identifies this participant; a non-empty id enables SDS-R
	// (repair requests and responses) and is sent as the messages' sender id.
	ParticipantID string
	// Config overrides DefaultConfig when non-nil.
	Config *Config
	// Store persists the state; nil keeps it in memory only. The caller owns the
	// store: the manager never closes it.
	Store store.Store
	// Clock is the time source; nil is the wall clock.
	Clock clock.Clock
	// Events receives the events; nil discards them.
	Events EventSink
	// HintProvider supplies retrieval hints; nil sends none.
	HintProvider HintProvider
}

// Manager is an SDS reliability manager for any number of channels.
type Manager struct {
	mu            sync.Mutex
	cfg           Config
	participantID string
	clock         clock.Clock
	store         store.Store
	tx            store.Transactional // nil unless the store supports transactions
	due           store.DueIndex      // non-nil: channels load lazily (see New)
	persistent    bool                // false for the no-op store: skip record encoding
	sink          EventSink
	hints         HintProvider
	channels      map[string]*channel
	stale         map[string]struct{} // in the store, not in memory (not loaded yet, or dropped after a store failure)
	quarantined   map[string]error    // channels with a bad stored record, and why
	closed        bool
	op            op
	seed          maphash.Seed        // keys the hashes of ids the logs let go
	events        []Event             // the room left after the last batch of events (see emit)
	history       []wire.HistoryEntry // causalHistory's buffer, reused: entries live for one wrap
	scratch       []byte              // Wrap's encoding buffer (see appendWrap)
	historyFits   bool                // cfg.historyFits()
}

// op is the bookkeeping of the protocol operation in progress (one at a time,
// under mu).
type op struct {
	began   bool     // store transaction open
	failed  error    // first store error inside a transaction
	touched []string // channels the operation changed
	created []string // channels the operation created (nothing stored before)
	events  []Event
}

// New builds a manager. If the store can list its channels, the manager knows
// every stored channel from the start: with a store.DueIndex it loads each one
// lazily (on first use, or when a sweep finds it due), otherwise it loads them
// all now.
func New(opts Options) (*Manager, error) {
	cfg := DefaultConfig()
	if opts.Config != nil {
		cfg = *opts.Config
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:           cfg,
		participantID: opts.ParticipantID,
		clock:         opts.Clock,
		store:         opts.Store,
		sink:          opts.Events,
		hints:         opts.HintProvider,
		channels:      make(map[string]*channel),
		stale:         make(map[string]struct{}),
		seed:          maphash.MakeSeed(),
		quarantined:   make(map[string]error),
		historyFits:   cfg.historyFits(),
	}
	if m.clock == nil {
		m.clock = clock.System{}
	}
	if m.sink == nil {
		m.sink = discardSink{}
	}
	if m.store == nil {
		m.store = store.NoOp{}
	}
	_, isNoOp := m.store.(store.NoOp)
	m.persistent = !isNoOp
	m.tx, _ = m.store.(store.Transactional)
	if lister, ok := m.store.(store.ChannelLister); ok {
		ids, err := lister.ListChannels()
		if err != nil {
			return nil, fmt.Errorf("%w: listing channels: %w", ErrStore, err)
		}
		for _, id := range ids {
			m.stale[id] = struct{}{}
		}
		m.due, _ = m.store.(store.DueIndex)
		if m.due == nil { // no due times: load everything now, so timers run
			m.mu.Lock()
			err = m.reloadStale()
			m.mu.Unlock()
			if err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// ParticipantID returns the participant id the manager was built with.
func (m *Manager) ParticipantID() string { return m.participantID }

// Config returns the manager's configuration.
func (m *Manager) Config() Config { return m.cfg }

// SetHintProvider replaces the retrieval-hint provider (nil removes it).
func (m *Manager) SetHintProvider(p HintProvider) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hints = p
}

// Close releases the in-memory state; later calls return ErrClosed. The store
// is left as it is, so a new manager on the same store resumes from it.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.closed = true
	m.channels = nil
	m.stale = nil
	m.quarantined = nil
	return nil
}

// Channels returns the ids of the channels the manager holds, sorted.
func (m *Manager) Channels() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.channelIDs()
}

// channelIDs lists the channels held, loaded, stale or quarantined, sorted;
// the caller holds mu.
func (m *Manager) channelIDs() []string {
	ids := make([]string, 0, len(m.channels)+len(m.stale)+len(m.quarantined))
	for id := range m.channels {
		ids = append(ids, id)
	}
	for id := range m.stale {
		ids = append(ids, id)
	}
	for id := range m.quarantined {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// start begins an operation; the caller holds mu.
func (m *Manager) start() error {
	if m.closed {
		return ErrClosed
	}
	m.op = op{touched: m.op.touched[:0]} // the touched list's buffer is reused
	return nil
}

// finish ends the operation: it commits or rolls back the store transaction,
// applies the failure policy and hands the events to the sink. It returns err,
// or ErrStore if the store failed inside a transaction.
func (m *Manager) finish(err error) error {
	o := &m.op
	m.saveDue()
	if o.began {
		if o.failed == nil {
			if cerr := m.tx.Commit(); cerr != nil {
				o.failed = fmt.Errorf("commit: %w", cerr)
				_ = m.tx.Rollback() // a failed commit may leave the transaction open
			}
		} else {
			_ = m.tx.Rollback() // the original failure is what we report
		}
	}
	if o.failed != nil {
		// Memory went ahead of what the store kept: forget it and reload — also
		// for channels the operation already forgot (reset, removal), which
		// the store still holds.
		for _, id := range o.touched {
			delete(m.channels, id)
			m.stale[id] = struct{}{}
		}
		err = fmt.Errorf("%w: %w", ErrStore, o.failed)
		clear(o.events) // not delivered: their room serves the next operation
	} else if n := len(o.events); n > 0 {
		m.sink.Deliver(o.events[:n:n]) // capped: the next batch cannot reach it
		m.events = o.events[n:]
	}
	// A channel this operation created and did not change, or changed in a
	// transaction that did not commit, is not in the store: a restart would
	// not have it, so memory does not keep it either (nor count it against
	// MaxChannels).
	for _, id := range o.created {
		if o.failed != nil || !slices.Contains(o.touched, id) {
			delete(m.channels, id)
			delete(m.stale, id)
		}
	}
	clear(o.touched)
	clear(o.created)
	m.op = op{touched: o.touched[:0], created: o.created[:0]}
	return err
}

// saveDue records, for every channel the operation changed, when its timers
// next need it, if that moved.
func (m *Manager) saveDue() {
	if m.due == nil || m.op.failed != nil {
		return
	}
	for _, id := range m.op.touched {
		c, ok := m.channels[id]
		if !ok {
			continue // dropped: the store dropped its due time with it
		}
		due := m.dueOf(c)
		if due == c.dueMs || !m.persist() {
			continue
		}
		if err := m.due.SaveChannelDue(id, due); err != nil {
			m.check("saveChannelDue", id, err)
			continue
		}
		c.dueMs = due
	}
}

// dueOf is when a sweep next has work on the channel, in Unix milliseconds
// (0: never): the first resend, repair response, or repair request expiry, or
// now when re-requests are on and a missing message has no request pending.
// It may be early (the resend bound, outLow, lags removals until the next
// buffer sweep), never late: an early due time costs one early load.
func (m *Manager) dueOf(c *channel) int64 {
	var due int64
	at := func(t time.Time) {
		ms := max(t.UnixMilli()+1, 1) // a sweep acts strictly after the time
		if due == 0 || ms < due {
			due = ms
		}
	}
	if len(c.outgoing) > 0 {
		at(c.outLow.Add(m.cfg.ResendInterval))
	}
	if _, t, _, ok := c.inRepairs.Peek(); ok {
		at(t.Add(-time.Millisecond))
	}
	if _, t, _, ok := c.outRepairs.Peek(); ok {
		at(t.Add(m.cfg.RepairTMax))
	}
	if m.cfg.RerequestRepairs && m.participantID != "" {
		for id := range c.waiting {
			if !c.outRepairs.Has(id) {
				at(m.clock.Now().Add(-time.Millisecond))
				break
			}
		}
	}
	return due
}

// eventChunk is how many events one allocation holds (see emit).
const eventChunk = 16

// emit queues an event of the current operation. The operations' batches are
// pieces of allocations of eventChunk events, one after the other: the sink
// owns each batch, and a busy manager does not allocate a batch per
// operation.
func (m *Manager) emit(e Event) {
	if m.op.events == nil {
		if cap(m.events) == 0 {
			m.events = make([]Event, 0, eventChunk)
		}
		m.op.events = m.events
	}
	m.op.events = append(m.op.events, e)
}

// touch records that the operation changes channel c.
func (m *Manager) touch(c *channel) {
	for _, id := range m.op.touched {
		if id == c.id {
			return
		}
	}
	m.op.touched = append(m.op.touched, c.id)
}

// persist reports whether a store write should be made now, opening the
// operation's transaction on the first write.
func (m *Manager) persist() bool {
	if !m.persistent { // inlined: most calls of a manager without a store end here
		return false
	}
	return m.persistNow()
}

func (m *Manager) persistNow() bool {
	if m.op.failed != nil {
		return false
	}
	if m.tx != nil && !m.op.began {
		if err := m.tx.Begin(); err != nil {
			m.op.failed = fmt.Errorf("begin: %w", err)
			return false
		}
		m.op.began = true
	}
	return true
}

// check applies the failure policy to the result of one store write.
func (m *Manager) check(what string, channelID string, err error) {
	if err == nil {
		return
	}
	err = fmt.Errorf("%s(%q): %w", what, channelID, err)
	if m.tx != nil {
		if m.op.failed == nil {
			m.op.failed = err
		}
		return
	}
	m.emit(Event{Kind: StoreFailed, ChannelID: channelID, Err: err})
}
