package wire

import "google.golang.org/protobuf/encoding/protowire"

// Shape is what a message holds, counted without decoding it: a receiver checks
// it against its budgets before paying for a full decode.
type Shape struct {
	// Fields counts the top-level fields. Scan stops counting, and scanning,
	// once it passes its maxFields.
	Fields int
	// CausalEntries and RepairEntries count the causal-history and
	// repair-request fields.
	CausalEntries, RepairEntries int
	// LargestEntry is the length of the longest causal-history or
	// repair-request entry.
	LargestEntry int
	// ChannelIDLen, MessageIDLen and SenderIDLen are the lengths of the
	// channel id, message id and sender id (last occurrence of each).
	ChannelIDLen, MessageIDLen, SenderIDLen int
}

// Scan validates the top level of data as ExtractChannelID does and counts its
// fields and entries, allocating nothing. It stops early, with Fields =
// maxFields+1 and no error, once data has more than maxFields top-level fields:
// the caller refuses such a message without paying for the rest. Otherwise it
// fails, wrapping ErrMalformed, on the input ExtractChannelID fails on.
func Scan(data []byte, maxFields int) (Shape, error) {
	var s Shape
	hasChannel := false
	for i := 0; i < len(data); {
		if s.Fields == maxFields {
			s.Fields++
			return s, nil
		}
		f, next, err := nextField(data, i)
		if err != nil {
			return Shape{}, err
		}
		i = next
		s.Fields++
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case uint64(fieldCausalHistory):
			s.CausalEntries++
			s.LargestEntry = max(s.LargestEntry, len(f.data))
		case uint64(fieldRepairRequest):
			s.RepairEntries++
			s.LargestEntry = max(s.LargestEntry, len(f.data))
		case uint64(fieldCausalMeta): // 0.4: a causal entry's hint and sender
			s.LargestEntry = max(s.LargestEntry, len(f.data))
		case uint64(fieldChannelID):
			s.ChannelIDLen, hasChannel = len(f.data), true
		case uint64(fieldID):
			s.MessageIDLen = len(f.data)
		case uint64(fieldSenderID):
			s.SenderIDLen = len(f.data)
		}
	}
	if !hasChannel {
		return Shape{}, errMissingChannel
	}
	return s, nil
}
