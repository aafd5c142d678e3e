package nimcompat04

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// scanLevels are the scanners to compare: 0 is scanDigits alone, then every
// block scanner this CPU runs.
func scanLevels() []int {
	ls := []int{0}
	for l := 1; l <= simdLevel; l++ {
		ls = append(ls, l)
	}
	return ls
}

// scanWith is scanFast with the block scanner of the given level (0: none),
// whatever the length of the text.
func scanWith(level int, buf []byte, pos int, dst []byte) (int, []byte, bool) {
	if level > 0 {
		p, d := scanBlocks(level, buf, pos, dst)
		if p < pos || p >= len(buf) || p > pos && buf[p-1] != ',' {
			panic(fmt.Sprintf("level %d: scanner stopped at %d (from %d)", level, p, pos))
		}
		pos, dst = p, d
	}
	return scanDigits(buf, pos, dst)
}

// refScan is scanDigits's contract written plainly: elements of optional
// spaces and 1 to 3 digits directly followed by ',' or ']'.
func refScan(buf []byte, pos int, dst []byte) (int, []byte, bool) {
	for {
		q := pos
		for buf[q] == ' ' {
			q++
		}
		j := q
		for j < len(buf) && isDigit(buf[j]) {
			j++
		}
		if j == q || j-q > 3 || buf[j] != ',' && buf[j] != ']' {
			return q, dst, false
		}
		v, _ := strconv.Atoi(string(buf[q:j]))
		dst = append(dst, byte(v))
		if buf[j] == ']' {
			return j + 1, dst, true
		}
		pos = j + 1
	}
}

// checkScan compares every scanner with refScan on text (NUL-terminated,
// placed at the end of readable memory) from pos, appending to a non-empty dst.
func checkScan(t testing.TB, text []byte, pos int) {
	t.Helper()
	buf := guarded(text)
	prefix := []byte{0xaa, 0xbb, 0xcc}
	wp, wdst, wdone := refScan(buf, pos, slices.Clip(slices.Clone(prefix)))
	for _, lv := range scanLevels() {
		gp, gdst, gdone := scanWith(lv, buf, pos, slices.Clip(slices.Clone(prefix)))
		if gp != wp || gdone != wdone || !bytes.Equal(gdst, wdst) {
			t.Fatalf("level %d on %q from %d: (%d, %v, %v), want (%d, %v, %v)", lv, text, pos,
				gp, gdst[len(prefix):], gdone, wp, wdst[len(prefix):], wdone)
		}
	}
}

// filler is o bytes of elements "1," (and one "22," or a space for an odd o).
func filler(o int) string {
	switch {
	case o == 1:
		return " "
	case o%2 == 1:
		return "22," + strings.Repeat("1,", (o-3)/2)
	}
	return strings.Repeat("1,", o/2)
}

// Each fragment at every offset of a block (of every scanner), after clean
// elements and followed by more: elements straddling a block, 4-digit
// elements, ",,", "[,", spaces, ']' and the NUL anywhere.
func TestScanBoundaries(t *testing.T) {
	frags := []string{"]", "]}", "", "1234,", "0999,", "999,", "000,", "0,", "255]", "256,", ",,", ",", " ,",
		", ", ",  7,", "-1,", "1.5,", "1e2,", "\n1,", "\t1,", "1 ,", "1 ]", "7", "77", "777", "x", "\x80,",
		"12,345,6789,", " 1, 22,  333,", "1,\x00,2,", "1 2,", "12 3,", "1  2,"}
	tails := []string{"", "4,5,6]", strings.Repeat("123,", 40) + "9]", strings.Repeat("7, ", 40) + "]"}
	for _, frag := range frags {
		for _, tail := range tails {
			for o := 0; o <= 140; o++ {
				text := []byte("[" + filler(o) + frag + tail + "\x00")
				checkScan(t, text, 1)
			}
		}
	}
	// the text after "[" starts with a comma or spaces
	for _, start := range []string{",1,2,", "  1,2,", " ,1,"} {
		checkScan(t, []byte("["+start+strings.Repeat("1,", 100)+"]\x00"), 1)
	}
}

