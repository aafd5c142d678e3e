package trace

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// WireCallV04 is one wrap, unwrap or mark call of the nim-sds 0.4 trace
// (tests/vectors/trace-nim-sds-v04.jsonl, format in README-v04.md) whose
// request parsed: the wire-level facts the wire and engine tests replay.
type WireCallV04 struct {
	Run, Step string
	Op        string // "wrap", "unwrap" or "mark"
	Mgr       string // "A", "B", … when the step names the manager, else ""
	// Wrap requests: the content and ids (a JSON null id is "").
	Content              []byte
	MessageID, ChannelID string
	// Unwrap requests: the wire bytes fed to nim-sds.
	Input []byte
	// Mark requests: the ids (ChannelID holds the channel).
	MessageIDs []string
	// Ret is the result callback's code; Output the wrap result's wire bytes;
	// Result the exact result payload.
	Ret    int
	Output []byte
	Result []byte
}

type v04Line struct {
	Run        string `json:"run"`
	Step       string `json:"step"`
	Kind       string `json:"kind"`
	What       string `json:"what"`
	Detail     string `json:"detail"`
	Ret        int    `json:"ret"`
	PayloadB64 string `json:"payload_b64"`
}

// WireCallsV04 reads the wrap, unwrap and mark calls of the 0.4 trace whose
// request JSON parsed (an integer array as "message", for wrap a "channelId";
// for mark a string array "messageIds" and a "channelId") and that
// got a result callback, in trace order. Integers outside 0..255 are truncated
// to their low byte, as nim-sds 0.4 does (300 is 44, -1 is 255).
func WireCallsV04(path string) ([]WireCallV04, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		out     []WireCallV04
		pending *WireCallV04
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l v04Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("trace v04: %w", err)
		}
		op, _, _ := strings.Cut(l.Step, " ")
		switch {
		case l.Kind == "note" && l.What == "request" && (op == "wrap" || op == "unwrap"):
			pending = parseV04Request(l, op)
		case l.Kind == "note" && l.What == "request" && op == "mark":
			pending = parseV04Mark(l)
		case l.Kind == "result" && pending != nil && pending.Step == l.Step:
			payload, err := base64.StdEncoding.DecodeString(l.PayloadB64)
			if err != nil {
				return nil, fmt.Errorf("trace v04 %q: %w", l.Step, err)
			}
			pending.Ret, pending.Result = l.Ret, payload
			if op == "wrap" && l.Ret == 0 {
				var r struct{ Message []int }
				if err := json.Unmarshal(payload, &r); err != nil {
					return nil, fmt.Errorf("trace v04 %q: %w", l.Step, err)
				}
				pending.Output = bytesOf(r.Message)
			}
			out = append(out, *pending)
			pending = nil
		}
	}
	return out, sc.Err()
}

// parseV04Request returns the call a request line starts, or nil if the
// request is not a well-formed object with in-range bytes.
func parseV04Request(l v04Line, op string) *WireCallV04 {
	var req struct {
		Message   []int   `json:"message"`
		MessageID *string `json:"messageId"`
		ChannelID *string `json:"channelId"`
	}
	if json.Unmarshal([]byte(l.Detail), &req) != nil || req.Message == nil {
		return nil
	}
	b := bytesOf(req.Message)
	c := &WireCallV04{Run: l.Run, Step: l.Step, Op: op}
	if f := strings.Fields(l.Step); len(f) > 1 && len(f[1]) == 1 && f[1][0] >= 'A' && f[1][0] <= 'Z' {
		c.Mgr = f[1]
	}
	if op == "unwrap" {
		c.Input = b
		return c
	}
	if req.ChannelID == nil {
		return nil
	}
	c.Content, c.ChannelID = b, *req.ChannelID
	if req.MessageID != nil {
		c.MessageID = *req.MessageID
	}
	return c
}

func parseV04Mark(l v04Line) *WireCallV04 {
	var req struct {
		MessageIDs []string `json:"messageIds"`
		ChannelID  *string  `json:"channelId"`
	}
	if json.Unmarshal([]byte(l.Detail), &req) != nil || req.MessageIDs == nil || req.ChannelID == nil {
		return nil
	}
	c := &WireCallV04{Run: l.Run, Step: l.Step, Op: "mark", MessageIDs: req.MessageIDs, ChannelID: *req.ChannelID}
	if f := strings.Fields(l.Step); len(f) > 2 && len(f[2]) == 1 {
		c.Mgr = f[2] // "mark deps B …"
	}
	return c
}

func bytesOf(v []int) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x) // low byte, as nim-sds 0.4's conversion
	}
	return b
}
