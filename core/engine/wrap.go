package engine

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/logos-messaging/libsds-go/core/wire"
)

// Wrap stamps content with the channel's SDS metadata and returns the wire
// message to broadcast (nim-sds wrapOutgoingMessage). The message joins the
// outgoing buffer until a peer acknowledges it, and the local log.
//
// Empty content is ErrInvalidArgument and content over MaxContentSize is
// ErrMessageTooLarge, as in nim-sds; an empty messageID is allowed. The channel
// is created (or loaded from the store) on first use. Wrapping the id of a
// message that is still unacknowledged replaces that message in the outgoing
// buffer (nim-sds keeps both): an id is tracked once, for its newest message.
func (m *Manager) Wrap(content []byte, messageID, channelID string) ([]byte, error) {
	return m.AppendWrap(nil, content, messageID, channelID)
}

// AppendWrap is Wrap appending the wire message to dst, so that a caller who
// sends from a reused buffer avoids allocating ~19 KB per message.
func (m *Manager) AppendWrap(dst, content []byte, messageID, channelID string) ([]byte, error) {
	if len(content) == 0 {
		return nil, fmt.Errorf("%w: empty content", ErrInvalidArgument)
	}
	if len(content) > MaxContentSize {
		return nil, fmt.Errorf("%w: content is %d bytes, limit %d", ErrMessageTooLarge, len(content), MaxContentSize)
	}
	// What peers would reject is refused here, so that it never enters the
	// log and is never cited by a later message.
	if err := m.cfg.checkID("message id", messageID); err != nil {
		return nil, err
	}
	if err := m.cfg.checkChannelID(channelID); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.start(); err != nil {
		return nil, err
	}
	out, err := m.wrap(dst, content, messageID, channelID)
	if err = m.finish(err); err != nil {
		return dst, err
	}
	return out, nil
}

func (m *Manager) wrap(dst, content []byte, messageID, channelID string) ([]byte, error) {
	c, err := m.channelFor(channelID, true)
	if err != nil {
		return nil, err
	}
	m.touch(c)
	now := m.clock.Now()
	m.setLamport(c, nextLamport(now.Unix(), c.lamport))
	repairs := m.takeRepairRequests(c, now)

	msg := wire.Message{
		MessageID:     messageID,
		Lamport:       c.lamport,
		CausalHistory: m.causalHistory(c),
		ChannelID:     channelID,
		Content:       content,
		Filter:        c.bloom, // the filter before this message joins it
		SenderID:      m.participantID,
		RepairRequest: repairs,
	}
	var out, stored []byte
	if m.cfg.WireGeneration == wire.V03 {
		out, stored = msg.AppendMarshalStripped(dst) // one encoding; stored: see storedForm
	} else {
		out = msg.AppendMarshalAs(dst, m.cfg.WireGeneration)
		stored = storedForm(&msg)
	}
	clear(msg.CausalHistory) // drop the host's hints: the entries are reused

	o := &outgoingMsg{id: messageID, message: stored, sendTime: now}
	m.supersedeOutgoing(c, messageID)
	c.bloom.AddKey(messageID, c.addOutgoing(o))
	m.saveOutgoingRecord(c, o, true) // the log takes the message just below
	m.enforceOutgoingBound(c)
	m.addToHistory(c, messageID, m.participantID, stored)
	return out, nil
}

// causalHistory cites the newest MaxCausalHistory log entries, oldest first,
// each with the application's retrieval hint and the original sender's id. It
// stays within the budgets every receiver checks: an entry whose id is over
// MaxIDLength (kept from an older configuration) is left out, a hint over
// MaxHintLength is not sent, and entries stop at MaxCausalHistoryBytes.
// The entries are valid until the next wrap.
func (m *Manager) causalHistory(c *channel) []wire.HistoryEntry {
	n := min(m.cfg.MaxCausalHistory, c.log.Len())
	if n == 0 {
		return nil
	}
	if cap(m.history) < n {
		m.history, m.historySizes = make([]wire.HistoryEntry, n), make([]int, n)
	}
	// Filled from the end, newest last; sizes[i] is entries[i]'s encoded
	// length without a hint, for the hint budget below.
	entries, sizes := m.history[:n], m.historySizes[:n]
	k, size := n, 0
	c.log.Newest(n, func(id string, e logEntry) bool {
		if len(id) > m.cfg.MaxIDLength || len(e.senderID) > m.cfg.MaxIDLength {
			return true
		}
		entry := wire.HistoryEntry{MessageID: id, SenderID: e.senderID}
		inner := entry.Size()
		if size+nestedSize(inner) > m.cfg.MaxCausalHistoryBytes {
			return false
		}
		size += nestedSize(inner)
		k--
		entries[k], sizes[k] = entry, inner
		return true
	})
	entries, sizes = entries[k:], sizes[k:]
	if m.hints == nil {
		return entries
	}
	// Hints are asked for in citation order and sent while they fit.
	for i := range entries {
		e := &entries[i]
		hint := m.hints(e.MessageID)
		if len(hint) == 0 || len(hint) > m.cfg.MaxHintLength {
			continue
		}
		// The hint is one more nested field of the entry.
		inner := sizes[i]
		grown := size - nestedSize(inner) + nestedSize(inner+nestedSize(len(hint)))
		if grown > m.cfg.MaxCausalHistoryBytes {
			continue
		}
		e.RetrievalHint = hint
		size = grown
		if m.persist() {
			m.check("setRetrievalHint", c.id, m.store.SetRetrievalHint(e.MessageID, hint))
		}
	}
	return entries
}

// nestedSize is the encoded size of a length-delimited field of n bytes
// (every tag the wire layout uses is one byte).
func nestedSize(n int) int { return 1 + protowire.SizeVarint(uint64(n)) + n }

// takeRepairRequests removes and returns the due SDS-R repair requests, most
// overdue first, at most MaxRepairRequests.
func (m *Manager) takeRepairRequests(c *channel, now time.Time) []wire.HistoryEntry {
	var reqs []wire.HistoryEntry
	for len(reqs) < m.cfg.MaxRepairRequests {
		id, due, entry, ok := c.outRepairs.Peek()
		if !ok || now.Before(due) {
			break
		}
		c.outRepairs.Delete(id)
		reqs = append(reqs, entry)
		if m.persist() {
			m.check("removeOutgoingRepair", c.id, m.store.RemoveOutgoingRepair(c.id, id))
		}
	}
	return reqs
}
