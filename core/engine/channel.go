package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/logos-messaging/libsds-go/core/bloom"
	"github.com/logos-messaging/libsds-go/core/record"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/wire"
	"github.com/logos-messaging/libsds-go/internal/duequeue"
	"github.com/logos-messaging/libsds-go/internal/hashindex"
	"github.com/logos-messaging/libsds-go/internal/ordmap"
)

// channel is one channel's protocol state.
type channel struct {
	id      string
	lamport int64
	log     *ordmap.Map[string, logEntry] // delivered and own messages, oldest first
	bloom   *bloom.Rolling
	history wire.HistoryEncoder // the causal history last sent, kept encoded for the next

	outgoing []*outgoingMsg // unacknowledged, in send order
	// spareOutgoing is an entry given up by the buffer's bound, emptied on
	// reuse (see newOutgoing); nil when there is none.
	spareOutgoing *outgoingMsg
	outIndex      hashindex.Index[outgoingMsg] // id → the outgoing entry with that id
	ackGen        uint64                       // marks entries acknowledged by a received message
	wit           witnesses                    // ack review's index of the outgoing entries
	// outLow is at or before every outgoing message's send time (zero when
	// the buffer is empty): what the channel's due time is computed from,
	// without a scan per operation. Exact after a buffer sweep.
	outLow time.Time

	incoming   *ordmap.Map[string, *incomingMsg] // waiting for dependencies, by arrival
	waiting    map[string][]*incomingMsg         // missing id → messages waiting for it
	unreleased []*incomingMsg                    // restored with nothing missing; released on next delivery
	arrivals   uint64

	outRepairs *duequeue.Queue[wire.HistoryEntry] // SDS-R requests we will send, by due time
	inRepairs  *duequeue.Queue[inRepair]          // SDS-R responses we will send, by due time

	senders map[string]string // interned sender ids: a channel has few participants

	// Byte accounting of the hostile-peer budgets (budget.go).
	logBytes      int         // message bodies the log holds (MaxHistoryBytes)
	incomingBytes int         // what incoming holds (MaxIncomingBytes)
	inRepairBytes int         // what inRepairs holds (MaxRepairBytes)
	evicted       *evictedIDs // ids the log let go; nil until the first
	dueMs         int64       // the due time the store holds (store.DueIndex); -1 unknown
}

// logEntry is a message of the local log. The wire encoding (with an empty
// bloom filter) is what a repair response rebroadcasts and what the store keeps.
type logEntry struct {
	senderID string
	message  []byte
}

type outgoingMsg struct {
	id       string
	message  []byte // stored form (see storedForm)
	sendTime time.Time
	attempts int
	ackMark  uint64
	key      bloom.Key // the id's hashes
	witness  uint32    // one of the id's positions in filters of wit.m bits (see witnesses)
	// witnessBit is witness's bit in its byte of a filter, 1 << (witness % 8).
	witnessBit uint8
}

// outgoingID is the outgoing index's key of an entry.
func outgoingID(o *outgoingMsg) string { return o.id }

type incomingMsg struct {
	id       string
	senderID string
	message  []byte              // wire encoding, empty bloom filter
	size     int                 // bytes counted against MaxIncomingBytes
	deps     []wire.HistoryEntry // missing entries in the order the message cites them
	missing  map[string]struct{} // those still missing
	arrival  uint64
	released bool
}

type inRepair struct {
	entry   wire.HistoryEntry
	message []byte
}

func (m *Manager) newChannel(id string) *channel {
	return &channel{
		id:         id,
		log:        ordmap.New[string, logEntry](),
		bloom:      bloom.NewRolling(m.cfg.BloomCapacity, m.cfg.BloomErrorRate),
		outIndex:   hashindex.Make(outgoingID),
		incoming:   ordmap.New[string, *incomingMsg](),
		waiting:    make(map[string][]*incomingMsg),
		outRepairs: duequeue.New[wire.HistoryEntry](),
		inRepairs:  duequeue.New[inRepair](),
		senders:    make(map[string]string),
		dueMs:      -1,
	}
}

// maxInterned bounds the sender-id table; beyond it ids are kept as they come.
const maxInterned = 1024

