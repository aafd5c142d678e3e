package engine_test

import (
	"bytes"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/bloom"
	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/wire"
)

func TestDefaultConfigIsNimSds(t *testing.T) {
	c := engine.DefaultConfig()
	require.Equal(t, 10000, c.BloomCapacity)
	require.Equal(t, 0.001, c.BloomErrorRate)
	require.Equal(t, 1000, c.MaxMessageHistory)
	require.Equal(t, 10, c.MaxCausalHistory)
	require.Equal(t, 60*time.Second, c.ResendInterval)
	require.Equal(t, 5, c.MaxResendAttempts)
	require.Equal(t, 30*time.Second, c.SyncInterval)
	require.Equal(t, 60*time.Second, c.BufferSweepInterval)
	require.Equal(t, 30*time.Second, c.RepairTMin)
	require.Equal(t, 300*time.Second, c.RepairTMax)
	require.Equal(t, 1, c.NumResponseGroups)
	require.Equal(t, 3, c.MaxRepairRequests)
	require.Equal(t, 5*time.Second, c.RepairSweepInterval)
	require.Equal(t, 10000, c.MaxChannels)
	require.Equal(t, 10000, c.MaxIncomingBuffer)
	require.Equal(t, 10000, c.MaxOutgoingBuffer)
	require.NoError(t, c.Validate())
}

func TestInvalidConfigRejected(t *testing.T) {
	for name, mutate := range map[string]func(*engine.Config){
		"capacity":  func(c *engine.Config) { c.BloomCapacity = 0 },
		"rate":      func(c *engine.Config) { c.BloomErrorRate = 1 },
		"history":   func(c *engine.Config) { c.MaxMessageHistory = 0 },
		"causal":    func(c *engine.Config) { c.MaxCausalHistory = -1 },
		"sync":      func(c *engine.Config) { c.SyncInterval = 0 },
		"tmax":      func(c *engine.Config) { c.RepairTMax = c.RepairTMin - 1 },
		"groups":    func(c *engine.Config) { c.NumResponseGroups = 0 },
		"channels":  func(c *engine.Config) { c.MaxChannels = 0 },
		"incoming":  func(c *engine.Config) { c.MaxIncomingBuffer = 0 },
		"outgoing":  func(c *engine.Config) { c.MaxOutgoingBuffer = 0 },
		"attempts":  func(c *engine.Config) { c.MaxResendAttempts = -1 },
		"requests":  func(c *engine.Config) { c.MaxRepairRequests = -1 },
		"sweep":     func(c *engine.Config) { c.BufferSweepInterval = -time.Second },
		"repairInt": func(c *engine.Config) { c.RepairSweepInterval = 0 },
		"wireGen":   func(c *engine.Config) { c.WireGeneration = wire.V04 + 1 },
	} {
		c := engine.DefaultConfig()
		mutate(&c)
		_, err := engine.New(engine.Options{Config: &c})
		require.ErrorIs(t, err, engine.ErrInvalidConfig, name)
	}
}

func TestWrapAndUnwrapBasic(t *testing.T) {
	a, b := et.NewPeer(t), et.NewPeer(t)
	wireBytes := a.MustWrap("m1", "c1")
	msg := et.Decode(t, wireBytes)
	require.Equal(t, "m1", msg.MessageID)
	require.Equal(t, "c1", msg.ChannelID)
	require.Equal(t, []byte("body of m1"), msg.Content)
	require.Empty(t, msg.CausalHistory)
	require.Empty(t, msg.SenderID, "no participant id, no sender id")
	require.Len(t, msg.BloomFilter, 18768, "the default empty filter")
	require.Equal(t, et.Epoch.Unix()+1, msg.Lamport)

	res := b.MustUnwrap(wireBytes)
	require.Equal(t, []byte("body of m1"), res.Content)
	require.Empty(t, res.MissingDeps)
	require.Equal(t, "c1", res.ChannelID)
	require.Equal(t, []string{"message_ready:m1@c1"}, et.Summary(b.Events.Take()))
	require.Empty(t, a.Events.Take(), "wrap fires no events")
}

