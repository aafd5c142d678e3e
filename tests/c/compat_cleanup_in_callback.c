/* Compatible API: SdsCleanupReliabilityManager called from inside one of the
   same manager's callbacks. The header promises that any function, freeing
   the manager included, may be called from inside result and event callbacks,
   and that "a result callback is called exactly once per call that returned
   RET_OK" (sds.h compatible-API notes, ABI.md §1.1, §1.5). So:
   1. inside a result callback: a wrap (RET_OK) then a cleanup (RET_OK) on the
      same ctx: both callbacks arrive, once each;
   2. inside a message_ready event callback: a cleanup (RET_OK): the result of
      the unwrap that caused the event (RET_OK) still arrives, once, and so
      does the cleanup's;
   3. inside a validation-error callback, which runs on the caller's thread
      inside the failing call: a cleanup on the same ctx returns (no deadlock)
      with RET_OK and calls back once.
   A watchdog fails the program if a step hangs for 3 s. */
#include "testutil.h"
#include "testcompat.h"

/* ---- helpers ---- */

/* Waits up to ms for n callbacks without counting a timeout as a failure. */
static int wait_quiet(tu_result *r, int n, long ms) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += ms / 1000;
  dl.tv_nsec += (ms % 1000) * 1000000L;
  if (dl.tv_nsec >= 1000000000L) {
    dl.tv_sec++;
    dl.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&r->mu);
  while (r->calls < n && pthread_cond_timedwait(&r->cv, &r->mu, &dl) != ETIMEDOUT) {
  }
  int ok = r->calls >= n;
  pthread_mutex_unlock(&r->mu);
  return ok;
}

static int calls_of(tu_result *r) {
  pthread_mutex_lock(&r->mu);
  int n = r->calls;
  pthread_mutex_unlock(&r->mu);
  return n;
}

/* ---- 1. wrap + cleanup inside a result callback ---- */

typedef struct {
  void *ctx;
  int rc_wrap, rc_cleanup;
  tu_result inner_wrap, cleaned, outer;
} state1;

static void outer1(int ret, const char *msg, size_t len, void *ud) {
  state1 *s = ud;
  s->rc_wrap = SdsWrapOutgoingMessage(s->ctx, "y", 1, "m2", "c1", tu_result_cb, &s->inner_wrap);
  s->rc_cleanup = SdsCleanupReliabilityManager(s->ctx, tu_result_cb, &s->cleaned);
  tu_result_cb(ret, msg, len, &s->outer);
}

static void test_wrap_then_cleanup_in_result_cb(void) {
  stage("1: wrap then cleanup inside a result callback");
  state1 s;
  memset(&s, 0, sizeof s);
  tu_result_init(&s.inner_wrap);
  tu_result_init(&s.cleaned);
  tu_result_init(&s.outer);
  s.ctx = new_mgr();
  CHECK_EQ_INT(SdsWrapOutgoingMessage(s.ctx, "x", 1, "m1", "c1", outer1, &s), RET_OK);
  CHECK(tu_wait(&s.outer, 1));
  CHECK_EQ_INT(s.rc_wrap, RET_OK);
  CHECK_EQ_INT(s.rc_cleanup, RET_OK);
  CHECK(tu_wait(&s.cleaned, 1));
  CHECK_EQ_INT(s.cleaned.ret, RET_OK);
  if (s.rc_wrap == RET_OK && !wait_quiet(&s.inner_wrap, 1, 500)) {
    fprintf(stderr, "1: the wrap made inside the callback returned RET_OK but its result callback never came\n");
    tu_failures++;
  }
  tu_sleep_ms(100); /* not synchronisation: no fence exists once a manager is cleaned up (ctx is gone), so a late callback is given this long to show */
  CHECK(calls_of(&s.inner_wrap) <= 1);
  CHECK_EQ_INT(calls_of(&s.cleaned), 1);
  tu_result_destroy(&s.inner_wrap);
  tu_result_destroy(&s.cleaned);
  tu_result_destroy(&s.outer);
}

