// Package storetest has helpers for testing code that uses the persistence
// contract: a store that records every call, one that fails on demand, a view
// of a store without its optional capabilities, and a conformance suite any
// store.Store implementation can run.
package storetest

import (
	"fmt"
	"sync"

	"github.com/logos-messaging/libsds-go/core/store"
)

// Call is one recorded store call: the operation name as persistence-contract.nim
// spells it, the channel (empty for setRetrievalHint and the transaction calls)
// and the message id (if any).
type Call struct {
	Op        string
	ChannelID string
	MessageID string
}

// String renders the call as op(channel,id).
func (c Call) String() string {
	switch {
	case c.ChannelID == "" && c.MessageID != "":
		return fmt.Sprintf("%s(%s)", c.Op, c.MessageID)
	case c.MessageID != "":
		return fmt.Sprintf("%s(%s,%s)", c.Op, c.ChannelID, c.MessageID)
	case c.ChannelID != "":
		return fmt.Sprintf("%s(%s)", c.Op, c.ChannelID)
	default:
		return c.Op
	}
}

// Wrapper wraps a store: it records every call and can be told to fail some.
// It forwards Begin/Commit/Rollback and ListChannels when the wrapped store has
// them (and records them); a store without transactions gets no-op brackets,
// so wrap a store with Plain to test the non-transactional policy.
type Wrapper struct {
	Inner store.Store

	mu     sync.Mutex
	calls  []Call
	failOn func(Call) error
}

// Wrap returns a Wrapper around inner.
func Wrap(inner store.Store) *Wrapper { return &Wrapper{Inner: inner} }

// FailOn installs a predicate: every call for which it returns an error fails
// with that error without reaching the wrapped store. nil removes it.
func (w *Wrapper) FailOn(f func(Call) error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failOn = f
}

// WriteOps names the contract's 13 write operations as Call.Op records them.
var WriteOps = []string{
	"saveLamport", "appendLogEntry", "removeLogEntry", "setRetrievalHint",
	"saveOutgoing", "removeOutgoing", "saveIncoming", "removeIncoming",
	"saveOutgoingRepair", "removeOutgoingRepair", "saveIncomingRepair", "removeIncomingRepair",
	"dropChannel",
}

// FailFirst is a FailOn predicate that fails the first call to op with err
// and lets every other call through.
func FailFirst(op string, err error) func(Call) error {
	done := false
	return func(c Call) error {
		if !done && c.Op == op {
			done = true
			return err
		}
		return nil
	}
}

// Calls returns the calls recorded so far.
func (w *Wrapper) Calls() []Call {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Call(nil), w.calls...)
}

// Reset forgets the recorded calls.
func (w *Wrapper) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = nil
}

func (w *Wrapper) record(op, ch, id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := Call{Op: op, ChannelID: ch, MessageID: id}
	w.calls = append(w.calls, c)
	if w.failOn != nil {
		return w.failOn(c)
	}
	return nil
}

func (w *Wrapper) do(op, ch, id string, f func() error) error {
	if err := w.record(op, ch, id); err != nil {
		return err
	}
	return f()
}

// SaveLamport implements store.Store.
func (w *Wrapper) SaveLamport(ch string, l int64) error {
	return w.do("saveLamport", ch, "", func() error { return w.Inner.SaveLamport(ch, l) })
}

// AppendLogEntry implements store.Store.
func (w *Wrapper) AppendLogEntry(ch, id string, r []byte) error {
	return w.do("appendLogEntry", ch, id, func() error { return w.Inner.AppendLogEntry(ch, id, r) })
}

// RemoveLogEntry implements store.Store.
func (w *Wrapper) RemoveLogEntry(ch, id string) error {
	return w.do("removeLogEntry", ch, id, func() error { return w.Inner.RemoveLogEntry(ch, id) })
}

// SetRetrievalHint implements store.Store.
func (w *Wrapper) SetRetrievalHint(id string, h []byte) error {
	return w.do("setRetrievalHint", "", id, func() error { return w.Inner.SetRetrievalHint(id, h) })
}

// SaveOutgoing implements store.Store.
func (w *Wrapper) SaveOutgoing(ch, id string, r []byte) error {
	return w.do("saveOutgoing", ch, id, func() error { return w.Inner.SaveOutgoing(ch, id, r) })
}

// RemoveOutgoing implements store.Store.
func (w *Wrapper) RemoveOutgoing(ch, id string) error {
	return w.do("removeOutgoing", ch, id, func() error { return w.Inner.RemoveOutgoing(ch, id) })
}

