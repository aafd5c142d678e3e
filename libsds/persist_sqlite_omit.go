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

// openSQLite answers LIBSDS_ERR_UNSUPPORTED in a build without SQLite.
func openSQLite(path, namespace string, durability C.uint32_t) (store.Store, io.Closer, error) {
	return nil, nil, fmt.Errorf("%w: this libsds was built without the SQLite store", errUnsupported)
}
