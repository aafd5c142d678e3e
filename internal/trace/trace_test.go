package trace_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/internal/trace"
	"github.com/logos-messaging/libsds-go/internal/vectors"
)

func TestLoadsTheNimSdsTrace(t *testing.T) {
	lines, err := trace.Load(vectors.Path(t, "trace-nim-sds.jsonl"))
	require.NoError(t, err)
	counts := map[trace.Kind]int{}
	ops := map[string]int{}
	for _, l := range lines {
		counts[l.Kind]++
		if l.Kind == trace.KindCall {
			ops[l.Call.Op]++
			if l.Call.Op == "wrap" && l.Call.RC != nil && *l.Call.RC == 0 && l.Call.Result != nil && l.Call.Result.Ret == 0 {
				require.Positive(t, l.Call.WrapWireLen, "step %d", l.Call.Step)
				if l.Call.WrapWire != nil {
					require.Len(t, l.Call.WrapWire, l.Call.WrapWireLen)
					require.Equal(t, l.Call.WrapLamportAt, trace.LamportAt(l.Call.WrapWire), "step %d", l.Call.Step)
				}
			}
			if l.Call.Op == "unwrap" && !l.Call.WireNull {
				require.Len(t, l.Call.Wire, l.Call.WireLen, "step %d", l.Call.Step)
			}
			if l.Call.Op == "wrap" && !l.Call.ContentNull {
				require.Len(t, l.Call.Content, l.Call.ContentLen, "step %d", l.Call.Step)
			}
		}
	}
	require.Equal(t, 1, counts[trace.KindHeader])
	require.Equal(t, 1, counts[trace.KindFooter])
	require.Equal(t, 56, counts[trace.KindEvent], "the footer counts 56 events")
	require.Equal(t, 1039, ops["wrap"])
	require.Equal(t, 50, ops["unwrap"])
	require.Equal(t, 8, ops["markDependenciesMet"])
}

func TestCheckUnwrapFindsEachDifference(t *testing.T) {
	want := &trace.Result{Payload: []byte(`{"message":[104,105],"channelId":"c","missingDeps":[{"messageId":"m1","retrievalHint":"aGludA=="}]}`)}
	deps := []trace.Dep{{MessageID: "m1", RetrievalHint: []byte("hint")}}
	require.NoError(t, want.CheckUnwrap([]byte("hi"), "c", deps))
	require.ErrorContains(t, want.CheckUnwrap([]byte("ho"), "c", deps), "content")
	require.ErrorContains(t, want.CheckUnwrap([]byte("hi"), "d", deps), "channel")
	require.ErrorContains(t, want.CheckUnwrap([]byte("hi"), "c", nil), "missing dependencies")
	require.ErrorContains(t, want.CheckUnwrap([]byte("hi"), "c", []trace.Dep{{MessageID: "m2", RetrievalHint: []byte("hint")}}), "id")
	require.ErrorContains(t, want.CheckUnwrap([]byte("hi"), "c", []trace.Dep{{MessageID: "m1"}}), "hint")

	// a large result is recorded as the sha256 of nim-sds's JSON
	sum := sha256.Sum256([]byte(`{"message":[104,105],"channelId":"c","missingDeps":[]}`))
	large := &trace.Result{PayloadSHA: hex.EncodeToString(sum[:])}
	require.NoError(t, large.CheckUnwrap([]byte("hi"), "c", nil))
	require.ErrorContains(t, large.CheckUnwrap([]byte("ho"), "c", nil), "sha256")
	require.ErrorContains(t, large.CheckUnwrap([]byte("hi"), "c", deps), "missing dependencies")
}

func TestErrorNameIsTheLastWord(t *testing.T) {
	r := &trace.Result{Ret: 1, Payload: []byte("error processing UNWRAP_MESSAGE: reDeserializationError")}
	require.Equal(t, "reDeserializationError", r.ErrorName())
}

func TestStepsGroupEventsAndHintsWithTheCallAfterThem(t *testing.T) {
	c1, c2 := &trace.Call{Step: 1}, &trace.Call{Step: 2}
	e1 := &trace.Event{Step: 1}
	lines := []trace.Line{
		{Kind: trace.KindHeader},
		{Kind: trace.KindHint, Hint: &trace.Hint{MessageID: "h1"}},
		{Kind: trace.KindEvent, Event: e1},
		{Kind: trace.KindCall, Call: c1},
		{Kind: trace.KindCall, Call: c2},
		{Kind: trace.KindFooter},
	}
	steps := trace.Steps(lines)
	require.Len(t, steps, 2)
	require.Same(t, c1, steps[0].Call)
	require.Equal(t, []*trace.Event{e1}, steps[0].Events)
	require.Equal(t, []string{"h1"}, steps[0].Hints)
	require.Same(t, c2, steps[1].Call)
	require.Empty(t, steps[1].Events)
	require.Empty(t, steps[1].Hints)
}
