package nimcompat_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/wire"
	"github.com/logos-messaging/libsds-go/internal/trace"
	"github.com/logos-messaging/libsds-go/internal/vectors"
	"github.com/logos-messaging/libsds-go/libsds/internal/nimcompat"
)

func TestCSV(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	want := ""
	for i := range all {
		if i > 0 {
			want += ","
		}
		want += fmt.Sprint(i)
	}
	got := nimcompat.AppendCSV([]byte("x"), all)
	require.Equal(t, "x"+want, string(got))
	require.Equal(t, len(want), nimcompat.CSVLen(all))
	require.Equal(t, "", string(nimcompat.AppendCSV(nil, nil)))
	require.Equal(t, "0", string(nimcompat.AppendCSV(nil, []byte{0})))
	require.Zero(t, nimcompat.CSVLen(nil))
}

// The unwrap result's message is a JSON number array: every byte value, the
// empty message, and text already in the buffer kept.
func TestUnwrapResultNumbers(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(255 - i)
	}
	want, err := json.Marshal(struct {
		Message     []int  `json:"message"`
		ChannelID   string `json:"channelId"`
		MissingDeps []int  `json:"missingDeps"`
	}{Message: func() []int {
		n := make([]int, len(all))
		for i, b := range all {
			n[i] = int(b)
		}
		return n
	}(), ChannelID: "c", MissingDeps: []int{}})
	require.NoError(t, err)
	require.Equal(t, "x"+string(want), string(nimcompat.AppendUnwrapResult([]byte("x"), all, "c", nil)))
	require.Equal(t, `{"message":[],"channelId":"c","missingDeps":[]}`,
		string(nimcompat.AppendUnwrapResult(nil, nil, "c", nil)))
	require.Equal(t, `{"message":[7],"channelId":"c","missingDeps":[]}`,
		string(nimcompat.AppendUnwrapResult(nil, []byte{7}, "c", nil)))
}

func TestEscapeLikeNim(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                    `"plain"`,
		"q\"b\\":                   `"q\"b\\"`,
		"\b\f\n\r\t":               `"\b\f\n\r\t"`,
		"\x0b":                     `"\u000b"`,
		"\x00\x07\x0e\x1f":         `"\u0000\u0007\u000E\u001F"`,
		"/<>&\x7f é\u2028\xff\xfe": "\"/<>&\x7f é\u2028\xff\xfe\"",
	} {
		require.Equal(t, want, string(nimcompat.AppendString(nil, in)), "%q", in)
	}
}

// TestAgainstNimSdsTrace renders every event and unwrap result nim-sds recorded
// from the values the trace gives, and compares the bytes.
func TestAgainstNimSdsTrace(t *testing.T) {
	lines, err := trace.Load(vectors.Path(t, "trace-nim-sds.jsonl"))
	require.NoError(t, err)
	checked := 0
	for _, l := range lines {
		switch {
		case l.Kind == trace.KindEvent:
			ev := parseEvent(t, l.Event.Raw)
			require.Equal(t, string(l.Event.Raw), string(nimcompat.AppendEvent(nil, ev)), "step %d", l.Event.Step)
			checked++
		case l.Kind == trace.KindCall && l.Call.Op == "unwrap" && l.Call.Result != nil && l.Call.Result.Ret == 0 &&
			l.Call.Result.Payload != nil:
			content, ch, deps := parseUnwrap(t, l.Call.Result.Payload)
			require.Equal(t, string(l.Call.Result.Payload),
				string(nimcompat.AppendUnwrapResult(nil, content, ch, deps)), "step %d", l.Call.Step)
			checked++
		case l.Kind == trace.KindCall && l.Call.Result != nil && l.Call.Result.Ret == 1 && !l.Call.Result.CallerThread:
			// processing errors: the text must be one we produce
			p := string(l.Call.Result.Payload)
			found := false
			for _, op := range []string{nimcompat.OpWrap, nimcompat.OpUnwrap, nimcompat.OpMark, nimcompat.OpReset} {
				for _, e := range []error{engine.ErrInvalidArgument, engine.ErrMessageTooLarge, engine.ErrDeserialization} {
					found = found || nimcompat.ProcessingError(op, e) == p
				}
			}
			require.True(t, found, "step %d: %s", l.Call.Step, p)
			checked++
		}
	}
	require.Greater(t, checked, 100)
}

// parseEvent reads an event back from nim's JSON. Ids with invalid UTF-8 (step
// 102) are recovered from the raw bytes, since encoding/json would replace them.
func parseEvent(t *testing.T, raw []byte) engine.Event {
	var v struct {
		EventType   string `json:"eventType"`
		MessageID   string `json:"messageId"`
		ChannelID   string `json:"channelId"`
		MissingDeps []struct {
			MessageID     string `json:"messageId"`
			RetrievalHint []byte `json:"retrievalHint"`
		} `json:"missingDeps"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || !json.Valid(raw) {
		t.Fatalf("%s: %v", raw, err)
	}
	if string(raw) == "{\"messageId\":\"bad\xff\xfe\",\"channelId\":\"c9\",\"eventType\":\"message_ready\"}" {
		v.MessageID = "bad\xff\xfe"
	}
	kinds := map[string]engine.EventKind{"message_ready": engine.MessageReady, "message_sent": engine.MessageAcknowledged,
		"missing_dependencies": engine.MissingDependencies, "periodic_sync": engine.PeriodicSync}
	e := engine.Event{Kind: kinds[v.EventType], MessageID: v.MessageID, ChannelID: v.ChannelID}
	require.NotZero(t, e.Kind, "%s", raw)
	for _, d := range v.MissingDeps {
		e.MissingDeps = append(e.MissingDeps, wire.HistoryEntry{MessageID: d.MessageID, RetrievalHint: d.RetrievalHint})
	}
	return e
}

func parseUnwrap(t *testing.T, raw []byte) ([]byte, string, []wire.HistoryEntry) {
	var v struct {
		Message     []int  `json:"message"`
		ChannelID   string `json:"channelId"`
		MissingDeps []struct {
			MessageID     string `json:"messageId"`
			RetrievalHint []byte `json:"retrievalHint"`
		} `json:"missingDeps"`
	}
	require.NoError(t, json.Unmarshal(raw, &v))
	content := make([]byte, len(v.Message))
	for i, b := range v.Message {
		content[i] = byte(b)
	}
	var deps []wire.HistoryEntry
	for _, d := range v.MissingDeps {
		deps = append(deps, wire.HistoryEntry{MessageID: d.MessageID, RetrievalHint: d.RetrievalHint})
	}
	return content, v.ChannelID, deps
}

func BenchmarkCSV(b *testing.B) {
	data := make([]byte, 18796)
	for i := range data {
		data[i] = byte(i * 7)
	}
	dst := make([]byte, 4*len(data))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		nimcompat.PutCSV(dst, data)
	}
}

// BenchmarkUnwrapResult formats the compatible unwrap result of a 100-byte
// message, as abi_bench's receiver gets it.
func BenchmarkUnwrapResult(b *testing.B) {
	content := make([]byte, 100)
	for i := range content {
		content[i] = byte('a' + i%26)
	}
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		dst = nimcompat.AppendUnwrapResult(dst[:0], content, "chan-0", nil)
	}
}
