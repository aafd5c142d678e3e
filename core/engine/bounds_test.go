package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/wire"
)

func TestChannelBound(t *testing.T) {
	p := et.NewPeer(t, et.WithConfig(func(c *engine.Config) { c.MaxChannels = 3 }))
	for i := 0; i < 3; i++ {
		p.MustWrap("m", fmt.Sprintf("c%d", i))
	}
	_, err := p.Wrap([]byte{1}, "m", "c3")
	require.ErrorIs(t, err, engine.ErrTooManyChannels)
	other := et.NewPeer(t).MustWrap("x", "c4")
	_, err = p.Unwrap(other)
	require.ErrorIs(t, err, engine.ErrTooManyChannels, "an unwrap that would create one more fails")
	require.Len(t, p.Channels(), 3)
	p.MustWrap("again", "c1") // existing channels still work
	require.NoError(t, p.RemoveChannel("c0"))
	p.MustUnwrap(other)
	require.Equal(t, []string{"c1", "c2", "c4"}, p.Channels())
}

// smallFilter keeps the default-bound tests cheap: 10,000 channels of default
// 18.8 KB filters would be most of their cost. The bounds stay at their defaults.
var smallFilter = et.WithConfig(func(c *engine.Config) { c.BloomCapacity = 16 })

func TestChannelBoundDefaultIsTenThousand(t *testing.T) {
	p := et.NewPeer(t, smallFilter)
	for i := 0; i < 10_000; i++ {
		bare := wire.Message{MessageID: "m", Lamport: 1, ChannelID: fmt.Sprintf("c%d", i), Content: []byte{1}}
		p.MustUnwrap(bare.Marshal())
	}
	bare := wire.Message{MessageID: "m", Lamport: 1, ChannelID: "one-more", Content: []byte{1}}
	_, err := p.Unwrap(bare.Marshal())
	require.ErrorIs(t, err, engine.ErrTooManyChannels)
}

// waiting returns a message that waits for a dependency nobody has.
func waiting(id string) []byte {
	m := wire.Message{MessageID: id, Lamport: 1, ChannelID: "c", Content: []byte{1},
		CausalHistory: []wire.HistoryEntry{{MessageID: "never-" + id}}}
	return m.Marshal()
}

func TestIncomingBoundDropsOldestWithEvent(t *testing.T) {
	p := et.NewPeer(t, et.WithConfig(func(c *engine.Config) { c.MaxIncomingBuffer = 3 }))
	for i := 0; i < 5; i++ {
		p.MustUnwrap(waiting(fmt.Sprintf("w%d", i)))
	}
	evs := et.Summary(p.Events.Take())
	require.Equal(t, []string{
		"missing_dependencies:w0[never-w0]@c",
		"missing_dependencies:w1[never-w1]@c",
		"missing_dependencies:w2[never-w2]@c",
		"missing_dependencies:w3[never-w3]@c", "incoming_dropped:w0@c",
		"missing_dependencies:w4[never-w4]@c", "incoming_dropped:w1@c",
	}, evs)
	st := p.MustState("c")
	require.Len(t, st.Incoming, 3)
	require.Equal(t, "w2", st.Incoming[0].ID)
	// the dropped message's dependency no longer releases anything
	require.NoError(t, p.MarkDependenciesMet([]string{"never-w0"}, "c"))
	require.Empty(t, p.Events.Take())
	require.NoError(t, p.MarkDependenciesMet([]string{"never-w3"}, "c"))
	require.Equal(t, []string{"message_ready:w3@c"}, et.Summary(p.Events.Take()))
}

func TestIncomingBoundDefaultIsTenThousand(t *testing.T) {
	p := et.NewPeer(t, smallFilter)
	for i := 0; i < 10_000; i++ {
		p.MustUnwrap(waiting(fmt.Sprintf("w%d", i)))
	}
	p.Events.Take()
	p.MustUnwrap(waiting("one-more"))
	require.Equal(t, []string{"missing_dependencies:one-more[never-one-more]@c", "incoming_dropped:w0@c"}, et.Summary(p.Events.Take()))
	require.Len(t, p.MustState("c").Incoming, 10_000)
}

func TestOutgoingBoundGivesUpOldest(t *testing.T) {
	p := et.NewPeer(t, et.WithConfig(func(c *engine.Config) { c.MaxOutgoingBuffer = 2 }))
	p.MustWrap("o1", "c")
	p.MustWrap("o2", "c")
	require.Empty(t, p.Events.Take())
	p.MustWrap("o3", "c")
	require.Equal(t, []string{"message_given_up:o1@c"}, et.Summary(p.Events.Take()))
	st := p.MustState("c")
	require.Equal(t, "o2", st.Outgoing[0].ID)
	require.Equal(t, "o3", st.Outgoing[1].ID)
}

func TestOutgoingBoundDefaultIsTenThousand(t *testing.T) {
	p := et.NewPeer(t, smallFilter)
	for i := 0; i < 10_000; i++ {
		p.MustWrap(fmt.Sprintf("o%d", i), "c")
	}
	require.Empty(t, p.Events.Take())
	p.MustWrap("one-more", "c")
	require.Equal(t, []string{"message_given_up:o0@c"}, et.Summary(p.Events.Take()))
}

func TestDuplicateOutgoingIDReplacesTheOlder(t *testing.T) {
	a, b := et.NewPeer(t), et.NewPeer(t)
	b.MustUnwrap(a.MustWrap("dup", "c"))
	a.MustWrap("other", "c")
	a.Clock.Advance(time.Second)
	a.MustWrap("dup", "c")
	st := a.MustState("c")
	require.Equal(t, []string{"other", "dup"}, outgoingIDs(st), "one entry per id, the newer at the end")
	require.Equal(t, et.Epoch.Add(time.Second), st.Outgoing[1].SendTime, "the newer message is tracked")
	require.Equal(t, []string{"dup", "other"}, st.Log, "the log keeps one entry, replaced in place")
	require.Empty(t, a.Events.Take(), "superseding is not a give-up")
	a.MustUnwrap(b.MustWrap("r", "c"))
	require.Equal(t, []string{"message_acknowledged:dup@c", "message_ready:r@c"}, et.Summary(a.Events.Take()))
}

func outgoingIDs(st engine.ChannelState) []string {
	var ids []string
	for _, o := range st.Outgoing {
		ids = append(ids, o.ID)
	}
	return ids
}
