package nimcompat04

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/logos-messaging/libsds-go/core/engine"
)

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Every malformed shape ABI-v0.4.md §3 lists, with std/json's text as nim-sds
// 0.4 reported it (the trace and the std/json probe).
func TestParseWrapErrors(t *testing.T) {
	cases := []struct{ req, want string }{
		{`{"message":`, "input(1, 11) Error: { expected"},
		{``, "input(1, 0) Error: { expected"},
		{`{`, "input(1, 1) Error: string literal as key expected"},
		{`{'message':[1]}`, "input(1, 2) Error: string literal as key expected"},
		{`{"message":[1],"messageId":"x","channelId":"ch"} x`, "input(1, 50) Error: EOF expected"},
		{"\n\n  {", "input(3, 3) Error: string literal as key expected"},
		{"\r\n{", "input(2, 1) Error: string literal as key expected"},
		{`{"messageId":"x","channelId":"ch"}`, "key not found: .message"},
		{`{"message":[1],"channelId":"ch"}`, "key not found: .messageId"},
		{`{"message":[1],"messageId":"x"}`, "key not found: .channelId"},
		{`[1,2]`, "key not found: .message"},
		{`null`, "key not found: .message"},
		{`"s"`, "key not found: .message"},
		{`{"message":"AQI=","messageId":"x","channelId":"ch"}`, "Incorrect JSON kind. Wanted '{JArray}' in '.message' but got 'JString'."},
		{`{"message":null,"messageId":"x","channelId":"ch"}`, "Incorrect JSON kind. Wanted '{JArray}' in '.message' but got 'JNull'."},
		{`{"message":{},"messageId":"x","channelId":"ch"}`, "Incorrect JSON kind. Wanted '{JArray}' in '.message' but got 'JObject'."},
		{`{"message":[1.5],"messageId":"x","channelId":"ch"}`, "Incorrect JSON kind. Wanted '{JInt}' in '.message[0]' but got 'JFloat'."},
		{`{"message":[1,1e2],"messageId":"x","channelId":"ch"}`, "Incorrect JSON kind. Wanted '{JInt}' in '.message[1]' but got 'JFloat'."},
		{`{"message":[1,2,true],"messageId":"x","channelId":"ch"}`, "Incorrect JSON kind. Wanted '{JInt}' in '.message[2]' but got 'JBool'."},
		{`{"message":[99999999999999999999],"messageId":"x","channelId":"ch"}`, "Incorrect JSON kind. Wanted '{JInt}' in '.message[0]' but got 'JString'."},
		{`{"message":[-],"messageId":"x","channelId":"ch"}`, "Incorrect JSON kind. Wanted '{JInt}' in '.message[0]' but got 'JString'."},
		{`{"message":[null],"messageId":"x","channelId":"ch"}`, "Incorrect JSON kind. Wanted '{JInt}' in '.message[0]' but got 'JNull'."},
		{`{"message":[[1]],"messageId":"x","channelId":"ch"}`, "Incorrect JSON kind. Wanted '{JInt}' in '.message[0]' but got 'JArray'."},
		{`{"message":[1],"messageId":1,"channelId":"ch"}`, "Incorrect JSON kind. Wanted '{JNull, JString}' in '.messageId' but got 'JInt'."},
		{`{"message":[1],"messageId":"x","channelId":[]}`, "Incorrect JSON kind. Wanted '{JNull, JString}' in '.channelId' but got 'JArray'."},
		// the first failing field in declaration order, whatever the key order
		{`{"channelId":1,"messageId":2,"message":"x"}`, "Incorrect JSON kind. Wanted '{JArray}' in '.message' but got 'JString'."},
		// syntax errors win over kind errors
		{`{"message":"x","messageId":"x","channelId":"ch"`, "input(1, 47) Error: } expected"},
		{`{"message":[1,,2]}`, "input(1, 15) Error: { expected"},
		{`{"message":[1 2]}`, "input(1, 15) Error: ] expected"},
		{`{"message":[1]`, "input(1, 14) Error: } expected"},
		{`{"message" [1]}`, "input(1, 12) Error: : expected"},
		{`{"message":"abc`, "input(1, 15) Error: { expected"},
		{`{"message":x}`, "input(1, 12) Error: { expected"},
		{`{"a":"\ud800"}`, "input(1, 14) Error: } expected"},
		{`{"a":1} /* c`, ""}, // an unterminated comment ends the input
		{strings.Repeat("[", 1002) + strings.Repeat("]", 1002), "input(1, 1002) Error: ] expected"},
		// a NUL ends the text, as in Nim (a C string has none inside)
		{"{\"message\":[1]}\x00,\"messageId\":\"x\"", "key not found: .messageId"},
		{"{\"message\":[1,\x002]}", "input(1, 14) Error: { expected"},
	}
	for _, c := range cases {
		_, err := ParseWrap([]byte(c.req), nil)
		want := c.want
		if want == "" {
			want = "key not found: .message"
		}
		if got := errText(err); got != want {
			t.Errorf("ParseWrap(%q) = %q, want %q", c.req, got, want)
		}
	}
}

