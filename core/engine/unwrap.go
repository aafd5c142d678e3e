package engine

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/logos-messaging/libsds-go/core/record"
	"github.com/logos-messaging/libsds-go/core/repair"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// Unwrapped is the result of Unwrap.
type Unwrapped struct {
	// Content is the application payload. It is returned for delivered, buffered
	// and duplicate messages alike, as nim-sds does. It aliases Unwrap's input.
	Content []byte
	// MissingDeps lists the cited messages not yet delivered here; when non-empty
	// the message waits in the dependency buffer.
	MissingDeps []wire.HistoryEntry
	// ChannelID is the message's channel.
	ChannelID string
	// MessageID is the message's id: the MessageReady event that delivers the
	// message (now or, when it waits, later) carries the same id.
	MessageID string
}

// Unwrap processes a received wire message (nim-sds unwrapReceivedMessage):
// it acknowledges our messages the sender has seen, handles SDS-R requests,
// and delivers the message — firing MessageReady for it after any buffered
// messages it releases (before them with Config.CausalReadyOrder) — or
// buffers it and fires MissingDependencies.
// A message already in the local log is a duplicate: its content is returned
// with no events. Input of any shape yields an error, never a panic.
func (m *Manager) Unwrap(data []byte) (*Unwrapped, error) {
	if len(data) > MaxWireSize {
		return nil, fmt.Errorf("%w: input is %d bytes, limit %d", ErrMessageTooLarge, len(data), MaxWireSize)
	}
	// The budgets are checked before the entries are decoded, so that an
	// input of millions of entries costs one scan and no allocation. The
	// stripped form is the stored form (see storedForm) of msg as decoded.
	// msg itself is not kept (its fields are): it stays on the stack.
	var decoded wire.Message
	msg := &decoded
	_, stored, err := wire.DecodeCheckedInto(msg, data, m.cfg.WireGeneration, m.cfg.MaxFields(), m.cfg.checkShape)
	if errors.Is(err, wire.ErrMalformed) {
		return nil, fmt.Errorf("%w: %w", ErrDeserialization, err)
	}
	if err != nil {
		return nil, err // over a budget
	}
	if err := m.cfg.checkIncoming(msg); err != nil {
		return nil, err
	}
	if n := len(msg.CausalHistory); n > 1 {
		if msg.CausalHistory = dedupeEntries(msg.CausalHistory); len(msg.CausalHistory) < n {
			stored = storedForm(msg) // the deduplicated history is what is kept
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.start(); err != nil {
		return nil, err
	}
	res, err := m.unwrap(msg, stored)
	return res, m.finish(err)
}

// unwrap processes a decoded message; stored is its stored form.
func (m *Manager) unwrap(msg *wire.Message, stored []byte) (*Unwrapped, error) {
	c, err := m.channelFor(msg.ChannelID, true)
	if err != nil {
		return nil, err
	}
	res := &Unwrapped{Content: msg.Content, ChannelID: msg.ChannelID, MessageID: msg.MessageID}
	id := msg.MessageID
	defer m.enforceRepairBounds(c)

	// A message (even a duplicate) cancels our own pending request for it and
	// our pending rebroadcast of it: someone has just sent it.
	m.cancelRepairs(c, id)
	if c.log.Has(id) {
		return res, nil
	}
	m.touch(c)
	c.bloom.Add(id)
	m.setLamport(c, nextLamport(msg.Lamport, c.lamport))
	m.reviewAcks(c, msg)
	m.answerRepairRequests(c, msg)

	missing := m.missingDeps(c, msg.CausalHistory)
	if len(missing) == 0 {
		m.deliver(c, id, msg.SenderID, stored, msg.Content)
		return res, nil
	}
	res.MissingDeps = cloneEntries(missing)
	m.buffer(c, id, msg.SenderID, stored, cloneEntries(missing))
	return res, nil
}

// missingDeps lists the cited messages not delivered here, in citation order.
func (m *Manager) missingDeps(c *channel, deps []wire.HistoryEntry) (missing []wire.HistoryEntry) {
	for i := range deps {
		if !m.delivered(c, deps[i].MessageID) {
			missing = append(missing, deps[i])
		}
	}
	return missing
}

// deliver adds a message to the log, releases what it unblocks and reports it:
// after the released messages (nim-sds), or before them (CausalReadyOrder).
func (m *Manager) deliver(c *channel, id, senderID string, stored, content []byte) {
	if old, ok := c.incoming.Get(id); ok {
		// An older copy waited for dependencies; this one needs none. Deliver once.
		c.forgetIncoming(old)
		m.removeIncoming(c, id)
	}
	m.addToHistory(c, id, senderID, stored)
	ready := Event{Kind: MessageReady, ChannelID: c.id, MessageID: id}
	if m.cfg.ReadyContent {
		ready.Content = bytes.Clone(content)
	}
	if m.cfg.CausalReadyOrder {
		m.emit(ready)
		m.release(c, m.resolve(c, id))
		return
	}
	m.release(c, m.resolve(c, id))
	m.emit(ready)
}

// buffer keeps a message until its dependencies arrive, reports them, and (with
// SDS-R on) schedules a repair request for each one not already scheduled.
func (m *Manager) buffer(c *channel, id, senderID string, stored []byte, missing []wire.HistoryEntry) {
	in := &incomingMsg{id: id, senderID: senderID, message: stored}
	in.setMissing(missing)
	c.addIncoming(in)
	m.saveIncoming(c, in)
	m.emit(Event{Kind: MissingDependencies, ChannelID: c.id, MessageID: id, MissingDeps: missing})
	m.enforceIncomingBound(c)
	if m.participantID == "" {
		return
	}
	now := m.clock.Now()
	for _, dep := range missing {
		m.requestRepair(c, dep, now)
	}
}

// requestRepair schedules an SDS-R repair request for a missing message unless
// one is pending; it goes out with the first outgoing message after T_req. A
// message we hold in the dependency buffer is not asked for (nim-sds asks):
// it has arrived and only waits for its own dependencies.
func (m *Manager) requestRepair(c *channel, dep wire.HistoryEntry, now time.Time) {
	if c.outRepairs.Has(dep.MessageID) || c.incoming.Has(dep.MessageID) {
		return
	}
	due := now.Add(repair.TReq(m.participantID, dep.MessageID, m.cfg.RepairTMin, m.cfg.RepairTMax))
	c.outRepairs.Set(dep.MessageID, due, dep)
	if m.persist() {
		rec := record.OutgoingRepair{Entry: dep, MinTimeRepairReqMs: due.UnixMilli()}
		m.check("saveOutgoingRepair", c.id, m.store.SaveOutgoingRepair(c.id, dep.MessageID, rec.Marshal()))
	}
}

// cancelRepairs drops the pending repair request and response for id.
func (m *Manager) cancelRepairs(c *channel, id string) {
	// Most channels have no repair pending: empty queues are not looked up.
	if c.outRepairs.Len() > 0 && c.outRepairs.Delete(id) {
		m.touch(c)
		if m.persist() {
			m.check("removeOutgoingRepair", c.id, m.store.RemoveOutgoingRepair(c.id, id))
		}
	}
	if c.inRepairs.Len() > 0 && c.deleteInRepair(id) {
		m.touch(c)
		if m.persist() {
			m.check("removeIncomingRepair", c.id, m.store.RemoveIncomingRepair(c.id, id))
		}
	}
}

// answerRepairRequests handles the SDS-R requests a message carries: another
// participant asking for a message means we need not ask for it ourselves, and
// if we hold it (delivered), know its sender and are in its response group, we
// schedule a rebroadcast after T_resp.
func (m *Manager) answerRepairRequests(c *channel, msg *wire.Message) {
	if len(msg.RepairRequest) == 0 {
		return
	}
	now := m.clock.Now()
	for _, req := range msg.RepairRequest {
		if c.outRepairs.Delete(req.MessageID) && m.persist() {
			m.check("removeOutgoingRepair", c.id, m.store.RemoveOutgoingRepair(c.id, req.MessageID))
		}
		entry, ok := c.log.Get(req.MessageID)
		if !ok || entry.message == nil || m.participantID == "" || req.SenderID == "" ||
			!repair.InResponseGroup(m.participantID, req.SenderID, req.MessageID, m.cfg.NumResponseGroups) {
			continue
		}
		if m.cfg.RerequestRepairs && c.inRepairs.Has(req.MessageID) {
			// Keep the pending response's time: requesters that ask again
			// before T_resp would otherwise postpone it for good.
			continue
		}
		req = cloneEntry(req)
		due := now.Add(repair.TResp(m.participantID, req.SenderID, req.MessageID, m.cfg.RepairTMax))
		c.setInRepair(req.MessageID, due, inRepair{entry: req, message: entry.message})
		if m.persist() {
			rec := record.IncomingRepair{Entry: req, CachedMessage: entry.message, MinTimeRepairRespMs: due.UnixMilli()}
			m.check("saveIncomingRepair", c.id, m.store.SaveIncomingRepair(c.id, req.MessageID, rec.Marshal()))
		}
	}
}

// storedForm is the encoding the engine keeps of a message (log, buffers,
// store records) and rebroadcasts for SDS-R: without its bloom filter (18.8 KB
// that the rebroadcast's receivers do not need) and without its repair
// requests (stale by the time it is rebroadcast: receivers would cancel their
// own pending requests for them). nim-sds keeps and resends both. It is always
// the 0.3 layout, whichever generation the message arrived in or the manager
// writes: 0.3 writes every field and nests each causal entry with its hint and
// sender id, so it holds any decoded message exactly and Decode never misreads
// it. sendForm converts it for rebroadcast.
func storedForm(msg *wire.Message) []byte {
	filter, source, requests := msg.BloomFilter, msg.Filter, msg.RepairRequest
	msg.BloomFilter, msg.Filter, msg.RepairRequest = nil, nil, nil
	b := msg.Marshal()
	msg.BloomFilter, msg.Filter, msg.RepairRequest = filter, source, requests
	return b
}

// sendForm turns a stored form (always the 0.3 layout, see storedForm) into
// the bytes this manager sends: itself for V03, re-encoded for V04.
func (m *Manager) sendForm(stored []byte) []byte {
	if m.cfg.WireGeneration == wire.V03 {
		return stored
	}
	msg, err := wire.UnmarshalV03(stored)
	if err != nil {
		return stored // not reached: stored forms are our own 0.3 encodings
	}
	return msg.MarshalAs(m.cfg.WireGeneration)
}

func cloneEntries(es []wire.HistoryEntry) []wire.HistoryEntry {
	out := make([]wire.HistoryEntry, len(es))
	for i, e := range es {
		out[i] = cloneEntry(e)
	}
	return out
}
