package main

/*
#include <stdlib.h>
#include "cdispatch.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/scheduler"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// managers holds every live manager, native and compatible alike: a compat
// context pointer is its manager's handle, so the re-entry guard in sds.c
// recognizes both.
var managers = newRegistry[*manager]()

// manager is one engine with what the C API adds around it: the dispatcher that
// delivers its events (and compat results) in order, the periodic-task runner,
// the store it owns, and the host's handlers.
type manager struct {
	handle uint64
	eng    *engine.Manager
	// d delivers the manager's callbacks in order on the delivery pool's
	// threads: events (native structs or, for a compatible manager, nim-sds's
	// JSON), and the compatible API's results (cdispatch.c).
	d      *C.sdsi_dispatcher
	runner *scheduler.Runner
	store  io.Closer    // closed after the engine at free; nil if none
	compat *compatState // nil for a native manager

	// calls is held shared by every API call in progress and exclusively by
	// free, which therefore waits for them; closed makes late arrivals fail.
	calls  sync.RWMutex
	closed atomic.Bool
	// life serializes starting and stopping the runner: a Stop waiting for
	// its loops must not see a concurrent Start add new ones.
	life sync.Mutex

	hints atomic.Pointer[hintHandler]
	// scratch is C memory for the ids and hints passed to host callouts. The
	// engine makes callouts one at a time per manager (under its lock).
	scratch callScratch
	// wireOverhead is the previous wrap's wire size beyond its content: how
	// much C memory the next native wrap reserves to encode straight into.
	wireOverhead atomic.Int64
}

type hintHandler struct {
	cb C.libsds_hint_provider
	ud C.uintptr_t
}

// settings is what libsds_options asks for, in Go terms.
type settings struct {
	participantID string
	config        engine.Config
	storeKind     C.uint32_t
	persistence   *C.libsds_persistence // copied into C memory by the adapter
	sqlitePath    string
	sqliteNS      *string
	durability    C.uint32_t
}

// newManager builds a manager and registers it.
func newManager(s settings, compat bool) (*manager, error) {
	m := &manager{}
	if compat {
		m.compat = &compatState{}
	} else {
		// What an application needs to deliver (sds.h, "Delivery order"); the
		// compatible API keeps nim-sds's order and has no content in its events.
		s.config.CausalReadyOrder, s.config.ReadyContent = true, true
	}
	m.handle = managers.reserve()
	st, closer, err := m.openStore(s)
	if err != nil {
		managers.release(m.handle)
		return nil, err
	}
	if m.d = C.sdsi_dispatcher_new(C.int(boolInt(compat))); m.d == nil {
		if closer != nil {
			_ = closer.Close()
		}
		m.scratch.free()
		managers.release(m.handle)
		return nil, fmt.Errorf("%w: out of memory", errInternal)
	}
	eng, err := engine.New(engine.Options{
		ParticipantID: s.participantID,
		Config:        &s.config,
		Store:         st,
		Events:        engine.EventSinkFunc(m.post),
		HintProvider:  m.provideHint,
	})
	if err != nil {
		C.sdsi_dispatcher_close(m.d)
		if closer != nil {
			_ = closer.Close()
		}
		m.scratch.free()
		managers.release(m.handle)
		return nil, err
	}
	m.eng = eng
	m.store = closer
	m.runner = scheduler.New(eng, scheduler.IntervalsOf(s.config), nil)
	managers.publish(m.handle, m)
	return m, nil
}

// post hands a batch of events to the dispatcher, built as C data: a native
// manager's as libsds_event structs, a compatible one's as nim-sds's JSON. It
// runs under the engine's lock and never blocks (backpressure waits happen in
// acquire, before the lock).
func (m *manager) post(evs []engine.Event) {
	if m.compat != nil {
		m.compat.postEvents(m, evs)
		return
	}
	for i := range evs {
		ev, block := cEvent(&evs[i])
		C.sdsi_post_event(m.d, block.base, ev)
	}
}

// acquire finds the live manager behind h for one API call; release must be
// called when the call is done. With room, a call that may cause events
// first waits while the manager's queue of undelivered events is full
// (backpressure, cdispatch.h); free wakes it with engine.ErrClosed.
func acquire(h uint64, room bool) (*manager, error) {
	m, ok := managers.get(h)
	if !ok {
		return nil, fmt.Errorf("%w: %#x", errBadHandle, h)
	}
	// Only free takes calls exclusively, and it marks the manager closed
	// first: a failed TryRLock means it is being freed. Never wait for the
	// lock — the caller may be an event callback that free is waiting for.
	if !m.calls.TryRLock() {
		return nil, fmt.Errorf("%w: %#x is being freed", engine.ErrClosed, h)
	}
	if m.closed.Load() || (room && C.sdsi_wait_room(m.d) != 0) {
		m.calls.RUnlock()
		return nil, fmt.Errorf("%w: %#x is being freed", engine.ErrClosed, h)
	}
	return m, nil
}

func (m *manager) release() { m.calls.RUnlock() }

// free tears the manager down: no new call finds it, calls waiting for room
// give up, calls in progress finish, periodic work stops, then the engine and
// the store are closed. A native manager's undelivered events are dropped
// (the callback running, if any, is the last); a compatible manager's are
// delivered, then last (may be nil: cleanup's own result) — every accepted
// call gets its one result. cdispatch.c says when the close waits.
func (m *manager) free(last *result) error {
	if _, ok := managers.remove(m.handle); !ok {
		return fmt.Errorf("%w: %#x", errBadHandle, m.handle)
	}
	m.closed.Store(true)
	C.sdsi_dispatcher_closing(m.d, C.int(boolInt(m.compat == nil)))
	m.calls.Lock()
	defer m.calls.Unlock()
	m.life.Lock()
	m.runner.Stop()
	m.life.Unlock()
	// A compatible cleanup delivers what is queued and its own result on
	// the caller's thread when it may (cdispatch.h).
	d := m.d
	C.sdsi_call_begin(d)
	if last != nil {
		m.postResult(last)
	}
	C.sdsi_dispatcher_close(d)
	C.sdsi_call_end(d)
	m.d = nil
	_ = m.eng.Close()
	m.scratch.free()
	if m.store != nil {
		if err := m.store.Close(); err != nil {
			return fmt.Errorf("%w: closing the store: %v", engine.ErrStore, err)
		}
	}
	return nil
}

// openStore builds the store the options ask for.
func (m *manager) openStore(s settings) (store.Store, io.Closer, error) {
	switch s.storeKind {
	case C.LIBSDS_STORE_NONE:
		return nil, nil, nil
	case C.LIBSDS_STORE_HOST:
		if s.persistence == nil {
			return nil, nil, fmt.Errorf("%w: store_kind HOST needs a persistence vtable", errInvalidArg)
		}
		p, err := newHostStore(m, s.persistence)
		if err != nil {
			return nil, nil, err
		}
		return p.asStore(), p, nil
	case C.LIBSDS_STORE_SQLITE:
		ns := s.participantID
		if s.sqliteNS != nil {
			ns = *s.sqliteNS
		}
		return openSQLite(s.sqlitePath, ns, s.durability)
	}
	return nil, nil, fmt.Errorf("%w: unknown store_kind %d", errInvalidArg, s.storeKind)
}

// knownConfigBits are the LIBSDS_CFG_* bits this build reads.
const knownConfigBits = uint64(C.LIBSDS_CFG_REREQUEST_REPAIRS)<<1 - 1 |
	uint64(C.LIBSDS_CFG_WIRE_GENERATION) |
	// Hostile-peer budgets.
	(uint64(C.LIBSDS_CFG_MAX_REPAIR_BYTES)<<1-1)&^(uint64(C.LIBSDS_CFG_MAX_ID_LENGTH)-1)

// optionNames maps engine.Config fields to the libsds_options fields that set
// them, so that a range error names the field the host wrote.
var optionNames = [][2]string{
	{"BloomCapacity", "bloom_capacity"}, {"BloomErrorRate", "bloom_error_rate"},
	{"MaxMessageHistory", "max_message_history"}, {"MaxCausalHistoryBytes", "max_causal_history_bytes"},
	{"MaxCausalHistory", "max_causal_history"}, {"ResendInterval", "resend_interval_ms"},
	{"MaxResendAttempts", "max_resend_attempts"}, {"SyncInterval", "sync_interval_ms"},
	{"BufferSweepInterval", "buffer_sweep_interval_ms"}, {"RepairSweepInterval", "repair_sweep_interval_ms"},
	{"RepairTMin", "repair_t_min_ms"}, {"RepairTMax", "repair_t_max_ms"},
	{"NumResponseGroups", "num_response_groups"}, {"MaxRepairRequests", "max_repair_requests"},
	{"MaxChannels", "max_channels"}, {"MaxIncomingBuffer", "max_incoming_buffer"},
	{"MaxOutgoingBuffer", "max_outgoing_buffer"}, {"MaxIDLength", "max_id_length"},
	{"MaxChannelIDLength", "max_channel_id_length"}, {"MaxHintLength", "max_hint_length"},
	{"MaxCausalEntries", "max_causal_entries"}, {"MaxRepairEntries", "max_repair_entries"},
	{"MaxIncomingBytes", "max_incoming_bytes"}, {"MaxHistoryBytes", "max_history_bytes"},
	{"MaxPendingRepairs", "max_pending_repairs"}, {"MaxRepairBytes", "max_repair_bytes"},
}

// nameOption adds the libsds_options field's name to a Validate error.
func nameOption(err error) error {
	for _, n := range optionNames {
		if strings.Contains(err.Error(), ": "+n[0]+" must") {
			if strings.HasSuffix(n[1], "_ms") {
				return fmt.Errorf("%w (libsds_options.%s, in milliseconds)", err, n[1])
			}
			return fmt.Errorf("%w (libsds_options.%s)", err, n[1])
		}
	}
	return err
}

// maxIntervalMs is the longest interval an option may ask for, in
// milliseconds: engine.Config.Validate's bound, checked here before the
// conversion to a Duration.
const maxIntervalMs = int64(365 * 24 * time.Hour / time.Millisecond)

// readOptions converts libsds_options, reading no field beyond o.size. Values
// are range-checked by engine.Config.Validate when the manager is built.
func readOptions(o *C.libsds_options) (settings, error) {
	s := settings{config: engine.DefaultConfig()}
	if o == nil {
		return s, nil
	}
	size := uintptr(o.size)
	if size < unsafe.Offsetof(o.participant_id)+unsafe.Sizeof(o.participant_id) {
		return s, fmt.Errorf("%w: options.size %d is smaller than any libsds_options", errInvalidArg, size)
	}
	has := func(offset, width uintptr) bool { return size >= offset+width }
	s.storeKind = o.store_kind
	if o.participant_id != nil {
		s.participantID = C.GoString(o.participant_id)
	}
	if !has(unsafe.Offsetof(o.config_set), unsafe.Sizeof(o.config_set)) {
		return s, nil
	}
	set := uint64(o.config_set)
	c := &s.config
	field := func(bit uint64, offset, width uintptr, apply func()) {
		if set&bit != 0 && has(offset, width) {
			apply()
		}
	}
	// An interval is range-checked in milliseconds, before the conversion to
	// a Duration could overflow into an in-range value.
	var badInterval error
	ms := func(name string, v C.int64_t) time.Duration {
		if v < 0 || int64(v) > maxIntervalMs {
			if badInterval == nil {
				badInterval = fmt.Errorf("%w: %s is %d, must be in [0, %d]", errInvalidArg, name, int64(v), maxIntervalMs)
			}
			return 0
		}
		return time.Duration(v) * time.Millisecond
	}
	field(C.LIBSDS_CFG_BLOOM_CAPACITY, unsafe.Offsetof(o.bloom_capacity), 4, func() { c.BloomCapacity = int(o.bloom_capacity) })
	field(C.LIBSDS_CFG_BLOOM_ERROR_RATE, unsafe.Offsetof(o.bloom_error_rate), 8, func() { c.BloomErrorRate = float64(o.bloom_error_rate) })
	field(C.LIBSDS_CFG_MAX_MESSAGE_HISTORY, unsafe.Offsetof(o.max_message_history), 4, func() { c.MaxMessageHistory = int(o.max_message_history) })
	field(C.LIBSDS_CFG_MAX_CAUSAL_HISTORY, unsafe.Offsetof(o.max_causal_history), 4, func() { c.MaxCausalHistory = int(o.max_causal_history) })
	field(C.LIBSDS_CFG_RESEND_INTERVAL, unsafe.Offsetof(o.resend_interval_ms), 8, func() { c.ResendInterval = ms("resend_interval_ms", o.resend_interval_ms) })
	field(C.LIBSDS_CFG_MAX_RESEND_ATTEMPTS, unsafe.Offsetof(o.max_resend_attempts), 4, func() { c.MaxResendAttempts = int(o.max_resend_attempts) })
	field(C.LIBSDS_CFG_SYNC_INTERVAL, unsafe.Offsetof(o.sync_interval_ms), 8, func() { c.SyncInterval = ms("sync_interval_ms", o.sync_interval_ms) })
	field(C.LIBSDS_CFG_BUFFER_SWEEP_INTERVAL, unsafe.Offsetof(o.buffer_sweep_interval_ms), 8, func() { c.BufferSweepInterval = ms("buffer_sweep_interval_ms", o.buffer_sweep_interval_ms) })
	field(C.LIBSDS_CFG_REPAIR_T_MIN, unsafe.Offsetof(o.repair_t_min_ms), 8, func() { c.RepairTMin = ms("repair_t_min_ms", o.repair_t_min_ms) })
	field(C.LIBSDS_CFG_REPAIR_T_MAX, unsafe.Offsetof(o.repair_t_max_ms), 8, func() { c.RepairTMax = ms("repair_t_max_ms", o.repair_t_max_ms) })
	field(C.LIBSDS_CFG_NUM_RESPONSE_GROUPS, unsafe.Offsetof(o.num_response_groups), 4, func() { c.NumResponseGroups = int(o.num_response_groups) })
	field(C.LIBSDS_CFG_MAX_REPAIR_REQUESTS, unsafe.Offsetof(o.max_repair_requests), 4, func() { c.MaxRepairRequests = int(o.max_repair_requests) })
	field(C.LIBSDS_CFG_REPAIR_SWEEP_INTERVAL, unsafe.Offsetof(o.repair_sweep_interval_ms), 8, func() { c.RepairSweepInterval = ms("repair_sweep_interval_ms", o.repair_sweep_interval_ms) })
	field(C.LIBSDS_CFG_MAX_CHANNELS, unsafe.Offsetof(o.max_channels), 4, func() { c.MaxChannels = int(o.max_channels) })
	field(C.LIBSDS_CFG_MAX_INCOMING_BUFFER, unsafe.Offsetof(o.max_incoming_buffer), 4, func() { c.MaxIncomingBuffer = int(o.max_incoming_buffer) })
	field(C.LIBSDS_CFG_MAX_OUTGOING_BUFFER, unsafe.Offsetof(o.max_outgoing_buffer), 4, func() { c.MaxOutgoingBuffer = int(o.max_outgoing_buffer) })
	field(C.LIBSDS_CFG_REREQUEST_REPAIRS, unsafe.Offsetof(o.rerequest_repairs), 4, func() { c.RerequestRepairs = o.rerequest_repairs != 0 })
	var badGeneration bool
	field(C.LIBSDS_CFG_WIRE_GENERATION, unsafe.Offsetof(o.wire_generation), 4, func() {
		c.WireGeneration = wire.Generation(o.wire_generation)
		badGeneration = o.wire_generation > C.LIBSDS_WIRE_V04
	})
	// Hostile-peer budgets.
	field(C.LIBSDS_CFG_MAX_ID_LENGTH, unsafe.Offsetof(o.max_id_length), 4, func() { c.MaxIDLength = int(o.max_id_length) })
	field(C.LIBSDS_CFG_MAX_CHANNEL_ID_LENGTH, unsafe.Offsetof(o.max_channel_id_length), 4, func() { c.MaxChannelIDLength = int(o.max_channel_id_length) })
	field(C.LIBSDS_CFG_MAX_HINT_LENGTH, unsafe.Offsetof(o.max_hint_length), 4, func() { c.MaxHintLength = int(o.max_hint_length) })
	field(C.LIBSDS_CFG_MAX_CAUSAL_ENTRIES, unsafe.Offsetof(o.max_causal_entries), 4, func() { c.MaxCausalEntries = int(o.max_causal_entries) })
	field(C.LIBSDS_CFG_MAX_REPAIR_ENTRIES, unsafe.Offsetof(o.max_repair_entries), 4, func() { c.MaxRepairEntries = int(o.max_repair_entries) })
	field(C.LIBSDS_CFG_MAX_CAUSAL_HISTORY_BYTES, unsafe.Offsetof(o.max_causal_history_bytes), 4, func() { c.MaxCausalHistoryBytes = int(o.max_causal_history_bytes) })
	field(C.LIBSDS_CFG_MAX_PENDING_REPAIRS, unsafe.Offsetof(o.max_pending_repairs), 4, func() { c.MaxPendingRepairs = int(o.max_pending_repairs) })
	bytes64 := func(v C.uint64_t) int { return int(min(uint64(v), math.MaxInt64)) }
	field(C.LIBSDS_CFG_MAX_INCOMING_BYTES, unsafe.Offsetof(o.max_incoming_bytes), 8, func() { c.MaxIncomingBytes = bytes64(o.max_incoming_bytes) })
	field(C.LIBSDS_CFG_MAX_HISTORY_BYTES, unsafe.Offsetof(o.max_history_bytes), 8, func() { c.MaxHistoryBytes = bytes64(o.max_history_bytes) })
	field(C.LIBSDS_CFG_MAX_REPAIR_BYTES, unsafe.Offsetof(o.max_repair_bytes), 8, func() { c.MaxRepairBytes = bytes64(o.max_repair_bytes) })
	if unknown := set &^ knownConfigBits; unknown != 0 {
		return s, fmt.Errorf("%w: unknown config_set bits %#x", errInvalidArg, unknown)
	}
	if badInterval != nil {
		return s, badInterval
	}
	if badGeneration {
		return s, fmt.Errorf("%w: wire_generation %d is neither LIBSDS_WIRE_V03 (0) nor LIBSDS_WIRE_V04 (1)",
			errInvalidArg, uint32(o.wire_generation))
	}
	if err := c.Validate(); err != nil {
		return s, nameOption(err)
	}
	if has(unsafe.Offsetof(o.persistence), unsafe.Sizeof(o.persistence)) {
		s.persistence = o.persistence
	}
	if has(unsafe.Offsetof(o.sqlite_path), unsafe.Sizeof(o.sqlite_path)) && o.sqlite_path != nil {
		s.sqlitePath = C.GoString(o.sqlite_path)
	}
	if has(unsafe.Offsetof(o.sqlite_namespace), unsafe.Sizeof(o.sqlite_namespace)) && o.sqlite_namespace != nil {
		ns := C.GoString(o.sqlite_namespace)
		s.sqliteNS = &ns
	}
	if has(unsafe.Offsetof(o.sqlite_durability), unsafe.Sizeof(o.sqlite_durability)) {
		s.durability = o.sqlite_durability
	}
	return s, nil
}

// runTasks runs the selected periodic tasks once.
func (m *manager) runTasks(tasks uint32) error {
	var errs []error
	if tasks&C.LIBSDS_TASK_BUFFER_SWEEP != 0 {
		errs = append(errs, m.eng.SweepBuffers())
	}
	if tasks&C.LIBSDS_TASK_SYNC != 0 {
		errs = append(errs, m.eng.SyncTick())
	}
	if tasks&C.LIBSDS_TASK_REPAIR_SWEEP != 0 {
		errs = append(errs, m.eng.SweepRepairs())
	}
	return errors.Join(errs...)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
