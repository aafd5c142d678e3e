package wire

import (
	"fmt"
	"strings"

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
	if next = shortField(b, i); next > 0 {
		return field{num: uint64(b[i] >> 3), typ: protowire.BytesType, data: b[i+2 : next : next]}, next, nil
	}
	return nextFieldAny(b, i)
}

// shortField returns the end of the field at b[i] if it is in the form nearly
// every field SDS writes takes: length-delimited, with a one-byte tag and a
// one-byte length (both then minimal varints); otherwise 0. Its payload is
// b[i+2:end]. It is small enough to be inlined into the scanning loops.
func shortField(b []byte, i int) (end int) {
	if i+2 <= len(b) && b[i]&0x87 == byte(protowire.BytesType) && b[i+1] < 0x80 && i+2+int(b[i+1]) <= len(b) {
		return i + 2 + int(b[i+1])
	}
	return 0
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
// The strings are copies: the message id, channel id and sender id one
// allocation each; the entries' ids and sender ids share one (two when some
// entries take unusual forms), a copy of the entries' bytes, so keeping an
// entry's id keeps that copy alive, nothing else.
// A missing bloom filter decodes as nil; a present empty field as an empty slice.
func UnmarshalV03(data []byte) (*Message, error) {
	var d decoderV03
	if err := d.decode(data, nil); err != nil {
		return nil, err
	}
	m := new(Message)
	d.message(m)
	return m, nil
}

// decoderV03 is one 0.3 decode. With detect set it also applies Detect's rule
// on the way, so that Decode walks the input once: it stops, setting isV04,
// as soon as the input turns out to be 0.4's (a length-delimited field 8, or
// a field-3 value that is not a canonical 0.3 HistoryEntry), or when the
// message has no causal history and neutral is V04. With scan set, its
// top-level pass is also Scan's until the shape is checked (see
// DecodeChecked).
type decoderV03 struct {
	detect  bool
	neutral Generation
	isV04   bool

	scan      bool
	maxFields int
	fields    int
	largest   int // the longest field 3, 8 or 13
	next      int // where the top-level pass stopped

	topFields
	hasID, hasLamport, hasChannel bool
	hasContent, hasBloom          bool
	nHistory, nRepair             int
	doneHistory, doneRepair       int // entries decoded so far
	entryBytes                    int // the entries' payload lengths: bounds their strings
	layout                        marshalLayout
	entries                       []HistoryEntry
	strings                       strings.Builder
	entryErr                      error
	// Entry payloads as found by the top-level pass, so the entry pass need
	// not scan the top level again; longer lists fall back to a second scan.
	spans [maxSpans]entrySpan
	// The run of entry fields, data[runStart:runEnd], and whether anything
	// else lies between them or one has a length of more than one byte. A
	// regular run, as 0.3 writers lay out a message without repair requests,
	// is decoded in one walk, its entries' strings cut from one copy of it.
	runStart, runEnd int
	irregular        bool
}

// decode decodes data, for message to return, or sets isV04 when detect
// finds 0.4. With scan set, it calls check as DecodeChecked describes.
func (d *decoderV03) decode(data []byte, check func(Shape) error) error {
	if err := d.scanTop(data); err != nil {
		return err
	}
	if d.scan {
		if err := check(d.shape()); err != nil {
			return err
		}
		d.scan = false
		// The rest, if Scan stopped early; but Detect looks no further than
		// a field 8.
		if !d.isV04 {
			if err := d.scanTop(data); err != nil {
				return err
			}
		}
	}
	if d.isV04 {
		return nil
	}
	if d.detect && d.nHistory == 0 && d.neutral == V04 {
		d.isV04 = true // a history-free message judged by 0.4's rules
		return nil
	}
	d.decodeEntries(data)
	switch {
	case d.isV04:
		return nil
	case !d.hasID:
		return errMissingID
	case !d.hasLamport:
		return errMissingLamport
	case !d.hasChannel:
		return errMissingChannel
	case !d.hasContent:
		return errMissingContent
	case d.entryErr != nil:
		return d.entryErr
	}
	return nil
}

// topFields are the top-level fields other than entries a decoder found,
// aliasing its input.
type topFields struct {
	id, channel, content, bloom, sender []byte
	lamport                             uint64
}

// header is the message of those fields alone, its strings copies.
func (t *topFields) header() Message {
	return Message{
		MessageID:   string(t.id),
		Lamport:     int64(t.lamport),
		ChannelID:   string(t.channel),
		Content:     t.content,
		BloomFilter: t.bloom,
		SenderID:    string(t.sender),
	}
}

// message writes the message decode decoded into m.
func (d *decoderV03) message(m *Message) {
	*m = d.header()
	if d.nHistory > 0 {
		m.CausalHistory = d.entries[:d.nHistory:d.nHistory]
	}
	if d.nRepair > 0 {
		m.RepairRequest = d.entries[d.nHistory:]
	}
}

// scanTop validates the whole buffer and records the last occurrence of each
// singular field, counting entries so the entry pass allocates exactly once.
func (d *decoderV03) scanTop(data []byte) error {
	fields, limit := d.fields, -1 // kept in registers; limit: Scan's budget
	if d.scan {
		limit = d.maxFields
	}
	for i := d.next; i < len(data); {
		if fields == limit {
			d.fields, d.next = fields+1, i // Scan stops here: the shape is over the budget
			return nil
		}
		// The usual form is read here, without building a field.
		num, start, end := uint64(data[i]>>3), i+2, shortField(data, i)
		short := end > 0
		if !short {
			f, next, err := nextFieldAny(data, i)
			if err != nil {
				return err
			}
			fields++
			d.layout.see(f.num, f.typ)
			if f.typ == protowire.VarintType && f.num == uint64(fieldLamport) {
				d.lamport, d.hasLamport = f.val, true
			}
			if f.typ != protowire.BytesType {
				i = next
				continue
			}
			num, start, end = f.num, next-len(f.data), next
		} else {
			fields++
			d.layout.see(num, protowire.BytesType)
		}
		switch num {
		case uint64(fieldCausalHistory), uint64(fieldRepairRequest):
			d.takeEntry(num == uint64(fieldRepairRequest), short, i, start, end)
			if short && num == uint64(fieldCausalHistory) {
				end, fields = d.takeHistoryRun(data, end, fields, limit)
			}
		case uint64(fieldID):
			d.id, d.hasID = data[start:end:end], true
		case uint64(fieldChannelID):
			d.channel, d.hasChannel = data[start:end:end], true
		case uint64(fieldContent):
			d.content, d.hasContent = data[start:end:end], true
		case uint64(fieldBloomFilter):
			d.bloom, d.hasBloom = data[start:end:end], true
			d.layout.filter, d.layout.filterEnd, d.layout.senderEnd = i, end, end
		case uint64(fieldSenderID):
			d.sender = data[start:end:end]
			d.layout.senderEnd = end
			if start == end {
				d.layout.other = true // Marshal leaves an empty sender id out
			}
		case uint64(fieldCausalMeta):
			d.largest = max(d.largest, end-start)
			if d.detect && !d.scan {
				d.isV04 = true
				d.fields, d.next = fields, len(data)
				return nil // Detect looks no further either
			}
			d.isV04 = d.isV04 || d.detect // Scan, though, looks at every field
		}
		i = end
	}
	d.fields, d.next = fields, len(data)
	if d.scan && !d.hasChannel {
		return errMissingChannel // as Scan fails
	}
	return nil
}

// takeHistoryRun takes the short fields 3 from data[i] on, the rest of a
// causal history as 0.3 writers lay it out, without going round scanTop's
// loop (their place in Marshal's order is the one before them), and returns
// where they end and the field count, which stops at limit.
func (d *decoderV03) takeHistoryRun(data []byte, i, fields, limit int) (int, int) {
	for i < len(data) && data[i] == tagByte(fieldCausalHistory, protowire.BytesType) && fields != limit {
		end := shortField(data, i)
		if end == 0 {
			break
		}
		fields++
		d.takeEntry(false, true, i, i+2, end)
		i = end
	}
	return i, fields
}

// takeEntry counts a causal entry, or a repair request, at data[at:end], its
// payload at data[start:end], and notes where it is.
func (d *decoderV03) takeEntry(repair, short bool, at, start, end int) {
	n := d.nHistory + d.nRepair
	if n < maxSpans {
		d.spans[n] = entrySpan{start, end, repair}
	}
	if n == 0 {
		d.runStart = at
	} else if at != d.runEnd {
		d.irregular = true
	}
	d.irregular = d.irregular || !short
	d.runEnd = end
	if repair {
		d.nRepair++
	} else {
		d.nHistory++
	}
	d.entryBytes += end - start
	d.largest = max(d.largest, end-start)
}

// shape is the shape Scan finds.
func (d *decoderV03) shape() Shape {
	return Shape{
		Fields:        d.fields,
		CausalEntries: d.nHistory,
		RepairEntries: d.nRepair,
		LargestEntry:  d.largest,
		ChannelIDLen:  len(d.channel),
		MessageIDLen:  len(d.id),
		SenderIDLen:   len(d.sender),
	}
}

// decodeEntries decodes the entries, in order, into one allocation (see
// addEntry). The buffer is known to be well-formed at the top level.
func (d *decoderV03) decodeEntries(data []byte) {
	n := d.nHistory + d.nRepair
	switch {
	case n == 0:
		return
	case !d.irregular:
		d.decodeRun(data[d.runStart:d.runEnd])
		return
	case n <= maxSpans:
		for _, sp := range d.spans[:n] {
			if !d.addEntry(data[sp.start:sp.end:sp.end], sp.repair) {
				return
			}
		}
		return
	}
	for i := 0; i < len(data); {
		f, next, _ := nextField(data, i)
		i = next
		if f.typ != protowire.BytesType {
			continue
		}
		if f.num == uint64(fieldCausalHistory) || f.num == uint64(fieldRepairRequest) {
			if !d.addEntry(f.data, f.num == uint64(fieldRepairRequest)) {
				return
			}
		}
	}
}

// decodeRun decodes a regular run of entry fields (see decoderV03.runStart)
// in one walk. Entries in shortEntry's form, nearly all, are canonical and
// well-formed: they are filled in place, their strings substrings of one
// copy of the run. addEntry takes any other.
func (d *decoderV03) decodeRun(run []byte) {
	// Nothing is allocated before the first entry is known to stay: a 0.4
	// message without field 8 is told at its first entry.
	if _, _, ok := shortEntry(run[2 : 2+int(run[1])]); !ok {
		if !d.addEntry(run[2:2+int(run[1])], run[0] == tagByte(fieldRepairRequest, protowire.BytesType)) {
			return
		}
		run = run[2+int(run[1]):]
	}
	if d.entries == nil {
		d.entries = make([]HistoryEntry, d.nHistory+d.nRepair)
	}
	copied := string(run)
	for i := 0; i < len(run); {
		start, end := i+2, i+2+int(run[i+1])
		repair := run[i] == tagByte(fieldRepairRequest, protowire.BytesType)
		b := run[start:end:end]
		i = end
		idEnd, hintEnd, ok := shortEntry(b)
		if !ok {
			if !d.addEntry(b, repair) {
				return
			}
			continue
		}
		e := d.nextEntry(repair)
		e.MessageID = copied[start+2 : start+idEnd]
		if hintEnd > idEnd {
			e.RetrievalHint = b[idEnd+2 : hintEnd : hintEnd]
		}
		if hintEnd < len(b) {
			e.SenderID = copied[start+hintEnd+2 : end]
		}
	}
}

// addEntry decodes one entry payload into its slot of d.entries: causal
// entries first, then repair requests. It reports whether to go on: not once
// detect found 0.4. An entry error is kept (the first one) rather than
// returned, because detection and a missing required field, both judged over
// the whole message, come first.
func (d *decoderV03) addEntry(b []byte, repair bool) bool {
	p, ok := parseShortEntry(b) // parseEntry, without copying p once more
	var err error
	if !ok {
		p, err = parseAnyEntry(b)
	}
	if d.detect && !repair && !p.canonical {
		d.isV04 = true
		return false
	}
	if err == nil && !p.hasID {
		err = errMissingEntryID
	}
	if err != nil {
		if d.entryErr == nil {
			if repair {
				d.entryErr = fmt.Errorf("repair request entry %d: %w", d.doneRepair, err)
			} else {
				d.entryErr = fmt.Errorf("causal history entry %d: %w", d.doneHistory, err)
			}
		}
		return true
	}
	if d.entryErr != nil {
		return true // the message fails: no need to keep entries
	}
	if d.entries == nil {
		// Allocated once the first entry is known to stay: a 0.4 message
		// without field 8 is told at its first entry.
		d.entries = make([]HistoryEntry, d.nHistory+d.nRepair)
		d.strings.Grow(d.entryBytes)
	}
	e := d.nextEntry(repair)
	e.MessageID, e.RetrievalHint, e.SenderID = d.cut(p.id), p.hint, d.cut(p.sender)
	return true
}

// nextEntry is the next causal (or, with repair, repair request) entry to
// fill, in order of appearance.
func (d *decoderV03) nextEntry(repair bool) *HistoryEntry {
	if repair {
		d.doneRepair++
		return &d.entries[d.nHistory+d.doneRepair-1]
	}
	d.doneHistory++
	return &d.entries[d.doneHistory-1]
}

// cut returns a copy of b as a string cut from d.strings.
func (d *decoderV03) cut(b []byte) string { return cutString(&d.strings, b) }

// cutString returns a copy of b as a string cut from sb: the builder never
// changes bytes it has written, so earlier strings stay valid as it grows,
// and the strings a decoder cuts share its one allocation.
func cutString(sb *strings.Builder, b []byte) string {
	if len(b) == 0 {
		return ""
	}
	start := sb.Len()
	sb.Write(b)
	return sb.String()[start:]
}

// maxSpans is how many entry positions Unmarshal remembers on the stack.
const maxSpans = 32

type entrySpan struct {
	start, end int
	repair     bool
}

// parsedEntry is a HistoryEntry as parsed, its fields aliasing the input.
type parsedEntry struct {
	id, hint, sender []byte // last occurrence of each
	hasID            bool
	// canonical: b is exactly what a 0.3 writer produces for some
	// HistoryEntry: field 1 first, then a non-empty field 2, then a non-empty
	// field 3, nothing else. Varints are minimal because nextField refuses
	// others.
	canonical bool
}

// parseEntry parses a HistoryEntry: fields 1 to 3 length-delimited, last
// occurrence wins, other fields and wire types skipped. It fails only on a
// structural error; the caller checks hasID.
func parseEntry(b []byte) (parsedEntry, error) {
	if p, ok := parseShortEntry(b); ok {
		return p, nil
	}
	return parseAnyEntry(b)
}

// parseShortEntry is shortEntry's result as a parsedEntry.
func parseShortEntry(b []byte) (p parsedEntry, ok bool) {
	idEnd, hintEnd, ok := shortEntry(b)
	if !ok {
		return parsedEntry{}, false
	}
	p.id = b[2:idEnd:idEnd]
	if hintEnd > idEnd {
		p.hint = b[idEnd+2 : hintEnd : hintEnd]
	}
	if hintEnd < len(b) {
		p.sender = b[hintEnd+2:]
	}
	p.hasID, p.canonical = true, true
	return p, true
}

// shortEntry parses the form nearly every entry takes, a canonical one whose
// fields have one-byte tags and lengths, reading the bytes directly. Such an
// entry is its id field, ending at idEnd, then its hint field if hintEnd >
// idEnd, then its sender field if hintEnd < len(b). It reports false for any
// other form, which parseAnyEntry then reads.
func shortEntry(b []byte) (idEnd, hintEnd int, ok bool) {
	if len(b) < 2 || b[0] != tagByte(entryFieldID, protowire.BytesType) || b[1] >= 0x80 {
		return 0, 0, false
	}
	if idEnd = 2 + int(b[1]); idEnd > len(b) {
		return 0, 0, false
	}
	hintEnd = idEnd
	if idEnd+1 < len(b) && b[idEnd] == tagByte(entryFieldHint, protowire.BytesType) {
		n := b[idEnd+1]
		if n == 0 || n >= 0x80 { // canonical hints are not empty
			return 0, 0, false
		}
		if hintEnd = idEnd + 2 + int(n); hintEnd > len(b) {
			return 0, 0, false
		}
	}
	// The rest is empty or exactly a non-empty sender field.
	rest := len(b) - hintEnd
	if rest == 0 {
		return idEnd, hintEnd, true
	}
	ok = rest > 2 && b[hintEnd] == tagByte(entryFieldSender, protowire.BytesType) &&
		b[hintEnd+1] < 0x80 && int(b[hintEnd+1]) == rest-2
	return idEnd, hintEnd, ok
}

// parseAnyEntry is parseEntry for an entry of any form.
func parseAnyEntry(b []byte) (p parsedEntry, err error) {
	p.canonical = len(b) > 0
	want := entryFieldID // the lowest field number a canonical entry may have next
	for i := 0; i < len(b); {
		f, next, err := nextField(b, i)
		if err != nil {
			return parsedEntry{}, err
		}
		if f.typ != protowire.BytesType || f.num < uint64(want) || f.num > uint64(entryFieldSender) ||
			(i == 0 && f.num != uint64(entryFieldID)) || (f.num != uint64(entryFieldID) && len(f.data) == 0) {
			p.canonical = false
		} else {
			want = protowire.Number(f.num) + 1
		}
		i = next
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case uint64(entryFieldID):
			p.id, p.hasID = f.data, true
		case uint64(entryFieldHint):
			p.hint = f.data
		case uint64(entryFieldSender):
			p.sender = f.data
		}
	}
	return p, nil
}

