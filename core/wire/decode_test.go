package wire

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

type ruleCase struct {
	name  string
	in    []byte
	ok    bool
	check func(t *testing.T, m *Message) // optional, when ok
}

// Strict-reader expectations differ only for non-minimal varints and for tenth
// bytes other than 0x01; see rejectNonMinimalVarints.
const lenient = !rejectNonMinimalVarints

func wantLamport(v int64) func(*testing.T, *Message) {
	return func(t *testing.T, m *Message) { assert.Equal(t, v, m.Lamport) }
}

// ruleCases are the decode rules of PROTOCOL.md §1.1. They also seed FuzzUnmarshal.
var ruleCases = []ruleCase{
	{name: "minimal", in: valid(), ok: true, check: func(t *testing.T, m *Message) {
		assert.Equal(t, "id", m.MessageID)
		assert.Equal(t, int64(1), m.Lamport)
		assert.Equal(t, "ch", m.ChannelID)
		assert.Equal(t, []byte("x"), m.Content)
		assert.Nil(t, m.BloomFilter, "absent bloom filter")
		assert.Empty(t, m.SenderID)
		assert.Nil(t, m.CausalHistory)
		assert.Nil(t, m.RepairRequest)
	}},
	{name: "fields in any order", in: cat(reqContent, reqChannel, reqLamport, reqID), ok: true},
	{name: "lamport 0", in: cat(reqID, fVarint(2, 0), reqChannel, reqContent), ok: true, check: wantLamport(0)},

	// Required fields.
	{name: "empty input", in: nil},
	{name: "missing message_id", in: cat(reqLamport, reqChannel, reqContent)},
	{name: "missing lamport", in: cat(reqID, reqChannel, reqContent)},
	{name: "missing channel_id", in: cat(reqID, reqLamport, reqContent)},
	{name: "missing content", in: cat(reqID, reqLamport, reqChannel)},
	{name: "empty content present", in: cat(reqID, reqLamport, reqChannel, fBytes(5, "")), ok: true,
		check: func(t *testing.T, m *Message) { assert.Empty(t, m.Content) }},
	{name: "empty message_id and channel_id present", in: cat(fBytes(1, ""), reqLamport, fBytes(4, ""), reqContent), ok: true,
		check: func(t *testing.T, m *Message) { assert.Equal(t, "", m.MessageID); assert.Equal(t, "", m.ChannelID) }},
	{name: "empty bloom present", in: valid(fBytes(6, "")), ok: true,
		check: func(t *testing.T, m *Message) { assert.NotNil(t, m.BloomFilter); assert.Empty(t, m.BloomFilter) }},

	// A field with an unexpected wire type is skipped and counts as absent.
	{name: "lamport length-delimited", in: cat(reqID, fBytes(2, "\x01"), reqChannel, reqContent)},
	{name: "lamport fixed64", in: cat(reqID, tag(2, protowire.Fixed64Type), make([]byte, 8), reqChannel, reqContent)},
	{name: "lamport fixed32", in: cat(reqID, tag(2, protowire.Fixed32Type), make([]byte, 4), reqChannel, reqContent)},
	{name: "message_id varint only", in: cat(fVarint(1, 7), reqLamport, reqChannel, reqContent)},
	{name: "channel_id fixed32 only", in: cat(reqID, reqLamport, tag(4, protowire.Fixed32Type), []byte("abcd"), reqContent)},
	{name: "content varint only", in: cat(reqID, reqLamport, reqChannel, fVarint(5, 1))},
	{name: "wrong-type duplicates ignored", in: cat(reqID, fVarint(1, 9), reqLamport, fBytes(2, "zz"), reqChannel, fVarint(4, 1),
		reqContent, fVarint(5, 1), fVarint(6, 1), fVarint(7, 1)), ok: true,
		check: func(t *testing.T, m *Message) {
			assert.Equal(t, "id", m.MessageID)
			assert.Equal(t, int64(1), m.Lamport)
			assert.Equal(t, "ch", m.ChannelID)
			assert.Equal(t, []byte("x"), m.Content)
			assert.Nil(t, m.BloomFilter)
			assert.Empty(t, m.SenderID)
		}},

	// Last occurrence wins.
	{name: "last occurrence wins", in: cat(fBytes(1, "a"), fVarint(2, 5), fBytes(4, "c1"), fBytes(5, "x"), fBytes(6, "B1"),
		fBytes(7, "s1"), fBytes(1, "b"), fVarint(2, 7), fBytes(4, "c2"), fBytes(5, "y"), fBytes(6, "B2"), fBytes(7, "s2")), ok: true,
		check: func(t *testing.T, m *Message) {
			assert.Equal(t, "b", m.MessageID)
			assert.Equal(t, int64(7), m.Lamport)
			assert.Equal(t, "c2", m.ChannelID)
			assert.Equal(t, []byte("y"), m.Content)
			assert.Equal(t, []byte("B2"), m.BloomFilter)
			assert.Equal(t, "s2", m.SenderID)
		}},

	// Wire types 3, 4, 6, 7 anywhere are errors; bytes inside payloads are opaque.
	{name: "group start unknown field", in: valid(tag(99, protowire.StartGroupType))},
	{name: "group end unknown field", in: valid(tag(99, protowire.EndGroupType))},
	{name: "group start field 1", in: valid(tag(1, protowire.StartGroupType))},
	{name: "group first", in: cat(tag(50, protowire.StartGroupType), valid())},
	{name: "group field 0", in: valid([]byte{0x03})},
	{name: "wire type 6", in: valid(protowire.AppendVarint(nil, 99<<3|6))},
	{name: "wire type 7", in: valid(protowire.AppendVarint(nil, 99<<3|7))},
	{name: "group inside entry", in: valid(fBytes(3, string(cat(fBytes(1, "e"), tag(9, protowire.StartGroupType)))))},
	{name: "group-like bytes inside payloads", in: cat(reqID, reqLamport, reqChannel, fBytes(5, "\x0b\x1c\x0e\x0f"),
		fBytes(6, "\x0b"), fBytes(99, "\x03\x04"), fBytes(3, string(cat(fBytes(1, "e"), fBytes(2, "\x0b"))))), ok: true},

	// Truncation.
	{name: "truncated tag", in: valid([]byte{0x80})},
	{name: "tag without value", in: valid([]byte{0x10})},
	{name: "truncated varint value", in: cat(reqID, reqChannel, reqContent, []byte{0x10, 0xff, 0xff})},
	{name: "truncated length", in: valid([]byte{0x0a, 0x80})},
	{name: "length past end", in: valid(hx("0a 05 61"))},
	{name: "length past end by one", in: valid(hx("0a 03 6162"))},
	{name: "truncated fixed64", in: valid(tag(99, protowire.Fixed64Type), make([]byte, 7))},
	{name: "complete fixed64", in: valid(tag(99, protowire.Fixed64Type), make([]byte, 8)), ok: true},
	{name: "truncated fixed32", in: valid(tag(99, protowire.Fixed32Type), make([]byte, 3))},
	{name: "complete fixed32", in: valid(tag(99, protowire.Fixed32Type), make([]byte, 4)), ok: true},

	// Varint length and overlong encodings.
	{name: "11-byte varint", in: cat(reqID, hx("10 ffffffffffffffffff ff 01"), reqChannel, reqContent)},
	{name: "10th byte continues", in: cat(reqID, hx("10 808080808080808080 81 01"), reqChannel, reqContent)},
	{name: "10th byte continues at end", in: cat(reqID, reqChannel, reqContent, hx("10 808080808080808080 81"))},
	{name: "10-byte max uint64", in: cat(reqID, hx("10 ffffffffffffffffff 01"), reqChannel, reqContent), ok: true, check: wantLamport(-1)},
	{name: "10-byte 2^63", in: cat(reqID, hx("10 808080808080808080 01"), reqChannel, reqContent), ok: true, check: wantLamport(math.MinInt64)},
	{name: "10th byte high bits", in: cat(reqID, hx("10 808080808080808080 7f"), reqChannel, reqContent), ok: lenient, check: wantLamport(math.MinInt64)},
	{name: "10th byte 0x7e", in: cat(reqID, hx("10 818080808080808080 7e"), reqChannel, reqContent), ok: lenient, check: wantLamport(1)},
	{name: "10th byte zero", in: cat(reqID, hx("10 ffffffffffffffffff 00"), reqChannel, reqContent), ok: lenient, check: wantLamport(math.MaxInt64)},
	{name: "overlong lamport", in: cat(reqID, hx("10 8100"), reqChannel, reqContent), ok: lenient, check: wantLamport(1)},
	{name: "overlong zero lamport", in: cat(reqID, hx("10 80808000"), reqChannel, reqContent), ok: lenient, check: wantLamport(0)},
	{name: "overlong tag", in: cat(hx("8a00 02 6964"), reqLamport, reqChannel, reqContent), ok: lenient,
		check: func(t *testing.T, m *Message) { assert.Equal(t, "id", m.MessageID) }},
	{name: "overlong length", in: cat(hx("0a 8280808000 6964"), reqLamport, reqChannel, reqContent), ok: lenient,
		check: func(t *testing.T, m *Message) { assert.Equal(t, "id", m.MessageID) }},
	{name: "overlong unknown varint", in: valid(hx("f806 ff00")), ok: lenient},

	// Huge lengths never panic.
	{name: "length 2^64-1", in: valid(hx("0a ffffffffffffffffff01"))},
	{name: "length 2^63", in: valid(hx("0a 80808080808080808001"))},
	{name: "length 2^63-1", in: valid(hx("0a ffffffffffffffff7f"))},
	{name: "length 2^32", in: valid(hx("0a 8080808010"))},
	{name: "huge length in entry", in: valid(fBytes(3, string(hx("0a ffffffffffffffffff01"))))},

	// Unknown fields and field numbers are skipped.
	{name: "unknown fields of every supported type", in: valid(fVarint(99, 5), tag(98, protowire.Fixed64Type), make([]byte, 8),
		fBytes(97, "zz"), tag(96, protowire.Fixed32Type), make([]byte, 4), fVarint(8, 1), fBytes(12, "q")), ok: true},
	{name: "field number 0", in: valid(hx("00 05"), hx("02 01 78"), hx("01 0000000000000000"), hx("05 00000000")), ok: true},
	{name: "huge field number", in: valid(hx("f8ffffffffffffffff01 00"), hx("faffffffffffffffff01 00")), ok: true},
	{name: "field number 2^29", in: valid(protowire.AppendVarint(nil, 1<<29<<3|2), []byte{0}), ok: true},

	// Causal history (field 3) and repair requests (field 13).
	{name: "history entries", in: valid(fBytes(3, string(fBytes(1, "h1"))), fBytes(3, string(cat(fBytes(1, "h2"), fBytes(2, "hint"))))), ok: true,
		check: func(t *testing.T, m *Message) {
			assert.Equal(t, []HistoryEntry{{MessageID: "h1"}, {MessageID: "h2", RetrievalHint: []byte("hint")}}, m.CausalHistory)
		}},
	{name: "legacy history msg-1", in: valid(fBytes(3, "msg-1"))},
	{name: "legacy history starting with 4", in: valid(fBytes(3, "4f3a9c"))},
	{name: "legacy history among valid entries", in: valid(fBytes(3, string(fBytes(1, "ok"))), fBytes(3, "m1"))},
	{name: "entry without message_id", in: valid(fBytes(3, string(fBytes(2, "hint"))))},
	{name: "empty entry", in: valid(fBytes(3, ""))},
	{name: "entry message_id wrong type", in: valid(fBytes(3, string(fVarint(1, 5))))},
	{name: "entry with empty message_id", in: valid(fBytes(3, string(fBytes(1, "")))), ok: true,
		check: func(t *testing.T, m *Message) { assert.Equal(t, []HistoryEntry{{}}, m.CausalHistory) }},
	{name: "entry last occurrence wins and skips unknown", in: valid(fBytes(3, string(cat(fBytes(1, "a"), fBytes(2, "h1"),
		fBytes(3, "s1"), fVarint(4, 1), fBytes(1, "b"), fBytes(2, "h2"), fBytes(3, "s2"), fVarint(2, 1), fVarint(1, 3))))), ok: true,
		check: func(t *testing.T, m *Message) {
			assert.Equal(t, []HistoryEntry{{MessageID: "b", RetrievalHint: []byte("h2"), SenderID: "s2"}}, m.CausalHistory)
		}},
	{name: "field 3 with other wire types skipped", in: valid(fVarint(3, 1), tag(3, protowire.Fixed32Type), make([]byte, 4)), ok: true,
		check: func(t *testing.T, m *Message) { assert.Nil(t, m.CausalHistory) }},
	{name: "truncated varint inside entry", in: valid(fBytes(3, string(cat(fBytes(1, "a"), []byte{0x10, 0x80}))))},
	{name: "repair request", in: valid(fBytes(13, string(cat(fBytes(1, "r"), fBytes(3, "s"))))), ok: true,
		check: func(t *testing.T, m *Message) {
			assert.Nil(t, m.CausalHistory)
			assert.Equal(t, []HistoryEntry{{MessageID: "r", SenderID: "s"}}, m.RepairRequest)
		}},
	{name: "repair request without message_id", in: valid(fBytes(13, string(fBytes(3, "s"))))},
	{name: "repair request legacy string", in: valid(fBytes(13, "msg-1"))},
	{name: "history and repair interleaved", in: valid(fBytes(13, string(fBytes(1, "r1"))), fBytes(3, string(fBytes(1, "h1"))),
		fBytes(13, string(fBytes(1, "r2"))), fBytes(3, string(fBytes(1, "h2")))), ok: true,
		check: func(t *testing.T, m *Message) {
			assert.Equal(t, []HistoryEntry{{MessageID: "h1"}, {MessageID: "h2"}}, m.CausalHistory)
			assert.Equal(t, []HistoryEntry{{MessageID: "r1"}, {MessageID: "r2"}}, m.RepairRequest)
			assert.Equal(t, 2, cap(m.CausalHistory), "appending to CausalHistory must not overwrite RepairRequest")
		}},
}

