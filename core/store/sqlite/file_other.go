//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlite

type dbFile struct{}

// acquireFile is never reached: lockNamespace refuses first on these systems.
func acquireFile(string, string) (*dbFile, error) { return &dbFile{}, nil }

func (*dbFile) release(string) error { return nil }

func (*dbFile) check(string) error { return nil }