func TestWrapArgumentErrors(t *testing.T) {
	a := et.NewPeer(t)
	_, err := a.Wrap(nil, "x", "c")
	require.ErrorIs(t, err, engine.ErrInvalidArgument)
	_, err = a.Wrap(make([]byte, engine.MaxContentSize+1), "x", "c")
	require.ErrorIs(t, err, engine.ErrMessageTooLarge)
	out, err := a.Wrap(make([]byte, engine.MaxContentSize), "", "c")
	require.NoError(t, err, "1 MiB exactly and an empty id are fine")
	require.Equal(t, "", et.Decode(t, out).MessageID)
	require.Empty(t, a.Channels()[1:], "failed wraps created nothing beyond c")
}

func TestUnwrapBadInput(t *testing.T) {
	b := et.NewPeer(t)
	for _, in := range [][]byte{nil, {}, {0xff}, {0x0a, 0x05, 'a'}, bytes.Repeat([]byte{0x80}, 20)} {
		_, err := b.Unwrap(in)
		require.ErrorIs(t, err, engine.ErrDeserialization, "%x", in)
	}
	_, err := b.Unwrap(make([]byte, engine.MaxWireSize+1))
	require.ErrorIs(t, err, engine.ErrMessageTooLarge)
	require.Empty(t, b.Channels(), "nothing was created")
	require.Empty(t, b.Events.Take())
}

func TestLamportRules(t *testing.T) {
	a, b := et.NewPeer(t), et.NewPeer(t)
	require.Equal(t, et.Epoch.Unix()+1, et.Decode(t, a.MustWrap("m1", "c")).Lamport)
	require.Equal(t, et.Epoch.Unix()+2, et.Decode(t, a.MustWrap("m2", "c")).Lamport, "max(now, L)+1 with L ahead of now")
	a.Clock.Advance(10 * time.Second)
	require.Equal(t, et.Epoch.Unix()+11, et.Decode(t, a.MustWrap("m3", "c")).Lamport)

	// receive: max(msg, L) + 1 at receipt, even for a buffered message
	far := wire.Message{MessageID: "x", Lamport: et.Epoch.Unix() + 1000, ChannelID: "c", Content: []byte{1},
		CausalHistory: []wire.HistoryEntry{{MessageID: "unknown"}}}
	b.MustUnwrap(far.Marshal())
	require.Equal(t, et.Epoch.Unix()+1001, b.MustState("c").Lamport)

	// values >= 2^63 arrive negative and are ignored by max
	neg := wire.Message{MessageID: "n", Lamport: -5, ChannelID: "c", Content: []byte{1}}
	b.MustUnwrap(neg.Marshal())
	require.Equal(t, et.Epoch.Unix()+1002, b.MustState("c").Lamport)

	// saturation instead of overflow
	top := wire.Message{MessageID: "top", Lamport: math.MaxInt64, ChannelID: "c", Content: []byte{1}}
	b.MustUnwrap(top.Marshal())
	require.Equal(t, int64(math.MaxInt64), b.MustState("c").Lamport)
	top.MessageID = "top2"
	b.MustUnwrap(top.Marshal())
	require.Equal(t, int64(math.MaxInt64), b.MustState("c").Lamport)
	require.Equal(t, int64(math.MaxInt64), et.Decode(t, b.MustWrap("after", "c")).Lamport)
}

