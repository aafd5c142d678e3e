package nimcompat04

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// Kind is a JSON node kind, named and ordered as Nim's JsonNodeKind (the
// order matters: error texts print sets of kinds in enum order).
type Kind uint8

// The JSON node kinds, in Nim's declaration order.
const (
	JNull Kind = iota
	JBool
	JInt
	JFloat
	JString
	JObject
	JArray
)

var kindNames = [...]string{"JNull", "JBool", "JInt", "JFloat", "JString", "JObject", "JArray"}

// String returns the Nim name of the kind ("JInt").
func (k Kind) String() string { return kindNames[k] }

// depthLimit is std/json's nesting limit: a container deeper than this is a
// syntax error.
const depthLimit = 1000

type token uint8

const (
	tkError token = iota
	tkEOF
	tkString
	tkInt
	tkFloat
	tkTrue
	tkFalse
	tkNull
	tkCurlyLe
	tkCurlyRi
	tkBracketLe
	tkBracketRi
	tkColon
	tkComma
)

// tokenNames are std/json's tokToStr, used in "<token> expected".
var tokenNames = [...]string{"invalid token", "EOF", "string literal", "int literal", "float literal",
	"true", "false", "null", "{", "}", "[", "]", ":", ","}

// lexer follows Nim 2.2's lib/pure/parsejson.nim byte for byte, so that the
// positions in syntax errors are the ones nim-sds reports. buf ends with a 0
// sentinel (Nim's lexer treats a NUL as the end of input, and a C string has
// none inside).
type lexer struct {
	buf       []byte
	pos       int
	line      int
	lineStart int
	tok       token
	str       []byte // the current string token's decoded bytes (reused)
	numStart  int    // the current number token's text is buf[numStart:pos]
	numDot    bool   // the number text has '.', 'e' or 'E' (a float literal)
	numFrac   bool   // it starts with '.' (Nim writes "0." in front)
}

// syntaxError is std/json's JsonParsingError message.
func (l *lexer) syntaxError(expected string) error {
	return errors.New("input(" + strconv.Itoa(l.line) + ", " + strconv.Itoa(l.pos-l.lineStart) +
		") Error: " + expected + " expected")
}

func (l *lexer) newline(pos int) int {
	l.line++
	if l.buf[pos] == '\r' && l.buf[pos+1] == '\n' {
		pos++
	}
	pos++
	l.lineStart = pos
	return pos
}

// skip skips whitespace and // and /* */ comments, as parsejson does.
func (l *lexer) skip() {
	pos := l.pos
	for {
		switch l.buf[pos] {
		case '/':
			switch l.buf[pos+1] {
			case '/':
				pos += 2
			line:
				for {
					switch l.buf[pos] {
					case 0:
						break line
					case '\r', '\n':
						pos = l.newline(pos)
						break line
					default:
						pos++
					}
				}
			case '*':
				pos += 2
			block:
				for {
					switch l.buf[pos] {
					case 0:
						break block
					case '\r', '\n':
						pos = l.newline(pos)
					case '*':
						pos++
						if l.buf[pos] == '/' {
							pos++
							break block
						}
					default:
						pos++
					}
				}
			default:
				l.pos = pos
				return
			}
		case ' ', '\t':
			pos++
		case '\r', '\n':
			pos = l.newline(pos)
		default:
			l.pos = pos
			return
		}
	}
}

func isDigit(c byte) bool { return c-'0' < 10 }

func (l *lexer) next() token {
	l.skip()
	c := l.buf[l.pos]
	switch {
	case c == '-' || c == '.' || isDigit(c):
		l.number()
		if l.numDot {
			l.tok = tkFloat
		} else {
			l.tok = tkInt
		}
	case c == '"':
		l.tok = l.string()
	case c == '[':
		l.pos++
		l.tok = tkBracketLe
	case c == '{':
		l.pos++
		l.tok = tkCurlyLe
	case c == ']':
		l.pos++
		l.tok = tkBracketRi
	case c == '}':
		l.pos++
		l.tok = tkCurlyRi
	case c == ',':
		l.pos++
		l.tok = tkComma
	case c == ':':
		l.pos++
		l.tok = tkColon
	case c == 0:
		l.tok = tkEOF
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
		start := l.pos
		for c := l.buf[l.pos]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '_' || c >= 0x80; c = l.buf[l.pos] {
			l.pos++
		}
		switch string(l.buf[start:l.pos]) {
		case "null":
			l.tok = tkNull
		case "true":
			l.tok = tkTrue
		case "false":
			l.tok = tkFalse
		default:
			l.tok = tkError
		}
	default:
		l.pos++
		l.tok = tkError
	}
	return l.tok
}

func (l *lexer) number() {
	l.numStart, l.numDot, l.numFrac = l.pos, false, false
	pos := l.pos
	if l.buf[pos] == '-' {
		pos++
	}
	if l.buf[pos] == '.' {
		l.numDot, l.numFrac = true, true
		pos++
	} else {
		for isDigit(l.buf[pos]) {
			pos++
		}
		if l.buf[pos] == '.' {
			l.numDot = true
			pos++
		}
	}
	for isDigit(l.buf[pos]) {
		pos++
	}
	if c := l.buf[pos]; c == 'e' || c == 'E' {
		l.numDot = true
		pos++
		if c := l.buf[pos]; c == '+' || c == '-' {
			pos++
		}
		for isDigit(l.buf[pos]) {
			pos++
		}
	}
	l.pos = pos
}

// intValue is the value of an int literal and whether std/json makes it a JInt
// (parseBiggestInt succeeds); otherwise the node is a raw number, kind JString.
func (l *lexer) intValue() (int64, bool) {
	v, err := strconv.ParseInt(string(l.buf[l.numStart:l.pos]), 10, 64)
	return v, err == nil
}

