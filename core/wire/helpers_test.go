package wire

import (
	"encoding/hex"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// Builders for hand-made encodings. They deliberately use protowire, not the
// package's own encoder, so a test input does not depend on the code under test.

func tag(num protowire.Number, typ protowire.Type) []byte {
	return protowire.AppendTag(nil, num, typ)
}

func fBytes(num protowire.Number, s string) []byte {
	return protowire.AppendString(tag(num, protowire.BytesType), s)
}

func fVarint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(tag(num, protowire.VarintType), v)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// hx decodes hex, ignoring spaces; it panics on bad input (test tables only).
func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// The four required fields of a minimal valid message.
var (
	reqID      = fBytes(1, "id")
	reqLamport = fVarint(2, 1)
	reqChannel = fBytes(4, "ch")
	reqContent = fBytes(5, "x")
)

// valid returns a minimal valid message followed by extra.
func valid(extra ...[]byte) []byte {
	return cat(append([][]byte{reqID, reqLamport, reqChannel, reqContent}, extra...)...)
}

// defaultEmptyBloom is the serialized empty default filter of PROTOCOL.md §1.3:
// 0a c0 92 01, 18752 zero bytes, 10 90 4e 18 e8 07 20 0a 28 f0 93 09.
func defaultEmptyBloom() []byte {
	b := hx("0ac09201")
	b = append(b, make([]byte, 18752)...)
	return append(b, hx("10904e18e807200a28f09309")...)
}

// normalize makes nil and empty slices compare equal under reflect.DeepEqual.
func normalize(m *Message) *Message {
	if m == nil {
		return nil
	}
	c := *m
	c.Content = nonNil(c.Content)
	c.BloomFilter = nonNil(c.BloomFilter)
	c.CausalHistory = normEntries(c.CausalHistory)
	c.RepairRequest = normEntries(c.RepairRequest)
	return &c
}

func normEntries(es []HistoryEntry) []HistoryEntry {
	out := make([]HistoryEntry, len(es))
	for i, e := range es {
		e.RetrievalHint = nonNil(e.RetrievalHint)
		out[i] = e
	}
	return out
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func mustUnmarshal(t testing.TB, data []byte) *Message {
	t.Helper()
	m, err := UnmarshalV03(data)
	if err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	return m
}
