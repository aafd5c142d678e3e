package engine_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/clock"
	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/internal/trace"
	"github.com/logos-messaging/libsds-go/internal/vectors"
)

// TestReplayNimSdsTrace drives the scenario nim-sds recorded through its C ABI
// (vectors/trace-nim-sds.jsonl) straight through the engine, and compares every
// outcome the engine is responsible for with nim-sds's: wrap bytes (all but the
// clock-derived lamport), unwrap results, errors, the events of each call in
// order, and the retrieval-hint requests. C-level concerns (argument validation
// on the caller's thread, NULL callbacks, JSON text) belong to the C layer's
// replay. Deliberate differences: manager E, whose events nim-sds dropped
// because its event userData was NULL; and the message with plain-id causal
// history (legacyStep), which nim-sds 0.3 refuses and the engine reads as the
// 0.4 layout it is (package wire: Detect).
func TestReplayNimSdsTrace(t *testing.T) {
	lines, err := trace.Load(vectors.Path(t, "trace-nim-sds.jsonl"))
	require.NoError(t, err)
	start := time.Unix(lines[0].Header.StartUnix, 0)

	type mgr struct {
		m        *engine.Manager
		ev       *et.Recorder
		hints    *[]string
		userData bool
	}
	managers := map[string]*mgr{}
	compared := map[string]int{}

	for _, step := range trace.Steps(lines) {
		c, events, hints := step.Call, step.Events, step.Hints
		where := fmt.Sprintf("step %d (%s %s %s)", c.Step, c.Section, c.Mgr, c.Op)
		p := managers[c.Mgr]
		// C-level only: NULL callbacks, validation errors raised on the caller's
		// thread, probes in child processes, sleeps.
		if !c.Callback && c.Op != "setEventCallback" && c.Op != "setHintProvider" && c.Op != "sleep" && c.Op != "probe" {
			continue
		}
		if c.Result != nil && c.Result.CallerThread {
			continue
		}
		var got []engine.Event
		var gotHints []string
		run := func(f func() error) error {
			if p.hints != nil {
				*p.hints = nil
			}
			err := f()
			got = p.ev.Take()
			if p.hints != nil {
				gotHints = *p.hints
			}
			return err
		}
		switch c.Op {
		case "new":
			clk := clock.NewFake(start)
			rec := &et.Recorder{}
			m, err := engine.New(engine.Options{Clock: clk, Events: rec})
			require.NoError(t, err)
			managers[c.Mgr] = &mgr{m: m, ev: rec}
			continue
		case "setEventCallback":
			p.userData = c.UserData
			continue
		case "setHintProvider":
			switch c.Provider {
			case "none":
				p.m.SetHintProvider(nil)
				p.hints = nil
			default:
				asked := []string{}
				p.hints = &asked
				malloc := c.Provider == "malloc"
				p.m.SetHintProvider(func(id string) []byte {
					*p.hints = append(*p.hints, id)
					if malloc {
						return []byte("hint:" + id)
					}
					return nil
				})
			}
			continue
		case "wrap":
			var out []byte
			err := run(func() (err error) {
				out, err = p.m.Wrap(c.Content, *c.MessageID, *c.ChannelID)
				return err
			})
			requireOutcome(t, where, c.Result, err)
			if err == nil {
				compared["wrap"]++
				at := trace.LamportAt(out)
				require.Equal(t, c.WrapWireLen, len(out), where)
				if c.WrapWire != nil {
					require.Equal(t, hex.EncodeToString(trace.MaskLamport(c.WrapWire, c.WrapLamportAt)),
						hex.EncodeToString(trace.MaskLamport(out, at)), where)
				} else {
					sum := sha256.Sum256(trace.MaskLamport(out, at))
					require.Equal(t, c.WrapMaskedSHA256, hex.EncodeToString(sum[:]), where)
				}
			}
		case "unwrap":
			var res *engine.Unwrapped
			err := run(func() (err error) {
				res, err = p.m.Unwrap(c.Wire)
				return err
			})
			if c.Step == legacyStep {
				require.NoError(t, err, where)
				require.Equal(t, []string{"msg-1"}, et.IDsOf(res.MissingDeps), where)
				require.Len(t, got, 1, where)
				require.Equal(t, engine.MissingDependencies, got[0].Kind, where)
				require.Equal(t, []string{"msg-1"}, et.IDsOf(got[0].MissingDeps), where)
				compared["deliberate"]++
				continue
			}
			requireOutcome(t, where, c.Result, err)
			if err == nil {
				compared["unwrap"]++
				requireUnwrapResult(t, where, c.Result, res)
			}
		case "markDependenciesMet":
			ids := make([]string, len(c.MessageIDs))
			for i, id := range c.MessageIDs {
				if id != nil {
					ids[i] = *id
				}
			}
			err := run(func() error { return p.m.MarkDependenciesMet(ids, *c.ChannelID) })
			requireOutcome(t, where, c.Result, err)
		case "reset":
			requireOutcome(t, where, c.Result, run(p.m.Reset))
		case "startPeriodicTasks":
			// the first tick of each loop runs at once, before the result
			err := run(func() error {
				return errors.Join(p.m.SweepBuffers(), p.m.SyncTick(), p.m.SweepRepairs())
			})
			requireOutcome(t, where, c.Result, err)
		case "cleanup":
			requireOutcome(t, where, c.Result, run(p.m.Close))
			delete(managers, c.Mgr)
		default:
			continue
		}
		compared["calls"]++
		require.Equal(t, hints, gotHints, "%s: hint-provider requests", where)
		if p.userData {
			golden, err := trace.EventValues(events)
			require.NoError(t, err, where)
			require.Equal(t, golden, ourEventValues(t, got), "%s: events", where)
			compared["events"] += len(events)
		} else {
			require.Empty(t, events, "%s: nim-sds drops events without userData", where)
		}
	}
	t.Logf("compared %v", compared)
	require.Equal(t, 56, compared["events"], "all 56 events nim-sds delivered (the footer's count)")
	require.GreaterOrEqual(t, compared["wrap"], 1030)
	require.GreaterOrEqual(t, compared["unwrap"], 40)
	require.Equal(t, 1, compared["deliberate"], "the plain-id history step was replayed")
}

