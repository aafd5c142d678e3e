// Package memstore is an in-memory implementation of the persistence contract,
// with transactions and channel listing. It keeps records as the byte strings
// the engine produced, so a manager rebuilt on the same Store restores exactly
// what a durable store would. It serves tests and hosts that want state to
// survive a manager restart within one process.
package memstore

import (
	"bytes"
	"errors"
	"sort"
	"sync"

	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/internal/ordmap"
)

// ErrNoTransaction is returned by Commit or Rollback without a Begin, and
// ErrNestedTransaction by a second Begin.
var (
	ErrNoTransaction     = errors.New("memstore: no transaction in progress")
	ErrNestedTransaction = errors.New("memstore: transaction already in progress")
)

// Store is an in-memory store. It is safe for concurrent use; a transaction is
// visible to readers only after Commit.
type Store struct {
	mu       sync.Mutex
	channels map[string]*channel
	hints    map[string][]byte
	pending  []func(*Store) // writes of the open transaction, applied on Commit
	inTx     bool
	loads    int
}

type channel struct {
	lamport                          int64
	dueMs                            int64
	log, outgoing, incoming          *ordmap.Map[string, []byte]
	outgoingRepairs, incomingRepairs *ordmap.Map[string, []byte]
}

var (
	_ store.Store         = (*Store)(nil)
	_ store.Transactional = (*Store)(nil)
	_ store.ChannelLister = (*Store)(nil)
	_ store.DueIndex      = (*Store)(nil)
)

// New returns an empty store.
func New() *Store {
	return &Store{channels: make(map[string]*channel), hints: make(map[string][]byte)}
}

func newChannel() *channel {
	return &channel{
		log:             ordmap.New[string, []byte](),
		outgoing:        ordmap.New[string, []byte](),
		incoming:        ordmap.New[string, []byte](),
		outgoingRepairs: ordmap.New[string, []byte](),
		incomingRepairs: ordmap.New[string, []byte](),
	}
}

// write applies f now, or at Commit when a transaction is open.
func (s *Store) write(f func(*Store)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inTx {
		s.pending = append(s.pending, f)
	} else {
		f(s)
	}
	return nil
}

func (s *Store) ch(id string) *channel {
	c, ok := s.channels[id]
	if !ok {
		c = newChannel()
		s.channels[id] = c
	}
	return c
}

func put(m func(*channel) *ordmap.Map[string, []byte], ch, id string, rec []byte) func(*Store) {
	rec = bytes.Clone(rec)
	return func(s *Store) { m(s.ch(ch)).Set(id, rec) }
}

func del(m func(*channel) *ordmap.Map[string, []byte], ch, id string) func(*Store) {
	return func(s *Store) {
		if c, ok := s.channels[ch]; ok {
			m(c).Delete(id)
		}
	}
}

func logOf(c *channel) *ordmap.Map[string, []byte]             { return c.log }
func outgoingOf(c *channel) *ordmap.Map[string, []byte]        { return c.outgoing }
func incomingOf(c *channel) *ordmap.Map[string, []byte]        { return c.incoming }
func outgoingRepairsOf(c *channel) *ordmap.Map[string, []byte] { return c.outgoingRepairs }
func incomingRepairsOf(c *channel) *ordmap.Map[string, []byte] { return c.incomingRepairs }

// SaveLamport implements store.Store.
func (s *Store) SaveLamport(ch string, l int64) error {
	return s.write(func(s *Store) { s.ch(ch).lamport = l })
}

// AppendLogEntry implements store.Store.
func (s *Store) AppendLogEntry(ch, id string, rec []byte) error {
	return s.write(put(logOf, ch, id, rec))
}

// RemoveLogEntry implements store.Store. The message's retrieval hint goes
// with it, as in the SQLite store: hints never outlive the logs.
func (s *Store) RemoveLogEntry(ch, id string) error {
	return s.write(func(s *Store) {
		del(logOf, ch, id)(s)
		delete(s.hints, id)
	})
}

// SetRetrievalHint implements store.Store.
func (s *Store) SetRetrievalHint(id string, hint []byte) error {
	hint = bytes.Clone(hint)
	return s.write(func(s *Store) { s.hints[id] = hint })
}

