package main

/*
#include <stdio.h>
#include <stdlib.h>
#include "cdispatch.h"

static void sdsi_print_missing_callback(void) {
  printf("error: missing callback in NewReliabilityManager\n");
  fflush(stdout);
}
*/
import "C"

import (
	"errors"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/libsds/internal/nimcompat"
)

// emptyResult is the "" nim-sds passes for an empty success: static, never freed.
var emptyResult = C.CString("")

// compatState is what a manager created through the Sds* API adds: nim-sds's
// retrieval-hint provider. (Its event callback lives with the dispatcher, and
// so does the ring of result buffers kept alive after their callbacks:
// nim-sds's Go bindings read a result after its callback has returned, ABI.md
// §1.5, §2.6.)
type compatState struct {
	mu        sync.Mutex
	hintCB    C.SdsRetrievalHintProvider
	hintUD    C.uintptr_t
	hintIDBuf callScratch // the id passed to the hint provider (engine lock only)
	events    []byte      // reused for formatting event JSON (engine lock only)
	v04       atomic.Bool // created by sds_create (the 0.4 JSON ABI), not SdsNewReliabilityManager
}

// result is one result callback to make, with its C buffer.
type result struct {
	cb  C.SdsCallBack
	ud  C.uintptr_t
	ret C.int
	msg unsafe.Pointer // C memory, NUL-terminated; emptyResult for ""
	n   int
}

// cText copies text into a malloc'd, NUL-terminated C buffer.
func cText(text []byte) unsafe.Pointer {
	p := C.malloc(C.size_t(len(text) + 1))
	if p == nil {
		panic("libsds: out of memory")
	}
	dst := unsafe.Slice((*byte)(p), len(text)+1)
	copy(dst, text)
	dst[len(text)] = 0
	return p
}

// newResult copies text into a C buffer for a result callback.
func newResult(cb C.SdsCallBack, ud C.uintptr_t, ret C.int, text []byte) *result {
	if len(text) == 0 {
		return &result{cb: cb, ud: ud, ret: ret, msg: unsafe.Pointer(emptyResult)}
	}
	return &result{cb: cb, ud: ud, ret: ret, msg: cText(text), n: len(text)}
}

// newCSVResult formats a wrap's wire bytes as nim-sds's comma-separated text
// straight into the C buffer of a result (no Go copy of ~60 KB per message).
func newCSVResult(cb C.SdsCallBack, ud C.uintptr_t, wire []byte) *result {
	if len(wire) == 0 {
		return newResult(cb, ud, C.RET_OK, nil)
	}
	size := 4*len(wire) + 1
	p := C.malloc(C.size_t(size))
	if p == nil {
		panic("libsds: out of memory")
	}
	dst := unsafe.Slice((*byte)(p), size)
	n := nimcompat.PutCSV(dst, wire)
	dst[n] = 0
	return &result{cb: cb, ud: ud, ret: C.RET_OK, msg: p, n: n}
}

// unwrapTexts recycles the buffers unwrap results are formatted in before
// newResult copies them to C memory: one allocation fewer per unwrap, and
// no growing from empty.
var unwrapTexts = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledUnwrapText keeps the text of a large message (up to 4 bytes per
// content byte) out of the pool, so the pool never pins megabytes.
const maxPooledUnwrapText = 64 << 10

// postResult queues a result callback behind the events already queued. The
// dispatcher keeps the buffer alive after the callback, among the manager's
// last SDSI_RING results.
func (m *manager) postResult(r *result) {
	keep := 1
	if r.msg == unsafe.Pointer(emptyResult) {
		keep = 0
	}
	C.sdsi_post_sds_result(m.d, r.cb, r.ud, r.ret, (*C.char)(r.msg), C.size_t(r.n), C.int(keep))
}

// postEvents queues a compatible manager's events as nim-sds's JSON, for the
// SdsCallBack set by SdsSetEventCallback (even with a NULL userData, which
// nim-sds 35a33ad dropped).
func (c *compatState) postEvents(m *manager, evs []engine.Event) {
	for i := range evs {
		c.events = nimcompat.AppendEvent(c.events[:0], evs[i])
		C.sdsi_post_sds_event(m.d, (*C.char)(cText(c.events)), C.size_t(len(c.events)))
	}
}

// provideHint asks a nim-sds style provider, which returns a malloc'd buffer
// that the library releases with free() (nim-sds used its own allocator: a bug).
func (c *compatState) provideHint(m *manager, id string) []byte {
	c.mu.Lock()
	cb, ud := c.hintCB, c.hintUD
	c.mu.Unlock()
	if cb == nil {
		return nil
	}
	cid := c.hintIDBuf.str(0, id)
	var hint *C.char
	var n C.size_t
	C.sdsi_call_sds_hint(C.uintptr_t(m.handle), cb, cid.data, &hint, &n, ud)
	if hint == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(hint))
	return goBytes(unsafe.Pointer(hint), min(n, maxHint))
}

