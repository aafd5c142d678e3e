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
	// Filter, when set, is written as field 6 instead of BloomFilter, straight
	// into the output: a sender's filter need not be serialized on its own first.
	Filter        FilterSource
	SenderID      string // written only if non-empty
	RepairRequest []HistoryEntry
	// EncodedHistory, when not nil, is what the 0.3 encoder writes for the
	// causal history instead of encoding CausalHistory: CausalHistory's
	// entries as a HistoryEncoder returns them. CausalHistory must still hold
	// them (the 0.4 encoder writes those).
	EncodedHistory []byte
}

// FilterSource writes a serialized bloom filter into an encoding (see
// Message.Filter).
type FilterSource interface {
	// SerializedSize is the number of bytes AppendSerialized appends.
	SerializedSize() int
	// AppendSerialized appends the serialized filter to b.
	AppendSerialized(b []byte) []byte
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
	if n, ok := e.shortSize(); ok {
		return n
	}
	n := tagSize + sizeBytes(len(e.MessageID))
	if len(e.RetrievalHint) > 0 {
		n += tagSize + sizeBytes(len(e.RetrievalHint))
	}
	if e.SenderID != "" {
		n += tagSize + sizeBytes(len(e.SenderID))
	}
	return n
}

// shortSize is Size for the usual entry, whose fields are each under 128
// bytes (one-byte lengths), small enough to inline where entries are walked;
// ok is false for any other entry.
func (e *HistoryEntry) shortSize() (n int, ok bool) {
	id, hint, sender := len(e.MessageID), len(e.RetrievalHint), len(e.SenderID)
	n = 2 + id
	if hint > 0 {
		n += 2 + hint
	}
	if sender > 0 {
		n += 2 + sender
	}
	return n, id|hint|sender < 0x80
}

// AppendMarshal appends e's 0.3 encoding to b, growing b at most once. The id is
// always written; the hint and the sender id only when non-empty, as nim-sds 0.3
// does.
func (e *HistoryEntry) AppendMarshal(b []byte) []byte {
	b = slices.Grow(b, e.Size())
	return e.appendTo(b)
}

func (e *HistoryEntry) appendTo(b []byte) []byte {
	b = appendString(b, entryFieldID, e.MessageID)
	if len(e.RetrievalHint) > 0 {
		b = appendBytes(b, entryFieldHint, e.RetrievalHint)
	}
	if e.SenderID != "" {
		b = appendString(b, entryFieldSender, e.SenderID)
	}
	return b
}

// The encoder's primitives. Every tag is one byte and most lengths are below
// 128, so these inline to a store or two; protowire's equivalents are calls.

func tagByte(num protowire.Number, typ protowire.Type) byte { return byte(num)<<3 | byte(typ) }

func appendVarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return protowire.AppendVarint(b, v)
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if len(s) < 0x80 {
		return append(append(b, tagByte(num, protowire.BytesType), byte(len(s))), s...)
	}
	return appendLong(b, num, s)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) < 0x80 {
		return append(append(b, tagByte(num, protowire.BytesType), byte(len(v))), v...)
	}
	return appendLong(b, num, v)
}

func appendLong[T string | []byte](b []byte, num protowire.Number, v T) []byte {
	b = protowire.AppendVarint(append(b, tagByte(num, protowire.BytesType)), uint64(len(v)))
	return append(b, v...)
}

// Size returns the exact length of m's 0.3 encoding.
func (m *Message) Size() int {
	n := tagSize + sizeBytes(len(m.MessageID))
	n += tagSize + protowire.SizeVarint(uint64(m.Lamport))
	if m.EncodedHistory != nil {
		n += len(m.EncodedHistory)
	} else {
		n += entriesSize(m.CausalHistory)
	}
	n += tagSize + sizeBytes(len(m.ChannelID))
	n += tagSize + sizeBytes(len(m.Content))
	n += tagSize + sizeBytes(m.filterSize())
	if m.SenderID != "" {
		n += tagSize + sizeBytes(len(m.SenderID))
	}
	return n + entriesSize(m.RepairRequest)
}

// entriesSize is the encoded length of es as nested fields.
func entriesSize(es []HistoryEntry) int {
	n := 0
	for i := range es {
		s, ok := es[i].shortSize()
		if !ok {
			s = es[i].Size()
		}
		n += tagSize + sizeBytes(s)
	}
	return n
}

