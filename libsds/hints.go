package main

/*
#include "trampolines.h"
*/
import "C"

// maxHint bounds a retrieval hint: a provider claiming more is answered with
// its first maxHint bytes.
const maxHint = 1 << 20

// awaitHintCallouts returns once no hint provider call that started before it
// is running: providers run under the engine's lock, which this takes (by
// installing the same provider again).
func (m *manager) awaitHintCallouts() { m.eng.SetHintProvider(m.provideHint) }

// provideHint is the engine's HintProvider: it asks the host's native provider
// (copying into a library buffer, asking again with a larger one if needed) or,
// for a compatible manager, the nim-sds style provider.
func (m *manager) provideHint(id string) []byte {
	if m.compat != nil {
		return m.compat.provideHint(m, id)
	}
	h := m.hints.Load()
	if h == nil || h.cb == nil {
		return nil
	}
	cid := m.scratch.str(0, id)
	capacity := 256
	for attempt := 0; attempt < 2; attempt++ {
		buf := m.scratch.grow(1, capacity)
		n := int64(C.sdsi_call_hint(C.uintptr_t(m.handle), h.cb, cid, (*C.uint8_t)(buf), C.size_t(capacity), h.ud))
		switch {
		case n <= 0:
			return nil
		case n <= int64(capacity):
			return goBytes(buf, C.size_t(n))
		case attempt == 0:
			capacity = int(min(n, maxHint))
		default:
			return goBytes(buf, C.size_t(capacity))
		}
	}
	return nil
}
