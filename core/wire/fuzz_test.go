package wire

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/logos-messaging/libsds-go/internal/vectors"
)

// FuzzUnmarshal checks, for any input: no panic; the input is not modified; the
// result and accept/reject decision equal those of the literal minprotobuf port
// (refDecode); errors wrap ErrMalformed; an accepted message re-encodes to bytes
// that decode to the same message and are a fixed point of Marshal; and
// ExtractChannelID agrees with Unmarshal and with extractChannelId's port, and
// Scan with both.
//
// The .bin seeds are 18.8 KB, and minimizing a new input derived from them takes
// most of the default 60 s minimize budget, stalling short runs; pass e.g.
// -fuzzminimizetime 2s for longer sessions.
func FuzzUnmarshal(f *testing.F) {
	for _, v := range binVectors {
		f.Add(vectors.Read(f, v.file))
	}
	for _, b := range handBuiltInputs(f) {
		f.Add(b)
	}
	for _, tc := range ruleCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		m, err := Unmarshal(data)
		ch, chErr := ExtractChannelID(data)
		if !bytes.Equal(data, orig) {
			t.Fatal("input modified")
		}

		ref, refOK := refDecode(orig)
		if refOK != (err == nil) {
			t.Fatalf("accept/reject differs from minprotobuf port: err=%v, port accepts=%v", err, refOK)
		}
		refCh, refChOK := refExtractChannelID(orig)
		if refChOK != (chErr == nil) || (refChOK && refCh != ch) {
			t.Fatalf("ExtractChannelID = %q, %v; port = %q, %v", ch, chErr, refCh, refChOK)
		}
		if chErr != nil && !errors.Is(chErr, ErrMalformed) {
			t.Fatalf("ExtractChannelID error %v does not wrap ErrMalformed", chErr)
		}
		shape, shapeErr := Scan(orig, math.MaxInt)
		if (shapeErr == nil) != (chErr == nil) || (chErr == nil && shape.ChannelIDLen != len(ch)) {
			t.Fatalf("Scan = %+v, %v; ExtractChannelID = %q, %v", shape, shapeErr, ch, chErr)
		}
		if err == nil && (shape.CausalEntries != len(m.CausalHistory) || shape.RepairEntries != len(m.RepairRequest) ||
			shape.MessageIDLen != len(m.MessageID) || shape.SenderIDLen != len(m.SenderID)) {
			t.Fatalf("Scan = %+v; Unmarshal has %d entries and %d requests", shape, len(m.CausalHistory), len(m.RepairRequest))
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if m != nil {
				t.Fatal("non-nil message with an error")
			}
			return
		}
		if !reflect.DeepEqual(normalize(m), normalize(ref)) {
			t.Fatalf("decoded %+v, minprotobuf port %+v", m, ref)
		}
		if chErr != nil || ch != m.ChannelID {
			t.Fatalf("ExtractChannelID = %q, %v; Unmarshal channel %q", ch, chErr, m.ChannelID)
		}

		enc := m.Marshal()
		if len(enc) != m.Size() {
			t.Fatalf("Marshal wrote %d bytes, Size says %d", len(enc), m.Size())
		}
		m2, err := Unmarshal(enc)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !reflect.DeepEqual(normalize(m), normalize(m2)) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, m2)
		}
		if !bytes.Equal(enc, m2.Marshal()) {
			t.Fatal("canonical encoding is not a fixed point")
		}
	})
}
