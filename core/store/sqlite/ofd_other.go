//go:build !linux

package sqlite

// Without open-file-description locks the namespace lock is the lock file
// alone (next to the database path) and one name per database file.
func (d *dbFile) lockIdentity(string) error { return nil }

func (d *dbFile) unlockIdentity(string) {}
