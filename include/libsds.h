/*
 * libsds.h — the name nim-sds's header is installed under. Code written
 * `#include <libsds.h>` for nim-sds compiles unchanged against this library:
 * it declares the nine Sds* functions (via sds.h) and the entry points nim-sds
 * builds also export, which are harmless no-ops here.
 */
#ifndef LIBSDS_LIBSDS_H
#define LIBSDS_LIBSDS_H

#include "sds.h"

#ifdef __cplusplus
extern "C" {
#endif

/** No-op: nim-sds's Nim runtime initializer (--nimMainPrefix:libsds). Nothing to initialize here. */
LIBSDS_API void libsdsNimMain(void);
/** No-op: nim-sds calls it from every entry point; kept for programs that call it themselves. */
LIBSDS_API void initializeLibrary(void);
/** No-op: nim-sds's global destructor hook, listed in some consumers' .def files. */
LIBSDS_API void libsdsNimDestroyGlobals(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBSDS_LIBSDS_H */
