package trace

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ErrorName is the nim-sds error name ("reInvalidArgument", …) that ends the
// payload of an error result.
func (r *Result) ErrorName() string {
	p := string(r.Payload)
	return p[strings.LastIndex(p, " ")+1:]
}

// Dep is a missing dependency as an unwrap outcome reports it.
type Dep struct {
	MessageID     string
	RetrievalHint []byte
}

// CheckUnwrap compares an unwrap outcome with the result nim-sds recorded for
// it: content, channel id and missing dependencies, strings passed through the
// same JSON round trip nim-sds's went through and hints as base64. It returns
// nil when they match and otherwise says what differs.
func (r *Result) CheckUnwrap(content []byte, channelID string, deps []Dep) error {
	if r.PayloadSHA != "" { // a large payload: only its hash was recorded
		if len(deps) != 0 {
			return fmt.Errorf("%d missing dependencies where nim-sds's large result had none", len(deps))
		}
		var b strings.Builder
		b.WriteString(`{"message":[`)
		for i, c := range content {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(int(c)))
		}
		b.WriteString(`],"channelId":"` + channelID + `","missingDeps":[]}`)
		sum := sha256.Sum256([]byte(b.String()))
		if got := hex.EncodeToString(sum[:]); got != r.PayloadSHA {
			return fmt.Errorf("unwrap result sha256 %s, nim-sds's %s", got, r.PayloadSHA)
		}
		return nil
	}
	var golden struct {
		Message     []int  `json:"message"`
		ChannelID   string `json:"channelId"`
		MissingDeps []struct {
			MessageID     string `json:"messageId"`
			RetrievalHint string `json:"retrievalHint"`
		} `json:"missingDeps"`
	}
	if err := json.Unmarshal(r.Payload, &golden); err != nil {
		return fmt.Errorf("nim-sds's unwrap result: %w", err)
	}
	want := make([]byte, len(golden.Message))
	for i, v := range golden.Message {
		want[i] = byte(v)
	}
	if !bytes.Equal(want, content) {
		return fmt.Errorf("content %q, nim-sds's %q", content, want)
	}
	if got := ViaJSON(channelID); got != golden.ChannelID {
		return fmt.Errorf("channel %q, nim-sds's %q", got, golden.ChannelID)
	}
	if len(deps) != len(golden.MissingDeps) {
		return fmt.Errorf("%d missing dependencies, nim-sds's %d", len(deps), len(golden.MissingDeps))
	}
	for i, d := range golden.MissingDeps {
		if got := ViaJSON(deps[i].MessageID); got != d.MessageID {
			return fmt.Errorf("missing dependency %d: id %q, nim-sds's %q", i, got, d.MessageID)
		}
		if got := base64.StdEncoding.EncodeToString(deps[i].RetrievalHint); got != d.RetrievalHint {
			return fmt.Errorf("missing dependency %d: hint %s, nim-sds's %s", i, got, d.RetrievalHint)
		}
	}
	return nil
}

// ViaJSON passes s through encoding/json, as the golden JSON went (invalid
// UTF-8 becomes U+FFFD).
func ViaJSON(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

// EventValues parses nim-sds's event payloads into generic JSON values, for
// comparing with this library's events rendered the same way.
func EventValues(evs []*Event) ([]any, error) {
	out := []any{}
	for _, e := range evs {
		if e.Ret != 0 {
			return nil, fmt.Errorf("step %d: event callback with ret %d", e.Step, e.Ret)
		}
		var v any
		if err := json.Unmarshal(e.Raw, &v); err != nil {
			return nil, fmt.Errorf("step %d: event %s: %w", e.Step, e.Raw, err)
		}
		out = append(out, v)
	}
	return out, nil
}
