/* cdispatch.c — see cdispatch.h.
 *
 * Design
 * ------
 * One mutex, `lk`, guards all the state in this file: every dispatcher's
 * queue and flags, the run queue and the pool counters. It is held only for
 * list and counter updates, never while a host callback runs.
 *
 * - A dispatcher (one per manager) has a FIFO of C-allocated items and a
 *   state: IDLE (not in the run queue, no thread delivering), READY (in the
 *   run queue) or RUNNING (one worker is delivering its items).
 * - Posting appends an item; an IDLE dispatcher becomes READY and joins the
 *   process-wide run queue.
 * - Worker threads take the first READY dispatcher, mark it RUNNING, and
 *   deliver its items in order, dropping `lk` around each callback; when the
 *   queue is empty it goes back to IDLE.
 * - The pool: a dispatcher made READY wakes a sleeping worker; if none sleeps
 *   and every worker holds a dispatcher, a worker is added. A worker that
 *   sleeps SDSI_IDLE_EXIT_S without work exits; an idle process has none.
 *   Nothing spins; every timed wait uses CLOCK_MONOTONIC.
 * - Caller delivery (dispatchers made with caller_delivers: the compatible
 *   APIs'): between sdsi_call_begin and sdsi_call_end, what the calling
 *   thread posts to an IDLE dispatcher stays queued with the dispatcher IDLE
 *   (`held`) instead of waking a worker; sdsi_call_end then runs the
 *   dispatcher on the calling thread, as a worker would, for the items queued
 *   at that moment, and hands anything posted meanwhile to the pool. So a
 *   call's result and events cost no thread hand-off. Any post by another
 *   thread, and sdsi_dispatcher_close, hand held items to the pool (close
 *   delivers them itself if its own thread holds them), so nothing waits on
 *   a call that has returned and no thread delivers another's held items.
 *   Only a thread outside every callback and callout delivers this way;
 *   LIBSDS_CALLER_DELIVERS=0 in the environment turns it off.
 * - Backpressure: sdsi_wait_room blocks on the dispatcher's condition
 *   variable while LIBSDS_MAX_PENDING_EVENTS items are queued (subject to I3);
 *   every returning callback and sdsi_dispatcher_closing wake it. Posting
 *   never blocks: it runs under the manager's lock.
 *
 * Invariants (all under lk)
 * - I1: a dispatcher is in the run queue iff its state is READY; at most one
 *   worker has it RUNNING. So one manager's callbacks never overlap and keep
 *   the posting order; another manager's never wait behind them for longer
 *   than it takes to add a worker.
 * - I2: a READY or RUNNING dispatcher holds one reference, each waiter holds
 *   one, and its owner holds one until sdsi_dispatcher_close; the last
 *   reference frees it. So a worker, or a thread waiting on it, never sees it
 *   freed.
 * - I3: `waiting_for` of a RUNNING dispatcher X is set while X's callback
 *   (on X's worker) waits on dispatcher Y. A thread inside X's callback waits
 *   on Y only if following waiting_for from Y does not reach X: a cycle of
 *   callbacks waiting on each other is refused (the would-be last waiter does
 *   not wait) instead of hanging. Threads that are not inside a callback can
 *   close no such cycle through this file. A thread inside a hint provider or
 *   persistence method (holding some manager's lock) never waits here.
 * - I4: a closed dispatcher accepts no posts. Closing with discard frees the
 *   queue at once and drops later posts; the callback running, if any, is
 *   the last.
 * - I5: items are queued with the dispatcher IDLE only while `held` by one
 *   thread (`holder`): from that thread's first post between sdsi_call_begin
 *   and sdsi_call_end until the first of that call's end, a post by another
 *   thread, or the close. Each of those leaves the dispatcher READY, RUNNING
 *   or empty, and only the holder delivers held items itself.
 *
 * What "no callback after free" means: sdsi_dispatcher_close returns once no
 * callback of d runs and none will start, except when the caller is inside one
 * of d's callbacks (that callback is the last, and returns after the close)
 * or may not wait (I3: a cycle, or inside a hint provider or persistence
 * method): then the callback running on another thread is the last, and it
 * may still be running when close returns.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "cdispatch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

enum { ITEM_EVENT, ITEM_SDS_EVENT, ITEM_SDS_RESULT };

typedef struct sdsi_item {
  struct sdsi_item *next;
  int kind;
  void *block;            /* ITEM_EVENT: the C block holding ev; freed after */
  const libsds_event *ev; /* ITEM_EVENT */
  SdsCallBack cb;         /* ITEM_SDS_RESULT */
  uintptr_t ud;           /* ITEM_SDS_RESULT */
  int ret;                /* ITEM_SDS_RESULT */
  char *msg;              /* ITEM_SDS_EVENT, ITEM_SDS_RESULT */
  size_t len;
  int keep; /* ITEM_SDS_RESULT: msg joins the ring */
} sdsi_item;

