// Package enginetest is the test harness shared by the engine's own tests and
// the stores' engine-level tests: participants on a fake clock that record
// their events, the helpers that build and inspect messages, and a channel
// with something in every buffer for restart tests.
package enginetest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/clock"
	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/storetest"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// Epoch is the fake clocks' start; lamport values derive from it in seconds.
var Epoch = time.Unix(1_800_000_000, 0)

// TMax is the default SDS-R T_max, after which repair entries are dropped.
var TMax = engine.DefaultConfig().RepairTMax

// Recorder is an engine.EventSink that keeps every event, synchronously.
type Recorder struct {
	mu     sync.Mutex
	events []engine.Event
}

// Deliver implements engine.EventSink.
func (r *Recorder) Deliver(evs []engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, evs...)
}

// Take returns the events so far and forgets them.
func (r *Recorder) Take() []engine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// Peer is one participant: a manager, its fake clock and its events.
type Peer struct {
	*engine.Manager
	T       testing.TB
	Clock   *clock.Fake
	Events  *Recorder
	Options engine.Options // what the manager was built with
}

// Option changes the options a Peer's manager is built with.
type Option func(*engine.Options)

// WithID sets the participant id (enabling SDS-R).
func WithID(id string) Option { return func(o *engine.Options) { o.ParticipantID = id } }

// WithStore sets the store.
func WithStore(s store.Store) Option { return func(o *engine.Options) { o.Store = s } }

// WithConfig edits the configuration, starting from the defaults or from what
// an earlier option set.
func WithConfig(f func(*engine.Config)) Option {
	return func(o *engine.Options) {
		c := engine.DefaultConfig()
		if o.Config != nil {
			c = *o.Config
		}
		f(&c)
		o.Config = &c
	}
}

// WithHints sets the retrieval-hint provider.
func WithHints(p engine.HintProvider) Option {
	return func(o *engine.Options) { o.HintProvider = p }
}

// WithClock shares a fake clock between peers (each gets its own otherwise).
func WithClock(c *clock.Fake) Option { return func(o *engine.Options) { o.Clock = c } }

// NewPeer builds a manager whose events go to the peer's Recorder, on a fake
// clock starting at Epoch unless WithClock gives one.
func NewPeer(t testing.TB, opts ...Option) *Peer {
	t.Helper()
	p := &Peer{T: t, Events: &Recorder{}}
	o := engine.Options{Events: p.Events}
	for _, f := range opts {
		f(&o)
	}
	if o.Clock == nil {
		o.Clock = clock.NewFake(Epoch)
	}
	p.Clock = o.Clock.(*clock.Fake)
	m, err := engine.New(o)
	require.NoError(t, err)
	p.Manager = m
	p.Options = o
	return p
}

// Restart closes p's manager, then builds a new one with the same options (and
// opts) on the store reopen returns — the same store, or its data reopened —
// as a process restart would. The new peer records its own events.
func (p *Peer) Restart(reopen func() store.Store, opts ...Option) *Peer {
	p.T.Helper()
	require.NoError(p.T, p.Close())
	o := p.Options
	same := func(eo *engine.Options) { ev := eo.Events; *eo = o; eo.Events = ev }
	return NewPeer(p.T, append([]Option{same, WithStore(reopen())}, opts...)...)
}

// RequireReloaded compares a channel state with got, one reloaded from the
// store: equal but for the filter, which a reload rebuilds from the log alone
// (the filter in memory also holds evicted and buffered ids).
func RequireReloaded(t testing.TB, want, got engine.ChannelState) {
	t.Helper()
	require.Equal(t, WithoutBloom(want), WithoutBloom(got))
	require.Equal(t, got.Log, got.BloomIDs, "the filter is rebuilt from the log, oldest first")
}

// MustWrap wraps "body of <id>" as id on ch, failing the test on error.
func (p *Peer) MustWrap(id, ch string) []byte {
	p.T.Helper()
	out, err := p.Wrap([]byte("body of "+id), id, ch)
	require.NoError(p.T, err)
	return out
}

// MustUnwrap unwraps b, failing the test on error.
func (p *Peer) MustUnwrap(b []byte) *engine.Unwrapped {
	p.T.Helper()
	res, err := p.Unwrap(b)
	require.NoError(p.T, err)
	return res
}

