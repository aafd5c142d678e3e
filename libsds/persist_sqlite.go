//go:build !libsds_nosqlite

package main

/*
#include "trampolines.h"
*/
import "C"

import (
	"fmt"
	"io"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/sqlite"
)

// openSQLite opens the bundled SQLite store (or the platform's, built with
// SQLITE=system) for LIBSDS_STORE_SQLITE.
func openSQLite(path, namespace string, durability C.uint32_t) (store.Store, io.Closer, error) {
	if path == "" {
		return nil, nil, fmt.Errorf("%w: store_kind SQLITE needs sqlite_path", errInvalidArg)
	}
	var d sqlite.Durability
	switch durability {
	case C.LIBSDS_DURABILITY_NORMAL:
		d = sqlite.DurabilityNormal
	case C.LIBSDS_DURABILITY_FULL:
		d = sqlite.DurabilityFull
	default:
		return nil, nil, fmt.Errorf("%w: unknown sqlite_durability %d", errInvalidArg, durability)
	}
	s, err := sqlite.Open(path, sqlite.Options{Namespace: namespace, Durability: d})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", engine.ErrStore, err)
	}
	return s, s, nil
}
