//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// nsLock is the exclusive hold on one namespace of one database file: an
// flock(2) on the namespace's lock file. The kernel drops it when the file is
// closed or the process dies, whatever the way.
type nsLock struct {
	f    *os.File
	key  fileKey
	path string
}

// fileKey identifies a lock file by device and inode, so two paths to the
// same file (relative, via a symlinked directory) are the same lock.
type fileKey struct{ dev, ino uint64 }

// held are the lock files this process holds. flock already excludes a
// second open file description in the same process on local file systems;
// the table also covers file systems that emulate flock with per-process
// POSIX locks (NFS on Linux), where a second lock in one process would
// succeed.
var held = struct {
	sync.Mutex
	m map[fileKey]bool
}{m: make(map[fileKey]bool)}

// errStaleLock: the lock was taken on a file that is no longer at its path —
// its holder removed it on release after this opener had opened it.
var errStaleLock = errors.New("the lock file was replaced")

// maxLockAttempts bounds the retries after stale locks (each needs another
// Store to close the namespace between this one's open and its lock).
const maxLockAttempts = 100

// lockNamespace takes the lock file at path, creating it if needed. It fails
// with ErrNamespaceInUse when another Store, in this process or another, holds
// it.
func lockNamespace(path string) (*nsLock, error) {
	for attempt := 1; ; attempt++ {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("cannot create the namespace lock file: %w", err)
		}
		l, err := lockOpened(path, f)
		if !errors.Is(err, errStaleLock) {
			return l, err
		}
		if attempt == maxLockAttempts {
			return nil, fmt.Errorf("namespace lock file %s: %w %d times in a row", path, err, attempt)
		}
	}
}

// fileKeyOf identifies an open file or, with f nil, the file at path now.
func fileKeyOf(f *os.File, path string) (fileKey, error) {
	var st syscall.Stat_t
	var err error
	if f != nil {
		err = syscall.Fstat(int(f.Fd()), &st)
	} else {
		err = syscall.Stat(path, &st)
	}
	return fileKey{dev: uint64(st.Dev), ino: uint64(st.Ino)}, err
}

// lockOpened locks f, the lock file just opened at path, and takes ownership
// of f: it is closed on failure. errStaleLock means path names another file
// by the time the lock is held; the caller opens it again.
func lockOpened(path string, f *os.File) (*nsLock, error) {
	key, err := fileKeyOf(f, "")
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("namespace lock file %s: %w", path, err)
	}
	held.Lock()
	defer held.Unlock()
	if held.m[key] {
		f.Close()
		return nil, fmt.Errorf("%w: another Store in this process has it open (lock file %s)", ErrNamespaceInUse, path)
	}
	if err := flock(f); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EAGAIN) {
			return nil, fmt.Errorf("%w: another process holds it%s (lock file %s)", ErrNamespaceInUse, holder(path), path)
		}
		return nil, fmt.Errorf("cannot lock the namespace lock file %s: %w", path, err)
	}
	if now, err := fileKeyOf(nil, path); err != nil || now != key {
		f.Close()
		return nil, errStaleLock
	}
	// Record who holds the lock, for the error message of the next opener.
	// Best effort: the lock, not this content, is what excludes.
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	held.m[key] = true
	return &nsLock{f: f, key: key, path: path}, nil
}

func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			return err
		}
	}
}

// holder names the process recorded in the lock file, if any.
func holder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	pid := strings.TrimSpace(string(b))
	if _, err := strconv.Atoi(pid); err != nil {
		return ""
	}
	return " (pid " + pid + ")"
}

// release removes the lock file and drops the lock. The file goes first,
// while the lock is still held, so that an opener that opened it just before
// finds, once it holds the lock, that the file is no longer at its path, and
// takes the new one (lockOpened). A file that is no longer ours is left alone;
// a process that dies leaves its file, and the next Open reuses it.
func (l *nsLock) release() error {
	held.Lock()
	delete(held.m, l.key)
	held.Unlock()
	if now, err := fileKeyOf(nil, l.path); err == nil && now == l.key {
		_ = os.Remove(l.path) // best effort: a left file does no harm
	}
	return l.f.Close() // closing the only descriptor releases the flock
}
