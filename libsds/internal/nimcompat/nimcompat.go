// Package nimcompat renders results, events and errors exactly as nim-sds's C
// bindings (commit 35a33ad) do: the wrap result as comma-separated decimal
// bytes, the unwrap result and the events as compact JSON with nim's key order
// and Nim's escapeJson rules (not encoding/json's), and nim's error texts.
package nimcompat

import (
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"unsafe"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// csvDigits packs the decimal text of each byte value followed by a comma into
// one word, in memory order, and csvLen says how many of its bytes count.
var (
	csvDigits [256]uint32
	csvLen    [256]uint8
)

func init() {
	for i := 0; i < 256; i++ {
		var text [4]byte
		n := copy(text[:], strconv.Itoa(i)+",")
		// read back in native byte order, so the 4-byte stores write the text
		// in order on any endianness
		csvDigits[i], csvLen[i] = *(*uint32)(unsafe.Pointer(&text)), uint8(n)
	}
}

// CSVLen returns the length of data's comma-separated form.
func CSVLen(data []byte) int {
	n := 0
	for _, b := range data {
		n += int(csvLen[b])
	}
	if n > 0 {
		n-- // no trailing comma
	}
	return n
}

// PutCSV writes data as decimal byte values separated by commas, with no spaces
// and no trailing comma ("10,5,109,..."), into dst, which must have room for
// 4*len(data) bytes (the words are stored whole), and returns the length used.
// This is the wrap result of nim-sds's C API; an 18.8 KB message becomes about
// 40-60 KB of text, so the loop avoids per-byte branching.
func PutCSV(dst []byte, data []byte) int {
	if len(data) == 0 {
		return 0
	}
	_ = dst[4*len(data)-1] // the bound that makes the unchecked stores below safe
	base := unsafe.Pointer(unsafe.SliceData(dst))
	n := uintptr(0)
	for _, b := range data {
		// One unaligned 4-byte store per input byte, then advance by the
		// entry's real length (2 to 4): the next store overwrites the slack.
		*(*uint32)(unsafe.Add(base, n)) = csvDigits[b]
		n += uintptr(csvLen[b])
	}
	return int(n) - 1
}

// AppendCSV appends data's comma-separated form to dst.
func AppendCSV(dst []byte, data []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, 4*len(data))...)
	n := PutCSV(dst[start:], data)
	return dst[:start+n]
}

// AppendString appends s as a JSON string literal escaped the way Nim's
// escapeJson does: quote and backslash escaped, \b \f \n \r \t by name, 0x0B as
// \u000b, other bytes below 0x20 as \u00XX with upper-case hex, and every
// other byte — '/', '<', '>', '&', 0x7F, non-ASCII and invalid UTF-8 — copied
// unchanged.
func AppendString(dst []byte, s string) []byte {
	const hexDigits = "0123456789ABCDEF"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			dst = append(dst, '\\', '"')
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == 0x0b:
			dst = append(dst, `\u000b`...)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

func appendNumbers(dst []byte, data []byte) []byte {
	// "[1,2,3]" is the comma-separated form in brackets: grow once, then
	// PutCSV (several times faster than a strconv call per byte).
	dst = slices.Grow(dst, 4*len(data)+2)
	dst = append(dst, '[')
	start := len(dst)
	n := PutCSV(dst[start:start+4*len(data)], data)
	return append(dst[:start+n], ']')
}

func appendDeps(dst []byte, deps []wire.HistoryEntry) []byte {
	dst = append(dst, '[')
	for i, d := range deps {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"messageId":`...)
		dst = AppendString(dst, d.MessageID)
		dst = append(dst, `,"retrievalHint":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, d.RetrievalHint)
		dst = append(dst, `"}`...)
	}
	return append(dst, ']')
}

// AppendUnwrapResult appends nim-sds's unwrap result:
// {"message":[1,2,3],"channelId":"…","missingDeps":[{"messageId":"…","retrievalHint":"<base64>"}]}.
func AppendUnwrapResult(dst []byte, content []byte, channelID string, deps []wire.HistoryEntry) []byte {
	dst = append(dst, `{"message":`...)
	dst = appendNumbers(dst, content)
	dst = append(dst, `,"channelId":`...)
	dst = AppendString(dst, channelID)
	dst = append(dst, `,"missingDeps":`...)
	dst = appendDeps(dst, deps)
	return append(dst, '}')
}

