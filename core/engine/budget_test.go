package engine_test

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// TestConfigRanges checks both ends of every field's range: the error names
// the field, and the value just inside the range is accepted.
func TestConfigRanges(t *testing.T) {
	type bound struct {
		field string
		bad   func(*engine.Config)
		good  func(*engine.Config)
	}
	day := 24 * time.Hour
	for _, b := range []bound{
		{"BloomCapacity", func(c *engine.Config) { c.BloomCapacity = 0 }, func(c *engine.Config) { c.BloomCapacity = 1 }},
		{"BloomCapacity", func(c *engine.Config) { c.BloomCapacity = math.MaxUint32 }, nil},
		{"BloomCapacity", func(c *engine.Config) { c.BloomCapacity = 100_000_000 }, nil},
		{"BloomCapacity", func(c *engine.Config) { c.BloomCapacity = 500_000 }, func(c *engine.Config) { c.BloomCapacity = 400_000 }},
		{"BloomErrorRate", func(c *engine.Config) { c.BloomErrorRate = 1 }, func(c *engine.Config) { c.BloomErrorRate = 0.5 }},
		{"BloomErrorRate", func(c *engine.Config) { c.BloomErrorRate = 1e-13 }, func(c *engine.Config) { c.BloomErrorRate = 1e-12 }},
		{"BloomErrorRate", func(c *engine.Config) { c.BloomErrorRate = math.NaN() }, nil},
		{"MaxMessageHistory", func(c *engine.Config) { c.MaxMessageHistory = 0 }, func(c *engine.Config) { c.MaxMessageHistory = 1 }},
		{"MaxMessageHistory", func(c *engine.Config) { c.MaxMessageHistory = 1_000_001 }, func(c *engine.Config) { c.MaxMessageHistory = 1_000_000 }},
		{"MaxCausalHistory", func(c *engine.Config) { c.MaxCausalHistory = -1 }, func(c *engine.Config) { c.MaxCausalHistory = 0 }},
		{"MaxCausalHistory", func(c *engine.Config) { c.MaxCausalHistory = 1001 }, func(c *engine.Config) { c.MaxCausalHistory = 1000 }},
		{"ResendInterval", func(c *engine.Config) { c.ResendInterval = -1 }, func(c *engine.Config) { c.ResendInterval = 0 }},
		{"ResendInterval", func(c *engine.Config) { c.ResendInterval = 366 * day }, func(c *engine.Config) { c.ResendInterval = 365 * day }},
		{"MaxResendAttempts", func(c *engine.Config) { c.MaxResendAttempts = -1 }, func(c *engine.Config) { c.MaxResendAttempts = 0 }},
		{"MaxResendAttempts", func(c *engine.Config) { c.MaxResendAttempts = 1_000_001 }, nil},
		{"SyncInterval", func(c *engine.Config) { c.SyncInterval = 0 }, func(c *engine.Config) { c.SyncInterval = 1 }},
		{"SyncInterval", func(c *engine.Config) { c.SyncInterval = math.MaxInt64 }, nil},
		{"BufferSweepInterval", func(c *engine.Config) { c.BufferSweepInterval = 0 }, nil},
		{"BufferSweepInterval", func(c *engine.Config) { c.BufferSweepInterval = 366 * day }, nil},
		{"RepairSweepInterval", func(c *engine.Config) { c.RepairSweepInterval = 0 }, nil},
		{"RepairSweepInterval", func(c *engine.Config) { c.RepairSweepInterval = 366 * day }, nil},
		{"RepairTMin", func(c *engine.Config) { c.RepairTMin = -1 }, func(c *engine.Config) { c.RepairTMin = 0 }},
		{"RepairTMin", func(c *engine.Config) { c.RepairTMin, c.RepairTMax = 366*day, 366*day }, nil},
		{"RepairTMax", func(c *engine.Config) { c.RepairTMax = c.RepairTMin - 1 }, func(c *engine.Config) { c.RepairTMax = c.RepairTMin }},
		{"RepairTMax", func(c *engine.Config) { c.RepairTMax = 366 * day }, nil},
		{"NumResponseGroups", func(c *engine.Config) { c.NumResponseGroups = 0 }, func(c *engine.Config) { c.NumResponseGroups = 1_000_000 }},
		{"NumResponseGroups", func(c *engine.Config) { c.NumResponseGroups = 1_000_001 }, nil},
		{"MaxRepairRequests", func(c *engine.Config) { c.MaxRepairRequests = -1 }, func(c *engine.Config) { c.MaxRepairRequests = 0 }},
		{"MaxRepairRequests", func(c *engine.Config) { c.MaxRepairRequests = 101 }, func(c *engine.Config) { c.MaxRepairRequests = 100 }},
		{"MaxChannels", func(c *engine.Config) { c.MaxChannels = 0 }, func(c *engine.Config) { c.MaxChannels = 1 }},
		{"MaxChannels", func(c *engine.Config) { c.MaxChannels = 1_000_001 }, func(c *engine.Config) { c.MaxChannels = 1_000_000 }},
		{"MaxIncomingBuffer", func(c *engine.Config) { c.MaxIncomingBuffer = 0 }, nil},
		{"MaxIncomingBuffer", func(c *engine.Config) { c.MaxIncomingBuffer = 1_000_001 }, nil},
		{"MaxOutgoingBuffer", func(c *engine.Config) { c.MaxOutgoingBuffer = 0 }, nil},
		{"MaxOutgoingBuffer", func(c *engine.Config) { c.MaxOutgoingBuffer = 1_000_001 }, nil},
		{"MaxIDLength", func(c *engine.Config) { c.MaxIDLength = 0 }, func(c *engine.Config) { c.MaxIDLength = 1 }},
		{"MaxIDLength", func(c *engine.Config) { c.MaxIDLength = 65537 }, nil},
		{"MaxChannelIDLength", func(c *engine.Config) { c.MaxChannelIDLength = 0 }, func(c *engine.Config) { c.MaxChannelIDLength = 1 }},
		{"MaxChannelIDLength", func(c *engine.Config) { c.MaxChannelIDLength = 65537 }, func(c *engine.Config) { c.MaxChannelIDLength = 65536 }},
		{"MaxHintLength", func(c *engine.Config) { c.MaxHintLength = -1 }, func(c *engine.Config) { c.MaxHintLength = 0 }},
		{"MaxHintLength", func(c *engine.Config) { c.MaxHintLength = 65537 }, nil},
		{"MaxCausalEntries", func(c *engine.Config) { c.MaxCausalEntries = 0; c.MaxCausalHistory = 0 }, func(c *engine.Config) { c.MaxCausalEntries = 10 }},
		{"MaxCausalEntries", func(c *engine.Config) { c.MaxCausalEntries = 100_001 }, func(c *engine.Config) { c.MaxCausalEntries = 100_000 }},
		{"MaxRepairEntries", func(c *engine.Config) { c.MaxRepairEntries = -1 }, func(c *engine.Config) { c.MaxRepairEntries, c.MaxRepairRequests = 0, 0 }},
		{"MaxRepairEntries", func(c *engine.Config) { c.MaxRepairEntries = 100_001 }, nil},
		{"MaxCausalHistoryBytes", func(c *engine.Config) { c.MaxCausalHistoryBytes = -1 }, func(c *engine.Config) { c.MaxCausalHistoryBytes = 0 }},
		{"MaxCausalHistoryBytes", func(c *engine.Config) { c.MaxCausalHistoryBytes = 4<<20 + 1 }, func(c *engine.Config) { c.MaxCausalHistoryBytes = 4 << 20 }},
		{"MaxIncomingBytes", func(c *engine.Config) { c.MaxIncomingBytes = 0 }, func(c *engine.Config) { c.MaxIncomingBytes = 1 }},
		{"MaxIncomingBytes", func(c *engine.Config) { c.MaxIncomingBytes = 1<<40 + 1 }, nil},
		{"MaxHistoryBytes", func(c *engine.Config) { c.MaxHistoryBytes = 0 }, nil},
		{"MaxHistoryBytes", func(c *engine.Config) { c.MaxHistoryBytes = 1<<40 + 1 }, func(c *engine.Config) { c.MaxHistoryBytes = 1 << 40 }},
		{"MaxPendingRepairs", func(c *engine.Config) { c.MaxPendingRepairs = 0 }, nil},
		{"MaxPendingRepairs", func(c *engine.Config) { c.MaxPendingRepairs = 1_000_001 }, nil},
		{"MaxRepairBytes", func(c *engine.Config) { c.MaxRepairBytes = 0 }, nil},
		{"MaxRepairBytes", func(c *engine.Config) { c.MaxRepairBytes = 1<<40 + 1 }, nil},
		// Every field within range, yet the largest message Wrap could make is
		// more than peers accept.
		{"the largest message Wrap could produce", func(c *engine.Config) {
			c.MaxRepairEntries, c.MaxRepairRequests, c.MaxIDLength, c.MaxHintLength = 10_000, 10_000, 60_000, 60_000
		}, nil},
	} {
		c := engine.DefaultConfig()
		b.bad(&c)
		err := c.Validate()
		require.ErrorIs(t, err, engine.ErrInvalidConfig, b.field)
		require.Contains(t, err.Error(), b.field)
		if b.good != nil {
			c := engine.DefaultConfig()
			b.good(&c)
			require.NoError(t, c.Validate(), b.field)
		}
	}
	require.NoError(t, engine.DefaultConfig().Validate())
}

