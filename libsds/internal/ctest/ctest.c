/*
 * ctest.c — C test bodies for package libsds's Go tests; see ctest.h. They
 * wait on events (condition variables, a fence), never on time: a
 * task-triggered PERIODIC_SYNC event is a fence, because one manager's events
 * are delivered in the order they were queued.
 */
#define _POSIX_C_SOURCE 200809L
#include "ctest.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sds.h>

/* How long any wait may take before it counts as a hang. */
#define CT_WAIT_S 10

#define FAIL(...)                                                                      \
  do {                                                                                 \
    snprintf(err, errlen, __VA_ARGS__);                                                \
    return 1;                                                                          \
  } while (0)

#define TRY(call)                                                                      \
  do {                                                                                 \
    int ct_rc = (call);                                                                \
    if (ct_rc != LIBSDS_OK)                                                            \
      FAIL("%s:%d: %s = %d (%s)", __FILE__, __LINE__, #call, ct_rc, libsds_last_error()); \
  } while (0)

static struct timespec deadline(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  t.tv_sec += CT_WAIT_S;
  return t;
}

/* ---- a recorder of one manager's native events ---- */

#define CT_KEEP 64

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int n;                  /* events seen */
  int by_type[16];        /* events seen, per type */
  uint32_t type[CT_KEEP]; /* the first CT_KEEP events' types ... */
  char id[CT_KEEP][32];   /* ... and message ids */
} recorder;

static void rec_init(recorder *r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
}

static void rec_destroy(recorder *r) {
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
}

static void on_event(const libsds_event *e, void *ud) {
  recorder *r = ud;
  pthread_mutex_lock(&r->mu);
  if (r->n < CT_KEEP) {
    r->type[r->n] = e->type;
    size_t len = e->message_id.len < 31 ? e->message_id.len : 31;
    if (len) memcpy(r->id[r->n], e->message_id.data, len);
    r->id[r->n][len] = 0;
  }
  if (e->type < 16) r->by_type[e->type]++;
  r->n++;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

/* Waits until r has seen at least n events of type (0: of any type). */
static int rec_wait(recorder *r, uint32_t type, int n) {
  struct timespec dl = deadline();
  int ok = 1;
  pthread_mutex_lock(&r->mu);
  while ((type ? r->by_type[type] : r->n) < n)
    if (pthread_cond_timedwait(&r->cv, &r->mu, &dl) == ETIMEDOUT) {
      ok = 0;
      break;
    }
  pthread_mutex_unlock(&r->mu);
  return ok;
}

static int rec_count(recorder *r, uint32_t type) {
  pthread_mutex_lock(&r->mu);
  int n = type ? r->by_type[type] : r->n;
  pthread_mutex_unlock(&r->mu);
  return n;
}

/* Returns once every event h queued before the call has been delivered to r:
   the PERIODIC_SYNC that run_tasks queues arrives after them. No periodic
   tasks may be running on h (their own PERIODIC_SYNC would count). */
static int fence(libsds_handle h, recorder *r, char *err, size_t errlen) {
  int want = rec_count(r, LIBSDS_EVENT_PERIODIC_SYNC) + 1;
  TRY(libsds_run_tasks(h, LIBSDS_TASK_SYNC));
  if (!rec_wait(r, LIBSDS_EVENT_PERIODIC_SYNC, want)) FAIL("fence: no PERIODIC_SYNC within %d s", CT_WAIT_S);
  return 0;
}

static int new_manager(const char *pid, recorder *r, libsds_handle *h, char *err, size_t errlen) {
  libsds_options o = LIBSDS_OPTIONS_INIT;
  o.participant_id = pid;
  TRY(libsds_new(&o, h));
  if (r) TRY(libsds_set_event_handler(*h, on_event, r));
  return 0;
}

static int wrap(libsds_handle h, const char *id, const char *ch, libsds_buffer *out, char *err, size_t errlen) {
  TRY(libsds_wrap(h, (const uint8_t *)id, strlen(id), id, ch, out));
  return 0;
}

static int unwrap(libsds_handle h, const libsds_buffer *b, size_t *missing, char *err, size_t errlen) {
  libsds_unwrapped *u = NULL;
  int rc = libsds_unwrap(h, b->data, b->len, &u);
  if (rc == LIBSDS_OK && missing) *missing = u->missing_deps_len;
  libsds_unwrapped_free(u);
  TRY(rc);
  return 0;
}

/* ---- the compatible API's callbacks ---- */

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int calls, ret;
  char *msg; /* the last result's text, malloc'd (a wrap result is tens of KB) */
  size_t len;
} result;

