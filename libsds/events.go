package main

/*
#include "trampolines.h"
*/
import "C"

import (
	"unsafe"

	"github.com/logos-messaging/libsds-go/core/engine"
)

// eventTypes maps engine event kinds to libsds_event_type values.
var eventTypes = map[engine.EventKind]C.uint32_t{
	engine.MessageReady:        C.LIBSDS_EVENT_MESSAGE_READY,
	engine.MessageAcknowledged: C.LIBSDS_EVENT_MESSAGE_ACKNOWLEDGED,
	engine.MessageGivenUp:      C.LIBSDS_EVENT_MESSAGE_GIVEN_UP,
	engine.MissingDependencies: C.LIBSDS_EVENT_MISSING_DEPENDENCIES,
	engine.PeriodicSync:        C.LIBSDS_EVENT_PERIODIC_SYNC,
	engine.RepairReady:         C.LIBSDS_EVENT_REPAIR_READY,
	engine.IncomingDropped:     C.LIBSDS_EVENT_INCOMING_DROPPED,
	engine.StoreFailed:         C.LIBSDS_EVENT_STORE_FAILED,
	engine.RepairDropped:       C.LIBSDS_EVENT_REPAIR_DROPPED,
}

// cEvent lays an event out in one C block.
func cEvent(e *engine.Event) (*C.libsds_event, *cBlock) {
	errText := ""
	if e.Err != nil {
		errText = e.Err.Error()
	}
	size := unsafe.Sizeof(C.libsds_event{}) + sizeString(len(e.ChannelID)) + sizeString(len(e.MessageID)) +
		sizeEntries(e.MissingDeps) + sizeString(len(e.Message)) + sizeString(len(errText)) + sizeString(len(e.Content)) + 64
	b := newBlock(size)
	ev := (*C.libsds_event)(b.take(unsafe.Sizeof(C.libsds_event{}), 8))
	*ev = C.libsds_event{}
	ev.size = C.uint32_t(unsafe.Sizeof(C.libsds_event{}))
	ev._type = eventTypes[e.Kind]
	ev.missing_deps = b.entries(e.MissingDeps)
	ev.missing_deps_len = C.size_t(len(e.MissingDeps))
	ev.channel_id = b.str(e.ChannelID)
	ev.message_id = b.str(e.MessageID)
	if len(e.Message) > 0 {
		ev.message = b.bytes(e.Message)
		ev.message_len = C.size_t(len(e.Message))
	}
	if e.Kind == engine.MessageReady {
		// Never NULL for READY, even when the content is empty.
		ev.content = b.bytes(e.Content)
		ev.content_len = C.size_t(len(e.Content))
	}
	if e.Err != nil {
		ev.error = (*C.char)(unsafe.Pointer(b.bytes([]byte(errText))))
	}
	return ev, b
}