enum { D_IDLE, D_READY, D_RUNNING };

/* Where a dispatcher's events go (set by the host at any time). */
typedef struct {
  libsds_event_cb ev_cb; /* native events */
  uintptr_t ev_ud;
  SdsCallBack sds_cb; /* compatible-API events */
  uintptr_t sds_ud;
} sdsi_handlers;

struct sdsi_dispatcher {
  pthread_cond_t changed; /* a callback returned, room appeared, state or flags changed */
  sdsi_item *head, *tail;
  size_t count; /* items queued */
  int state;    /* D_* */
  int refs;     /* I2 */
  int closing;  /* sdsi_wait_room fails */
  int closed;   /* posts are dropped */
  int discard;  /* closed with discard: the worker delivers nothing more */
  int in_cb;    /* a callback of d runs now */
  uint64_t cb_done; /* callbacks of d that have returned */
  int waiters;      /* threads blocked on changed */
  int caller_delivers; /* sdsi_call_begin/end may deliver on the caller's thread */
  int held;            /* I5: items queued while IDLE, for the holder to deliver */
  const void *holder;  /* the thread holding them: its &holding_for */
  struct sdsi_dispatcher *waiting_for; /* I3 */
  struct sdsi_dispatcher *next_ready;
  sdsi_handlers handlers;
  char *ring[SDSI_RING]; /* the last results, alive after their callbacks (worker only) */
  int ring_next;
};

/* How long a worker with nothing to do waits before exiting. */
#define SDSI_IDLE_EXIT_S 2

static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;

static struct {
  pthread_cond_t work; /* a dispatcher became READY */
  sdsi_dispatcher *ready_head, *ready_tail;
  int workers;  /* threads alive */
  int holding;  /* workers with a dispatcher RUNNING */
  int sleeping; /* workers blocked on work */
} pool;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_condattr_t monotonic; /* for every condition variable here */
static int caller_delivery_off;      /* LIBSDS_CALLER_DELIVERS=0 */

static void init(void) {
  pthread_condattr_init(&monotonic);
  pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
  pthread_cond_init(&pool.work, &monotonic);
  const char *env = getenv("LIBSDS_CALLER_DELIVERS");
  caller_delivery_off = env && env[0] == '0' && env[1] == 0;
}

/* The dispatcher whose callback the calling thread is running, or NULL. */
static __thread sdsi_dispatcher *current;
/* The dispatcher whose posts the calling thread holds back (caller delivery). */
static __thread sdsi_dispatcher *holding_for;

static void item_free(sdsi_item *it) {
  if (it->kind == ITEM_EVENT) free(it->block);
  else if (it->kind == ITEM_SDS_EVENT || it->keep) free(it->msg);
  free(it);
}