func (m *Message) filterSize() int {
	if m.Filter != nil {
		return m.Filter.SerializedSize()
	}
	return len(m.BloomFilter)
}

// AppendMarshal appends m's 0.3 encoding to b, growing b at most once (by Size
// bytes). The output is byte-identical to nim-sds 0.3's for the same message.
func (m *Message) AppendMarshal(b []byte) []byte {
	b = slices.Grow(b, m.Size())
	return m.appendTo(b, nil)
}

// Marshal returns m's 0.3 encoding in a newly allocated slice of exactly Size bytes.
func (m *Message) Marshal() []byte {
	return m.appendTo(make([]byte, 0, m.Size()), nil)
}

// AppendMarshalStripped is AppendMarshal that also returns, in a new slice, the
// encoding of m without its bloom filter (written empty) and its repair
// requests: the same bytes as Marshal of such a copy, cut from the one
// encoding instead of marshaling twice.
func (m *Message) AppendMarshalStripped(b []byte) (out, stripped []byte) {
	start := len(b)
	b = slices.Grow(b, m.Size())
	var l layout
	b = m.appendTo(b, &l)
	head, tail := b[start:l.filter], b[l.filterEnd:l.senderEnd]
	// make then copy, as two statements: the compiler then allocates without
	// zeroing what the copy writes.
	stripped = make([]byte, len(head)+2+len(tail))
	copy(stripped, head)
	n := len(head)
	stripped[n], stripped[n+1] = tagByte(fieldBloomFilter, protowire.BytesType), 0
	copy(stripped[n+2:], tail)
	return b, stripped
}

// layout records where appendTo wrote the fields AppendMarshalStripped leaves out.
type layout struct {
	filter, filterEnd int // field 6, tag included
	senderEnd         int // end of field 7 (or of field 6 when there is none)
}

// appendTo writes the fields in nim-sds's order, recording the layout in l if
// it is not nil. The caller has reserved the room.
func (m *Message) appendTo(b []byte, l *layout) []byte {
	b = appendString(b, fieldID, m.MessageID)
	// Written even when 0: nim-sds requires field 2 on decode.
	b = appendVarint(append(b, tagByte(fieldLamport, protowire.VarintType)), uint64(m.Lamport))
	if m.EncodedHistory != nil {
		b = append(b, m.EncodedHistory...)
	} else {
		for i := range m.CausalHistory {
			b = appendEntry(b, fieldCausalHistory, &m.CausalHistory[i])
		}
	}
	b = appendString(b, fieldChannelID, m.ChannelID)
	// Content and bloom filter are written even when empty, as nim-sds does;
	// content is required on decode.
	b = appendBytes(b, fieldContent, m.Content)
	filter := len(b)
	if m.Filter != nil {
		b = appendVarint(append(b, tagByte(fieldBloomFilter, protowire.BytesType)), uint64(m.Filter.SerializedSize()))
		b = m.Filter.AppendSerialized(b)
	} else {
		b = appendBytes(b, fieldBloomFilter, m.BloomFilter)
	}
	filterEnd := len(b)
	if m.SenderID != "" {
		b = appendString(b, fieldSenderID, m.SenderID)
	}
	if l != nil {
		l.filter, l.filterEnd, l.senderEnd = filter, filterEnd, len(b)
	}
	for i := range m.RepairRequest {
		b = appendEntry(b, fieldRepairRequest, &m.RepairRequest[i])
	}
	return b
}

// appendEntry writes an entry as a nested message. Its length is written after
// it: entries are nearly always under 128 bytes, whose length is one byte, and
// this spares computing each entry's size a second time.
func appendEntry(b []byte, num protowire.Number, e *HistoryEntry) []byte {
	b = append(b, tagByte(num, protowire.BytesType), 0)
	start := len(b)
	b = e.appendTo(b)
	n := len(b) - start
	if n < 0x80 {
		b[start-1] = byte(n)
		return b
	}
	lenBytes := protowire.AppendVarint(nil, uint64(n))
	b = append(b, lenBytes[1:]...) // room for the longer length
	copy(b[start-1+len(lenBytes):], b[start:start+n])
	copy(b[start-1:], lenBytes)
	return b
}

// sizeBytes is protowire.SizeBytes, inlined for the usual short fields.
func sizeBytes(n int) int {
	if n < 0x80 {
		return 1 + n
	}
	return protowire.SizeBytes(n)
}
