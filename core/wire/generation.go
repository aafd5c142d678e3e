package wire

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Generation is a wire layout of nim-sds. The two differ only in how causal
// history travels; every other field keeps its number.
type Generation uint8

const (
	// V03 is nim-sds 0.3's layout (35a33ad): field 3 holds HistoryEntry
	// submessages, and every field but the sender id is written even when empty.
	// It is the zero value: deployed networks speak it.
	V03 Generation = iota
	// V04 is nim-sds 0.4's layout: field 3 holds plain message ids, field 8 the
	// retrieval hint and sender id of each causal entry that has one, and empty
	// fields are omitted.
	V04
)

// String returns "0.3" or "0.4".
func (g Generation) String() string {
	switch g {
	case V03:
		return "0.3"
	case V04:
		return "0.4"
	}
	return fmt.Sprintf("Generation(%d)", uint8(g))
}

// Valid reports whether g is V03 or V04.
func (g Generation) Valid() bool { return g == V03 || g == V04 }

// Detect tells which generation wrote data, by the rule in the package
// documentation: a length-delimited field 8 means V04; otherwise data is V03 if
// every length-delimited field-3 value is a canonical 0.3 HistoryEntry (field 1,
// then field 2 and field 3 only if non-empty, each once), and V04 if any is not.
// A message with neither field reads the same in both generations: Detect
// reports it as neutral (and V03). The error, wrapping ErrMalformed, is for a
// buffer that is not a well-formed protobuf message at the top level.
func Detect(data []byte) (g Generation, neutral bool, err error) {
	g, neutral = V03, true
	for i := 0; i < len(data); {
		f, next, err := nextField(data, i)
		if err != nil {
			return V03, false, err
		}
		i = next
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case uint64(fieldCausalMeta):
			return V04, false, nil
		case uint64(fieldCausalHistory):
			neutral = false
			if g == V03 && !canonicalEntryV03(f.data) {
				g = V04 // keep scanning: a later field 8 or a malformed field still counts
			}
		}
	}
	return g, neutral, nil
}

// canonicalEntryV03 reports whether b is exactly what a 0.3 writer produces for
// some HistoryEntry (see parsedEntry).
func canonicalEntryV03(b []byte) bool {
	p, err := parseEntry(b)
	return err == nil && p.canonical
}

// Decode decodes a message of either generation: it detects the generation
// (see Detect) and decodes with that generation's rules. A message without
// causal history (neither field 3 nor field 8) reads the same in both, but the
// two differ on which fields are required (0.3: message id, lamport, channel id
// and content present; 0.4: message id and channel id non-empty): such a message
// is judged by the rules of generation neutral (V03 if neutral is not a valid
// generation) and reported as that generation. Every error wraps ErrMalformed.
func Decode(data []byte, neutral Generation) (*Message, Generation, error) {
	var m Message
	g, _, err := decode(&decoderV03{detect: true, neutral: neutral}, &m, data, nil, false)
	if err != nil {
		return nil, g, err
	}
	return onHeap(&m), g, nil
}

// DecodeChecked is Decode for a receiver with budgets, in one walk of the
// top level where Scan then Decode took two. If check is not nil, the walk
// is also Scan's: DecodeChecked fails as Scan(data, maxFields) fails, and
// calls check with the Shape Scan would return before it decodes any entry
// or allocates. An error from check is returned as is; without one,
// DecodeChecked returns what Decode returns.
//
// It also returns the message's stripped form: its 0.3 encoding without its
// bloom filter (written empty) and its repair requests, the bytes
// AppendMarshalStripped returns for it, in a new slice. When data is laid out
// exactly as Marshal writes it, which is what 0.3 senders send, they are cut
// from data instead of encoded again.
func DecodeChecked(data []byte, neutral Generation, maxFields int, check func(Shape) error) (m *Message, g Generation, stripped []byte, err error) {
	var msg Message
	if g, stripped, err = DecodeCheckedInto(&msg, data, neutral, maxFields, check); err != nil {
		return nil, g, nil, err
	}
	return onHeap(&msg), g, stripped, nil
}

// DecodeCheckedInto is DecodeChecked writing the message into *m, which it
// overwrites (its previous contents are not used), instead of a new one: a
// caller that keeps no pointer to the Message spares an allocation. On error,
// *m is left in an unspecified state.
func DecodeCheckedInto(m *Message, data []byte, neutral Generation, maxFields int, check func(Shape) error) (g Generation, stripped []byte, err error) {
	if neutral == V04 {
		if stripped, done, err := decodeV04First(m, data, maxFields, check); done {
			return V04, stripped, err
		}
	}
	d := decoderV03{detect: true, neutral: neutral, scan: check != nil, maxFields: maxFields}
	return decode(&d, m, data, check, true)
}

// onHeap returns a copy of *m in a new Message: the decoders fill one on
// their callers' stacks, and allocate only for a message they return.
func onHeap(m *Message) *Message {
	p := new(Message)
	*p = *m
	return p
}

// decode is Decode with d into m, detecting the generation while it decodes
// 0.3 (the one walk over the input a 0.3 message then costs), and making the
// stripped form if strip is set.
func decode(d *decoderV03, m *Message, data []byte, check func(Shape) error, strip bool) (Generation, []byte, error) {
	if err := d.decode(data, check); err != nil {
		return V03, nil, err
	}
	if d.isV04 {
		stripped, err := unmarshalV04Into(m, data, true, strip)
		if err != nil {
			return V04, nil, err
		}
		return V04, stripped, nil
	}
	d.message(m)
	if !strip {
		return V03, nil, nil
	}
	// Varints are minimal (rejectNonMinimalVarints) and every causal entry is
	// canonical (detection saw to it), so a top level in Marshal's layout
	// means data is byte for byte what Marshal writes for m.
	if l := &d.layout; rejectNonMinimalVarints && !l.other && d.hasBloom {
		return V03, cutStripped(data, l), nil
	}
	return V03, m.marshalStripped(), nil
}

// cutStripped is the stripped form of data, laid out as Marshal writes it:
// data up to field 6, an empty field 6, field 7 if there is one.
func cutStripped(data []byte, l *marshalLayout) []byte {
	head, tail := data[:l.filter], data[l.filterEnd:l.senderEnd]
	b := make([]byte, 0, len(head)+2+len(tail))
	b = append(b, head...)
	b = append(b, tagByte(fieldBloomFilter, protowire.BytesType), 0)
	return append(b, tail...)
}

// marshalStripped encodes m's stripped form (see DecodeChecked).
func (m *Message) marshalStripped() []byte {
	c := *m
	c.BloomFilter, c.Filter, c.RepairRequest = nil, nil, nil
	return c.Marshal()
}

// Unmarshal decodes a message of either generation, judging one without causal
// history by 0.3's rules (see Decode). Byte slices alias data as UnmarshalV03
// describes.
func Unmarshal(data []byte) (*Message, error) {
	m, _, err := Decode(data, V03)
	return m, err
}

// UnmarshalAs decodes data with the rules of generation g only, as a nim-sds
// peer of that generation would read it.
func UnmarshalAs(data []byte, g Generation) (*Message, error) {
	switch g {
	case V03:
		return UnmarshalV03(data)
	case V04:
		return UnmarshalV04(data)
	}
	return nil, fmt.Errorf("%w: unknown generation %d", ErrMalformed, uint8(g))
}
