package main

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
)

// registry maps opaque values handed to C (native handles, compat context
// pointers) to Go objects. Values are never reused and start at a random point,
// so a stale, freed or made-up value finds nothing instead of another object:
// lookups fail with errBadHandle and nothing is ever dereferenced.
type registry[T any] struct {
	mu   sync.RWMutex
	next uint64
	m    map[uint64]T
}

func newRegistry[T any]() *registry[T] {
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	// Keep the values well inside both 48-bit user address space and uint64,
	// non-zero, and 16-byte aligned so a compat context looks like a pointer.
	start := (binary.LittleEndian.Uint64(seed[:])%(1<<40) + 1<<40) << 4
	return &registry[T]{next: start, m: make(map[uint64]T)}
}

// reserve allocates a new handle (never 0) that finds nothing until published:
// an object may need its handle while it is being built.
func (r *registry[T]) reserve() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next += 16
	return r.next
}

// publish makes h find v.
func (r *registry[T]) publish(h uint64, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[h] = v
}

// release gives up a reserved handle that was never published (a no-op: values
// are never reused, so nothing needs returning).
func (r *registry[T]) release(uint64) {}

func (r *registry[T]) get(h uint64) (T, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.m[h]
	return v, ok
}

// remove unregisters h and returns what it held; a second remove finds nothing.
func (r *registry[T]) remove(h uint64) (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[h]
	delete(r.m, h)
	return v, ok
}

func (r *registry[T]) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.m)
}