static void drop_queue(sdsi_dispatcher *d) {
  sdsi_item *it = d->head;
  while (it) {
    sdsi_item *next = it->next;
    item_free(it);
    it = next;
  }
  d->head = d->tail = NULL;
  d->count = 0;
}

/* Drops a reference (I2); the last one frees d. lk held. */
static void unref(sdsi_dispatcher *d) {
  if (--d->refs > 0) return;
  for (int i = 0; i < SDSI_RING; i++) free(d->ring[i]);
  drop_queue(d);
  pthread_cond_destroy(&d->changed);
  free(d);
}

/* Non-zero if the calling thread may block until d changes (I3). lk held. */
static int may_wait_on(sdsi_dispatcher *d) {
  if (sdsi_callout_depth > 0) return 0; /* some manager's lock is held */
  if (!current) return 1;
  for (sdsi_dispatcher *z = d; z; z = z->waiting_for) {
    if (z == current) return 0;
    if (z->state != D_RUNNING) break;
  }
  return 1;
}

/* Blocks on d->changed once; the caller re-checks its condition. lk held,
   may_wait_on(d) true. */
static void wait_changed(sdsi_dispatcher *d) {
  if (current) current->waiting_for = d;
  d->waiters++;
  d->refs++;
  pthread_cond_wait(&d->changed, &lk);
  d->waiters--;
  d->refs--; /* never the last: the caller holds one or is the owner */
  if (current) current->waiting_for = NULL;
}

static void notify(sdsi_dispatcher *d) {
  if (d->waiters) pthread_cond_broadcast(&d->changed);
}

/* ---- the pool ---- */

static void *worker_main(void *arg);

/* Makes sure some worker will take the run queue's head soon. lk held. */
static void kick(void) {
  if (pool.sleeping > 0) {
    pthread_cond_signal(&pool.work);
    return;
  }
  if (pool.holding < pool.workers) return; /* one is between dispatchers and will look */
  pthread_attr_t attr;
  pthread_t t;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  /* If this fails the dispatcher waits for a worker to come back or for the
     next post to try again. */
  if (pthread_create(&t, &attr, worker_main, NULL) == 0) pool.workers++;
  pthread_attr_destroy(&attr);
}

static void make_ready(sdsi_dispatcher *d) {
  d->state = D_READY;
  d->refs++;
  d->next_ready = NULL;
  if (pool.ready_tail) pool.ready_tail->next_ready = d;
  else pool.ready_head = d;
  pool.ready_tail = d;
  kick();
}

/* Calls the host for one item, lk not held, with the handlers read when the
   item was taken off the queue. */
static void deliver(sdsi_dispatcher *d, sdsi_item *it, const sdsi_handlers *h) {
  switch (it->kind) {
  case ITEM_EVENT:
    if (h->ev_cb) h->ev_cb(it->ev, (void *)h->ev_ud);
    break;
  case ITEM_SDS_EVENT:
    if (h->sds_cb) h->sds_cb(RET_OK, it->msg, it->len, (void *)h->sds_ud);
    break;
  case ITEM_SDS_RESULT:
    it->cb(it->ret, it->msg, it->len, (void *)it->ud);
    if (it->keep) { /* the buffer outlives its callback: it joins the ring */
      free(d->ring[d->ring_next]);
      d->ring[d->ring_next] = it->msg;
      d->ring_next = (d->ring_next + 1) % SDSI_RING;
      it->keep = 0;
    }
    break;
  }
}

/* Delivers up to limit items of d's queue in order, then gives d back to
   the pool if items remain. Takes over the READY/RUNNING reference. lk held
   on entry and exit. */