func TestUnmarshalRules(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.name, func(t *testing.T) {
			in := bytes.Clone(tc.in)
			m, err := UnmarshalV03(in)
			assert.Equal(t, tc.in, in, "input modified")
			ref, refOK := refDecode(tc.in)
			assert.Equal(t, refOK, err == nil, "disagrees with the minprotobuf port (err=%v)", err)
			if !tc.ok {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrMalformed)
				assert.Nil(t, m)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, normalize(ref), normalize(m), "differs from the minprotobuf port")
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

// TestVarintReader pins the reader itself, independently of message structure.
func TestVarintReader(t *testing.T) {
	tests := []struct {
		in      string
		v       uint64
		n       int  // <= 0: a varint* status
		minimal bool // false: the strict reader reports varintOverlong instead
	}{
		{"", 0, varintTruncated, true},
		{"00", 0, 1, true},
		{"7f", 127, 1, true},
		{"8001", 128, 2, true},
		{"80", 0, varintTruncated, true},
		{"ffffffffffffffffff01", math.MaxUint64, 10, true},
		{"ffffffffffffffffff", 0, varintTruncated, true},
		{"ffffffffffffffffff81", 0, varintTooLong, true},
		{"ffffffffffffffffff8101", 0, varintTooLong, true},
		{"808080808080808080807f", 0, varintTooLong, true},
		{"8100", 1, 2, false},
		{"ffffffffffffffffff03", math.MaxUint64, 10, false},
		{"ffffffffffffffffff00", math.MaxInt64, 10, false},
	}
	for _, tc := range tests {
		v, n := uvarint(hx(tc.in))
		if !tc.minimal && rejectNonMinimalVarints {
			assert.Equal(t, varintOverlong, n, tc.in)
			continue
		}
		assert.Equal(t, tc.n, n, tc.in)
		if n > 0 {
			assert.Equal(t, tc.v, v, tc.in)
		}
	}
}

func TestUnmarshalAliasesBytesAndCopiesStrings(t *testing.T) {
	in := valid(fBytes(6, "bloom"), fBytes(3, string(cat(fBytes(1, "h"), fBytes(2, "hint")))))
	m := mustUnmarshal(t, in)
	require.Len(t, m.CausalHistory, 1)
	assert.Equal(t, len(m.Content), cap(m.Content), "content capacity capped")
	assert.Equal(t, len(m.BloomFilter), cap(m.BloomFilter))
	for i := range in {
		in[i] = 'Z'
	}
	assert.Equal(t, "id", m.MessageID)
	assert.Equal(t, "ch", m.ChannelID)
	assert.Equal(t, "h", m.CausalHistory[0].MessageID)
	assert.Equal(t, []byte("Z"), m.Content, "content aliases the input")
	assert.Equal(t, []byte("ZZZZZ"), m.BloomFilter, "bloom filter aliases the input")
	assert.Equal(t, []byte("ZZZZ"), m.CausalHistory[0].RetrievalHint, "hint aliases the input")
}

func TestMarshalLayout(t *testing.T) {
	m := &Message{
		MessageID:     "a",
		Lamport:       1,
		CausalHistory: []HistoryEntry{{MessageID: "b", RetrievalHint: []byte("h"), SenderID: "s"}},
		ChannelID:     "c",
		SenderID:      "S",
		RepairRequest: []HistoryEntry{{MessageID: "r", SenderID: "t"}},
	}
	want := hx("0a0161 1001 1a09 0a0162 120168 1a0173 220163 2a00 3200 3a0153 6a06 0a0172 1a0174")
	assert.Equal(t, want, m.Marshal())
	assert.Equal(t, len(want), m.Size())
	assert.Equal(t, normalize(m), normalize(mustUnmarshal(t, want)))

	// Empty optional fields are not written; lamport 0, content and bloom are.
	empty := &Message{}
	assert.Equal(t, hx("0a00 1000 2200 2a00 3200"), empty.Marshal())
	assert.Equal(t, 10, empty.Size())
}

func TestMarshalNegativeLamport(t *testing.T) {
	for _, l := range []int64{-1, math.MinInt64, math.MaxInt64, 1700000001123} {
		m := &Message{MessageID: "m", Lamport: l, ChannelID: "c"}
		b := m.Marshal()
		assert.Equal(t, m.Size(), len(b))
		assert.Equal(t, l, mustUnmarshal(t, b).Lamport)
	}
	assert.Equal(t, hx("0a016d 10ffffffffffffffffff01 220163 2a00 3200"), (&Message{MessageID: "m", Lamport: -1, ChannelID: "c"}).Marshal())
}

func TestRoundTripSenderAndRepair(t *testing.T) {
	m := &Message{
		MessageID: "msg-9",
		Lamport:   42,
		CausalHistory: []HistoryEntry{
			{MessageID: "h1"},
			{MessageID: "h2", RetrievalHint: []byte{0, 1, 2}},
			{MessageID: "h3", SenderID: "alice"},
			{MessageID: "h4", RetrievalHint: []byte("hint"), SenderID: "bob"},
		},
		ChannelID:   "chan",
		Content:     []byte("payload"),
		BloomFilter: []byte{1, 2, 3},
		SenderID:    "carol",
		RepairRequest: []HistoryEntry{
			{MessageID: "r1", SenderID: "dave"},
			{MessageID: "r2", RetrievalHint: []byte("rh"), SenderID: "erin"},
			{MessageID: "r3"},
		},
	}
	b := m.Marshal()
	assert.Equal(t, m.Size(), len(b))
	got := mustUnmarshal(t, b)
	assert.Equal(t, normalize(m), normalize(got))
	assert.Equal(t, b, got.Marshal())
	ref, ok := refDecode(b)
	require.True(t, ok)
	assert.Equal(t, normalize(m), normalize(ref))
}

func TestRoundTripInvalidUTF8(t *testing.T) {
	bad := "\xff\xfe\x80 \xc3(\xed\xa0\x80"
	m := &Message{
		MessageID:     bad + "id",
		Lamport:       7,
		CausalHistory: []HistoryEntry{{MessageID: bad, SenderID: bad + "s"}},
		ChannelID:     bad,
		Content:       []byte(bad),
		SenderID:      "\xc0\xaf",
		RepairRequest: []HistoryEntry{{MessageID: "\xf8\x88\x80\x80\x80"}},
	}
	b := m.Marshal()
	got := mustUnmarshal(t, b)
	assert.Equal(t, normalize(m), normalize(got))
	assert.Equal(t, b, got.Marshal())
	ch, err := ExtractChannelID(b)
	require.NoError(t, err)
	assert.Equal(t, bad, ch)
}

func TestExtractChannelID(t *testing.T) {
	ok := []struct {
		name string
		in   []byte
		want string
	}{
		{"valid message", valid(), "ch"},
		{"channel only", fBytes(4, "only"), "only"},
		{"empty channel", fBytes(4, ""), ""},
		{"last occurrence wins", cat(fBytes(4, "a"), reqID, fBytes(4, "b")), "b"},
		{"wrong-type occurrence ignored", cat(fBytes(4, "a"), fVarint(4, 1)), "a"},
		{"bad entry is not decoded", valid(fBytes(3, "msg-1")), "ch"},
		{"other required fields missing", cat(fBytes(4, "c"), fBytes(99, "x")), "c"},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ExtractChannelID(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			ref, refOK := refExtractChannelID(tc.in)
			assert.True(t, refOK)
			assert.Equal(t, ref, got)
		})
	}
	bad := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"missing", cat(reqID, reqLamport, reqContent)},
		{"wrong type only", cat(reqID, fVarint(4, 1))},
		{"malformed after channel", valid([]byte{0x80})},
		{"malformed before channel", cat(tag(9, protowire.StartGroupType), reqChannel)},
		{"truncated channel", hx("2205 6368")},
		{"huge length", hx("22 ffffffffffffffffff01")},
		{"11-byte varint", cat(reqChannel, hx("08 ffffffffffffffffffff01"))},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ExtractChannelID(tc.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrMalformed)
			_, refOK := refExtractChannelID(tc.in)
			assert.False(t, refOK)
		})
	}
}

