package wire

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// msg builds a message for the generation tests.
func genMsg(history ...HistoryEntry) *Message {
	return &Message{
		MessageID: "m9", Lamport: 7, CausalHistory: history, ChannelID: "ch",
		Content: []byte("hi"), BloomFilter: []byte{1, 2}, SenderID: "alice",
	}
}

func TestGenerationString(t *testing.T) {
	assert.Equal(t, "0.3", V03.String())
	assert.Equal(t, "0.4", V04.String())
	assert.Equal(t, "Generation(7)", Generation(7).String())
	assert.True(t, V04.Valid())
	assert.False(t, Generation(2).Valid())
	_, err := UnmarshalAs(genMsg().Marshal(), Generation(2))
	assert.ErrorIs(t, err, ErrMalformed)
}

// TestV04EncodingLayout pins §9.2 on a hand-checked message: field order,
// omitted empties, ids in field 3, field 8 only for entries with a hint or a
// sender, and 0.4 entries omitting an empty id.
func TestV04EncodingLayout(t *testing.T) {
	m := &Message{
		MessageID: "m3", Lamport: 1,
		CausalHistory: []HistoryEntry{
			{MessageID: "m1", RetrievalHint: []byte("h"), SenderID: "al"},
			{MessageID: "m2"}, // no hint, no sender: no field 8 entry
			{MessageID: "m0", SenderID: "bo"},
		},
		ChannelID:     "ch",
		RepairRequest: []HistoryEntry{{MessageID: "r1", SenderID: "cy"}, {}},
	}
	want := []byte{
		0x0a, 2, 'm', '3',
		0x10, 1,
		0x1a, 2, 'm', '1', 0x1a, 2, 'm', '2', 0x1a, 2, 'm', '0',
		0x22, 2, 'c', 'h',
		// no content, no bloom filter, no sender id
		0x42, 11, 0x0a, 2, 'm', '1', 0x12, 1, 'h', 0x1a, 2, 'a', 'l',
		0x42, 8, 0x0a, 2, 'm', '0', 0x1a, 2, 'b', 'o',
		0x6a, 8, 0x0a, 2, 'r', '1', 0x1a, 2, 'c', 'y',
		0x6a, 0, // an all-empty repair entry is still written
	}
	assert.Equal(t, want, m.MarshalAs(V04))
	assert.Equal(t, len(want), m.SizeAs(V04))
	assert.Equal(t, append([]byte("x"), want...), m.AppendMarshalAs([]byte("x"), V04))
	assert.Equal(t, m.Marshal(), m.MarshalAs(V03))
	assert.Equal(t, m.Size(), m.SizeAs(V03))

	// zero lamport is still written; an empty causal id is written as 1a 00
	z := &Message{MessageID: "a", ChannelID: "c", CausalHistory: []HistoryEntry{{}}}
	assert.Equal(t, []byte{0x0a, 1, 'a', 0x10, 0, 0x1a, 0, 0x22, 1, 'c'}, z.MarshalAs(V04))
}

