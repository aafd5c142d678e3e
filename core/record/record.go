// Package record encodes the opaque byte strings the engine hands to a store:
// one record per stored item (a logged message, an unacknowledged message, a
// dependency-waiting message, a pending repair request or response).
//
// Every record starts with two bytes, the format Version and a Kind, followed by
// protobuf fields. Messages inside records are SDS wire encodings with an empty
// bloom filter: the 18.8 KB filter is never stored (it is rebuilt from the log on
// load). They are always in the 0.3 layout (wire.V03), whichever generation the
// message arrived in or the manager writes: that layout keeps the message's
// sender id and each cited entry's hint and sender id, everything needed to
// re-encode the message, or cite it, in either generation, and wire.Decode never
// misreads it. Times are Unix milliseconds. Hosts never need to parse records; this
// package is public so that tools and tests can.
package record

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/logos-messaging/libsds-go/core/wire"
)

// Version is the record format version, the first byte of every record. A
// record with another version is refused with ErrCorrupt rather than misread.
const Version byte = 1

// Kind identifies which record a byte string holds; it is the second byte.
type Kind byte

// The record kinds.
const (
	KindLog            Kind = 'L' // a message in the local log
	KindOutgoing       Kind = 'O' // an unacknowledged message of ours
	KindIncoming       Kind = 'I' // a received message waiting for dependencies
	KindOutgoingRepair Kind = 'Q' // an SDS-R repair request we will send
	KindIncomingRepair Kind = 'R' // an SDS-R repair response we will send
)

// ErrCorrupt is returned (wrapped) for a record that cannot be parsed: wrong
// version or kind, truncated, or missing a required field.
var ErrCorrupt = errors.New("record: corrupt or unsupported record")

// Log is a message in a channel's local log.
type Log struct {
	Message []byte // wire encoding, empty bloom filter
}

// Outgoing is an unacknowledged message of ours with its resend bookkeeping.
type Outgoing struct {
	// Message is the wire encoding, empty bloom filter. Empty (field 1 absent):
	// the message is the channel's Log record of message ID, so a sender
	// stores it once; the engine writes it here again before the log evicts it.
	Message        []byte
	SendTimeMs     int64 // last (re)send time, Unix ms
	ResendAttempts int
	ID             string // the message id; written only without Message
}

// Incoming is a received message waiting for the dependencies it names.
type Incoming struct {
	Message     []byte              // wire encoding, empty bloom filter
	MissingDeps []wire.HistoryEntry // cited messages still missing, with hints and senders
}

// OutgoingRepair is a repair request we will attach to an outgoing message once
// its time comes.
type OutgoingRepair struct {
	Entry              wire.HistoryEntry
	MinTimeRepairReqMs int64 // Unix ms
}

// IncomingRepair is a repair response: a message we hold and will rebroadcast
// for another participant once its time comes.
type IncomingRepair struct {
	Entry               wire.HistoryEntry
	CachedMessage       []byte // wire encoding to rebroadcast
	MinTimeRepairRespMs int64  // Unix ms
}

// Marshal encodes the record.
func (r Log) Marshal() []byte {
	b := header(KindLog, len(r.Message)+8)
	return protowire.AppendBytes(protowire.AppendTag(b, 1, protowire.BytesType), r.Message)
}

// Marshal encodes the record.
func (r Outgoing) Marshal() []byte {
	b := header(KindOutgoing, len(r.Message)+32)
	if len(r.Message) > 0 {
		b = protowire.AppendBytes(protowire.AppendTag(b, 1, protowire.BytesType), r.Message)
	}
	b = appendVarintField(b, 2, uint64(r.SendTimeMs))
	b = appendVarintField(b, 3, uint64(r.ResendAttempts))
	if len(r.Message) == 0 {
		b = protowire.AppendString(protowire.AppendTag(b, 4, protowire.BytesType), r.ID)
	}
	return b
}

// Marshal encodes the record.
func (r Incoming) Marshal() []byte {
	n := len(r.Message) + 8
	for i := range r.MissingDeps {
		n += r.MissingDeps[i].Size() + 4
	}
	b := header(KindIncoming, n)
	b = protowire.AppendBytes(protowire.AppendTag(b, 1, protowire.BytesType), r.Message)
	for i := range r.MissingDeps {
		b = appendEntry(b, 2, &r.MissingDeps[i])
	}
	return b
}

// Marshal encodes the record.
func (r OutgoingRepair) Marshal() []byte {
	b := header(KindOutgoingRepair, r.Entry.Size()+16)
	b = appendEntry(b, 1, &r.Entry)
	return appendVarintField(b, 2, uint64(r.MinTimeRepairReqMs))
}

// Marshal encodes the record.
func (r IncomingRepair) Marshal() []byte {
	b := header(KindIncomingRepair, r.Entry.Size()+len(r.CachedMessage)+24)
	b = appendEntry(b, 1, &r.Entry)
	b = protowire.AppendBytes(protowire.AppendTag(b, 2, protowire.BytesType), r.CachedMessage)
	return appendVarintField(b, 3, uint64(r.MinTimeRepairRespMs))
}