func TestCausalHistoryIsLastTenOldestFirstWithHintsAndSenders(t *testing.T) {
	calls := 0
	a := et.NewPeer(t, et.WithID("alice"), et.WithHints(func(id string) []byte {
		calls++
		if id == "m3" {
			return nil
		}
		return []byte("hint:" + id)
	}))
	bob := et.NewPeer(t, et.WithID("bob"))
	a.MustUnwrap(bob.MustWrap("b0", "c")) // a received message keeps its sender's id
	for _, id := range et.Numbered("m", 12) {
		a.MustWrap(id, "c")
	}
	calls = 0
	msg := et.Decode(t, a.MustWrap("last", "c"))
	require.Equal(t, []string{"m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10", "m11"}, et.IDsOf(msg.CausalHistory))
	require.Equal(t, 10, calls, "the provider is asked once per entry on every wrap")
	for _, e := range msg.CausalHistory {
		require.Equal(t, "alice", e.SenderID)
		if e.MessageID == "m3" {
			require.Empty(t, e.RetrievalHint)
		} else {
			require.Equal(t, "hint:"+e.MessageID, string(e.RetrievalHint))
		}
	}
	require.Equal(t, "alice", msg.SenderID)

	c := et.NewPeer(t, et.WithID("carol"))
	c.MustUnwrap(et.NewPeer(t, et.WithID("bob")).MustWrap("b1", "c"))
	c.MustUnwrap(et.NewPeer(t, et.WithID("alice")).MustWrap("a1", "c"))
	msg = et.Decode(t, c.MustWrap("c1", "c"))
	require.Equal(t, []string{"b1", "a1"}, et.IDsOf(msg.CausalHistory))
	require.Equal(t, "bob", msg.CausalHistory[0].SenderID)
	require.Equal(t, "alice", msg.CausalHistory[1].SenderID)
}

// The causal history is kept encoded from one wrap to the next (the window
// moves by one): a hint the application changes, in a buffer it reuses or a
// new one, is what the next message carries, and so is a history that moved
// by more than one entry (messages received in between).
func TestCausalHistoryFollowsChangedHints(t *testing.T) {
	shared := []byte("hint-0")
	special := map[string][]byte{}
	a := et.NewPeer(t, et.WithID("alice"), et.WithHints(func(id string) []byte {
		if h, ok := special[id]; ok {
			return h
		}
		return shared
	}))
	bob := et.NewPeer(t, et.WithID("bob"))
	want := func(id string) string {
		if h, ok := special[id]; ok {
			return string(h)
		}
		return string(shared)
	}
	logged := 0
	for i, id := range et.Numbered("m", 40) {
		switch {
		case i%7 == 3:
			shared[5] = byte('0' + i%10) // the same buffer, new content
		case i%7 == 5:
			special[fmt.Sprintf("m%d", i-2)] = []byte(fmt.Sprintf("longer hint %d", i))
		case i%11 == 6:
			for _, b := range et.Numbered(fmt.Sprintf("b%d-", i), 3) {
				a.MustUnwrap(bob.MustWrap(b, "c"))
				logged++
			}
		case i%13 == 12:
			delete(special, fmt.Sprintf("m%d", i-8))
		}
		out := a.MustWrap(id, "c")
		msg := et.Decode(t, out)
		require.Len(t, msg.CausalHistory, min(logged, 10))
		logged++
		for _, e := range msg.CausalHistory {
			require.Equal(t, want(e.MessageID), string(e.RetrievalHint), "wrap %s, entry %s", id, e.MessageID)
		}
		require.Equal(t, msg.Marshal(), out, "wrap %s: the encoding of what it decodes to", id)
	}
}

func TestOutgoingFilterIsSnapshotBeforeTheMessage(t *testing.T) {
	a := et.NewPeer(t)
	m1 := et.Decode(t, a.MustWrap("m1", "c"))
	m2 := et.Decode(t, a.MustWrap("m2", "c"))
	f1, err := bloom.ParseRemote(m1.BloomFilter)
	require.NoError(t, err)
	require.False(t, f1.Contains("m1"), "a message's own id is not in the filter it carries")
	f2, err := bloom.ParseRemote(m2.BloomFilter)
	require.NoError(t, err)
	require.True(t, f2.Contains("m1"))
	require.False(t, f2.Contains("m2"))
}