func TestV04DecodeRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want *Message // nil: rejected
	}{
		{"id and channel only", []byte{0x0a, 1, 'a', 0x22, 1, 'c'},
			&Message{MessageID: "a", ChannelID: "c"}},
		{"lamport as bytes is skipped", []byte{0x0a, 1, 'a', 0x12, 1, 0, 0x22, 1, 'c'},
			&Message{MessageID: "a", ChannelID: "c"}},
		{"empty id", []byte{0x0a, 0, 0x22, 1, 'c'}, nil},
		{"no channel", []byte{0x0a, 1, 'a'}, nil},
		{"empty channel", []byte{0x0a, 1, 'a', 0x22, 0}, nil},
		{"empty causal id", []byte{0x0a, 1, 'a', 0x1a, 0, 0x22, 1, 'c'}, nil},
		{"repair entry without id", []byte{0x0a, 1, 'a', 0x22, 1, 'c', 0x6a, 0}, nil},
		{"field 19000", []byte{0x0a, 1, 'a', 0x22, 1, 'c', 0xc0, 0xa3, 0x09, 0}, nil},
		{"field 0", []byte{0x0a, 1, 'a', 0x22, 1, 'c', 0x00, 0}, nil},
		{"field 19000 inside field 8", []byte{0x0a, 1, 'a', 0x22, 1, 'c', 0x42, 4, 0xc0, 0xa3, 0x09, 0}, nil},
		{"group", []byte{0x0a, 1, 'a', 0x22, 1, 'c', 0x0b}, nil},
		{"truncated", []byte{0x0a, 1, 'a', 0x22, 1, 'c', 0x2a, 5, 1}, nil},
		{"field 8 meta, last wins, applied to duplicate ids, unknown ids ignored", []byte{
			0x0a, 1, 'a', 0x1a, 1, 'q', 0x1a, 1, 'q', 0x22, 1, 'c',
			0x42, 5, 0x0a, 1, 'q', 0x12, 0,
			0x42, 6, 0x0a, 1, 'q', 0x1a, 1, 's',
			0x42, 6, 0x0a, 1, 'z', 0x1a, 1, 's'},
			&Message{MessageID: "a", ChannelID: "c", CausalHistory: []HistoryEntry{
				{MessageID: "q", SenderID: "s"}, {MessageID: "q", SenderID: "s"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := UnmarshalV04(tc.in)
			if tc.want == nil {
				require.Error(t, err)
				require.ErrorIs(t, err, ErrMalformed)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, normalize(tc.want), normalize(got))
		})
	}
}

// TestDetect covers the detection rule and the cases where the two
// generations could be confused.
func TestDetect(t *testing.T) {
	v03 := genMsg(HistoryEntry{MessageID: "m1", RetrievalHint: []byte("h"), SenderID: "bob"}, HistoryEntry{MessageID: "m2"})
	v04 := genMsg(HistoryEntry{MessageID: "m1", SenderID: "bob"}, HistoryEntry{MessageID: "m2"})
	// A 0.4 message from a writer with no participant id and no hints: no field 8.
	v04bare := genMsg(HistoryEntry{MessageID: "m1"}, HistoryEntry{MessageID: "msg-2"})
	// An id whose bytes are exactly a canonical 0.3 entry for "abc".
	tricky := "\n\x03abc"
	for _, tc := range []struct {
		name        string
		in          []byte
		gen         Generation
		neutral     bool
		wantHistory []HistoryEntry
	}{
		{"0.3 with hint and sender", v03.Marshal(), V03, false, v03.CausalHistory},
		{"0.4 with field 8", v04.MarshalAs(V04), V04, false, v04.CausalHistory},
		{"0.4 without field 8", v04bare.MarshalAs(V04), V04, false, v04bare.CausalHistory},
		{"0.4 id that is a canonical 0.3 entry, with field 8",
			genMsg(HistoryEntry{MessageID: tricky, SenderID: "bob"}).MarshalAs(V04), V04, false,
			[]HistoryEntry{{MessageID: tricky, SenderID: "bob"}}},
		// The documented misreading: without field 8 nothing tells this 0.4
		// message from a 0.3 one citing "abc".
		{"0.4 id that is a canonical 0.3 entry, no field 8",
			genMsg(HistoryEntry{MessageID: tricky}).MarshalAs(V04), V03, false,
			[]HistoryEntry{{MessageID: "abc"}}},
		{"0.4 id that parses as a non-canonical 0.3 entry",
			genMsg(HistoryEntry{MessageID: "\n\x03abc\x22\x00"}).MarshalAs(V04), V04, false,
			[]HistoryEntry{{MessageID: "\n\x03abc\x22\x00"}}},
		{"0.4 id that is a 0.3 entry with hint first",
			genMsg(HistoryEntry{MessageID: "\x12\x01h\n\x01a"}).MarshalAs(V04), V04, false,
			[]HistoryEntry{{MessageID: "\x12\x01h\n\x01a"}}},
		{"one canonical and one plain id: all ids",
			genMsg(HistoryEntry{MessageID: tricky}, HistoryEntry{MessageID: "m1"}).MarshalAs(V04), V04, false,
			[]HistoryEntry{{MessageID: tricky}, {MessageID: "m1"}}},
		{"0.3 entry with an empty id", genMsg(HistoryEntry{}).Marshal(), V03, false, []HistoryEntry{{}}},
		{"no causal history (0.3 bytes)", genMsg().Marshal(), V03, true, nil},
		{"no causal history (0.4 bytes)", genMsg().MarshalAs(V04), V03, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, neutral, err := Detect(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.gen, g)
			assert.Equal(t, tc.neutral, neutral)
			m, got, err := Decode(tc.in, V03)
			require.NoError(t, err)
			assert.Equal(t, tc.gen, got)
			assert.Equal(t, normEntries(tc.wantHistory), normEntries(m.CausalHistory))
			m2, err := Unmarshal(tc.in)
			require.NoError(t, err)
			assert.Equal(t, normalize(m), normalize(m2))
		})
	}
	_, _, err := Detect([]byte{0x0b})
	assert.ErrorIs(t, err, ErrMalformed)
	_, _, err = Decode([]byte{0x0a, 5, 'a'}, V04)
	assert.ErrorIs(t, err, ErrMalformed)
}

