package engine

import (
	"fmt"
	"time"

	"github.com/logos-messaging/libsds-go/core/bloom"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// Size limits that are part of the protocol's compatibility surface rather than
// tuning: nim-sds rejects larger content on wrap, and no legitimate SDS message
// comes near MaxWireSize.
const (
	// MaxContentSize is the largest content Wrap accepts (nim-sds's MaxMessageSize).
	MaxContentSize = 1 << 20
	// MaxWireSize is the largest input Unwrap accepts.
	MaxWireSize = 16 << 20
)

// Config holds every tunable of a manager. Start from DefaultConfig and change
// what you need; Validate tells what is out of range.
type Config struct {
	// BloomCapacity and BloomErrorRate size each channel's rolling bloom filter.
	BloomCapacity  int
	BloomErrorRate float64
	// MaxMessageHistory bounds each channel's local log (FIFO eviction).
	MaxMessageHistory int
	// MaxCausalHistory is how many recent log entries each outgoing message cites.
	// Zero sends no causal history.
	MaxCausalHistory int
	// ResendInterval is how long an unacknowledged message waits between resend
	// attempts, and MaxResendAttempts how many attempts the buffer sweep counts
	// before it gives the message up. Like nim-sds, the engine retransmits nothing
	// itself: the count only decides when to give up.
	ResendInterval    time.Duration
	MaxResendAttempts int
	// SyncInterval, BufferSweepInterval and RepairSweepInterval pace the periodic
	// tasks (see package scheduler).
	SyncInterval        time.Duration
	BufferSweepInterval time.Duration
	RepairSweepInterval time.Duration
	// RepairTMin and RepairTMax bound the SDS-R back-off window.
	RepairTMin time.Duration
	RepairTMax time.Duration
	// NumResponseGroups splits participants into groups that answer repair
	// requests; with 1 everyone answers.
	NumResponseGroups int
	// MaxRepairRequests caps the repair requests attached to one outgoing
	// message. Zero attaches none.
	MaxRepairRequests int
	// RerequestRepairs makes the repair sweep schedule a new repair request for
	// every message still missing that has none pending — because the last one
	// was sent, or dropped RepairTMax after its time — so that a lost request or
	// a lost rebroadcast does not leave a gap open for good. Since requesters
	// then ask again every T_req, a request for a message whose response is
	// already pending keeps that response's time instead of postponing it.
	// nim-sds asks once per citation and reschedules the response at every
	// request; the default (false) keeps its behaviour.
	RerequestRepairs bool
	// MaxChannels bounds the channels of one manager; an operation that would
	// create one more fails with ErrTooManyChannels.
	MaxChannels int
	// MaxIncomingBuffer bounds a channel's dependency-waiting messages; beyond it
	// the oldest is dropped and reported by an IncomingDropped event.
	MaxIncomingBuffer int
	// MaxOutgoingBuffer bounds a channel's unacknowledged messages; beyond it the
	// oldest is given up and reported by a MessageGivenUp event.
	MaxOutgoingBuffer int

	// Delivery for applications (the native C API and its bridges turn these
	// on; nim-sds and the compatible APIs have them off).

	// CausalReadyOrder reports a message's MessageReady before those of the
	// buffered messages its delivery releases, so that every message is
	// reported after everything it depends on. Off, the order is nim-sds's:
	// the released messages first, the message that released them last.
	CausalReadyOrder bool
	// ReadyContent sets Event.Content on MessageReady events, so that the
	// application can deliver a message that waited in the dependency buffer
	// when it becomes ready.
	ReadyContent bool

	// Wire generations.
	//
	// WireGeneration is the layout Wrap writes and repair rebroadcasts use:
	// wire.V03 (the zero value, nim-sds 0.3's, what deployed networks speak) or
	// wire.V04 (nim-sds 0.4's). Unwrap reads both whatever it is set to, so a
	// network upgrades by moving every peer to a reader of both first and
	// flipping writers to V04 afterwards.
	WireGeneration wire.Generation
}

// DefaultConfig returns nim-sds's defaults plus the engine's resource bounds.
func DefaultConfig() Config {
	return Config{
		BloomCapacity:       bloom.DefaultCapacity,
		BloomErrorRate:      bloom.DefaultErrorRate,
		MaxMessageHistory:   1000,
		MaxCausalHistory:    10,
		ResendInterval:      60 * time.Second,
		MaxResendAttempts:   5,
		SyncInterval:        30 * time.Second,
		BufferSweepInterval: 60 * time.Second,
		RepairSweepInterval: 5 * time.Second,
		RepairTMin:          30 * time.Second,
		RepairTMax:          300 * time.Second,
		NumResponseGroups:   1,
		MaxRepairRequests:   3,
		MaxChannels:         10_000,
		MaxIncomingBuffer:   10_000,
		MaxOutgoingBuffer:   10_000,
	}
}

// Validate reports the first field that is out of range, wrapped in
// ErrInvalidConfig.
func (c Config) Validate() error {
	type check struct {
		ok    bool
		field string
		rule  string
	}
	for _, k := range []check{
		{c.BloomCapacity > 0, "BloomCapacity", "> 0"},
		{c.BloomErrorRate > 0 && c.BloomErrorRate < 1, "BloomErrorRate", "in (0, 1)"},
		{c.MaxMessageHistory > 0, "MaxMessageHistory", "> 0"},
		{c.MaxCausalHistory >= 0, "MaxCausalHistory", ">= 0"},
		{c.ResendInterval >= 0, "ResendInterval", ">= 0"},
		{c.MaxResendAttempts >= 0, "MaxResendAttempts", ">= 0"},
		{c.SyncInterval > 0, "SyncInterval", "> 0"},
		{c.BufferSweepInterval > 0, "BufferSweepInterval", "> 0"},
		{c.RepairSweepInterval > 0, "RepairSweepInterval", "> 0"},
		{c.RepairTMin >= 0, "RepairTMin", ">= 0"},
		{c.RepairTMax >= c.RepairTMin, "RepairTMax", ">= RepairTMin"},
		{c.NumResponseGroups > 0, "NumResponseGroups", "> 0"},
		{c.MaxRepairRequests >= 0, "MaxRepairRequests", ">= 0"},
		{c.MaxChannels > 0, "MaxChannels", "> 0"},
		{c.MaxIncomingBuffer > 0, "MaxIncomingBuffer", "> 0"},
		{c.MaxOutgoingBuffer > 0, "MaxOutgoingBuffer", "> 0"},
		{c.WireGeneration.Valid(), "WireGeneration", "wire.V03 or wire.V04"},
	} {
		if !k.ok {
			return fmt.Errorf("%w: %s must be %s", ErrInvalidConfig, k.field, k.rule)
		}
	}
	return nil
}
