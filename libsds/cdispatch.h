/*
 * cdispatch.h — one C thread per manager that delivers its callbacks (events,
 * and the compatible API's results) serially, in the order they were posted,
 * never on a caller's thread and never under the manager's lock. Go posts
 * fully built items; the thread needs no Go runtime to deliver them, so a
 * wake-up costs one OS thread wake-up (a goroutine woken from a C caller's
 * thread cost several times more on small VMs). Not installed.
 */
#ifndef LIBSDS_CDISPATCH_H
#define LIBSDS_CDISPATCH_H

#include <stdint.h>
#include "trampolines.h"

typedef struct sdsi_dispatcher sdsi_dispatcher;

/* Starts a dispatcher thread; NULL if out of memory or threads. */
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
   callback returned). Returns at once on the dispatcher thread itself. */
void sdsi_wait_delivered(sdsi_dispatcher *d, uint64_t ticket, int max_us);

/* Tells the thread a result will be posted shortly, so that it wakes now and
   stays awake (delivering the events posted meanwhile) until the result is
   posted or SDSI_EXPECT_SPIN_US pass without a post: waking a sleeping thread
   costs about as much as unwrapping a message on small VMs, and this overlaps
   the two. A hint only; posting works without it. */
void sdsi_expect(sdsi_dispatcher *d);

/* Non-zero on the dispatcher's own thread (inside one of its callbacks). */
int sdsi_in_dispatcher(sdsi_dispatcher *d);

/* Stops accepting posts and lets the thread finish: it delivers what is
   queued (or, with discard, drops it once the callback running returns) and
   exits. Outside the thread this waits for that and frees d; inside a callback
   it returns at once and the thread frees d when it exits. Either way the
   caller must not use d again. */
void sdsi_dispatcher_close(sdsi_dispatcher *d, int discard);

#endif
