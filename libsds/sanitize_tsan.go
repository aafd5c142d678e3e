//go:build libsds_tsan

package main

// The library's own C under ThreadSanitizer: `make lib-tsan` builds with this
// tag. Only this package's C is instrumented; the Go runtime's is not, so TSan
// never sees (and never misreports) the runtime's own synchronisation.

// #cgo CFLAGS: -fsanitize=thread -fno-omit-frame-pointer
// #cgo LDFLAGS: -fsanitize=thread
import "C"
