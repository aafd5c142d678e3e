package engine_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/record"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// What a receiver keeps of a message is the 0.3 encoding of the message as
// decoded, its history without repeated citations, without its bloom filter
// and repair requests, whether the bytes arrived in Marshal's layout (the
// stored form is then cut from them) or in any other layout or generation
// (it is then encoded; from 0.4 bytes, with the causal entries of field-8
// entries in the writer's layout cut from them).
func TestStoredFormOfAnyLayout(t *testing.T) {
	base := wire.Message{
		Lamport:   7,
		ChannelID: "c",
		Content:   []byte("payload"),
		CausalHistory: []wire.HistoryEntry{
			{MessageID: "d1", RetrievalHint: []byte("h1"), SenderID: "alice"},
			{MessageID: "d2"},
		},
		BloomFilter:   []byte{1, 2, 3},
		SenderID:      "alice",
		RepairRequest: []wire.HistoryEntry{{MessageID: "gone", SenderID: "carol"}},
	}
	with := func(id string, edit func(*wire.Message)) wire.Message {
		m := base
		m.MessageID = id
		m.CausalHistory = append([]wire.HistoryEntry(nil), base.CausalHistory...)
		if edit != nil {
			edit(&m)
		}
		return m
	}
	canonical := with("canonical", nil)
	noSender := with("sender-last", func(m *wire.Message) { m.SenderID = "" })
	dupes := with("dupes", func(m *wire.Message) {
		m.CausalHistory = append(m.CausalHistory, wire.HistoryEntry{MessageID: "d1", SenderID: "x"})
	})
	v04 := with("v04", nil)
	noFilter := with("no-filter", func(m *wire.Message) { m.BloomFilter = nil })
	unknown := with("unknown", nil)
	emptySender := with("empty-sender", func(m *wire.Message) { m.SenderID, m.RepairRequest = "", nil })
	v04LateMeta := with("v04-late-meta", nil)
	v04NoMeta := with("v04-no-meta", func(m *wire.Message) {
		m.CausalHistory = []wire.HistoryEntry{{MessageID: "d1"}, {MessageID: "d2"}}
	})
	inputs := map[string][]byte{
		"canonical": canonical.Marshal(),
		// the sender id after the repair requests: not Marshal's order
		"sender-last": append(noSender.Marshal(), 0x3a, 5, 'a', 'l', 'i', 'c', 'e'),
		"dupes":       dupes.Marshal(),
		"v04":         v04.MarshalAs(wire.V04),
		// a second field-8 entry for d1, its sender before its id: the last
		// one wins, and its bytes are not a 0.3 entry's
		"v04-late-meta": append(v04LateMeta.MarshalAs(wire.V04), 0x42, 9, 0x1a, 3, 'b', 'o', 'b', 0x0a, 2, 'd', '1'),
		// ids without hints or senders: no field 8
		"v04-no-meta": v04NoMeta.MarshalAs(wire.V04),
		// an unknown field, which the decode skips
		"unknown": append(unknown.Marshal(), 0x48, 1),
		// an empty sender id field where Marshal would write a non-empty one
		"empty-sender": append(emptySender.Marshal(), 0x3a, 0),
		// a filter of length 0 written as nothing at all
		"no-filter": dropField6(t, noFilter.Marshal()),
	}
	s := memstore.New()
	bob := et.NewPeer(t, et.WithID("bob"), et.WithStore(s))
	for _, id := range []string{"d1", "d2"} {
		bare := wire.Message{MessageID: id, Lamport: 1, ChannelID: "c", Content: []byte("x")}
		bob.MustUnwrap(bare.Marshal())
	}
	for name, data := range inputs {
		res := bob.MustUnwrap(data)
		require.Empty(t, res.MissingDeps, name)
	}
	snap, err := s.LoadAllForChannel("c")
	require.NoError(t, err)
	kept := map[string][]byte{}
	for _, rec := range snap.Log {
		r, err := record.UnmarshalLog(rec)
		require.NoError(t, err)
		msg, err := wire.UnmarshalV03(r.Message)
		require.NoError(t, err)
		kept[msg.MessageID] = r.Message
	}
	for name, data := range inputs {
		msg, err := wire.Unmarshal(data)
		require.NoError(t, err, name)
		require.Equal(t, name, msg.MessageID)
		want := *msg
		want.BloomFilter, want.RepairRequest, want.CausalHistory = nil, nil, nil
		seen := map[string]bool{}
		for _, e := range msg.CausalHistory {
			if !seen[e.MessageID] {
				seen[e.MessageID] = true
				want.CausalHistory = append(want.CausalHistory, e)
			}
		}
		require.Equal(t, fmt.Sprintf("%x", want.Marshal()), fmt.Sprintf("%x", kept[name]), name)
	}
	require.Len(t, kept["dupes"], len(kept["canonical"])-len("canonical")+len("dupes"), "one citation of d1 kept")
}

// dropField6 removes the bloom filter field, written empty, from a 0.3
// encoding.
func dropField6(t *testing.T, b []byte) []byte {
	t.Helper()
	i := bytes.Index(b, []byte{0x32, 0})
	require.GreaterOrEqual(t, i, 0)
	return append(b[:i:i], b[i+2:]...)
}
