package engine_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/wire"
	"github.com/logos-messaging/libsds-go/internal/trace"
	"github.com/logos-messaging/libsds-go/internal/vectors"
)

// TestReplayNimSds04WireTrace drives the wraps and unwraps of nim-sds 0.4's
// recording (vectors/trace-nim-sds-v04.jsonl, run "main") through managers
// writing wire.V04 with the same participant ids and hint provider, and
// compares every wrap output byte for byte but for the clock-derived lamport,
// and every unwrap's outcome (error, content, channel, missing ids and hints).
// The one deliberate difference is the 0.3-layout message, whose history entry
// nim-sds 0.4 takes for the id "\n\x05msg-0" and the engine reads as msg-0.
func TestReplayNimSds04WireTrace(t *testing.T) {
	calls, err := trace.WireCallsV04(vectors.Path(t, "trace-nim-sds-v04.jsonl"))
	require.NoError(t, err)
	v04 := et.WithGeneration(wire.V04)
	peers := map[string]*et.Peer{
		"A": et.NewPeer(t, et.WithID("alice"), v04, et.WithHints(func(id string) []byte { return []byte("hint-" + id) })),
		"B": et.NewPeer(t, et.WithID("bob"), v04),
		"C": et.NewPeer(t, et.WithID(""), v04),
	}
	compared := map[string]int{}
	for _, c := range calls {
		if c.Run != "main" || (c.Ret != 0 && !bytes.HasPrefix(c.Result, []byte("error processing"))) {
			continue // other runs; request-JSON errors, which the C layer owns
		}
		mgr := c.Mgr
		if mgr == "" { // the error and wire-format steps ran on A (wrap) and B (unwrap)
			mgr = map[string]string{"wrap": "A", "unwrap": "B"}[c.Op]
		}
		p := peers[mgr]
		require.NotNil(t, p, c.Step)
		if c.Step == "unwrap B m2 after reset" {
			require.NoError(t, p.Reset())
		}
		switch c.Op {
		case "mark":
			err := p.MarkDependenciesMet(c.MessageIDs, c.ChannelID)
			if c.Ret != 0 {
				require.ErrorIs(t, err, engine.ErrUnknownChannel, c.Step)
			} else {
				require.NoError(t, err, c.Step)
			}
			compared["mark"]++
		case "wrap":
			out, err := p.Wrap(c.Content, c.MessageID, c.ChannelID)
			if c.Ret != 0 {
				require.ErrorIs(t, err, engine.ErrInvalidArgument, c.Step)
				continue
			}
			require.NoError(t, err, c.Step)
			require.Equal(t, hex.EncodeToString(maskLamportV04(t, c.Output, c.Output)),
				hex.EncodeToString(maskLamportV04(t, out, c.Output)), c.Step)
			compared["wrap"]++
		case "unwrap":
			res, err := p.Unwrap(c.Input)
			if c.Ret != 0 {
				require.ErrorIs(t, err, engine.ErrDeserialization, c.Step)
				compared["unwrapErr"]++
				continue
			}
			require.NoError(t, err, c.Step)
			var want struct {
				Message     []int
				ChannelID   string `json:"channelId"`
				MissingDeps []struct {
					MessageID     string `json:"messageId"`
					RetrievalHint string `json:"retrievalHint"`
				} `json:"missingDeps"`
			}
			require.NoError(t, json.Unmarshal(c.Result, &want), c.Step)
			require.Len(t, res.Content, len(want.Message), c.Step)
			require.Equal(t, want.ChannelID, res.ChannelID, c.Step)
			if c.Step == "unwrap v0.3-format msg (field3=HistoryEntry)" {
				require.Equal(t, "\n\x05msg-0", want.MissingDeps[0].MessageID)
				require.Equal(t, []string{"msg-0"}, et.IDsOf(res.MissingDeps), "read as 0.3: no bogus id")
				compared["deliberate"]++
				continue
			}
			if c.Step == "unwrap field8 meta + dup ids" {
				// Deliberate: an id cited twice is missing once (docs/compat.md).
				require.Len(t, want.MissingDeps, 2)
				require.Equal(t, want.MissingDeps[0], want.MissingDeps[1])
				want.MissingDeps = want.MissingDeps[:1]
				compared["deliberate"]++
			}
			require.Len(t, res.MissingDeps, len(want.MissingDeps), c.Step)
			for i, d := range want.MissingDeps {
				require.Equal(t, d.MessageID, res.MissingDeps[i].MessageID, c.Step)
				require.Equal(t, d.RetrievalHint, base64.StdEncoding.EncodeToString(res.MissingDeps[i].RetrievalHint), c.Step)
			}
			compared["unwrap"]++
		}
	}
	t.Logf("compared %v", compared)
	require.Equal(t, 10, compared["wrap"])
	require.GreaterOrEqual(t, compared["unwrap"], 12)
	require.GreaterOrEqual(t, compared["unwrapErr"], 6)
	require.Equal(t, 2, compared["deliberate"]) // the 0.3-format message and the repeated citation
	require.Equal(t, 4, compared["mark"])
}

// maskLamportV04 re-encodes a 0.4 wire (which may hold the empty ids nim-sds
// writes but refuses to read) with golden's lamport. Encoding is canonical, so
// equal results mean equal bytes but for field 2; the first check pins that
// golden itself is canonical.
func maskLamportV04(t *testing.T, b, golden []byte) []byte {
	t.Helper()
	m := decodeLenientV04(t, b)
	require.True(t, bytes.Equal(b, m.MarshalAs(wire.V04)), "canonical 0.4 bytes")
	m.Lamport = decodeLenientV04(t, golden).Lamport
	return m.MarshalAs(wire.V04)
}

// decodeLenientV04 decodes a 0.4 wire, filling in the message and channel ids
// 0.4 refuses to read when empty, and restoring them empty.
func decodeLenientV04(t *testing.T, b []byte) *wire.Message {
	t.Helper()
	if m, err := wire.UnmarshalV04(b); err == nil {
		return m
	}
	// Prefix placeholder fields 1 and 4; the decoder's last-wins rule keeps the
	// real ones when present.
	fixed := append([]byte{0x0a, 0x01, '?', 0x22, 0x01, '?'}, b...)
	m, err := wire.UnmarshalV04(fixed)
	require.NoError(t, err)
	if m.MessageID == "?" {
		m.MessageID = ""
	}
	if m.ChannelID == "?" {
		m.ChannelID = ""
	}
	return m
}