func TestParseWrapValues(t *testing.T) {
	cases := []struct {
		req    string
		msg    []byte
		id, ch string
	}{
		{`{"message":[1,2,3],"messageId":"m1","channelId":"ch"}`, []byte{1, 2, 3}, "m1", "ch"},
		{`{"message":[300,-1,256],"messageId":"x300","channelId":"ch"}`, []byte{44, 255, 0}, "x300", "ch"},
		{`{"message":[1],"messageId":null,"channelId":"ch"}`, []byte{1}, "", "ch"},
		{`{"message":[5],"messageId":"first","messageId":"d1","channelId":"ch3","zzz":{"a":1}}`, []byte{5}, "d1", "ch3"},
		{`{"message":[],"messageId":"x","channelId":"ch"}`, []byte{}, "x", "ch"},
		{` { "message" : [ 1 , 02 , -0 , 255 , ] , "messageId":"a\u0000b","channelId":"\ud83d\ude00"} `, []byte{1, 2, 0, 255}, "a\x00b", "\U0001F600"},
		{`{"message":[1],"messageId":"q\"\\\/\u0001\u000b\u001f\u007f\u00e9<>&","channelId":"\x41\udc00"}`, []byte{1},
			"q\"\\/\x01\x0b\x1f\x7f\u00e9<>&", "\\x41\xed\xb0\x80"},
		{`{"message":[9],"message":"bad","message":[7,8],"messageId":99999999999999999999,"channelId":"c",}`, []byte{7, 8}, "99999999999999999999", "c"},
		{"{\"message\":[1,\n2],\"messageId\":\"a\nb\",\"channelId\":\"c\"//x\n}", []byte{1, 2}, "a\nb", "c"},
		{`{"message":[1],"messageId":"\v\x","channelId":"c"}`, []byte{1}, "\v\\x", "c"},
	}
	for _, c := range cases {
		r, err := ParseWrap([]byte(c.req), make([]byte, 0, 4))
		if err != nil {
			t.Errorf("ParseWrap(%q): %v", c.req, err)
			continue
		}
		if !bytes.Equal(r.Message, c.msg) || r.MessageID != c.id || r.ChannelID != c.ch {
			t.Errorf("ParseWrap(%q) = %v %q %q, want %v %q %q", c.req, r.Message, r.MessageID, r.ChannelID, c.msg, c.id, c.ch)
		}
	}
}

