package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"sort"

	"github.com/logos-messaging/libsds-go/core/store"
)

// blob returns the bytes of s, never nil: a nil []byte would bind as NULL.
func blob(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return []byte(s)
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// usable is called with mu held before every operation.
func (s *Store) usable() error {
	if s.closed {
		return ErrClosed
	}
	return nil
}

// writable tells whether a write may run; mu is held. The first failure inside
// a transaction poisons it: later writes and Commit fail until Rollback, since
// SQLite may already have rolled the transaction back, and a later write would
// then commit on its own.
func (s *Store) writable(op string) error {
	if err := s.usable(); err != nil {
		return err
	}
	if s.txErr != nil {
		return fmt.Errorf("sqlite store: %s: refused, an earlier write of this transaction failed; roll back: %w", op, s.txErr)
	}
	if !s.inTx { // a write of its own: check the file as Begin does
		if err := s.file.check(s.path); err != nil {
			return fmt.Errorf("sqlite store: %s: %w", op, err)
		}
	}
	return nil
}

// wrote follows a successful write: outside a transaction it was a commit.
func (s *Store) wrote() {
	if !s.inTx {
		s.committed()
	}
}

// failed reports a failed write, poisoning the open transaction; mu is held.
func (s *Store) failed(op string, err error) error {
	err = fmt.Errorf("sqlite store: %s: %w", op, s.describe(err))
	if s.inTx {
		s.txErr = err
	}
	return err
}

// touch records that the open transaction changes the channel's index.
func (s *Store) touch(channelID string) {
	if s.inTx {
		s.touched[channelID] = struct{}{}
	}
}

// index returns the channel's index, reading it from the database if the
// Store has none; mu is held.
func (s *Store) index(channelID string) (*chanIndex, error) {
	if ix, ok := s.chans[channelID]; ok {
		return ix, nil
	}
	rows, err := s.stmts[stSelectKeys].QueryContext(ctx, s.ns, blob(channelID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ix := newChanIndex()
	for rows.Next() {
		var seq, kind int64
		var id []byte
		if err := rows.Scan(&seq, &kind, &id); err != nil {
			return nil, err
		}
		ix.add(kind, string(id), seq)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.chans[channelID] = ix
	s.touch(channelID) // built from what the transaction sees
	return ix, nil
}

func (ix *chanIndex) add(kind int64, id string, seq int64) {
	ix.seqs[entryKey{kind, id}] = seq
	ix.next = max(ix.next, seq+1)
}

// putEntry inserts a new entry at the end of its channel, or rewrites the
// record of an existing one where it is.
func (s *Store) putEntry(op string, kind int64, channelID, messageID string, rec []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(op); err != nil {
		return err
	}
	ix, err := s.index(channelID)
	if err != nil {
		return s.failed(op, err)
	}
	rec = nonNil(rec)
	if seq, ok := ix.seqs[entryKey{kind, messageID}]; ok {
		if _, err := s.stmts[stUpdateEntry].ExecContext(ctx, s.ns, blob(channelID), seq, rec); err != nil {
			return s.failed(op, err)
		}
		s.wrote()
		return nil
	}
	seq := ix.next
	if _, err := s.stmts[stInsertEntry].ExecContext(ctx, s.ns, blob(channelID), seq, kind, blob(messageID), rec); err != nil {
		return s.failed(op, err)
	}
	s.touch(channelID)
	ix.add(kind, messageID, seq)
	s.wrote()
	return nil
}

// delEntry removes an entry; removing one that is not stored does nothing.
func (s *Store) delEntry(op string, kind int64, channelID, messageID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(op); err != nil {
		return err
	}
	ix, err := s.index(channelID)
	if err != nil {
		return s.failed(op, err)
	}
	key := entryKey{kind, messageID}
	seq, ok := ix.seqs[key]
	if !ok {
		return nil
	}
	if _, err := s.stmts[stDeleteEntry].ExecContext(ctx, s.ns, blob(channelID), seq); err != nil {
		return s.failed(op, err)
	}
	if kind == kindLog {
		if err := s.dropHint(messageID); err != nil {
			return s.failed(op, err)
		}
	}
	s.touch(channelID)
	delete(ix.seqs, key)
	s.wrote()
	return nil
}

// SaveLamport implements store.Store.
func (s *Store) SaveLamport(channelID string, lamport int64) error {
	const op = "saveLamport"
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(op); err != nil {
		return err
	}
	if _, err := s.stmts[stUpsertLamport].ExecContext(ctx, s.ns, blob(channelID), lamport); err != nil {
		return s.failed(op, err)
	}
	s.wrote()
	return nil
}

// AppendLogEntry implements store.Store.
func (s *Store) AppendLogEntry(channelID, messageID string, record []byte) error {
	return s.putEntry("appendLogEntry", kindLog, channelID, messageID, record)
}

// RemoveLogEntry implements store.Store. The message's retrieval hint goes
// with it.
func (s *Store) RemoveLogEntry(channelID, messageID string) error {
	return s.delEntry("removeLogEntry", kindLog, channelID, messageID)
}

// dropHint deletes the hint of a message leaving the log; mu is held, inside
// the write that removes the entry.
func (s *Store) dropHint(messageID string) error {
	res, err := s.stmts[stDeleteHint].ExecContext(ctx, s.ns, blob(messageID))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		s.hints.forget(messageID)
	}
	return nil
}

// SaveOutgoing implements store.Store.
func (s *Store) SaveOutgoing(channelID, messageID string, record []byte) error {
	return s.putEntry("saveOutgoing", kindOutgoing, channelID, messageID, record)
}

// RemoveOutgoing implements store.Store.
func (s *Store) RemoveOutgoing(channelID, messageID string) error {
	return s.delEntry("removeOutgoing", kindOutgoing, channelID, messageID)
}

// SaveIncoming implements store.Store.
func (s *Store) SaveIncoming(channelID, messageID string, record []byte) error {
	return s.putEntry("saveIncoming", kindIncoming, channelID, messageID, record)
}

// RemoveIncoming implements store.Store.
func (s *Store) RemoveIncoming(channelID, messageID string) error {
	return s.delEntry("removeIncoming", kindIncoming, channelID, messageID)
}

// SaveOutgoingRepair implements store.Store.
func (s *Store) SaveOutgoingRepair(channelID, messageID string, record []byte) error {
	return s.putEntry("saveOutgoingRepair", kindOutgoingRepair, channelID, messageID, record)
}

// RemoveOutgoingRepair implements store.Store.
func (s *Store) RemoveOutgoingRepair(channelID, messageID string) error {
	return s.delEntry("removeOutgoingRepair", kindOutgoingRepair, channelID, messageID)
}

// SaveIncomingRepair implements store.Store.
func (s *Store) SaveIncomingRepair(channelID, messageID string, record []byte) error {
	return s.putEntry("saveIncomingRepair", kindIncomingRepair, channelID, messageID, record)
}

// RemoveIncomingRepair implements store.Store.
func (s *Store) RemoveIncomingRepair(channelID, messageID string) error {
	return s.delEntry("removeIncomingRepair", kindIncomingRepair, channelID, messageID)
}

// SetRetrievalHint implements store.Store. Hints are kept per namespace and
// message id; RetrievalHint reads them back. The engine sets the hint of every
// message an outgoing message cites, so most calls repeat what is stored:
// those are answered from a small cache of recently written hints and cost no
// statement.
func (s *Store) SetRetrievalHint(messageID string, hint []byte) error {
	const op = "setRetrievalHint"
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(op); err != nil {
		return err
	}
	hint = nonNil(hint)
	if s.hints.has(messageID, hint) {
		return nil
	}
	if _, err := s.stmts[stUpsertHint].ExecContext(ctx, s.ns, blob(messageID), hint); err != nil {
		return s.failed(op, err)
	}
	s.hints.wrote(messageID, hint, s.inTx)
	s.wrote()
	return nil
}

// DropChannel implements store.Store: it deletes every row of the channel in
// the namespace (its lamport clock included), inside the open transaction or,
// without one, in a transaction of its own.
func (s *Store) DropChannel(channelID string) (err error) {
	const op = "dropChannel"
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(op); err != nil {
		return err
	}
	// The index is rebuilt from the database on next use, whatever happens.
	defer delete(s.chans, channelID)
	own := !s.inTx
	if own {
		if _, err := s.stmts[stBegin].ExecContext(ctx); err != nil {
			return s.failed(op, err)
		}
		defer func() {
			if err != nil && !s.autocommit() {
				_, _ = s.stmts[stRollback].ExecContext(ctx)
			}
		}()
	}
	if _, err := s.stmts[stDropHints].ExecContext(ctx, s.ns, blob(channelID)); err != nil {
		return s.failed(op, err)
	}
	s.hints.forgetAll()
	if _, err := s.stmts[stDeleteDue].ExecContext(ctx, s.ns, blob(channelID)); err != nil {
		return s.failed(op, err)
	}
	if _, err := s.stmts[stDropChannel].ExecContext(ctx, s.ns, blob(channelID)); err != nil {
		return s.failed(op, err)
	}
	if own {
		if _, err := s.stmts[stCommit].ExecContext(ctx); err != nil {
			return s.failed(op, err)
		}
		s.committed()
	}
	return nil
}

// LoadAllForChannel implements store.Store. Inside a transaction it sees the
// transaction's own writes.
func (s *Store) LoadAllForChannel(channelID string) (*store.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	snap, err := s.load(channelID)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: loadAllForChannel(%q): %w", channelID, s.describe(err))
	}
	return snap, nil
}

// load reads the channel's range of rows, in seq order, and builds the
// channel's index on the way if the Store has none.
func (s *Store) load(channelID string) (*store.Snapshot, error) {
	rows, err := s.stmts[stSelectAll].QueryContext(ctx, s.ns, blob(channelID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	snap := &store.Snapshot{}
	var ix *chanIndex
	if _, ok := s.chans[channelID]; !ok {
		ix = newChanIndex()
	}
	for rows.Next() {
		var seq, kind int64
		var id []byte
		var rec any
		if err := rows.Scan(&seq, &kind, &id, &rec); err != nil {
			return nil, err
		}
		if kind == kindLamport {
			l, ok := rec.(int64)
			if !ok || seq != maxSeq {
				return nil, fmt.Errorf("%w: %w: malformed lamport row", ErrCorrupt, store.ErrBadRecord)
			}
			snap.Lamport = l
			continue
		}
		r, ok := rec.([]byte)
		if !ok {
			return nil, fmt.Errorf("%w: %w: entry %q of kind %d has no record", ErrCorrupt, store.ErrBadRecord, id, kind)
		}
		r = nonNil(r)
		switch kind {
		case kindLog:
			snap.Log = append(snap.Log, r)
		case kindOutgoing:
			snap.Outgoing = append(snap.Outgoing, r)
		case kindIncoming:
			snap.Incoming = append(snap.Incoming, r)
		case kindOutgoingRepair:
			snap.OutgoingRepairs = append(snap.OutgoingRepairs, r)
		case kindIncomingRepair:
			snap.IncomingRepairs = append(snap.IncomingRepairs, r)
		default:
			return nil, fmt.Errorf("%w: %w: unknown entry kind %d", ErrCorrupt, store.ErrBadRecord, kind)
		}
		if ix != nil {
			ix.add(kind, string(id), seq)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if ix != nil {
		s.chans[channelID] = ix
		s.touch(channelID)
	}
	return snap, nil
}

// ListChannels implements store.ChannelLister: every channel of the namespace
// with any stored state (a lamport clock alone counts), sorted.
func (s *Store) ListChannels() ([]string, error) {
	return s.channelIDs("listChannels", stListChannels, s.ns)
}

// SaveChannelDue implements store.DueIndex.
func (s *Store) SaveChannelDue(channelID string, dueMs int64) error {
	const op = "saveChannelDue"
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(op); err != nil {
		return err
	}
	var err error
	if dueMs == 0 {
		_, err = s.stmts[stDeleteDue].ExecContext(ctx, s.ns, blob(channelID))
	} else {
		_, err = s.stmts[stUpsertDue].ExecContext(ctx, s.ns, blob(channelID), dueMs)
	}
	if err != nil {
		return s.failed(op, err)
	}
	s.wrote()
	return nil
}

// ChannelsDue implements store.DueIndex: one range of the time index.
func (s *Store) ChannelsDue(nowMs int64) ([]string, error) {
	return s.channelIDs("channelsDue", stSelectDue, s.ns, nowMs)
}

// channelIDs runs a prepared query that returns channel ids and gives them
// sorted. SQLite orders BLOBs as memcmp does, so the sort only asserts it.
func (s *Store) channelIDs(op string, st int, args ...any) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	fail := func(err error) ([]string, error) {
		return nil, fmt.Errorf("sqlite store: %s: %w", op, s.describe(err))
	}
	rows, err := s.stmts[st].QueryContext(ctx, args...)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			return fail(err)
		}
		ids = append(ids, string(id))
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	sort.Strings(ids)
	return ids, nil
}

// RetrievalHint returns the hint last recorded by SetRetrievalHint for a
// message id in this namespace; ok is false if there is none.
func (s *Store) RetrievalHint(messageID string) (hint []byte, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, false, err
	}
	err = s.stmts[stSelectHint].QueryRowContext(ctx, s.ns, blob(messageID)).Scan(&hint)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlite store: retrievalHint: %w", s.describe(err))
	}
	return nonNil(hint), true, nil
}

// Begin implements store.Transactional: it starts a write transaction (BEGIN
// IMMEDIATE, which waits up to the busy timeout for the file's write lock).
func (s *Store) Begin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if s.inTx {
		return ErrNestedTransaction
	}
	if err := s.file.check(s.path); err != nil {
		return fmt.Errorf("sqlite store: begin: %w", err)
	}
	if _, err := s.stmts[stBegin].ExecContext(ctx); err != nil {
		return fmt.Errorf("sqlite store: begin: %w", s.describe(err))
	}
	s.inTx, s.txErr = true, nil
	return nil
}

// Commit implements store.Transactional. It refuses to commit a transaction in
// which a write failed; after a failed Commit call Rollback.
func (s *Store) Commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if !s.inTx {
		return ErrNoTransaction
	}
	if s.txErr != nil {
		return fmt.Errorf("sqlite store: commit refused, a write of this transaction failed: %w", s.txErr)
	}
	if _, err := s.stmts[stCommit].ExecContext(ctx); err != nil {
		// The transaction may be still open (busy) or gone (I/O error, disk
		// full): either way Rollback ends it.
		s.txErr = fmt.Errorf("sqlite store: commit: %w", s.describe(err))
		return s.txErr
	}
	s.endTx(true)
	s.committed()
	return nil
}

// Rollback implements store.Transactional: the transaction's writes are
// discarded. It succeeds if SQLite has already rolled the transaction back
// after an error.
func (s *Store) Rollback() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if !s.inTx {
		return ErrNoTransaction
	}
	if !s.autocommit() {
		if _, err := s.stmts[stRollback].ExecContext(ctx); err != nil && !s.autocommit() {
			return fmt.Errorf("sqlite store: rollback: %w", s.describe(err))
		}
	}
	s.endTx(false)
	return nil
}

// endTx closes the Store's side of a transaction that committed or not.
func (s *Store) endTx(committed bool) {
	if committed {
		s.hints.commit()
	} else {
		s.hints.rollback()
		for id := range s.touched {
			delete(s.chans, id)
		}
	}
	clear(s.touched)
	s.inTx, s.txErr = false, nil
}