// hostile builds a message on channel "c" with the given history.
func hostile(id string, history, requests []wire.HistoryEntry) []byte {
	m := wire.Message{MessageID: id, Lamport: 1, ChannelID: "c", Content: []byte("x"),
		CausalHistory: history, RepairRequest: requests}
	return m.Marshal()
}

func TestUnwrapRejectsOverBudgetWhole(t *testing.T) {
	long := strings.Repeat("i", 1025)
	manyEmpty := make([]wire.HistoryEntry, 1001)
	for name, data := range map[string][]byte{
		"message id":      hostile(long, nil, nil),
		"channel id":      (&wire.Message{MessageID: "m", ChannelID: long, Content: []byte{1}}).Marshal(),
		"sender id":       (&wire.Message{MessageID: "m", ChannelID: "c", Content: []byte{1}, SenderID: long}).Marshal(),
		"entry id":        hostile("m", []wire.HistoryEntry{{MessageID: long}}, nil),
		"entry sender":    hostile("m", []wire.HistoryEntry{{MessageID: "d", SenderID: long}}, nil),
		"hint":            hostile("m", []wire.HistoryEntry{{MessageID: "d", RetrievalHint: bytes.Repeat([]byte{1}, 4097)}}, nil),
		"causal entries":  hostile("m", manyEmpty, nil),
		"repair entries":  hostile("m", nil, make([]wire.HistoryEntry, 101)),
		"repair entry id": hostile("m", nil, []wire.HistoryEntry{{MessageID: long}}),
	} {
		p := et.NewPeer(t, et.WithID("me"))
		_, err := p.Unwrap(data)
		require.ErrorIs(t, err, engine.ErrMessageTooLarge, name)
		require.Contains(t, err.Error(), "budget", name)
		require.Empty(t, p.Channels(), "%s: a rejected message changes nothing", name)
		require.Empty(t, p.Events.Take(), name)
	}
}