// TestDecodeNeutralFollowsTheReadersGeneration: a message without causal
// history is judged by the required fields of the generation Decode is given,
// so each layer refuses exactly what its nim-sds counterpart refuses.
func TestDecodeNeutralFollowsTheReadersGeneration(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       []byte
		v03, v04 bool // accepted
	}{
		{"full", genMsg().Marshal(), true, true},
		{"no content, no filter (0.4 writes no empty fields)",
			(&Message{MessageID: "a", Lamport: 1, ChannelID: "c"}).MarshalAs(V04), false, true},
		{"no lamport", []byte{0x0a, 1, 'a', 0x22, 1, 'c', 0x2a, 1, 'x'}, false, true},
		{"empty id (0.3 writes it)", (&Message{ChannelID: "c", Content: []byte("x")}).Marshal(), true, false},
		{"empty channel (0.3 writes it)", (&Message{MessageID: "a", Content: []byte("x")}).Marshal(), true, false},
		{"field 19000", append(genMsg().Marshal(), 0xc0, 0xa3, 0x09, 0), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for g, ok := range map[Generation]bool{V03: tc.v03, V04: tc.v04} {
				m, got, err := Decode(tc.in, g)
				if !ok {
					require.Error(t, err, "%v", g)
					require.ErrorIs(t, err, ErrMalformed)
					continue
				}
				require.NoError(t, err, "%v", g)
				require.Equal(t, g, got)
				want, err := UnmarshalAs(tc.in, g)
				require.NoError(t, err)
				require.Equal(t, normalize(want), normalize(m))
			}
		})
	}
}

// TestPeersOfEachGenerationMisreadTheOther pins ABI-v0.4 §9.4, which the
// upgrade path exists to avoid: a 0.4 reader takes 0.3 entries for ids, a 0.3
// reader refuses 0.4 messages with causal history.
func TestPeersOfEachGenerationMisreadTheOther(t *testing.T) {
	m := genMsg(HistoryEntry{MessageID: "msg-0"})
	got, err := UnmarshalV04(m.Marshal())
	require.NoError(t, err)
	assert.Equal(t, "\n\x05msg-0", got.CausalHistory[0].MessageID)
	_, err = UnmarshalV03(m.MarshalAs(V04))
	assert.ErrorIs(t, err, ErrMalformed)
	// without causal history both read both
	for _, g := range []Generation{V03, V04} {
		for _, r := range []Generation{V03, V04} {
			got, err := UnmarshalAs(genMsg().MarshalAs(g), r)
			require.NoError(t, err)
			assert.Equal(t, normalize(genMsg()), normalize(got))
		}
	}
}