static void res_init(result *r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
}

static void res_destroy(result *r) {
  free(r->msg);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
}

static void on_result(int ret, const char *msg, size_t len, void *ud) {
  result *r = ud;
  pthread_mutex_lock(&r->mu);
  r->ret = ret;
  char *copy = malloc(len + 1);
  if (copy) {
    if (msg && len) memcpy(copy, msg, len);
    copy[len] = 0;
    free(r->msg);
    r->msg = copy;
    r->len = len;
  }
  r->calls++;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static int res_wait(result *r, int n) {
  struct timespec dl = deadline();
  int ok = 1;
  pthread_mutex_lock(&r->mu);
  while (r->calls < n)
    if (pthread_cond_timedwait(&r->cv, &r->mu, &dl) == ETIMEDOUT) {
      ok = 0;
      break;
    }
  pthread_mutex_unlock(&r->mu);
  return ok;
}

/* Counts compatible events containing "message_ready" and remembers the last. */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int ready, events;
  char last[512];
} compat_events;

static void on_compat_event(int ret, const char *msg, size_t len, void *ud) {
  compat_events *c = ud;
  (void)ret;
  pthread_mutex_lock(&c->mu);
  c->events++;
  size_t n = len < sizeof c->last - 1 ? len : sizeof c->last - 1;
  memcpy(c->last, msg, n);
  c->last[n] = 0;
  if (strstr(c->last, "message_ready")) c->ready++;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

/* Decodes a compatible wrap result ("10,5,...") into bytes. */
static size_t parse_csv(const char *s, size_t n, uint8_t *out, size_t cap) {
  size_t k = 0;
  unsigned v = 0;
  int have = 0;
  for (size_t i = 0; i <= n && k < cap; i++) {
    if (i == n || s[i] == ',') {
      if (have) out[k++] = (uint8_t)v;
      v = 0;
      have = 0;
    } else {
      v = v * 10 + (unsigned)(s[i] - '0');
      have = 1;
    }
  }
  return k;
}

/* ---- bodies ---- */

int ct_create_free(int cycles, char *err, size_t errlen) {
  for (int i = 0; i < cycles; i++) {
    recorder r;
    rec_init(&r);
    libsds_handle h = 0;
    if (new_manager("p", &r, &h, err, errlen)) return 1;
    libsds_buffer b = {0};
    if (wrap(h, "m", "c", &b, err, errlen)) return 1;
    libsds_buffer_free(&b);
    TRY(libsds_free(h));
    if (libsds_free(h) != LIBSDS_ERR_BAD_HANDLE) FAIL("a second free of %#llx did not fail", (unsigned long long)h);
    rec_destroy(&r);

    result created, done;
    res_init(&created);
    res_init(&done);
    void *ctx = SdsNewReliabilityManager(on_result, &created);
    if (!ctx) FAIL("SdsNewReliabilityManager returned NULL");
    if (!res_wait(&created, 1) || created.ret != RET_OK) FAIL("no RET_OK for SdsNewReliabilityManager");
    if (SdsCleanupReliabilityManager(ctx, on_result, &done) != RET_OK) FAIL("SdsCleanupReliabilityManager failed");
    if (!res_wait(&done, 1)) FAIL("no cleanup callback within %d s", CT_WAIT_S);
    if (done.ret != RET_OK) FAIL("cleanup called back with %d: %s", done.ret, done.msg);
    res_destroy(&created);
    res_destroy(&done);
  }
  return 0;
}

typedef struct {
  libsds_handle from, to;
  int index, msgs;
  char err[256];
} worker;

static void *work(void *arg) {
  worker *w = arg;
  char *err = w->err;
  size_t errlen = sizeof w->err;
  char ch[16];
  snprintf(ch, sizeof ch, "c%d", w->index);
  for (int k = 0; k < w->msgs; k++) {
    char id[32];
    snprintf(id, sizeof id, "t%d-m%d", w->index, k);
    libsds_buffer b = {0};
    size_t missing = 0;
    if (wrap(w->from, id, ch, &b, err, errlen) || unwrap(w->to, &b, &missing, err, errlen)) {
      libsds_buffer_free(&b);
      return NULL;
    }
    libsds_buffer_free(&b);
    if (missing) {
      snprintf(err, errlen, "%s waits for %zu messages", id, missing);
      return NULL;
    }
  }
  return NULL;
}

int ct_concurrent_wrap_unwrap(int managers, int threads, int msgs, char *err, size_t errlen) {
  if (managers < 2 || managers > 16 || threads < 1 || threads > 64) FAIL("bad parameters");
  libsds_handle h[16] = {0};
  recorder *r = calloc((size_t)managers, sizeof *r);
  worker *w = calloc((size_t)threads, sizeof *w);
  pthread_t t[64];
  int expect[16] = {0}, failed = 0;
  for (int i = 0; i < managers && !failed; i++) {
    char pid[8];
    snprintf(pid, sizeof pid, "p%d", i);
    rec_init(&r[i]);
    failed = new_manager(pid, &r[i], &h[i], err, errlen);
  }
  for (int i = 0; i < threads && !failed; i++) {
    w[i] = (worker){.from = h[i % managers], .to = h[(i + 1) % managers], .index = i, .msgs = msgs};
    expect[(i + 1) % managers] += msgs;
    if (pthread_create(&t[i], NULL, work, &w[i]) != 0) {
      snprintf(err, errlen, "pthread_create failed");
      threads = i;
      failed = 1;
    }
  }
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    if (!failed && w[i].err[0]) {
      snprintf(err, errlen, "thread %d: %s", i, w[i].err);
      failed = 1;
    }
  }
  for (int i = 0; i < managers && !failed; i++) {
    failed = fence(h[i], &r[i], err, errlen);
    int got = rec_count(&r[i], LIBSDS_EVENT_MESSAGE_READY);
    if (!failed && got != expect[i]) {
      snprintf(err, errlen, "manager %d: %d MESSAGE_READY events, want %d", i, got, expect[i]);
      failed = 1;
    }
  }
  for (int i = 0; i < managers; i++) {
    if (h[i] && libsds_free(h[i]) != LIBSDS_OK && !failed) {
      snprintf(err, errlen, "libsds_free(manager %d): %s", i, libsds_last_error());
      failed = 1;
    }
    rec_destroy(&r[i]);
  }
  free(r);
  free(w);
  return failed;
}

