//go:build (amd64 || arm64) && !purego

package goid

// getg returns the address of the running goroutine's descriptor (the
// runtime's g), which the runtime keeps in thread-local storage on amd64 and
// in a register on arm64. It is only compared, never dereferenced. Defined in
// goid_amd64.s and goid_arm64.s.
func getg() uintptr

func current() uint64 { return uint64(getg()) }