// checkGenerationRoundTrip is the property FuzzDecode checks for any input.
func checkGenerationRoundTrip(t *testing.T, data []byte) {
	orig := bytes.Clone(data)
	for _, neutral := range []Generation{V03, V04, Generation(7)} {
		checkDecodeOnePass(t, data, neutral)
		for _, maxFields := range []int{3, 1000} {
			checkDecodeChecked(t, data, neutral, maxFields, true)
			checkDecodeChecked(t, data, neutral, maxFields, false)
		}
	}
	for _, neutral := range []Generation{V03, V04} {
		m, g, err := Decode(data, neutral)
		if !bytes.Equal(data, orig) {
			t.Fatal("input modified")
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) || m != nil {
				t.Fatalf("error %v (message %v)", err, m)
			}
			continue
		}
		// decoded in its generation and re-encoded: the same message, and the
		// encoding is a fixed point
		enc := m.MarshalAs(g)
		if len(enc) != m.SizeAs(g) {
			t.Fatalf("MarshalAs(%v) wrote %d bytes, SizeAs says %d", g, len(enc), m.SizeAs(g))
		}
		back, err := UnmarshalAs(enc, g)
		if err != nil {
			t.Fatalf("re-encoding in %v does not decode: %v", g, err)
		}
		if !equalMessages(m, back) {
			t.Fatalf("%v round trip changed the message:\n%+v\n%+v", g, m, back)
		}
		if !bytes.Equal(enc, back.MarshalAs(g)) {
			t.Fatalf("%v encoding is not a fixed point", g)
		}
		// the 0.3 layout is never misread
		if again, err := Unmarshal(m.Marshal()); err != nil || !equalMessages(m, again) {
			t.Fatalf("0.3 encoding misread: %v", err)
		}
		// Decode finds the same message in the re-encoding. Without causal
		// history it applies the reader's generation's rules, which may refuse
		// what the other generation wrote; and 0.4 ids that are canonical 0.3
		// entries, with no field 8 to tell, are the documented ambiguity.
		again, g2, err := Decode(enc, neutral)
		if err == nil && equalMessages(m, again) {
			continue
		}
		if _, isNeutral, _ := Detect(enc); isNeutral && g != neutral {
			if _, strictErr := UnmarshalAs(enc, neutral); err != nil && strictErr != nil {
				continue
			}
		}
		if g != V04 || g2 != V03 || !ambiguousV04(m) {
			t.Fatalf("Decode of the %v re-encoding: %v, %v, %+v", g, g2, err, again)
		}
	}
}

// ambiguousV04 reports whether m's 0.4 encoding has no field 8 and only ids
// that are canonical 0.3 entries.
func ambiguousV04(m *Message) bool {
	for _, e := range m.CausalHistory {
		if e.hasMeta() || !canonicalEntryV03([]byte(e.MessageID)) {
			return false
		}
	}
	return len(m.CausalHistory) > 0
}

func equalMessages(a, b *Message) bool {
	na, nb := normalize(a), normalize(b)
	if na.MessageID != nb.MessageID || na.Lamport != nb.Lamport || na.ChannelID != nb.ChannelID ||
		na.SenderID != nb.SenderID || !bytes.Equal(na.Content, nb.Content) || !bytes.Equal(na.BloomFilter, nb.BloomFilter) {
		return false
	}
	eq := func(x, y []HistoryEntry) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].MessageID != y[i].MessageID || x[i].SenderID != y[i].SenderID || !bytes.Equal(x[i].RetrievalHint, y[i].RetrievalHint) {
				return false
			}
		}
		return true
	}
	return eq(na.CausalHistory, nb.CausalHistory) && eq(na.RepairRequest, nb.RepairRequest)
}

