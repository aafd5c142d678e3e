/* Helpers for the compatible API's C tests (compat_*.c): creating, cleaning up
   and wrapping through a manager with the result checked, a result slot that
   remembers its callback's thread, and a watchdog that ends a program which
   hangs (a deadlock) instead of letting it block `make test-c`. */
#ifndef LIBSDS_TESTCOMPAT_H
#define LIBSDS_TESTCOMPAT_H

#include "testutil.h"

#include <unistd.h>

/* Creates a manager, checking that its result callback says RET_OK with an
   empty message, as nim-sds's does. */
static inline void *new_mgr(void) {
  tu_result r;
  tu_result_init(&r);
  void *ctx = SdsNewReliabilityManager(tu_result_cb, &r);
  CHECK(ctx != NULL);
  CHECK(tu_wait(&r, 1));
  CHECK_EQ_INT(r.ret, RET_OK);
  CHECK_EQ_INT(r.len, 0);
  CHECK_STR(r.msg, "");
  tu_result_destroy(&r);
  return ctx;
}

/* Cleans a manager up, checking RET_OK from the call and from its one callback. */
static inline void cleanup_mgr(void *ctx) {
  tu_result r;
  tu_result_init(&r);
  CHECK_EQ_INT(SdsCleanupReliabilityManager(ctx, tu_result_cb, &r), RET_OK);
  CHECK(tu_wait(&r, 1));
  CHECK_EQ_INT(r.ret, RET_OK);
  tu_result_destroy(&r);
}

/* Wraps content as id on ch; returns the malloc'd wire bytes (their count in *n). */
static inline unsigned char *wrap(void *ctx, const char *content, const char *id, const char *ch, size_t *n) {
  tu_result r;
  tu_result_init(&r);
  CHECK_EQ_INT(SdsWrapOutgoingMessage(ctx, (void *)content, strlen(content), id, ch, tu_result_cb, &r), RET_OK);
  CHECK(tu_wait(&r, 1));
  CHECK_EQ_INT(r.ret, RET_OK);
  unsigned char *w = malloc(r.len / 2 + 1);
  *n = tu_parse_csv(r.msg, r.len, w);
  tu_result_destroy(&r);
  return w;
}

/* A result slot that also remembers the thread it was called on. */
typedef struct {
  tu_result r;
  pthread_t thr;
} rec;

/* The callback for a rec: notes the thread, then records like tu_result_cb. */
static inline void rec_cb(int ret, const char *msg, size_t len, void *ud) {
  rec *x = ud;
  x->thr = pthread_self();
  tu_result_cb(ret, msg, len, &x->r);
}

/* ---- watchdog: watchdog_start, then stage() before each step, watchdog_stop at the end ---- */

/* The watchdog's state (one per program). */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  const char *stage; /* the step in progress */
  int done, gen;     /* gen counts stage() calls */
  int seconds;       /* each step's limit */
  const char *name;  /* the program's name, for the message */
  pthread_t thr;
} tc_watchdog;

/* The one watchdog state of this program. */
static inline tc_watchdog *tc_wd(void) {
  static tc_watchdog wd = {
      .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .stage = "start", .seconds = 5, .name = "test"};
  return &wd;
}

/* Names the step in progress; each step gets the watchdog's limit. */
static inline void stage(const char *s) {
  tc_watchdog *wd = tc_wd();
  pthread_mutex_lock(&wd->mu);
  wd->stage = s;
  wd->gen++;
  pthread_cond_signal(&wd->cv);
  pthread_mutex_unlock(&wd->mu);
}

/* The watchdog thread: _exit(1) with the stuck stage's name when one step outlasts the limit. */
static inline void *tc_watchdog_main(void *arg) {
  tc_watchdog *wd = arg;
  pthread_mutex_lock(&wd->mu);
  int gen = -1;
  struct timespec deadline;
  while (!wd->done) {
    if (gen != wd->gen) {
      gen = wd->gen;
      clock_gettime(CLOCK_REALTIME, &deadline);
      deadline.tv_sec += wd->seconds;
    }
    if (pthread_cond_timedwait(&wd->cv, &wd->mu, &deadline) == ETIMEDOUT && gen == wd->gen) {
      fprintf(stderr, "%s: HUNG (deadlock?) in stage: %s\n", wd->name, wd->stage);
      fprintf(stderr, "%s: %d earlier check(s) FAILED\n", wd->name, tu_failures);
      fflush(stderr);
      _exit(1);
    }
  }
  pthread_mutex_unlock(&wd->mu);
  return NULL;
}

/* Starts the watchdog for program name with a limit of seconds per stage. */
static inline void watchdog_start(const char *name, int seconds) {
  tc_watchdog *wd = tc_wd();
  wd->name = name;
  wd->seconds = seconds;
  pthread_create(&wd->thr, NULL, tc_watchdog_main, wd);
}

/* Stops the watchdog and waits for its thread. */
static inline void watchdog_stop(void) {
  tc_watchdog *wd = tc_wd();
  pthread_mutex_lock(&wd->mu);
  wd->done = 1;
  pthread_cond_signal(&wd->cv);
  pthread_mutex_unlock(&wd->mu);
  pthread_join(wd->thr, NULL);
}

#endif
