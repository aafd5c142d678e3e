/* cdispatch.c — see cdispatch.h. */
#include "cdispatch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

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

struct sdsi_dispatcher {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t work;      /* an item was posted, or the dispatcher closed */
  pthread_cond_t delivered; /* delivered_ticket advanced */
  sdsi_item *head, *tail;
  int closed;          /* written under mu, read atomically while spinning */
  int discard, detached;
  int sleeping;        /* the thread is blocked in pthread_cond_wait(work) */
  int expecting;       /* atomic: a result is on its way (sdsi_expect) */
  uint64_t next_ticket; /* written under mu, read atomically while spinning */
  uint64_t delivered_ticket; /* atomic: every ticket <= it has been delivered */
  libsds_event_cb ev_cb;
  uintptr_t ev_ud;
  SdsCallBack sds_cb;
  uintptr_t sds_ud;
  char *ring[SDSI_RING]; /* the last results, alive after their callbacks */
  int ring_next;
};

static void item_free(sdsi_item *it) {
  if (it->kind == ITEM_EVENT) free(it->block);
  else if (it->kind == ITEM_SDS_EVENT || it->keep) free(it->msg);
  free(it);
}

static void dispatcher_destroy(sdsi_dispatcher *d) {
  for (int i = 0; i < SDSI_RING; i++) free(d->ring[i]);
  for (sdsi_item *it = d->head; it;) {
    sdsi_item *next = it->next;
    item_free(it);
    it = next;
  }
  pthread_mutex_destroy(&d->mu);
  pthread_cond_destroy(&d->work);
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

/* How long the thread, told a post is coming, stays awake for it. */
#define SDSI_EXPECT_SPIN_US 100

/* Waits awake, without the lock, for a post after ticket seen or for close;
   gives up the expectation after SDSI_EXPECT_SPIN_US. */
static void spin_until_posted(sdsi_dispatcher *d, uint64_t seen) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (unsigned i = 1;; i++) {
    if (__atomic_load_n(&d->next_ticket, __ATOMIC_ACQUIRE) != seen) return;
    if (__atomic_load_n(&d->closed, __ATOMIC_ACQUIRE)) return;
    if ((i & 255) == 0 && elapsed_us(&t0) > SDSI_EXPECT_SPIN_US) {
      __atomic_store_n(&d->expecting, 0, __ATOMIC_RELEASE);
      return;
    }
    cpu_relax();
  }
}

static void *dispatcher_run(void *arg) {
  sdsi_dispatcher *d = arg;
  pthread_mutex_lock(&d->mu);
  for (;;) {
    while (!d->head && !d->closed) {
      if (__atomic_load_n(&d->expecting, __ATOMIC_ACQUIRE)) {
        uint64_t seen = d->next_ticket;
        pthread_mutex_unlock(&d->mu);
        spin_until_posted(d, seen);
        pthread_mutex_lock(&d->mu);
        continue;
      }
      d->sleeping = 1;
      pthread_cond_wait(&d->work, &d->mu);
      d->sleeping = 0;
    }
    if (!d->head || (d->closed && d->discard)) break;
    sdsi_item *it = d->head;
    d->head = it->next;
    if (!d->head) d->tail = NULL;
    libsds_event_cb ev_cb = d->ev_cb;
    uintptr_t ev_ud = d->ev_ud;
    SdsCallBack sds_cb = d->sds_cb;
    uintptr_t sds_ud = d->sds_ud;
    pthread_mutex_unlock(&d->mu);

    switch (it->kind) {
    case ITEM_EVENT:
      if (ev_cb) ev_cb(it->ev, (void *)ev_ud);
      break;
    case ITEM_SDS_EVENT:
      if (sds_cb) sds_cb(RET_OK, it->msg, it->len, (void *)sds_ud);
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

    pthread_mutex_lock(&d->mu);
    __atomic_store_n(&d->delivered_ticket, it->ticket, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&d->delivered);
    item_free(it);
  }
  int detached = d->detached;
  pthread_mutex_unlock(&d->mu);
  if (detached) dispatcher_destroy(d);
  return NULL;
}

sdsi_dispatcher *sdsi_dispatcher_start(void) {
  sdsi_dispatcher *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  pthread_mutex_init(&d->mu, NULL);
  pthread_cond_init(&d->work, NULL);
  pthread_cond_init(&d->delivered, NULL);
  if (pthread_create(&d->thread, NULL, dispatcher_run, d) != 0) {
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->work);
    pthread_cond_destroy(&d->delivered);
    free(d);
    return NULL;
  }
  return d;
}