// intern returns one shared copy of a sender id, so a full log does not hold a
// thousand copies of the same few ids.
func (c *channel) intern(id string) string {
	if id == "" {
		return ""
	}
	if s, ok := c.senders[id]; ok {
		return s
	}
	if len(c.senders) < maxInterned {
		c.senders[id] = id
	}
	return id
}

// channelFor returns the channel, loading it from the store on first use. With
// create false it returns (nil, nil) for a channel the manager does not know.
func (m *Manager) channelFor(id string, create bool) (*channel, error) {
	if c, ok := m.channels[id]; ok {
		return c, nil
	}
	if err, ok := m.quarantined[id]; ok {
		return nil, err
	}
	if _, ok := m.stale[id]; !ok {
		if !create {
			return nil, nil
		}
		if len(m.channels)+len(m.stale)+len(m.quarantined) >= m.cfg.MaxChannels {
			return nil, fmt.Errorf("%w: limit is %d", ErrTooManyChannels, m.cfg.MaxChannels)
		}
	}
	_, known := m.stale[id]
	c, err := m.load(id)
	if errors.Is(err, errBadRecord) {
		return nil, m.quarantine(id, err)
	}
	if err != nil {
		return nil, err
	}
	if !known {
		m.op.created = append(m.op.created, id)
	}
	delete(m.stale, id)
	m.channels[id] = c
	return c, nil
}

// reloadStale loads every channel that is known to the store but not in
// memory. A channel with a bad record is quarantined, not an error of the
// whole manager.
func (m *Manager) reloadStale() error {
	for id := range m.stale {
		if _, err := m.channelFor(id, false); err != nil && !errors.Is(err, ErrChannelQuarantined) {
			return err
		}
	}
	return nil
}

// errBadRecord marks a load error that quarantines the channel.
var errBadRecord = errors.New("bad record")

// quarantine sets the channel aside after a bad record: it leaves memory, its
// operations fail with the returned error until it is removed, and the host
// hears of it at once through a StoreFailed event (also when no operation is
// in progress, as when New or a sweep loads it). The store keeps its rows.
func (m *Manager) quarantine(id string, cause error) error {
	err := fmt.Errorf("%w: %w: channel %q set aside (its rows are kept; remove the channel to start it afresh): %v",
		ErrStore, ErrChannelQuarantined, id, cause)
	delete(m.stale, id)
	delete(m.channels, id)
	m.quarantined[id] = err
	m.sink.Deliver([]Event{{Kind: StoreFailed, ChannelID: id, Err: err}})
	return err
}

// load builds a channel from the store's snapshot (nim-sds getOrCreateChannel):
// the bloom filter is rebuilt from the log, oldest first. A snapshot that does
// not decode, or that the store reports as bad, is errBadRecord.
func (m *Manager) load(id string) (*channel, error) {
	c := m.newChannel(id)
	if !m.persistent {
		return c, nil
	}
	snap, err := m.store.LoadAllForChannel(id)
	if errors.Is(err, store.ErrBadRecord) {
		return nil, fmt.Errorf("%w: %w", errBadRecord, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: loading channel %q: %w", ErrStore, id, err)
	}
	if err := c.restore(snap, m.cfg.MaxMessageHistory); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadRecord, err)
	}
	m.trimHistoryBodies(c) // a smaller MaxHistoryBytes than the store was written with
	return c, nil
}

