// Command instr runs one engine operation n times after a fixed setup, for
// instruction counting: run it under valgrind --tool=callgrind with two values
// of -n and the same -max, and the difference of the totals divided by the
// difference of the n is the cost of one operation, setup excluded
// (tests/bench/instr.sh does that).
//
// Setup, as in the engine benchmarks: the sender has wrapped 5,000 messages on
// its channel (a full 1,000-message history and a dense filter), a retrieval
// hint provider is installed, the sender keeps 1,000 unacknowledged messages;
// for unwrap, the receiver has -out unacknowledged messages of its own that
// the sender's filter does not contain, so acknowledgement review tests them.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/logos-messaging/libsds-go/core/clock"
	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/sds"
	"github.com/logos-messaging/libsds-go/core/wire"
)

var (
	payload = make([]byte, 100)
	hint    = make([]byte, 32) // the host's hint: constant, so its cost is not counted as ours
)

func peer(id string, outgoing, warm int) *engine.Manager {
	return peerAs(id, outgoing, warm, wire.V03)
}

// peerAs is peer writing generation g, as libsds configures a manager of the
// 0.4 sds_* ABI with wire.V04 (both generations are read either way).
func peerAs(id string, outgoing, warm int, g wire.Generation) *engine.Manager {
	cfg := engine.DefaultConfig()
	cfg.MaxOutgoingBuffer = outgoing
	cfg.WireGeneration = g
	m, err := engine.New(engine.Options{ParticipantID: id, Config: &cfg,
		HintProvider: func(string) []byte { return hint },
		Clock:        clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		Events:       engine.EventSinkFunc(func([]engine.Event) {})})
	check(err)
	for i := range warm {
		_, err := m.Wrap(payload, fmt.Sprintf("%s-warm-%d", id, i), "c")
		check(err)
	}
	return m
}

// sdsPeer is peer through core/sds.
func sdsPeer(id string, outgoing, warm int) *sds.ReliabilityManager {
	cfg := engine.DefaultConfig()
	cfg.MaxOutgoingBuffer = outgoing
	rm, err := sds.NewReliabilityManagerWithOptions(nil, sds.Options{ParticipantID: id, Config: &cfg,
		Clock: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	check(err)
	rm.RegisterCallbacks(sds.EventCallbacks{RetrievalHintProvider: func(sds.MessageID) []byte { return hint }})
	for i := range warm {
		_, err := rm.WrapOutgoingMessage(payload, sds.MessageID(fmt.Sprintf("%s-warm-%d", id, i)), "c")
		check(err)
	}
	return rm
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func main() {
	op := flag.String("op", "appendwrap", "appendwrap, wrap, unwrap, unwrapv04, sdswrap, sdsappendwrap or sdsunwrap")
	n := flag.Int("n", 100, "operations to run after the setup")
	maxN := flag.Int("max", 1000, "the largest -n of the series (unwrap prepares this many messages)")
	out := flag.Int("out", 1000, "unwrap: the receiver's own unacknowledged messages")
	flag.Parse()
	ids := make([]string, *maxN)
	for i := range ids {
		ids[i] = fmt.Sprintf("m-%d", i)
	}
	switch *op {
	case "appendwrap", "wrap":
		m := peer("alice", 1000, 5000)
		var buf []byte
		runtime.GC()
		for i := range *n {
			var err error
			if *op == "wrap" {
				_, err = m.Wrap(payload, ids[i], "c")
			} else {
				buf, err = m.AppendWrap(buf[:0], payload, ids[i], "c")
			}
			check(err)
		}
	case "unwrap", "unwrapv04":
		// unwrapv04: both peers write 0.4, so the messages unwrapped are 0.4's
		g := wire.V03
		if *op == "unwrapv04" {
			g = wire.V04
		}
		sender := peerAs("alice", 1000, 5000, g)
		receiver := peerAs("bob", *out, *out, g)
		for i := 4990; i < 5000; i++ { // the receiver holds the sender's recent history
			bare := wire.Message{MessageID: fmt.Sprintf("alice-warm-%d", i), Lamport: 1, ChannelID: "c", Content: payload}
			_, err := receiver.Unwrap(bare.Marshal())
			check(err)
		}
		msgs := make([][]byte, *maxN)
		for i := range msgs {
			var err error
			msgs[i], err = sender.Wrap(payload, ids[i], "c")
			check(err)
		}
		runtime.GC()
		for i := range *n {
			res, err := receiver.Unwrap(msgs[i])
			check(err)
			if len(res.MissingDeps) != 0 {
				check(fmt.Errorf("unwrap %d: missing dependencies", i))
			}
		}
	case "sdswrap", "sdsappendwrap":
		rm, err := sds.NewReliabilityManager(nil)
		check(err)
		rm.RegisterCallbacks(sds.EventCallbacks{RetrievalHintProvider: func(sds.MessageID) []byte { return hint }})
		for i := range 5000 {
			_, err := rm.WrapOutgoingMessage(payload, sds.MessageID(fmt.Sprintf("w-%d", i)), "c")
			check(err)
		}
		runtime.GC()
		runtime.GC()
		var buf []byte
		for i := range *n {
			var err error
			if *op == "sdswrap" {
				_, err = rm.WrapOutgoingMessage(payload, sds.MessageID(ids[i]), "c")
			} else {
				buf, err = rm.AppendWrapOutgoingMessage(buf[:0], payload, sds.MessageID(ids[i]), "c")
			}
			check(err)
		}
		check(rm.Cleanup())
	case "sdsunwrap":
		// as unwrap, through core/sds, with an OnMessageReady handler that each
		// unwrap waits for
		sender := sdsPeer("alice", 1000, 5000)
		receiver := sdsPeer("bob", *out, *out)
		var ready int
		receiver.RegisterCallbacks(sds.EventCallbacks{
			RetrievalHintProvider: func(sds.MessageID) []byte { return hint },
			OnMessageReady:        func(sds.MessageID, string) { ready++ },
		})
		for i := 4990; i < 5000; i++ {
			bare := wire.Message{MessageID: fmt.Sprintf("alice-warm-%d", i), Lamport: 1, ChannelID: "c", Content: payload}
			_, err := receiver.UnwrapReceivedMessage(bare.Marshal())
			check(err)
		}
		msgs := make([][]byte, *maxN)
		for i := range msgs {
			var err error
			msgs[i], err = sender.WrapOutgoingMessage(payload, sds.MessageID(ids[i]), "c")
			check(err)
		}
		runtime.GC()
		before := ready
		for i := range *n {
			res, err := receiver.UnwrapReceivedMessage(msgs[i])
			check(err)
			if len(*res.MissingDeps) != 0 {
				check(fmt.Errorf("unwrap %d: missing dependencies", i))
			}
		}
		if ready-before != *n {
			check(fmt.Errorf("%d handlers ran before the unwraps returned, want %d", ready-before, *n))
		}
		check(sender.Cleanup())
		check(receiver.Cleanup())
	default:
		check(fmt.Errorf("unknown -op %q", *op))
	}
}