func TestHistoryEntry(t *testing.T) {
	tests := []struct {
		e    HistoryEntry
		want string
	}{
		{HistoryEntry{MessageID: "a"}, "0a0161"},
		{HistoryEntry{MessageID: "a", RetrievalHint: []byte{}}, "0a0161"},
		{HistoryEntry{}, "0a00"},
		{HistoryEntry{MessageID: "a", RetrievalHint: []byte{0xff}}, "0a0161 1201ff"},
		{HistoryEntry{MessageID: "a", SenderID: "s"}, "0a0161 1a0173"},
		{HistoryEntry{MessageID: "a", RetrievalHint: []byte("h"), SenderID: "s"}, "0a0161 120168 1a0173"},
	}
	for _, tc := range tests {
		want := hx(tc.want)
		assert.Equal(t, want, tc.e.AppendMarshal(nil))
		assert.Equal(t, len(want), tc.e.Size())
		assert.Equal(t, append([]byte("pre"), want...), tc.e.AppendMarshal([]byte("pre")))
		got, err := UnmarshalHistoryEntry(want)
		require.NoError(t, err)
		assert.Equal(t, tc.e.MessageID, got.MessageID)
		assert.Equal(t, tc.e.SenderID, got.SenderID)
		assert.Equal(t, nonNil(tc.e.RetrievalHint), nonNil(got.RetrievalHint))
	}
	for _, in := range []string{"", "1201ff", "6d73672d31", "34", "0a05 61", "0a01610b"} {
		_, err := UnmarshalHistoryEntry(hx(in))
		assert.ErrorIs(t, err, ErrMalformed, in)
	}
}

func TestAppendMarshalGrowsOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	m := &Message{MessageID: "id", Lamport: 3, ChannelID: "c", Content: make([]byte, 1000),
		BloomFilter: make([]byte, 5000), CausalHistory: []HistoryEntry{{MessageID: "x", RetrievalHint: []byte("y")}}}
	n := m.Size()
	assert.Equal(t, n, len(m.Marshal()))
	assert.Equal(t, 1.0, testing.AllocsPerRun(20, func() { _ = m.Marshal() }))
	prefix := []byte("prefix")
	assert.Equal(t, 1.0, testing.AllocsPerRun(20, func() { _ = m.AppendMarshal(prefix) }))
	buf := make([]byte, 0, n+10)
	assert.Equal(t, 0.0, testing.AllocsPerRun(20, func() { _ = m.AppendMarshal(buf[:3]) }))
	out := m.AppendMarshal(prefix)
	assert.Equal(t, []byte("prefix"), out[:6])
	assert.Equal(t, m.Marshal(), out[6:])
}

func TestUnmarshalAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	in := realisticMessage().Marshal()
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := UnmarshalV03(in); err != nil {
			t.Fatal(err)
		}
	})
	// The Message, one backing array for both entry lists, one copy of the
	// entries (whose strings are cut from it), the message id and the channel
	// id.
	assert.LessOrEqual(t, allocs, 5.0)
}

