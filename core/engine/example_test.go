package engine_test

import (
	"fmt"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
)

// Two participants on one channel: Alice's second message reaches Bob before
// her first, so Bob holds it until the first arrives, then delivers both in
// causal order, each with its content (CausalReadyOrder and ReadyContent;
// without them the order is nim-sds's: a2, then a1). Bob's reply acknowledges
// Alice's messages.
func Example() {
	events := func(name string) engine.EventSink {
		return engine.EventSinkFunc(func(evs []engine.Event) {
			for _, e := range evs {
				fmt.Printf("%s: %s %s", name, e.Kind, e.MessageID)
				if e.Content != nil {
					fmt.Printf(" %q", e.Content)
				}
				fmt.Println()
			}
		})
	}
	cfg := engine.DefaultConfig()
	cfg.CausalReadyOrder, cfg.ReadyContent = true, true
	alice, _ := engine.New(engine.Options{ParticipantID: "alice", Config: &cfg, Events: events("alice")})
	bob, _ := engine.New(engine.Options{ParticipantID: "bob", Config: &cfg, Events: events("bob"), Store: memstore.New()})

	first, _ := alice.Wrap([]byte("hello"), "a1", "general")
	second, _ := alice.Wrap([]byte("how are you?"), "a2", "general")

	res, _ := bob.Unwrap(second) // arrives first: waits for a1
	fmt.Println("waiting for", res.MissingDeps[0].MessageID)
	bob.Unwrap(first)

	reply, _ := bob.Wrap([]byte("fine"), "b1", "general")
	alice.Unwrap(reply)
	// Output:
	// bob: missing_dependencies a2
	// waiting for a1
	// bob: message_ready a1 "hello"
	// bob: message_ready a2 "how are you?"
	// alice: message_acknowledged a1
	// alice: message_acknowledged a2
	// alice: message_ready b1 "fine"
}

// A manager on a store restores its state when rebuilt on the same store:
// here the lamport clock and the unacknowledged message survive a restart.
func Example_restart() {
	s := memstore.New()
	m, _ := engine.New(engine.Options{Store: s})
	m.Wrap([]byte("hi"), "m1", "c")
	m.Close()

	m2, _ := engine.New(engine.Options{Store: s}) // lists and loads channel "c"
	st, _, _ := m2.ChannelState("c")
	fmt.Println(st.Log, len(st.Outgoing), st.Lamport > 0)
	// Output: [m1] 1 true
}
