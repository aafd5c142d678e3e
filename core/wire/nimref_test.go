package wire

import "google.golang.org/protobuf/encoding/protowire"

// A deliberately literal port of what nim-sds 35a33ad runs on decode:
// nim-libp2p minprotobuf's getField/getRepeatedField, each of which scans the
// whole buffer again, and sds/protobuf.nim's decode, decodeHistoryEntry and
// extractChannelId. It is slow and shares no code with the package, and serves
// as the oracle the single-pass decoder is compared against (fuzz and tables).

// refGetUVarint is PB.getUVarint. With rejectNonMinimalVarints it is the
// stew/leb128 reader (10th byte at most 1, then Overlong if not minimal),
// otherwise the 2018 loop.
func refGetUVarint(b []byte) (v uint64, n int, ok bool) {
	var shift uint
	for i := 0; i < len(b); i++ {
		c := b[i]
		if shift >= 64 {
			return 0, 0, false // Overflow
		}
		if rejectNonMinimalVarints && shift == 63 && c&0x7f > 1 {
			return 0, 0, false // leb128: overflow in the unused bits
		}
		v |= uint64(c&0x7f) << shift
		shift += 7
		n++
		if c&0x80 == 0 {
			if rejectNonMinimalVarints && n != protowire.SizeVarint(v) {
				return 0, 0, false // Overlong
			}
			return v, n, true
		}
	}
	return 0, 0, false // Incomplete
}

type refPB struct {
	buf []byte
	off int
}

func (p *refPB) isEmpty() bool { return len(p.buf)-p.off <= 0 }

func (p *refPB) isEnough(l uint64) bool {
	return p.off <= len(p.buf) && l <= uint64(len(p.buf)-p.off)
}

func (p *refPB) getHeader() (index, wire uint64, ok bool) {
	hdr, n, ok := refGetUVarint(p.buf[p.off:])
	if !ok {
		return 0, 0, false
	}
	wire = hdr & 7
	if wire != 0 && wire != 1 && wire != 2 && wire != 5 {
		return 0, 0, false // BadWireType
	}
	p.off += n
	return hdr >> 3, wire, true
}

func (p *refPB) skipValue(wire uint64) bool {
	switch wire {
	case 0:
		_, n, ok := refGetUVarint(p.buf[p.off:])
		if !ok {
			return false
		}
		p.off += n
	case 5:
		if !p.isEnough(4) {
			return false
		}
		p.off += 4
	case 1:
		if !p.isEnough(8) {
			return false
		}
		p.off += 8
	case 2:
		bsize, n, ok := refGetUVarint(p.buf[p.off:])
		if !ok {
			return false
		}
		p.off += n
		if !p.isEnough(bsize) {
			return false
		}
		p.off += int(bsize)
	default:
		return false
	}
	return true
}

func (p *refPB) getBytes() ([]byte, bool) {
	bsize, n, ok := refGetUVarint(p.buf[p.off:])
	if !ok {
		return nil, false
	}
	p.off += n
	if !p.isEnough(bsize) {
		return nil, false
	}
	out := append([]byte{}, p.buf[p.off:p.off+int(bsize)]...)
	p.off += int(bsize)
	return out, true
}

// refGetField is getField for seq[byte]/string: (value, found, ok).
func refGetField(buf []byte, field uint64) ([]byte, bool, bool) {
	p := refPB{buf: buf}
	var out []byte
	found := false
	for !p.isEmpty() {
		idx, wire, ok := p.getHeader()
		if !ok {
			return nil, false, false
		}
		if idx == field && wire == 2 {
			v, ok := p.getBytes()
			if !ok {
				return nil, false, false
			}
			out, found = v, true
		} else if !p.skipValue(wire) {
			return nil, false, false
		}
	}
	return out, found, true
}

// refGetUintField is getField for uint64.
func refGetUintField(buf []byte, field uint64) (uint64, bool, bool) {
	p := refPB{buf: buf}
	var out uint64
	found := false
	for !p.isEmpty() {
		idx, wire, ok := p.getHeader()
		if !ok {
			return 0, false, false
		}
		if idx == field && wire == 0 {
			v, n, ok := refGetUVarint(p.buf[p.off:])
			if !ok {
				return 0, false, false
			}
			p.off += n
			out, found = v, true
		} else if !p.skipValue(wire) {
			return 0, false, false
		}
	}
	return out, found, true
}

// refGetRepeatedField is getRepeatedField for seq[seq[byte]]: (values, ok).
func refGetRepeatedField(buf []byte, field uint64) ([][]byte, bool) {
	p := refPB{buf: buf}
	var out [][]byte
	for !p.isEmpty() {
		idx, wire, ok := p.getHeader()
		if !ok {
			return nil, false
		}
		if idx == field && wire == 2 {
			v, ok := p.getBytes()
			if !ok {
				return nil, false
			}
			out = append(out, v)
		} else if !p.skipValue(wire) {
			return nil, false
		}
	}
	return out, true
}

// refDecodeEntry is decodeHistoryEntry.
func refDecodeEntry(buf []byte) (HistoryEntry, bool) {
	id, found, ok := refGetField(buf, 1)
	if !ok || !found {
		return HistoryEntry{}, false
	}
	e := HistoryEntry{MessageID: string(id)}
	if hint, found, ok := refGetField(buf, 2); ok && found { // discard'ed result
		e.RetrievalHint = hint
	}
	if sender, found, ok := refGetField(buf, 3); ok && found {
		e.SenderID = string(sender)
	}
	return e, true
}

// refDecode is SdsMessage.decode.
func refDecode(buf []byte) (*Message, bool) {
	var m Message
	id, found, ok := refGetField(buf, 1)
	if !ok || !found {
		return nil, false
	}
	m.MessageID = string(id)
	ts, found, ok := refGetUintField(buf, 2)
	if !ok || !found {
		return nil, false
	}
	m.Lamport = int64(ts)
	if hist, ok := refGetRepeatedField(buf, 3); ok {
		for _, h := range hist {
			e, ok := refDecodeEntry(h)
			if !ok {
				return nil, false
			}
			m.CausalHistory = append(m.CausalHistory, e)
		}
	} else if ids, ok := refGetRepeatedField(buf, 3); ok { // the dead legacy branch
		for _, id := range ids {
			m.CausalHistory = append(m.CausalHistory, HistoryEntry{MessageID: string(id)})
		}
	}
	ch, found, ok := refGetField(buf, 4)
	if !ok || !found {
		return nil, false
	}
	m.ChannelID = string(ch)
	content, found, ok := refGetField(buf, 5)
	if !ok || !found {
		return nil, false
	}
	m.Content = content
	bloom, _, ok := refGetField(buf, 6)
	if !ok {
		return nil, false
	}
	m.BloomFilter = bloom
	if sender, found, ok := refGetField(buf, 7); ok && found {
		m.SenderID = string(sender)
	}
	if reps, ok := refGetRepeatedField(buf, 13); ok {
		for _, r := range reps {
			e, ok := refDecodeEntry(r)
			if !ok {
				return nil, false
			}
			m.RepairRequest = append(m.RepairRequest, e)
		}
	}
	return &m, true
}

// refExtractChannelID is extractChannelId.
func refExtractChannelID(buf []byte) (string, bool) {
	ch, found, ok := refGetField(buf, 4)
	if !ok || !found {
		return "", false
	}
	return string(ch), true
}
