//go:build libsds_asan && cgo && (amd64 || arm64) && !purego

package nimcompat04

// The block scanner's C under AddressSanitizer and UndefinedBehaviorSanitizer
// when the library is built for its C tests (see libsds/sanitize_asan.go).

// #cgo CFLAGS: -fsanitize=address,undefined -fno-omit-frame-pointer
// #cgo LDFLAGS: -fsanitize=address,undefined
import "C"
