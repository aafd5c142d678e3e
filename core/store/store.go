// Package store defines the persistence contract between the protocol engine and
// a durable backend: nim-sds's Persistence object (persistence-contract.nim) with
// its 13 write operations and the bootstrap load, plus two optional capabilities
// nim-sds lacks — transactions around each protocol operation and listing the
// stored channels.
//
// Records are opaque, versioned byte strings produced and parsed by package
// record; a store only keeps them under the keys it is given (channel id, message
// id) and hands them back on load. Records never contain a message's bloom filter
// and carry times as Unix milliseconds.
//
// The engine calls each write right after the in-memory change it records, with
// the manager's lock held, never concurrently for one manager. A store shared by
// several managers must namespace itself (see the SQLite store).
package store

import "errors"

// ErrBadRecord is wrapped by a store's LoadAllForChannel error when what it
// holds for the channel cannot be what the engine wrote (a malformed row, an
// unknown kind), as opposed to a failure to read. The engine quarantines such a
// channel instead of failing the whole manager; it does the same when a
// record does not decode.
var ErrBadRecord = errors.New("store: bad record")

// Store is the persistence contract. Every method returns an error instead of
// panicking; how the engine reacts to an error depends on whether the store is
// also Transactional (see the engine's documentation).
type Store interface {
	// SaveLamport records the channel's lamport clock.
	SaveLamport(channelID string, lamport int64) error

	// AppendLogEntry adds (or replaces in place, keeping its position) a delivered
	// or own message in the channel's local log. record is a record.Log.
	AppendLogEntry(channelID, messageID string, record []byte) error
	// RemoveLogEntry evicts a message from the channel's local log.
	RemoveLogEntry(channelID, messageID string) error
	// SetRetrievalHint records the application's retrieval hint for a message id.
	// It has no channel and is never read back by the library: it exists so the
	// host can keep its id → hint mapping beside the protocol state.
	SetRetrievalHint(messageID string, hint []byte) error

	// SaveOutgoing inserts or updates an unacknowledged message (record.Outgoing).
	SaveOutgoing(channelID, messageID string, record []byte) error
	// RemoveOutgoing drops an unacknowledged message once acknowledged or given up.
	RemoveOutgoing(channelID, messageID string) error

	// SaveIncoming inserts or updates a message waiting for its dependencies
	// (record.Incoming), keeping its arrival position on update.
	SaveIncoming(channelID, messageID string, record []byte) error
	// RemoveIncoming drops a waiting message once delivered or discarded.
	RemoveIncoming(channelID, messageID string) error

	// SaveOutgoingRepair inserts or updates a pending SDS-R repair request
	// (record.OutgoingRepair) for a message we are missing.
	SaveOutgoingRepair(channelID, messageID string, record []byte) error
	// RemoveOutgoingRepair drops a pending repair request.
	RemoveOutgoingRepair(channelID, messageID string) error

	// SaveIncomingRepair inserts or updates a pending SDS-R repair response
	// (record.IncomingRepair) we will rebroadcast for another participant.
	SaveIncomingRepair(channelID, messageID string, record []byte) error
	// RemoveIncomingRepair drops a pending repair response.
	RemoveIncomingRepair(channelID, messageID string) error

	// DropChannel wipes everything stored for the channel, atomically.
	DropChannel(channelID string) error

	// LoadAllForChannel returns the channel's stored state; an unknown channel
	// yields an empty snapshot and no error.
	LoadAllForChannel(channelID string) (*Snapshot, error)
}

// Snapshot is a channel's stored state as LoadAllForChannel returns it. Every
// list keeps insertion order (oldest first): FIFO eviction of the log and the
// release order of waiting messages depend on it.
type Snapshot struct {
	Lamport         int64
	Log             [][]byte // record.Log, oldest first
	Outgoing        [][]byte // record.Outgoing, in buffer order
	Incoming        [][]byte // record.Incoming, in arrival order
	OutgoingRepairs [][]byte // record.OutgoingRepair
	IncomingRepairs [][]byte // record.IncomingRepair
}

// Transactional is implemented by stores that can make one protocol operation
// atomic. The engine calls Begin before the first write of an operation and
// Commit after its last; on any failure inside it calls Rollback, forgets the
// channel's in-memory state and reloads it from the store on next use, so memory
// never runs ahead of disk.
type Transactional interface {
	Begin() error
	Commit() error
	Rollback() error
}

// ChannelLister is implemented by stores that can enumerate their channels. A
// manager built on such a store knows every channel from construction, so
// resends and repairs of channels that see no new traffic still happen: it
// loads them all then, or lazily if the store is also a DueIndex.
type ChannelLister interface {
	ListChannels() ([]string, error)
}

// DueIndex is implemented by stores that keep, for each channel, the time its
// timers (resends, repair responses, the expiry of repair requests) next need
// it. A manager on a store that is also a ChannelLister then loads channels
// lazily: construction lists the channels and loads none, each sweep loads only
// the channels due by then, and any other channel is loaded on first use. The
// engine writes a channel's due time inside the operation that changes it.
type DueIndex interface {
	// SaveChannelDue records when the channel next needs a sweep, in Unix
	// milliseconds; 0 means never (nothing timed is pending).
	SaveChannelDue(channelID string, dueMs int64) error
	// ChannelsDue lists the channels whose recorded due time is at or before
	// nowMs (and not 0), sorted. Dropping a channel drops its due time.
	ChannelsDue(nowMs int64) ([]string, error)
}

// NoOp is the default store: it keeps nothing and loads empty snapshots, as
// nim-sds's noOpPersistence does.
type NoOp struct{}

var _ Store = NoOp{}

// SaveLamport does nothing.
func (NoOp) SaveLamport(string, int64) error { return nil }

// AppendLogEntry does nothing.
func (NoOp) AppendLogEntry(string, string, []byte) error { return nil }

// RemoveLogEntry does nothing.
func (NoOp) RemoveLogEntry(string, string) error { return nil }

// SetRetrievalHint does nothing.
func (NoOp) SetRetrievalHint(string, []byte) error { return nil }

// SaveOutgoing does nothing.
func (NoOp) SaveOutgoing(string, string, []byte) error { return nil }

// RemoveOutgoing does nothing.
func (NoOp) RemoveOutgoing(string, string) error { return nil }

// SaveIncoming does nothing.
func (NoOp) SaveIncoming(string, string, []byte) error { return nil }

// RemoveIncoming does nothing.
func (NoOp) RemoveIncoming(string, string) error { return nil }

// SaveOutgoingRepair does nothing.
func (NoOp) SaveOutgoingRepair(string, string, []byte) error { return nil }

// RemoveOutgoingRepair does nothing.
func (NoOp) RemoveOutgoingRepair(string, string) error { return nil }

// SaveIncomingRepair does nothing.
func (NoOp) SaveIncomingRepair(string, string, []byte) error { return nil }

// RemoveIncomingRepair does nothing.
func (NoOp) RemoveIncomingRepair(string, string) error { return nil }

// DropChannel does nothing.
func (NoOp) DropChannel(string) error { return nil }

// LoadAllForChannel returns an empty snapshot.
func (NoOp) LoadAllForChannel(string) (*Snapshot, error) { return &Snapshot{}, nil }
