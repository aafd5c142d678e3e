// Package wire encodes and decodes SDS messages byte-exactly as nim-sds does, in
// both of its wire generations: V03 (nim-sds 0.3, 35a33ad) and V04 (nim-sds 0.4).
//
// nim-sds does not use the field numbers of the LIP-109 spec's protobuf. It writes its
// own layout by hand, and a drop-in replacement must speak that layout, so this
// package implements it and nothing else. The 0.3 layout:
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
// The 0.4 layout keeps the numbers but writes field 3 as the cited message's plain
// id, adds field 8, one HistoryEntry per cited message with a hint or a sender id
// (in citation order), and writes fields 1, 4, 5, 6 and every HistoryEntry field
// only if non-empty (lamport always). Message is the same for both: MarshalAs and
// UnmarshalAs choose the generation; Marshal and UnmarshalV03 are 0.3's.
//
// Encoding writes the fields in exactly nim-sds's order with minimal varints, so a
// message decoded from nim-sds bytes re-encodes to the same bytes.
//
// UnmarshalV03 reproduces minprotobuf's accept/reject behaviour rather than
// protoc's, because an input nim-sds 0.3 rejects must be rejected here too (and
// vice versa):
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
// UnmarshalV04 follows nim-sds 0.4 (nim-protobuf-serialization): the same
// structural rules (and the same strict varint reader, which no 0.4 recording
// contradicts), plus field numbers 0, 19000-19999 and 2^29 and above refused;
// only a non-empty message id and channel id are required, with non-empty ids in
// field 3 and in repair requests; each causal id takes the hint and sender of the
// last field-8 entry with that id.
//
// Decode (and Unmarshal, which is Decode judging history-free messages by 0.3's
// rules) reads either generation. Detect tells them apart: a length-delimited
// field 8 means V04; otherwise V03 if every field-3 value is a canonical 0.3
// HistoryEntry (what every 0.3 writer produces), else V04. A message without
// causal history reads the same in both and is judged by the required fields of
// the generation the caller names. The rule can misread one shape: a 0.4 message
// without field 8 whose every cited id is itself a canonical 0.3 entry is taken
// for 0.3 and cites the ids inside (docs/wire.md discusses the consequences).
// The 0.3 layout is never misread, which is why the engine stores messages in it.
//
// Every decode error wraps ErrMalformed. Decoded byte slices alias the input.
package wire
