package nimcompat04

import (
	"errors"
	"slices"
	"strconv"
	"unsafe"
)

// The request types of nim-sds 0.4's JSON calls (ABI-v0.4.md §3.1). Strings
// hold the decoded bytes, unvalidated (ids are bytes).

// CreateRequest is sds_create's config.
type CreateRequest struct {
	ParticipantID string
}

// WrapRequest is sds_wrap_outgoing_message's request.
type WrapRequest struct {
	Message   []byte
	MessageID string
	ChannelID string
}

// UnwrapRequest is sds_unwrap_received_message's request.
type UnwrapRequest struct {
	Message []byte
}

// MarkRequest is sds_mark_dependencies_met's request.
type MarkRequest struct {
	MessageIDs []string
	ChannelID  string
}

type fieldType uint8

const (
	fString fieldType = iota
	fBytes
	fStrings
)

// field is one declared field of a request type: where its value goes, and
// the first kind error found in it (std/json checks kinds only after parsing
// the whole text, and a later duplicate key replaces an earlier value).
type field struct {
	name string
	typ  fieldType
	str  *string
	data *[]byte
	strs *[]string

	seen      bool
	bad       bool
	badIndex  int // -1: the value itself; else the element
	badKind   Kind
	badWanted string
}

func (f *field) fail(index int, got Kind, wanted string) {
	if !f.bad {
		f.bad, f.badIndex, f.badKind, f.badWanted = true, index, got, wanted
	}
}

const (
	wantString = "{JNull, JString}"
	wantArray  = "{JArray}"
	wantInt    = "{JInt}"
)

// ParseCreate parses sds_create's config JSON as nim-sds 0.4 does (std/json
// parseJson, then to(T)); the error is std/json's message.
func ParseCreate(req []byte) (CreateRequest, error) {
	var r CreateRequest
	err := parse(req, []field{{name: "participantId", typ: fString, str: &r.ParticipantID}})
	return r, err
}

// ParseWrap parses a wrap request; the message bytes are appended to buf[:0]
// (pass a pooled buffer to parse without allocating it).
func ParseWrap(req []byte, buf []byte) (WrapRequest, error) {
	r := WrapRequest{Message: buf[:0]}
	err := parse(req, []field{
		{name: "message", typ: fBytes, data: &r.Message},
		{name: "messageId", typ: fString, str: &r.MessageID},
		{name: "channelId", typ: fString, str: &r.ChannelID},
	})
	return r, err
}

// ParseUnwrap parses an unwrap request; the message bytes are appended to buf[:0].
func ParseUnwrap(req []byte, buf []byte) (UnwrapRequest, error) {
	r := UnwrapRequest{Message: buf[:0]}
	err := parse(req, []field{{name: "message", typ: fBytes, data: &r.Message}})
	return r, err
}

// ParseMark parses a mark-dependencies request.
func ParseMark(req []byte) (MarkRequest, error) {
	var r MarkRequest
	err := parse(req, []field{
		{name: "messageIds", typ: fStrings, strs: &r.MessageIDs},
		{name: "channelId", typ: fString, str: &r.ChannelID},
	})
	return r, err
}

// parse runs std/json's parser over req and fills fields. req may or may not
// end with the NUL of its C string; the lexer needs that sentinel, and
// anything from the first NUL on is not part of the text (as in Nim).
func parse(req []byte, fields []field) error {
	if n := len(req); n == 0 || req[n-1] != 0 {
		req = append(req[:n:n], 0)
	}
	l := lexer{buf: req, line: 1}
	l.next()
	object := l.tok == tkCurlyLe
	if object {
		l.next()
		for l.tok != tkCurlyRi {
			if l.tok != tkString {
				return l.syntaxError("string literal as key")
			}
			var f *field
			for i := range fields {
				if string(l.str) == fields[i].name {
					f = &fields[i]
				}
			}
			l.next()
			if err := l.eat(tkColon); err != nil {
				return err
			}
			var err error
			if f != nil {
				err = l.fieldValue(f)
			} else {
				_, err = l.skipValue(1)
			}
			if err != nil {
				return err
			}
			if l.tok != tkComma {
				break
			}
			l.next()
		}
		if err := l.eat(tkCurlyRi); err != nil {
			return err
		}
	} else if _, err := l.skipValue(0); err != nil {
		return err
	}
	if err := l.eat(tkEOF); err != nil {
		return err
	}
	for i := range fields {
		f := &fields[i]
		if !object || !f.seen {
			return errors.New("key not found: ." + f.name)
		}
		if f.bad {
			path := "." + f.name
			if f.badIndex >= 0 {
				path += "[" + strconv.Itoa(f.badIndex) + "]"
			}
			return errors.New("Incorrect JSON kind. Wanted '" + f.badWanted + "' in '" + path +
				"' but got '" + f.badKind.String() + "'.")
		}
	}
	return nil
}