void sdsi_set_event_cb(sdsi_dispatcher *d, libsds_event_cb cb, uintptr_t ud) {
  pthread_mutex_lock(&d->mu);
  d->ev_cb = cb;
  d->ev_ud = ud;
  pthread_mutex_unlock(&d->mu);
}

void sdsi_set_sds_event_cb(sdsi_dispatcher *d, SdsCallBack cb, uintptr_t ud) {
  pthread_mutex_lock(&d->mu);
  d->sds_cb = cb;
  d->sds_ud = ud;
  pthread_mutex_unlock(&d->mu);
}

static uint64_t post(sdsi_dispatcher *d, sdsi_item *it) {
  pthread_mutex_lock(&d->mu);
  if (d->closed) {
    pthread_mutex_unlock(&d->mu);
    item_free(it);
    return 0;
  }
  it->ticket = d->next_ticket + 1;
  __atomic_store_n(&d->next_ticket, it->ticket, __ATOMIC_RELEASE);
  if (d->tail) d->tail->next = it;
  else d->head = it;
  d->tail = it;
  if (d->sleeping) pthread_cond_signal(&d->work); /* a spinning thread sees the ticket */
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
  __atomic_store_n(&d->expecting, 0, __ATOMIC_RELEASE); /* it has come */
  return post(d, it);
}

void sdsi_expect(sdsi_dispatcher *d) {
  __atomic_store_n(&d->expecting, 1, __ATOMIC_RELEASE);
  pthread_mutex_lock(&d->mu);
  if (d->sleeping) pthread_cond_signal(&d->work);
  pthread_mutex_unlock(&d->mu);
}

int sdsi_in_dispatcher(sdsi_dispatcher *d) { return pthread_equal(pthread_self(), d->thread); }

static int delivered(sdsi_dispatcher *d, uint64_t ticket) {
  return __atomic_load_n(&d->delivered_ticket, __ATOMIC_ACQUIRE) >= ticket;
}

/* A caller that keeps its CPU for the few microseconds the dispatcher needs
   is not put to sleep and woken again (a thread wake-up costs ~8 us on small
   VMs): spin briefly, then block for the rest of max_us. */
#define SDSI_SPIN_US 60

void sdsi_wait_delivered(sdsi_dispatcher *d, uint64_t ticket, int max_us) {
  if (ticket == 0 || sdsi_in_dispatcher(d) || delivered(d, ticket)) return;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (unsigned i = 1;; i++) {
    if (delivered(d, ticket)) return;
    if ((i & 255) == 0 && elapsed_us(&t0) > (max_us < SDSI_SPIN_US ? max_us : SDSI_SPIN_US)) break;
    cpu_relax();
  }
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_nsec += (long)max_us * 1000L;
  deadline.tv_sec += deadline.tv_nsec / 1000000000L;
  deadline.tv_nsec %= 1000000000L;
  pthread_mutex_lock(&d->mu);
  while (__atomic_load_n(&d->delivered_ticket, __ATOMIC_ACQUIRE) < ticket) {
    if (pthread_cond_timedwait(&d->delivered, &d->mu, &deadline) == ETIMEDOUT) break;
  }
  pthread_mutex_unlock(&d->mu);
}

void sdsi_dispatcher_close(sdsi_dispatcher *d, int discard) {
  int inside = sdsi_in_dispatcher(d);
  pthread_mutex_lock(&d->mu);
  d->discard = discard;
  __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE); /* seen by a spinning thread */
  if (inside) {
    d->detached = 1;
    pthread_detach(d->thread);
  }
  pthread_cond_signal(&d->work);
  pthread_mutex_unlock(&d->mu);
  if (!inside) {
    pthread_join(d->thread, NULL);
    dispatcher_destroy(d);
  }
}