func TestParseCreateAndMark(t *testing.T) {
	for req, want := range map[string]string{
		`{"participantId":"alice"}`:                 ":alice",
		`{"participantId":""}`:                      ":",
		`{"participantId":null}`:                    ":",
		`{"participantId":"dave","extra":[1,2,{}]}`: ":dave",
		`{`:                   "input(1, 1) Error: string literal as key expected",
		``:                    "input(1, 0) Error: { expected",
		`{}`:                  "key not found: .participantId",
		`[]`:                  "key not found: .participantId",
		`{"participantId":5}`: "Incorrect JSON kind. Wanted '{JNull, JString}' in '.participantId' but got 'JInt'.",
	} {
		r, err := ParseCreate([]byte(req))
		got := errText(err)
		if err == nil {
			got = ":" + r.ParticipantID
		}
		if got != want {
			t.Errorf("ParseCreate(%q) = %q, want %q", req, got, want)
		}
	}
	for req, want := range map[string]string{
		`{"messageIds":["m1","m2"],"channelId":"ch"}`: "m1|m2@ch",
		`{"messageIds":[],"channelId":"ch"}`:          "@ch",
		`{"messageIds":[null,"a"],"channelId":null}`:  "|a@",
		`{"messageIds":["a"]}`:                        "key not found: .channelId",
		`{"messageIds":"a","channelId":"ch"}`:         "Incorrect JSON kind. Wanted '{JArray}' in '.messageIds' but got 'JString'.",
		`{"messageIds":["a",1],"channelId":"ch"}`:     "Incorrect JSON kind. Wanted '{JNull, JString}' in '.messageIds[1]' but got 'JInt'.",
		`{"messageIds":null,"channelId":"ch"}`:        "Incorrect JSON kind. Wanted '{JArray}' in '.messageIds' but got 'JNull'.",
	} {
		r, err := ParseMark([]byte(req))
		got := errText(err)
		if err == nil {
			got = strings.Join(r.MessageIDs, "|") + "@" + r.ChannelID
		}
		if got != want {
			t.Errorf("ParseMark(%q) = %q, want %q", req, got, want)
		}
	}
	// a NULL request (nil here) is the empty text
	if _, err := ParseUnwrap(nil, nil); errText(err) != "input(1, 0) Error: { expected" {
		t.Errorf("ParseUnwrap(nil) = %v", err)
	}
	if _, err := ParseCreate(nil); errText(err) != "input(1, 0) Error: { expected" {
		t.Errorf("ParseCreate(nil) = %v", err)
	}
	if _, err := ParseUnwrap([]byte(`{}`), nil); errText(err) != "key not found: .message" {
		t.Errorf("ParseUnwrap({}) = %v", err)
	}
}

// A huge array parses in one pass, into the buffer given, and the same text
// with a NUL sentinel (as read from C) gives the same result.
func TestParseLargeArray(t *testing.T) {
	msg := make([]byte, 70000)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	req := AppendWrapResult(nil, msg) // {"message":[…]}
	r, err := ParseUnwrap(req, make([]byte, 0, len(msg)))
	if err != nil || !bytes.Equal(r.Message, msg) {
		t.Fatalf("ParseUnwrap of %d bytes: %v, equal %v", len(msg), err, bytes.Equal(r.Message, msg))
	}
	r2, err := ParseUnwrap(append(req, 0), nil)
	if err != nil || !bytes.Equal(r2.Message, msg) {
		t.Fatalf("with a NUL sentinel: %v", err)
	}
	// a bad element far in is still found, with its index
	bad := bytes.Replace(req, []byte(",7,"), []byte(",7.0,"), 1)
	if _, err := ParseUnwrap(bad, nil); !strings.Contains(errText(err), "in '.message[") {
		t.Fatalf("bad element: %v", err)
	}
}

// An array whose elements all go through the lexer (spaces around them)
// parses in a few allocations, not one copy of the output per element.
func TestParseSpacedArrayAllocations(t *testing.T) {
	req := []byte(`{"message":[` + strings.Repeat(" 7 ,", 100000) + ` 8 ]}`)
	var r UnwrapRequest
	allocs := testing.AllocsPerRun(3, func() {
		var err error
		if r, err = ParseUnwrap(req, nil); err != nil {
			t.Fatal(err)
		}
	})
	if len(r.Message) != 100001 || r.Message[0] != 7 || r.Message[100000] != 8 {
		t.Fatalf("got %d bytes", len(r.Message))
	}
	if allocs > 50 {
		t.Fatalf("%v allocations for one parse", allocs)
	}
}

