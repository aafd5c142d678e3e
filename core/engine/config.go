package engine

import (
	"encoding/binary"
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

	// Hostile-peer budgets (docs/limits.md): what any peer can make the manager
	// hold or compute. An incoming message over a per-message budget is
	// rejected whole (ErrMessageTooLarge) before it changes anything; a buffer
	// over its byte budget evicts its oldest entries and reports each one.
	//
	// MaxIDLength bounds every message id and sender id, incoming (the
	// message's own and each causal-history and repair-request entry's) and
	// outgoing (Wrap refuses a longer id).
	MaxIDLength int
	// MaxChannelIDLength bounds channel ids, incoming and outgoing.
	MaxChannelIDLength int
	// MaxHintLength bounds each incoming retrieval hint; an outgoing hint
	// longer than this is left out of the entry rather than sent.
	MaxHintLength int
	// MaxCausalEntries and MaxRepairEntries bound the causal-history and
	// repair-request entries of one incoming message.
	MaxCausalEntries int
	MaxRepairEntries int
	// MaxCausalHistoryBytes bounds the encoded causal history of an outgoing
	// message: the newest entries that fit are cited, the rest left out.
	MaxCausalHistoryBytes int
	// MaxIncomingBytes bounds the bytes of a channel's dependency-waiting
	// messages (with what they wait for); beyond it the oldest is dropped and
	// reported by an IncomingDropped event.
	MaxIncomingBytes int
	// MaxHistoryBytes bounds the message bodies a channel's log keeps for
	// SDS-R rebroadcasts; beyond it the oldest bodies are let go (their ids
	// stay in the log, so what cites them is still delivered, but they are no
	// longer rebroadcast).
	MaxHistoryBytes int
	// MaxPendingRepairs bounds each of a channel's SDS-R queues (requests we
	// will send, responses we will send), and MaxRepairBytes the messages the
	// response queue holds; beyond them an entry is dropped and reported by a
	// RepairDropped event.
	MaxPendingRepairs int
	MaxRepairBytes    int
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

		MaxIDLength:           1 << 10,
		MaxChannelIDLength:    1 << 10,
		MaxHintLength:         4 << 10,
		MaxCausalEntries:      1000,
		MaxRepairEntries:      100,
		MaxCausalHistoryBytes: 64 << 10,
		MaxIncomingBytes:      8 << 20,
		MaxHistoryBytes:       16 << 20,
		MaxPendingRepairs:     1000,
		MaxRepairBytes:        16 << 20,
	}
}

// Upper bounds of the configuration. They keep every setting inside what the
// engine can hold and what peers accept: Validate also checks that the largest
// message Wrap could produce stays within MaxWireSize.
const (
	// MaxBloomBytes bounds the serialized rolling bloom filter (at its
	// rollover capacity, 120 % of BloomCapacity) that every message carries.
	MaxBloomBytes = 1 << 20
	// MinBloomErrorRate is the smallest error rate: it bounds the hashes per
	// id (40 at this rate) that every filter operation computes.
	MinBloomErrorRate = 1e-12
	maxCount          = 1_000_000
	maxIDBudget       = 64 << 10
	maxByteBudget     = 1 << 40
	maxInterval       = 365 * 24 * time.Hour
)

