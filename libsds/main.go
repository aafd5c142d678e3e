// Command libsds is built with -buildmode=c-shared into libsds.so: the C ABI
// declared in include/sds.h, over the Go engine in core/.
//
// The package only converts, validates and dispatches; protocol rules live in
// core/engine. Layout:
//
//   - sds.c, trampolines.h: the public C functions (const-correct, declared in
//     sds.h) that forward to this package's private //export libsdsgo_*
//     functions, and the only callers of host function pointers;
//   - handles.go: opaque handles and compat contexts, never a crash on a bad one;
//   - native.go, exports_native.go: the native libsds_* API;
//   - events.go, hints.go: typed events and the hint provider across the boundary;
//   - persist_c.go: the host persistence vtable as a store.Store;
//   - persist_sqlite.go: the bundled SQLite store (left out with -tags libsds_nosqlite);
//   - compat.go: the nim-sds compatible Sds* functions, over the native manager;
//   - libsds.map, exports.txt: what the library exports (Linux, macOS).
package main

import "C"

// version is stamped by the Makefile (-X main.version=...); the C API reports
// the header's LIBSDS_VERSION, and a test checks they agree.
var version = "dev"

func main() {}