// fieldValue parses the value of a declared field (a later duplicate key
// starts over).
func (l *lexer) fieldValue(f *field) error {
	f.seen, f.bad = true, false
	switch f.typ {
	case fString:
		s, kind, err := l.stringValue(1)
		*f.str = s
		if err == nil && kind != JString && kind != JNull {
			f.fail(-1, kind, wantString)
		}
		return err
	case fBytes:
		if l.tok != tkBracketLe {
			kind, err := l.skipValue(1)
			f.fail(-1, kind, wantArray)
			return err
		}
		var err error
		*f.data, err = l.byteArray((*f.data)[:0], f)
		return err
	}
	if l.tok != tkBracketLe {
		kind, err := l.skipValue(1)
		f.fail(-1, kind, wantArray)
		return err
	}
	*f.strs = (*f.strs)[:0]
	l.next()
	for i := 0; l.tok != tkBracketRi; i++ {
		s, kind, err := l.stringValue(2)
		if err != nil {
			return err
		}
		if kind != JString && kind != JNull {
			f.fail(i, kind, wantString)
		}
		*f.strs = append(*f.strs, s)
		if l.tok != tkComma {
			break
		}
		l.next()
	}
	return l.eat(tkBracketRi)
}

// stringValue parses a value that should be a string: its text if it is one
// (a raw number — an integer beyond int64 — is a string to std/json too),
// and its kind.
func (l *lexer) stringValue(depth int) (string, Kind, error) {
	switch l.tok {
	case tkString:
		s := string(l.str)
		l.next()
		return s, JString, nil
	case tkInt:
		if _, ok := l.intValue(); !ok {
			s := l.numberText()
			l.next()
			return s, JString, nil
		}
	case tkFloat:
		if l.floatKind() == JString {
			s := l.numberText()
			l.next()
			return s, JString, nil
		}
	}
	kind, err := l.skipValue(depth)
	return "", kind, err
}

// byteArray parses a JSON array of integers into dst, each truncated to its
// low 8 bits as Nim's initFromJson for uint8 does. The current token is '['.
// Elements written as 1 to 3 plain digits (after optional spaces) directly
// followed by ',' or ']' — every array a host writes — take a fast path
// straight over the bytes (fastScan); any other element goes through the
// lexer.
func (l *lexer) byteArray(dst []byte, f *field) ([]byte, error) {
	var fast fastScan
	for i := 0; ; i++ {
		var done bool
		before := len(dst)
		l.pos, dst, done = fast.scan(l.buf, l.pos, dst)
		i += len(dst) - before
		if done {
			l.next()
			return dst, nil
		}
		// the general path, from the element's start
		if l.next() == tkBracketRi {
			l.next()
			return dst, nil
		}
		if l.tok == tkInt {
			if v, ok := l.intValue(); ok {
				dst = append(dst, byte(v))
				l.next()
			} else {
				f.fail(i, JString, wantInt)
				l.next()
			}
		} else {
			kind, err := l.skipValue(2)
			if err != nil {
				return dst, err
			}
			f.fail(i, kind, wantInt)
		}
		if l.tok != tkComma {
			return dst, l.eat(tkBracketRi)
		}
		// l.pos is just after the comma: the next element starts there
	}
}

// simdMin is the least text a call of the block scanner must take to pay for
// itself (a cgo call costs about what scanDigits takes for a few dozen bytes).
const simdMin = 128