// The reference itself, on texts whose answer is known.
func TestRefScan(t *testing.T) {
	text := []byte("[" + strings.Repeat("255,", 40) + "999, 1,  0256,1234]\x00")
	p, dst, done := refScan(text, 1, nil)
	want := append(bytes.Repeat([]byte{255}, 40), 231, 1)
	if p != bytes.Index(text, []byte("0256")) || done || !bytes.Equal(dst, want) {
		t.Fatalf("refScan = %d %v %v", p, dst, done)
	}
	p, dst, done = refScan([]byte("[1,22,333]}\x00"), 1, nil)
	if p != 10 || !done || !bytes.Equal(dst, []byte{1, 22, 77}) {
		t.Fatalf("refScan = %d %v %v", p, dst, done)
	}
	for _, lv := range scanLevels() {
		p, dst, done = scanWith(lv, text, 1, nil)
		if p != bytes.Index(text, []byte("0256")) || done || !bytes.Equal(dst, want) {
			t.Fatalf("level %d = %d %v %v", lv, p, dst, done)
		}
	}
}

// genArray writes a byte array's text (after its '[') biased towards the
// shape the scanners take: values 0..999 in 1 to 4 digits, commas with or
// without spaces, junk at random places, ']' or not at the end.
func genArray(rng *rand.Rand, junk []byte) []byte {
	var b []byte
	if rng.IntN(8) == 0 {
		b = append(b, strings.Repeat(" ", rng.IntN(3))...)
	}
	n := rng.IntN(120)
	for i := 0; i < n; i++ {
		v := rng.IntN(1000)
		if rng.IntN(3) == 0 {
			v = rng.IntN(10)
		}
		s := strconv.Itoa(v)
		if rng.IntN(40) == 0 { // leading zeros, up to 4 digits
			s = strings.Repeat("0", 1+rng.IntN(4-min(len(s), 3))) + s
		}
		b = append(b, s...)
		if rng.IntN(60) == 0 && len(junk) > 0 {
			k := rng.IntN(len(junk))
			b = append(b, junk[k:k+min(len(junk)-k, 1+rng.IntN(4))]...)
		}
		if i < n-1 {
			switch rng.IntN(20) {
			case 0:
				b = append(b, ", "...)
			case 1:
				b = append(b, ",   "...)
			case 2:
				b = append(b, " ,"...)
			default:
				b = append(b, ',')
			}
		}
	}
	switch rng.IntN(6) {
	case 0: // the NUL ends the text
	case 1:
		b = append(b, ",]"...)
	default:
		b = append(b, "]}"...)
	}
	return b
}

// FuzzScanBlocks compares every block scanner with scanDigits and with the
// plain reference: on arbitrary bytes (raw), and on arrays generated from
// seed biased towards the valid shape with raw's bytes as the junk.
func FuzzScanBlocks(f *testing.F) {
	f.Add(false, uint64(1), []byte("1,2,3]"))
	f.Add(true, uint64(2), []byte("-.e ]"))
	f.Add(true, uint64(3), []byte("\x00,,"))
	f.Add(false, uint64(4), []byte(strings.Repeat("12,", 30)+"1234,5]"))
	f.Fuzz(func(t *testing.T, generated bool, seed uint64, raw []byte) {
		text := append([]byte("["), raw...)
		if generated {
			rng := rand.New(rand.NewPCG(seed, uint64(len(raw))))
			text = append([]byte("["), genArray(rng, raw)...)
		}
		text = append(text, 0)
		pos := 1
		if !generated && seed%4 == 0 {
			pos = int(seed/4) % len(text)
		}
		checkScan(t, text, pos)
		// scanDigits agrees with the reference too (checkScan's level 0), and
		// the parser reads the array as the lexer would
		if generated && bytes.HasSuffix(text, []byte("]}\x00")) {
			req := append([]byte(`{"message":`), text...)
			r, err := ParseUnwrap(req, nil)
			strict := append(req[:len(req)-2:len(req)-2], `,"messageId":"","channelId":""}`...)
			if want, ok := oracleWrap(strict); ok && (err != nil || !bytes.Equal(r.Message, want.Message)) {
				t.Fatalf("%q: %v (%v), encoding/json reads %v", req, r.Message, err, want.Message)
			}
		}
	})
}