// UnmarshalLog parses a Log record. Byte slices alias data.
func UnmarshalLog(data []byte) (Log, error) {
	var r Log
	seen, err := parse(data, KindLog, func(num protowire.Number, v value) error {
		if num == 1 {
			r.Message = v.bytes
		}
		return nil
	})
	if err == nil && !seen[1] {
		err = missing(KindLog, "message")
	}
	return r, err
}

// UnmarshalOutgoing parses an Outgoing record. Byte slices alias data.
func UnmarshalOutgoing(data []byte) (Outgoing, error) {
	var r Outgoing
	seen, err := parse(data, KindOutgoing, func(num protowire.Number, v value) error {
		switch num {
		case 1:
			r.Message = v.bytes
		case 2:
			r.SendTimeMs = int64(v.varint)
		case 3:
			r.ResendAttempts = int(v.varint)
		case 4:
			r.ID = string(v.bytes)
		}
		return nil
	})
	if err == nil && !seen[2] {
		err = missing(KindOutgoing, "send time")
	}
	return r, err
}

// UnmarshalIncoming parses an Incoming record. Byte slices alias data.
func UnmarshalIncoming(data []byte) (Incoming, error) {
	var r Incoming
	seen, err := parse(data, KindIncoming, func(num protowire.Number, v value) error {
		switch num {
		case 1:
			r.Message = v.bytes
		case 2:
			e, err := wire.UnmarshalHistoryEntry(v.bytes)
			if err != nil {
				return err
			}
			r.MissingDeps = append(r.MissingDeps, e)
		}
		return nil
	})
	if err == nil && !seen[1] {
		err = missing(KindIncoming, "message")
	}
	return r, err
}

// UnmarshalOutgoingRepair parses an OutgoingRepair record. Byte slices alias data.
func UnmarshalOutgoingRepair(data []byte) (OutgoingRepair, error) {
	var r OutgoingRepair
	seen, err := parse(data, KindOutgoingRepair, func(num protowire.Number, v value) error {
		switch num {
		case 1:
			e, err := wire.UnmarshalHistoryEntry(v.bytes)
			if err != nil {
				return err
			}
			r.Entry = e
		case 2:
			r.MinTimeRepairReqMs = int64(v.varint)
		}
		return nil
	})
	if err == nil && (!seen[1] || !seen[2]) {
		err = missing(KindOutgoingRepair, "entry or time")
	}
	return r, err
}

// UnmarshalIncomingRepair parses an IncomingRepair record. Byte slices alias data.
func UnmarshalIncomingRepair(data []byte) (IncomingRepair, error) {
	var r IncomingRepair
	seen, err := parse(data, KindIncomingRepair, func(num protowire.Number, v value) error {
		switch num {
		case 1:
			e, err := wire.UnmarshalHistoryEntry(v.bytes)
			if err != nil {
				return err
			}
			r.Entry = e
		case 2:
			r.CachedMessage = v.bytes
		case 3:
			r.MinTimeRepairRespMs = int64(v.varint)
		}
		return nil
	})
	if err == nil && (!seen[1] || !seen[2] || !seen[3]) {
		err = missing(KindIncomingRepair, "entry, message or time")
	}
	return r, err
}

func header(k Kind, sizeHint int) []byte {
	b := make([]byte, 0, 2+sizeHint)
	return append(b, Version, byte(k))
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
}

func appendEntry(b []byte, num protowire.Number, e *wire.HistoryEntry) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(e.Size()))
	return e.AppendMarshal(b)
}

// value is one decoded field: varint fields fill varint, bytes fields fill bytes.
type value struct {
	varint uint64
	bytes  []byte
}

// parse checks the header and walks the fields; the known field numbers (1..3)
// of every record have fixed wire types, anything else is skipped so that later
// minor additions stay readable.
func parse(data []byte, want Kind, field func(protowire.Number, value) error) (seen [5]bool, err error) {
	if len(data) < 2 || data[0] != Version || Kind(data[1]) != want {
		return seen, fmt.Errorf("%w: expected %q record version %d", ErrCorrupt, want, Version)
	}
	b := data[2:]
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return seen, fmt.Errorf("%w: %v", ErrCorrupt, protowire.ParseError(n))
		}
		b = b[n:]
		var v value
		switch typ {
		case protowire.VarintType:
			v.varint, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v.bytes, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return seen, fmt.Errorf("%w: %v", ErrCorrupt, protowire.ParseError(n))
		}
		b = b[n:]
		if num < 1 || num > 4 || typ != wantType(want, num) {
			continue
		}
		seen[num] = true
		if err := field(num, v); err != nil {
			return seen, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
	}
	return seen, nil
}

func wantType(k Kind, num protowire.Number) protowire.Type {
	switch {
	case num == 1:
		return protowire.BytesType
	case k == KindIncoming && num == 2, k == KindIncomingRepair && num == 2, k == KindOutgoing && num == 4:
		return protowire.BytesType
	default:
		return protowire.VarintType
	}
}

func missing(k Kind, what string) error {
	return fmt.Errorf("%w: %q record lacks %s", ErrCorrupt, k, what)
}