// fastScan is byteArray's fast path over one array: scanDigits, with the
// stretch of whole blocks taken by the block scanner first when the CPU has
// one (scanBlocks, bytearray.c).
//
// Why SIMD: scanDigits's cost is branch mispredictions (an element has 1, 2 or
// 3 digits, at random in a message's bytes); branch-free scalar and SWAR
// variants were slower. The block scanner has no branch that depends on the
// data while the text is clean: it classifies a block of 64 bytes at once (one
// AVX-512 vector, two AVX2 or four SSSE3 or NEON vectors), computes every
// element's value in 8-bit lanes and packs the values found at the commas.
//
// The block invariant: the scanner takes text only while each byte is a digit,
// a comma or a space, each comma directly follows a digit, each space follows
// a comma or a space (or is at the start), and no digit run is longer than 3.
// Such a stretch, up to its last comma, is a run of elements
// "<spaces><1 to 3 digits>," — exactly what scanDigits takes, with the same
// values — so scanDigits goes on from where the scanner stopped (at the
// first unclean byte: a ']', the NUL, or anything the lexer must see) and the
// result is scanDigits's own for every input.
//
// An array whose elements often need the lexer would pay a cgo call per
// element for nothing: after a call that took less than simdMin bytes, the
// next calls skip the scanner, twice as many each time (up to 64).
type fastScan struct {
	skip, backoff int
	calls         int // of the block scanner (the tests check the backoff with it)
}

// scan is scanDigits (same arguments, same results), faster.
func (s *fastScan) scan(buf []byte, pos int, dst []byte) (int, []byte, bool) {
	if simdLevel == 0 || len(buf)-pos < simdMin {
		return scanDigits(buf, pos, dst)
	}
	if s.skip > 0 {
		s.skip--
		return scanDigits(buf, pos, dst)
	}
	s.calls++
	p, dst := scanBlocks(simdLevel, buf, pos, dst)
	if p-pos < simdMin {
		s.backoff = min(2*s.backoff+1, 64)
		s.skip = s.backoff
	} else {
		s.backoff = 0
	}
	return scanDigits(buf, p, dst)
}

// loadByte reads base[i] without a bounds check.
func loadByte(base unsafe.Pointer, i uintptr) byte { return *(*byte)(unsafe.Add(base, i)) }

// scanDigits is byteArray's scalar fast path (all of it where there is no
// block scanner, and the scanners' oracle in the tests): from pos (an
// element's start) it takes elements of 1 to 3 digits each directly followed
// by ',' or ']', optionally preceded by spaces (JSON whitespace the lexer
// would skip), appending their low 8 bits to dst. It stops at the first other
// element (returning its start, after any spaces) or after the ']' (done). It reads without
// bounds checks: buf ends with a NUL (parse makes sure), which stops every
// digit run and matches neither separator, so no read goes past it.
func scanDigits(buf []byte, pos int, dst []byte) (int, []byte, bool) {
	// every element takes at least two bytes of text ("7,")
	dst = slices.Grow(dst, (len(buf)-pos)/2+1)
	base := unsafe.Pointer(unsafe.SliceData(buf))
	out := unsafe.Add(unsafe.Pointer(unsafe.SliceData(dst)), len(dst))
	k, p := uintptr(0), uintptr(pos)
	for {
		v := loadByte(base, p) - '0'
		if v >= 10 {
			if loadByte(base, p) != ' ' {
				break
			}
			// spaces before the element: "1, 2" (what Python's json.dumps writes)
			for p++; loadByte(base, p) == ' '; p++ {
			}
			if v = loadByte(base, p) - '0'; v >= 10 {
				break
			}
		}
		q := p + 1
		c := loadByte(base, q)
		if c-'0' < 10 {
			v = v*10 + c - '0'
			q++
			c = loadByte(base, q)
			if c-'0' < 10 {
				v = v*10 + c - '0'
				q++
				c = loadByte(base, q)
			}
		}
		*(*byte)(unsafe.Add(out, k)) = v // kept only if the element ends here
		if c == ',' {
			k++
			p = q + 1
			continue
		}
		if c == ']' {
			return int(q) + 1, dst[:len(dst)+int(k)+1], true
		}
		break
	}
	return int(p), dst[:len(dst)+int(k)], false
}