// Python's json.dumps writes ", " between elements: the spaces change nothing.
func TestParseSpacedSeparators(t *testing.T) {
	msg := make([]byte, 3000)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	compact := AppendWrapResult(nil, msg)
	for _, sep := range []string{", ", ",  ", ",\n", ", \t "} {
		req := bytes.ReplaceAll(compact, []byte(","), []byte(sep))
		r, err := ParseUnwrap(req, nil)
		if err != nil || !bytes.Equal(r.Message, msg) {
			t.Fatalf("separator %q: %v, equal %v", sep, err, bytes.Equal(r.Message, msg))
		}
	}
	req := []byte(`{"message": [ 1, 22,  333, 4 , 1.5]}`)
	if _, err := ParseUnwrap(req, nil); errText(err) != "Incorrect JSON kind. Wanted '{JInt}' in '.message[4]' but got 'JFloat'." {
		t.Fatalf("ParseUnwrap(%s) = %v", req, err)
	}
	if r, err := ParseUnwrap([]byte(`{"message": [ 1, 22,  333, 4 , 5 ]}`), nil); err != nil || !bytes.Equal(r.Message, []byte{1, 22, 77, 4, 5}) {
		t.Fatalf("ParseUnwrap = %v %v", r.Message, err)
	}
}

func TestFormat(t *testing.T) {
	if got := string(AppendWrapResult(nil, []byte{10, 2, 109, 49, 255, 0})); got != `{"message":[10,2,109,49,255,0]}` {
		t.Errorf("AppendWrapResult = %s", got)
	}
	if got := string(AppendWrapResult(nil, nil)); got != `{"message":[]}` {
		t.Errorf("AppendWrapResult(empty) = %s", got)
	}
	w := []byte{1, 22, 255}
	if WrapResultLen(w) != len(AppendWrapResult(nil, w)) {
		t.Errorf("WrapResultLen = %d, text %d", WrapResultLen(w), len(AppendWrapResult(nil, w)))
	}
	if got := string(AppendContext(nil, 140166252011136)); got != "140166252011136" {
		t.Errorf("AppendContext = %s", got)
	}
	if got := ProcessingError(OpMark, engine.ErrUnknownChannel); got != "error processing mark-dependencies request: reInvalidArgument" {
		t.Errorf("ProcessingError = %s", got)
	}
	if got := ProcessingError(OpUnwrap, errors.Join(engine.ErrDeserialization)); got != "error processing unwrap request: reDeserializationError" {
		t.Errorf("ProcessingError = %s", got)
	}
	if got := CreateError(errors.New("key not found: .participantId")); got != "ffiCtor: failed to deserialize param: key not found: .participantId" {
		t.Errorf("CreateError = %s", got)
	}
}

// oracleWrap reads req with encoding/json where both parsers must agree:
// strict JSON, valid UTF-8 without escaped surrogates (which encoding/json
// replaces and Nim keeps), nesting within std/json's limit, exact key names,
// the three fields with their kinds and integers within int64. ok is false
// for anything else.
func oracleWrap(req []byte) (WrapRequest, bool) {
	var w WrapRequest
	if !utf8.Valid(req) || bytes.Contains(bytes.ToLower(req), []byte(`\ud`)) ||
		bytes.Count(req, []byte("["))+bytes.Count(req, []byte("{")) > 900 {
		return w, false
	}
	dec := json.NewDecoder(bytes.NewReader(req))
	dec.UseNumber()
	var obj map[string]any
	if dec.Decode(&obj) != nil || dec.InputOffset() == 0 {
		return w, false
	}
	if _, err := dec.Token(); err != io.EOF { // one value only
		return w, false
	}
	arr, ok := obj["message"].([]any)
	if !ok {
		return w, false
	}
	w.Message = []byte{}
	for _, e := range arr {
		n, ok := e.(json.Number)
		if !ok {
			return w, false
		}
		v, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return w, false
		}
		w.Message = append(w.Message, byte(v))
	}
	for key, dst := range map[string]*string{"messageId": &w.MessageID, "channelId": &w.ChannelID} {
		switch v := obj[key].(type) {
		case string:
			*dst = v
		case nil:
			if _, present := obj[key]; !present {
				return w, false
			}
		default:
			return w, false
		}
	}
	return w, true
}