func (c *channel) restore(snap *store.Snapshot, maxHistory int) error {
	c.lamport = snap.Lamport
	logged := make(map[string][]byte, len(snap.Log)) // for outgoing records stored without their message
	for _, rec := range snap.Log {
		r, err := record.UnmarshalLog(rec)
		if err != nil {
			return err
		}
		msg, err := wire.UnmarshalV03(r.Message)
		if err != nil {
			return fmt.Errorf("log record: %w", err)
		}
		if old, ok := c.log.Get(msg.MessageID); ok {
			c.logBytes -= len(old.message)
		}
		message := bytes.Clone(r.Message)
		c.log.Set(msg.MessageID, logEntry{senderID: c.intern(msg.SenderID), message: message})
		c.logBytes += len(message)
		logged[msg.MessageID] = message
		c.bloom.Add(msg.MessageID)
	}
	// A smaller MaxMessageHistory than the store was written with: keep the newest.
	for c.log.Len() > maxHistory {
		oldest, e, _ := c.log.Oldest()
		c.log.Delete(oldest)
		c.logBytes -= len(e.message)
	}
	for _, rec := range snap.Outgoing {
		r, err := record.UnmarshalOutgoing(rec)
		if err != nil {
			return err
		}
		message := bytes.Clone(r.Message)
		if len(r.Message) == 0 {
			// Stored once, in the log record with its id (the store's keys
			// are ids). Without one, a store that cannot group writes lost
			// the log write of a wrap that never returned: nothing was sent.
			if message = logged[r.ID]; message == nil {
				continue
			}
		}
		msg, err := wire.UnmarshalV03(message)
		if err != nil {
			return fmt.Errorf("outgoing record: %w", err)
		}
		c.addOutgoing(&outgoingMsg{
			id:       msg.MessageID,
			message:  message,
			sendTime: time.UnixMilli(r.SendTimeMs),
			attempts: r.ResendAttempts,
		})
	}
	for _, rec := range snap.Incoming {
		r, err := record.UnmarshalIncoming(rec)
		if err != nil {
			return err
		}
		msg, err := wire.UnmarshalV03(r.Message)
		if err != nil {
			return fmt.Errorf("incoming record: %w", err)
		}
		in := &incomingMsg{id: msg.MessageID, senderID: msg.SenderID, message: bytes.Clone(r.Message)}
		in.setMissing(cloneEntries(r.MissingDeps))
		c.addIncoming(in)
		if len(in.missing) == 0 {
			c.unreleased = append(c.unreleased, in)
		}
	}
	for _, rec := range snap.OutgoingRepairs {
		r, err := record.UnmarshalOutgoingRepair(rec)
		if err != nil {
			return err
		}
		c.outRepairs.Set(r.Entry.MessageID, time.UnixMilli(r.MinTimeRepairReqMs), cloneEntry(r.Entry))
	}
	for _, rec := range snap.IncomingRepairs {
		r, err := record.UnmarshalIncomingRepair(rec)
		if err != nil {
			return err
		}
		c.setInRepair(r.Entry.MessageID, time.UnixMilli(r.MinTimeRepairRespMs),
			inRepair{entry: cloneEntry(r.Entry), message: bytes.Clone(r.CachedMessage)})
	}
	return nil
}

// cloneEntry copies an entry the engine keeps: its hint aliases the received
// message, and its strings share one allocation with the message's other
// entries (see wire.UnmarshalV03), which the kept entry must not hold on to.
func cloneEntry(e wire.HistoryEntry) wire.HistoryEntry {
	e.MessageID, e.SenderID = strings.Clone(e.MessageID), strings.Clone(e.SenderID)
	e.RetrievalHint = bytes.Clone(e.RetrievalHint)
	return e
}

// nextLamport is max(a, b) + 1, saturating at MaxInt64 instead of overflowing.
func nextLamport(a, b int64) int64 {
	v := max(a, b)
	if v == math.MaxInt64 {
		return v
	}
	return v + 1
}

func (m *Manager) setLamport(c *channel, l int64) {
	c.lamport = l
	if m.persist() {
		m.check("saveLamport", c.id, m.store.SaveLamport(c.id, l))
	}
}

// addToHistory appends a message to the local log (replacing in place if the id
// is already there) and evicts the oldest entries beyond the bound.
func (m *Manager) addToHistory(c *channel, id, senderID string, message []byte) {
	if senderID == m.participantID {
		senderID = m.participantID // shared as interning would, without its lookup
	} else {
		senderID = c.intern(senderID)
	}
	if old, ok := c.log.Swap(id, logEntry{senderID: senderID, message: message}); ok {
		c.logBytes -= len(old.message)
		if !sameBytes(old.message, message) {
			m.leavingLog(c, id, old)
		}
	}
	c.logBytes += len(message)
	if m.persist() {
		m.check("appendLogEntry", c.id, m.store.AppendLogEntry(c.id, id, record.Log{Message: message}.Marshal()))
	}
	for c.log.Len() > m.cfg.MaxMessageHistory {
		oldest, e, _ := c.log.DeleteOldest()
		m.leavingLog(c, oldest, e)
		c.logBytes -= len(e.message)
		m.rememberEvicted(c, oldest)
		if m.persist() {
			m.check("removeLogEntry", c.id, m.store.RemoveLogEntry(c.id, oldest))
		}
	}
	m.trimHistoryBodies(c)
}
