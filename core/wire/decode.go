package wire

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// rejectNonMinimalVarints selects between the two varint readers nim-libp2p has
// shipped as PB.getUVarint:
//
//   - false (the 2018 loop, which PROTOCOL.md §1.1 describes): up to ten bytes,
//     the tenth contributing only its lowest bit, non-minimal encodings accepted.
//   - true (nim-libp2p since early 2020: the loop with a size check, then the
//     stew/leb128 reader): a non-minimal encoding is an error
//     (VarintError.Overlong) and so is a tenth byte other than 0x01.
//
// nim-sds pins nim-libp2p 1.15.3 in its nimble.lock, whose getUVarint parses with
// stew's Leb128 and returns Overlong when vsizeof(value) != length, so the strict
// reader is what nim-sds peers run. Only hand-crafted input tells the two apart.
const rejectNonMinimalVarints = true

// Decode errors. They are sentinels so the hot path never allocates.
var (
	errTruncatedVarint = fmt.Errorf("%w: truncated varint", ErrMalformed)
	errLongVarint      = fmt.Errorf("%w: varint longer than 10 bytes", ErrMalformed)
	errOverlongVarint  = fmt.Errorf("%w: non-minimal varint", ErrMalformed)
	errWireType        = fmt.Errorf("%w: unsupported wire type (group, 6 or 7)", ErrMalformed)
	errTruncatedFixed  = fmt.Errorf("%w: truncated fixed32/fixed64 value", ErrMalformed)
	errLength          = fmt.Errorf("%w: length exceeds the remaining bytes", ErrMalformed)

	errMissingID      = fmt.Errorf("%w: required field message_id (1) missing", ErrMalformed)
	errMissingLamport = fmt.Errorf("%w: required field lamport_timestamp (2, varint) missing", ErrMalformed)
	errMissingChannel = fmt.Errorf("%w: required field channel_id (4) missing", ErrMalformed)
	errMissingContent = fmt.Errorf("%w: required field content (5) missing", ErrMalformed)
	errMissingEntryID = fmt.Errorf("%w: history entry lacks its required message_id (1)", ErrMalformed)
)

// varint status codes returned as n by uvarint.
const (
	varintTruncated = 0
	varintTooLong   = -1
	varintOverlong  = -2
)

// uvarint reads a varint the way nim-libp2p's PB.getUVarint does (see
// rejectNonMinimalVarints). It returns the value and its length n > 0, or a
// varint* status n <= 0. protowire.ConsumeVarint is not used because it rejects a
// tenth byte above 1, which the 2018 reader accepts.
func uvarint(b []byte) (v uint64, n int) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if i == 9 {
			// Bit 63 is all that is left; a continuation bit would need an
			// 11th byte (shift >= 64), which both readers refuse.
			if c >= 0x80 {
				return 0, varintTooLong
			}
			if rejectNonMinimalVarints && c != 1 {
				return 0, varintOverlong
			}
			return v | uint64(c)<<63, 10
		}
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c < 0x80 {
			if rejectNonMinimalVarints && c == 0 {
				return 0, varintOverlong // i > 0 here: a zero final byte is padding
			}
			return v, i + 1
		}
	}
	return 0, varintTruncated
}

func varintErr(n int) error {
	switch n {
	case varintTooLong:
		return errLongVarint
	case varintOverlong:
		return errOverlongVarint
	}
	return errTruncatedVarint
}

// field is one parsed field. For protowire.BytesType, data is the payload, aliasing
// the input with its capacity capped at its length. For VarintType, val is the value.
type field struct {
	num  uint64 // tag >> 3: any value, 0 and huge ones included
	typ  protowire.Type
	val  uint64
	data []byte
}

// nextField parses the field starting at b[i] and returns the index after it.
// Every structural error minprotobuf reports is reported here, so scanning a buffer
// once field by field accepts exactly what minprotobuf's per-field scans accept.
func nextField(b []byte, i int) (f field, next int, err error) {
	// Nearly every field SDS writes is length-delimited with a one-byte tag
	// and a one-byte length (both then minimal varints): read those directly.
	if i+1 < len(b) && b[i] < 0x80 && b[i]&7 == byte(protowire.BytesType) && b[i+1] < 0x80 {
		start := i + 2
		if end := start + int(b[i+1]); end <= len(b) {
			f.num, f.typ = uint64(b[i]>>3), protowire.BytesType
			f.data = b[start:end:end]
			return f, end, nil
		}
	}
	return nextFieldAny(b, i)
}