static void run(sdsi_dispatcher *d, size_t limit) {
  d->state = D_RUNNING;
  d->held = 0;
  d->holder = NULL;
  current = d;
  sdsi_item *it;
  for (; limit > 0 && (it = d->head) != NULL && !d->discard; limit--) {
    d->head = it->next;
    if (!d->head) d->tail = NULL;
    d->count--;
    sdsi_handlers h = d->handlers;
    d->in_cb = 1;
    pthread_mutex_unlock(&lk);
    deliver(d, it, &h);
    item_free(it);
    pthread_mutex_lock(&lk);
    d->in_cb = 0;
    d->cb_done++;
    notify(d);
  }
  current = NULL;
  d->state = D_IDLE;
  if (d->head && !d->discard) make_ready(d); /* posted meanwhile, beyond limit */
  notify(d);
  unref(d); /* the READY/RUNNING reference */
}

/* Non-zero if the calling thread may deliver d's callbacks itself: d asks
   for it, and the thread runs no callback (whose manager would wait behind
   d's) and holds no manager's lock (a callout). */
static int may_deliver_here(sdsi_dispatcher *d) {
  return d->caller_delivers && !caller_delivery_off && !current && sdsi_callout_depth == 0;
}

/* Delivers d's queued items on the calling thread (may_deliver_here(d),
   d IDLE with items). lk held. */
static void run_here(sdsi_dispatcher *d) {
  d->refs++; /* the RUNNING reference, which run drops */
  run(d, d->count);
}

static void *worker_main(void *arg) {
  (void)arg;
#if defined(__linux__)
  pthread_setname_np(pthread_self(), "libsds-deliver");
#elif defined(__APPLE__)
  pthread_setname_np("libsds-deliver");
#endif
  pthread_mutex_lock(&lk);
  for (;;) {
    if (!pool.ready_head) {
      struct timespec deadline;
      clock_gettime(CLOCK_MONOTONIC, &deadline);
      deadline.tv_sec += SDSI_IDLE_EXIT_S;
      int rc = 0;
      pool.sleeping++;
      while (!pool.ready_head && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&pool.work, &lk, &deadline);
      pool.sleeping--;
      if (!pool.ready_head) break;
    }
    sdsi_dispatcher *d = pool.ready_head;
    pool.ready_head = d->next_ready;
    if (!pool.ready_head) pool.ready_tail = NULL;
    pool.holding++;
    if (pool.ready_head) kick(); /* more work than this worker */
    run(d, SIZE_MAX);
    pool.holding--;
  }
  pool.workers--;
  pthread_mutex_unlock(&lk);
  return NULL;
}

/* ---- dispatchers ---- */

sdsi_dispatcher *sdsi_dispatcher_new(int caller_delivers) {
  pthread_once(&init_once, init);
  sdsi_dispatcher *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  pthread_cond_init(&d->changed, &monotonic);
  d->refs = 1;
  d->caller_delivers = caller_delivers;
  return d;
}

void sdsi_call_begin(sdsi_dispatcher *d) {
  pthread_mutex_lock(&lk);
  if (may_deliver_here(d) && !holding_for) {
    holding_for = d;
    d->refs++; /* until sdsi_call_end: the call's manager may be freed before */
  }
  pthread_mutex_unlock(&lk);
}

void sdsi_call_end(sdsi_dispatcher *d) {
  if (holding_for != d) return;
  pthread_mutex_lock(&lk);
  holding_for = NULL;
  if (d->state == D_IDLE && d->head && d->held && d->holder == &holding_for && !d->discard) run_here(d);
  unref(d);
  pthread_mutex_unlock(&lk);
}

/* Installs the native (or else the compatible) event handler. */
static uint64_t set_handler(sdsi_dispatcher *d, int native, libsds_event_cb ev_cb, SdsCallBack sds_cb, uintptr_t ud) {
  pthread_mutex_lock(&lk);
  if (native) {
    d->handlers.ev_cb = ev_cb;
    d->handlers.ev_ud = ud;
  } else {
    d->handlers.sds_cb = sds_cb;
    d->handlers.sds_ud = ud;
  }
  uint64_t token = 0;
  if (d->in_cb && current != d) {
    token = d->cb_done + 1; /* the callback running now is number cb_done + 1 */
    d->refs++;
  }
  pthread_mutex_unlock(&lk);
  return token;
}

