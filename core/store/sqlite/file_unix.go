//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// dbFile is this process's hold on one database file, shared by every Store
// of the process that has the file open (one per namespace). It keeps one
// descriptor of the file open from the first Store's Open to the last Store's
// Close, for three reasons:
//
//   - identity: Begin compares the open file with what the path names now, so
//     a database deleted, renamed or replaced while open fails every later
//     operation instead of committing to a file nobody will open again;
//   - POSIX locks belong to a process and closing any descriptor of a file
//     drops all of the process's locks on it, including SQLite's. A
//     descriptor the Store opened and closed while another Store of the
//     process was inside a transaction would silently unlock the database
//     for other processes. The shared descriptor is closed only after every
//     connection of ours to the file is;
//   - on Linux, each open namespace holds a lock on a byte of the file through
//     it (lockIdentity), so the namespace lock follows the file, not the path.
type dbFile struct {
	f    *os.File
	key  fileKey
	refs int
	ns   map[string]bool // namespaces open on this file in this process
}

// dbFiles are the database files open in this process, by identity.
var dbFiles = struct {
	sync.Mutex
	m map[fileKey]*dbFile
}{m: make(map[fileKey]*dbFile)}

// acquireFile opens (creating it if needed) the database file at path for the
// namespace, or joins this process's hold on it. It refuses a file with more
// than one name (SQLite names its write-ahead log after the path, so two
// names would be two logs for one database, and the namespace lock, which is
// per name, would not exclude a process using the other name), a namespace
// already open on the same file in this process (under any path), and a file
// another part of this process, not a Store, already has open (the host's
// own SQLite, say: two SQLite copies in one process must never share a file,
// since each drops the other's POSIX locks).
func acquireFile(path, namespace string) (*dbFile, error) {
	dbFiles.Lock()
	defer dbFiles.Unlock()
	if key, err := fileKeyOf(nil, path); err == nil {
		if d, ok := dbFiles.m[key]; ok {
			if err := checkLinks(d.f); err != nil {
				return nil, err
			}
			if d.ns[namespace] {
				return nil, fmt.Errorf("%w: another Store in this process has it open (the same database file, perhaps under another path)", ErrNamespaceInUse)
			}
			if err := d.lockIdentity(namespace); err != nil {
				return nil, err
			}
			d.refs++
			d.ns[namespace] = true
			return d, nil
		}
		if fd, ok := openedElsewhere(key); ok {
			return nil, fmt.Errorf("%w: descriptor %d of this process already has the database file open, outside this library (a host must never open the library's database with its own SQLite)", ErrInUseInProcess, fd)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
			return nil, fmt.Errorf("%w: %v", ErrReadOnly, err)
		}
		return nil, err
	}
	key, err := fileKeyOf(f, "")
	if err == nil {
		err = checkLinks(f)
	}
	d := &dbFile{f: f, key: key, refs: 1, ns: map[string]bool{namespace: true}}
	if err == nil {
		err = d.lockIdentity(namespace)
	}
	if err != nil {
		// No Store of this process has this file open (it is not in dbFiles),
		// so closing the descriptor drops nobody's locks.
		f.Close()
		return nil, err
	}
	dbFiles.m[key] = d
	return d, nil
}

// checkLinks refuses a database file with several names (hard links).
func checkLinks(f *os.File) error {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Nlink > 1 {
		return fmt.Errorf("%w: the database file has %d names (hard links); SQLite keeps a write-ahead log per name and the namespace lock is per name, so a second name would let two writers in", ErrDatabaseLinked, st.Nlink)
	}
	return nil
}

// openedElsewhere looks for a descriptor of this process on the file key
// (Linux, through /proc/self/fd; elsewhere it finds nothing).
func openedElsewhere(key fileKey) (int, bool) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, false
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if k, err := fileKeyOf(nil, "/proc/self/fd/"+e.Name()); err == nil && k == key {
			return fd, true
		}
	}
	return 0, false
}

// release drops the namespace's share of the file; the last one closes the
// descriptor. Every connection of the Store must be closed before.
func (d *dbFile) release(namespace string) error {
	dbFiles.Lock()
	defer dbFiles.Unlock()
	d.unlockIdentity(namespace)
	delete(d.ns, namespace)
	d.refs--
	if d.refs > 0 {
		return nil
	}
	delete(dbFiles.m, d.key)
	return d.f.Close()
}

// check tells whether the path still names the open file and the file still
// has exactly one name: two system calls, made before each write transaction.
func (d *dbFile) check(path string) error {
	now, err := fileKeyOf(nil, path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: the database file was deleted or renamed", ErrDatabaseGone)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrDatabaseGone, err)
	}
	if now != d.key {
		return fmt.Errorf("%w: another file replaced the database at its path", ErrDatabaseGone)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(d.f.Fd()), &st); err != nil {
		return fmt.Errorf("%w: %v", ErrDatabaseGone, err)
	}
	if st.Nlink == 0 { // the path may name it still on file systems that reuse inodes
		return fmt.Errorf("%w: the database file was deleted", ErrDatabaseGone)
	}
	if st.Nlink > 1 {
		return fmt.Errorf("%w: the database file was given another name (hard link) while open", ErrDatabaseLinked)
	}
	return nil
}
