package engine_test

import (
	"testing"

	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
)

// restartSeeds exercise every operation of RunRestartProgram.
var restartSeeds = [][]byte{
	{0, 0, 1, 1, 3, 0, 8, 0},
	{1, 0, 1, 8, 2, 3, 3, 1, 3, 0, 7, 200, 8, 0, 3, 2, 8, 1},
	{0, 1, 0, 1, 5, 0, 1, 0, 7, 130, 8, 0, 0, 9, 3, 0, 8, 0},
	{1, 0, 1, 0, 1, 0, 4, 1, 4, 2, 6, 1, 3, 2, 9, 0, 8, 0, 9, 3, 8, 0},
	{1, 3, 2, 3, 1, 3, 3, 1, 3, 2, 0, 3, 7, 80, 7, 255, 0, 3, 8, 0, 3, 0, 8, 0},
}

// FuzzManagerRestart runs random operation programs on a manager whose state
// is in a memory store: a restart must reproduce memory exactly, and no message
// may be delivered twice (see enginetest.RunRestartProgram).
func FuzzManagerRestart(f *testing.F) {
	for _, s := range restartSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		et.RunRestartProgram(t, data, memstore.New(), func(s store.Store) store.Store { return s })
	})
}
