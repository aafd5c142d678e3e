//go:build !cgo || !(amd64 || arm64) || purego

package nimcompat04

// simdLevel is 0: no block scanner in this build; scanDigits does all the work.
const simdLevel = 0

// scanBlocks takes nothing: there is no block scanner in this build.
func scanBlocks(level int, buf []byte, pos int, dst []byte) (int, []byte) { return pos, dst }

// scanInto takes nothing: there is no block scanner in this build.
func scanInto(level int, buf []byte, pos int, out []byte) (int, int) { return pos, 0 }