/* ---- 2. cleanup inside a message_ready event callback ---- */

typedef struct {
  void *ctx;
  int events;
  int rc_cleanup;
  tu_result cleaned;
} state2;

static void event2(int ret, const char *msg, size_t len, void *ud) {
  (void)ret, (void)msg, (void)len;
  state2 *s = ud;
  if (s->events++ == 0) s->rc_cleanup = SdsCleanupReliabilityManager(s->ctx, tu_result_cb, &s->cleaned);
}

static void test_cleanup_in_event_cb(void *sender) {
  stage("2: cleanup inside a message_ready event callback");
  static state2 s;
  memset(&s, 0, sizeof s);
  tu_result_init(&s.cleaned);
  s.ctx = new_mgr();
  SdsSetEventCallback(s.ctx, event2, &s);
  size_t n;
  unsigned char *w = wrap(sender, "hello", "e1", "c1", &n);
  tu_result u;
  tu_result_init(&u);
  int rc = SdsUnwrapReceivedMessage(s.ctx, w, n, tu_result_cb, &u);
  CHECK_EQ_INT(rc, RET_OK);
  CHECK(tu_wait(&s.cleaned, 1));
  CHECK_EQ_INT(s.rc_cleanup, RET_OK);
  CHECK_EQ_INT(s.cleaned.ret, RET_OK);
  if (rc == RET_OK && !wait_quiet(&u, 1, 500)) {
    fprintf(stderr, "2: the unwrap returned RET_OK but its result callback never came "
                    "(cleanup from its message_ready callback discarded it)\n");
    tu_failures++;
  }
  tu_sleep_ms(100); /* not synchronisation: no fence exists once a manager is cleaned up (ctx is gone), so a late callback is given this long to show */
  CHECK(calls_of(&u) <= 1);
  CHECK_EQ_INT(calls_of(&s.cleaned), 1);
  CHECK_EQ_INT(s.events, 1);
  tu_result_destroy(&u);
  tu_result_destroy(&s.cleaned);
  free(w);
}

/* ---- 3. cleanup inside a validation-error callback (caller's thread) ---- */

typedef struct {
  void *ctx;
  int rc_cleanup;
  int entered;
  tu_result cleaned;
} state3;

static void validation3(int ret, const char *msg, size_t len, void *ud) {
  (void)ret, (void)msg, (void)len;
  state3 *s = ud;
  s->entered = 1;
  s->rc_cleanup = SdsCleanupReliabilityManager(s->ctx, tu_result_cb, &s->cleaned);
}

static void test_cleanup_in_validation_cb(void) {
  stage("3: cleanup inside a validation-error callback, on the caller's thread "
        "(SdsWrapOutgoingMessage with a NULL message id)");
  static state3 s;
  memset(&s, 0, sizeof s);
  tu_result_init(&s.cleaned);
  s.ctx = new_mgr();
  int rc = SdsWrapOutgoingMessage(s.ctx, "x", 1, NULL, "c1", validation3, &s);
  stage("3: after the wrap returned");
  CHECK_EQ_INT(rc, RET_ERR);
  CHECK(s.entered);
  CHECK_EQ_INT(s.rc_cleanup, RET_OK);
  CHECK(tu_wait(&s.cleaned, 1));
  CHECK_EQ_INT(s.cleaned.ret, RET_OK);
  tu_sleep_ms(50); /* not synchronisation: no fence exists once a manager is cleaned up (ctx is gone), so a late callback is given this long to show */
  CHECK_EQ_INT(calls_of(&s.cleaned), 1);
  tu_result_destroy(&s.cleaned);
}

int main(void) {
  watchdog_start("compat_cleanup_in_callback", 3);
  void *sender = new_mgr();
  test_wrap_then_cleanup_in_result_cb();
  test_cleanup_in_event_cb(sender);
  test_cleanup_in_validation_cb();
  stage("final cleanup");
  cleanup_mgr(sender);
  watchdog_stop();
  return tu_done("compat_cleanup_in_callback");
}
