//go:build linux

package sqlite

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
)

// Open-file-description locks (Linux): a record lock owned by the open file
// description rather than the process, so closing another descriptor of the
// file does not drop it and SQLite's own (process-owned) locks are not
// disturbed. Each namespace locks one byte of the database file itself, far
// past SQLite's lock bytes and any data, which makes the namespace lock follow
// the file's identity: a process that reaches the same file by another path
// (a bind mount) finds the namespace held.
const (
	fOFDSetlk    = 37             // F_OFD_SETLK
	ofdLockBase  = int64(1) << 62 // far past SQLite's lock bytes (at 1 GiB)
	ofdLockRange = int64(1) << 48 // namespaces hash into this many bytes
)

// lockIdentity takes the namespace's byte of the database file, or fails with
// ErrNamespaceInUse if another open file description (another process) holds
// it. A file system without OFD locks is not an error: the lock file still
// excludes.
func (d *dbFile) lockIdentity(namespace string) error {
	err := d.ofd(namespace, syscall.F_WRLCK)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%w: another process holds it, through another path to the same database file", ErrNamespaceInUse)
	case errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOLCK) || errors.Is(err, syscall.EOPNOTSUPP) ||
		errors.Is(err, syscall.EOVERFLOW):
		return nil
	default:
		return fmt.Errorf("locking the namespace in the database file: %w", err)
	}
}

// unlockIdentity releases the namespace's byte.
func (d *dbFile) unlockIdentity(namespace string) { _ = d.ofd(namespace, syscall.F_UNLCK) }

func (d *dbFile) ofd(namespace string, typ int16) error {
	sum := sha256.Sum256([]byte(namespace))
	off := ofdLockBase + int64(binary.BigEndian.Uint64(sum[:8])%uint64(ofdLockRange))
	lk := syscall.Flock_t{Type: typ, Whence: 0, Start: off, Len: 1}
	for {
		err := syscall.FcntlFlock(d.f.Fd(), fOFDSetlk, &lk)
		if err != syscall.EINTR {
			return err
		}
	}
}
