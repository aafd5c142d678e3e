package main

/*
#include "trampolines.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/logos-messaging/libsds-go/core/engine"
)

// Errors of this layer, beside the engine's.
var (
	errBadHandle   = errors.New("invalid or freed handle")
	errReentrant   = errors.New("called from a hint provider or persistence method of the same manager")
	errUnsupported = errors.New("not supported by this build")
	errInvalidArg  = errors.New("invalid argument")
	errInternal    = errors.New("internal error")
)

// statusTable is the one place Go errors become C statuses; the first match
// wins. A store failure wraps whatever the store returned (which may wrap
// anything, errInvalidArg from a loader included), so ErrStore comes first.
var statusTable = []struct {
	err    error
	status C.int
}{
	{engine.ErrStore, C.LIBSDS_ERR_STORE},
	{errBadHandle, C.LIBSDS_ERR_BAD_HANDLE},
	{errReentrant, C.LIBSDS_ERR_REENTRANT},
	{errUnsupported, C.LIBSDS_ERR_UNSUPPORTED},
	{errInvalidArg, C.LIBSDS_ERR_INVALID_ARG},
	{errInternal, C.LIBSDS_ERR_INTERNAL},
	{engine.ErrInvalidArgument, C.LIBSDS_ERR_INVALID_ARG},
	{engine.ErrInvalidConfig, C.LIBSDS_ERR_INVALID_ARG},
	{engine.ErrMessageTooLarge, C.LIBSDS_ERR_TOO_LARGE},
	{engine.ErrDeserialization, C.LIBSDS_ERR_DECODE},
	{engine.ErrUnknownChannel, C.LIBSDS_ERR_UNKNOWN_CHANNEL},
	{engine.ErrTooManyChannels, C.LIBSDS_ERR_TOO_MANY_CHANNELS},
	{engine.ErrClosed, C.LIBSDS_ERR_CLOSED},
}

// status maps err to a C status and records its text as the thread's last
// error (libsds_last_error).
func status(err error) C.int {
	if err == nil {
		return C.LIBSDS_OK
	}
	setLastError(err.Error())
	for _, e := range statusTable {
		if errors.Is(err, e.err) {
			return e.status
		}
	}
	return C.LIBSDS_ERR
}

// setLastError stores msg for libsds_last_error on the calling OS thread. An
// exported function runs on the C caller's thread, so this is that thread.
func setLastError(msg string) {
	if msg == "" {
		C.sdsi_clear_last_error()
		return
	}
	b := []byte(msg) // pointer-free Go memory: C copies it during the call
	C.sdsi_set_last_error((*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(b)))
}

// guard turns a panic in an export into LIBSDS_ERR_INTERNAL: no Go panic may
// unwind into C. Use as: defer guard(&rc).
func guard(rc *C.int) {
	if r := recover(); r != nil {
		*rc = status(fmt.Errorf("%w: %v", errInternal, r))
	}
}
