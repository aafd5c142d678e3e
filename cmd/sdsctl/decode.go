package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/logos-messaging/libsds-go/core/bloom"
	"github.com/logos-messaging/libsds-go/core/wire"
)

// maxInput bounds what decode reads: a message peers accept is far smaller, and
// its hex or decimal text a few times larger.
const maxInput = 256 << 20

// messageView is a decoded message as sdsctl prints it.
type messageView struct {
	WireBytes int `json:"wireBytes"`
	// Generation is the wire layout: "0.3", "0.4", or "either" for a message
	// without causal history, which reads the same in both.
	Generation    string      `json:"wireGeneration"`
	MessageID     string      `json:"messageId"`
	Lamport       int64       `json:"lamportTimestamp"`
	ChannelID     string      `json:"channelId"`
	SenderID      string      `json:"senderId"`
	Content       bytesView   `json:"content"`
	CausalHistory []entryView `json:"causalHistory"`
	RepairRequest []entryView `json:"repairRequest"`
	BloomFilter   filterView  `json:"bloomFilter"`
}

// bytesView shows a byte string by length, as text when it is printable
// UTF-8, and always as base64.
type bytesView struct {
	Len    int    `json:"len"`
	Text   string `json:"text,omitempty"`
	Base64 string `json:"base64"`
}

type entryView struct {
	MessageID     string    `json:"messageId"`
	RetrievalHint bytesView `json:"retrievalHint"`
	SenderID      string    `json:"senderId,omitempty"`
}

// filterView summarizes a serialized bloom filter instead of dumping it.
type filterView struct {
	Bytes     int     `json:"bytes"`
	Capacity  int     `json:"capacity"`
	ErrorRate float64 `json:"errorRate"`
	KHashes   int     `json:"kHashes"`
	MBits     int     `json:"mBits"`
	BitsSet   int     `json:"bitsSet"`
	Fill      float64 `json:"fill"` // BitsSet / MBits
	Error     string  `json:"error,omitempty"`
}

func decodeCommand(args []string, stdin io.Reader, stderr io.Writer) (any, error) {
	fs := newFlagSet("decode", stderr)
	format := fs.String("in", "auto", "input format: auto, hex, base64, csv (decimal bytes) or raw")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	var (
		input []byte
		err   error
	)
	switch {
	case fs.NArg() > 1:
		return nil, fmt.Errorf("%w: decode takes one FILE, - or TEXT", errUsage)
	case fs.NArg() == 0 || fs.Arg(0) == "-":
		input, err = readBounded(stdin)
	default:
		input, err = readArg(fs.Arg(0))
	}
	if err != nil {
		return nil, err
	}
	msg, err := parseInput(input, *format)
	if err != nil {
		return nil, err
	}
	return decodeMessage(msg)
}

// readArg reads a file if the argument names one, else takes it as the text
// (a hex or base64 message is usually too long to be a file name).
func readArg(arg string) ([]byte, error) {
	if fi, err := os.Stat(arg); err != nil || fi.IsDir() {
		return []byte(arg), nil
	}
	f, err := os.Open(arg)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBounded(f)
}

func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("input larger than %d bytes", maxInput)
	}
	return b, nil
}

// parseInput turns the input into wire bytes in the given format, or in the
// first of hex, csv and base64 that the whole input (trimmed) is, else raw.
func parseInput(in []byte, format string) ([]byte, error) {
	text := strings.TrimSpace(string(in))
	switch format {
	case "raw":
		return in, nil
	case "hex":
		return hex.DecodeString(strings.Join(strings.Fields(text), ""))
	case "base64":
		return decodeBase64(text)
	case "csv":
		return decodeCSV(text)
	case "auto":
		if b, err := hex.DecodeString(strings.Join(strings.Fields(text), "")); err == nil && len(text) > 0 {
			return b, nil
		}
		if b, err := decodeCSV(text); err == nil {
			return b, nil
		}
		if b, err := decodeBase64(text); err == nil && len(text) > 0 {
			return b, nil
		}
		return in, nil
	default:
		return nil, fmt.Errorf("%w: unknown input format %q (auto, hex, base64, csv, raw)", errUsage, format)
	}
}

func decodeBase64(text string) ([]byte, error) {
	text = strings.Join(strings.Fields(text), "")
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(text); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// decodeCSV reads decimal bytes separated by commas, optionally in brackets:
// nim-sds 0.3's wrap result, or a JSON number array of its 0.4 ABI.
func decodeCSV(text string) ([]byte, error) {
	text = strings.TrimSuffix(strings.TrimPrefix(text, "["), "]")
	if !strings.Contains(text, ",") {
		return nil, errors.New("not comma-separated bytes")
	}
	parts := strings.Split(text, ",")
	out := make([]byte, 0, len(parts))
	for _, p := range parts {
		v, err := strconv.ParseUint(strings.TrimSpace(p), 10, 8)
		if err != nil {
			return nil, fmt.Errorf("not comma-separated bytes: %q", p)
		}
		out = append(out, byte(v))
	}
	return out, nil
}

func decodeMessage(data []byte) (*messageView, error) {
	// A message without causal history is judged by 0.3's required fields
	// first, then by 0.4's (which require less).
	m, gen, err := wire.Decode(data, wire.V03)
	if err != nil {
		m, gen, err = wire.Decode(data, wire.V04)
	}
	if err != nil {
		return nil, fmt.Errorf("%d bytes are not an SDS message peers accept: %w", len(data), err)
	}
	generation := gen.String()
	if _, neutral, _ := wire.Detect(data); neutral {
		generation = "either"
	}
	v := &messageView{
		WireBytes:     len(data),
		Generation:    generation,
		MessageID:     m.MessageID,
		Lamport:       m.Lamport,
		ChannelID:     m.ChannelID,
		SenderID:      m.SenderID,
		Content:       viewBytes(m.Content),
		CausalHistory: viewEntries(m.CausalHistory),
		RepairRequest: viewEntries(m.RepairRequest),
		BloomFilter:   viewFilter(m.BloomFilter),
	}
	return v, nil
}

func viewEntries(entries []wire.HistoryEntry) []entryView {
	out := make([]entryView, 0, len(entries))
	for _, e := range entries {
		out = append(out, entryView{MessageID: e.MessageID, RetrievalHint: viewBytes(e.RetrievalHint), SenderID: e.SenderID})
	}
	return out
}

func viewBytes(b []byte) bytesView {
	v := bytesView{Len: len(b), Base64: base64.StdEncoding.EncodeToString(b)}
	if utf8.Valid(b) && printable(b) {
		v.Text = string(b)
	}
	return v
}

func printable(b []byte) bool {
	return !bytes.ContainsFunc(b, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f })
}

func viewFilter(b []byte) filterView {
	v := filterView{Bytes: len(b)}
	if len(b) == 0 {
		return v
	}
	r, err := bloom.ParseRemote(b)
	if err != nil {
		v.Error = "not a filter nim-sds reads: acknowledgements from it are ignored"
		return v
	}
	p := r.Params()
	v.Capacity, v.ErrorRate, v.KHashes, v.MBits = p.Capacity, p.ErrorRate, p.K, p.MBits
	v.BitsSet = r.SetBits()
	v.Fill = float64(v.BitsSet) / float64(p.MBits)
	return v
}