func TestOutOfOrderChainReleasesLikeNimSds(t *testing.T) {
	// PROTOCOL.md §2.4 and the trace's section 03: m4, m3, m2 then m1.
	a, c := et.NewPeer(t), et.NewPeer(t)
	w := map[string][]byte{}
	for _, id := range []string{"m1", "m2", "m3", "m4"} {
		w[id] = a.MustWrap(id, "c1")
	}
	res := c.MustUnwrap(w["m4"])
	require.Equal(t, []string{"m1", "m2", "m3"}, et.IDsOf(res.MissingDeps))
	c.MustUnwrap(w["m3"])
	c.MustUnwrap(w["m2"])
	require.Equal(t, []string{
		"missing_dependencies:m4[m1,m2,m3]@c1",
		"missing_dependencies:m3[m1,m2]@c1",
		"missing_dependencies:m2[m1]@c1",
	}, et.Summary(c.Events.Take()))
	res = c.MustUnwrap(w["m1"])
	require.Empty(t, res.MissingDeps)
	require.Equal(t, []string{"message_ready:m2@c1", "message_ready:m3@c1", "message_ready:m4@c1", "message_ready:m1@c1"},
		et.Summary(c.Events.Take()))
	st := c.MustState("c1")
	require.Equal(t, []string{"m1", "m2", "m3", "m4"}, st.Log)
	require.Empty(t, st.Incoming)
}

func TestIndependentReleasesFollowArrivalOrder(t *testing.T) {
	a, b, c := et.NewPeer(t), et.NewPeer(t), et.NewPeer(t)
	root := a.MustWrap("root", "c")
	b.MustUnwrap(root)
	// three messages each citing only root, received in a chosen order
	var replies [][]byte
	for _, id := range []string{"x", "y", "z"} {
		p := et.NewPeer(t)
		p.MustUnwrap(root)
		replies = append(replies, p.MustWrap(id, "c"))
	}
	for _, i := range []int{2, 0, 1} { // z, x, y
		c.MustUnwrap(replies[i])
	}
	c.Events.Take()
	c.MustUnwrap(root)
	require.Equal(t, []string{"message_ready:z@c", "message_ready:x@c", "message_ready:y@c", "message_ready:root@c"},
		et.Summary(c.Events.Take()))
}

func TestAckViaCausalHistory(t *testing.T) {
	a, b := et.NewPeer(t), et.NewPeer(t)
	b.MustUnwrap(a.MustWrap("m1", "c1"))
	r1 := b.MustWrap("r1", "c1")
	a.Events.Take()
	a.MustUnwrap(r1)
	require.Equal(t, []string{"message_acknowledged:m1@c1", "message_ready:r1@c1"}, et.Summary(a.Events.Take()))
	require.Empty(t, a.MustState("c1").Outgoing)
}

func TestAckViaBloomAndCausalHistory(t *testing.T) {
	// The trace's section 06: a1..a12; r2 cites a3..a12, a1 and a2 only in its filter.
	a, b := et.NewPeer(t), et.NewPeer(t)
	for _, id := range et.Numbered("a", 13)[1:] {
		b.MustUnwrap(a.MustWrap(id, "c2"))
	}
	r2 := b.MustWrap("r2", "c2")
	require.Equal(t, et.Numbered("a", 13)[3:], et.IDsOf(et.Decode(t, r2).CausalHistory))
	a.MustUnwrap(r2)
	var want []string
	for _, id := range et.Numbered("a", 13)[1:] {
		want = append(want, "message_acknowledged:"+id+"@c2")
	}
	require.Equal(t, append(want, "message_ready:r2@c2"), et.Summary(a.Events.Take()))
}

func TestAckViaBloomWithEmptyAndNonEmptyFilter(t *testing.T) {
	a := et.NewPeer(t)
	a.MustWrap("m1", "c")
	// a message without a filter and without causal history acknowledges nothing
	bare := wire.Message{MessageID: "o1", Lamport: 1, ChannelID: "c", Content: []byte{1}}
	a.MustUnwrap(bare.Marshal())
	require.Equal(t, []string{"message_ready:o1@c"}, et.Summary(a.Events.Take()))
	// a filter containing m1 acknowledges it
	f := bloom.NewFilter(bloom.NewParams(10000, 0.001))
	f.Add("m1")
	withFilter := wire.Message{MessageID: "o2", Lamport: 1, ChannelID: "c", Content: []byte{1}, BloomFilter: f.Serialized()}
	a.MustUnwrap(withFilter.Marshal())
	require.Equal(t, []string{"message_acknowledged:m1@c", "message_ready:o2@c"}, et.Summary(a.Events.Take()))
}