// TestV04MetaMatchingBothPaths: causal ids take the last field-8 entry with
// their id, whether matched by scanning (few entries) or through a map (many).
func TestV04MetaMatchingBothPaths(t *testing.T) {
	for _, n := range []int{3, 40} { // 9 and 1600 id-entry pairs: both sides of maxMetaScan
		b := []byte{0x0a, 1, 'a', 0x22, 1, 'c'}
		var want []HistoryEntry
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("id%02d", i)
			b = append(b, 0x1a, byte(len(id)))
			b = append(b, id...)
			want = append(want, HistoryEntry{MessageID: id})
		}
		for i := n - 1; i >= 0; i -= 2 { // every other id, twice: the second wins
			for _, sender := range []string{"old", fmt.Sprintf("s%02d", i)} {
				e := (&HistoryEntry{MessageID: want[i].MessageID, SenderID: sender}).appendV04(nil)
				b = append(append(b, 0x42, byte(len(e))), e...)
			}
			want[i].SenderID = fmt.Sprintf("s%02d", i)
		}
		m, err := UnmarshalV04(b)
		require.NoError(t, err)
		require.Equal(t, normEntries(want), normEntries(m.CausalHistory), "n=%d", n)
	}
}

// checkDecodeOnePass checks Decode and DecodeChecked, which detect the
// generation while they decode, against Detect followed by UnmarshalAs (the
// rule as written), and the stripped form against a marshal of the message
// without its filter and repair requests.
func checkDecodeOnePass(t *testing.T, data []byte, neutral Generation) {
	t.Helper()
	g, isNeutral, err := Detect(data)
	var want *Message
	if err == nil {
		if isNeutral && neutral.Valid() {
			g = neutral
		}
		want, err = UnmarshalAs(data, g)
	}
	m, g2, err2 := Decode(data, neutral)
	sm, g3, stripped, err3 := DecodeChecked(data, neutral, 0, nil)
	for _, got := range []struct {
		m   *Message
		g   Generation
		err error
	}{{m, g2, err2}, {sm, g3, err3}} {
		if got.g != g || (err == nil) != (got.err == nil) || (err != nil && err.Error() != got.err.Error()) {
			t.Fatalf("neutral %v: decoded %v, %v; Detect and UnmarshalAs: %v, %v", neutral, got.g, got.err, g, err)
		}
		if err == nil && !equalMessages(got.m, want) {
			t.Fatalf("neutral %v: decoded\n%+v\nDetect and UnmarshalAs:\n%+v", neutral, got.m, want)
		}
	}
	if err != nil {
		return
	}
	bare := *want
	bare.BloomFilter, bare.RepairRequest = nil, nil
	if !bytes.Equal(stripped, bare.Marshal()) {
		t.Fatalf("neutral %v: stripped form %x, want %x", neutral, stripped, bare.Marshal())
	}
}

// checkDecodeChecked checks DecodeChecked against Scan, a check of the shape
// (refusing more than maxFields fields if enforce is set), then Decode: the
// same errors, shape and message.
func checkDecodeChecked(t *testing.T, data []byte, neutral Generation, maxFields int, enforce bool) {
	t.Helper()
	errBudget := errors.New("over budget")
	var got *Shape
	check := func(s Shape) error {
		if got != nil {
			t.Fatal("check called twice")
		}
		got = &s
		if enforce && s.Fields > maxFields {
			return errBudget
		}
		return nil
	}
	m, g, _, err := DecodeChecked(data, neutral, maxFields, check)
	want, scanErr := Scan(data, maxFields)
	if scanErr != nil {
		if got != nil || err == nil || err.Error() != scanErr.Error() {
			t.Fatalf("DecodeChecked: %v (shape %v); Scan: %v", err, got, scanErr)
		}
		return
	}
	if got == nil || *got != want {
		t.Fatalf("DecodeChecked checked shape %+v, Scan found %+v", got, want)
	}
	if enforce && want.Fields > maxFields {
		if err != errBudget {
			t.Fatalf("over maxFields: %v", err)
		}
		return
	}
	m2, g2, err2 := Decode(data, neutral)
	if g != g2 || (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
		t.Fatalf("DecodeChecked: %v, %v; Decode: %v, %v", g, err, g2, err2)
	}
	if err == nil && !equalMessages(m, m2) {
		t.Fatalf("DecodeChecked:\n%+v\nDecode:\n%+v", m, m2)
	}
	// DecodeCheckedInto overwrites whatever its message held.
	into := Message{MessageID: "stale", CausalHistory: []HistoryEntry{{MessageID: "stale"}},
		RepairRequest: []HistoryEntry{{MessageID: "stale"}}, BloomFilter: []byte("stale"), Filter: bytesSource("x")}
	g3, stripped3, err3 := DecodeCheckedInto(&into, data, neutral, maxFields, nil)
	_, _, stripped, _ := DecodeChecked(data, neutral, maxFields, nil)
	if g3 != g || (err3 == nil) != (err == nil) || (err == nil && (!equalMessages(&into, m) || into.Filter != nil || !bytes.Equal(stripped3, stripped))) {
		t.Fatalf("DecodeCheckedInto: %v, %v\n%+v\nDecodeChecked: %v, %v\n%+v", g3, err3, into, g, err, m)
	}
}