// floatKind is JFloat if parseFloat accepts the literal, else JString (a raw
// number): the mantissa needs a digit, and so does an exponent.
func (l *lexer) floatKind() Kind {
	text := l.buf[l.numStart:l.pos]
	digits, expDigits, inExp := false, true, false
	for _, c := range text {
		switch {
		case c == 'e' || c == 'E':
			inExp, expDigits = true, false
		case isDigit(c) && inExp:
			expDigits = true
		case isDigit(c):
			digits = true
		}
	}
	if (digits || l.numFrac) && expDigits {
		return JFloat
	}
	return JString
}

// numberText is a number token's text as std/json keeps it in a raw number.
func (l *lexer) numberText() string {
	text := string(l.buf[l.numStart:l.pos])
	if l.numFrac { // parsejson writes ".5" as "0.5" and "-.5" as "-0.5"
		if text[0] == '-' {
			return "-0" + text[1:]
		}
		return "0" + text
	}
	return text
}

// string lexes a string literal into l.str. Like parsejson, a bad \u escape
// ends the token early (still a string) and lexing resumes where it stopped.
func (l *lexer) string() token {
	l.str = l.str[:0]
	pos := l.pos + 1
	tok := tkString
loop:
	for {
		c := l.buf[pos]
		switch c {
		case 0:
			tok = tkError
			break loop
		case '"':
			pos++
			break loop
		case '\\':
			switch e := l.buf[pos+1]; e {
			case '\\', '"', '\'', '/':
				l.str = append(l.str, e)
				pos += 2
			case 'b':
				l.str = append(l.str, '\b')
				pos += 2
			case 'f':
				l.str = append(l.str, '\f')
				pos += 2
			case 'n':
				l.str = append(l.str, '\n')
				pos += 2
			case 'r':
				l.str = append(l.str, '\r')
				pos += 2
			case 't':
				l.str = append(l.str, '\t')
				pos += 2
			case 'v':
				l.str = append(l.str, '\v')
				pos += 2
			case 'u':
				pos += 2
				r := l.utf16(&pos)
				if r < 0 {
					break loop
				}
				if r&0xfc00 == 0xd800 {
					if l.buf[pos] != '\\' || l.buf[pos+1] != 'u' {
						break loop
					}
					pos += 2
					s := l.utf16(&pos)
					if s&0xfc00 != 0xdc00 || s <= 0 {
						break loop
					}
					r = 0x10000 + ((r-0xd800)<<10 | (s - 0xdc00))
				}
				l.str = appendNimUTF8(l.str, r)
			default: // kept verbatim, backslash included
				l.str = append(l.str, '\\')
				pos++
			}
		case '\r', '\n':
			l.str = append(l.str, c)
			pos = l.newline(pos)
		default:
			// copy a run of plain bytes at once
			start := pos
			for c := l.buf[pos]; c != '"' && c != '\\' && c != 0 && c != '\r' && c != '\n'; c = l.buf[pos] {
				pos++
			}
			l.str = append(l.str, l.buf[start:pos]...)
		}
	}
	l.pos = pos
	return tok
}

// utf16 reads four hex digits (parseEscapedUTF16): -1 if one is missing, pos
// then at the offending byte.
func (l *lexer) utf16(pos *int) int {
	r := 0
	for i := 0; i < 4; i++ {
		c := l.buf[*pos]
		switch {
		case isDigit(c):
			r = r<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | int(c-'A'+10)
		default:
			return -1
		}
		*pos++
	}
	return r
}

// appendNimUTF8 encodes r as Nim's toUTF8 does: surrogates too (Go's encoder
// would replace them with U+FFFD).
func appendNimUTF8(dst []byte, r int) []byte {
	if r >= 0xd800 && r <= 0xdfff {
		return append(dst, byte(0xe0|r>>12), byte(0x80|(r>>6)&0x3f), byte(0x80|r&0x3f))
	}
	return utf8.AppendRune(dst, rune(r))
}

// skipValue parses one value (the current token starts it) for its syntax
// only and returns its kind; it leaves the token after the value current.
func (l *lexer) skipValue(depth int) (Kind, error) {
	switch l.tok {
	case tkString:
		l.next()
		return JString, nil
	case tkInt:
		_, ok := l.intValue()
		l.next()
		if ok {
			return JInt, nil
		}
		return JString, nil
	case tkFloat:
		k := l.floatKind()
		l.next()
		return k, nil
	case tkTrue, tkFalse:
		l.next()
		return JBool, nil
	case tkNull:
		l.next()
		return JNull, nil
	case tkCurlyLe:
		if depth > depthLimit {
			return 0, l.syntaxError("}")
		}
		l.next()
		for l.tok != tkCurlyRi {
			if l.tok != tkString {
				return 0, l.syntaxError("string literal as key")
			}
			l.next()
			if err := l.eat(tkColon); err != nil {
				return 0, err
			}
			if _, err := l.skipValue(depth + 1); err != nil {
				return 0, err
			}
			if l.tok != tkComma {
				break
			}
			l.next()
		}
		return JObject, l.eat(tkCurlyRi)
	case tkBracketLe:
		if depth > depthLimit {
			return 0, l.syntaxError("]")
		}
		l.next()
		for l.tok != tkBracketRi {
			if _, err := l.skipValue(depth + 1); err != nil {
				return 0, err
			}
			if l.tok != tkComma {
				break
			}
			l.next()
		}
		return JArray, l.eat(tkBracketRi)
	}
	return 0, l.syntaxError("{")
}

func (l *lexer) eat(t token) error {
	if l.tok != t {
		return l.syntaxError(tokenNames[t])
	}
	l.next()
	return nil
}