func FuzzParseWrap(f *testing.F) {
	f.Add([]byte(`{"message":[1,2,3],"messageId":"m1","channelId":"ch"}`))
	f.Add([]byte(`{"message":[1.5, 300, -1],"messageId":"\ud800","channelId":null} x`))
	f.Add([]byte(` {"message":[ 0, 255 ,300],"messageId":"a\u00e9\n","channelId":null,"x":{"y":[]}}`))
	f.Fuzz(func(t *testing.T, req []byte) {
		r, err := ParseWrap(req, nil)
		if err == nil && len(r.Message) > len(req) {
			t.Fatalf("more bytes than text")
		}
		// the same text read from C (with its NUL) gives the same answer
		r2, err2 := ParseWrap(append(append([]byte(nil), req...), 0), make([]byte, 0, 3))
		if errText(err) != errText(err2) || !bytes.Equal(r.Message, r2.Message) || r.MessageID != r2.MessageID {
			t.Fatalf("%q: %v %v / %v %v", req, r.Message, err, r2.Message, err2)
		}
		// valid JSON that encoding/json reads as a wrap request is read the same
		if want, ok := oracleWrap(req); ok {
			if err != nil || !bytes.Equal(r.Message, want.Message) || r.MessageID != want.MessageID ||
				r.ChannelID != want.ChannelID {
				t.Fatalf("%q: got %v %q %q (%v), encoding/json reads %v %q %q", req, r.Message, r.MessageID,
					r.ChannelID, err, want.Message, want.MessageID, want.ChannelID)
			}
		}
		// any bytes survive a round trip through the wrap result's format
		back, err := ParseUnwrap(AppendWrapResult(nil, req), nil)
		if err != nil || !bytes.Equal(back.Message, req) {
			t.Fatalf("round trip of %v: %v %v", req, back.Message, err)
		}
	})
}

// unwrapBenchRequest is the request of a 19 KB message whose bytes are like
// a bloom filter's in use: about a third zeros, the rest random (so the number
// of digits per element is not predictable).
func unwrapBenchRequest() []byte {
	msg := make([]byte, 19000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range msg {
		if rng.IntN(3) > 0 {
			msg[i] = byte(rng.IntN(256))
		}
	}
	return AppendWrapResult(nil, msg)
}

// BenchmarkParseUnwrap parses unwrapBenchRequest's text (the parser copies it
// to add the NUL sentinel).
func BenchmarkParseUnwrap(b *testing.B) {
	benchParseUnwrap(b, unwrapBenchRequest())
}

// BenchmarkParseUnwrapCString parses the same request as the library does:
// read from C with its NUL, so not copied.
func BenchmarkParseUnwrapCString(b *testing.B) {
	benchParseUnwrap(b, append(unwrapBenchRequest(), 0))
}

func benchParseUnwrap(b *testing.B, req []byte) {
	var buf []byte // reused as the library reuses its pooled buffers
	b.SetBytes(int64(len(req)))
	for i := 0; i < b.N; i++ {
		r, err := ParseUnwrap(req, buf)
		if err != nil {
			b.Fatal(err)
		}
		buf = r.Message
	}
}