// TestScanFuzzShapes runs the fuzzer's generator for a while in plain go test.
func TestScanFuzzShapes(t *testing.T) {
	junks := [][]byte{[]byte("]"), []byte("-"), []byte(" "), []byte(",,"), []byte("\x00"), []byte("1234"), []byte(".e\n")}
	for seed := uint64(0); seed < 3000; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		text := append(append([]byte("["), genArray(rng, junks[seed%uint64(len(junks))])...), 0)
		checkScan(t, text, 1)
	}
}

// BenchmarkScan times each scanner on unwrapBenchRequest's array (level 0:
// scanDigits alone).
func BenchmarkScan(b *testing.B) {
	req := append(unwrapBenchRequest(), 0)
	start := bytes.IndexByte(req, '[') + 1
	for _, lv := range scanLevels() {
		b.Run("level"+strconv.Itoa(lv), func(b *testing.B) {
			dst := make([]byte, 0, len(req))
			b.SetBytes(int64(len(req) - start))
			for i := 0; i < b.N; i++ {
				if _, d, done := scanWith(lv, req, start, dst[:0]); !done || len(d) != 19000 {
					b.Fatal("scan incomplete")
				}
			}
		})
	}
}

// An array whose elements all need the lexer calls the block scanner for few
// of them; one with a few such elements among clean ones still gets it after each.
func TestFastScanBackoff(t *testing.T) {
	if simdLevel == 0 {
		t.Skip("no block scanner on this CPU")
	}
	// byteArray's loop, with every element the fast path leaves an int
	count := func(text string) (fastScan, []byte) {
		l := lexer{buf: []byte(text + "\x00"), line: 1}
		for l.next() != tkBracketLe {
		}
		var s fastScan
		var dst []byte
		for {
			var done bool
			if l.pos, dst, done = s.scan(l.buf, l.pos, dst); done {
				return s, dst
			}
			if l.next() != tkInt {
				t.Fatalf("%q: no int at %d", text, l.pos)
			}
			v, _ := l.intValue()
			dst = append(dst, byte(v))
			if l.next() != tkComma {
				return s, dst
			}
		}
	}
	s, dst := count(`[` + strings.Repeat(" 7 ,", 5000) + " 8 ]")
	if len(dst) != 5001 || s.calls > 5000/32 {
		t.Fatalf("all slow: %d values, %d scanner calls", len(dst), s.calls)
	}
	s, dst = count(`[` + strings.Repeat(strings.Repeat("1,", 200)+"2 ,", 50) + "3]")
	if len(dst) != 10051 || s.calls < 50 {
		t.Fatalf("mostly clean: %d values, %d scanner calls", len(dst), s.calls)
	}
}

// With little room for its output, a scanner stops early, writes nothing past
// the room it has, and the values it wrote are the first ones.
func TestScanIntoRoom(t *testing.T) {
	text := []byte("[" + strings.Repeat("1,", 100) + strings.Repeat("1,22,333,", 30) + "4]\x00")
	_, want, _ := refScan(text, 1, nil)
	for lv := 1; lv <= simdLevel; lv++ {
		for room := 0; room <= 200; room++ {
			mem := bytes.Repeat([]byte{0xee}, room+64)
			p, n := scanInto(lv, text, 1, mem[:room:room])
			if n > room || !bytes.Equal(mem[:n], want[:n]) || p < 1 || p > 1 && text[p-1] != ',' {
				t.Fatalf("level %d, room %d: pos %d, %d values %v", lv, room, p, n, mem[:n])
			}
			if bytes.Count(mem[room:], []byte{0xee}) != 64 {
				t.Fatalf("level %d, room %d: wrote past its room", lv, room)
			}
			// scanDigits goes on from there to the same end
			gp, got, done := scanDigits(text, p, mem[:n:n])
			if !done || gp != len(text)-1 || !bytes.Equal(got, want) {
				t.Fatalf("level %d, room %d: then scanDigits: %d %v", lv, room, gp, done)
			}
		}
	}
}