// legacyStep is the trace step that unwraps a message whose causal history is
// the plain id "msg-1" (0.2 and 0.4 layout).
const legacyStep = 82

// requireOutcome checks success or the nim-sds error name in the result payload.
func requireOutcome(t *testing.T, where string, want *trace.Result, err error) {
	t.Helper()
	require.NotNil(t, want, where)
	if want.Ret == 0 {
		require.NoError(t, err, where)
		return
	}
	require.Error(t, err, where)
	name := want.ErrorName()
	sentinel := map[string]error{
		"reInvalidArgument":      engine.ErrInvalidArgument,
		"reMessageTooLarge":      engine.ErrMessageTooLarge,
		"reDeserializationError": engine.ErrDeserialization,
	}[name]
	if name == "reInvalidArgument" && errors.Is(err, engine.ErrUnknownChannel) {
		return // nim-sds reports an unknown channel as reInvalidArgument
	}
	require.NotNil(t, sentinel, "%s: unexpected nim error %q", where, want.Payload)
	require.ErrorIs(t, err, sentinel, where)
}

// requireUnwrapResult compares the engine's result with nim-sds's unwrap JSON.
func requireUnwrapResult(t *testing.T, where string, want *trace.Result, res *engine.Unwrapped) {
	t.Helper()
	deps := make([]trace.Dep, len(res.MissingDeps))
	for i, d := range res.MissingDeps {
		deps[i] = trace.Dep{MessageID: d.MessageID, RetrievalHint: d.RetrievalHint}
	}
	require.NoError(t, want.CheckUnwrap(res.Content, res.ChannelID, deps), where)
}

// ourEventValues renders engine events the way nim-sds names them (both an
// acknowledgement and a give-up are "message_sent") as generic JSON values.
func ourEventValues(t *testing.T, evs []engine.Event) []any {
	out := []any{}
	for _, e := range evs {
		m := map[string]any{"eventType": nimEventType(e.Kind)}
		switch e.Kind {
		case engine.PeriodicSync:
		case engine.RepairReady:
			m["channelId"] = e.ChannelID
			m["message"] = base64.StdEncoding.EncodeToString(e.Message)
		case engine.MissingDependencies:
			m["messageId"], m["channelId"] = e.MessageID, e.ChannelID
			deps := []any{}
			for _, d := range e.MissingDeps {
				deps = append(deps, map[string]any{"messageId": d.MessageID,
					"retrievalHint": base64.StdEncoding.EncodeToString(d.RetrievalHint)})
			}
			m["missingDeps"] = deps
		default:
			m["messageId"], m["channelId"] = e.MessageID, e.ChannelID
		}
		b, err := json.Marshal(m)
		require.NoError(t, err)
		var v any
		require.NoError(t, json.Unmarshal(b, &v))
		out = append(out, v)
	}
	return out
}

func nimEventType(k engine.EventKind) string {
	if k == engine.MessageAcknowledged || k == engine.MessageGivenUp {
		return "message_sent"
	}
	return k.String()
}
