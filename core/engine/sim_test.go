package engine_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/clock"
	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// simNet is a seeded lossy broadcast network between managers sharing one fake
// clock, each keeping its state in a memstore. Each round every participant sends one message; packets may be lost,
// duplicated and delayed (reordered) during the lossy phase; participants
// rebroadcast whatever SDS-R asks them to (RepairReady).
type simNet struct {
	t        *testing.T
	rng      *rand.Rand
	clk      *clock.Fake
	peers    []*engine.Manager
	kinds    []peerKind
	readsAll []bool // the peer can read every message of this group
	sinks    []*et.Recorder
	stores   []store.Store
	inflight []simPacket
	round    int
	lossy    bool
	loss     float64
	dup      float64
	maxDelay int

	deps      map[string][]string // message id → the ids it cites
	sentBy    map[string]int
	ready     []map[string]int // per participant: MessageReady count per id
	acked     []int
	givenUp   int
	repairs   int
	lastRound map[string]bool // messages of the final sending round
	rejected  []int           // per participant: wires its reader refused
	bogus     []int           // per participant: missing dependencies that no one sent
}

// peerKind is a participant's wire behaviour: the generation it writes and,
// for a model of a nim-sds release, how that release reads a wire.
type peerKind struct {
	name string
	gen  wire.Generation
	// read returns the message a nim-sds peer sees in a wire, in the 0.3
	// layout (which the engine reads exactly), or its decode error; nil for
	// this library, which reads both generations itself.
	read func([]byte) ([]byte, error)
}

// readAs models a nim-sds release that reads only generation g: 0.3 refuses a
// 0.4 message with causal history, 0.4 takes a 0.3 message's history entries
// for ids (ABI-v0.4 §9.4).
func readAs(g wire.Generation) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		m, err := wire.UnmarshalAs(b, g)
		if err != nil {
			return nil, err
		}
		return m.Marshal(), nil
	}
}

var (
	ours03 = peerKind{name: "ours-0.3", gen: wire.V03}
	ours04 = peerKind{name: "ours-0.4", gen: wire.V04}
	nim03  = peerKind{name: "nim-0.3", gen: wire.V03, read: readAs(wire.V03)}
	nim04  = peerKind{name: "nim-0.4", gen: wire.V04, read: readAs(wire.V04)}
)

type simPacket struct {
	to   int
	at   int
	data []byte
}

type simParams struct {
	participants, lossyRounds int
	loss, dup                 float64
	maxDelay                  int
	seed                      uint64
	kinds                     []peerKind // per participant; nil: all ours03
}

func newSimNet(t *testing.T, p simParams) *simNet {
	n := &simNet{
		t: t, rng: rand.New(rand.NewPCG(p.seed, p.seed^0x5d5)), clk: clock.NewFake(et.Epoch),
		loss: p.loss, dup: p.dup, maxDelay: p.maxDelay,
		deps: map[string][]string{}, sentBy: map[string]int{}, lastRound: map[string]bool{},
	}
	kinds := p.kinds
	if kinds == nil {
		kinds = slices.Repeat([]peerKind{ours03}, p.participants)
	}
	require.Len(t, kinds, p.participants)
	for i, k := range kinds {
		readsAll := k.read == nil
		if !readsAll {
			readsAll = !slices.ContainsFunc(kinds, func(o peerKind) bool { return o.gen != k.gen })
		}
		n.peers = append(n.peers, nil)
		n.kinds = append(n.kinds, k)
		n.readsAll = append(n.readsAll, readsAll)
		n.sinks = append(n.sinks, &et.Recorder{})
		n.stores = append(n.stores, memstore.New())
		n.ready = append(n.ready, map[string]int{})
		n.acked = append(n.acked, 0)
		n.rejected = append(n.rejected, 0)
		n.bogus = append(n.bogus, 0)
		n.start(i)
	}
	return n
}

// start builds participant i's manager for its kind, on its store: a peer
// replaced mid-run (replace) resumes from what it had, as a restart would.
func (n *simNet) start(i int) {
	k := n.kinds[i]
	cfg := engine.DefaultConfig()
	cfg.RerequestRepairs = k.read == nil // nim-sds asks once
	cfg.MaxResendAttempts = 20           // the lossless phase must outlast the slowest repair
	cfg.MaxMessageHistory = 10_000       // no eviction: delivery is checked against the whole log
	cfg.WireGeneration = k.gen
	m, err := engine.New(engine.Options{ParticipantID: fmt.Sprintf("p%d", i), Config: &cfg, Clock: n.clk,
		Events: n.sinks[i], Store: n.stores[i]})
	require.NoError(n.t, err)
	n.peers[i] = m
}

// replace restarts participant i as kind k (an upgrade, or a writer flipped
// to another generation), keeping its state.
func (n *simNet) replace(i int, k peerKind) {
	require.NoError(n.t, n.peers[i].Close())
	n.kinds[i] = k
	n.start(i)
}

func (n *simNet) broadcast(from int, data []byte) {
	for to := range n.peers {
		if to == from {
			continue
		}
		copies := 1
		if n.lossy {
			if n.rng.Float64() < n.loss {
				continue
			}
			if n.rng.Float64() < n.dup {
				copies = 2
			}
		}
		for ; copies > 0; copies-- {
			delay := 0
			if n.lossy && n.maxDelay > 0 {
				delay = n.rng.IntN(n.maxDelay + 1)
			}
			n.inflight = append(n.inflight, simPacket{to: to, at: n.round + delay, data: data})
		}
	}
}

