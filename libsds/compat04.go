package main

/*
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cdispatch.h"

static void sdsi_print_invalid_event_context(void) {
  printf("error: invalid context in sds_set_event_callback\n");
  fflush(stdout);
}
*/
import "C"

import (
	"errors"
	"sync"
	"unsafe"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/wire"
	"github.com/logos-messaging/libsds-go/libsds/internal/nimcompat04"
)

// The sds_* functions: nim-sds 0.4's snake_case JSON C ABI (ABI-v0.4.md).
// A context is a manager with compatState (nim-sds's hint provider and JSON
// events, unchanged from 0.3) marked v04. Requests are parsed and run on the
// caller's thread; results and events are delivered in order by the
// manager's dispatcher, like the 0.3 ones: usually by the call itself before
// it returns (as nim-sds 0.4's worker does while the caller waits), else
// after it by the pool.

// requestBuffers recycles the buffers request byte arrays are parsed into.
var requestBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// maxPooledRequest keeps buffers of unusually large messages out of the pool.
const maxPooledRequest = 1 << 20

// getRequestBuffer takes a buffer for a request's message bytes from the pool;
// the caller stores back what it parsed into it (req.Message[:0]) and returns
// it with putRequestBuffer.
func getRequestBuffer() *[]byte { return requestBuffers.Get().(*[]byte) }

// putRequestBuffer returns buf to the pool unless it grew unusually large.
func putRequestBuffer(buf *[]byte) {
	if cap(*buf) <= maxPooledRequest {
		requestBuffers.Put(buf)
	}
}

// cRequest views a request C string (NULL is "", as in nim-sds) with its NUL,
// without copying it: the parser copies what it keeps.
func cRequest(p *C.char) []byte {
	if p == nil {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(C.strlen(p))+1)
}

// callNow04 makes a callback on the caller's thread with a text that lives
// only for the callback (0.4 hosts copy inside the callback).
func callNow04(cb C.SdsCallBack, ud C.uintptr_t, ret C.int, text string) C.int {
	if cb == nil {
		return ret
	}
	p := cText([]byte(text))
	defer C.free(p)
	C.sdsi_call_sds(cb, ret, (*C.char)(p), C.size_t(len(text)), ud)
	return ret
}

// manager04 resolves ctx for one sds_* call; nil if ctx is not a live 0.4
// context (release is then not needed). With room, it first waits while the
// manager's event queue is full (backpressure, as for every call that may
// cause events).
func manager04(ctx C.uintptr_t, room bool) *manager {
	m, err := acquire(uint64(ctx), room)
	if err != nil {
		return nil
	}
	if m.compat == nil || !m.compat.v04.Load() {
		m.release()
		return nil
	}
	return m
}

//export libsdsgo_v04_create
func libsdsgo_v04_create(config *C.char, cb C.SdsCallBack, ud C.uintptr_t) (ctx C.uintptr_t) {
	defer func() {
		if r := recover(); r != nil {
			callNow04(cb, ud, C.RET_ERR, "ffiCtor: failed to create FFIContext: internal error")
			ctx = 0
		}
	}()
	if cb == nil {
		return 0 // nim-sds 0.4 crashes calling the NULL callback; refuse instead
	}
	req, err := nimcompat04.ParseCreate(cRequest(config))
	if err != nil {
		callNow04(cb, ud, C.RET_ERR, nimcompat04.CreateError(err))
		return 0
	}
	cfg := engine.DefaultConfig()
	cfg.WireGeneration = wire.V04 // as nim-sds 0.4 writes; both generations are read
	m, err := newManager(settings{participantID: req.ParticipantID, config: cfg}, true)
	if err != nil {
		callNow04(cb, ud, C.RET_ERR, "ffiCtor: failed to create FFIContext: "+err.Error())
		return 0
	}
	m.compat.v04.Store(true)
	C.sdsi_call_begin(m.d)
	m.postResult(newResult(cb, ud, C.RET_OK, nimcompat04.AppendContext(nil, m.handle)))
	C.sdsi_call_end(m.d)
	return C.uintptr_t(m.handle)
}

//export libsdsgo_v04_set_event_callback
func libsdsgo_v04_set_event_callback(ctx C.uintptr_t, cb C.SdsCallBack, ud C.uintptr_t) {
	defer func() { _ = recover() }()
	m := manager04(ctx, false)
	if m == nil {
		// nim-sds prints this for NULL and writes through any other pointer
		C.sdsi_print_invalid_event_context()
		return
	}
	d, token := m.d, C.sdsi_set_sds_event_cb(m.d, cb, ud)
	m.release()
	// Wait for the old callback's running call after releasing the context:
	// that callback may be destroying it.
	C.sdsi_await_callback(d, token)
}

//export libsdsgo_v04_set_hint_provider
func libsdsgo_v04_set_hint_provider(ctx C.uintptr_t, p C.SdsRetrievalHintProvider, ud C.uintptr_t) (rc C.int) {
	defer func() {
		if recover() != nil {
			rc = C.RET_ERR
		}
	}()
	m := manager04(ctx, false)
	if m == nil {
		return C.RET_ERR
	}
	defer m.release()
	m.compat.mu.Lock()
	m.compat.hintCB, m.compat.hintUD = p, ud
	m.compat.mu.Unlock()
	m.awaitHintCallouts()
	return C.RET_OK
}