// MustState returns the state of channel ch, which must exist.
func (p *Peer) MustState(ch string) engine.ChannelState {
	p.T.Helper()
	s, ok, err := p.ChannelState(ch)
	require.NoError(p.T, err)
	require.True(p.T, ok, "channel %q", ch)
	return s
}

// Summary renders events as "kind:id[missing,…]@channel" strings for compact
// assertions.
func Summary(evs []engine.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		s := e.Kind.String()
		if e.MessageID != "" {
			s += ":" + e.MessageID
		}
		if e.Kind == engine.MissingDependencies {
			s += "[" + strings.Join(IDsOf(e.MissingDeps), ",") + "]"
		}
		if e.ChannelID != "" {
			s += "@" + e.ChannelID
		}
		out = append(out, s)
	}
	return out
}

// IDsOf lists the message ids of history entries, in order.
func IDsOf(entries []wire.HistoryEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.MessageID
	}
	return out
}

// Decode unmarshals wire bytes, failing the test on error.
func Decode(t testing.TB, b []byte) *wire.Message {
	t.Helper()
	m, err := wire.Unmarshal(b)
	require.NoError(t, err)
	return m
}

// Numbered returns prefix0 … prefix<n-1>.
func Numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// Sorted returns a sorted copy of ids.
func Sorted(ids []string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	return out
}

// Entry is the history entry citing id from sender.
func Entry(id, sender string) wire.HistoryEntry {
	return wire.HistoryEntry{MessageID: id, SenderID: sender}
}

// WithoutBloom clears the filter's ids from a channel state, for comparing
// states whose filters may legitimately differ.
func WithoutBloom(s engine.ChannelState) engine.ChannelState {
	s.BloomIDs = nil
	return s
}

// RequestFor makes p emit a message carrying a repair request for id (sent by
// sender) on channel "c".
func RequestFor(t testing.TB, p *Peer, id, sender string) []byte {
	t.Helper()
	w := Decode(t, p.MustWrap("req-for-"+id, "c"))
	w.RepairRequest = append(w.RepairRequest, Entry(id, sender))
	return w.Marshal()
}

// BusyChannel gives bob on channel "c" something in every buffer: log (with
// evictions), outgoing, incoming with missing ids, both repair buffers. bob
// keeps his state in s, built with opts besides; the other peers keep nothing.
func BusyChannel(t *testing.T, s store.Store, opts ...Option) (alice, bob *Peer) {
	t.Helper()
	clk := clock.NewFake(Epoch)
	alice = NewPeer(t, WithID("alice"), WithClock(clk))
	bob = NewPeer(t, append([]Option{WithID("bob"), WithStore(s), WithClock(clk)}, opts...)...)
	carol := NewPeer(t, WithID("carol"), WithClock(clk))
	for _, id := range Numbered("early", 5) {
		bob.MustUnwrap(alice.MustWrap(id, "c"))
	}
	bob.MustWrap("b1", "c")
	clk.Advance(1500 * time.Millisecond)
	bob.MustWrap("b2", "c")
	alice.MustWrap("gap1", "c")
	alice.MustWrap("gap2", "c")
	bob.MustUnwrap(alice.MustWrap("after-gap", "c")) // waits for gap1, gap2; schedules repairs
	carol.MustUnwrap(alice.MustWrap("e-ask", "c"))
	clk.Advance(TMax)
	carol.MustWrap("carol-ask", "c")
	// dave asks for early4, which bob holds: bob schedules a response
	dave := NewPeer(t, WithID("dave"), WithClock(clk))
	bob.MustUnwrap(RequestFor(t, dave, "early4", "alice"))
	st := bob.MustState("c")
	require.NotEmpty(t, st.Log)
	require.NotEmpty(t, st.Outgoing)
	require.NotEmpty(t, st.Incoming)
	require.NotEmpty(t, st.OutgoingRepairs)
	require.NotEmpty(t, st.IncomingRepairs)
	return alice, bob
}

