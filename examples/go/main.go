// Command two_peers: two peers, one chat, through the Go engine. Alice asks,
// then answers herself; Bob receives the answer first, yet shows both in
// causal order, each with its content.
//
//	go run ./examples/go
package main

import (
	"fmt"
	"os"
	"slices"

	"github.com/logos-messaging/libsds-go/core/engine"
)

func main() {
	var view []string // Bob's chat view: one line per MessageReady
	onEvents := engine.EventSinkFunc(func(evs []engine.Event) {
		for _, e := range evs { // called under Bob's lock: record, do not call back
			if e.Kind == engine.MessageReady {
				view = append(view, fmt.Sprintf("%s: %s", e.MessageID, e.Content))
			}
		}
	})
	// What a chat app wants: READY in causal order, with the content.
	cfg := engine.DefaultConfig()
	cfg.CausalReadyOrder, cfg.ReadyContent = true, true

	alice, err := engine.New(engine.Options{ParticipantID: "alice"})
	check(err)
	defer alice.Close()
	bob, err := engine.New(engine.Options{ParticipantID: "bob", Config: &cfg, Events: onEvents})
	check(err)
	defer bob.Close()

	question, err := alice.Wrap([]byte("lunch?"), "q1", "general")
	check(err)
	answer, err := alice.Wrap([]byte("at noon"), "a1", "general") // cites q1
	check(err)

	waiting, err := bob.Unwrap(answer) // the network delivers the answer first
	check(err)
	fmt.Printf("%s waits for %d message(s)\n", waiting.MessageID, len(waiting.MissingDeps))
	_, err = bob.Unwrap(question)
	check(err)

	for _, line := range view {
		fmt.Println(line)
	}
	if !slices.Equal(view, []string{"q1: lunch?", "a1: at noon"}) {
		os.Exit(1)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
