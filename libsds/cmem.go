package main

/*
#include <stdlib.h>
#include <string.h>
#include "trampolines.h"
*/
import "C"

import (
	"sync"
	"unsafe"

	"github.com/logos-messaging/libsds-go/core/wire"
)

// cBlock lays out one C allocation: structs first, then the bytes and
// NUL-terminated strings they point to. Callbacks receive pointers into it and
// the library frees it in one call afterwards (or, for results, the host does).
type cBlock struct {
	base unsafe.Pointer
	size uintptr
	off  uintptr
}

// sizeString is the room a string (or byte string) takes: its bytes and a NUL.
func sizeString(n int) uintptr { return uintptr(n) + 1 }

// sizeEntries is the room n history entries and their strings take.
func sizeEntries(es []wire.HistoryEntry) uintptr {
	n := uintptr(len(es)) * unsafe.Sizeof(C.libsds_history_entry{})
	for i := range es {
		n += sizeString(len(es[i].MessageID)) + sizeString(len(es[i].RetrievalHint)) + sizeString(len(es[i].SenderID))
	}
	return n
}

// newBlock allocates size bytes of C memory (at least 1), 8-byte aligned as
// malloc guarantees. It never returns nil: allocation failure aborts, as Go's
// own allocator does.
func newBlock(size uintptr) *cBlock {
	if size == 0 {
		size = 1
	}
	p := C.malloc(C.size_t(size))
	if p == nil {
		panic("libsds: out of memory")
	}
	return &cBlock{base: p, size: size}
}

// take reserves n bytes aligned to align and returns their address.
func (b *cBlock) take(n, align uintptr) unsafe.Pointer {
	b.off = (b.off + align - 1) &^ (align - 1)
	if b.off+n > b.size {
		panic("libsds: C block overflow")
	}
	p := unsafe.Add(b.base, b.off)
	b.off += n
	return p
}

// str copies s into the block, NUL-terminated, and returns it as a libsds_str.
func (b *cBlock) str(s string) C.libsds_str {
	p := b.take(sizeString(len(s)), 1)
	dst := unsafe.Slice((*byte)(p), len(s)+1)
	copy(dst, s)
	dst[len(s)] = 0
	return C.libsds_str{data: (*C.char)(p), len: C.size_t(len(s))}
}

// bytes copies data into the block (NUL-terminated too) and returns its address.
func (b *cBlock) bytes(data []byte) *C.uint8_t {
	p := b.take(sizeString(len(data)), 1)
	dst := unsafe.Slice((*byte)(p), len(data)+1)
	copy(dst, data)
	dst[len(data)] = 0
	return (*C.uint8_t)(p)
}

// entries copies history entries into the block.
func (b *cBlock) entries(es []wire.HistoryEntry) *C.libsds_history_entry {
	if len(es) == 0 {
		return nil
	}
	size := unsafe.Sizeof(C.libsds_history_entry{})
	arr := unsafe.Slice((*C.libsds_history_entry)(b.take(uintptr(len(es))*size, 8)), len(es))
	for i := range es {
		arr[i].message_id = b.str(es[i].MessageID)
		arr[i].retrieval_hint = nil
		if len(es[i].RetrievalHint) > 0 {
			arr[i].retrieval_hint = b.bytes(es[i].RetrievalHint)
		}
		arr[i].retrieval_hint_len = C.size_t(len(es[i].RetrievalHint))
		arr[i].sender_id = b.str(es[i].SenderID)
	}
	return &arr[0]
}

func (b *cBlock) free() { C.free(b.base) }

// callScratch is reusable C memory for the strings and buffers of host
// callouts, grown on demand; used under the engine's lock only.
type callScratch struct {
	bufs [3]struct {
		p   unsafe.Pointer
		cap int
	}
}

// str returns s NUL-terminated in scratch slot i as a libsds_str, valid until
// the slot is reused.
func (s *callScratch) str(i int, str string) C.libsds_str {
	p := s.grow(i, len(str)+1)
	dst := unsafe.Slice((*byte)(p), len(str)+1)
	copy(dst, str)
	dst[len(str)] = 0
	return C.libsds_str{data: (*C.char)(p), len: C.size_t(len(str))}
}

