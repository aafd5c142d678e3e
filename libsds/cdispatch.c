/* cdispatch.c — see cdispatch.h.
 *
 * Each dispatcher is a strand: a FIFO of items and a state (idle, ready,
 * running). A process-wide pool of worker threads runs the ready strands; a
 * strand is run by one worker at a time, which delivers its items in order, so
 * a manager's callbacks are serial and ordered whichever worker runs them.
 *
 * Why a shared pool rather than a thread per manager: handing an item to a
 * sleeping thread costs the poster a futex wake-up (~9 us on small VMs) and the
 * item waits ~15-20 us more for the thread to run. A worker that has just
 * finished stays awake for a short while (spinning, SDSI_LINGER_US) and takes
 * whichever strand becomes ready next, so a host that calls several managers
 * in turn finds an awake worker — which a thread per manager cannot give
 * without one spinning thread per manager. Only one worker spins at a time.
 *
 * The pool grows when every worker is inside a callback and a strand is
 * ready (a callback blocked on one manager never stalls another), and workers
 * idle for SDSI_IDLE_EXIT_S seconds exit, down to one.
 *
 * Spinning only pays with a second CPU to spin on. In a process confined to
 * one CPU workers never linger (the spinner would hold the CPU the caller
 * needs: 340 us per compatible call), and a caller waiting for its result
 * yields the CPU to the worker instead of spinning (unwrap 35-37 us there,
 * against 50-60 spinning and 62-68 going to sleep at once).
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "cdispatch.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

enum { ITEM_EVENT, ITEM_SDS_EVENT, ITEM_SDS_RESULT };

typedef struct sdsi_item {
  struct sdsi_item *next;
  int kind;
  uint64_t ticket;
  void *block;             /* ITEM_EVENT: the C block holding ev; freed after */
  const libsds_event *ev;  /* ITEM_EVENT */
  SdsCallBack cb;          /* ITEM_SDS_RESULT */
  uintptr_t ud;            /* ITEM_SDS_RESULT */
  int ret;                 /* ITEM_SDS_RESULT */
  char *msg;               /* ITEM_SDS_EVENT, ITEM_SDS_RESULT */
  size_t len;
  int keep;                /* ITEM_SDS_RESULT: msg joins the ring */
} sdsi_item;

enum { STRAND_IDLE, STRAND_READY, STRAND_RUNNING };

/* Where a dispatcher's events go (set by the host at any time). */
typedef struct {
  libsds_event_cb ev_cb; /* native events */
  uintptr_t ev_ud;
  SdsCallBack sds_cb; /* compatible-API events */
  uintptr_t sds_ud;
} sdsi_handlers;

struct sdsi_dispatcher {
  pthread_mutex_t mu;       /* guards everything below but the atomics */
  pthread_cond_t delivered; /* delivered_ticket advanced, or the strand went idle */
  sdsi_item *head, *tail;
  int state;                /* STRAND_*; a READY strand is in the pool's ready list */
  int closed, discard;
  int detached;             /* closed from inside a callback: the worker frees it */
  int waiters;              /* threads blocked on delivered */
  int batches;              /* open sdsi_batch_begin calls: posts wait for the last end */
  uint64_t next_ticket;
  uint64_t delivered_ticket; /* atomic: every ticket <= it has been delivered */
  sdsi_handlers handlers;
  char *ring[SDSI_RING]; /* the last results, alive after their callbacks */
  int ring_next;
  struct sdsi_dispatcher *next_ready;
};

/* How long a worker with nothing to do stays awake for the next strand, unless
   the environment variable LIBSDS_DISPATCH_LINGER_US says otherwise (0: never
   spin; sleep at once). 200 us covers a host's own work between two calls. */
#define SDSI_LINGER_US 200
#define SDSI_LINGER_MAX_US 100000
/* How long a sleeping worker waits before exiting (the last one stays):
   extra workers exist only while callbacks block, so they go soon after. */
#define SDSI_IDLE_EXIT_S 2

static struct {
  pthread_mutex_t mu;
  pthread_cond_t work; /* a strand is ready, or a poster wants a spinner */
  sdsi_dispatcher *ready_head, *ready_tail;
  int workers;         /* threads alive */
  int running;         /* workers inside a strand */
  int sleeping;        /* workers blocked on work */
  int spinning;        /* atomic: 1 while a worker spins for the next strand */
  uint64_t ready_seq;  /* atomic: bumped whenever a strand is made ready */
  long linger_us;      /* set once, before the first worker starts */
  int one_cpu;         /* set once: the process may run on one CPU only */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, 0, 0, 0, SDSI_LINGER_US, 0};

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