// Operations are protocol operations on a BusyChannel, by name, each of which
// writes to bob's store: failure-policy tests fail each store call inside
// each of them in turn. Each returns the operation's error and may be run
// again on a restarted bob.
var Operations = map[string]func(t *testing.T, alice, bob *Peer) error{
	"unwrap acking, delivering, evicting, cancelling": func(t *testing.T, alice, bob *Peer) error {
		gap1 := Decode(t, alice.MustWrap("gap1-again", "c"))
		gap1.MessageID = "gap1"
		gap1.CausalHistory = []wire.HistoryEntry{Entry("b1", "bob"), Entry("b2", "bob")}
		gap1.RepairRequest = []wire.HistoryEntry{Entry("early3", "alice")}
		_, err := bob.Unwrap(gap1.Marshal())
		return err
	},
	"unwrap with new missing dependencies": func(t *testing.T, alice, bob *Peer) error {
		m := Decode(t, alice.MustWrap("x", "c"))
		m.CausalHistory = []wire.HistoryEntry{Entry("unseen1", "alice"), Entry("unseen2", "alice")}
		_, err := bob.Unwrap(m.Marshal())
		return err
	},
	"mark releasing a waiting message": func(t *testing.T, alice, bob *Peer) error {
		return bob.MarkDependenciesMet([]string{"gap1", "gap2"}, "c")
	},
	"wrap with hints and due repair requests": func(t *testing.T, alice, bob *Peer) error {
		_, err := bob.Wrap([]byte("w"), "b9", "c")
		return err
	},
	"repair sweep": func(t *testing.T, alice, bob *Peer) error {
		bob.Clock.Advance(TMax)
		return bob.SweepRepairs()
	},
	"buffer sweep": func(t *testing.T, alice, bob *Peer) error {
		bob.Clock.Advance(61 * time.Second)
		return bob.SweepBuffers()
	},
	"reset": func(t *testing.T, alice, bob *Peer) error {
		return bob.Reset()
	},
}

// CheckTimersResumed checks bob, restarted from his store after BusyChannel
// left him in state before: each timer fires at the absolute time it had —
// the incoming repair (early4 is rebroadcast), the resend of the first
// outgoing message (one attempt), the outgoing repair requests (on the next
// wrap).
func CheckTimersResumed(t *testing.T, before engine.ChannelState, bob *Peer) {
	t.Helper()
	bob.Clock.Set(before.IncomingRepairs[0].Due)
	require.NoError(t, bob.SweepRepairs())
	var repairs int
	for _, e := range bob.Events.Take() {
		if e.Kind == engine.RepairReady {
			repairs++
			require.Equal(t, "early4", Decode(t, e.Message).MessageID)
		}
	}
	require.Equal(t, 1, repairs)
	bob.Clock.Set(before.Outgoing[0].SendTime.Add(61 * time.Second))
	require.NoError(t, bob.SweepBuffers())
	require.Equal(t, 1, bob.MustState("c").Outgoing[0].ResendAttempts)
	bob.Clock.Set(before.OutgoingRepairs[len(before.OutgoingRepairs)-1].Due)
	require.NotEmpty(t, Decode(t, bob.MustWrap("b-after", "c")).RepairRequest)
}

// CheckFailurePolicy runs each of Operations on a BusyChannel whose bob keeps
// his state in a store from open, once with each store call in turn failing
// with injected, and checks the documented policy: the operation returns
// engine.ErrStore and delivers no events; bob's memory, and bob restarted on
// the store from reopen, hold the state before the operation; the operation
// then succeeds when retried. Every store call must fail at least one
// operation.
func CheckFailurePolicy(t *testing.T, injected error,
	open func(t *testing.T) (s store.Store, reopen func() store.Store)) {
	storeOps := append([]string{"begin", "commit"}, storetest.WriteOps...)
	if s, _ := open(t); isDueIndex(s) {
		storeOps = append(storeOps, "saveChannelDue")
	}
	covered := map[string]bool{}
	for name, operation := range Operations {
		for _, op := range storeOps {
			t.Run(name+"/"+op, func(t *testing.T) {
				s, reopen := open(t)
				var w interface {
					store.Store
					FailOn(func(storetest.Call) error)
				} = storetest.Wrap(s)
				if isDueIndex(s) {
					w = storetest.WrapDue(s)
				}
				hints := WithHints(func(id string) []byte { return []byte("hint-" + id) })
				hist := WithConfig(func(c *engine.Config) { c.MaxMessageHistory = 8 })
				alice, bob := BusyChannel(t, w, hist, hints)
				before := bob.MustState("c")
				bob.Events.Take()
				w.FailOn(storetest.FailFirst(op, injected))
				err := operation(t, alice, bob)
				w.FailOn(nil)
				if !errors.Is(err, engine.ErrStore) {
					require.NoError(t, err)
					return // this operation does not call op
				}
				covered[op] = true
				require.ErrorContains(t, err, injected.Error())
				require.Empty(t, bob.Events.Take(), "events of a failed operation are not delivered")
				RequireReloaded(t, before, bob.MustState("c"))
				fresh := bob.Restart(reopen)
				RequireReloaded(t, before, fresh.MustState("c"))
				fresh.Clock.Set(alice.Clock.Now())
				require.NoError(t, operation(t, alice, fresh), "the operation can be retried")
			})
		}
	}
	for _, op := range storeOps {
		require.True(t, covered[op], "no case fails %s", op)
	}
}

