package wire

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/internal/vectors"
)

// The C-ABI trace of nim-sds (vectors/trace-nim-sds.jsonl): every wire nim-sds
// produced, every wire it was fed, and what it answered.

type traceLine struct {
	Step      int             `json:"step"`
	Section   string          `json:"section"`
	Note      string          `json:"note"`
	Op        string          `json:"op"`
	Args      traceArgs       `json:"args"`
	Cb        json.RawMessage `json:"cb"`
	WireHex   *string         `json:"wireHex"`
	WireParts []hexPart       `json:"wireParts"`
}

type traceArgs struct {
	WireHex      *string   `json:"wireHex"`
	WireParts    []hexPart `json:"wireParts"`
	WireNull     bool      `json:"wireNull"`
	WireLen      int       `json:"wireLen"`
	FromStep     *int      `json:"fromStep"`
	MessageID    *string   `json:"messageId"`
	MessageIDHex *string   `json:"messageIdHex"`
	ChannelID    *string   `json:"channelId"`
	ChannelIDHex *string   `json:"channelIdHex"`
	ContentHex   *string   `json:"contentHex"`
	ContentParts []hexPart `json:"contentParts"`
	ContentNull  bool      `json:"contentNull"`
}

type traceCb struct {
	Ret     int     `json:"ret"`
	Payload *string `json:"payload"`
}

// hexPart is one element of a …Parts array: a hex string, or {"fill","len"}.
type hexPart struct{ b []byte }

func (p *hexPart) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		b, err := hex.DecodeString(s)
		p.b = b
		return err
	}
	var fill struct {
		Fill string `json:"fill"`
		Len  int    `json:"len"`
	}
	if err := json.Unmarshal(data, &fill); err != nil {
		return err
	}
	fb, err := hex.DecodeString(fill.Fill)
	if err != nil || len(fb) != 1 {
		return fmt.Errorf("bad fill %q", fill.Fill)
	}
	p.b = bytes.Repeat(fb, fill.Len)
	return nil
}

func joinParts(hexStr *string, parts []hexPart) ([]byte, bool) {
	if hexStr != nil {
		b, err := hex.DecodeString(*hexStr)
		if err != nil {
			panic(err)
		}
		return b, true
	}
	if parts == nil {
		return nil, false
	}
	var b []byte
	for _, p := range parts {
		b = append(b, p.b...)
	}
	return b, true
}

