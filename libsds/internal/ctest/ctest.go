// Package ctest holds C test bodies for package libsds (the library's
// package main) and the Go functions that run them, in the manner of
// libtailscale's tsnetctest: a _test.go file may not import "C", so the C
// lives in this ordinary package and libsds's tests call these functions.
//
// The bodies call the public C functions of include/sds.h and are linked,
// in the test binary of package libsds, against that package's own sds.c and
// //export functions: the library's C and Go run in-process, in one Go
// runtime, under go test -race. (Loading build/libsds.so into a Go process
// instead would start a second Go runtime.) Built on its own, this package
// leaves those symbols unresolved; only libsds's test binary links it.
package ctest

// #cgo CFLAGS: -std=c99 -Wall -Wextra -I${SRCDIR}/../../../include
// #include <stdlib.h>
// #include <sds.h>
// #include "ctest.h"
import "C"

import (
	"testing"
	"unsafe"
)

// run calls a C body with an error buffer and fails t with its message.
func run(t testing.TB, name string, body func(err *C.char, n C.size_t) C.int) {
	t.Helper()
	const n = 1024
	buf := (*C.char)(C.calloc(1, n))
	defer C.free(unsafe.Pointer(buf))
	if body(buf, n) != 0 {
		t.Fatalf("%s: %s", name, C.GoString(buf))
	}
}

// CreateFree creates and frees cycles native and cycles compatible managers.
func CreateFree(t testing.TB, cycles int) {
	t.Helper()
	run(t, "create/free", func(e *C.char, n C.size_t) C.int { return C.ct_create_free(C.int(cycles), e, n) })
}

// ConcurrentWrapUnwrap has threads C threads wrap msgs messages each on
// managers managers and unwrap them into the next one, then checks every
// manager's MESSAGE_READY count behind a fence.
func ConcurrentWrapUnwrap(t testing.TB, managers, threads, msgs int) {
	t.Helper()
	run(t, "concurrent wrap/unwrap", func(e *C.char, n C.size_t) C.int {
		return C.ct_concurrent_wrap_unwrap(C.int(managers), C.int(threads), C.int(msgs), e, n)
	})
}

// EventsInOrder checks out-of-order arrivals' events, their order, and that
// nothing else is delivered before a fence.
func EventsInOrder(t testing.TB) {
	t.Helper()
	run(t, "events in order", func(e *C.char, n C.size_t) C.int { return C.ct_events_in_order(e, n) })
}

// CompatCalls drives every call of the compatible API on two managers.
func CompatCalls(t testing.TB) {
	t.Helper()
	run(t, "compat calls", func(e *C.char, n C.size_t) C.int { return C.ct_compat_calls(e, n) })
}

// HostStoreLoaders runs a manager over a host store whose list and load
// methods use a loader.
func HostStoreLoaders(t testing.TB) {
	t.Helper()
	run(t, "host store", func(e *C.char, n C.size_t) C.int { return C.ct_host_store_loaders(e, n) })
}

// StartStopFree starts periodic tasks on managers managers, stops half of
// them and frees all.
func StartStopFree(t testing.TB, managers int) {
	t.Helper()
	run(t, "start/stop/free", func(e *C.char, n C.size_t) C.int { return C.ct_start_stop_free(C.int(managers), e, n) })
}

// Version returns what the library's libsds_version() reports.
func Version() string { return C.GoString(C.libsds_version()) }
