package engine

import (
	"fmt"
	"time"

	"github.com/logos-messaging/libsds-go/core/wire"
)

// Wrap stamps content with the channel's SDS metadata and returns the wire
// message to broadcast (nim-sds wrapOutgoingMessage). The message joins the
// outgoing buffer until a peer acknowledges it, and the local log.
//
// Empty content is ErrInvalidArgument and content over MaxContentSize is
// ErrMessageTooLarge, as in nim-sds; an empty messageID is allowed. The channel
// is created (or loaded from the store) on first use.
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
	out, stored := msg.AppendMarshalStripped(dst) // stored: see storedForm
	clear(msg.CausalHistory)                      // drop the host's hints

	o := &outgoingMsg{id: messageID, message: stored, sendTime: now}
	c.bloom.AddKey(messageID, c.addOutgoing(o))
	m.saveOutgoingRecord(c, o, true) // the log takes the message just below
	m.enforceOutgoingBound(c)
	m.addToHistory(c, messageID, m.participantID, stored)
	return out, nil
}

// causalHistory cites the newest MaxCausalHistory log entries, oldest first,
// each with the application's retrieval hint and the original sender's id.
// The entries are valid until the next wrap.
func (m *Manager) causalHistory(c *channel) []wire.HistoryEntry {
	n := min(m.cfg.MaxCausalHistory, c.log.Len())
	if n == 0 {
		return nil
	}
	if cap(m.history) < n {
		m.history = make([]wire.HistoryEntry, n)
	}
	entries := m.history[:n]
	i := n
	c.log.Newest(n, func(id string, e logEntry) bool {
		i--
		entries[i] = wire.HistoryEntry{MessageID: id, SenderID: e.senderID}
		return true
	})
	if m.hints != nil {
		for i := range entries {
			hint := m.hints(entries[i].MessageID)
			if len(hint) == 0 {
				continue
			}
			entries[i].RetrievalHint = hint
			if m.persist() {
				m.check("setRetrievalHint", c.id, m.store.SetRetrievalHint(entries[i].MessageID, hint))
			}
		}
	}
	return entries
}

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
