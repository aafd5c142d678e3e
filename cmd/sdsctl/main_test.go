package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/store/sqlite"
	"github.com/logos-messaging/libsds-go/core/wire"
	"github.com/logos-messaging/libsds-go/internal/vectors"
)

// sdsctl runs the command and returns its exit status, stdout and stderr.
func sdsctl(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, bytes.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(s), &v), s)
	return v
}

// The golden messages nim-sds wrapped (tests/vectors/README.md), in every input
// form, decode to what the README says they hold.
func TestDecodeGoldenMessages(t *testing.T) {
	for _, c := range []struct {
		file, id, content string
		history           []string
		filterIDs         int
	}{
		{"A_m1.bin", "m1", "hello", nil, 0},
		{"A_m2.bin", "m2", "second", []string{"m1"}, 1},
		{"A_m3.bin", "m3", "third", []string{"m1", "m2"}, 2},
		{"B_r1.bin", "r1", "reply", []string{"m1", "m3"}, 3},
	} {
		raw := vectors.Read(t, "wire/"+c.file)
		csv := make([]string, len(raw))
		for i, b := range raw {
			csv[i] = fmt.Sprint(b)
		}
		for name, input := range map[string]struct {
			stdin []byte
			args  []string
		}{
			"file":         {nil, []string{"decode", vectors.Path(t, "wire/"+c.file)}},
			"hex stdin":    {[]byte(hex.EncodeToString(raw) + "\n"), []string{"decode"}},
			"base64 arg":   {nil, []string{"decode", base64.StdEncoding.EncodeToString(raw)}},
			"csv brackets": {[]byte("[" + strings.Join(csv, ",") + "]"), []string{"decode", "-in", "csv", "-"}},
			"nim csv auto": {[]byte(strings.Join(csv, ",")), []string{"decode", "-"}},
		} {
			t.Run(c.file+"/"+name, func(t *testing.T) {
				code, out, errOut := sdsctl(t, input.stdin, input.args...)
				require.Equal(t, 0, code, errOut)
				v := decodeJSON[messageView](t, out)
				require.Equal(t, len(raw), v.WireBytes)
				wantGen := "0.3"
				if c.history == nil {
					wantGen = "either" // no causal history: both generations read it alike
				}
				require.Equal(t, wantGen, v.Generation)
				require.Equal(t, c.id, v.MessageID)
				require.Equal(t, "chan-1", v.ChannelID)
				require.Equal(t, c.content, v.Content.Text)
				var ids []string
				for _, e := range v.CausalHistory {
					ids = append(ids, e.MessageID)
				}
				require.Equal(t, c.history, ids)
				require.Equal(t, 18768, v.BloomFilter.Bytes)
				require.Equal(t, 150000, v.BloomFilter.MBits)
				require.Equal(t, 10, v.BloomFilter.KHashes)
				// k = 10 positions per id; the golden ids share none.
				require.Equal(t, 10*c.filterIDs, v.BloomFilter.BitsSet)
			})
		}
	}
}

// A 0.4 message (plain ids in field 3, hints and senders in field 8, no
// content) decodes with its entries' metadata.
func TestDecodeV04(t *testing.T) {
	m := &wire.Message{MessageID: "r", Lamport: 7, ChannelID: "chan", SenderID: "bob",
		CausalHistory: []wire.HistoryEntry{{MessageID: "q", RetrievalHint: []byte("hash"), SenderID: "alice"}, {MessageID: "p"}}}
	code, out, errOut := sdsctl(t, nil, "decode", hex.EncodeToString(m.MarshalAs(wire.V04)))
	require.Equal(t, 0, code, errOut)
	v := decodeJSON[messageView](t, out)
	require.Equal(t, "0.4", v.Generation)
	require.Equal(t, "r", v.MessageID)
	require.Equal(t, "bob", v.SenderID)
	require.Zero(t, v.Content.Len)
	require.Len(t, v.CausalHistory, 2)
	require.Equal(t, entryView{MessageID: "q", RetrievalHint: viewBytes([]byte("hash")), SenderID: "alice"}, v.CausalHistory[0])
	require.Equal(t, "p", v.CausalHistory[1].MessageID)
	require.Zero(t, v.BloomFilter.Bytes)
}

func TestDecodeRejectsWhatIsNotAMessage(t *testing.T) {
	code, out, errOut := sdsctl(t, []byte("not a message at all"), "decode")
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "not an SDS message")

	code, _, errOut = sdsctl(t, nil, "decode", "-in", "hex", "zz")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "invalid byte")
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"decode", "-in", "morse", "00"}, {"decode", "a", "b"}, {"store"}, {"decode", "-bogus"}} {
		code, _, errOut := sdsctl(t, nil, args...)
		require.Equal(t, 2, code, "%q", args)
		require.Contains(t, errOut, "usage:", "%q", args)
	}
	code, out, _ := sdsctl(t, nil, "help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "sdsctl decode")
}

// A store written by two managers shows each namespace's buffers: alice's two
// unacknowledged messages, bob's message waiting for the one he missed.
func TestStoreSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sds.db")
	open := func(ns string) (*sqlite.Store, *engine.Manager) {
		st, err := sqlite.Open(path, sqlite.Options{Namespace: ns})
		require.NoError(t, err)
		m, err := engine.New(engine.Options{ParticipantID: ns, Store: st})
		require.NoError(t, err)
		return st, m
	}
	aliceStore, alice := open("alice")
	bobStore, bob := open("bob")
	_, err := alice.Wrap([]byte("first"), "m1", "general")
	require.NoError(t, err)
	m2, err := alice.Wrap([]byte("second"), "m2", "general")
	require.NoError(t, err)
	u, err := bob.Unwrap(m2) // m1 never arrives: m2 waits for it
	require.NoError(t, err)
	require.Len(t, u.MissingDeps, 1)
	for _, c := range []interface{ Close() error }{alice, bob, aliceStore, bobStore} {
		require.NoError(t, c.Close())
	}

	code, out, errOut := sdsctl(t, nil, "store", path)
	require.Equal(t, 0, code, errOut)
	in := decodeJSON[sqlite.Inspection](t, out)
	require.True(t, in.OurDatabase)
	require.Equal(t, []string{"ok"}, in.Integrity)
	require.Len(t, in.Namespaces, 2)
	a, b := in.Namespaces[0], in.Namespaces[1]
	require.Equal(t, "alice", a.Namespace)
	require.Equal(t, "bob", b.Namespace)
	require.Len(t, a.Channels, 1)
	require.Equal(t, "general", a.Channels[0].Channel)
	require.EqualValues(t, 2, a.Channels[0].Outgoing.Count)
	require.EqualValues(t, 2, a.Channels[0].Log.Count)
	require.Positive(t, a.Channels[0].Lamport)
	require.EqualValues(t, 1, b.Channels[0].Incoming.Count)
	require.Positive(t, b.Channels[0].Incoming.Bytes)
	require.Zero(t, b.Channels[0].Log.Count)

	code, out, errOut = sdsctl(t, nil, "store", "-namespace", "bob", "-channel", "nowhere", path)
	require.Equal(t, 0, code, errOut)
	in = decodeJSON[sqlite.Inspection](t, out)
	require.Len(t, in.Namespaces, 1)
	require.Equal(t, "bob", in.Namespaces[0].Namespace)
	require.Empty(t, in.Namespaces[0].Channels)

	code, _, errOut = sdsctl(t, nil, "store", filepath.Join(t.TempDir(), "missing.db"))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no such file")
}