int ct_events_in_order(char *err, size_t errlen) {
  recorder ra, rb;
  rec_init(&ra);
  rec_init(&rb);
  libsds_handle a = 0, b = 0;
  if (new_manager("a", &ra, &a, err, errlen) || new_manager("b", &rb, &b, err, errlen)) return 1;
  libsds_buffer m[3] = {{0}};
  const char *ids[3] = {"m1", "m2", "m3"};
  for (int i = 0; i < 3; i++)
    if (wrap(a, ids[i], "ch", &m[i], err, errlen)) return 1;
  /* m3 then m2 wait; m1 releases both: the native API reports them in causal
     order, m1 first (nim-sds reports m1 last) */
  size_t missing = 0;
  if (unwrap(b, &m[2], &missing, err, errlen)) return 1;
  if (missing == 0) FAIL("m3 arrived first but waits for nothing");
  if (unwrap(b, &m[1], &missing, err, errlen)) return 1;
  if (unwrap(b, &m[0], &missing, err, errlen)) return 1;
  if (missing != 0) FAIL("m1 waits for %zu messages", missing);
  for (int i = 0; i < 3; i++) libsds_buffer_free(&m[i]);
  if (fence(b, &rb, err, errlen)) return 1;

  static const struct {
    uint32_t type;
    const char *id;
  } want[] = {{LIBSDS_EVENT_MISSING_DEPENDENCIES, "m3"}, {LIBSDS_EVENT_MISSING_DEPENDENCIES, "m2"},
              {LIBSDS_EVENT_MESSAGE_READY, "m1"},        {LIBSDS_EVENT_MESSAGE_READY, "m2"},
              {LIBSDS_EVENT_MESSAGE_READY, "m3"},        {LIBSDS_EVENT_PERIODIC_SYNC, ""}};
  int n = (int)(sizeof want / sizeof want[0]);
  pthread_mutex_lock(&rb.mu);
  int got = rb.n, bad = -1;
  for (int i = 0; i < n && i < got && bad < 0; i++)
    if (rb.type[i] != want[i].type || strcmp(rb.id[i], want[i].id) != 0) bad = i;
  char seen[64] = "";
  if (bad >= 0) snprintf(seen, sizeof seen, "type %u id \"%s\"", rb.type[bad], rb.id[bad]);
  pthread_mutex_unlock(&rb.mu);
  if (bad >= 0 || got != n) {
    pthread_mutex_lock(&rb.mu);
    for (int i = 0; i < rb.n && i < CT_KEEP; i++) fprintf(stderr, "  b event %d: type %u id \"%s\"\n", i, rb.type[i], rb.id[i]);
    pthread_mutex_unlock(&rb.mu);
  }
  if (got != n) FAIL("b saw %d events before the fence's PERIODIC_SYNC arrived, want %d", got, n);
  if (bad >= 0) FAIL("event %d: %s, want type %u id \"%s\"", bad, seen, want[bad].type, want[bad].id);
  /* a sent nothing it could be acknowledged for yet, and received nothing */
  if (fence(a, &ra, err, errlen)) return 1;
  if (rec_count(&ra, 0) != 1) FAIL("a saw %d events, want only the fence's", rec_count(&ra, 0));
  TRY(libsds_free(a));
  TRY(libsds_free(b));
  rec_destroy(&ra);
  rec_destroy(&rb);
  return 0;
}