// drain handles a participant's events: counts them and rebroadcasts repairs.
func (n *simNet) drain(i int) {
	for _, e := range n.sinks[i].Take() {
		switch e.Kind {
		case engine.MessageReady:
			n.ready[i][e.MessageID]++
		case engine.MissingDependencies:
			for _, d := range e.MissingDeps {
				if _, ok := n.sentBy[d.MessageID]; !ok {
					n.bogus[i]++
				}
			}
		case engine.MessageAcknowledged:
			n.acked[i]++
		case engine.MessageGivenUp:
			n.givenUp++
		case engine.RepairReady:
			n.repairs++
			n.broadcast(i, e.Message)
		case engine.StoreFailed, engine.IncomingDropped:
			n.t.Fatalf("p%d: unexpected %v", i, e.Kind)
		}
	}
}

func (n *simNet) step(send bool) {
	n.round++
	n.clk.Advance(5 * time.Second)
	if send {
		clear(n.lastRound)
		for _, i := range n.rng.Perm(len(n.peers)) {
			id := fmt.Sprintf("p%d-r%d", i, n.round)
			out, err := n.peers[i].Wrap([]byte("payload "+id), id, "chat")
			require.NoError(n.t, err)
			n.deps[id] = et.IDsOf(et.Decode(n.t, out).CausalHistory)
			n.sentBy[id] = i
			n.lastRound[id] = true
			n.broadcast(i, out)
		}
	}
	// deliver what is due, in random order; deliveries may trigger more sends
	for {
		var due []simPacket
		rest := n.inflight[:0]
		for _, p := range n.inflight {
			if p.at <= n.round {
				due = append(due, p)
			} else {
				rest = append(rest, p)
			}
		}
		n.inflight = rest
		if len(due) == 0 {
			break
		}
		n.rng.Shuffle(len(due), func(a, b int) { due[a], due[b] = due[b], due[a] })
		for _, p := range due {
			data := p.data
			if read := n.kinds[p.to].read; read != nil {
				var err error
				if data, err = read(data); err != nil {
					n.rejected[p.to]++
					continue
				}
			}
			_, err := n.peers[p.to].Unwrap(data)
			require.NoError(n.t, err)
			n.drain(p.to)
		}
	}
	for i, m := range n.peers {
		require.NoError(n.t, m.SweepRepairs())
		require.NoError(n.t, m.SweepBuffers())
		n.drain(i)
	}
}

// converged reports whether every participant that can read every message
// delivered every message of the others and nothing is in flight.
func (n *simNet) converged() bool {
	for i := range n.peers {
		if !n.readsAll[i] {
			continue
		}
		for id, from := range n.sentBy {
			if from != i && n.ready[i][id] == 0 {
				return false
			}
		}
	}
	return len(n.inflight) == 0
}

func runSim(t *testing.T, p simParams) *simNet {
	n := newSimNet(t, p)
	n.lossy = true
	for r := 0; r < p.lossyRounds; r++ {
		n.step(true)
	}
	n.lossy = false
	for r := 0; !n.converged(); r++ {
		require.Less(t, r, 500, "no convergence after 500 lossless rounds")
		n.step(true)
	}
	n.step(true) // one more round so the previous ones are acknowledged
	return n
}

func TestSimulationConvergesExactlyOnceInCausalOrder(t *testing.T) {
	for _, p := range []simParams{
		{participants: 5, lossyRounds: 30, loss: 0.10, dup: 0.10, maxDelay: 3, seed: 1},
		{participants: 5, lossyRounds: 30, loss: 0.20, dup: 0.10, maxDelay: 3, seed: 2},
		{participants: 5, lossyRounds: 30, loss: 0.30, dup: 0.10, maxDelay: 3, seed: 3},
		{participants: 6, lossyRounds: 40, loss: 0.30, dup: 0.20, maxDelay: 5, seed: 4},
		{participants: 4, lossyRounds: 20, loss: 0.30, dup: 0.00, maxDelay: 0, seed: 5},
	} {
		t.Run(fmt.Sprintf("n%d-loss%.0f%%-seed%d", p.participants, p.loss*100, p.seed), func(t *testing.T) {
			n := runSim(t, p)
			t.Logf("rounds %d (lossy %d), messages %d, repairs rebroadcast %d", n.round, p.lossyRounds, len(n.sentBy), n.repairs)
			require.Positive(t, n.repairs, "the lossy phase must have needed SDS-R")
			require.Zero(t, n.givenUp, "no message may be given up")
			for i, m := range n.peers {
				// exactly once: one MessageReady per message of the others
				for id, from := range n.sentBy {
					if from == i || n.lastRound[id] {
						continue
					}
					require.Equal(t, 1, n.ready[i][id], "p%d delivered %s", i, id)
				}
				st, ok, err := m.ChannelState("chat")
				require.NoError(t, err)
				require.True(t, ok)
				require.Empty(t, st.Incoming, "p%d still waits", i)
				// causal order: every message enters the log after what it cites
				pos := map[string]int{}
				for k, id := range st.Log {
					pos[id] = k
				}
				for k, id := range st.Log {
					for _, dep := range n.deps[id] {
						at, ok := pos[dep]
						require.True(t, ok, "p%d: %s cites %s, which is not in the log", i, id, dep)
						require.Less(t, at, k, "p%d: %s logged before its dependency %s", i, id, dep)
					}
				}
				// every message but the final round's is acknowledged
				for _, o := range st.Outgoing {
					require.True(t, n.lastRound[o.ID], "p%d: %s never acknowledged", i, o.ID)
				}
				sent := 0
				for _, from := range n.sentBy {
					if from == i {
						sent++
					}
				}
				require.Equal(t, sent, n.acked[i]+len(st.Outgoing), "p%d acknowledgements", i)
			}
			// reproducible: the same seed gives the same run
			again := runSim(t, p)
			require.Equal(t, n.round, again.round)
			require.Equal(t, n.repairs, again.repairs)
			require.True(t, slices.Equal(n.acked, again.acked))
		})
	}
}
