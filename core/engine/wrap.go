package engine

import (
	"bytes"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/logos-messaging/libsds-go/core/wire"
	"github.com/logos-messaging/libsds-go/internal/ordmap"
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
// sends from a reused buffer avoids allocating ~19 KB per message. With a nil
// dst the message is encoded into the manager's scratch buffer and returned
// in a new slice copied from it: an allocation that a copy fills is not
// zeroed first, as one the encoder writes into would be.
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
	fresh := dst == nil
	if fresh {
		dst = m.scratch[:0]
	}
	out, err := m.wrap(dst, content, messageID, channelID)
	if err = m.finish(err); err != nil {
		if fresh {
			return nil, err
		}
		return dst, err
	}
	if fresh {
		m.scratch = out[:0]
		return bytes.Clone(out), nil
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

	history := m.causalHistory(c)
	msg := wire.Message{
		MessageID:      messageID,
		Lamport:        c.lamport,
		CausalHistory:  history,
		EncodedHistory: c.history.Encode(history),
		ChannelID:      channelID,
		Content:        content,
		Filter:         c.bloom, // the filter before this message joins it
		SenderID:       m.participantID,
		RepairRequest:  repairs,
	}
	var out, stored []byte
	if m.cfg.WireGeneration == wire.V03 {
		out, stored = msg.AppendMarshalStripped(dst) // one encoding; stored: see storedForm
	} else {
		out = msg.AppendMarshalAs(dst, m.cfg.WireGeneration)
		stored = storedForm(&msg)
	}
	clear(msg.CausalHistory) // drop the host's hints: the entries are reused

	o := c.newOutgoing()
	o.id, o.message, o.sendTime = messageID, stored, now
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
	oldest, cited, size := m.citedRange(c)
	if cap(m.history) < cited {
		m.history = make([]wire.HistoryEntry, max(cited, m.cfg.MaxCausalHistory))
	}
	// Oldest first: the application is asked for hints in citation order.
	entries := m.history[:cited]
	e := oldest
	for i := range entries {
		for !m.citable(e) {
			e = e.Next() // left out by citedRange
		}
		entry := &entries[i]
		*entry = wire.HistoryEntry{MessageID: e.Key(), SenderID: e.Value().senderID}
		e = e.Next()
		if m.hints == nil {
			continue
		}
		hint := m.hints(entry.MessageID)
		if len(hint) == 0 || len(hint) > m.cfg.MaxHintLength {
			continue
		}
		if !m.historyFits {
			var fits bool
			if size, fits = m.hintFits(entry, hint, size); !fits {
				continue
			}
		}
		entry.RetrievalHint = hint
		if m.persist() {
			m.check("setRetrievalHint", c.id, m.store.SetRetrievalHint(entry.MessageID, hint))
		}
	}
	return entries
}

// citedRange walks the log back from the newest entry to find the oldest
// entry the causal history cites, how many it cites and, unless the byte
// budget cannot be reached (historyFits), their encoded size without hints.
// Hints are then added while they fit (hintFits).
func (m *Manager) citedRange(c *channel) (oldest ordmap.Cursor[string, logEntry], cited, size int) {
	n := min(m.cfg.MaxCausalHistory, c.log.Len())
	for e := c.log.Last(); n > 0; e, n = e.Prev(), n-1 {
		if !m.citable(e) {
			continue
		}
		if !m.historyFits {
			s := nestedSize(bareEntrySize(e))
			if size+s > m.cfg.MaxCausalHistoryBytes {
				break
			}
			size += s
		}
		oldest, cited = e, cited+1
	}
	return oldest, cited, size
}

// citable reports whether a log entry's ids are within MaxIDLength.
func (m *Manager) citable(e ordmap.Cursor[string, logEntry]) bool {
	return len(e.Key()) <= m.cfg.MaxIDLength && len(e.Value().senderID) <= m.cfg.MaxIDLength
}

// bareEntrySize is the encoded length of a log entry's history entry without
// a hint (wire.HistoryEntry.Size).
func bareEntrySize(e ordmap.Cursor[string, logEntry]) int {
	n := nestedSize(len(e.Key()))
	if s := e.Value().senderID; s != "" {
		n += nestedSize(len(s))
	}
	return n
}

// hintFits reports whether the history, now size bytes, stays within
// MaxCausalHistoryBytes with hint added to entry, and returns its size:
// with the hint if it fits, else unchanged.
func (m *Manager) hintFits(entry *wire.HistoryEntry, hint []byte, size int) (int, bool) {
	// The hint is one more nested field of the entry.
	inner := entry.Size()
	grown := size - nestedSize(inner) + nestedSize(inner+nestedSize(len(hint)))
	if grown > m.cfg.MaxCausalHistoryBytes {
		return size, false
	}
	return grown, true
}

// historyFits reports whether a causal history of MaxCausalHistory entries
// stays within MaxCausalHistoryBytes whatever its ids and hints (each within
// its budget): causalHistory then need not count bytes. It holds for the
// default configuration.
func (c *Config) historyFits() bool {
	return c.MaxCausalHistory*nestedSize(c.maxEntryBytes()) <= c.MaxCausalHistoryBytes
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
