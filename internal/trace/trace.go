// Package trace reads the C-ABI trace nim-sds recorded
// (tests/vectors/trace-nim-sds.jsonl; format in tests/vectors/README.md) into typed
// lines, so tests can replay the scenario through any layer of this library and
// compare the outcome with nim-sds's.
package trace

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Kind tells what a Line holds.
type Kind int

// The line kinds of a trace.
const (
	KindHeader Kind = iota
	KindCall
	KindEvent
	KindHint
	KindFooter
	KindOther
)

// Line is one line of the trace, decoded. Exactly one of the pointers is set,
// according to Kind.
type Line struct {
	Kind   Kind
	Header *Header
	Call   *Call
	Event  *Event
	Hint   *Hint
	Raw    json.RawMessage
}

// Header is the first line.
type Header struct {
	StartUnix     int64 `json:"startUnix"`
	CallTimeoutMs int64 `json:"callTimeoutMs"`
}

// Call is a call line: one API call and its result callback.
type Call struct {
	Step    int
	Section string
	Mgr     string // "" when null
	Op      string
	// Arguments. Nil slices with the matching *Null flag mean a NULL pointer.
	Content     []byte
	ContentNull bool
	ContentLen  int
	MessageID   *string // nil: NULL
	ChannelID   *string // nil: NULL
	Wire        []byte  // unwrap input
	WireNull    bool
	WireLen     int
	FromStep    int // 0 when null
	LamportAt   [2]int
	MessageIDs  []*string // markDependenciesMet; nil slice with IDsNull: NULL array
	IDsNull     bool
	Count       int
	Callback    bool // false: NULL callback
	UserData    bool // setEventCallback
	Provider    string
	SleepMs     int
	Probe       string
	// Outcome.
	RC        *int
	CtxNull   bool
	CtxSameAs string
	Result    *Result // nil: NULL callback or timeout
	Timeout   bool
	// Successful wraps.
	WrapWire         []byte // nil when only the hash was recorded
	WrapWireLen      int
	WrapLamportAt    [2]int
	WrapMaskedSHA256 string
}

// Result is a result callback.
type Result struct {
	Ret          int
	Len          int
	Payload      []byte // nil when the pointer was NULL or only a hash is known
	PayloadNull  bool
	PayloadSHA   string // set for payloads over 256 KiB
	PayloadHead  string
	CsvOfWire    bool // the payload was the wrap wire bytes as decimals
	CallerThread bool
}

// Event is an event-callback invocation.
type Event struct {
	Step int
	Mgr  string
	Ret  int
	Raw  []byte // the exact payload bytes
}

// Hint is a retrieval-hint provider invocation.
type Hint struct {
	Step      int
	Mgr       string
	MessageID string
	Reply     *string
}

// Load reads and decodes a trace file.
func Load(path string) ([]Line, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f)
}

