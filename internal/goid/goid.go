// Package goid tells which goroutine is running. It exists for one purpose:
// detecting a call that comes back into the library from one of its own
// callbacks, where waiting for that callback to finish would deadlock.
package goid

import (
	"runtime"
	"strconv"
	"strings"
)

// Current returns the running goroutine's id, parsed from its stack header
// ("goroutine 42 [running]:"). It costs about a microsecond, so it belongs on
// rare paths (close, flush), never per message.
func Current() uint64 {
	var buf [64]byte
	s := string(buf[:runtime.Stack(buf[:], false)])
	s = strings.TrimPrefix(s, "goroutine ")
	if i := strings.IndexByte(s, ' '); i > 0 {
		s = s[:i]
	}
	id, _ := strconv.ParseUint(s, 10, 64)
	return id
}