// TestUnwrapNamesFirstExcess checks that the error names the first id, sender
// id or hint over budget in message order, whatever else exceeds after it.
func TestUnwrapNamesFirstExcess(t *testing.T) {
	long, hint := strings.Repeat("i", 1025), bytes.Repeat([]byte{1}, 4097)
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{hostile("m", []wire.HistoryEntry{{MessageID: "d", SenderID: long}, {MessageID: long + "x"}}, nil),
			"entry sender id is 1025"},
		{hostile("m", []wire.HistoryEntry{{MessageID: "d"}, {MessageID: long + "x", RetrievalHint: hint}}, nil),
			"entry message id is 1026"},
		{hostile("m", []wire.HistoryEntry{{MessageID: "d", RetrievalHint: hint}}, []wire.HistoryEntry{{MessageID: long}}),
			"retrieval hint is 4097"},
		{hostile("m", []wire.HistoryEntry{{MessageID: "d"}}, []wire.HistoryEntry{{MessageID: long}, {MessageID: "e", SenderID: long + "x"}}),
			"entry message id is 1025"},
	} {
		_, err := et.NewPeer(t).Unwrap(tc.data)
		require.ErrorIs(t, err, engine.ErrMessageTooLarge, tc.want)
		require.Contains(t, err.Error(), tc.want)
	}
}