// TestDecodeCheckedStopsInHistory checks DecodeChecked against Scan and
// Decode when the field budget runs out at every field of a message, inside
// its run of causal entries too, and when the run is broken by another field
// or a long entry.
func TestDecodeCheckedStopsInHistory(t *testing.T) {
	var hist []HistoryEntry
	for i := range 6 {
		hist = append(hist, HistoryEntry{MessageID: fmt.Sprint("m", i), RetrievalHint: []byte("h"), SenderID: "s"})
	}
	m := &Message{MessageID: "id", Lamport: 7, CausalHistory: hist, ChannelID: "c", Content: []byte("x"), SenderID: "me"}
	long := append(append([]HistoryEntry{}, hist...), HistoryEntry{MessageID: strings.Repeat("l", 200)})
	entry := func(i int) []byte { return fBytes(3, string(hist[i].AppendMarshal(nil))) }
	broken := cat(fBytes(1, "id"), fVarint(2, 7), entry(0), entry(1), fBytes(9, "u"), entry(2), entry(3),
		fBytes(4, "c"), fBytes(5, "x"), fBytes(6, ""))
	for _, data := range [][]byte{m.Marshal(), (&Message{MessageID: "id", CausalHistory: long, ChannelID: "c"}).Marshal(), broken} {
		for maxFields := range 12 {
			for _, neutral := range []Generation{V03, V04} {
				checkDecodeChecked(t, data, neutral, maxFields, true)
				checkDecodeChecked(t, data, neutral, maxFields, false)
			}
		}
	}
}

// TestDecodeV04FirstTakesWhatItCan pins which inputs the one-walk 0.4 path
// settles itself and which it leaves to the general path (checkDecodeChecked
// holds the two to the same results on everything the fuzzer finds).
func TestDecodeV04FirstTakesWhatItCan(t *testing.T) {
	entry := HistoryEntry{MessageID: "m1", SenderID: "bob"}
	many := make([]HistoryEntry, maxIDsOnStack+1)
	for i := range many {
		many[i] = HistoryEntry{MessageID: fmt.Sprint("m", i)}
	}
	noCheck := func(Shape) error { return nil }
	for _, c := range []struct {
		name      string
		data      []byte
		maxFields int
		done      bool
	}{
		{"0.4 with field 8", genMsg(entry).MarshalAs(V04), 100, true},
		{"0.4 ids without field 8", genMsg(HistoryEntry{MessageID: "m1"}).MarshalAs(V04), 100, true},
		{"no causal history", genMsg().MarshalAs(V04), 100, true},
		{"0.3", genMsg(entry).Marshal(), 100, false},
		{"0.4 whose first id reads as a 0.3 entry", genMsg(HistoryEntry{MessageID: "\n\x01b", SenderID: "s"}).MarshalAs(V04), 100, false},
		{"over the field budget", genMsg(entry).MarshalAs(V04), 3, false},
		{"ids beyond the stack array", genMsg(many...).MarshalAs(V04), 1000, false},
		{"malformed", append(genMsg(entry).MarshalAs(V04), 0x0a), 100, false},
	} {
		var m Message
		_, done, err := decodeV04First(&m, c.data, c.maxFields, noCheck)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.done, done, c.name)
	}
}