// EventType returns the eventType nim-sds uses for an engine event: both an
// acknowledgement and a give-up are "message_sent", as in nim-sds.
func EventType(k engine.EventKind) string {
	switch k {
	case engine.MessageAcknowledged, engine.MessageGivenUp:
		return "message_sent"
	}
	return k.String()
}

// AppendEvent appends an event's JSON in nim-sds's key order: the event's own
// fields first and eventType last for message_ready and message_sent (Nim's
// fieldPairs order), eventType first for the events nim-sds builds by hand.
// Events nim-sds has no counterpart for (incoming_dropped, store_failed,
// repair_dropped) use the same shape as message_ready, so no event is
// dropped; consumers of nim-sds's events ignore unknown types.
func AppendEvent(dst []byte, e engine.Event) []byte {
	typ := EventType(e.Kind)
	switch e.Kind {
	case engine.PeriodicSync:
		return append(dst, `{"eventType":"periodic_sync"}`...)
	case engine.MissingDependencies:
		dst = append(dst, `{"eventType":"missing_dependencies","messageId":`...)
		dst = AppendString(dst, e.MessageID)
		dst = append(dst, `,"channelId":`...)
		dst = AppendString(dst, e.ChannelID)
		dst = append(dst, `,"missingDeps":`...)
		dst = appendDeps(dst, e.MissingDeps)
		return append(dst, '}')
	case engine.RepairReady:
		dst = append(dst, `{"eventType":"repair_ready","channelId":`...)
		dst = AppendString(dst, e.ChannelID)
		dst = append(dst, `,"message":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, e.Message)
		return append(dst, `"}`...)
	case engine.StoreFailed:
		dst = append(dst, `{"eventType":"store_failed","channelId":`...)
		dst = AppendString(dst, e.ChannelID)
		dst = append(dst, `,"error":`...)
		errText := ""
		if e.Err != nil {
			errText = e.Err.Error()
		}
		dst = AppendString(dst, errText)
		return append(dst, '}')
	}
	dst = append(dst, `{"messageId":`...)
	dst = AppendString(dst, e.MessageID)
	dst = append(dst, `,"channelId":`...)
	dst = AppendString(dst, e.ChannelID)
	dst = append(dst, `,"eventType":"`...)
	dst = append(dst, typ...)
	return append(dst, `"}`...)
}

// Request names as nim-sds prints them in processing errors.
const (
	OpCreate = "CREATE_RELIABILITY_MANAGER"
	OpWrap   = "WRAP_MESSAGE"
	OpUnwrap = "UNWRAP_MESSAGE"
	OpMark   = "MARK_DEPENDENCIES_MET"
	OpReset  = "RESET_RELIABILITY_MANAGER"
)

// ErrorName maps an engine error to the nim-sds ReliabilityError name.
func ErrorName(err error) string {
	switch {
	case errors.Is(err, engine.ErrInvalidArgument), errors.Is(err, engine.ErrUnknownChannel):
		return "reInvalidArgument"
	case errors.Is(err, engine.ErrMessageTooLarge):
		return "reMessageTooLarge"
	case errors.Is(err, engine.ErrDeserialization):
		return "reDeserializationError"
	case errors.Is(err, engine.ErrStore):
		return "rePersistenceError"
	}
	return "reInternalError"
}

// ProcessingError is the result text of a request that failed in the engine:
// "libsds error: handleRes fireSyncRes error: error processing WRAP_MESSAGE
// request: reInvalidArgument" (the 35a33ad text).
func ProcessingError(op string, err error) string {
	detail := ErrorName(err)
	if op == OpCreate {
		detail = "Failed creating reliability manager: " + detail
	}
	return "libsds error: handleRes fireSyncRes error: error processing " + op + " request: " + detail
}

// Validation errors nim-sds reports synchronously, on the caller's thread.
const (
	ErrNullMessage   = "libsds error: message pointer is NULL but length > 0"
	ErrNullMessageID = "libsds error: message ID pointer is NULL"
	ErrNullChannel   = "libsds error: channel ID pointer is NULL"
	ErrEmptyChannel  = "libsds error: channel ID is empty string"
	ErrNullIDs       = "libsds error: MessageIDs pointer is NULL but count > 0"
	// ErrInvalidContext is ours: nim-sds crashes on a NULL or stale context.
	ErrInvalidContext = "libsds error: invalid context"
)
