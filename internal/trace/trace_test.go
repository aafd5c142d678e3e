package trace_test

import (
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
