// Package repair holds the SDS-R (repair extension) timing and group formulas
// exactly as nim-sds computes them, so that every participant — Go or Nim — picks
// the same back-off and the same responders for a missing message.
//
// All arithmetic is on Nim's string hash (package nimhash) with int64 abs and
// millisecond units; see PROTOCOL.md §2.8.
package repair

import (
	"time"

	"github.com/logos-messaging/libsds-go/core/nimhash"
)

// TReq is how long a participant waits after noticing messageID is missing before
// it asks for a repair: T_min + abs(H(participantID ‖ messageID)) mod (T_max − T_min).
// A non-positive range returns tMin.
func TReq(participantID, messageID string, tMin, tMax time.Duration) time.Duration {
	rangeMs := tMax.Milliseconds() - tMin.Milliseconds()
	if rangeMs <= 0 {
		return tMin
	}
	h := nimhash.Abs(nimhash.Concat(participantID, messageID))
	return time.Duration(tMin.Milliseconds()+h%rangeMs) * time.Millisecond
}

// TResp is how long a participant that holds messageID waits before rebroadcasting
// it in answer to a repair request: ((d mod T_max)·(abs(H(messageID)) mod T_max)) mod
// T_max with d = abs(H(participantID) xor H(senderID)). The original sender (d = 0)
// answers at once. The product is taken in uint64, as nim-sds does.
func TResp(participantID, senderID, messageID string, tMax time.Duration) time.Duration {
	distance := nimhash.Abs(nimhash.String(participantID) ^ nimhash.String(senderID))
	tMaxMs := tMax.Milliseconds()
	if tMaxMs <= 0 || distance == 0 {
		return 0
	}
	msgHash := nimhash.Abs(nimhash.String(messageID))
	d := uint64(distance % tMaxMs)
	m := uint64(msgHash % tMaxMs)
	return time.Duration(int64(d*m%uint64(tMaxMs))) * time.Millisecond
}

// InResponseGroup reports whether participantID is among those who answer repair
// requests for messageID originally sent by senderID, when participants are split
// into groups response groups. With one group (or fewer) everyone answers.
func InResponseGroup(participantID, senderID, messageID string, groups int) bool {
	if groups <= 1 {
		return true
	}
	n := int64(groups)
	mine := nimhash.Abs(nimhash.Concat(participantID, messageID)) % n
	theirs := nimhash.Abs(nimhash.Concat(senderID, messageID)) % n
	return mine == theirs
}
