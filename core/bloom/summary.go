package bloom

import (
	"encoding/binary"
	"math/bits"
)

// SetBits returns how many of the filter's mBits bits are set: with MBits, how
// full a received filter is (a diagnostic; ack review never needs it).
func (r *Remote) SetBits() int {
	n := 0
	for w := uint64(0); w*64 < r.m; w++ {
		word := binary.LittleEndian.Uint64(r.words[8*w:])
		if rest := r.m - w*64; rest < 64 {
			word &= 1<<rest - 1
		}
		n += bits.OnesCount64(word)
	}
	return n
}
