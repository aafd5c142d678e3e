// Command libsds is built with -buildmode=c-shared into libsds.so: the C ABI
// declared in include/sds.h, over the Go engine in core/.
//
// The package only converts, validates and dispatches; protocol rules live in
// core/engine. Layout:
//
//   - sds.c: the public C functions (const-correct, declared in sds.h), which
//     forward to this package's private //export libsdsgo_* functions;
//   - trampolines.h: the C helpers cgo needs to call host function pointers;
//   - cdispatch.c, cdispatch.h: per-manager delivery of callbacks, in C;
//   - handles.go: opaque handles and compat contexts, never a crash on a bad one;
//   - status.go: statuses, libsds_last_error and the panic guard of every export;
//   - cmem.go: results and events laid out in single C blocks;
//   - native.go, exports_native.go: the manager and the native libsds_* API;
//   - events.go, hints.go: typed events and the hint provider across the boundary;
//   - persist_c.go: the host persistence vtable as a store.Store;
//   - persist_sqlite.go, persist_sqlite_omit.go: the bundled SQLite store, or its
//     absence (-tags libsds_nosqlite);
//   - compat.go, internal/nimcompat: the nim-sds compatible Sds* functions, over
//     the native manager, and nim-sds's text formats;
//   - sanitize_asan.go, sanitize_tsan.go: the sanitizer builds (make lib-asan,
//     make lib-tsan);
//   - libsds.map, exports.txt: what the library exports (Linux, macOS).
//
// Tests: this package's _test.go files drive C test bodies kept in
// internal/ctest (a test file may not import "C"), linked into the test
// binary with this package's own C and Go — one Go runtime, under -race.
package main

import "C"

// version is stamped by the Makefile (-X main.version=...) from the VERSION
// file; the C API reports the header's LIBSDS_VERSION, and version_test.go
// checks that VERSION, the header and libsds_version() agree.
var version = "dev"

func main() {}