func TestUnwrapAtBudgetAccepted(t *testing.T) {
	p := et.NewPeer(t)
	at := strings.Repeat("i", 1024)
	res := p.MustUnwrap(hostile(at, []wire.HistoryEntry{{MessageID: at[1:], RetrievalHint: bytes.Repeat([]byte{1}, 4096)}}, nil))
	require.Len(t, res.MissingDeps, 1)
}

func TestRepeatedCitationsCountOnce(t *testing.T) {
	p := et.NewPeer(t, et.WithID("me"))
	cites := make([]wire.HistoryEntry, 1000)
	for i := range cites {
		cites[i] = wire.HistoryEntry{MessageID: fmt.Sprintf("d%d", i%3)}
	}
	res := p.MustUnwrap(hostile("m", cites, nil))
	require.Equal(t, []string{"d0", "d1", "d2"}, et.IDsOf(res.MissingDeps))
	require.Equal(t, []string{"missing_dependencies:m[d0,d1,d2]@c"}, et.Summary(p.Events.Take()))
}

func TestIncomingBytesEvictOldestWithEvent(t *testing.T) {
	p := et.NewPeer(t, et.WithConfig(func(c *engine.Config) { c.MaxIncomingBytes = 3000 }))
	big := func(id string) []byte {
		m := wire.Message{MessageID: id, Lamport: 1, ChannelID: "c", Content: bytes.Repeat([]byte{1}, 1000),
			CausalHistory: []wire.HistoryEntry{{MessageID: "never"}}}
		return m.Marshal()
	}
	for i := 0; i < 4; i++ {
		p.MustUnwrap(big(fmt.Sprintf("w%d", i)))
	}
	var dropped []string
	for _, e := range p.Events.Take() {
		if e.Kind == engine.IncomingDropped {
			dropped = append(dropped, e.MessageID)
		}
	}
	require.Equal(t, []string{"w0", "w1"}, dropped, "oldest first, each reported")
	st := p.MustState("c")
	require.Len(t, st.Incoming, 2)
	// An over-budget message alone is dropped at once, and reported.
	huge := wire.Message{MessageID: "huge", Lamport: 1, ChannelID: "c", Content: bytes.Repeat([]byte{1}, 5000),
		CausalHistory: []wire.HistoryEntry{{MessageID: "never"}}}
	p.MustUnwrap(huge.Marshal())
	require.Contains(t, et.Summary(p.Events.Take()), "incoming_dropped:huge@c")
}

func TestHistoryBytesKeepIDsDropBodies(t *testing.T) {
	p := et.NewPeer(t, et.WithID("me"), et.WithConfig(func(c *engine.Config) { c.MaxHistoryBytes = 5000 }))
	for i := 0; i < 10; i++ {
		m := wire.Message{MessageID: fmt.Sprintf("h%d", i), Lamport: 1, ChannelID: "c", SenderID: "peer",
			Content: bytes.Repeat([]byte{1}, 1000)}
		p.MustUnwrap(m.Marshal())
	}
	require.Len(t, p.MustState("c").Log, 10, "ids stay in the log")
	// A message citing the oldest (body let go) is delivered at once.
	res := p.MustUnwrap(hostile("next", []wire.HistoryEntry{{MessageID: "h0"}}, nil))
	require.Empty(t, res.MissingDeps)
	p.Events.Take()
	// A repair request for h0 cannot be answered (no body); for h9 it can.
	p.MustUnwrap(hostile("ask", nil, []wire.HistoryEntry{{MessageID: "h0", SenderID: "peer"}, {MessageID: "h9", SenderID: "peer"}}))
	st := p.MustState("c")
	require.Len(t, st.IncomingRepairs, 1)
	require.Equal(t, "h9", st.IncomingRepairs[0].Entry.MessageID)
}

