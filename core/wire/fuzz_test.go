package wire

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/logos-messaging/libsds-go/internal/vectors"
)

// FuzzUnmarshal checks, for any input: no panic; the input is not modified; the
// result and accept/reject decision equal those of the literal minprotobuf port
// (refDecode); errors wrap ErrMalformed; an accepted message re-encodes to bytes
// that decode to the same message and are a fixed point of Marshal; and
// ExtractChannelID agrees with Unmarshal and with extractChannelId's port, and
// Scan with both.
//
// The .bin seeds are 18.8 KB, and minimizing a new input derived from them takes
// most of the default 60 s minimize budget, stalling short runs; pass e.g.
// -fuzzminimizetime 2s for longer sessions.
func FuzzUnmarshal(f *testing.F) {
	for _, v := range binVectors {
		f.Add(vectors.Read(f, v.file))
	}
	for _, b := range handBuiltInputs(f) {
		f.Add(b)
	}
	for _, tc := range ruleCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		m, err := UnmarshalV03(data)
		ch, chErr := ExtractChannelID(data)
		if !bytes.Equal(data, orig) {
			t.Fatal("input modified")
		}

		ref, refOK := refDecode(orig)
		if refOK != (err == nil) {
			t.Fatalf("accept/reject differs from minprotobuf port: err=%v, port accepts=%v", err, refOK)
		}
		refCh, refChOK := refExtractChannelID(orig)
		if refChOK != (chErr == nil) || (refChOK && refCh != ch) {
			t.Fatalf("ExtractChannelID = %q, %v; port = %q, %v", ch, chErr, refCh, refChOK)
		}
		if chErr != nil && !errors.Is(chErr, ErrMalformed) {
			t.Fatalf("ExtractChannelID error %v does not wrap ErrMalformed", chErr)
		}
		shape, shapeErr := Scan(orig, math.MaxInt)
		if (shapeErr == nil) != (chErr == nil) || (chErr == nil && shape.ChannelIDLen != len(ch)) {
			t.Fatalf("Scan = %+v, %v; ExtractChannelID = %q, %v", shape, shapeErr, ch, chErr)
		}
		if err == nil && (shape.CausalEntries != len(m.CausalHistory) || shape.RepairEntries != len(m.RepairRequest) ||
			shape.MessageIDLen != len(m.MessageID) || shape.SenderIDLen != len(m.SenderID)) {
			t.Fatalf("Scan = %+v; Unmarshal has %d entries and %d requests", shape, len(m.CausalHistory), len(m.RepairRequest))
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if m != nil {
				t.Fatal("non-nil message with an error")
			}
			return
		}
		if !reflect.DeepEqual(normalize(m), normalize(ref)) {
			t.Fatalf("decoded %+v, minprotobuf port %+v", m, ref)
		}
		if chErr != nil || ch != m.ChannelID {
			t.Fatalf("ExtractChannelID = %q, %v; Unmarshal channel %q", ch, chErr, m.ChannelID)
		}

		enc := m.Marshal()
		if len(enc) != m.Size() {
			t.Fatalf("Marshal wrote %d bytes, Size says %d", len(enc), m.Size())
		}
		m2, err := UnmarshalV03(enc)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !reflect.DeepEqual(normalize(m), normalize(m2)) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, m2)
		}
		if !bytes.Equal(enc, m2.Marshal()) {
			t.Fatal("canonical encoding is not a fixed point")
		}
		checkStripped(t, m)
	})
}

// FuzzUnmarshalV04 checks the 0.4 decoder for any input: no panic, input not
// modified, errors wrap ErrMalformed, and an accepted message re-encodes in 0.4
// to bytes that decode to the same message and are a fixed point.
func FuzzUnmarshalV04(f *testing.F) {
	for _, b := range generationSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		m, err := UnmarshalV04(data)
		if !bytes.Equal(data, orig) {
			t.Fatal("input modified")
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) || m != nil {
				t.Fatalf("error %v, message %v", err, m)
			}
			return
		}
		enc := m.MarshalAs(V04)
		back, err := UnmarshalV04(enc)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !equalMessages(m, back) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, back)
		}
		if !bytes.Equal(enc, back.MarshalAs(V04)) {
			t.Fatal("0.4 encoding is not a fixed point")
		}
	})
}

// FuzzDecode checks generation detection and Decode for any input (see
// checkGenerationRoundTrip).
func FuzzDecode(f *testing.F) {
	for _, b := range generationSeeds() {
		f.Add(b)
	}
	f.Fuzz(checkGenerationRoundTrip)
}

