package engine

import "github.com/logos-messaging/libsds-go/core/wire"

// EventKind tells what an Event reports.
type EventKind uint8

// The event kinds. MessageAcknowledged and MessageGivenUp are distinct here;
// nim-sds reports both as "message_sent", and so does the compatible C API.
const (
	// MessageReady: a received message is delivered (its dependencies are met).
	MessageReady EventKind = iota + 1
	// MessageAcknowledged: one of our messages was seen by a peer (causal
	// history or bloom filter).
	MessageAcknowledged
	// MessageGivenUp: one of our messages ran out of resend attempts, or was
	// pushed out of a full outgoing buffer, without being acknowledged.
	MessageGivenUp
	// MissingDependencies: a received message waits for the listed messages.
	MissingDependencies
	// PeriodicSync: time to send a sync message (one per manager, no channel).
	PeriodicSync
	// RepairReady: SDS-R asks the application to rebroadcast Message.
	RepairReady
	// IncomingDropped: a dependency-waiting message was discarded because the
	// channel's incoming buffer was full.
	IncomingDropped
	// StoreFailed: a store without transactions failed a write; the in-memory
	// state went ahead and Err says what the store lost. Also: a channel's
	// stored state has a bad record and the channel is quarantined (Err wraps
	// ErrChannelQuarantined).
	StoreFailed
	// RepairDropped: a pending SDS-R repair request or response for MessageID
	// was discarded because the channel's repair budget (MaxPendingRepairs,
	// MaxRepairBytes) was full.
	RepairDropped
)

var kindNames = [...]string{
	MessageReady:        "message_ready",
	MessageAcknowledged: "message_acknowledged",
	MessageGivenUp:      "message_given_up",
	MissingDependencies: "missing_dependencies",
	PeriodicSync:        "periodic_sync",
	RepairReady:         "repair_ready",
	IncomingDropped:     "incoming_dropped",
	StoreFailed:         "store_failed",
	RepairDropped:       "repair_dropped",
}

// String returns the snake_case name of the kind.
func (k EventKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// Event is something the application must hear about. Which fields are set
// depends on Kind.
type Event struct {
	Kind      EventKind
	ChannelID string // empty for PeriodicSync
	MessageID string // empty for PeriodicSync, RepairReady and StoreFailed
	// MissingDeps lists the missing messages of a MissingDependencies event, in
	// the order the message cites them, with their retrieval hints.
	MissingDeps []wire.HistoryEntry
	// Message is the SDS wire message a RepairReady event asks to rebroadcast. It
	// carries an empty bloom filter and no repair requests: the engine does not
	// keep each message's 18.8 KB filter (receivers accept a message without
	// one), and the original's requests are stale by now.
	Message []byte
	// Err is the store's error for StoreFailed.
	Err error
	// Content is the payload of a MessageReady event's message when
	// Config.ReadyContent is on (else nil). It is the engine's own copy: the
	// sink may keep it, and must not modify it.
	Content []byte
}

// EventSink receives each operation's events, in order, as one batch. It is
// called with the manager's lock held, so it must not block or call back into
// the manager; hand the batch to another goroutine (package dispatch does).
// The sink owns the slice it receives.
type EventSink interface {
	Deliver(events []Event)
}

// EventSinkFunc adapts a function to EventSink.
type EventSinkFunc func(events []Event)

// Deliver calls f(events).
func (f EventSinkFunc) Deliver(events []Event) { f(events) }

type discardSink struct{}

func (discardSink) Deliver([]Event) {}