func TestErrorsWrapErrMalformed(t *testing.T) {
	for _, tc := range ruleCases {
		if tc.ok {
			continue
		}
		_, err := UnmarshalV03(tc.in)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v does not wrap ErrMalformed", tc.name, err)
		}
		if err != nil && err.Error() == ErrMalformed.Error() {
			t.Errorf("%s: error carries no reason", tc.name)
		}
	}
}

func TestNormalizeIsNeeded(t *testing.T) {
	// Guards the helper the fuzz target relies on: nil and empty must differ
	// under DeepEqual and agree after normalize.
	a, b := &Message{Content: nil}, &Message{Content: []byte{}}
	assert.False(t, reflect.DeepEqual(a, b))
	assert.True(t, reflect.DeepEqual(normalize(a), normalize(b)))
}

// TestManyEntries covers more entries than Unmarshal remembers on the stack
// (maxSpans), interleaved, with and without a bad one.
func TestManyEntries(t *testing.T) {
	var parts [][]byte
	var wantHist, wantRep []HistoryEntry
	for i := 0; i < maxSpans+9; i++ {
		id := string(rune('A'+i%26)) + string(rune('a'+i/26))
		if i%4 == 3 {
			parts = append(parts, fBytes(13, string(cat(fBytes(1, id), fBytes(3, "s")))))
			wantRep = append(wantRep, HistoryEntry{MessageID: id, SenderID: "s"})
		} else {
			parts = append(parts, fBytes(3, string(cat(fBytes(1, id), fBytes(2, "h")))))
			wantHist = append(wantHist, HistoryEntry{MessageID: id, RetrievalHint: []byte("h")})
		}
	}
	// An unknown field among the entries makes them irregular: they are then
	// found by their spans or, beyond maxSpans, a second scan.
	scattered := func(ps [][]byte) [][]byte {
		out := append([][]byte{}, ps[:len(ps)/2]...)
		return append(append(out, fBytes(9, "x")), ps[len(ps)/2:]...)
	}
	for _, n := range []int{maxSpans - 1, maxSpans, maxSpans + 1, len(parts)} {
		for _, in := range [][]byte{valid(parts[:n]...), valid(scattered(parts[:n])...)} {
			m := mustUnmarshal(t, in)
			ref, ok := refDecode(in)
			require.True(t, ok)
			assert.Equal(t, normalize(ref), normalize(m), "n=%d", n)
			assert.Equal(t, normalize(m), normalize(mustUnmarshal(t, m.Marshal())), "n=%d", n)
			if n == len(parts) {
				assert.Equal(t, wantHist, m.CausalHistory)
				assert.Equal(t, wantRep, m.RepairRequest)
			}
		}
		for _, bad := range [][]byte{fBytes(3, "msg-1"), fBytes(13, string(fBytes(2, "h")))} {
			in := valid(append(append(append([][]byte{}, parts[:n]...), bad), parts[n:]...)...)
			_, err := UnmarshalV03(in)
			assert.ErrorIs(t, err, ErrMalformed, "n=%d", n)
			_, ok := refDecode(in)
			assert.False(t, ok)
		}
	}
}

