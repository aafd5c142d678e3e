package sds

// MessageID identifies a message within its channel. It is the application's
// choice (status-go uses the hex of a hash of the payload); the empty id is
// allowed, as in nim-sds.
type MessageID string

// HistoryEntry is one message of a causal history: its id and the retrieval
// hint the sender's application supplied for it (for example a transport
// message hash), empty when it had none. The JSON tags are those of
// sds-go-bindings.
type HistoryEntry struct {
	MessageID     MessageID `json:"messageId"`
	RetrievalHint []byte    `json:"retrievalHint"`
}

// UnwrappedMessage is the result of UnwrapReceivedMessage. The fields are
// pointers, as in sds-go-bindings, but a successful unwrap always sets all
// three: Message to the content (an empty slice for empty content),
// MissingDeps to the cited messages not yet delivered here (an empty slice
// when the message was delivered), ChannelId to the message's channel.
type UnwrappedMessage struct {
	Message     *[]byte         `json:"message"`
	MissingDeps *[]HistoryEntry `json:"missingDeps"`
	ChannelId   *string         `json:"channelId"`
}

// EventCallbacks are the application's handlers. Every field is optional. The
// event handlers (all but RetrievalHintProvider) run one at a time, in the
// order the events happened, before the call that caused them returns —
// usually on that call's goroutine, else on that of another call delivering
// the manager's events at the time, or, for the periodic tasks, on a goroutine
// started for them — and may call any method of the manager, including
// Cleanup. A handler that panics panics the call delivering it, and the rest
// of its event batch is not delivered; the manager stays usable (a panic while
// delivering the periodic tasks' events ends the program, as a panic on any
// goroutine does).
//
// The first five fields are those of sds-go-bindings, with the same meaning;
// the fields after them are events nim-sds does not report.
type EventCallbacks struct {
	// OnMessageReady: a received message is delivered (its dependencies are
	// met). Messages a delivery releases from the dependency buffer are reported
	// before the message that released them, as nim-sds does.
	OnMessageReady func(messageId MessageID, channelId string)
	// OnMessageSent: one of our messages was acknowledged by a peer (seen in a
	// causal history or a bloom filter) — or, as in nim-sds, given up after its
	// last resend attempt or pushed out of a full outgoing buffer, unless
	// OnMessageGivenUp is set.
	OnMessageSent func(messageId MessageID, channelId string)
	// OnMissingDependencies: a received message waits for the listed messages,
	// in the order it cites them, with the hints its sender supplied.
	OnMissingDependencies func(messageId MessageID, missingDeps []HistoryEntry, channelId string)
	// OnPeriodicSync: time to send a message so that peers learn what we have
	// seen (nim-sds builds no sync message either). Fired by the periodic tasks.
	OnPeriodicSync func()
	// RetrievalHintProvider returns the hint for one of the messages an outgoing
	// message cites, or nil. Unlike the handlers above it runs synchronously
	// inside WrapOutgoingMessage, on the caller's goroutine, once per
	// causal-history entry, with the manager locked: it must be quick, and a
	// call from it into the same manager fails with ErrReentrantCall (nim-sds
	// deadlocks there).
	RetrievalHintProvider func(messageId MessageID) []byte

	// OnMessageGivenUp, when set, receives the messages given up without an
	// acknowledgement (out of resend attempts, or pushed out of a full outgoing
	// buffer) instead of OnMessageSent, so the application can tell them from
	// acknowledged ones. When nil, they go to OnMessageSent as in nim-sds.
	OnMessageGivenUp func(messageId MessageID, channelId string)
	// OnRepairReady: SDS-R (enabled by Options.ParticipantID) asks the
	// application to broadcast message again, as is: it is a complete SDS wire
	// message, with an empty bloom filter. The slice is the handler's to keep.
	OnRepairReady func(message []byte, channelId string)
	// OnIncomingDropped: a message waiting for dependencies was discarded
	// because the channel's dependency buffer was full (Config.MaxIncomingBuffer
	// or MaxIncomingBytes).
	OnIncomingDropped func(messageId MessageID, channelId string)
	// OnRepairDropped: a pending SDS-R repair request or response for
	// messageId was discarded because the channel's repair budget was full
	// (Config.MaxPendingRepairs, MaxRepairBytes).
	OnRepairDropped func(messageId MessageID, channelId string)
	// OnStoreFailed: a store without transactions (Options.Store) failed a
	// write; the in-memory state went on and err says what the store lost.
	// Failures of a transactional store are returned by the call instead.
	OnStoreFailed func(channelId string, err error)
}
