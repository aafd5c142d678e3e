/*
 * cdispatch.h — delivery of a manager's callbacks (events, and the compatible
 * API's results): serially, in the order they were posted, on a library
 * thread, never under the manager's lock. cdispatch.c states the design and
 * its invariants. Go posts fully built C items; delivering them needs no Go
 * runtime. Not installed.
 */
#ifndef SDSI_CDISPATCH_H
#define SDSI_CDISPATCH_H

#include <stdint.h>
#include "trampolines.h"

typedef struct sdsi_dispatcher sdsi_dispatcher;

/* Creates a dispatcher; NULL if out of memory. With caller_delivers, the
   calls bracketed by sdsi_call_begin/end deliver their own callbacks. */
sdsi_dispatcher *sdsi_dispatcher_new(int caller_delivers);

/* Bracket one API call (begin after taking the manager, end after releasing
   it: a callback may free it). If d delivers on the caller's thread and the
   thread is outside every callback and callout, what the thread posts to d
   in between is delivered by sdsi_call_end on this thread, in order, unless
   another thread is delivering d's callbacks (then they are, as always);
   otherwise both are no-ops. */
void sdsi_call_begin(sdsi_dispatcher *d);
void sdsi_call_end(sdsi_dispatcher *d);

/* Installs the handler events go to (each event uses the handler installed
   when its delivery starts). Returns 0, or a token if a callback of d was
   running on another thread: d then stays allocated until the caller passes
   the token to sdsi_await_callback, which waits for that callback to return.
   The wait is separate so that the caller can first release what a callback
   freeing the manager would wait for. */
uint64_t sdsi_set_event_cb(sdsi_dispatcher *d, libsds_event_cb cb, uintptr_t ud);
uint64_t sdsi_set_sds_event_cb(sdsi_dispatcher *d, SdsCallBack cb, uintptr_t ud);
void sdsi_await_callback(sdsi_dispatcher *d, uint64_t token);

/* Posting transfers ownership of the C memory passed and never blocks; if d
   is closed the memory is freed and the item dropped. */
void sdsi_post_event(sdsi_dispatcher *d, void *block, const libsds_event *ev);
void sdsi_post_sds_event(sdsi_dispatcher *d, char *json, size_t len);
/* A compatible-API result; keep != 0 means msg is malloc'd and joins the ring
   of the last SDSI_RING results, kept alive after their callbacks. */
void sdsi_post_sds_result(sdsi_dispatcher *d, SdsCallBack cb, uintptr_t ud, int ret, char *msg, size_t len, int keep);
#define SDSI_RING 64

/* Backpressure, called at the start of an API call (before the manager's
   lock): waits while LIBSDS_MAX_PENDING_EVENTS items are pending, unless
   waiting could deadlock (see cdispatch.c). Returns 0, or -1 if d is closing. */
int sdsi_wait_room(sdsi_dispatcher *d);

/* Marks d closing: sdsi_wait_room returns -1 from now on (waiters wake).
   With discard, what is queued and whatever is posted later is dropped. */
void sdsi_dispatcher_closing(sdsi_dispatcher *d, int discard);

/* Closes d: no more posts. Items held for a call's end are delivered here
   (on this thread if caller delivery allows it, else by the pool). Waits until no callback of d runs and the queue
   is empty (delivered, or dropped by discard), unless the caller is inside
   one of d's callbacks or the wait could deadlock (cdispatch.c); the caller
   must not use d again either way. */
void sdsi_dispatcher_close(sdsi_dispatcher *d);

#endif
