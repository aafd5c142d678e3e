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
	// ErrInvalidConfig: a Config field is out of range.
	ErrInvalidConfig = errors.New("sds: invalid config")
	// ErrClosed: the manager was closed.
	ErrClosed = errors.New("sds: manager closed")
)