func TestPendingRepairsBounded(t *testing.T) {
	p := et.NewPeer(t, et.WithID("me"), et.WithConfig(func(c *engine.Config) { c.MaxPendingRepairs = 5 }))
	for i := 0; i < 4; i++ {
		var deps []wire.HistoryEntry
		for j := 0; j < 3; j++ {
			deps = append(deps, wire.HistoryEntry{MessageID: fmt.Sprintf("d%d-%d", i, j)})
		}
		p.MustUnwrap(hostile(fmt.Sprintf("w%d", i), deps, nil))
	}
	st := p.MustState("c")
	require.Len(t, st.OutgoingRepairs, 5)
	n := 0
	for _, e := range p.Events.Take() {
		if e.Kind == engine.RepairDropped {
			n++
		}
	}
	require.Equal(t, 12-5, n, "every dropped request is reported")
}

func TestRepairResponseBytesBounded(t *testing.T) {
	p := et.NewPeer(t, et.WithID("me"), et.WithConfig(func(c *engine.Config) { c.MaxRepairBytes = 2500 }))
	var reqs []wire.HistoryEntry
	for i := 0; i < 5; i++ {
		id := fmt.Sprintf("h%d", i)
		m := wire.Message{MessageID: id, Lamport: 1, ChannelID: "c", SenderID: "peer", Content: bytes.Repeat([]byte{1}, 1000)}
		p.MustUnwrap(m.Marshal())
		reqs = append(reqs, wire.HistoryEntry{MessageID: id, SenderID: "peer"})
	}
	p.Events.Take()
	p.MustUnwrap(hostile("ask", nil, reqs))
	require.Len(t, p.MustState("c").IncomingRepairs, 2)
	require.Len(t, p.Events.Take(), 1+3, "message_ready and three repair_dropped")
}

func TestWrapRefusesWhatPeersReject(t *testing.T) {
	p := et.NewPeer(t)
	long := strings.Repeat("i", 1025)
	_, err := p.Wrap([]byte("x"), long, "c")
	require.ErrorIs(t, err, engine.ErrMessageTooLarge)
	_, err = p.Wrap([]byte("x"), "m", long)
	require.ErrorIs(t, err, engine.ErrMessageTooLarge)
	require.Empty(t, p.Channels())
	p.MustWrap("m", "c")
	require.ErrorIs(t, p.MarkDependenciesMet([]string{long}, "c"), engine.ErrMessageTooLarge)
	require.False(t, p.BloomContains("c", long))
}

func TestOutgoingCausalHistoryBoundedInBytes(t *testing.T) {
	hint := bytes.Repeat([]byte{'h'}, 1024)
	p := et.NewPeer(t, et.WithHints(func(string) []byte { return hint }),
		et.WithConfig(func(c *engine.Config) { c.MaxCausalHistoryBytes = 5000 }))
	id := func(i int) string { return fmt.Sprintf("%04d%s", i, strings.Repeat("x", 1000)) }
	for i := 0; i < 10; i++ {
		p.MustUnwrap(hostile(id(i), nil, nil))
	}
	msg := et.Decode(t, p.MustWrap("mine", "c"))
	size := 0
	for i := range msg.CausalHistory {
		size += msg.CausalHistory[i].Size() + 3
	}
	require.LessOrEqual(t, size, 5000)
	require.NotEmpty(t, msg.CausalHistory)
	require.Equal(t, id(9), msg.CausalHistory[len(msg.CausalHistory)-1].MessageID, "the newest are cited, oldest first")
	// A hint over MaxHintLength is left out, the entry kept.
	hint = bytes.Repeat([]byte{'h'}, 4097)
	msg = et.Decode(t, p.MustWrap("mine2", "c"))
	require.NotEmpty(t, msg.CausalHistory)
	for _, e := range msg.CausalHistory {
		require.Empty(t, e.RetrievalHint)
	}
}

