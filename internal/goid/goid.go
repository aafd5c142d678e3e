// Package goid tells which goroutine is running. It exists for one purpose:
// detecting a call that comes back into the library from one of its own
// callbacks, where waiting for that callback to finish would deadlock.
package goid

import (
	"runtime"
	"strconv"
	"strings"
)

// Current returns an identity of the running goroutine: never zero, and
// distinct from that of every other goroutine alive at the same time. Once a
// goroutine has exited its identity may be given to a new one, so compare only
// with the identity of a goroutine known to be still running (one blocked in a
// callback, say). On amd64 and arm64 it is the address of the runtime's
// goroutine descriptor, read in a few instructions; elsewhere it is the
// goroutine's number, parsed from its stack trace, which costs microseconds.
func Current() uint64 { return current() }

// fromStack returns the running goroutine's number, parsed from its stack
// header ("goroutine 42 [running]:"): the portable, slow identity.
func fromStack() uint64 {
	var buf [64]byte
	s := string(buf[:runtime.Stack(buf[:], false)])
	s = strings.TrimPrefix(s, "goroutine ")
	if i := strings.IndexByte(s, ' '); i > 0 {
		s = s[:i]
	}
	id, _ := strconv.ParseUint(s, 10, 64)
	return id
}
