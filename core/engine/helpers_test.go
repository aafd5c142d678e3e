package engine_test

import (
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
	"github.com/logos-messaging/libsds-go/core/wire"
)

// epoch is the fake clock's start; lamport values derive from it in seconds.
var epoch = time.Unix(1_800_000_000, 0)

// recorder is an EventSink that keeps every event, synchronously.
type recorder struct {
	mu     sync.Mutex
	events []engine.Event
}

func (r *recorder) Deliver(evs []engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, evs...)
}

// take returns the events so far and forgets them.
func (r *recorder) take() []engine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// peer is one participant: a manager, its fake clock and its events.
type peer struct {
	*engine.Manager
	t   testing.TB
	clk *clock.Fake
	ev  *recorder
}

type peerOption func(*engine.Options)

func withID(id string) peerOption { return func(o *engine.Options) { o.ParticipantID = id } }
func withStore(s store.Store) peerOption {
	return func(o *engine.Options) { o.Store = s }
}
func withConfig(f func(*engine.Config)) peerOption {
	return func(o *engine.Options) {
		c := engine.DefaultConfig()
		if o.Config != nil {
			c = *o.Config
		}
		f(&c)
		o.Config = &c
	}
}
func withHints(p engine.HintProvider) peerOption {
	return func(o *engine.Options) { o.HintProvider = p }
}
func withClock(c *clock.Fake) peerOption { return func(o *engine.Options) { o.Clock = c } }

func newPeer(t testing.TB, opts ...peerOption) *peer {
	t.Helper()
	p := &peer{t: t, ev: &recorder{}}
	o := engine.Options{Events: p.ev}
	for _, f := range opts {
		f(&o)
	}
	if o.Clock == nil {
		o.Clock = clock.NewFake(epoch)
	}
	p.clk = o.Clock.(*clock.Fake)
	m, err := engine.New(o)
	require.NoError(t, err)
	p.Manager = m
	return p
}

func (p *peer) wrap(id, ch string) []byte {
	p.t.Helper()
	out, err := p.Wrap([]byte("body of "+id), id, ch)
	require.NoError(p.t, err)
	return out
}

func (p *peer) unwrap(b []byte) *engine.Unwrapped {
	p.t.Helper()
	res, err := p.Unwrap(b)
	require.NoError(p.t, err)
	return res
}

func (p *peer) state(ch string) engine.ChannelState {
	p.t.Helper()
	s, ok, err := p.ChannelState(ch)
	require.NoError(p.t, err)
	require.True(p.t, ok, "channel %q", ch)
	return s
}

// summary renders events as "kind:id@channel" strings for compact assertions.
func summary(evs []engine.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		s := e.Kind.String()
		if e.MessageID != "" {
			s += ":" + e.MessageID
		}
		if e.Kind == engine.MissingDependencies {
			ids := make([]string, len(e.MissingDeps))
			for i, d := range e.MissingDeps {
				ids[i] = d.MessageID
			}
			s += "[" + strings.Join(ids, ",") + "]"
		}
		if e.ChannelID != "" {
			s += "@" + e.ChannelID
		}
		out = append(out, s)
	}
	return out
}

func ids(entries []wire.HistoryEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.MessageID
	}
	return out
}

func decode(t testing.TB, b []byte) *wire.Message {
	t.Helper()
	m, err := wire.Unmarshal(b)
	require.NoError(t, err)
	return m
}

func nids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func newFakeClock() *clock.Fake { return clock.NewFake(epoch) }

func sortedLog(log []string) []string {
	out := append([]string(nil), log...)
	sort.Strings(out)
	return out
}

func historyEntry(id, sender string) wire.HistoryEntry {
	return wire.HistoryEntry{MessageID: id, SenderID: sender}
}
