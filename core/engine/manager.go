package engine

import (
	"fmt"
	"sort"
	"sync"

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
	persistent    bool                // false for the no-op store: skip record encoding
	sink          EventSink
	hints         HintProvider
	channels      map[string]*channel
	stale         map[string]struct{} // dropped after a store failure; reloaded on next use
	closed        bool
	op            op
	history       []wire.HistoryEntry // causalHistory's buffer, reused: entries live for one wrap
}

// op is the bookkeeping of the protocol operation in progress (one at a time,
// under mu).
type op struct {
	began   bool     // store transaction open
	failed  error    // first store error inside a transaction
	touched []string // channels the operation changed
	events  []Event
}

// New builds a manager. If the store can list its channels, every stored
// channel is restored now.
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
			return nil, fmt.Errorf("%w: listing channels: %v", ErrStore, err)
		}
		for _, id := range ids {
			m.stale[id] = struct{}{}
		}
		m.mu.Lock()
		err = m.reloadStale()
		m.mu.Unlock()
		if err != nil {
			return nil, err
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
	return nil
}

// Channels returns the ids of the channels the manager holds, sorted.
func (m *Manager) Channels() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.channelIDs()
}

// channelIDs lists the channels held, loaded or stale, sorted; the caller holds mu.
func (m *Manager) channelIDs() []string {
	ids := make([]string, 0, len(m.channels)+len(m.stale))
	for id := range m.channels {
		ids = append(ids, id)
	}
	for id := range m.stale {
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
		err = fmt.Errorf("%w: %v", ErrStore, o.failed)
	} else if len(o.events) > 0 {
		m.sink.Deliver(o.events)
	}
	clear(o.touched)
	m.op = op{touched: o.touched[:0]}
	return err
}

// emit queues an event of the current operation.
func (m *Manager) emit(e Event) { m.op.events = append(m.op.events, e) }

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
	if !m.persistent || m.op.failed != nil {
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