// SaveOutgoing implements store.Store.
func (s *Store) SaveOutgoing(ch, id string, rec []byte) error {
	return s.write(put(outgoingOf, ch, id, rec))
}

// RemoveOutgoing implements store.Store.
func (s *Store) RemoveOutgoing(ch, id string) error { return s.write(del(outgoingOf, ch, id)) }

// SaveIncoming implements store.Store.
func (s *Store) SaveIncoming(ch, id string, rec []byte) error {
	return s.write(put(incomingOf, ch, id, rec))
}

// RemoveIncoming implements store.Store.
func (s *Store) RemoveIncoming(ch, id string) error { return s.write(del(incomingOf, ch, id)) }

// SaveOutgoingRepair implements store.Store.
func (s *Store) SaveOutgoingRepair(ch, id string, rec []byte) error {
	return s.write(put(outgoingRepairsOf, ch, id, rec))
}

// RemoveOutgoingRepair implements store.Store.
func (s *Store) RemoveOutgoingRepair(ch, id string) error {
	return s.write(del(outgoingRepairsOf, ch, id))
}

// SaveIncomingRepair implements store.Store.
func (s *Store) SaveIncomingRepair(ch, id string, rec []byte) error {
	return s.write(put(incomingRepairsOf, ch, id, rec))
}

// RemoveIncomingRepair implements store.Store.
func (s *Store) RemoveIncomingRepair(ch, id string) error {
	return s.write(del(incomingRepairsOf, ch, id))
}

// DropChannel implements store.Store.
func (s *Store) DropChannel(ch string) error {
	return s.write(func(s *Store) {
		if c, ok := s.channels[ch]; ok {
			c.log.All(func(id string, _ []byte) bool {
				delete(s.hints, id)
				return true
			})
		}
		delete(s.channels, ch)
	})
}

// LoadAllForChannel implements store.Store. It reads committed state only.
func (s *Store) LoadAllForChannel(ch string) (*store.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := &store.Snapshot{}
	c, ok := s.channels[ch]
	if !ok {
		return snap, nil
	}
	s.loads++
	snap.Lamport = c.lamport
	snap.Log = values(c.log)
	snap.Outgoing = values(c.outgoing)
	snap.Incoming = values(c.incoming)
	snap.OutgoingRepairs = values(c.outgoingRepairs)
	snap.IncomingRepairs = values(c.incomingRepairs)
	return snap, nil
}

func values(m *ordmap.Map[string, []byte]) [][]byte {
	out := make([][]byte, 0, m.Len())
	m.All(func(_ string, v []byte) bool {
		out = append(out, bytes.Clone(v))
		return true
	})
	return out
}

// ListChannels implements store.ChannelLister, in sorted order.
func (s *Store) ListChannels() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.channels))
	for id := range s.channels {
		out = append(out, id)
	}
	sort.Strings(out)
	return out, nil
}

// SaveChannelDue implements store.DueIndex.
func (s *Store) SaveChannelDue(ch string, dueMs int64) error {
	return s.write(func(s *Store) { s.ch(ch).dueMs = dueMs })
}

// ChannelsDue implements store.DueIndex. It reads committed state only.
func (s *Store) ChannelsDue(nowMs int64) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, c := range s.channels {
		if c.dueMs != 0 && c.dueMs <= nowMs {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Loads counts LoadAllForChannel calls that found a stored channel: the work a
// manager does to restore state.
func (s *Store) Loads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads
}

// Begin implements store.Transactional.
func (s *Store) Begin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inTx {
		return ErrNestedTransaction
	}
	s.inTx = true
	return nil
}

// Commit implements store.Transactional: the transaction's writes become visible.
func (s *Store) Commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.inTx {
		return ErrNoTransaction
	}
	for _, f := range s.pending {
		f(s)
	}
	s.pending, s.inTx = nil, false
	return nil
}

// Rollback implements store.Transactional: the transaction's writes are discarded.
func (s *Store) Rollback() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.inTx {
		return ErrNoTransaction
	}
	s.pending, s.inTx = nil, false
	return nil
}

// Hints returns how many retrieval hints the store holds.
func (s *Store) Hints() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hints)
}

// RetrievalHint returns the hint last recorded for a message id.
func (s *Store) RetrievalHint(id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hints[id]
	return bytes.Clone(h), ok
}