// TestEntryRunForms covers a run of entries, one after another with one-byte
// lengths, some of which are not in the short canonical form the run's walk
// fills in place: first, in the middle and last, causal or repair. 0.3 reads
// them as minprotobuf does; detection takes a non-canonical causal one for
// 0.4's.
func TestEntryRunForms(t *testing.T) {
	short := func(id string) []byte { return fBytes(3, string(cat(fBytes(1, id), fBytes(2, "h"), fBytes(3, "s")))) }
	odd := map[string][]byte{
		"sender before hint": fBytes(3, string(cat(fBytes(1, "o"), fBytes(3, "s"), fBytes(2, "h")))),
		"empty hint":         fBytes(3, string(cat(fBytes(1, "o"), fBytes(2, "")))),
		"unknown field":      fBytes(3, string(cat(fBytes(1, "o"), fBytes(9, "u")))),
		"repeated id":        fBytes(3, string(cat(fBytes(1, "p"), fBytes(1, "o")))),
		"repair, no hint":    fBytes(13, string(cat(fBytes(3, "s"), fBytes(1, "o")))),
	}
	for name, e := range odd {
		for pos := 0; pos < 3; pos++ {
			entries := [][]byte{short("a"), short("b")}
			entries = append(entries[:pos], append([][]byte{e}, entries[pos:]...)...)
			in := cat(reqID, reqLamport, cat(entries...), reqChannel, reqContent)
			m, err := UnmarshalV03(in)
			require.NoError(t, err, "%s at %d", name, pos)
			ref, ok := refDecode(in)
			require.True(t, ok)
			assert.Equal(t, normalize(ref), normalize(m), "%s at %d", name, pos)

			_, g, err := Decode(in, V03)
			require.NoError(t, err)
			want := V04
			if e[0] == tagByte(fieldRepairRequest, protowire.BytesType) {
				want = V03 // repair requests do not tell generations apart
			}
			assert.Equal(t, want, g, "%s at %d", name, pos)
		}
	}
}