static uint8_t wire[1 << 16]; /* a wrapped message with its bloom filter */

int ct_compat_calls(char *err, size_t errlen) {
  compat_events ea = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
  compat_events eb = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
  result r;
  res_init(&r);
  int calls = 2;
  void *a = SdsNewReliabilityManager(on_result, &r);
  void *b = SdsNewReliabilityManager(on_result, &r);
  if (!a || !b) FAIL("SdsNewReliabilityManager returned NULL");
  if (!res_wait(&r, calls) || r.ret != RET_OK) FAIL("no RET_OK for SdsNewReliabilityManager");
  SdsSetEventCallback(a, on_compat_event, &ea);
  SdsSetEventCallback(b, on_compat_event, &eb);
  static const char payload[] = "hello";
  if (SdsWrapOutgoingMessage(a, (void *)payload, 5, "m1", "ch", on_result, &r) != RET_OK) FAIL("wrap refused");
  if (!res_wait(&r, ++calls) || r.ret != RET_OK) FAIL("wrap result: %d %s", r.ret, r.msg);
  size_t n = parse_csv(r.msg, r.len, wire, sizeof wire);
  if (n < 10 || n == sizeof wire) FAIL("wrap result is %zu bytes: %.40s...", r.len, r.msg);
  if (SdsUnwrapReceivedMessage(b, wire, n, on_result, &r) != RET_OK) FAIL("unwrap refused");
  if (!res_wait(&r, ++calls) || r.ret != RET_OK) FAIL("unwrap result: %d %s", r.ret, r.msg);
  if (!strstr(r.msg, "104,101,108,108,111")) FAIL("unwrap result lacks the payload: %s", r.msg);
  /* the result is delivered after the call's events: message_ready is in */
  pthread_mutex_lock(&eb.mu);
  int ready = eb.ready;
  pthread_mutex_unlock(&eb.mu);
  if (ready != 1) FAIL("b saw %d message_ready events before the unwrap result, want 1", ready);
  char *ids[1] = {"m0"};
  if (SdsMarkDependenciesMet(b, ids, 1, "ch", on_result, &r) != RET_OK) FAIL("mark refused");
  if (!res_wait(&r, ++calls) || r.ret != RET_OK) FAIL("mark result: %d %s", r.ret, r.msg);
  if (SdsStartPeriodicTasks(a, on_result, &r) != RET_OK) FAIL("start refused");
  if (!res_wait(&r, ++calls) || r.ret != RET_OK) FAIL("start result: %d %s", r.ret, r.msg);
  if (SdsResetReliabilityManager(b, on_result, &r) != RET_OK) FAIL("reset refused");
  if (!res_wait(&r, ++calls) || r.ret != RET_OK) FAIL("reset result: %d %s", r.ret, r.msg);
  /* cleanup calls back exactly once, last, even with tasks running */
  result ca, cb;
  res_init(&ca);
  res_init(&cb);
  if (SdsCleanupReliabilityManager(a, on_result, &ca) != RET_OK) FAIL("cleanup a refused");
  if (SdsCleanupReliabilityManager(b, on_result, &cb) != RET_OK) FAIL("cleanup b refused");
  if (!res_wait(&ca, 1) || !res_wait(&cb, 1)) FAIL("no cleanup callback within %d s", CT_WAIT_S);
  if (ca.ret != RET_OK || cb.ret != RET_OK) FAIL("cleanup results %d, %d", ca.ret, cb.ret);
  res_destroy(&r);
  res_destroy(&ca);
  res_destroy(&cb);
  return 0;
}

/* ---- a host store that keeps nothing but counts what it is asked ---- */

typedef struct {
  pthread_mutex_t mu;
  int lists, loads, destroys, writes;
} host_store;

