package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// TestWireGenerationChoosesWhatWrapWrites: a V04 manager writes plain ids in
// field 3 and each entry's hint and sender in field 8; a V03 manager the nested
// entries; each reads the other's messages.
func TestWireGenerationChoosesWhatWrapWrites(t *testing.T) {
	hints := et.WithHints(func(id string) []byte { return []byte("hint-" + id) })
	alice := et.NewPeer(t, et.WithID("alice"), et.WithGeneration(wire.V04), hints)
	bob := et.NewPeer(t, et.WithID("bob"))
	require.Equal(t, wire.V03, engine.DefaultConfig().WireGeneration, "0.3 by default")

	a1 := alice.MustWrap("a1", "ch")
	a2 := alice.MustWrap("a2", "ch")
	m, err := wire.UnmarshalV04(a2)
	require.NoError(t, err, "alice writes 0.4")
	require.Equal(t, []wire.HistoryEntry{{MessageID: "a1", RetrievalHint: []byte("hint-a1"), SenderID: "alice"}}, m.CausalHistory)
	require.Equal(t, m.MarshalAs(wire.V04), a2, "canonical 0.4 bytes")
	_, err = wire.UnmarshalV03(a2)
	require.Error(t, err, "a nim-sds 0.3 reader refuses it")
	g, _, err := wire.Detect(a2)
	require.NoError(t, err)
	require.Equal(t, wire.V04, g)

	// bob (0.3 writer) reads 0.4, out of order, without bogus dependencies
	res := bob.MustUnwrap(a2)
	require.Equal(t, []string{"a1"}, et.IDsOf(res.MissingDeps))
	require.Equal(t, []byte("hint-a1"), res.MissingDeps[0].RetrievalHint)
	bob.MustUnwrap(a1)
	require.Equal(t, []string{"missing_dependencies:a2[a1]@ch", "message_ready:a2@ch", "message_ready:a1@ch"},
		et.Summary(bob.Events.Take()))

	// bob writes 0.3, citing alice's messages with alice as their sender
	b1 := bob.MustWrap("b1", "ch")
	g, _, err = wire.Detect(b1)
	require.NoError(t, err)
	require.Equal(t, wire.V03, g)
	m, err = wire.UnmarshalV03(b1)
	require.NoError(t, err)
	require.Equal(t, []wire.HistoryEntry{et.Entry("a1", "alice"), et.Entry("a2", "alice")}, m.CausalHistory)
	res = alice.MustUnwrap(b1)
	require.Empty(t, res.MissingDeps, "alice reads 0.3 history as ids a1, a2")
	require.Contains(t, et.Summary(alice.Events.Take()), "message_ready:b1@ch")

	// alice's next message re-cites b1 in 0.4 with the stored sender bob
	m, err = wire.UnmarshalV04(alice.MustWrap("a3", "ch"))
	require.NoError(t, err)
	require.Equal(t, "b1", m.CausalHistory[2].MessageID)
	require.Equal(t, "bob", m.CausalHistory[2].SenderID)
}

// TestRepairRebroadcastUsesTheWriteGeneration: a repair response is sent in
// the responder's generation, whichever generation the message arrived in.
func TestRepairRebroadcastUsesTheWriteGeneration(t *testing.T) {
	for _, g := range []wire.Generation{wire.V03, wire.V04} {
		t.Run(g.String(), func(t *testing.T) {
			alice := et.NewPeer(t, et.WithID("alice")) // writes 0.3
			bob := et.NewPeer(t, et.WithID("bob"), et.WithGeneration(g))
			carol := et.NewPeer(t, et.WithID("carol"), et.WithGeneration(wire.V04))
			bob.MustUnwrap(alice.MustWrap("a0", "c"))
			bob.MustUnwrap(alice.MustWrap("a1", "c")) // cites a0
			bob.Events.Take()
			bob.MustUnwrap(et.RequestFor(t, carol, "a1", "alice")) // carol asks for a1
			bob.Clock.Advance(et.TMax + time.Second)
			require.NoError(t, bob.SweepRepairs())
			var sent []byte
			for _, e := range bob.Events.Take() {
				if e.Kind == engine.RepairReady {
					sent = e.Message
				}
			}
			require.NotNil(t, sent, "bob rebroadcasts a1")
			m, err := wire.UnmarshalAs(sent, g)
			require.NoError(t, err)
			require.Equal(t, "a1", m.MessageID)
			require.Equal(t, []string{"a0"}, et.IDsOf(m.CausalHistory))
			require.Equal(t, m.MarshalAs(g), sent, "written in %v", g)
		})
	}
}