func textOrHex(s, h *string) string {
	if h != nil {
		b, err := hex.DecodeString(*h)
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	if s == nil {
		return ""
	}
	return *s
}

func loadTrace(t testing.TB) []traceLine {
	t.Helper()
	f, err := os.Open(vectors.Path(t, "trace-nim-sds.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	var lines []traceLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var l traceLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "trace line %q", truncate(sc.Text()))
		if l.Op != "" {
			lines = append(lines, l)
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, lines)
	return lines
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func (l *traceLine) cb() (traceCb, bool) {
	var cb traceCb
	if len(l.Cb) == 0 || l.Cb[0] != '{' {
		return cb, false // null (NULL callback) or "timeout"
	}
	if err := json.Unmarshal(l.Cb, &cb); err != nil {
		panic(err)
	}
	return cb, true
}

// unwrapResult is nim-sds's JSON result of a successful SdsUnwrapReceivedMessage.
type unwrapResult struct {
	Message     []int  `json:"message"`
	ChannelID   string `json:"channelId"`
	MissingDeps []struct {
		MessageID     string `json:"messageId"`
		RetrievalHint []byte `json:"retrievalHint"` // base64
	} `json:"missingDeps"`
}

// TestTraceHandBuilt replays the hand-built inputs (fromStep null) nim-sds was fed
// and checks that the decoder accepts exactly those nim-sds accepted.
func TestTraceHandBuilt(t *testing.T) {
	checked := 0
	for _, l := range loadTrace(t) {
		if l.Op != "unwrap" || l.Args.FromStep != nil {
			continue
		}
		wire, ok := joinParts(l.Args.WireHex, l.Args.WireParts)
		if !ok {
			if !l.Args.WireNull || l.Args.WireLen != 0 {
				continue // NULL with a length: rejected by the ABI before decoding
			}
			wire = nil // NULL, 0: decoded as an empty buffer
		}
		cb, ok := l.cb()
		require.True(t, ok, "step %d has a result", l.Step)
		t.Run(fmt.Sprintf("step%d", l.Step), func(t *testing.T) {
			m, err := UnmarshalV03(wire)
			_, refOK := refDecode(wire)
			assert.Equal(t, refOK, err == nil, "minprotobuf port disagrees")
			switch cb.Ret {
			case 0:
				require.NoError(t, err, "nim-sds accepted: %s", l.Note)
				if cb.Payload != nil {
					checkUnwrapResult(t, m, *cb.Payload)
				}
			case 1:
				require.NotNil(t, cb.Payload)
				require.Contains(t, *cb.Payload, "reDeserializationError")
				assert.ErrorIs(t, err, ErrMalformed, "nim-sds rejected: %s", l.Note)
			default:
				t.Fatalf("unexpected ret %d", cb.Ret)
			}
		})
		checked++
	}
	assert.GreaterOrEqual(t, checked, 8, "hand-built inputs found in the trace")
}

// TestTraceHints checks the hand-built message with hints of 08-retrieval-hints
// field by field.
func TestTraceHints(t *testing.T) {
	var found bool
	for _, l := range loadTrace(t) {
		if l.Op != "unwrap" || l.Section != "08-retrieval-hints" || l.Args.FromStep != nil {
			continue
		}
		found = true
		wire, _ := joinParts(l.Args.WireHex, l.Args.WireParts)
		m := mustUnmarshal(t, wire)
		assert.Equal(t, "c4", m.ChannelID)
		assert.Equal(t, int64(1), m.Lamport)
		assert.Equal(t, []HistoryEntry{
			{MessageID: "hx1", RetrievalHint: []byte("hint:h1")},
			{MessageID: "hx2", RetrievalHint: []byte{0xff, 0xfe, 0xfd}},
			{MessageID: "hx3", RetrievalHint: []byte("12345678")},
			{MessageID: "hx4", SenderID: "s4"},
		}, m.CausalHistory)
		cb, ok := l.cb()
		require.True(t, ok)
		require.Equal(t, 0, cb.Ret)
		checkUnwrapResult(t, m, *cb.Payload)
		assert.Equal(t, wire, m.Marshal(), "hand-built in canonical form")
	}
	assert.True(t, found)
}

// checkUnwrapResult compares a decoded message with nim-sds's unwrap result:
// content, channel, and every missing dependency with its hint.
func checkUnwrapResult(t *testing.T, m *Message, payload string) {
	t.Helper()
	var res unwrapResult
	if err := json.Unmarshal([]byte(payload), &res); err != nil || res.Message == nil {
		return // not a JSON result (or not valid UTF-8 text): nothing to compare
	}
	content := make([]byte, len(res.Message))
	for i, v := range res.Message {
		content[i] = byte(v)
	}
	assert.Equal(t, content, nonNil(m.Content))
	assert.Equal(t, res.ChannelID, m.ChannelID)
	for _, d := range res.MissingDeps {
		var hit *HistoryEntry
		for i := range m.CausalHistory {
			if m.CausalHistory[i].MessageID == d.MessageID {
				hit = &m.CausalHistory[i]
			}
		}
		if assert.NotNil(t, hit, "missing dep %q is in the causal history", d.MessageID) {
			assert.Equal(t, nonNil(d.RetrievalHint), nonNil(hit.RetrievalHint))
		}
	}
}

// TestTraceNimWires decodes every wire nim-sds produced or accepted in the trace
// and re-encodes it byte-identically.
func TestTraceNimWires(t *testing.T) {
	var wraps, unwraps int
	for _, l := range loadTrace(t) {
		switch l.Op {
		case "wrap":
			wire, ok := joinParts(l.WireHex, l.WireParts)
			if !ok {
				continue // bulk wraps carry only a hash
			}
			wraps++
			m, err := UnmarshalV03(wire)
			require.NoError(t, err, "step %d", l.Step)
			assert.Equal(t, wire, m.Marshal(), "step %d re-encodes", l.Step)
			assert.Equal(t, textOrHex(l.Args.MessageID, l.Args.MessageIDHex), m.MessageID, "step %d id", l.Step)
			assert.Equal(t, textOrHex(l.Args.ChannelID, l.Args.ChannelIDHex), m.ChannelID, "step %d channel", l.Step)
			content, _ := joinParts(l.Args.ContentHex, l.Args.ContentParts)
			assert.Equal(t, nonNil(content), nonNil(m.Content), "step %d content", l.Step)
			assert.Len(t, m.BloomFilter, 18768, "step %d default filter", l.Step)
		case "unwrap":
			cb, ok := l.cb()
			wire, hasWire := joinParts(l.Args.WireHex, l.Args.WireParts)
			if l.Args.FromStep == nil || !hasWire || (ok && cb.Ret != 0) {
				continue
			}
			unwraps++
			m, err := UnmarshalV03(wire)
			require.NoError(t, err, "step %d", l.Step)
			assert.Equal(t, wire, m.Marshal(), "step %d re-encodes", l.Step)
			ch, err := ExtractChannelID(wire)
			require.NoError(t, err)
			assert.Equal(t, m.ChannelID, ch)
			if ok && cb.Payload != nil {
				checkUnwrapResult(t, m, *cb.Payload)
			}
		}
	}
	t.Logf("%d wraps, %d unwraps", wraps, unwraps)
	assert.GreaterOrEqual(t, wraps, 30)
	assert.GreaterOrEqual(t, unwraps, 35)
}

// handBuiltInputs returns the small hand-built wires of the trace, for fuzz seeds.
func handBuiltInputs(t testing.TB) [][]byte {
	var out [][]byte
	for _, l := range loadTrace(t) {
		if l.Op != "unwrap" || l.Args.FromStep != nil {
			continue
		}
		if b, ok := joinParts(l.Args.WireHex, l.Args.WireParts); ok && len(b) < 64<<10 {
			out = append(out, b)
		}
	}
	return out
}