#define HS(ud) ((host_store *)(ud))
static void hs_count(void *ud, int *field) {
  pthread_mutex_lock(&HS(ud)->mu);
  (*field)++;
  pthread_mutex_unlock(&HS(ud)->mu);
}
static int hs_write(void *ud) {
  hs_count(ud, &HS(ud)->writes);
  return LIBSDS_OK;
}
static int hs_lamport(void *ud, libsds_str c, int64_t l) {
  (void)c, (void)l;
  return hs_write(ud);
}
static int hs_rec(void *ud, libsds_str c, libsds_str id, const uint8_t *rec, size_t n) {
  (void)c, (void)id, (void)rec, (void)n;
  return hs_write(ud);
}
static int hs_rm(void *ud, libsds_str c, libsds_str id) {
  (void)c, (void)id;
  return hs_write(ud);
}
static int hs_hint(void *ud, libsds_str id, const uint8_t *h, size_t n) {
  (void)id, (void)h, (void)n;
  return hs_write(ud);
}
static int hs_drop(void *ud, libsds_str c) {
  (void)c;
  return hs_write(ud);
}
static int hs_load(void *ud, libsds_str c, libsds_loader *l) {
  (void)c;
  hs_count(ud, &HS(ud)->loads);
  return libsds_loader_set_lamport(l, 7);
}
static int hs_list(void *ud, libsds_loader *l) {
  hs_count(ud, &HS(ud)->lists);
  return libsds_loader_add_channel(l, "stored", 6);
}
static void hs_destroy(void *ud) { hs_count(ud, &HS(ud)->destroys); }

int ct_host_store_loaders(char *err, size_t errlen) {
  host_store s = {.mu = PTHREAD_MUTEX_INITIALIZER};
  libsds_persistence p = {
      .version = LIBSDS_PERSISTENCE_VERSION, .user_data = &s,
      .save_lamport = hs_lamport, .append_log_entry = hs_rec, .remove_log_entry = hs_rm,
      .set_retrieval_hint = hs_hint, .save_outgoing = hs_rec, .remove_outgoing = hs_rm,
      .save_incoming = hs_rec, .remove_incoming = hs_rm, .save_outgoing_repair = hs_rec,
      .remove_outgoing_repair = hs_rm, .save_incoming_repair = hs_rec, .remove_incoming_repair = hs_rm,
      .drop_channel = hs_drop, .load_all_for_channel = hs_load, .list_channels = hs_list,
      .destroy = hs_destroy,
  };
  libsds_options o = LIBSDS_OPTIONS_INIT;
  o.store_kind = LIBSDS_STORE_HOST;
  o.persistence = &p;
  libsds_handle h = 0;
  TRY(libsds_new(&o, &h));
  if (s.lists != 1 || s.loads != 1) FAIL("at creation: %d list_channels, %d loads; want 1, 1", s.lists, s.loads);
  libsds_buffer b = {0};
  if (wrap(h, "m1", "fresh", &b, err, errlen)) return 1;
  libsds_buffer_free(&b);
  if (s.loads != 2) FAIL("a new channel was loaded %d times in all, want 2", s.loads);
  if (s.writes == 0) FAIL("wrap wrote nothing to the store");
  if (s.destroys != 0) FAIL("destroy ran before free");
  TRY(libsds_free(h));
  if (s.destroys != 1) FAIL("destroy ran %d times, want 1", s.destroys);
  return 0;
}

int ct_start_stop_free(int managers, char *err, size_t errlen) {
  if (managers < 1 || managers > 16) FAIL("bad parameters");
  libsds_handle h[16] = {0};
  recorder r[16];
  for (int i = 0; i < managers; i++) {
    rec_init(&r[i]);
    if (new_manager("p", &r[i], &h[i], err, errlen)) return 1;
    TRY(libsds_start(h[i]));
    TRY(libsds_start(h[i])); /* idempotent */
  }
  /* start ran each task once before returning: its PERIODIC_SYNC is queued */
  for (int i = 0; i < managers; i++)
    if (!rec_wait(&r[i], LIBSDS_EVENT_PERIODIC_SYNC, 1)) FAIL("manager %d: no PERIODIC_SYNC after start", i);
  for (int i = 0; i < managers; i += 2) {
    TRY(libsds_stop(h[i]));
    TRY(libsds_stop(h[i])); /* idempotent */
  }
  for (int i = 0; i < managers; i++) {
    TRY(libsds_free(h[i])); /* odd ones still running */
    rec_destroy(&r[i]);
  }
  return 0;
}