// compatManager resolves ctx for one Sds* call; it is nil (and release a no-op)
// if ctx is not a live compatible manager. room is acquire's.
func compatManager(ctx C.uintptr_t, room bool) *manager {
	m, err := acquire(uint64(ctx), room)
	if err != nil {
		return nil
	}
	if m.compat == nil {
		m.release()
		return nil
	}
	return m
}

const errInternalText = "libsds error: internal error"

// syncTexts are the texts of the errors reported on the caller's thread, and
// syncCStrings the same as C strings made once and never freed: like every
// result, they must stay readable after the callback returns. (A fixed array
// in the data segment, so leak checkers see them referenced.)
var (
	syncTexts = [...]string{nimcompat.ErrNullMessage, nimcompat.ErrNullMessageID, nimcompat.ErrNullChannel,
		nimcompat.ErrEmptyChannel, nimcompat.ErrNullIDs, nimcompat.ErrInvalidContext, errInternalText}
	syncCStrings [len(syncTexts)]*C.char
)

func init() {
	for i, t := range syncTexts {
		syncCStrings[i] = C.CString(t)
	}
}

// callNow makes a result callback on the caller's thread, as nim-sds does for
// argument validation. text must be one of syncTexts (anything else is
// reported as the internal error). The caller must not hold the manager: the
// callback may clean it up.
func callNow(cb C.SdsCallBack, ud C.uintptr_t, ret C.int, text string) C.int {
	if cb == nil {
		return ret
	}
	i := len(syncTexts) - 1
	for j, t := range syncTexts {
		if t == text {
			i = j
		}
	}
	C.sdsi_call_sds(cb, ret, syncCStrings[i], C.size_t(len(syncTexts[i])), ud)
	return ret
}

// invalidContext is our answer to a NULL, freed or garbage ctx (nim-sds crashes).
func invalidContext(cb C.SdsCallBack, ud C.uintptr_t) C.int {
	return callNow(cb, ud, C.RET_ERR, nimcompat.ErrInvalidContext)
}

// compatGuard keeps panics out of C for the int-returning Sds* functions.
func compatGuard(rc *C.int, cb C.SdsCallBack, ud C.uintptr_t) {
	if r := recover(); r != nil {
		*rc = callNow(cb, ud, C.RET_ERR, errInternalText)
	}
}

//export libsdsgo_compat_new
func libsdsgo_compat_new(cb C.SdsCallBack, ud C.uintptr_t) (ctx C.uintptr_t) {
	defer func() {
		if r := recover(); r != nil {
			callNow(cb, ud, C.RET_ERR, errInternalText)
			ctx = 0
		}
	}()
	if cb == nil {
		C.sdsi_print_missing_callback()
		return 0
	}
	m, err := newManager(settings{config: engine.DefaultConfig()}, true)
	if err != nil {
		callNow(cb, ud, C.RET_ERR, errInternalText) // cannot happen with the default settings
		return 0
	}
	C.sdsi_call_begin(m.d)
	m.postResult(newResult(cb, ud, C.RET_OK, nil))
	C.sdsi_call_end(m.d)
	return C.uintptr_t(m.handle)
}

//export libsdsgo_compat_set_event_callback
func libsdsgo_compat_set_event_callback(ctx C.uintptr_t, cb C.SdsCallBack, ud C.uintptr_t) {
	defer func() { _ = recover() }()
	m := compatManager(ctx, false)
	if m == nil {
		return
	}
	d, token := m.d, C.sdsi_set_sds_event_cb(m.d, cb, ud)
	m.release()
	// Wait for the old callback's running call after releasing the manager:
	// that callback may be cleaning it up.
	C.sdsi_await_callback(d, token)
}

//export libsdsgo_compat_set_hint_provider
func libsdsgo_compat_set_hint_provider(ctx C.uintptr_t, p C.SdsRetrievalHintProvider, ud C.uintptr_t) {
	defer func() { _ = recover() }()
	m := compatManager(ctx, false)
	if m == nil {
		return
	}
	defer m.release()
	m.compat.mu.Lock()
	m.compat.hintCB, m.compat.hintUD = p, ud
	m.compat.mu.Unlock()
	m.awaitHintCallouts()
}

// compatCall runs one Sds* request: context and callback checks, then op on
// the caller's thread; its result is queued behind the events it caused, and
// the call delivers both itself when it may (cdispatch.h, sdsi_call_begin).
func compatCall(ctx C.uintptr_t, cb C.SdsCallBack, ud C.uintptr_t, validate func() string,
	op func(m *manager) (*result, error), opName string) (rc C.int) {
	defer compatGuard(&rc, cb, ud)
	m := compatManager(ctx, true)
	if m == nil {
		return invalidContext(cb, ud)
	}
	if cb == nil {
		m.release()
		return C.RET_MISSING_CALLBACK
	}
	if validate != nil {
		if msg := validate(); msg != "" {
			m.release() // the callback may clean the manager up
			return callNow(cb, ud, C.RET_ERR, msg)
		}
	}
	d := m.d
	C.sdsi_call_begin(d)
	defer C.sdsi_call_end(d) // after release: a callback may clean the manager up
	defer m.release()
	res, err := op(m)
	if err != nil {
		res = newResult(cb, ud, C.RET_ERR, []byte(nimcompat.ProcessingError(opName, err)))
	} else if res == nil {
		res = newResult(cb, ud, C.RET_OK, nil)
	}
	m.postResult(res) // delivered by sdsi_call_end, or by the pool after this returns
	return C.RET_OK
}