func TestInvalidRemoteFilterCountsAsNoFilter(t *testing.T) {
	a := et.NewPeer(t)
	a.MustWrap("m1", "c")
	f := bloom.NewFilter(bloom.NewParams(10000, 0.001))
	f.Add("m1")
	good := f.Serialized()
	for name, bad := range map[string][]byte{
		"garbage":   {0xff, 0xff},
		"truncated": good[:100],
		"mBits0":    append(append([]byte{}, good[:len(good)-4]...), 0x28, 0x00),
	} {
		msg := wire.Message{MessageID: "o-" + name, Lamport: 1, ChannelID: "c", Content: []byte{1}, BloomFilter: bad}
		res, err := a.Unwrap(msg.Marshal())
		require.NoError(t, err, name)
		require.Empty(t, res.MissingDeps)
		require.Equal(t, []string{"message_ready:o-" + name + "@c"}, et.Summary(a.Events.Take()), name)
	}
	require.Len(t, a.MustState("c").Outgoing, 1)
}

func TestDuplicates(t *testing.T) {
	a, b := et.NewPeer(t), et.NewPeer(t)
	m1 := a.MustWrap("m1", "c")
	b.MustUnwrap(m1)
	b.Events.Take()
	res := b.MustUnwrap(m1)
	require.Equal(t, []byte("body of m1"), res.Content, "content is returned for a duplicate")
	require.Empty(t, b.Events.Take())
	a.MustUnwrap(m1) // own message
	require.Empty(t, a.Events.Take())
	require.Len(t, a.MustState("c").Outgoing, 1, "own message is not acknowledged by itself")

	// a re-received message that is still buffered is processed again
	m2 := a.MustWrap("m2", "c")
	m3 := a.MustWrap("m3", "c")
	c := et.NewPeer(t)
	c.MustUnwrap(m3)
	c.MustUnwrap(m3)
	require.Equal(t, []string{"missing_dependencies:m3[m1,m2]@c", "missing_dependencies:m3[m1,m2]@c"}, et.Summary(c.Events.Take()))
	require.Len(t, c.MustState("c").Incoming, 1)
	c.MustUnwrap(m1)
	c.MustUnwrap(m2)
	require.Equal(t, []string{"message_ready:m1@c", "message_ready:m3@c", "message_ready:m2@c"}, et.Summary(c.Events.Take()))
}

func TestMarkDependenciesMet(t *testing.T) {
	a, b := et.NewPeer(t), et.NewPeer(t)
	m1 := a.MustWrap("m1", "c")
	_ = m1
	m2 := a.MustWrap("m2", "c")
	m3 := a.MustWrap("m3", "c")
	b.MustUnwrap(m1)
	b.MustUnwrap(m3)
	require.Equal(t, []string{"message_ready:m1@c", "missing_dependencies:m3[m2]@c"}, et.Summary(b.Events.Take()))
	require.ErrorIs(t, b.MarkDependenciesMet([]string{"m2"}, "nochan"), engine.ErrUnknownChannel)
	require.NoError(t, b.MarkDependenciesMet(nil, "c"))
	require.NoError(t, b.MarkDependenciesMet([]string{"m2"}, "c"))
	require.Equal(t, []string{"message_ready:m3@c"}, et.Summary(b.Events.Take()))
	st := b.MustState("c")
	require.Equal(t, []string{"m1", "m3"}, st.Log, "marked ids join the filter, not the log")
	require.True(t, b.BloomContains("c", "m2"))
	// as in the wire vectors: B's reply cites m1 and m3 only, its filter has m2
	r1 := et.Decode(t, b.MustWrap("r1", "c"))
	require.Equal(t, []string{"m1", "m3"}, et.IDsOf(r1.CausalHistory))
	f, err := bloom.ParseRemote(r1.BloomFilter)
	require.NoError(t, err)
	require.True(t, f.Contains("m2"))
	// delivering m2 itself later is a new message (not in the log)
	b.MustUnwrap(m2)
	require.Equal(t, []string{"message_ready:m2@c"}, et.Summary(b.Events.Take()))
}

