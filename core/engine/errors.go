package engine

import "errors"

// Errors returned by the manager. Each is a sentinel to test with errors.Is; the
// returned error may wrap it with detail.
var (
	// ErrInvalidArgument: empty content on wrap (nim-sds reInvalidArgument).
	ErrInvalidArgument = errors.New("sds: invalid argument")
	// ErrMessageTooLarge: wrap content over MaxContentSize, or unwrap input over
	// MaxWireSize (nim-sds reMessageTooLarge).
	ErrMessageTooLarge = errors.New("sds: message too large")
	// ErrDeserialization: the input is not a valid SDS message (nim-sds
	// reDeserializationError). It also wraps wire.ErrMalformed.
	ErrDeserialization = errors.New("sds: cannot decode message")
	// ErrUnknownChannel: MarkDependenciesMet on a channel the manager does not
	// have (nim-sds reports reInvalidArgument).
	ErrUnknownChannel = errors.New("sds: unknown channel")
	// ErrTooManyChannels: the operation would create a channel beyond
	// Config.MaxChannels.
	ErrTooManyChannels = errors.New("sds: too many channels")
	// ErrStore: the persistence store failed. With a transactional store the
	// operation was rolled back on disk and the channel's memory reloaded from it.
	ErrStore = errors.New("sds: persistence store failed")
	// ErrChannelQuarantined: the channel's stored state has a bad record (it
	// does not decode, or the store says it cannot be ours). Operations on the
	// channel fail with it (together with ErrStore) until RemoveChannel or
	// Reset drops the channel; the rows stay in the store for inspection and
	// every other channel works.
	ErrChannelQuarantined = errors.New("sds: channel quarantined")
	// ErrInvalidConfig: a Config field is out of range.
	ErrInvalidConfig = errors.New("sds: invalid config")
	// ErrClosed: the manager was closed.
	ErrClosed = errors.New("sds: manager closed")
)