// call04 runs one of the five JSON calls: callback, then context checks (in
// nim-sds's order), then op on the caller's thread, whose result is queued
// behind the events it caused. op returns the result, or the error for a
// processing error (reported as "error processing <opName> request: …"), or
// a request error (reported as is).
func call04(ctx C.uintptr_t, cb C.SdsCallBack, ud C.uintptr_t, opName string,
	op func(m *manager) (*result, error)) (rc C.int) {
	if cb == nil {
		return C.RET_MISSING_CALLBACK
	}
	defer func() {
		if r := recover(); r != nil {
			rc = callNow04(cb, ud, C.RET_ERR, "Async error in processRequest: internal error")
		}
	}()
	m := manager04(ctx, true)
	if m == nil {
		return callNow04(cb, ud, C.RET_ERR, nimcompat04.ErrInvalidContext)
	}
	d := m.d
	C.sdsi_call_begin(d)
	defer C.sdsi_call_end(d) // after release: a callback may destroy the context
	defer m.release()
	res, err := op(m)
	var reqErr requestError
	switch {
	case errors.As(err, &reqErr):
		res = newResult(cb, ud, C.RET_ERR, []byte(reqErr.text))
	case err != nil:
		res = newResult(cb, ud, C.RET_ERR, []byte(nimcompat04.ProcessingError(opName, err)))
	case res == nil:
		res = newResult(cb, ud, C.RET_OK, nil)
	}
	m.postResult(res) // delivered by sdsi_call_end, or by the pool after this returns
	return C.RET_OK
}

// requestError is a request that did not parse: its text is the result as is.
type requestError struct{ text string }

func (e requestError) Error() string { return e.text }

// newWrapResult04 formats a wrap's wire bytes as {"message":[…]} straight
// into the C buffer of a result.
func newWrapResult04(cb C.SdsCallBack, ud C.uintptr_t, wire []byte) *result {
	size := 4*len(wire) + 16
	p := C.malloc(C.size_t(size))
	if p == nil {
		panic("libsds: out of memory")
	}
	dst := unsafe.Slice((*byte)(p), size)
	n := len(nimcompat04.AppendWrapResult(dst[:0], wire))
	dst[n] = 0
	return &result{cb: cb, ud: ud, ret: C.RET_OK, msg: p, n: n}
}

//export libsdsgo_v04_wrap
func libsdsgo_v04_wrap(ctx C.uintptr_t, cb C.SdsCallBack, ud C.uintptr_t, reqJSON *C.char) C.int {
	return call04(ctx, cb, ud, nimcompat04.OpWrap, func(m *manager) (*result, error) {
		buf := getRequestBuffer()
		defer putRequestBuffer(buf)
		req, err := nimcompat04.ParseWrap(cRequest(reqJSON), *buf)
		*buf = req.Message[:0]
		if err != nil {
			return nil, requestError{err.Error()}
		}
		var res *result
		err = m.wrapPooled(req.Message, req.MessageID, req.ChannelID,
			func(wire []byte) { res = newWrapResult04(cb, ud, wire) })
		return res, err
	})
}

//export libsdsgo_v04_unwrap
func libsdsgo_v04_unwrap(ctx C.uintptr_t, cb C.SdsCallBack, ud C.uintptr_t, reqJSON *C.char) C.int {
	return call04(ctx, cb, ud, nimcompat04.OpUnwrap, func(m *manager) (*result, error) {
		buf := getRequestBuffer()
		defer putRequestBuffer(buf)
		req, err := nimcompat04.ParseUnwrap(cRequest(reqJSON), *buf)
		*buf = req.Message[:0]
		if err != nil {
			return nil, requestError{err.Error()}
		}
		return m.unwrapResult(req.Message, cb, ud) // the same result text as 0.3's
	})
}

//export libsdsgo_v04_mark_dependencies_met
func libsdsgo_v04_mark_dependencies_met(ctx C.uintptr_t, cb C.SdsCallBack, ud C.uintptr_t, reqJSON *C.char) C.int {
	return call04(ctx, cb, ud, nimcompat04.OpMark, func(m *manager) (*result, error) {
		req, err := nimcompat04.ParseMark(cRequest(reqJSON))
		if err != nil {
			return nil, requestError{err.Error()}
		}
		return nil, m.eng.MarkDependenciesMet(req.MessageIDs, req.ChannelID)
	})
}

//export libsdsgo_v04_reset
func libsdsgo_v04_reset(ctx C.uintptr_t, cb C.SdsCallBack, ud C.uintptr_t) C.int {
	return call04(ctx, cb, ud, nimcompat04.OpReset, func(m *manager) (*result, error) {
		return nil, m.eng.Reset()
	})
}

//export libsdsgo_v04_start
func libsdsgo_v04_start(ctx C.uintptr_t, cb C.SdsCallBack, ud C.uintptr_t) C.int {
	return call04(ctx, cb, ud, "start", func(m *manager) (*result, error) {
		// Idempotent (nim-sds 0.4 starts another set of loops on every call);
		// the first tick's events are queued before the result.
		m.runner.Start()
		return nil, nil
	})
}

//export libsdsgo_v04_destroy
func libsdsgo_v04_destroy(ctx C.uintptr_t, cb C.SdsCallBack, ud C.uintptr_t) (rc C.int) {
	defer func() {
		if r := recover(); r != nil {
			rc = callNow04(cb, ud, C.RET_ERR, "release failed: internal error")
		}
	}()
	m, ok := managers.get(uint64(ctx))
	if !ok || m.compat == nil || !m.compat.v04.Load() {
		return callNow04(cb, ud, C.RET_ERR, nimcompat04.ErrNotInitialized)
	}
	var last *result
	if cb != nil {
		last = newResult(cb, ud, C.RET_OK, nil)
	}
	// Periodic tasks stop here (nim-sds 0.4 leaves them running on the slot).
	if err := m.free(last); errors.Is(err, errBadHandle) {
		return callNow04(cb, ud, C.RET_ERR, nimcompat04.ErrNotInitialized) // destroyed meanwhile
	}
	m.compat.hintIDBuf.free()
	return C.RET_OK
}