// Wrapping an id that is still unacknowledged replaces the older message
// (TestDuplicateOutgoingIDReplacesTheOlder), so many messages sharing an id
// leave one outgoing entry, and a message citing it many times acknowledges it
// once: no work per duplicate.
func TestDuplicateIDsLeaveOneOutgoingEntry(t *testing.T) {
	p := et.NewPeer(t, et.WithConfig(func(c *engine.Config) { c.MaxCausalHistory = 0 }))
	const n = 4000
	for i := 0; i < n; i++ {
		_, err := p.Wrap([]byte("x"), "dup", "c")
		require.NoError(t, err)
	}
	p.Events.Take()
	require.Len(t, p.MustState("c").Outgoing, 1)
	cites := make([]wire.HistoryEntry, 1000)
	for i := range cites {
		cites[i] = wire.HistoryEntry{MessageID: "dup"}
	}
	p.MustUnwrap(hostile("ack", cites, nil))
	acks := 0
	for _, e := range p.Events.Take() {
		if e.Kind == engine.MessageAcknowledged {
			acks++
		}
	}
	require.Equal(t, 1, acks, "the one entry is acknowledged once")
	require.Empty(t, p.MustState("c").Outgoing)
}

func TestFloodDoesNotStrandHonestPeer(t *testing.T) {
	cfg := et.WithConfig(func(c *engine.Config) { c.MaxMessageHistory = 50 })
	victim, honest := et.NewPeer(t, cfg), et.NewPeer(t, cfg, et.WithID("honest"))
	for i := 0; i < 10; i++ {
		victim.MustUnwrap(honest.MustWrap(fmt.Sprintf("h%d", i), "c"))
	}
	// A flood the honest peer never sees pushes its messages out of our log.
	for i := 0; i < 400; i++ {
		victim.MustUnwrap(hostile(fmt.Sprintf("flood-%d", i), nil, nil))
	}
	require.NotContains(t, victim.MustState("c").Log, "h9")
	victim.Events.Take()
	res := victim.MustUnwrap(honest.MustWrap("next", "c"))
	require.Empty(t, res.MissingDeps, "what we delivered and let go of is not missing")
	require.Equal(t, []string{"message_ready:next@c"}, et.Summary(victim.Events.Take()))
	// Beyond twenty times the history (ten at least, twenty at most) the
	// memory of it is gone too.
	for i := 0; i < 1000; i++ {
		victim.MustUnwrap(hostile(fmt.Sprintf("more-%d", i), nil, nil))
	}
	res = victim.MustUnwrap(honest.MustWrap("later", "c"))
	require.Contains(t, et.IDsOf(res.MissingDeps), "h9")
}

// An id the log let go is remembered for at least ten times the history's
// evictions after its own, whatever the phase of the memory's generations,
// and forgotten after twenty.
func TestEvictedIDsRememberedForTheSpan(t *testing.T) {
	cfg := et.WithConfig(func(c *engine.Config) { c.MaxMessageHistory = 1 }) // a span of 10
	for phase := range 25 {
		victim, honest := et.NewPeer(t, cfg), et.NewPeer(t, et.WithID("honest")) // cites h throughout
		flood := 0
		floods := func(n int) {
			for range n {
				victim.MustUnwrap(hostile(fmt.Sprintf("flood-%d", flood), nil, nil))
				flood++
			}
		}
		floods(phase)
		victim.MustUnwrap(honest.MustWrap("h", "c"))
		floods(1 + 10) // the first evicts h
		res := victim.MustUnwrap(honest.MustWrap("next", "c"))
		require.Empty(t, res.MissingDeps, "phase %d", phase)
		floods(20)
		res = victim.MustUnwrap(honest.MustWrap("later", "c"))
		require.Contains(t, et.IDsOf(res.MissingDeps), "h", "phase %d", phase)
	}
}

