package sds_test

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/logos-messaging/libsds-go/core/sds"
)

// Two participants on one channel: Bob receives Alice's second message before
// her first, waits for it, and his reply acknowledges both.
func Example() {
	alice, err := sds.NewReliabilityManager(zap.NewNop())
	if err != nil {
		panic(err)
	}
	defer alice.Cleanup()
	bob, err := sds.NewReliabilityManager(zap.NewNop())
	if err != nil {
		panic(err)
	}

	// Each manager's handlers run one at a time, in order, before the call
	// that caused them returns (two managers' handlers may interleave): collect
	// each manager's lines apart and print them after Cleanup.
	var aliceLog, bobLog []string
	alice.RegisterCallbacks(sds.EventCallbacks{
		OnMessageSent: func(id sds.MessageID, ch string) {
			aliceLog = append(aliceLog, fmt.Sprintf("alice: %s acknowledged on %s", id, ch))
		},
	})
	bob.RegisterCallbacks(sds.EventCallbacks{
		OnMessageReady: func(id sds.MessageID, ch string) {
			bobLog = append(bobLog, fmt.Sprintf("bob: %s ready", id))
		},
		OnMissingDependencies: func(id sds.MessageID, deps []sds.HistoryEntry, ch string) {
			bobLog = append(bobLog, fmt.Sprintf("bob: %s waits for %s", id, deps[0].MessageID))
		},
	})

	m1, _ := alice.WrapOutgoingMessage([]byte("hello"), "m1", "room")
	m2, _ := alice.WrapOutgoingMessage([]byte("world"), "m2", "room")

	res, _ := bob.UnwrapReceivedMessage(m2) // out of order
	fmt.Printf("content %q, missing %d\n", *res.Message, len(*res.MissingDeps))
	_, _ = bob.UnwrapReceivedMessage(m1)
	reply, _ := bob.WrapOutgoingMessage([]byte("hi"), "r1", "room")
	_, _ = alice.UnwrapReceivedMessage(reply)

	// Cleanup delivers what is queued, and no handler runs after it returns.
	_ = bob.Cleanup()
	_ = alice.Cleanup()
	for _, line := range append(bobLog, aliceLog...) {
		fmt.Println(line)
	}
	// Output:
	// content "world", missing 1
	// bob: m2 waits for m1
	// bob: m2 ready
	// bob: m1 ready
	// alice: m1 acknowledged on room
	// alice: m2 acknowledged on room
}
