/*
 * ctest.h — C test bodies for package libsds's Go tests (see ctest.go). Each
 * body calls only the public functions of sds.h, returns 0 on success, and on
 * failure returns 1 with what failed in err. Not installed.
 */
#ifndef LIBSDS_CTEST_H
#define LIBSDS_CTEST_H

#include <stddef.h>

/* Creates and frees cycles native managers (each wraps a message) and
   cycles compatible ones (each waits for its cleanup callback). */
int ct_create_free(int cycles, char *err, size_t errlen);

/* Starts threads threads over managers managers: thread i wraps msgs messages
   on its own channel with manager i % managers and unwraps each into manager
   (i + 1) % managers. Then checks, behind a fence, that every manager saw
   exactly one MESSAGE_READY per message unwrapped into it. */
int ct_concurrent_wrap_unwrap(int managers, int threads, int msgs, char *err, size_t errlen);

/* Out-of-order delivery: MISSING_DEPENDENCIES for early arrivals, then
   MESSAGE_READY in causal order, and, behind a fence, nothing else. */
int ct_events_in_order(char *err, size_t errlen);

/* The compatible API end to end: new, wrap, unwrap (message_ready event),
   mark dependencies met, reset, start periodic tasks, cleanup. */
int ct_compat_calls(char *err, size_t errlen);

/* A host store: list_channels and load_all_for_channel hand data to a loader
   at creation and on first use; destroy runs once, at free. */
int ct_host_store_loaders(char *err, size_t errlen);

/* Periodic tasks started and stopped on several managers, then freed while
   running. */
int ct_start_stop_free(int managers, char *err, size_t errlen);

#endif