func TestRepeatedCitationsSmallHistory(t *testing.T) {
	p := et.NewPeer(t)
	cites := []wire.HistoryEntry{{MessageID: "a"}, {MessageID: "b"}, {MessageID: "a"}, {MessageID: "c"}, {MessageID: "b"}}
	res := p.MustUnwrap(hostile("m", cites, nil))
	require.Equal(t, []string{"a", "b", "c"}, et.IDsOf(res.MissingDeps))
}

// Hints are sent, in citation order, while the entries with them fit
// MaxCausalHistoryBytes exactly: one byte less and the last hint stays home.
func TestCausalHistoryHintsFitTheByteBudgetExactly(t *testing.T) {
	hint := []byte("0123456789")
	encoded := func(e wire.HistoryEntry) int { // what one entry adds to a message
		return len((&wire.Message{CausalHistory: []wire.HistoryEntry{e}}).Marshal()) - len((&wire.Message{}).Marshal())
	}
	full := encoded(wire.HistoryEntry{MessageID: "a", RetrievalHint: hint, SenderID: "p"}) +
		encoded(wire.HistoryEntry{MessageID: "b", RetrievalHint: hint, SenderID: "p"})
	for _, budget := range []int{full, full - 1} {
		p := et.NewPeer(t, et.WithID("p"), et.WithHints(func(string) []byte { return hint }),
			et.WithConfig(func(c *engine.Config) { c.MaxCausalHistoryBytes = budget }))
		p.MustWrap("a", "c")
		p.MustWrap("b", "c")
		msg := et.Decode(t, p.MustWrap("c", "c"))
		require.Len(t, msg.CausalHistory, 2, "budget %d", budget)
		require.Equal(t, hint, msg.CausalHistory[0].RetrievalHint, "budget %d", budget)
		if budget == full {
			require.Equal(t, hint, msg.CausalHistory[1].RetrievalHint)
		} else {
			require.Empty(t, msg.CausalHistory[1].RetrievalHint)
		}
	}
}

// A hint that does not fit the byte budget is left out without being counted:
// a shorter one later in the history still fits.
func TestCausalHistoryHintLeftOutCostsNothing(t *testing.T) {
	hints := map[string][]byte{"a": []byte("0123456789"), "b": bytes.Repeat([]byte{'b'}, 100), "c": []byte("c")}
	encoded := func(e wire.HistoryEntry) int { // what one entry adds to a message
		return len((&wire.Message{CausalHistory: []wire.HistoryEntry{e}}).Marshal()) - len((&wire.Message{}).Marshal())
	}
	budget := encoded(wire.HistoryEntry{MessageID: "a", RetrievalHint: hints["a"], SenderID: "p"}) +
		encoded(wire.HistoryEntry{MessageID: "b", SenderID: "p"}) +
		encoded(wire.HistoryEntry{MessageID: "c", RetrievalHint: hints["c"], SenderID: "p"})
	p := et.NewPeer(t, et.WithID("p"), et.WithHints(func(id string) []byte { return hints[id] }),
		et.WithConfig(func(c *engine.Config) { c.MaxCausalHistoryBytes = budget }))
	for _, id := range []string{"a", "b", "c"} {
		p.MustWrap(id, "c")
	}
	msg := et.Decode(t, p.MustWrap("d", "c"))
	require.Equal(t, []string{"a", "b", "c"}, et.IDsOf(msg.CausalHistory))
	require.Equal(t, hints["a"], msg.CausalHistory[0].RetrievalHint)
	require.Empty(t, msg.CausalHistory[1].RetrievalHint, "over the budget")
	require.Equal(t, hints["c"], msg.CausalHistory[2].RetrievalHint)
}
