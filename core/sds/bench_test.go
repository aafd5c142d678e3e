package sds

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkWrapUnwrap times one message through this package: a wrap on one
// manager and the unwrap of its bytes on another, 100-byte payload, one
// channel, handlers registered (events go through the dispatcher as in a real
// program). Both managers are warmed up first so that their histories are
// full and the causal history has its 10 entries. The C-ABI comparison is in
// docs/go-bindings.md.
func BenchmarkWrapUnwrap(b *testing.B) {
	a, err := NewReliabilityManager(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Cleanup()
	r, err := NewReliabilityManager(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Cleanup()
	var ready int
	r.RegisterCallbacks(EventCallbacks{OnMessageReady: func(MessageID, string) { ready++ }})
	a.RegisterCallbacks(EventCallbacks{OnMessageSent: func(MessageID, string) {}})

	payload := make([]byte, 100)
	pair := func(id string) {
		msg, err := a.WrapOutgoingMessage(payload, MessageID(id), "c")
		if err != nil {
			b.Fatal(err)
		}
		res, err := r.UnwrapReceivedMessage(msg)
		if err != nil || len(*res.MissingDeps) != 0 {
			b.Fatalf("unwrap: %v", err)
		}
	}
	for i := range 1000 {
		pair(fmt.Sprintf("warm-%d", i))
	}
	r.flush()

	b.ReportAllocs()
	start := time.Now()
	i := 0
	for b.Loop() {
		pair(fmt.Sprintf("m-%d", i))
		i++
	}
	elapsed := time.Since(start)
	b.StopTimer()
	r.flush()
	if ready != 1000+i {
		b.Fatalf("%d messages delivered, want %d", ready, 1000+i)
	}
	b.ReportMetric(float64(elapsed.Microseconds())/float64(i), "µs/pair")
}
