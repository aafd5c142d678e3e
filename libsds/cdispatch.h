/*
 * cdispatch.h — a dispatcher per manager delivers its callbacks (events, and
 * the compatible API's results) serially, in the order they were posted, never
 * on a caller's thread and never under the manager's lock. Dispatchers are
 * run by a process-wide pool of C worker threads, one worker per dispatcher at
 * a time (cdispatch.c says why). Go posts fully built items; delivering them
 * needs no Go runtime. Not installed.
 */
#ifndef LIBSDS_CDISPATCH_H
#define LIBSDS_CDISPATCH_H

#include <stdint.h>
#include "trampolines.h"

typedef struct sdsi_dispatcher sdsi_dispatcher;

/* Creates a dispatcher (starting the pool's first worker if there is none);
   NULL if out of memory or threads. */
sdsi_dispatcher *sdsi_dispatcher_start(void);

/* The handlers events go to, read when each event is delivered. */
void sdsi_set_event_cb(sdsi_dispatcher *d, libsds_event_cb cb, uintptr_t ud);
void sdsi_set_sds_event_cb(sdsi_dispatcher *d, SdsCallBack cb, uintptr_t ud);

/* Posting transfers ownership of the C memory passed; each returns the item's
   ticket, or 0 if the dispatcher is closed (the memory is then freed). */
uint64_t sdsi_post_event(sdsi_dispatcher *d, void *block, const libsds_event *ev);
uint64_t sdsi_post_sds_event(sdsi_dispatcher *d, char *json, size_t len);
/* A compatible-API result; keep != 0 means msg is malloc'd and joins the ring of
   the last SDSI_RING results kept alive after their callback. */
uint64_t sdsi_post_sds_result(sdsi_dispatcher *d, SdsCallBack cb, uintptr_t ud, int ret, char *msg, size_t len,
                              int keep);
#define SDSI_RING 64

/* Waits up to max_us for the item with this ticket to have been delivered (its
   callback returned). Returns at once inside one of d's own callbacks. */
void sdsi_wait_delivered(sdsi_dispatcher *d, uint64_t ticket, int max_us);

/* Posts to d between begin and the matching end are handed to the pool
   together at the end, instead of one by one as they come: a call's events and
   its result then cost one hand-over to a worker, and the worker does not
   contend with the caller for d's queue while the call runs. Batches may nest
   and overlap (a counter); a strand already running keeps delivering. */
void sdsi_batch_begin(sdsi_dispatcher *d);
void sdsi_batch_end(sdsi_dispatcher *d);

/* Tells the pool a post is coming shortly: if no worker is awake, one wakes
   now and waits awake for it, so that the wake-up overlaps the caller's work
   (waking a sleeping thread costs about as much as unwrapping a message on
   small VMs). A hint only; posting works without it. */
void sdsi_expect(void);

/* Non-zero inside one of d's callbacks (on the worker running d). */
int sdsi_in_dispatcher(sdsi_dispatcher *d);

/* Stops accepting posts and lets d finish: what is queued is delivered (or,
   with discard, dropped once the callback running returns). Outside d's
   callbacks this waits for that and frees d; inside one it returns at once
   and the worker frees d when the queue is done. Either way the caller must
   not use d again. */
void sdsi_dispatcher_close(sdsi_dispatcher *d, int discard);

#endif