//export libsdsgo_compat_wrap
func libsdsgo_compat_wrap(ctx C.uintptr_t, msg *C.uint8_t, n C.size_t, id, ch *C.char, cb C.SdsCallBack, ud C.uintptr_t) C.int {
	return compatCall(ctx, cb, ud, func() string {
		switch {
		case msg == nil && n > 0:
			return nimcompat.ErrNullMessage
		case id == nil:
			return nimcompat.ErrNullMessageID
		case ch == nil:
			return nimcompat.ErrNullChannel
		case *ch == 0:
			return nimcompat.ErrEmptyChannel
		}
		return ""
	}, func(m *manager) (*result, error) {
		var res *result
		err := m.wrapPooled(inputBytes(msg, n), C.GoString(id), C.GoString(ch),
			func(wire []byte) { res = newCSVResult(cb, ud, wire) })
		return res, err
	}, nimcompat.OpWrap)
}

//export libsdsgo_compat_unwrap
func libsdsgo_compat_unwrap(ctx C.uintptr_t, msg *C.uint8_t, n C.size_t, cb C.SdsCallBack, ud C.uintptr_t) C.int {
	return compatCall(ctx, cb, ud, func() string {
		if msg == nil && n > 0 {
			return nimcompat.ErrNullMessage
		}
		return ""
	}, func(m *manager) (*result, error) {
		return m.unwrapResult(inputBytes(msg, n), cb, ud)
	}, nimcompat.OpUnwrap)
}

// unwrapResult unwraps data and formats the result both nim-sds generations
// send: {"message":[…],"channelId":"…","missingDeps":[…]}.
func (m *manager) unwrapResult(data []byte, cb C.SdsCallBack, ud C.uintptr_t) (*result, error) {
	res, err := m.eng.Unwrap(data)
	if err != nil {
		return nil, err
	}
	text := unwrapTexts.Get().(*[]byte)
	*text = nimcompat.AppendUnwrapResult((*text)[:0], res.Content, res.ChannelID, res.MissingDeps)
	r := newResult(cb, ud, C.RET_OK, *text)
	if cap(*text) <= maxPooledUnwrapText {
		unwrapTexts.Put(text)
	}
	return r, nil
}

//export libsdsgo_compat_mark_dependencies_met
func libsdsgo_compat_mark_dependencies_met(ctx C.uintptr_t, ids **C.char, count C.size_t, ch *C.char,
	cb C.SdsCallBack, ud C.uintptr_t) C.int {
	return compatCall(ctx, cb, ud, func() string {
		switch {
		case ids == nil && count > 0:
			return nimcompat.ErrNullIDs
		case ch == nil:
			return nimcompat.ErrNullChannel
		case *ch == 0:
			return nimcompat.ErrEmptyChannel
		}
		return ""
	}, func(m *manager) (*result, error) {
		list := make([]string, int(count))
		if count > 0 {
			for i, p := range unsafe.Slice(ids, int(count)) {
				list[i], _ = goString(p) // a NULL element is "", as in nim-sds
			}
		}
		return nil, m.eng.MarkDependenciesMet(list, C.GoString(ch))
	}, nimcompat.OpMark)
}

//export libsdsgo_compat_reset
func libsdsgo_compat_reset(ctx C.uintptr_t, cb C.SdsCallBack, ud C.uintptr_t) C.int {
	return compatCall(ctx, cb, ud, nil, func(m *manager) (*result, error) {
		return nil, m.eng.Reset()
	}, nimcompat.OpReset)
}

//export libsdsgo_compat_start
func libsdsgo_compat_start(ctx C.uintptr_t, cb C.SdsCallBack, ud C.uintptr_t) C.int {
	return compatCall(ctx, cb, ud, nil, func(m *manager) (*result, error) {
		m.life.Lock()
		defer m.life.Unlock()
		m.runner.Start() // idempotent; the first tick's events are queued before the result
		return nil, nil
	}, "START_PERIODIC_TASKS")
}

//export libsdsgo_compat_cleanup
func libsdsgo_compat_cleanup(ctx C.uintptr_t, cb C.SdsCallBack, ud C.uintptr_t) (rc C.int) {
	defer compatGuard(&rc, cb, ud)
	m, ok := managers.get(uint64(ctx))
	if !ok || m.compat == nil {
		return invalidContext(cb, ud)
	}
	if cb == nil {
		return C.RET_MISSING_CALLBACK
	}
	err := m.free(newResult(cb, ud, C.RET_OK, nil))
	if errors.Is(err, errBadHandle) {
		return invalidContext(cb, ud) // another thread cleaned it up first
	}
	m.compat.hintIDBuf.free()
	return C.RET_OK
}