// Read decodes a trace.
func Read(r io.Reader) ([]Line, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var out []Line
	for n := 1; sc.Scan(); n++ {
		l, err := parseLine(bytes.Clone(sc.Bytes()))
		if err != nil {
			return nil, fmt.Errorf("trace line %d: %w", n, err)
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

type rawLine map[string]json.RawMessage

func (r rawLine) has(k string) bool { _, ok := r[k]; return ok }

func (r rawLine) str(k string) (string, bool) {
	v, ok := r[k]
	if !ok || string(v) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

func (r rawLine) int(k string) int {
	var n int
	_ = json.Unmarshal(r[k], &n)
	return n
}

func (r rawLine) bool(k string) bool {
	var b bool
	_ = json.Unmarshal(r[k], &b)
	return b
}

func parseLine(b []byte) (Line, error) {
	var r rawLine
	if err := json.Unmarshal(b, &r); err != nil {
		return Line{}, err
	}
	l := Line{Raw: b}
	switch {
	case r.has("trace"):
		l.Kind = KindHeader
		l.Header = &Header{}
		return l, json.Unmarshal(b, l.Header)
	case r.has("end") || r.has("abnormalExit"):
		l.Kind = KindFooter
		return l, nil
	case r.has("op"):
		l.Kind = KindCall
		c, err := parseCall(r)
		l.Call = c
		return l, err
	case r.has("hintRequest"):
		l.Kind = KindHint
		h := &Hint{Step: r.int("step")}
		h.Mgr, _ = r.str("mgr")
		h.MessageID, _ = r.str("hintRequest")
		if s, ok := r.str("reply"); ok {
			h.Reply = &s
		}
		l.Hint = h
		return l, nil
	case r.has("raw") || r.has("rawHex"):
		l.Kind = KindEvent
		e := &Event{Step: r.int("step"), Ret: r.int("ret")}
		e.Mgr, _ = r.str("mgr")
		if s, ok := r.str("raw"); ok {
			e.Raw = []byte(s)
		} else {
			h, _ := r.str("rawHex")
			raw, err := hex.DecodeString(h)
			if err != nil {
				return l, err
			}
			e.Raw = raw
		}
		l.Event = e
		return l, nil
	}
	l.Kind = KindOther
	return l, nil
}

// bytesArg decodes xHex / xParts / xNull into bytes.
func bytesArg(r rawLine, prefix string) ([]byte, bool, error) {
	if r.bool(prefix + "Null") {
		return nil, true, nil
	}
	if h, ok := r.str(prefix + "Hex"); ok {
		b, err := hex.DecodeString(h)
		return b, false, err
	}
	if parts, ok := r[prefix+"Parts"]; ok {
		b, err := decodeParts(parts)
		return b, false, err
	}
	return nil, false, nil
}

func decodeParts(raw json.RawMessage) ([]byte, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, err
	}
	var out []byte
	for _, p := range parts {
		var h string
		if json.Unmarshal(p, &h) == nil {
			b, err := hex.DecodeString(h)
			if err != nil {
				return nil, err
			}
			out = append(out, b...)
			continue
		}
		var fill struct {
			Fill string `json:"fill"`
			Len  int    `json:"len"`
		}
		if err := json.Unmarshal(p, &fill); err != nil {
			return nil, err
		}
		fb, err := hex.DecodeString(fill.Fill)
		if err != nil || len(fb) != 1 {
			return nil, fmt.Errorf("bad fill %q", fill.Fill)
		}
		out = append(out, bytes.Repeat(fb, fill.Len)...)
	}
	return out, nil
}

// stringArg decodes k / kHex; nil means NULL.
func stringArg(r rawLine, k string) (*string, error) {
	if h, ok := r.str(k + "Hex"); ok {
		b, err := hex.DecodeString(h)
		s := string(b)
		return &s, err
	}
	if s, ok := r.str(k); ok {
		return &s, nil
	}
	return nil, nil
}

func parseCall(r rawLine) (*Call, error) {
	c := &Call{Step: r.int("step")}
	c.Section, _ = r.str("section")
	c.Mgr, _ = r.str("mgr")
	c.Op, _ = r.str("op")
	var args rawLine
	if a, ok := r["args"]; ok {
		if err := json.Unmarshal(a, &args); err != nil {
			return nil, err
		}
	}
	var err error
	c.Callback = args.bool("callback")
	c.UserData = args.bool("userData")
	c.Provider, _ = args.str("provider")
	c.SleepMs = args.int("ms")
	c.Probe, _ = args.str("probe")
	if c.Content, c.ContentNull, err = bytesArg(args, "content"); err != nil {
		return nil, err
	}
	c.ContentLen = args.int("contentLen")
	if c.MessageID, err = stringArg(args, "messageId"); err != nil {
		return nil, err
	}
	if c.ChannelID, err = stringArg(args, "channelId"); err != nil {
		return nil, err
	}
	if c.Wire, c.WireNull, err = bytesArg(args, "wire"); err != nil {
		return nil, err
	}
	c.WireLen = args.int("wireLen")
	c.FromStep = args.int("fromStep")
	_ = json.Unmarshal(args["lamportAt"], &c.LamportAt)
	c.Count = args.int("count")
	if ids, ok := args["messageIds"]; ok {
		if string(ids) == "null" {
			c.IDsNull = true
		} else {
			var elems []json.RawMessage
			if err := json.Unmarshal(ids, &elems); err != nil {
				return nil, err
			}
			for _, e := range elems {
				c.MessageIDs = append(c.MessageIDs, elemID(e))
			}
		}
	}
	if r.has("rc") {
		rc := r.int("rc")
		c.RC = &rc
	}
	if ctx, ok := r.str("ctx"); ok {
		c.CtxNull = ctx != "non-null"
	} else if r.has("ctx") {
		c.CtxNull = true
	}
	c.CtxSameAs, _ = r.str("ctxSameAs")
	if cb, ok := r["cb"]; ok && string(cb) != "null" {
		if string(cb) == `"timeout"` {
			c.Timeout = true
		} else if c.Result, err = parseResult(cb); err != nil {
			return nil, err
		}
	}
	if c.Op == "wrap" && r.has("wireLen") {
		c.WrapWireLen = r.int("wireLen")
		_ = json.Unmarshal(r["lamportAt"], &c.WrapLamportAt)
		c.WrapMaskedSHA256, _ = r.str("wireMaskedSha256")
		if c.WrapWire, _, err = bytesArg(r, "wire"); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func elemID(e json.RawMessage) *string {
	if string(e) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(e, &s) == nil {
		return &s
	}
	var h struct {
		Hex string `json:"hex"`
	}
	if json.Unmarshal(e, &h) == nil {
		b, _ := hex.DecodeString(h.Hex)
		s := string(b)
		return &s
	}
	return nil
}

func parseResult(raw json.RawMessage) (*Result, error) {
	var r rawLine
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	res := &Result{Ret: r.int("ret"), Len: r.int("len"), CsvOfWire: r.bool("payloadCsvOfWire")}
	th, _ := r.str("thread")
	res.CallerThread = th == "caller"
	switch {
	case r.has("payloadHex"):
		h, _ := r.str("payloadHex")
		b, err := hex.DecodeString(h)
		if err != nil {
			return nil, err
		}
		res.Payload = b
	case r.has("payload"):
		if s, ok := r.str("payload"); ok {
			res.Payload = []byte(s)
		} else {
			res.PayloadNull = true
		}
	}
	res.PayloadSHA, _ = r.str("payloadSha256")
	res.PayloadHead, _ = r.str("payloadHead")
	return res, nil
}

// Step is one recorded call with the events and hint-provider requests nim-sds
// recorded before it, since the previous call: the ones that call caused.
type Step struct {
	Call   *Call
	Events []*Event
	Hints  []string // the message ids the hint provider was asked for
}

// Steps groups a trace's lines into its calls, in order.
func Steps(lines []Line) []Step {
	var steps []Step
	var cur Step
	for _, l := range lines {
		switch l.Kind {
		case KindEvent:
			cur.Events = append(cur.Events, l.Event)
		case KindHint:
			cur.Hints = append(cur.Hints, l.Hint.MessageID)
		case KindCall:
			cur.Call = l.Call
			steps = append(steps, cur)
			cur = Step{}
		}
	}
	return steps
}

// MaskLamport returns wire with the lamport varint's value bytes cut out: the
// bytes after the message-id field's tag 0x10. It is how two wraps of the same
// message at different times compare.
func MaskLamport(wire []byte, at [2]int) []byte {
	off, n := at[0], at[1]
	if off < 0 || off+n > len(wire) {
		return wire
	}
	out := make([]byte, 0, len(wire)-n)
	out = append(out, wire[:off]...)
	return append(out, wire[off+n:]...)
}

// LamportAt locates the lamport varint's value bytes in a wire message written
// by a wrap: field 1 (0x0a, length, id) then 0x10 and the varint.
func LamportAt(wire []byte) [2]int {
	if len(wire) < 2 || wire[0] != 0x0a {
		return [2]int{}
	}
	l, n := 0, 0
	for shift := 0; n+1 < len(wire); shift += 7 {
		c := wire[1+n]
		l |= int(c&0x7f) << shift
		n++
		if c < 0x80 {
			break
		}
	}
	off := 1 + n + l + 1 // past the id and the 0x10 tag
	end := off
	for end < len(wire) && wire[end] >= 0x80 {
		end++
	}
	return [2]int{off, end + 1 - off}
}

// Path returns the trace's default location, beside the module root.
func Path(vectorsDir string) string {
	return strings.TrimRight(vectorsDir, "/") + "/trace-nim-sds.jsonl"
}
