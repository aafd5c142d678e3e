//go:build libsds_asan

package main

// The library's own C (sds.c, cdispatch.c and cgo's stubs of this package)
// under AddressSanitizer and UndefinedBehaviorSanitizer: `make lib-asan` builds
// with this tag. #cgo flags apply to this package only, so the Go runtime's C
// and the bundled SQLite are neither instrumented nor compiled again.

// #cgo CFLAGS: -fsanitize=address,undefined -fno-omit-frame-pointer
// #cgo LDFLAGS: -fsanitize=address,undefined
import "C"