uint64_t sdsi_set_event_cb(sdsi_dispatcher *d, libsds_event_cb cb, uintptr_t ud) {
  return set_handler(d, 1, cb, NULL, ud);
}

uint64_t sdsi_set_sds_event_cb(sdsi_dispatcher *d, SdsCallBack cb, uintptr_t ud) {
  return set_handler(d, 0, NULL, cb, ud);
}

void sdsi_await_callback(sdsi_dispatcher *d, uint64_t token) {
  if (token == 0) return;
  pthread_mutex_lock(&lk);
  while (d->cb_done < token && may_wait_on(d)) wait_changed(d);
  unref(d); /* the reference set_handlers took */
  pthread_mutex_unlock(&lk);
}

static void post(sdsi_dispatcher *d, sdsi_item *it) {
  pthread_mutex_lock(&lk);
  if (d->closed || d->discard) {
    pthread_mutex_unlock(&lk);
    item_free(it);
    return;
  }
  if (d->tail) d->tail->next = it;
  else d->head = it;
  d->tail = it;
  d->count++;
  if (d->state == D_IDLE) {
    if (holding_for == d && (!d->held || d->holder == &holding_for)) {
      d->held = 1; /* sdsi_call_end delivers it (I5) */
      d->holder = &holding_for;
    } else {
      make_ready(d); /* not held, or held by another thread: the pool's */
    }
  }
  pthread_mutex_unlock(&lk);
}

static sdsi_item *item_new(int kind) {
  sdsi_item *it = calloc(1, sizeof *it);
  if (!it) abort(); /* as Go's allocator does when memory runs out */
  it->kind = kind;
  return it;
}

void sdsi_post_event(sdsi_dispatcher *d, void *block, const libsds_event *ev) {
  sdsi_item *it = item_new(ITEM_EVENT);
  it->block = block;
  it->ev = ev;
  post(d, it);
}

void sdsi_post_sds_event(sdsi_dispatcher *d, char *json, size_t len) {
  sdsi_item *it = item_new(ITEM_SDS_EVENT);
  it->msg = json;
  it->len = len;
  post(d, it);
}

void sdsi_post_sds_result(sdsi_dispatcher *d, SdsCallBack cb, uintptr_t ud, int ret, char *msg, size_t len, int keep) {
  sdsi_item *it = item_new(ITEM_SDS_RESULT);
  it->cb = cb;
  it->ud = ud;
  it->ret = ret;
  it->msg = msg;
  it->len = len;
  it->keep = keep;
  post(d, it);
}

int sdsi_wait_room(sdsi_dispatcher *d) {
  pthread_mutex_lock(&lk);
  while (!d->closing && d->count >= LIBSDS_MAX_PENDING_EVENTS && may_wait_on(d)) wait_changed(d);
  int rc = d->closing ? -1 : 0;
  pthread_mutex_unlock(&lk);
  return rc;
}

void sdsi_dispatcher_closing(sdsi_dispatcher *d, int discard) {
  pthread_mutex_lock(&lk);
  d->closing = 1;
  if (discard) {
    d->discard = 1;
    drop_queue(d);
  }
  notify(d);
  pthread_mutex_unlock(&lk);
}

void sdsi_dispatcher_close(sdsi_dispatcher *d) {
  pthread_mutex_lock(&lk);
  d->closing = d->closed = 1;
  notify(d);
  if (d->state == D_IDLE && d->head && !d->discard) { /* held items (I5) */
    if (d->holder == &holding_for && may_deliver_here(d)) run_here(d);
    else make_ready(d); /* another thread's: not delivered on this one */
  }
  while (d->state != D_IDLE && current != d && may_wait_on(d)) wait_changed(d);
  unref(d); /* the owner's reference */
  pthread_mutex_unlock(&lk);
}