// SaveIncoming implements store.Store.
func (w *Wrapper) SaveIncoming(ch, id string, r []byte) error {
	return w.do("saveIncoming", ch, id, func() error { return w.Inner.SaveIncoming(ch, id, r) })
}

// RemoveIncoming implements store.Store.
func (w *Wrapper) RemoveIncoming(ch, id string) error {
	return w.do("removeIncoming", ch, id, func() error { return w.Inner.RemoveIncoming(ch, id) })
}

// SaveOutgoingRepair implements store.Store.
func (w *Wrapper) SaveOutgoingRepair(ch, id string, r []byte) error {
	return w.do("saveOutgoingRepair", ch, id, func() error { return w.Inner.SaveOutgoingRepair(ch, id, r) })
}

// RemoveOutgoingRepair implements store.Store.
func (w *Wrapper) RemoveOutgoingRepair(ch, id string) error {
	return w.do("removeOutgoingRepair", ch, id, func() error { return w.Inner.RemoveOutgoingRepair(ch, id) })
}

// SaveIncomingRepair implements store.Store.
func (w *Wrapper) SaveIncomingRepair(ch, id string, r []byte) error {
	return w.do("saveIncomingRepair", ch, id, func() error { return w.Inner.SaveIncomingRepair(ch, id, r) })
}

// RemoveIncomingRepair implements store.Store.
func (w *Wrapper) RemoveIncomingRepair(ch, id string) error {
	return w.do("removeIncomingRepair", ch, id, func() error { return w.Inner.RemoveIncomingRepair(ch, id) })
}

// DropChannel implements store.Store.
func (w *Wrapper) DropChannel(ch string) error {
	return w.do("dropChannel", ch, "", func() error { return w.Inner.DropChannel(ch) })
}

// LoadAllForChannel implements store.Store.
func (w *Wrapper) LoadAllForChannel(ch string) (*store.Snapshot, error) {
	if err := w.record("loadAllForChannel", ch, ""); err != nil {
		return nil, err
	}
	return w.Inner.LoadAllForChannel(ch)
}

// Begin implements store.Transactional.
func (w *Wrapper) Begin() error {
	return w.do("begin", "", "", func() error {
		if tx, ok := w.Inner.(store.Transactional); ok {
			return tx.Begin()
		}
		return nil
	})
}

// Commit implements store.Transactional.
func (w *Wrapper) Commit() error {
	return w.do("commit", "", "", func() error {
		if tx, ok := w.Inner.(store.Transactional); ok {
			return tx.Commit()
		}
		return nil
	})
}

// Rollback implements store.Transactional. It is recorded but never fails on
// demand: a rollback that fails would leave nothing consistent to test.
func (w *Wrapper) Rollback() error {
	w.mu.Lock()
	w.calls = append(w.calls, Call{Op: "rollback"})
	w.mu.Unlock()
	if tx, ok := w.Inner.(store.Transactional); ok {
		return tx.Rollback()
	}
	return nil
}

// ListChannels implements store.ChannelLister; without a lister underneath it
// lists nothing.
func (w *Wrapper) ListChannels() ([]string, error) {
	if err := w.record("listChannels", "", ""); err != nil {
		return nil, err
	}
	if l, ok := w.Inner.(store.ChannelLister); ok {
		return l.ListChannels()
	}
	return nil, nil
}

// DueWrapper is a Wrapper that also forwards store.DueIndex (recorded as
// saveChannelDue and channelsDue; saveChannelDue can be failed on demand).
type DueWrapper struct{ *Wrapper }

// WrapDue returns a DueWrapper around inner, which must be a store.DueIndex.
func WrapDue(inner store.Store) DueWrapper { return DueWrapper{Wrap(inner)} }

// SaveChannelDue implements store.DueIndex.
func (w DueWrapper) SaveChannelDue(ch string, dueMs int64) error {
	return w.do("saveChannelDue", ch, "", func() error { return w.Inner.(store.DueIndex).SaveChannelDue(ch, dueMs) })
}

// ChannelsDue implements store.DueIndex.
func (w DueWrapper) ChannelsDue(nowMs int64) ([]string, error) {
	if err := w.record("channelsDue", "", ""); err != nil {
		return nil, err
	}
	return w.Inner.(store.DueIndex).ChannelsDue(nowMs)
}

// Plain hides a store's optional capabilities (transactions, channel listing),
// leaving only the contract's 14 methods.
func Plain(s store.Store) store.Store { return plain{s} }

type plain struct{ store.Store }