func TestBufferSweepCountsAttemptsThenGivesUp(t *testing.T) {
	a := et.NewPeer(t)
	a.MustWrap("m1", "c")
	a.Clock.Advance(30 * time.Second)
	a.MustWrap("m2", "c")
	a.Clock.Advance(30 * time.Second) // m1 is exactly 60 s old: not overdue yet
	require.NoError(t, a.SweepBuffers())
	st := a.MustState("c")
	require.Equal(t, 0, st.Outgoing[0].ResendAttempts)
	for attempt := 1; attempt <= 5; attempt++ {
		a.Clock.Advance(61 * time.Second)
		require.NoError(t, a.SweepBuffers())
		st = a.MustState("c")
		require.Len(t, st.Outgoing, 2)
		require.Equal(t, attempt, st.Outgoing[0].ResendAttempts)
		require.Equal(t, a.Clock.Now(), st.Outgoing[0].SendTime)
	}
	require.Empty(t, a.Events.Take())
	a.Clock.Advance(61 * time.Second)
	require.NoError(t, a.SweepBuffers())
	require.Equal(t, []string{"message_given_up:m1@c", "message_given_up:m2@c"}, et.Summary(a.Events.Take()))
	require.Empty(t, a.MustState("c").Outgoing)
}

func TestSyncTick(t *testing.T) {
	a := et.NewPeer(t)
	require.NoError(t, a.SyncTick())
	evs := a.Events.Take()
	require.Len(t, evs, 1)
	require.Equal(t, engine.PeriodicSync, evs[0].Kind)
	require.Empty(t, evs[0].ChannelID)
}

func TestHistoryLimitAndEviction(t *testing.T) {
	a := et.NewPeer(t)
	first := a.MustWrap("e0", "c")
	for _, id := range et.Numbered("e", 1001)[1:] {
		a.MustWrap(id, "c")
	}
	st := a.MustState("c")
	require.Len(t, st.Log, 1000)
	require.Equal(t, "e1", st.Log[0])
	last := et.Decode(t, a.MustWrap("e1001", "c"))
	require.Equal(t, et.Numbered("e", 1001)[991:], et.IDsOf(last.CausalHistory))
	// an evicted message of our own comes back as new (trace step 1109)
	a.Events.Take()
	a.MustUnwrap(first)
	require.Equal(t, []string{"message_ready:e0@c"}, et.Summary(a.Events.Take()))
}

func TestMultiChannelIsolation(t *testing.T) {
	a, b := et.NewPeer(t), et.NewPeer(t)
	y1 := a.MustWrap("y1", "c5")
	z1 := a.MustWrap("z1", "c6")
	b.MustUnwrap(y1)
	b.MustUnwrap(z1)
	r := et.Decode(t, b.MustWrap("r", "c5"))
	require.Equal(t, []string{"y1"}, et.IDsOf(r.CausalHistory))
	f, err := bloom.ParseRemote(r.BloomFilter)
	require.NoError(t, err)
	require.False(t, f.Contains("z1"))
	a.Events.Take()
	a.MustUnwrap(r.Marshal())
	require.Equal(t, []string{"message_acknowledged:y1@c5", "message_ready:r@c5"}, et.Summary(a.Events.Take()))
	require.Len(t, a.MustState("c6").Outgoing, 1)
	require.Equal(t, []string{"c5", "c6"}, a.Channels())
	// a message citing another channel's id reports it missing in its own channel
	cross := wire.Message{MessageID: "q", Lamport: 1, ChannelID: "c6", Content: []byte{1},
		CausalHistory: []wire.HistoryEntry{{MessageID: "y1"}}}
	b.Events.Take()
	b.MustUnwrap(cross.Marshal())
	require.Equal(t, []string{"missing_dependencies:q[y1]@c6"}, et.Summary(b.Events.Take()))
}

