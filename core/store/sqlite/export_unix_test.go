//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlite

import "os"

// LockOpened locks an already opened lock file as Open does after opening it,
// then releases it; ErrStaleLock is its answer for a file no longer at path.
func LockOpened(path string, f *os.File) error {
	l, err := lockOpened(path, f)
	if err == nil {
		return l.release()
	}
	return err
}

// ErrStaleLock is lockOpened's answer for a file removed from its path.
var ErrStaleLock = errStaleLock