// decodeEntry decodes a HistoryEntry: field 1 required (may be empty), fields 2
// and 3 optional, last occurrence wins, other fields and wire types skipped.
func decodeEntry(b []byte) (HistoryEntry, error) {
	p, err := parseEntry(b)
	if err != nil {
		return HistoryEntry{}, err
	}
	if !p.hasID {
		return HistoryEntry{}, errMissingEntryID
	}
	return HistoryEntry{MessageID: string(p.id), RetrievalHint: p.hint, SenderID: string(p.sender)}, nil
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

// marshalLayout follows, field by field, whether a message's top level is
// laid out exactly as Marshal writes it (fields 1, 2, 3..., 4, 5, 6, 7 if
// non-empty, 13..., each singular one once), and where fields 6 and 7 are:
// the stripped form of such a message can then be cut from it. The
// positions and the rule on field 7 are the top-level pass's to record.
type marshalLayout struct {
	least     int8 // the lowest marshalCodes value the next field may have
	other     bool // a field out of Marshal's order, repeated or unknown
	filter    int  // offset of field 6's tag
	filterEnd int
	senderEnd int // end of field 7, or of field 6 without it
}

// marshalCodes gives, by tag, a field's place in Marshal's order as twice
// its rank, plus one for a field Marshal writes once; -1 for a field Marshal
// does not write with that wire type. So a field may follow another if its
// code is at least the other's rounded up to even. Every tag Marshal
// writes is below 128.
var marshalCodes = func() (r [128]int8) {
	for i := range r {
		r[i] = -1
	}
	bytesField := func(n protowire.Number) byte { return tagByte(n, protowire.BytesType) }
	r[bytesField(fieldID)] = 1
	r[tagByte(fieldLamport, protowire.VarintType)] = 3
	r[bytesField(fieldCausalHistory)] = 4 // repeated
	r[bytesField(fieldChannelID)] = 7
	r[bytesField(fieldContent)] = 9
	r[bytesField(fieldBloomFilter)] = 11
	r[bytesField(fieldSenderID)] = 13
	r[bytesField(fieldRepairRequest)] = 14 // repeated
	return r
}()

// see takes the next field's number and wire type.
func (l *marshalLayout) see(num uint64, typ protowire.Type) {
	code := int8(-1)
	if num < 16 {
		code = marshalCodes[num<<3|uint64(typ&7)]
	}
	if code < l.least {
		l.other = true
	}
	l.least = code + code&1
}