// nextFieldAny is nextField for any field.
func nextFieldAny(b []byte, i int) (f field, next int, err error) {
	tag, n := uvarint(b[i:])
	if n <= 0 {
		return f, 0, varintErr(n)
	}
	i += n
	f.num, f.typ = tag>>3, protowire.Type(tag&7)
	switch f.typ {
	case protowire.VarintType:
		v, n := uvarint(b[i:])
		if n <= 0 {
			return f, 0, varintErr(n)
		}
		f.val = v
		i += n
	case protowire.Fixed64Type:
		if len(b)-i < 8 {
			return f, 0, errTruncatedFixed
		}
		i += 8
	case protowire.Fixed32Type:
		if len(b)-i < 4 {
			return f, 0, errTruncatedFixed
		}
		i += 4
	case protowire.BytesType:
		l, n := uvarint(b[i:])
		if n <= 0 {
			return f, 0, varintErr(n)
		}
		i += n
		// Compared as uint64: a huge length must not overflow int.
		if l > uint64(len(b)-i) {
			return f, 0, errLength
		}
		end := i + int(l)
		f.data = b[i:end:end]
		i = end
	default: // 3 and 4 (groups), 6, 7: minprotobuf's BadWireType
		return f, 0, errWireType
	}
	return f, i, nil
}

// UnmarshalV03 decodes an SDS message of the 0.3 generation with nim-sds 0.3's
// decode semantics (see the package documentation), whatever the input's
// generation. Every error wraps ErrMalformed.
//
// Content, BloomFilter and every RetrievalHint alias data (zero copy, capacity
// capped at their length): data must not be modified while the Message is in use.
// The strings are independent copies (one allocation each), so keeping one
// string keeps nothing else alive. A missing bloom filter decodes as nil; a
// present empty field as an empty slice.
func UnmarshalV03(data []byte) (*Message, error) {
	var (
		id, channel, content, bloom, sender []byte
		hasID, hasLamport, hasChannel       bool
		hasContent                          bool
		lamport                             uint64
		nHistory, nRepair                   int
		// Entry payloads as found by pass 1, so pass 2 need not scan the
		// top level again; longer lists fall back to a second scan.
		spans [maxSpans]entrySpan
	)
	// Pass 1: validate the whole buffer and record the last occurrence of each
	// singular field, counting entries so the second pass allocates exactly once.
	for i := 0; i < len(data); {
		f, next, err := nextField(data, i)
		if err != nil {
			return nil, err
		}
		i = next
		switch f.typ {
		case protowire.VarintType:
			if f.num == uint64(fieldLamport) {
				lamport, hasLamport = f.val, true
			}
		case protowire.BytesType:
			switch f.num {
			case uint64(fieldID):
				id, hasID = f.data, true
			case uint64(fieldCausalHistory):
				if n := nHistory + nRepair; n < maxSpans {
					spans[n] = entrySpan{next - len(f.data), next, false}
				}
				nHistory++
			case uint64(fieldChannelID):
				channel, hasChannel = f.data, true
			case uint64(fieldContent):
				content, hasContent = f.data, true
			case uint64(fieldBloomFilter):
				bloom = f.data
			case uint64(fieldSenderID):
				sender = f.data
			case uint64(fieldRepairRequest):
				if n := nHistory + nRepair; n < maxSpans {
					spans[n] = entrySpan{next - len(f.data), next, true}
				}
				nRepair++
			}
		}
	}
	switch {
	case !hasID:
		return nil, errMissingID
	case !hasLamport:
		return nil, errMissingLamport
	case !hasChannel:
		return nil, errMissingChannel
	case !hasContent:
		return nil, errMissingContent
	}

	m := &Message{
		MessageID:   string(id),
		Lamport:     int64(lamport),
		ChannelID:   string(channel),
		Content:     content,
		BloomFilter: bloom,
		SenderID:    string(sender),
	}
	if nHistory+nRepair == 0 {
		return m, nil
	}

	// Pass 2: decode the entries, in order; the buffer is known to be well-formed.
	entries := make([]HistoryEntry, nHistory+nRepair)
	m.CausalHistory = entries[:0:nHistory]
	m.RepairRequest = entries[nHistory:nHistory]
	if nHistory+nRepair <= maxSpans {
		for _, sp := range spans[:nHistory+nRepair] {
			if err := m.addEntry(data[sp.start:sp.end:sp.end], sp.repair); err != nil {
				return nil, err
			}
		}
	} else {
		for i := 0; i < len(data); {
			f, next, _ := nextField(data, i)
			i = next
			if f.typ != protowire.BytesType {
				continue
			}
			if f.num == uint64(fieldCausalHistory) || f.num == uint64(fieldRepairRequest) {
				if err := m.addEntry(f.data, f.num == uint64(fieldRepairRequest)); err != nil {
					return nil, err
				}
			}
		}
	}
	if nRepair == 0 {
		m.RepairRequest = nil
	}
	if nHistory == 0 {
		m.CausalHistory = nil
	}
	return m, nil
}

