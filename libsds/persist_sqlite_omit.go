//go:build libsds_nosqlite

package main

/*
#include "trampolines.h"
*/
import "C"

import (
	"fmt"
	"io"

	"github.com/logos-messaging/libsds-go/core/store"
)

// openSQLite answers LIBSDS_ERR_UNSUPPORTED in a build without SQLite (make
// SQLITE=none).
func openSQLite(path, namespace string, durability C.uint32_t) (store.Store, io.Closer, error) {
	return nil, nil, fmt.Errorf("%w: the SQLite store was left out of this libsds (built with SQLITE=none)", errUnsupported)
}
