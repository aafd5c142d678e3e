/* A recorder for the native API's events, shared by the native C tests: pass
   on_event and a recorder to libsds_set_event_handler, then wait for and check
   the events in arrival order. Each event keeps a copy of everything any test
   looks at (ids, missing dependencies, the message, the error, the thread). */
#ifndef LIBSDS_TESTEVENTS_H
#define LIBSDS_TESTEVENTS_H

#include "testutil.h"

#include <stdint.h>

#define MAX_EVENTS 256 /* events beyond this are counted but not kept */

/* One recorded event. */
typedef struct {
  uint32_t size, type;
  char ch[64], id[64];          /* channel and message id, cut to 63 bytes */
  size_t ch_len, id_len;        /* their real lengths */
  int ch_nul_ok, id_nul_ok;     /* data[len] == 0 */
  int ndeps;                    /* missing_deps_len */
  char deps[8][64];             /* the first 8 missing dependencies' ids ... */
  size_t dep_len[8];            /* ... their lengths ... */
  char dep_sender[8][64];       /* ... sender ids ... */
  char dep_hint[8][64];         /* ... and retrieval hints */
  char missing[256];            /* every missing dependency's id, comma-separated */
  uint8_t *msg;                 /* a copy of the message (malloc'd), or NULL */
  size_t msg_len;
  char content[64];             /* MESSAGE_READY's content, cut to 63 bytes */
  size_t content_len;           /* its real length */
  int content_set;              /* content != NULL */
  char error[256];              /* the error text, if any */
  int has_error;
  pthread_t thread;             /* the thread the event arrived on */
} rec_event;

/* The events one handler has seen, under a mutex. */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  rec_event ev[MAX_EVENTS];
  int n;
} recorder;

/* Makes r an empty recorder. */
static inline void rec_init(recorder *r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
}

/* Frees what r holds. */
static inline void rec_destroy(recorder *r) {
  for (int i = 0; i < r->n && i < MAX_EVENTS; i++) free(r->ev[i].msg);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
}

/* Copies s (embedded NULs included) into dst, cut to cap-1 bytes and NUL-terminated. */
static inline void copy_str(char *dst, size_t cap, libsds_str s) {
  size_t n = s.len < cap - 1 ? s.len : cap - 1;
  if (s.data && n) memcpy(dst, s.data, n);
  dst[n] = 0;
}

/* The event handler: records e in the recorder ud and wakes rec_wait. */
static inline void on_event(const libsds_event *e, void *ud) {
  recorder *r = ud;
  pthread_mutex_lock(&r->mu);
  if (r->n < MAX_EVENTS) {
    rec_event *x = &r->ev[r->n];
    memset(x, 0, sizeof *x);
    x->size = e->size;
    x->type = e->type;
    copy_str(x->ch, sizeof x->ch, e->channel_id);
    copy_str(x->id, sizeof x->id, e->message_id);
    x->ch_len = e->channel_id.len;
    x->id_len = e->message_id.len;
    x->ch_nul_ok = e->channel_id.data && e->channel_id.data[e->channel_id.len] == 0;
    x->id_nul_ok = e->message_id.data && e->message_id.data[e->message_id.len] == 0;
    x->ndeps = (int)e->missing_deps_len;
    for (size_t i = 0; i < e->missing_deps_len && i < 8; i++) {
      copy_str(x->deps[i], 64, e->missing_deps[i].message_id);
      x->dep_len[i] = e->missing_deps[i].message_id.len;
      copy_str(x->dep_sender[i], 64, e->missing_deps[i].sender_id);
      libsds_str h = {(const char *)e->missing_deps[i].retrieval_hint, e->missing_deps[i].retrieval_hint_len};
      copy_str(x->dep_hint[i], 64, h);
    }
    size_t k = 0;
    for (size_t i = 0; i < e->missing_deps_len; i++)
      k += (size_t)snprintf(x->missing + k, sizeof x->missing > k ? sizeof x->missing - k : 0, "%s%.*s",
                            i ? "," : "", (int)e->missing_deps[i].message_id.len, e->missing_deps[i].message_id.data);
    if (e->message && e->message_len) {
      x->msg = malloc(e->message_len);
      memcpy(x->msg, e->message, e->message_len);
      x->msg_len = e->message_len;
    }
    if (e->content) {
      libsds_str c = {(const char *)e->content, e->content_len};
      copy_str(x->content, sizeof x->content, c);
      x->content_len = e->content_len;
      x->content_set = 1;
    }
    if (e->error) {
      x->has_error = 1;
      snprintf(x->error, sizeof x->error, "%s", e->error);
    }
    x->thread = pthread_self();
  }
  r->n++;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

/* Waits until the recorder has at least n events (5 s at most; a timeout counts as a failure). */
static inline int rec_wait(recorder *r, int n) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 5;
  int ok = 1;
  pthread_mutex_lock(&r->mu);
  while (r->n < n)
    if (pthread_cond_timedwait(&r->cv, &r->mu, &dl) == ETIMEDOUT) {
      ok = 0;
      break;
    }
  pthread_mutex_unlock(&r->mu);
  if (!ok) {
    fprintf(stderr, "rec_wait: timed out waiting for event %d (have %d)\n", n, r->n);
    tu_failures++;
  }
  return ok;
}