// grow makes slot i at least n bytes and returns it.
func (s *callScratch) grow(i, n int) unsafe.Pointer {
	b := &s.bufs[i]
	if b.cap < n {
		C.free(b.p)
		c := max(n, 256)
		b.p = C.malloc(C.size_t(c))
		if b.p == nil {
			panic("libsds: out of memory")
		}
		b.cap = c
	}
	return b.p
}

func (s *callScratch) free() {
	for i := range s.bufs {
		C.free(s.bufs[i].p)
		s.bufs[i].p, s.bufs[i].cap = nil, 0
	}
}

// wireBuffers recycles the Go buffers wraps are encoded into before the bytes
// are copied to C memory: a fresh ~19 KB Go allocation per message costs more
// than the rest of a wrap (GC work and, on some VMs, page faults).
var wireBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// wrapPooled wraps content into a pooled buffer and hands the wire bytes to
// use, which must copy what it keeps: the buffer is reused once it returns.
func (m *manager) wrapPooled(content []byte, id, ch string, use func(wire []byte)) error {
	buf := wireBuffers.Get().(*[]byte)
	defer wireBuffers.Put(buf)
	wire, err := m.eng.AppendWrap((*buf)[:0], content, id, ch)
	*buf = wire[:0]
	if err != nil {
		return err
	}
	use(wire)
	return nil
}

// wrapSlack is what wrapToC reserves beyond the size of the previous message.
const wrapSlack = 4 << 10

// wrapToC wraps content straight into a malloc'd libsds_buffer the host frees,
// sized from the manager's earlier messages; a message that does not fit
// (the first, or one citing longer hints) is encoded in Go memory and copied.
func (m *manager) wrapToC(content []byte, id, ch string) (C.libsds_buffer, error) {
	overhead := m.wireOverhead.Load()
	if overhead == 0 {
		overhead = 24 << 10 // a default filter (~18.8 KB) and a causal history
	}
	size := int(overhead) + len(content) + wrapSlack
	p := C.malloc(C.size_t(size))
	if p == nil {
		panic("libsds: out of memory")
	}
	wire, err := m.eng.AppendWrap(unsafe.Slice((*byte)(p), size)[:0], content, id, ch)
	if err != nil {
		C.free(p)
		return C.libsds_buffer{}, err
	}
	m.wireOverhead.Store(int64(len(wire) - len(content)))
	if len(wire) == 0 || unsafe.Pointer(&wire[0]) != p { // grown into Go memory
		C.free(p)
		return cBuffer(wire), nil
	}
	return C.libsds_buffer{data: (*C.uint8_t)(p), len: C.size_t(len(wire))}, nil
}

// cBuffer copies data into a newly malloc'd libsds_buffer the host frees.
func cBuffer(data []byte) C.libsds_buffer {
	if len(data) == 0 {
		return C.libsds_buffer{}
	}
	p := C.malloc(C.size_t(len(data)))
	if p == nil {
		panic("libsds: out of memory")
	}
	C.memcpy(p, unsafe.Pointer(&data[0]), C.size_t(len(data)))
	return C.libsds_buffer{data: (*C.uint8_t)(p), len: C.size_t(len(data))}
}

// goString copies a NUL-terminated C string; NULL gives ok = false.
func goString(p *C.char) (s string, ok bool) {
	if p == nil {
		return "", false
	}
	return C.GoString(p), true
}

// goBytes copies n bytes from C memory (n may exceed C.GoBytes's int32 limit).
func goBytes(p unsafe.Pointer, n C.size_t) []byte {
	if n == 0 || p == nil {
		return []byte{}
	}
	out := make([]byte, int(n))
	copy(out, unsafe.Slice((*byte)(p), int(n)))
	return out
}

// goStr copies a libsds_str.
func goStr(s C.libsds_str) string {
	if s.data == nil || s.len == 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(unsafe.Pointer(s.data)), int(s.len)))
}