// Validate reports the first field that is out of range, wrapped in
// ErrInvalidConfig; the message names the field and its range.
func (c Config) Validate() error {
	type check struct {
		ok    bool
		field string
		rule  string
	}
	count := func(v, lo, hi int) bool { return v >= lo && v <= hi }
	interval := func(d, lo time.Duration) bool { return d >= lo && d <= maxInterval }
	for _, k := range []check{
		{c.BloomErrorRate >= MinBloomErrorRate && c.BloomErrorRate < 1, "BloomErrorRate", "in [1e-12, 1)"},
		{count(c.BloomCapacity, 1, maxCount), "BloomCapacity", "in [1, 1000000]"},
		{bloomBytes(c.BloomCapacity, c.BloomErrorRate) <= MaxBloomBytes, "BloomCapacity",
			fmt.Sprintf("small enough that the filter stays within %d bytes (%d at this capacity and error rate)",
				MaxBloomBytes, bloomBytes(c.BloomCapacity, c.BloomErrorRate))},
		{count(c.MaxMessageHistory, 1, maxCount), "MaxMessageHistory", "in [1, 1000000]"},
		{count(c.MaxResendAttempts, 0, maxCount), "MaxResendAttempts", "in [0, 1000000]"},
		{interval(c.ResendInterval, 0), "ResendInterval", "in [0, 8760h]"},
		{interval(c.SyncInterval, 1), "SyncInterval", "in (0, 8760h]"},
		{interval(c.BufferSweepInterval, 1), "BufferSweepInterval", "in (0, 8760h]"},
		{interval(c.RepairSweepInterval, 1), "RepairSweepInterval", "in (0, 8760h]"},
		{interval(c.RepairTMin, 0), "RepairTMin", "in [0, 8760h]"},
		{interval(c.RepairTMax, c.RepairTMin), "RepairTMax", "in [RepairTMin, 8760h]"},
		{count(c.NumResponseGroups, 1, maxCount), "NumResponseGroups", "in [1, 1000000]"},
		{count(c.MaxChannels, 1, maxCount), "MaxChannels", "in [1, 1000000]"},
		{count(c.MaxIncomingBuffer, 1, maxCount), "MaxIncomingBuffer", "in [1, 1000000]"},
		{count(c.MaxOutgoingBuffer, 1, maxCount), "MaxOutgoingBuffer", "in [1, 1000000]"},
		{count(c.MaxIDLength, 1, maxIDBudget), "MaxIDLength", "in [1, 65536]"},
		{count(c.MaxChannelIDLength, 1, maxIDBudget), "MaxChannelIDLength", "in [1, 65536]"},
		{count(c.MaxHintLength, 0, maxIDBudget), "MaxHintLength", "in [0, 65536]"},
		{count(c.MaxCausalEntries, 1, 100_000), "MaxCausalEntries", "in [1, 100000]"},
		{count(c.MaxRepairEntries, 0, 100_000), "MaxRepairEntries", "in [0, 100000]"},
		{count(c.MaxCausalHistory, 0, c.MaxCausalEntries), "MaxCausalHistory", "in [0, MaxCausalEntries]"},
		{count(c.MaxRepairRequests, 0, c.MaxRepairEntries), "MaxRepairRequests", "in [0, MaxRepairEntries]"},
		{count(c.MaxCausalHistoryBytes, 0, 4<<20), "MaxCausalHistoryBytes", "in [0, 4194304]"},
		{count(c.MaxIncomingBytes, 1, maxByteBudget), "MaxIncomingBytes", "in [1, 2^40]"},
		{count(c.MaxHistoryBytes, 1, maxByteBudget), "MaxHistoryBytes", "in [1, 2^40]"},
		{count(c.MaxPendingRepairs, 1, maxCount), "MaxPendingRepairs", "in [1, 1000000]"},
		{count(c.MaxRepairBytes, 1, maxByteBudget), "MaxRepairBytes", "in [1, 2^40]"},
		{c.WireGeneration.Valid(), "WireGeneration", "wire.V03 or wire.V04"},
	} {
		if !k.ok {
			return fmt.Errorf("%w: %s must be %s", ErrInvalidConfig, k.field, k.rule)
		}
	}
	if n := c.maxWrapSize(); n > MaxWireSize {
		return fmt.Errorf("%w: the largest message Wrap could produce (%d bytes: MaxContentSize, MaxIDLength, "+
			"MaxChannelIDLength, MaxCausalHistoryBytes, the bloom filter, MaxRepairRequests entries) must not exceed %d",
			ErrInvalidConfig, n, MaxWireSize)
	}
	return nil
}

// bloomBytes is the serialized size of a channel's rolling filter at its
// largest (rebuilt at 120 % of capacity), plus its header.
func bloomBytes(capacity int, errorRate float64) int {
	p := bloom.NewParams(capacity*(100+20)/100, errorRate)
	return p.Words()*8 + 64
}

// maxWrapSize is the largest message Wrap can produce: every field at its
// budget, with a varint length prefix per field.
func (c Config) maxWrapSize() int {
	const field = 1 + binary.MaxVarintLen64
	return 8*field + MaxContentSize + 2*c.MaxIDLength + c.MaxChannelIDLength +
		c.MaxCausalHistoryBytes + bloomBytes(c.BloomCapacity, c.BloomErrorRate) +
		c.MaxRepairRequests*(field+c.maxEntryBytes())
}