// TestMarshalLayoutRecognized checks that the top-level pass tells Marshal's
// exact layout (whose stripped form is then cut from the input) from any
// other order, repetition or extra field.
func TestMarshalLayoutRecognized(t *testing.T) {
	layoutOf := func(data []byte) (other bool) {
		t.Helper()
		var d decoderV03
		require.NoError(t, d.decode(data, nil))
		return d.layout.other
	}
	hist := []HistoryEntry{{MessageID: "a", RetrievalHint: []byte("h"), SenderID: "s"}, {MessageID: "b"}}
	for _, m := range []*Message{
		{MessageID: "m", ChannelID: "c"},
		{MessageID: "m", Lamport: 300, CausalHistory: hist, ChannelID: "c", Content: []byte("x"), BloomFilter: []byte{1}},
		{MessageID: "m", CausalHistory: hist, ChannelID: "c", SenderID: "me", RepairRequest: hist},
		{MessageID: "m", ChannelID: "c", RepairRequest: hist[:1]},
	} {
		assert.False(t, layoutOf(m.Marshal()), "%+v", m)
	}
	id, lamport, entry, channel := fBytes(1, "m"), fVarint(2, 1), fBytes(3, string(fBytes(1, "a"))), fBytes(4, "c")
	content, bloom, sender, repair := fBytes(5, "x"), fBytes(6, ""), fBytes(7, "s"), fBytes(13, string(fBytes(1, "r")))
	for name, data := range map[string][]byte{
		"lamport first":        cat(lamport, id, entry, channel, content, bloom),
		"channel before entry": cat(id, lamport, channel, entry, content, bloom),
		"two ids":              cat(id, id, lamport, channel, content, bloom),
		"two senders":          cat(id, lamport, channel, content, bloom, sender, sender),
		"empty sender":         cat(id, lamport, channel, content, bloom, fBytes(7, "")),
		"repair before sender": cat(id, lamport, channel, content, bloom, repair, sender),
		"unknown field":        cat(id, lamport, channel, content, fBytes(9, "u"), bloom),
		"lamport also bytes":   cat(id, fBytes(2, "1"), lamport, channel, content, bloom),
		"entry after repair":   cat(id, lamport, channel, content, bloom, repair, entry),
	} {
		assert.True(t, layoutOf(data), name)
	}
	assert.False(t, layoutOf(cat(id, lamport, entry, entry, channel, content, bloom, sender, repair, repair)))
}

