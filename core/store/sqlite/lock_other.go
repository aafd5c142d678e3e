//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlite

import (
	"errors"
	"runtime"
)

type nsLock struct{}

// lockNamespace refuses: without a lock that the operating system releases
// when a process dies, two managers could share a namespace and corrupt each
// other's state, which is worse than not opening.
func lockNamespace(string) (*nsLock, error) {
	return nil, errors.New("namespace locking is not implemented on " + runtime.GOOS)
}

func (*nsLock) release() error { return nil }