// maxSpans is how many entry positions Unmarshal remembers on the stack.
const maxSpans = 32

type entrySpan struct {
	start, end int
	repair     bool
}

// addEntry decodes one entry payload and appends it to the causal history or to
// the repair requests (whose capacity Unmarshal reserved).
func (m *Message) addEntry(b []byte, repair bool) error {
	e, err := decodeEntry(b)
	if repair {
		if err != nil {
			return fmt.Errorf("repair request entry %d: %w", len(m.RepairRequest), err)
		}
		m.RepairRequest = append(m.RepairRequest, e)
		return nil
	}
	if err != nil {
		return fmt.Errorf("causal history entry %d: %w", len(m.CausalHistory), err)
	}
	m.CausalHistory = append(m.CausalHistory, e)
	return nil
}

// decodeEntry decodes a HistoryEntry: field 1 required (may be empty), fields 2
// and 3 optional, last occurrence wins, other fields and wire types skipped.
func decodeEntry(b []byte) (HistoryEntry, error) {
	var (
		id, hint, sender []byte
		hasID            bool
	)
	for i := 0; i < len(b); {
		f, next, err := nextField(b, i)
		if err != nil {
			return HistoryEntry{}, err
		}
		i = next
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case uint64(entryFieldID):
			id, hasID = f.data, true
		case uint64(entryFieldHint):
			hint = f.data
		case uint64(entryFieldSender):
			sender = f.data
		}
	}
	if !hasID {
		return HistoryEntry{}, errMissingEntryID
	}
	return HistoryEntry{MessageID: string(id), RetrievalHint: hint, SenderID: string(sender)}, nil
}

// UnmarshalHistoryEntry decodes one HistoryEntry encoding with the same rules
// Unmarshal applies to causal-history and repair-request entries. RetrievalHint
// aliases data; the strings are copies. Every error wraps ErrMalformed.
func UnmarshalHistoryEntry(data []byte) (HistoryEntry, error) {
	return decodeEntry(data)
}

// ExtractChannelID returns the channel id (field 4, last occurrence) without
// decoding the rest, as nim-sds's extractChannelId does before a full decode.
// It fails, wrapping ErrMalformed, if the buffer is malformed anywhere or has no
// length-delimited field 4. Entries are not decoded, so it may succeed on a
// message Unmarshal rejects.
func ExtractChannelID(data []byte) (string, error) {
	var (
		channel    []byte
		hasChannel bool
	)
	for i := 0; i < len(data); {
		f, next, err := nextField(data, i)
		if err != nil {
			return "", err
		}
		i = next
		if f.typ == protowire.BytesType && f.num == uint64(fieldChannelID) {
			channel, hasChannel = f.data, true
		}
	}
	if !hasChannel {
		return "", errMissingChannel
	}
	return string(channel), nil
}
