package wire

import "google.golang.org/protobuf/encoding/protowire"

// Shape is what a message holds, counted without decoding it: a receiver checks
// it against its budgets before paying for a full decode.
type Shape struct {
	// CausalEntries and RepairEntries count the causal-history and
	// repair-request fields.
	CausalEntries, RepairEntries int
	// ChannelIDLen is the length of the channel id (last occurrence).
	ChannelIDLen int
}

// Scan validates the top level of data as ExtractChannelID does and counts its
// entries. It allocates nothing and fails, wrapping ErrMalformed, on the same
// input ExtractChannelID fails on.
func Scan(data []byte) (Shape, error) {
	var s Shape
	hasChannel := false
	for i := 0; i < len(data); {
		f, next, err := nextField(data, i)
		if err != nil {
			return Shape{}, err
		}
		i = next
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case uint64(fieldCausalHistory):
			s.CausalEntries++
		case uint64(fieldRepairRequest):
			s.RepairEntries++
		case uint64(fieldChannelID):
			s.ChannelIDLen, hasChannel = len(f.data), true
		}
	}
	if !hasChannel {
		return Shape{}, errMissingChannel
	}
	return s, nil
}
