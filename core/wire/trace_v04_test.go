package wire

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/internal/trace"
	"github.com/logos-messaging/libsds-go/internal/vectors"
)

// v03InV04Trace is the trace step that feeds nim-sds 0.4 a 0.3-layout message:
// nim-sds reads its history entry as the bogus id "\n\x05msg-0", Decode reads
// the id msg-0 (a deliberate difference).
const v03InV04Trace = "unwrap v0.3-format msg (field3=HistoryEntry)"

func v04Calls(t *testing.T) []trace.WireCallV04 {
	calls, err := trace.WireCallsV04(vectors.Path(t, "trace-nim-sds-v04.jsonl"))
	require.NoError(t, err)
	return calls
}

// TestV04TraceWrapOutputs: every wire nim-sds 0.4 wrapped decodes with the 0.4
// rules and with Decode, as the same message, and re-encodes in 0.4 to the
// same bytes (lamport included: it is re-encoded from the decoded value).
func TestV04TraceWrapOutputs(t *testing.T) {
	n, withMeta, rejected := 0, 0, 0
	for _, c := range v04Calls(t) {
		if c.Op != "wrap" || c.Ret != 0 {
			continue
		}
		n++
		m, _, err := unmarshalV04(c.Output, false, false)
		require.NoError(t, err, c.Step)
		require.Equal(t, c.MessageID, m.MessageID, c.Step)
		require.Equal(t, c.Content, m.Content, c.Step)
		require.Equal(t, c.ChannelID, m.ChannelID, c.Step)
		require.Equal(t, len(c.Output), m.SizeAs(V04), c.Step)
		require.Equal(t, c.Output, m.MarshalAs(V04), c.Step)
		if _, err := UnmarshalV04(c.Output); err != nil {
			// nim-sds wraps an empty id or channel, but no 0.4 receiver accepts
			// it, nor a later wrap citing the empty id (ABI-v0.4 §9.2).
			require.True(t, c.MessageID == "" || c.ChannelID == "" || slices.Contains(idsOf(m.CausalHistory), ""), c.Step)
			rejected++
			continue
		}
		if bytes.Contains(c.Output, []byte{0x42}) && len(m.CausalHistory) > 0 {
			withMeta++
		}
		got, g, err := Decode(c.Output, V03)
		require.NoError(t, err, c.Step)
		require.Equal(t, normalize(m), normalize(got), c.Step)
		if len(m.CausalHistory) > 0 {
			require.Equal(t, V04, g, c.Step)
		}
	}
	require.Equal(t, 10, n, "every successful wrap of the trace")
	require.Positive(t, withMeta)
	require.Equal(t, 3, rejected, "two empty ids and an empty channel")
}

// TestV04TraceUnwrapInputs: every wire the trace fed nim-sds 0.4 is accepted
// or refused by UnmarshalV04 as nim-sds did, with the content, channel and
// causal ids nim-sds reported; Decode agrees but for the 0.3-layout message,
// which it reads correctly.
func TestV04TraceUnwrapInputs(t *testing.T) {
	n := 0
	for _, c := range v04Calls(t) {
		if c.Op != "unwrap" {
			continue
		}
		n++
		m, err := UnmarshalV04(c.Input)
		if c.Ret != 0 {
			require.Error(t, err, c.Step)
			require.ErrorIs(t, err, ErrMalformed, c.Step)
			_, _, err = Decode(c.Input, V04)
			require.Error(t, err, c.Step)
			continue
		}
		require.NoError(t, err, c.Step)
		var res struct {
			Message     []int
			ChannelID   string `json:"channelId"`
			MissingDeps []struct {
				MessageID string `json:"messageId"`
			} `json:"missingDeps"`
		}
		require.NoError(t, json.Unmarshal(c.Result, &res), c.Step)
		require.Len(t, m.Content, len(res.Message), c.Step)
		require.Equal(t, res.ChannelID, m.ChannelID, c.Step)
		cited := map[string]bool{}
		for _, e := range m.CausalHistory {
			cited[e.MessageID] = true
		}
		for _, d := range res.MissingDeps {
			require.True(t, cited[d.MessageID], "%s: %q reported missing but not cited", c.Step, d.MessageID)
		}
		got, _, err := Decode(c.Input, V04)
		require.NoError(t, err, c.Step)
		if c.Step == v03InV04Trace {
			require.Equal(t, "\n\x05msg-0", m.CausalHistory[0].MessageID, "nim-sds 0.4's reading")
			require.Equal(t, []string{"msg-0"}, idsOf(got.CausalHistory), "ours")
			continue
		}
		require.Equal(t, normalize(m), normalize(got), c.Step)
	}
	require.GreaterOrEqual(t, n, 20)
}

func idsOf(es []HistoryEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.MessageID
	}
	return out
}