// Entries are written and sized as protowire does around every length
// boundary (Size has a fast path for short fields), whether the output has
// room for them or not.
func TestEntryEncodingAtLengthBoundaries(t *testing.T) {
	str := func(n int) string { return strings.Repeat("x", n) }
	var entries []HistoryEntry
	for _, id := range []int{0, 1, 40, 127, 128} {
		for _, hint := range []int{0, 1, 60, 127, 128} {
			for _, sender := range []int{0, 1, 20, 127, 128} {
				e := HistoryEntry{MessageID: str(id), SenderID: str(sender)}
				if hint > 0 {
					e.RetrievalHint = []byte(str(hint))
				}
				entries = append(entries, e)
			}
		}
	}
	entries = append(entries, HistoryEntry{MessageID: str(123)}, HistoryEntry{MessageID: str(124)}) // inner 125 and 126 bytes: nested length 1 byte
	entries = append(entries, HistoryEntry{MessageID: str(125)}, HistoryEntry{MessageID: str(126)}) // inner 127 and 128
	for _, e := range entries {
		inner := fBytes(entryFieldID, e.MessageID)
		if len(e.RetrievalHint) > 0 {
			inner = append(inner, fBytes(entryFieldHint, string(e.RetrievalHint))...)
		}
		if e.SenderID != "" {
			inner = append(inner, fBytes(entryFieldSender, e.SenderID)...)
		}
		require.Equal(t, len(inner), e.Size())
		name := fmt.Sprintf("id %d, hint %d, sender %d", len(e.MessageID), len(e.RetrievalHint), len(e.SenderID))
		m := &Message{MessageID: "m", ChannelID: "c", CausalHistory: []HistoryEntry{e, e}, RepairRequest: []HistoryEntry{e}}
		nested := fBytes(fieldCausalHistory, string(inner))
		want := cat(fBytes(fieldID, "m"), fVarint(fieldLamport, 0), nested, nested, fBytes(fieldChannelID, "c"),
			fBytes(fieldContent, ""), fBytes(fieldBloomFilter, ""), fBytes(fieldRepairRequest, string(inner)))
		require.Equal(t, want, m.Marshal(), name)
		require.Equal(t, len(want), m.Size(), name)
		for _, room := range []int{0, 10, len(want)} { // no room, some, all
			require.Equal(t, append([]byte("pre"), want...), m.AppendMarshal(append(make([]byte, 0, 3+room), "pre"...)), name)
			// appendTo without AppendMarshal's reservation: the room falls short
			require.Equal(t, append([]byte("pre"), want...), m.appendTo(append(make([]byte, 0, 3+room), "pre"...), nil), name)
		}
	}
}
