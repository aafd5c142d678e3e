package main

/*
#include <stdlib.h>
#include "cdispatch.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// Every export recovers panics (guard), resolves its handle (acquire) and maps
// errors to statuses through one table (status). Host pointers arrive as C
// types or uintptr_t and are never kept as Go pointers.

//export libsdsgo_new
func libsdsgo_new(o *C.libsds_options, out *C.libsds_handle) (rc C.int) {
	defer guard(&rc)
	if out == nil {
		return status(fmt.Errorf("%w: out is NULL", errInvalidArg))
	}
	*out = 0
	s, err := readOptions(o)
	if err != nil {
		destroyOnFailure(o)
		return status(err)
	}
	m, err := newManager(s, false)
	if err != nil {
		return status(err)
	}
	*out = C.libsds_handle(m.handle)
	return C.LIBSDS_OK
}

// destroyOnFailure keeps the promise that a host store's destroy runs even when
// creation fails before the library took the vtable.
func destroyOnFailure(o *C.libsds_options) {
	if o == nil || uintptr(o.size) < unsafe.Offsetof(o.persistence)+unsafe.Sizeof(o.persistence) {
		return
	}
	if o.store_kind == C.LIBSDS_STORE_HOST && o.persistence != nil && persistenceLayoutKnown(o.persistence) {
		C.sdsi_call_destroy(0, o.persistence)
	}
}

//export libsdsgo_free
func libsdsgo_free(h C.libsds_handle) (rc C.int) {
	defer guard(&rc)
	m, ok := managers.get(uint64(h))
	if !ok || m.compat != nil {
		return status(fmt.Errorf("%w: %#x", errBadHandle, uint64(h)))
	}
	return status(m.free(nil))
}

// nativeCall runs op on the native manager behind h, held for the call (free
// waits for it), and maps op's error to a status. A call that may cause events
// first waits for room in the manager's event queue (acquire).
func nativeCall(h C.libsds_handle, op func(m *manager) error) C.int {
	return nativeCallRoom(h, true, op)
}

// nativeCallRoom is nativeCall; room says whether op may cause events.
func nativeCallRoom(h C.libsds_handle, room bool, op func(m *manager) error) C.int {
	m, err := acquire(uint64(h), room)
	if err != nil {
		return status(err)
	}
	defer m.release()
	if m.compat != nil {
		return status(fmt.Errorf("%w: %#x belongs to the nim-sds compatible API", errBadHandle, uint64(h)))
	}
	return status(op(m))
}

//export libsdsgo_set_event_handler
func libsdsgo_set_event_handler(h C.libsds_handle, cb C.libsds_event_cb, ud C.uintptr_t) (rc C.int) {
	defer guard(&rc)
	var d *C.sdsi_dispatcher
	var token C.uint64_t
	rc = nativeCallRoom(h, false, func(m *manager) error {
		d, token = m.d, C.sdsi_set_event_cb(m.d, cb, ud)
		return nil
	})
	// Wait for the old handler's running callback after releasing the
	// manager: that callback may be freeing it.
	C.sdsi_await_callback(d, token)
	return rc
}

//export libsdsgo_set_hint_provider
func libsdsgo_set_hint_provider(h C.libsds_handle, p C.libsds_hint_provider, ud C.uintptr_t) (rc C.int) {
	defer guard(&rc)
	return nativeCallRoom(h, false, func(m *manager) error {
		m.hints.Store(&hintHandler{cb: p, ud: ud})
		m.awaitHintCallouts()
		return nil
	})
}

//export libsdsgo_wrap
func libsdsgo_wrap(h C.libsds_handle, content *C.uint8_t, n C.size_t, id, ch *C.char, out *C.libsds_buffer) (rc C.int) {
	defer guard(&rc)
	if out == nil {
		return status(fmt.Errorf("%w: out is NULL", errInvalidArg))
	}
	*out = C.libsds_buffer{}
	return nativeCall(h, func(m *manager) error {
		switch {
		case content == nil && n > 0:
			return fmt.Errorf("%w: content is NULL but content_len > 0", errInvalidArg)
		case id == nil:
			return fmt.Errorf("%w: message_id is NULL", errInvalidArg)
		case ch == nil || *ch == 0:
			return fmt.Errorf("%w: channel_id is NULL or empty", errInvalidArg)
		}
		buf, err := m.wrapToC(inputBytes(content, n), C.GoString(id), C.GoString(ch))
		*out = buf
		return err
	})
}

// inputBytes views the host's input for the duration of the call. The engine
// copies what it keeps; Wrap and Unwrap never retain their input.
func inputBytes(p *C.uint8_t, n C.size_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

//export libsdsgo_unwrap
func libsdsgo_unwrap(h C.libsds_handle, data *C.uint8_t, n C.size_t, out **C.libsds_unwrapped) (rc C.int) {
	defer guard(&rc)
	if out == nil {
		return status(fmt.Errorf("%w: out is NULL", errInvalidArg))
	}
	*out = nil
	return nativeCall(h, func(m *manager) error {
		if data == nil && n > 0 {
			return fmt.Errorf("%w: data is NULL but len > 0", errInvalidArg)
		}
		// The native API names no empty channel (wrap, mark and remove refuse
		// one), so a message on one is refused too, before it changes anything.
		if n <= engine.MaxWireSize {
			cfg := m.eng.Config()
			limit := cfg.MaxFields()
			if shape, err := wire.Scan(inputBytes(data, n), limit); err == nil && shape.Fields <= limit && shape.ChannelIDLen == 0 {
				return fmt.Errorf("%w: the message's channel_id is empty, which the native API cannot name", engine.ErrDeserialization)
			}
		}
		res, err := m.eng.Unwrap(inputBytes(data, n))
		if err != nil {
			return err
		}
		size := unsafe.Sizeof(C.libsds_unwrapped{}) + sizeString(len(res.Content)) + sizeString(len(res.ChannelID)) + sizeString(len(res.MessageID)) +
			sizeEntries(res.MissingDeps) + 64
		b := newBlock(size)
		u := (*C.libsds_unwrapped)(b.take(unsafe.Sizeof(C.libsds_unwrapped{}), 8))
		*u = C.libsds_unwrapped{}
		u.missing_deps = b.entries(res.MissingDeps)
		u.missing_deps_len = C.size_t(len(res.MissingDeps))
		u.content = C.libsds_bytes{data: b.bytes(res.Content), len: C.size_t(len(res.Content))}
		u.channel_id = b.str(res.ChannelID)
		u.message_id = b.str(res.MessageID)
		*out = u
		return nil
	})
}

//export libsdsgo_mark_dependencies_met
func libsdsgo_mark_dependencies_met(h C.libsds_handle, ids *C.libsds_str, count C.size_t, ch *C.char) (rc C.int) {
	defer guard(&rc)
	return nativeCall(h, func(m *manager) error {
		if ids == nil && count > 0 {
			return fmt.Errorf("%w: ids is NULL but count > 0", errInvalidArg)
		}
		if ch == nil || *ch == 0 {
			return fmt.Errorf("%w: channel_id is NULL or empty", errInvalidArg)
		}
		list := make([]string, int(count))
		if count > 0 {
			for i, s := range unsafe.Slice(ids, int(count)) {
				if s.data == nil && s.len > 0 {
					return fmt.Errorf("%w: ids[%d] is NULL but its len > 0", errInvalidArg, i)
				}
				list[i] = goStr(s)
			}
		}
		return m.eng.MarkDependenciesMet(list, C.GoString(ch))
	})
}

//export libsdsgo_reset
func libsdsgo_reset(h C.libsds_handle) (rc C.int) {
	defer guard(&rc)
	return nativeCall(h, func(m *manager) error { return m.eng.Reset() })
}

//export libsdsgo_remove_channel
func libsdsgo_remove_channel(h C.libsds_handle, ch *C.char) (rc C.int) {
	defer guard(&rc)
	return nativeCall(h, func(m *manager) error {
		if ch == nil || *ch == 0 {
			return fmt.Errorf("%w: channel_id is NULL or empty", errInvalidArg)
		}
		return m.eng.RemoveChannel(C.GoString(ch))
	})
}

//export libsdsgo_channels
func libsdsgo_channels(h C.libsds_handle, out **C.libsds_channel_list) (rc C.int) {
	defer guard(&rc)
	if out == nil {
		return status(fmt.Errorf("%w: out is NULL", errInvalidArg))
	}
	*out = nil
	return nativeCall(h, func(m *manager) error {
		ids := m.eng.Channels()
		size := unsafe.Sizeof(C.libsds_channel_list{}) + uintptr(len(ids))*unsafe.Sizeof(C.libsds_str{}) + 16
		for _, id := range ids {
			size += sizeString(len(id))
		}
		b := newBlock(size)
		l := (*C.libsds_channel_list)(b.take(unsafe.Sizeof(C.libsds_channel_list{}), 8))
		*l = C.libsds_channel_list{len: C.size_t(len(ids))}
		if len(ids) > 0 {
			arr := unsafe.Slice((*C.libsds_str)(b.take(uintptr(len(ids))*unsafe.Sizeof(C.libsds_str{}), 8)), len(ids))
			for i, id := range ids {
				arr[i] = b.str(id)
			}
			l.ids = &arr[0]
		}
		*out = l
		return nil
	})
}

//export libsdsgo_start
func libsdsgo_start(h C.libsds_handle) (rc C.int) {
	defer guard(&rc)
	return nativeCall(h, func(m *manager) error {
		m.life.Lock()
		defer m.life.Unlock()
		m.runner.Start()
		return nil
	})
}

//export libsdsgo_stop
func libsdsgo_stop(h C.libsds_handle) (rc C.int) {
	defer guard(&rc)
	return nativeCallRoom(h, false, func(m *manager) error {
		m.life.Lock()
		defer m.life.Unlock()
		m.runner.Stop()
		return nil
	})
}

//export libsdsgo_run_tasks
func libsdsgo_run_tasks(h C.libsds_handle, tasks C.uint32_t) (rc C.int) {
	defer guard(&rc)
	return nativeCall(h, func(m *manager) error { return m.runTasks(uint32(tasks)) })
}
