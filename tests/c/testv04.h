/* Helpers for the C tests of the nim-sds 0.4 JSON API (v04_*.c): creating and
   destroying contexts with their callbacks checked, one JSON call waited for,
   and an event log. */
#ifndef LIBSDS_TESTV04_H
#define LIBSDS_TESTV04_H

#include "testutil.h"

#include <stdint.h>

/* Creates a context for participantId id; checks the create callback's payload
   is the returned pointer in decimal. */
static inline void *v4_create(const char *id) {
  char cfg[256];
  snprintf(cfg, sizeof cfg, "{\"participantId\":\"%s\"}", id);
  tu_result r;
  tu_result_init(&r);
  void *ctx = sds_create(cfg, tu_result_cb, &r);
  CHECK(ctx != NULL);
  CHECK(tu_wait(&r, 1));
  CHECK_EQ_INT(r.ret, RET_OK);
  char want[32];
  snprintf(want, sizeof want, "%ju", (uintmax_t)(uintptr_t)ctx);
  CHECK_STR(r.msg, want);
  tu_result_destroy(&r);
  return ctx;
}

/* Destroys a context: RET_OK from the call and then one RET_OK callback with "". */
static inline void v4_destroy(void *ctx) {
  tu_result r;
  tu_result_init(&r);
  CHECK_EQ_INT(sds_destroy(ctx, tu_result_cb, &r), RET_OK);
  CHECK(tu_wait(&r, 1));
  CHECK_EQ_INT(r.ret, RET_OK);
  CHECK_STR(r.msg, "");
  tu_result_destroy(&r);
}

typedef int (*v4_json_fn)(void *, SdsCallBack, void *, const char *);

/* Makes one JSON call, checks it returned RET_OK, waits for its one result and
   checks its code and text (text NULL: not checked). Returns the result text
   (malloc'd; the caller frees it). */
static inline char *v4_call(v4_json_fn fn, void *ctx, const char *req, int want_ret, const char *want_text) {
  tu_result r;
  tu_result_init(&r);
  CHECK_EQ_INT(fn(ctx, tu_result_cb, &r, req), RET_OK);
  CHECK(tu_wait(&r, 1));
  CHECK_EQ_INT(r.ret, want_ret);
  if (want_text) CHECK_STR(r.msg, want_text);
  char *out = r.msg;
  r.msg = NULL;
  tu_result_destroy(&r);
  return out ? out : calloc(1, 1);
}

/* An event log: counts events and keeps the last one's text. */
typedef struct {
  pthread_mutex_t mu;
  int n, periodic;
  char last[512];
} v4_events;

static inline void v4_events_init(v4_events *e) {
  memset(e, 0, sizeof *e);
  pthread_mutex_init(&e->mu, NULL);
}

static inline void v4_event_cb(int ret, const char *msg, size_t len, void *ud) {
  v4_events *e = ud;
  (void)ret;
  pthread_mutex_lock(&e->mu);
  e->n++;
  if (strstr(msg, "\"periodic_sync\"")) e->periodic++;
  snprintf(e->last, sizeof e->last, "%.*s", (int)len, msg);
  pthread_mutex_unlock(&e->mu);
}

static inline int v4_events_count(v4_events *e, int periodic) {
  pthread_mutex_lock(&e->mu);
  int n = periodic ? e->periodic : e->n;
  pthread_mutex_unlock(&e->mu);
  return n;
}

#endif
