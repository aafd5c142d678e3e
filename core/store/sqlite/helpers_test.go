//go:build cgo

package sqlite_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/clock"
	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/sqlite"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// dbPath is a fresh database path in the test's temporary directory.
func dbPath(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "sds.db")
}

// openStore opens path/namespace and closes it at the end of the test.
func openStore(t testing.TB, path, ns string, opts ...func(*sqlite.Options)) *sqlite.Store {
	t.Helper()
	o := sqlite.Options{Namespace: ns}
	for _, f := range opts {
		f(&o)
	}
	s, err := sqlite.Open(path, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func full(o *sqlite.Options) { o.Durability = sqlite.DurabilityFull }

// rawDB opens the file with a plain database/sql connection, beside any Store.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func integrityCheck(t testing.TB, path string) {
	t.Helper()
	db := rawDB(t, path)
	var res string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&res))
	require.Equal(t, "ok", res)
	require.NoError(t, db.Close())
}

// Engine helpers, after package engine_test's.

// epoch is the fake clock's start; lamport values derive from it in seconds.
var epoch = time.Unix(1_800_000_000, 0)

var tMax = engine.DefaultConfig().RepairTMax

// recorder is an EventSink that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []engine.Event
}

func (r *recorder) Deliver(evs []engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, evs...)
}

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
	t    testing.TB
	clk  *clock.Fake
	ev   *recorder
	opts engine.Options
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
	p.opts = o
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

// restart closes the manager and its SQLite store, reopens the store from the
// file and builds a new manager on it with the same options and clock, as a
// process restart would.
func restart(t testing.TB, p *peer, s *sqlite.Store, path string, opts ...peerOption) (*peer, *sqlite.Store) {
	t.Helper()
	require.NoError(t, p.Close())
	ns := p.ParticipantID()
	require.NoError(t, s.Close())
	s2 := openStore(t, path, ns)
	o := p.opts
	base := []peerOption{func(eo *engine.Options) { ev := eo.Events; *eo = o; eo.Events = ev }, withStore(s2)}
	return newPeer(t, append(base, opts...)...), s2
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

func historyEntry(id, sender string) wire.HistoryEntry {
	return wire.HistoryEntry{MessageID: id, SenderID: sender}
}

// busyChannel gives bob on channel "c" something in every buffer: log (with
// evictions), outgoing, incoming with missing ids, both repair buffers. bob's
// store is s; the others keep nothing.
func busyChannel(t *testing.T, s store.Store, opts ...peerOption) (alice, bob *peer) {
	clk := clock.NewFake(epoch)
	alice = newPeer(t, withID("alice"), withClock(clk))
	bob = newPeer(t, append([]peerOption{withID("bob"), withStore(s), withClock(clk)}, opts...)...)
	carol := newPeer(t, withID("carol"), withClock(clk))
	for _, id := range nids("early", 5) {
		bob.unwrap(alice.wrap(id, "c"))
	}
	bob.wrap("b1", "c")
	clk.Advance(1500 * time.Millisecond)
	bob.wrap("b2", "c")
	alice.wrap("gap1", "c")
	alice.wrap("gap2", "c")
	bob.unwrap(alice.wrap("after-gap", "c")) // waits for gap1, gap2; schedules repairs
	carol.unwrap(alice.wrap("e-ask", "c"))
	clk.Advance(tMax)
	carol.wrap("carol-ask", "c")
	// dave asks for early4, which bob holds: bob schedules a response
	dave := newPeer(t, withID("dave"), withClock(clk))
	w := decode(t, dave.wrap("req-for-early4", "c"))
	w.RepairRequest = append(w.RepairRequest, historyEntry("early4", "alice"))
	bob.unwrap(w.Marshal())
	st := bob.state("c")
	require.NotEmpty(t, st.Log)
	require.NotEmpty(t, st.Outgoing)
	require.NotEmpty(t, st.Incoming)
	require.NotEmpty(t, st.OutgoingRepairs)
	require.NotEmpty(t, st.IncomingRepairs)
	return alice, bob
}

func withoutBloom(s engine.ChannelState) engine.ChannelState {
	s.BloomIDs = nil
	return s
}

func summary(evs []engine.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		s := e.Kind.String()
		if e.MessageID != "" {
			s += ":" + e.MessageID
		}
		if e.ChannelID != "" {
			s += "@" + e.ChannelID
		}
		out = append(out, s)
	}
	return out
}

func sortedCopy(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}
