// Package wire encodes and decodes SDS messages byte-exactly as nim-sds 35a33ad does.
//
// nim-sds does not use the field numbers of the LIP-109 spec's protobuf. It writes its
// own layout by hand with nim-libp2p's minprotobuf, and a drop-in replacement must
// speak that layout, so this package implements it and nothing else:
//
//	SdsMessage
//	  1  message_id      string        always written
//	  2  lamport         varint        always written, even 0
//	  3  causal_history  HistoryEntry  one field per entry
//	  4  channel_id      string        always written
//	  5  content         bytes         always written, even empty
//	  6  bloom_filter    bytes         always written, even empty
//	  7  sender_id       string        written only if non-empty
//	  13 repair_request  HistoryEntry  one field per entry
//
//	HistoryEntry
//	  1  message_id      string        always written
//	  2  retrieval_hint  bytes         written only if non-empty
//	  3  sender_id       string        written only if non-empty
//
// Encoding writes the fields in exactly this order with minimal varints, so a
// message decoded from nim-sds bytes re-encodes to the same bytes.
//
// Decoding reproduces minprotobuf's accept/reject behaviour rather than protoc's,
// because an input nim-sds rejects must be rejected here too (and vice versa):
//   - a singular field's last occurrence wins;
//   - a field with an unexpected wire type is skipped and counts as absent (so a
//     length-delimited lamport means "lamport missing");
//   - fields 1, 2, 4 and 5 are required (5 may be empty); 6 and 7 are optional;
//   - every length-delimited occurrence of field 3 or 13 is decoded as a
//     HistoryEntry, whose field 1 is required, and one bad entry fails the message;
//   - wire types 3, 4 (groups), 6 and 7 anywhere are errors, as are truncated
//     values and varints longer than ten bytes; unknown fields of wire types 0, 1,
//     2 and 5 (and field number 0) are skipped;
//   - varints must be minimal and a tenth byte may only be 0x01, as in the
//     nim-libp2p (1.15.3) nim-sds links — stricter than PROTOCOL.md §1.1, which
//     describes nim-libp2p's 2018 reader (see rejectNonMinimalVarints);
//   - strings are opaque bytes: no UTF-8 validation.
//
// The pre-9f7ae0c "legacy" layout, where field 3 held plain id strings, is
// therefore rejected in practice, exactly as by nim-sds (see PROTOCOL.md §1.1).
//
// Every decode error wraps ErrMalformed. Decoded byte slices alias the input.
package wire