func TestResetForgetsEverything(t *testing.T) {
	a, b := et.NewPeer(t), et.NewPeer(t)
	m1 := a.MustWrap("m1", "c1")
	b.MustUnwrap(m1)
	b.MustWrap("r", "c1")
	b.Events.Take()
	require.NoError(t, b.Reset())
	require.Empty(t, b.Channels())
	b.MustUnwrap(m1)
	require.Equal(t, []string{"message_ready:m1@c1"}, et.Summary(b.Events.Take()), "new again after reset")
	require.Equal(t, et.Epoch.Unix()+2, b.MustState("c1").Lamport, "lamport restarted from the message")
}

func TestClose(t *testing.T) {
	a := et.NewPeer(t)
	a.MustWrap("m", "c")
	require.NoError(t, a.Close())
	require.ErrorIs(t, a.Close(), engine.ErrClosed)
	_, err := a.Wrap([]byte{1}, "x", "c")
	require.ErrorIs(t, err, engine.ErrClosed)
	_, err = a.Unwrap(et.NewPeer(t).MustWrap("q", "c"))
	require.ErrorIs(t, err, engine.ErrClosed)
	require.ErrorIs(t, a.MarkDependenciesMet(nil, "c"), engine.ErrClosed)
	require.ErrorIs(t, a.SweepBuffers(), engine.ErrClosed)
	require.ErrorIs(t, a.SweepRepairs(), engine.ErrClosed)
	require.ErrorIs(t, a.SyncTick(), engine.ErrClosed)
	require.ErrorIs(t, a.Reset(), engine.ErrClosed)
}

// The sink owns every batch it receives: batches kept across operations,
// and appended to by the sink, stay as they were delivered while the
// manager goes on emitting (its batches share allocations).
func TestEventBatchesStayTheSinks(t *testing.T) {
	own := engine.Event{Kind: engine.MessageReady, MessageID: "the sink's own"}
	var batches [][]engine.Event
	sink := engine.EventSinkFunc(func(evs []engine.Event) {
		batches = append(batches, append(evs, own))
	})
	cfg := engine.DefaultConfig()
	cfg.MaxOutgoingBuffer = 1 // every wrap after the first gives one message up
	m, err := engine.New(engine.Options{Config: &cfg, Events: sink})
	require.NoError(t, err)
	ids := et.Numbered("m", 100)
	for _, id := range ids {
		_, err := m.Wrap([]byte("x"), id, "c")
		require.NoError(t, err)
	}
	require.Len(t, batches, len(ids)-1)
	for i, b := range batches {
		require.Equal(t, []engine.Event{{Kind: engine.MessageGivenUp, ChannelID: "c", MessageID: ids[i]}, own}, b, "batch %d", i)
	}
}

// Wrap returns a slice of its own every time (it encodes into a reused
// buffer and copies): earlier results are not changed by later wraps, and
// AppendWrap writes the same bytes.
func TestWrapResultsAreIndependent(t *testing.T) {
	a := et.NewPeer(t, et.WithID("alice"))
	b := et.NewPeer(t, et.WithID("alice"))
	var kept [][]byte
	var buf []byte
	for _, id := range et.Numbered("m", 20) {
		out := a.MustWrap(id, "c")
		kept = append(kept, out)
		var err error
		buf, err = b.AppendWrap(buf[:0], []byte("body of "+id), id, "c")
		require.NoError(t, err)
		require.Equal(t, buf, out)
	}
	for i, out := range kept {
		msg := et.Decode(t, out)
		require.Equal(t, fmt.Sprintf("m%d", i), msg.MessageID)
		require.Equal(t, msg.Marshal(), out)
	}
}
