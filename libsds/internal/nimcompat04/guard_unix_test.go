//go:build unix

package nimcompat04

import (
	"runtime/debug"
	"sync"
	"syscall"
	"testing"
	"unsafe"
)

var guardMem struct {
	once sync.Once
	mem  []byte // readable pages, then one PROT_NONE page
	size int
}

// guarded copies text to the end of readable memory: a read past it faults.
func guarded(text []byte) []byte {
	guardMem.once.Do(func() {
		page := syscall.Getpagesize()
		size := 64 << 10
		mem, err := syscall.Mmap(-1, 0, size+page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			panic(err)
		}
		if err := syscall.Mprotect(mem[size:], syscall.PROT_NONE); err != nil {
			panic(err)
		}
		guardMem.mem, guardMem.size = mem, size
	})
	if len(text) > guardMem.size {
		return append([]byte(nil), text...)
	}
	buf := guardMem.mem[guardMem.size-len(text) : guardMem.size : guardMem.size]
	copy(buf, text)
	return buf
}

// The guard works: a read one byte past a guarded text faults.
func TestGuarded(t *testing.T) {
	buf := guarded([]byte("1]\x00"))
	if string(buf) != "1]\x00" {
		t.Fatalf("guarded = %q", buf)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("no fault reading past a guarded text")
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	t.Errorf("read %d past the text", *(*byte)(unsafe.Add(unsafe.Pointer(&buf[0]), len(buf))))
}
