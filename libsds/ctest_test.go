package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/logos-messaging/libsds-go/libsds/internal/ctest"
)

// The C test bodies run in this test binary against this package's own C and
// Go (internal/ctest says how), so go test -race watches the library's Go code
// while C threads drive it. Every test ends with checkNoLeftovers.

func TestCreateFreeCycles(t *testing.T) {
	ctest.CreateFree(t, 50)
	checkNoLeftovers(t)
}

func TestConcurrentWrapUnwrapOnSeveralManagers(t *testing.T) {
	ctest.ConcurrentWrapUnwrap(t, 4, 8, 40)
	checkNoLeftovers(t)
}

func TestEventsInOrderBehindAFence(t *testing.T) {
	ctest.EventsInOrder(t)
	checkNoLeftovers(t)
}

func TestCompatCalls(t *testing.T) {
	ctest.CompatCalls(t)
	checkNoLeftovers(t)
}

func TestHostStoreLoaders(t *testing.T) {
	ctest.HostStoreLoaders(t)
	checkNoLeftovers(t)
}

func TestStartStopFree(t *testing.T) {
	ctest.StartStopFree(t, 6)
	checkNoLeftovers(t)
}

// residentDeliveryThreads is how many idle delivery threads the pool keeps
// once every manager is gone (cdispatch.c: every idle thread exits).
const residentDeliveryThreads = 0

// checkNoLeftovers fails t if a manager handle or a loader is still
// registered, or if, within a few seconds, scheduler goroutines have not all
// exited and the delivery pool has not shrunk to its resident threads. (Those
// exits are not events the library reports, so they are polled.)
func checkNoLeftovers(t *testing.T) {
	t.Helper()
	managers.mu.RLock()
	handles := len(managers.m)
	managers.mu.RUnlock()
	if handles != 0 {
		t.Errorf("%d manager handles still registered", handles)
	}
	loaders := 0
	liveLoaders.Range(func(any, any) bool { loaders++; return true })
	if loaders != 0 {
		t.Errorf("%d loaders still live", loaders)
	}
	var runners, threads int
	for deadline := time.Now().Add(10 * time.Second); ; {
		runners, threads = schedulerGoroutines(), deliveryThreads()
		if (runners == 0 && threads <= residentDeliveryThreads) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline, see above
	}
	if runners != 0 {
		t.Errorf("%d scheduler goroutines still running", runners)
	}
	if threads > residentDeliveryThreads {
		t.Errorf("%d delivery threads left, want at most %d", threads, residentDeliveryThreads)
	}
}

// schedulerGoroutines counts goroutines running a periodic-task loop.
func schedulerGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "core/scheduler.(*Runner).loop")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// deliveryThreads counts the process's threads named libsds-deliver (Linux;
// 0 where /proc is missing).
func deliveryThreads() int {
	comms, _ := filepath.Glob("/proc/self/task/*/comm")
	n := 0
	for _, c := range comms {
		if b, err := os.ReadFile(c); err == nil && strings.TrimSpace(string(b)) == "libsds-deliver" {
			n++
		}
	}
	return n
}