/* The number of events seen so far. */
static inline int rec_count(recorder *r) {
  pthread_mutex_lock(&r->mu);
  int n = r->n;
  pthread_mutex_unlock(&r->mu);
  return n;
}

/* Checks event i's type and message id (NULL: don't check the id); use CHECK_EV. */
static inline void check_ev(recorder *r, int i, int type, const char *mid, const char *file, int line) {
  pthread_mutex_lock(&r->mu);
  int have = i < r->n && i < MAX_EVENTS;
  const rec_event *e = have ? &r->ev[i] : NULL;
  if (!have || e->type != (uint32_t)type || (mid && strcmp(e->id, mid) != 0)) {
    fprintf(stderr, "%s:%d: event %d is (type %u, id \"%s\"), want (type %d, id \"%s\")\n", file, line, i,
            have ? e->type : 0, have ? e->id : "<none>", type, mid ? mid : "*");
    tu_failures++;
  }
  pthread_mutex_unlock(&r->mu);
}
#define CHECK_EV(r, i, t, mid) check_ev((r), (i), (t), (mid), __FILE__, __LINE__)

/* The number of events of one type seen so far. */
static inline int rec_count_type(recorder *r, uint32_t type) {
  pthread_mutex_lock(&r->mu);
  int n = 0;
  for (int i = 0; i < r->n && i < MAX_EVENTS; i++) n += r->ev[i].type == type;
  pthread_mutex_unlock(&r->mu);
  return n;
}

/* A fence: returns once every event h queued before the call has reached r
   (r must be h's handler), and returns how many events r holds then. One
   manager's events are delivered in order, so the PERIODIC_SYNC that
   libsds_run_tasks queues arrives after all of them. The fence's own event is
   then taken out of r, so r holds what it would without the fence. No
   periodic task of h may fire meanwhile (their PERIODIC_SYNC would count). A
   negative check ("nothing else happened") is CHECK_EQ_INT(rec_fence(h, r), n). */
static inline int rec_fence(libsds_handle h, recorder *r) {
  int syncs = rec_count_type(r, LIBSDS_EVENT_PERIODIC_SYNC);
  CHECK_EQ_INT(libsds_run_tasks(h, LIBSDS_TASK_SYNC), LIBSDS_OK);
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 5;
  int at = -1;
  pthread_mutex_lock(&r->mu);
  for (;;) {
    int seen = 0;
    for (int i = 0; i < r->n && i < MAX_EVENTS && at < 0; i++)
      if (r->ev[i].type == LIBSDS_EVENT_PERIODIC_SYNC && ++seen == syncs + 1) at = i;
    if (at >= 0 || pthread_cond_timedwait(&r->cv, &r->mu, &dl) == ETIMEDOUT) break;
  }
  if (at >= 0) {
    free(r->ev[at].msg);
    int kept = r->n < MAX_EVENTS ? r->n : MAX_EVENTS;
    memmove(&r->ev[at], &r->ev[at + 1], (size_t)(kept - at - 1) * sizeof r->ev[0]);
    r->n--;
  }
  int n = r->n;
  pthread_mutex_unlock(&r->mu);
  if (at < 0) {
    fprintf(stderr, "rec_fence: the fence's PERIODIC_SYNC did not arrive within 5 s\n");
    tu_failures++;
  }
  return n;
}

#endif