/* The number of CPUs this thread may run on. */
static int usable_cpus(void) {
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

static void pool_configure(void) {
  pool.one_cpu = usable_cpus() < 2;
  if (pool.one_cpu) pool.linger_us = 0;
  const char *v = getenv("LIBSDS_DISPATCH_LINGER_US");
  if (!v || !*v) return;
  char *end;
  long us = strtol(v, &end, 10);
  if (*end == 0 && us >= 0) pool.linger_us = us < SDSI_LINGER_MAX_US ? us : SDSI_LINGER_MAX_US;
}

/* The strand the calling worker is running, NULL outside a worker. */
static __thread sdsi_dispatcher *current_strand;

static void item_free(sdsi_item *it) {
  if (it->kind == ITEM_EVENT) free(it->block);
  else if (it->kind == ITEM_SDS_EVENT || it->keep) free(it->msg);
  free(it);
}

static void free_items(sdsi_item *it) {
  while (it) {
    sdsi_item *next = it->next;
    item_free(it);
    it = next;
  }
}

static void dispatcher_destroy(sdsi_dispatcher *d) {
  for (int i = 0; i < SDSI_RING; i++) free(d->ring[i]);
  free_items(d->head);
  pthread_mutex_destroy(&d->mu);
  pthread_cond_destroy(&d->delivered);
  free(d);
}

static long elapsed_us(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000000L + (t.tv_nsec - t0->tv_nsec) / 1000L;
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* ---- the pool ---- */

static void *worker_run(void *arg);

/* Starts a worker. pool.mu held. */
static int spawn_worker(void) {
  pthread_attr_t attr;
  pthread_t t;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int err = pthread_create(&t, &attr, worker_run, NULL);
  pthread_attr_destroy(&attr);
  if (err == 0) pool.workers++;
  return err;
}

/* Makes sure some worker will look at the ready list soon. pool.mu held. */
static void pool_kick(void) {
  if (__atomic_load_n(&pool.spinning, __ATOMIC_ACQUIRE)) return; /* it sees ready_seq */
  if (pool.sleeping > 0) {
    pthread_cond_signal(&pool.work);
    return;
  }
  /* Every worker is inside a callback or about to re-check the list: only the
     former cannot take new work. If none can, add one (if that fails, the
     strand runs when a worker comes back). */
  if (pool.workers - pool.running - pool.sleeping <= 0) (void)spawn_worker();
}

/* Puts an idle strand with items in the ready list. d->mu held. */
static void strand_schedule(sdsi_dispatcher *d) {
  d->state = STRAND_READY;
  pthread_mutex_lock(&pool.mu);
  d->next_ready = NULL;
  if (pool.ready_tail) pool.ready_tail->next_ready = d;
  else pool.ready_head = d;
  pool.ready_tail = d;
  __atomic_add_fetch(&pool.ready_seq, 1, __ATOMIC_RELEASE);
  pool_kick();
  pthread_mutex_unlock(&pool.mu);
}

/* Delivers one item to the handlers read when it was taken off the queue;
   the callback runs without any lock held. */
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

/* Runs a ready strand until its queue is empty, then leaves it idle (or, if
   it was closed from one of its own callbacks, frees it). */
static void strand_run(sdsi_dispatcher *d) {
  current_strand = d;
  pthread_mutex_lock(&d->mu);
  d->state = STRAND_RUNNING;
  for (;;) {
    sdsi_item *it = d->head;
    if (!it) break;
    d->head = it->next;
    if (!d->head) d->tail = NULL;
    int drop = d->closed && d->discard;
    sdsi_handlers h = d->handlers;
    pthread_mutex_unlock(&d->mu);
    if (!drop) deliver(d, it, &h);
    __atomic_store_n(&d->delivered_ticket, it->ticket, __ATOMIC_RELEASE);
    item_free(it);
    pthread_mutex_lock(&d->mu);
    if (d->waiters) pthread_cond_broadcast(&d->delivered);
  }
  d->state = STRAND_IDLE;
  int detached = d->detached;
  if (d->waiters) pthread_cond_broadcast(&d->delivered);
  pthread_mutex_unlock(&d->mu);
  current_strand = NULL;
  if (detached) dispatcher_destroy(d);
}

/* Spins up to pool.linger_us for a strand to become ready after seq.
   Returns non-zero if one may have. */
static int linger(uint64_t seq) {
  if (pool.linger_us == 0) return 0;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (unsigned i = 1;; i++) {
    if (__atomic_load_n(&pool.ready_seq, __ATOMIC_ACQUIRE) != seq) return 1;
    if ((i & 255) == 0 && elapsed_us(&t0) > pool.linger_us) return 0;
    cpu_relax();
  }
}

static void *worker_run(void *arg) {
  (void)arg;
  /* A name for debuggers and top -H. */
#if defined(__linux__)
  pthread_setname_np(pthread_self(), "libsds-deliver");
#elif defined(__APPLE__)
  pthread_setname_np("libsds-deliver");
#endif
  int lingered = 0; /* linger once per idle period, then sleep */
  pthread_mutex_lock(&pool.mu);
  for (;;) {
    sdsi_dispatcher *d = pool.ready_head;
    if (d) {
      pool.ready_head = d->next_ready;
      if (!pool.ready_head) pool.ready_tail = NULL;
      pool.running++;
      /* More ready strands than this worker: make sure another looks. */
      if (pool.ready_head) pool_kick();
      pthread_mutex_unlock(&pool.mu);
      strand_run(d);
      lingered = 0;
      pthread_mutex_lock(&pool.mu);
      pool.running--;
      continue;
    }
    if (!lingered && !__atomic_load_n(&pool.spinning, __ATOMIC_ACQUIRE)) {
      __atomic_store_n(&pool.spinning, 1, __ATOMIC_RELEASE);
      uint64_t seq = __atomic_load_n(&pool.ready_seq, __ATOMIC_ACQUIRE);
      pthread_mutex_unlock(&pool.mu);
      lingered = !linger(seq);
      pthread_mutex_lock(&pool.mu);
      __atomic_store_n(&pool.spinning, 0, __ATOMIC_RELEASE);
      continue;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SDSI_IDLE_EXIT_S;
    pool.sleeping++;
    int rc = pthread_cond_timedwait(&pool.work, &pool.mu, &deadline);
    pool.sleeping--;
    lingered = 0; /* woken for work or for a coming post: spin for it */
    if (rc == ETIMEDOUT && !pool.ready_head && pool.workers > 1) break;
  }
  pool.workers--;
  pthread_mutex_unlock(&pool.mu);
  return NULL;
}

/* ---- dispatchers ---- */

sdsi_dispatcher *sdsi_dispatcher_start(void) {
  pthread_once(&pool_once, pool_configure);
  pthread_mutex_lock(&pool.mu);
  int err = pool.workers == 0 ? spawn_worker() : 0;
  pthread_mutex_unlock(&pool.mu);
  if (err != 0) return NULL;
  sdsi_dispatcher *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
  /* Posts and the worker hold it for a few instructions: spin, don't sleep. */
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
  pthread_mutex_init(&d->mu, &attr);
  pthread_mutexattr_destroy(&attr);
  pthread_cond_init(&d->delivered, NULL);
  return d;
}

void sdsi_set_event_cb(sdsi_dispatcher *d, libsds_event_cb cb, uintptr_t ud) {
  pthread_mutex_lock(&d->mu);
  d->handlers.ev_cb = cb;
  d->handlers.ev_ud = ud;
  pthread_mutex_unlock(&d->mu);
}

void sdsi_set_sds_event_cb(sdsi_dispatcher *d, SdsCallBack cb, uintptr_t ud) {
  pthread_mutex_lock(&d->mu);
  d->handlers.sds_cb = cb;
  d->handlers.sds_ud = ud;
  pthread_mutex_unlock(&d->mu);
}

static uint64_t post(sdsi_dispatcher *d, sdsi_item *it) {
  pthread_mutex_lock(&d->mu);
  if (d->closed) {
    pthread_mutex_unlock(&d->mu);
    item_free(it);
    return 0;
  }
  it->ticket = ++d->next_ticket;
  if (d->tail) d->tail->next = it;
  else d->head = it;
  d->tail = it;
  if (d->state == STRAND_IDLE && d->batches == 0) strand_schedule(d);
  uint64_t t = it->ticket;
  pthread_mutex_unlock(&d->mu);
  return t;
}

static sdsi_item *item_new(int kind) {
  sdsi_item *it = calloc(1, sizeof *it);
  if (!it) abort(); /* as Go's allocator does when memory runs out */
  it->kind = kind;
  return it;
}

uint64_t sdsi_post_event(sdsi_dispatcher *d, void *block, const libsds_event *ev) {
  sdsi_item *it = item_new(ITEM_EVENT);
  it->block = block;
  it->ev = ev;
  return post(d, it);
}

uint64_t sdsi_post_sds_event(sdsi_dispatcher *d, char *json, size_t len) {
  sdsi_item *it = item_new(ITEM_SDS_EVENT);
  it->msg = json;
  it->len = len;
  return post(d, it);
}

uint64_t sdsi_post_sds_result(sdsi_dispatcher *d, SdsCallBack cb, uintptr_t ud, int ret, char *msg, size_t len,
                              int keep) {
  sdsi_item *it = item_new(ITEM_SDS_RESULT);
  it->cb = cb;
  it->ud = ud;
  it->ret = ret;
  it->msg = msg;
  it->len = len;
  it->keep = keep;
  return post(d, it);
}

void sdsi_batch_begin(sdsi_dispatcher *d) {
  pthread_mutex_lock(&d->mu);
  d->batches++;
  pthread_mutex_unlock(&d->mu);
}

void sdsi_batch_end(sdsi_dispatcher *d) {
  pthread_mutex_lock(&d->mu);
  d->batches--;
  if (d->batches == 0 && d->head && d->state == STRAND_IDLE) strand_schedule(d);
  pthread_mutex_unlock(&d->mu);
}

void sdsi_expect(void) {
  if (pool.linger_us == 0) return; /* a woken worker would not wait: no use */
  if (__atomic_load_n(&pool.spinning, __ATOMIC_ACQUIRE)) return;
  pthread_mutex_lock(&pool.mu);
  if (!pool.spinning && pool.sleeping > 0) pthread_cond_signal(&pool.work);
  pthread_mutex_unlock(&pool.mu);
}

int sdsi_in_dispatcher(sdsi_dispatcher *d) { return current_strand == d; }

static int delivered(sdsi_dispatcher *d, uint64_t ticket) {
  return __atomic_load_n(&d->delivered_ticket, __ATOMIC_ACQUIRE) >= ticket;
}

/* A caller that keeps its CPU for the few microseconds the worker needs is not
   put to sleep and woken again: spin briefly, then block for the rest of max_us. */
#define SDSI_SPIN_US 60

void sdsi_wait_delivered(sdsi_dispatcher *d, uint64_t ticket, int max_us) {
  if (ticket == 0 || sdsi_in_dispatcher(d) || delivered(d, ticket)) return;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (unsigned i = 1;; i++) {
    if (delivered(d, ticket)) return;
    if (((i & 255) == 0 || pool.one_cpu) && elapsed_us(&t0) > (max_us < SDSI_SPIN_US ? max_us : SDSI_SPIN_US)) break;
    if (pool.one_cpu) sched_yield(); /* the worker needs this CPU: let it run */
    else cpu_relax();
  }
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_nsec += (long)max_us * 1000L;
  deadline.tv_sec += deadline.tv_nsec / 1000000000L;
  deadline.tv_nsec %= 1000000000L;
  pthread_mutex_lock(&d->mu);
  d->waiters++;
  while (!delivered(d, ticket)) {
    if (pthread_cond_timedwait(&d->delivered, &d->mu, &deadline) == ETIMEDOUT) break;
  }
  d->waiters--;
  pthread_mutex_unlock(&d->mu);
}

void sdsi_dispatcher_close(sdsi_dispatcher *d, int discard) {
  pthread_mutex_lock(&d->mu);
  d->discard = discard;
  d->closed = 1;
  if (sdsi_in_dispatcher(d)) { /* the running worker frees it when the callback returns */
    d->detached = 1;
    pthread_mutex_unlock(&d->mu);
    return;
  }
  /* Items held back by a batch never left open are delivered too. */
  if (d->head && d->state == STRAND_IDLE) strand_schedule(d);
  d->waiters++;
  while (d->state != STRAND_IDLE) pthread_cond_wait(&d->delivered, &d->mu);
  d->waiters--;
  pthread_mutex_unlock(&d->mu);
  dispatcher_destroy(d);
}