// generationSeeds are small messages of both generations, and the ambiguous
// and rejected shapes of generation_test.go.
func generationSeeds() [][]byte {
	hist := []HistoryEntry{{MessageID: "m1", RetrievalHint: []byte("h"), SenderID: "bob"}, {MessageID: "m2"}}
	m := &Message{MessageID: "m3", Lamport: 5, CausalHistory: hist, ChannelID: "ch", Content: []byte("x"),
		BloomFilter: []byte{1}, SenderID: "al", RepairRequest: []HistoryEntry{{MessageID: "r", SenderID: "cy"}}}
	tricky := &Message{MessageID: "a", ChannelID: "c", CausalHistory: []HistoryEntry{{MessageID: "\n\x01b"}}}
	return [][]byte{
		m.Marshal(), m.MarshalAs(V04), tricky.MarshalAs(V04), tricky.Marshal(),
		{0x0a, 1, 'a', 0x22, 1, 'c'},
		{0x0a, 1, 'a', 0x1a, 1, 'q', 0x22, 1, 'c', 0x42, 6, 0x0a, 1, 'q', 0x1a, 1, 's'},
		{0x0a, 1, 'a', 0x22, 1, 'c', 0xc0, 0xa3, 0x09, 0},
	}
}

// checkStripped checks AppendMarshalStripped against two marshals: the output
// is AppendMarshal's, the stripped form Marshal's of a copy without filter and
// repair requests; and a Filter source writes what BloomFilter would.
func checkStripped(t testing.TB, m *Message) {
	t.Helper()
	prefix := []byte{9, 8, 7}
	out, stripped := m.AppendMarshalStripped(bytes.Clone(prefix))
	if want := m.AppendMarshal(bytes.Clone(prefix)); !bytes.Equal(out, want) {
		t.Fatalf("AppendMarshalStripped output differs from AppendMarshal")
	}
	bare := *m
	bare.BloomFilter, bare.RepairRequest = nil, nil
	if !bytes.Equal(stripped, bare.Marshal()) {
		t.Fatalf("stripped form differs from a marshal without filter and requests")
	}
	viaSource := *m
	viaSource.Filter, viaSource.BloomFilter = bytesSource(m.BloomFilter), []byte("ignored")
	if !bytes.Equal(viaSource.Marshal(), out[len(prefix):]) {
		t.Fatalf("a Filter source encodes differently from BloomFilter")
	}
	if !bytes.Equal(viaSource.MarshalAs(V04), m.MarshalAs(V04)) {
		t.Fatalf("a Filter source encodes differently from BloomFilter in 0.4")
	}
}

type bytesSource []byte

func (s bytesSource) SerializedSize() int              { return len(s) }
func (s bytesSource) AppendSerialized(b []byte) []byte { return append(b, s...) }

func TestAppendMarshalStripped(t *testing.T) {
	for _, v := range binVectors {
		checkStripped(t, mustUnmarshal(t, vectors.Read(t, v.file)))
	}
	hint := []byte("h")
	for _, m := range []*Message{
		{MessageID: "a", ChannelID: "c", Content: []byte{1}},
		{MessageID: "a", Lamport: 300, ChannelID: "c", Content: []byte{1}, SenderID: "s", BloomFilter: []byte{1, 2},
			CausalHistory: []HistoryEntry{{MessageID: "x", RetrievalHint: hint, SenderID: "t"}},
			RepairRequest: []HistoryEntry{{MessageID: "y"}, {MessageID: "z", SenderID: "u"}}},
		{MessageID: "", ChannelID: "", Content: nil, RepairRequest: []HistoryEntry{{MessageID: "y"}}},
	} {
		checkStripped(t, m)
	}
}

// FuzzParseEntry checks parseShortEntry, the fast path, against parseAnyEntry:
// what it accepts is read the same, and it accepts every canonical entry
// shorter than 128 bytes (whose fields then all have one-byte lengths).
func FuzzParseEntry(f *testing.F) {
	for _, e := range []HistoryEntry{
		{MessageID: "m"}, {MessageID: ""}, {MessageID: "m", RetrievalHint: []byte("h")},
		{MessageID: "m", SenderID: "s"}, {MessageID: "m", RetrievalHint: []byte("h"), SenderID: "s"},
		{MessageID: string(make([]byte, 200))},
	} {
		f.Add(e.AppendMarshal(nil))
	}
	for _, b := range [][]byte{{}, {0x12, 1, 'h'}, {0x0a, 0, 0x12, 0}, {0x0a, 1, 'm', 0x0a, 1, 'n'}, {0x0a, 1, 'm', 0x1a, 1, 's', 0x12, 1, 'h'}} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, ok := parseShortEntry(b)
		q, err := parseAnyEntry(b)
		if !ok {
			if err == nil && q.canonical && len(b) < 0x80 {
				t.Fatalf("canonical short entry %x refused by the fast path", b)
			}
			return
		}
		if err != nil || !q.canonical || !q.hasID || !p.canonical || !p.hasID {
			t.Fatalf("fast path accepted %x: %v, canonical %v", b, err, q.canonical)
		}
		for _, pair := range [][2][]byte{{p.id, q.id}, {p.hint, q.hint}, {p.sender, q.sender}} {
			if !bytes.Equal(pair[0], pair[1]) || (pair[0] == nil) != (pair[1] == nil) {
				t.Fatalf("%x: fast path read %q, general %q", b, pair[0], pair[1])
			}
		}
	})
}
