// Package nimcompat04 speaks nim-sds 0.4's snake_case JSON C ABI
// (ABI-v0.4.md): it parses the requests exactly as nim-sds's std/json does,
// with the same error texts, and renders results and error texts byte for
// byte. Unwrap results and events are unchanged from 0.3 and come from
// nimcompat.
package nimcompat04

import (
	"slices"
	"strconv"

	"github.com/logos-messaging/libsds-go/libsds/internal/nimcompat"
)

// AppendWrapResult appends the wrap result: {"message":[10,2,109,49,…]}.
func AppendWrapResult(dst []byte, wireBytes []byte) []byte {
	dst = slices.Grow(dst, 4*len(wireBytes)+14)
	dst = append(dst, `{"message":[`...)
	start := len(dst)
	n := 0
	if len(wireBytes) > 0 {
		n = nimcompat.PutCSV(dst[start:start+4*len(wireBytes)], wireBytes)
	}
	return append(dst[:start+n], "]}"...)
}

// WrapResultLen is the length of AppendWrapResult's text for wireBytes.
func WrapResultLen(wireBytes []byte) int { return nimcompat.CSVLen(wireBytes) + 14 }

// AppendContext appends the create callback's payload: the context pointer
// in unsigned decimal.
func AppendContext(dst []byte, ctx uint64) []byte { return strconv.AppendUint(dst, ctx, 10) }

// Request names as nim-sds 0.4 prints them in processing errors.
const (
	OpWrap   = "wrap"
	OpUnwrap = "unwrap"
	OpMark   = "mark-dependencies"
	OpReset  = "reset"
)

// ProcessingError is the result text of a request the engine failed:
// "error processing wrap request: reInvalidArgument".
func ProcessingError(op string, err error) string {
	return "error processing " + op + " request: " + nimcompat.ErrorName(err)
}

// CreateError is sds_create's text for a config that does not parse.
func CreateError(err error) string { return "ffiCtor: failed to deserialize param: " + err.Error() }

// Texts of the errors nim-sds 0.4 reports on the caller's thread.
const (
	// ErrInvalidContext answers a call on a NULL, destroyed or made-up context.
	ErrInvalidContext = "ctx is not a valid FFI context"
	// ErrNotInitialized answers sds_destroy on a NULL or destroyed context.
	ErrNotInitialized = "context not initialized"
)