// WithGeneration sets the wire generation the manager writes.
func WithGeneration(g wire.Generation) Option {
	return WithConfig(func(c *engine.Config) { c.WireGeneration = g })
}

// CheckRestartWritesV04 checks bob, restarted with WithGeneration(wire.V04)
// from the store a 0.3-writing BusyChannel bob filled (state before): the
// state is intact; his next message is 0.4 whose field-8 entries carry each
// cited message's stored sender (alice's messages and his own); and the
// pending repair response is rebroadcast in 0.4.
func CheckRestartWritesV04(t *testing.T, before engine.ChannelState, bob *Peer) {
	t.Helper()
	RequireReloaded(t, before, bob.MustState("c"))
	out := bob.MustWrap("b-v04", "c")
	m, err := wire.UnmarshalV04(out)
	require.NoError(t, err, "written in 0.4")
	require.Equal(t, m.MarshalAs(wire.V04), out)
	_, err = wire.UnmarshalV03(out)
	require.Error(t, err, "not 0.3")
	log := before.Log
	require.Equal(t, log[len(log)-len(m.CausalHistory):], IDsOf(m.CausalHistory))
	for _, e := range m.CausalHistory {
		want := "alice"
		switch {
		case strings.HasPrefix(e.MessageID, "b"):
			want = "bob"
		case strings.HasPrefix(e.MessageID, "req-for-"):
			want = "dave"
		}
		require.Equal(t, want, e.SenderID, "stored sender of %s", e.MessageID)
	}
	bob.Clock.Set(before.IncomingRepairs[0].Due)
	require.NoError(t, bob.SweepRepairs())
	var repairs int
	for _, e := range bob.Events.Take() {
		if e.Kind == engine.RepairReady {
			repairs++
			r, err := wire.UnmarshalV04(e.Message)
			require.NoError(t, err)
			require.Equal(t, "early4", r.MessageID)
			require.Equal(t, r.MarshalAs(wire.V04), e.Message, "rebroadcast in 0.4")
			require.Equal(t, []string{"alice", "alice", "alice", "alice"}, sendersOf(r.CausalHistory))
		}
	}
	require.Equal(t, 1, repairs)
}

func sendersOf(entries []wire.HistoryEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.SenderID
	}
	return out
}

func isDueIndex(s store.Store) bool {
	_, ok := s.(store.DueIndex)
	return ok
}

// RequireRestartReproduces builds a second manager on p's store, as a restart
// would (same options, events discarded), and requires it to hold exactly what
// p holds: the same channels, each with the same state but for the filter
// (see RequireReloaded). p is left as it was. The store must serve a second
// reader while p is open (the memory store does).
func RequireRestartReproduces(t testing.TB, p *Peer) {
	t.Helper()
	o := p.Options
	o.Events = nil
	fresh, err := engine.New(o)
	require.NoError(t, err)
	defer fresh.Close()
	require.Equal(t, p.Channels(), fresh.Channels(), "channels after a restart")
	for _, ch := range p.Channels() {
		want, ok, err := p.ChannelState(ch)
		require.NoError(t, err)
		require.True(t, ok, ch)
		got, ok, err := fresh.ChannelState(ch)
		require.NoError(t, err)
		require.True(t, ok, ch)
		require.Equal(t, WithoutBloom(want), WithoutBloom(got), "channel %q after a restart", ch)
	}
}
