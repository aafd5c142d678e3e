package sds

import (
	"github.com/logos-messaging/libsds-go/core/clock"
	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/store"
)

// Config holds every tunable of a manager: bloom filter size, history sizes,
// resend interval and attempts, the periods of the periodic tasks, the SDS-R
// timings and the resource bounds. Start from DefaultConfig.
type Config = engine.Config

// DefaultConfig returns nim-sds's defaults plus the engine's resource bounds.
func DefaultConfig() Config { return engine.DefaultConfig() }

// Options configure NewReliabilityManagerWithOptions. The zero value gives
// what NewReliabilityManager gives, which is what sds-go-bindings gives over
// nim-sds: nim-sds defaults, no SDS-R, state in memory only, the wall clock.
type Options struct {
	// ParticipantID identifies this participant. A non-empty id enables SDS-R:
	// repair requests for missing messages go out with outgoing messages, and
	// OnRepairReady asks to rebroadcast messages other participants miss. It is
	// also sent as the messages' sender id, so outgoing bytes differ from those
	// of a manager without one.
	ParticipantID string
	// Config overrides DefaultConfig when non-nil. It is copied.
	Config *Config
	// Store persists the manager's state; nil keeps it in memory only. Any
	// store.Store works: core/store/memstore, the SQLite store, or your own. The
	// caller owns it: Cleanup does not close it, and a new manager on the same
	// store resumes where the old one stopped. A store must not call back into
	// the manager.
	Store store.Store
	// Clock is the protocol's time source (lamport timestamps, resends, SDS-R
	// back-off); nil is the wall clock. Tests pass a *clock.Fake. The periodic
	// tasks are paced by real timers whatever the clock.
	Clock clock.Clock
}
