package wire

import (
	"errors"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// HistoryEntry is one causal-history or repair-request entry.
type HistoryEntry struct {
	MessageID     string
	RetrievalHint []byte // empty => not written
	SenderID      string // empty => not written
}

// Message is an SdsMessage, in either generation's layout.
type Message struct {
	MessageID     string
	Lamport       int64 // written as varint(uint64(Lamport)); decoded uint64 cast to int64
	CausalHistory []HistoryEntry
	ChannelID     string
	Content       []byte
	BloomFilter   []byte // the nested serialized bloom filter; 0.3 writes it even when empty
	SenderID      string // written only if non-empty
	RepairRequest []HistoryEntry
}

// ErrMalformed is wrapped by every decode error: errors.Is(err, ErrMalformed) holds
// for anything Unmarshal, ExtractChannelID or UnmarshalHistoryEntry return. nim-sds
// reports all of these as reDeserializationError.
var ErrMalformed = errors.New("wire: malformed SDS message")

// Field numbers of nim-sds's layout (not LIP-109's).
const (
	fieldID            protowire.Number = 1
	fieldLamport       protowire.Number = 2
	fieldCausalHistory protowire.Number = 3
	fieldChannelID     protowire.Number = 4
	fieldContent       protowire.Number = 5
	fieldBloomFilter   protowire.Number = 6
	fieldSenderID      protowire.Number = 7
	fieldRepairRequest protowire.Number = 13

	entryFieldID     protowire.Number = 1
	entryFieldHint   protowire.Number = 2
	entryFieldSender protowire.Number = 3
)

// Every tag this package writes is a single byte (field numbers < 16), so a tag's
// size is the constant 1.
const tagSize = 1

// Size returns the exact length of e's 0.3 encoding.
func (e *HistoryEntry) Size() int {
	n := tagSize + protowire.SizeBytes(len(e.MessageID))
	if len(e.RetrievalHint) > 0 {
		n += tagSize + protowire.SizeBytes(len(e.RetrievalHint))
	}
	if e.SenderID != "" {
		n += tagSize + protowire.SizeBytes(len(e.SenderID))
	}
	return n
}

// AppendMarshal appends e's 0.3 encoding to b, growing b at most once. The id is
// always written; the hint and the sender id only when non-empty, as nim-sds 0.3
// does.
func (e *HistoryEntry) AppendMarshal(b []byte) []byte {
	b = slices.Grow(b, e.Size())
	return e.appendTo(b)
}

func (e *HistoryEntry) appendTo(b []byte) []byte {
	b = protowire.AppendTag(b, entryFieldID, protowire.BytesType)
	b = protowire.AppendString(b, e.MessageID)
	if len(e.RetrievalHint) > 0 {
		b = protowire.AppendTag(b, entryFieldHint, protowire.BytesType)
		b = protowire.AppendBytes(b, e.RetrievalHint)
	}
	if e.SenderID != "" {
		b = protowire.AppendTag(b, entryFieldSender, protowire.BytesType)
		b = protowire.AppendString(b, e.SenderID)
	}
	return b
}

// Size returns the exact length of m's 0.3 encoding.
func (m *Message) Size() int {
	n := tagSize + protowire.SizeBytes(len(m.MessageID))
	n += tagSize + protowire.SizeVarint(uint64(m.Lamport))
	for i := range m.CausalHistory {
		n += tagSize + protowire.SizeBytes(m.CausalHistory[i].Size())
	}
	n += tagSize + protowire.SizeBytes(len(m.ChannelID))
	n += tagSize + protowire.SizeBytes(len(m.Content))
	n += tagSize + protowire.SizeBytes(len(m.BloomFilter))
	if m.SenderID != "" {
		n += tagSize + protowire.SizeBytes(len(m.SenderID))
	}
	for i := range m.RepairRequest {
		n += tagSize + protowire.SizeBytes(m.RepairRequest[i].Size())
	}
	return n
}

// AppendMarshal appends m's 0.3 encoding to b, growing b at most once (by Size
// bytes). The output is byte-identical to nim-sds 0.3's for the same message.
func (m *Message) AppendMarshal(b []byte) []byte {
	b = slices.Grow(b, m.Size())
	return m.appendTo(b)
}

// Marshal returns m's 0.3 encoding in a newly allocated slice of exactly Size bytes.
func (m *Message) Marshal() []byte {
	return m.appendTo(make([]byte, 0, m.Size()))
}

// appendTo writes the fields in nim-sds's order. The caller has reserved the room.
func (m *Message) appendTo(b []byte) []byte {
	b = protowire.AppendTag(b, fieldID, protowire.BytesType)
	b = protowire.AppendString(b, m.MessageID)
	// Written even when 0: nim-sds requires field 2 on decode.
	b = protowire.AppendTag(b, fieldLamport, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(m.Lamport))
	for i := range m.CausalHistory {
		b = appendEntry(b, fieldCausalHistory, &m.CausalHistory[i])
	}
	b = protowire.AppendTag(b, fieldChannelID, protowire.BytesType)
	b = protowire.AppendString(b, m.ChannelID)
	// Content and bloom filter are written even when empty, as nim-sds does;
	// content is required on decode.
	b = protowire.AppendTag(b, fieldContent, protowire.BytesType)
	b = protowire.AppendBytes(b, m.Content)
	b = protowire.AppendTag(b, fieldBloomFilter, protowire.BytesType)
	b = protowire.AppendBytes(b, m.BloomFilter)
	if m.SenderID != "" {
		b = protowire.AppendTag(b, fieldSenderID, protowire.BytesType)
		b = protowire.AppendString(b, m.SenderID)
	}
	for i := range m.RepairRequest {
		b = appendEntry(b, fieldRepairRequest, &m.RepairRequest[i])
	}
	return b
}

func appendEntry(b []byte, num protowire.Number, e *HistoryEntry) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(e.Size()))
	return e.appendTo(b)
}
