//go:build !unix

package nimcompat04

// guarded copies text (no guard page on this system).
func guarded(text []byte) []byte { return append([]byte(nil), text...) }
