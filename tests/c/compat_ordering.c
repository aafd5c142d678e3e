/* Compatible API: exactly one result callback per call that returned RET_OK
   (new, wrap, unwrap, markDependenciesMet, reset, startPeriodicTasks,
   cleanup), delivered after the events the call caused. By default the call
   delivers them itself, on the caller's thread, before it returns (nothing
   else of that manager being delivered); with LIBSDS_CALLER_DELIVERS=0 in the
   environment they come from a library thread, never the caller's (the
   Makefile runs this test both ways). Argument-validation errors always call
   back on the caller's thread, inside the call (ABI.md §1.5, §2.2, §2.5).
   Events and results are recorded in one sequence under one mutex. */
#include "testutil.h"
#include "testcompatlog.h"

static pthread_t main_thr;
static int caller_delivers; /* LIBSDS_CALLER_DELIVERS is not "0" */

/* Where a span's callbacks may run. */
enum { ON_CALLER, ANY_THREAD };

/* Checks the thread of one callback the main thread's call caused. */
static int thread_ok(const char *what, const char *kind, pthread_t thr, int where) {
  int on_main = pthread_equal(thr, main_thr);
  if (caller_delivers && where == ON_CALLER && !on_main) {
    fprintf(stderr, "%s: %s on a library thread, want the caller's\n", what, kind);
    return 0;
  }
  if (!caller_delivers && on_main) {
    fprintf(stderr, "%s: %s on the caller's thread\n", what, kind);
    return 0;
  }
  return 1;
}

static int log_size(void) {
  pthread_mutex_lock(&log_mu);
  int n = log_n;
  pthread_mutex_unlock(&log_mu);
  return n;
}

static int count_results(void *ud) {
  int n = 0;
  pthread_mutex_lock(&log_mu);
  for (int i = 0; i < log_n; i++)
    if (log_e[i].kind == 'R' && log_e[i].ud == ud) n++;
  pthread_mutex_unlock(&log_mu);
  return n;
}

/* Waits for the result tagged ud; returns its index or -1 after 5 s. */
static int wait_result(void *ud) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 5;
  int at = -1;
  pthread_mutex_lock(&log_mu);
  for (;;) {
    for (int i = 0; i < log_n && at < 0; i++)
      if (log_e[i].kind == 'R' && log_e[i].ud == ud) at = i;
    if (at >= 0) break;
    if (pthread_cond_timedwait(&log_cv, &log_mu, &deadline) == ETIMEDOUT) break;
  }
  pthread_mutex_unlock(&log_mu);
  if (at < 0) {
    fprintf(stderr, "wait_result: timed out\n");
    tu_failures++;
  }
  return at;
}

/* The tags of every call that returned RET_OK: each must get one result. */
static char tags[64];
static int ntags;
static void *tag(void) { return &tags[ntags++]; }

/* Checks the log from index `from`: exactly the events in want[] (NULL-ended,
   exact JSON, in order, RET_OK), then the result tagged ud with ret and msg,
   each on the thread thread_ok wants. */
static void check_span_on(const char *what, int from, void *ud, const char **want, int ret, const char *msg,
                          int where) {
  int at = wait_result(ud);
  if (at < 0) return;
  pthread_mutex_lock(&log_mu);
  int k = 0;
  int ok = 1;
  for (int i = from; i < at; i++) {
    entry *e = &log_e[i];
    if (e->kind != 'E' || !want[k] || strcmp(e->msg, want[k]) != 0 || e->ret != RET_OK) {
      fprintf(stderr, "%s: log[%d] = %c %d %s, want event %s\n", what, i, e->kind, e->ret, e->msg,
              want[k] ? want[k] : "(none)");
      ok = 0;
    }
    if (!thread_ok(what, "event", e->thr, where)) ok = 0;
    if (want[k]) k++;
  }
  if (want[k]) {
    fprintf(stderr, "%s: event %s missing before the result\n", what, want[k]);
    ok = 0;
  }
  entry *r = &log_e[at];
  if (r->ret != ret || (msg && strcmp(r->msg, msg) != 0)) {
    fprintf(stderr, "%s: result %d \"%s\", want %d \"%s\"\n", what, r->ret, r->msg, ret, msg ? msg : "*");
    ok = 0;
  }
  if (!thread_ok(what, "result callback", r->thr, where)) ok = 0;
  pthread_mutex_unlock(&log_mu);
  if (!ok) tu_failures++;
}

/* check_span_on for a call whose callbacks only the call itself causes. */
static void check_span(const char *what, int from, void *ud, const char **want, int ret, const char *msg) {
  check_span_on(what, from, ud, want, ret, msg, ON_CALLER);
}

static unsigned char *csv_bytes(void *ud, size_t *n) {
  int at = wait_result(ud);
  if (at < 0) {
    *n = 0;
    return NULL;
  }
  pthread_mutex_lock(&log_mu);
  unsigned char *w = malloc(log_e[at].len / 2 + 1);
  *n = tu_parse_csv(log_e[at].msg, log_e[at].len, w);
  pthread_mutex_unlock(&log_mu);
  return w;
}

static const char *none[] = {NULL};

int main(void) {
  main_thr = pthread_self();
  caller_delivers = tu_caller_delivers();

  /* new: one create callback, from a library thread */
  void *t_new_s = tag(), *t_new_c = tag();
  void *s = SdsNewReliabilityManager(res_cb, t_new_s);
  void *c = SdsNewReliabilityManager(res_cb, t_new_c);
  CHECK(s && c);
  /* (two managers: their create results may come in either order) */
  check_span("new S", wait_result(t_new_s), t_new_s, none, RET_OK, "");
  check_span("new C", wait_result(t_new_c), t_new_c, none, RET_OK, "");
  static char ev_tag;
  SdsSetEventCallback(c, ev_cb, &ev_tag);

  /* wrap: one result each; no events */
  unsigned char *w[4];
  size_t wl[4];
  for (int i = 0; i < 4; i++) {
    char id[4], content[16];
    snprintf(id, sizeof id, "m%d", i + 1);
    snprintf(content, sizeof content, "hello m%d", i + 1);
    void *t = tag();
    int from = log_size();
    CHECK_EQ_INT(SdsWrapOutgoingMessage(s, content, strlen(content), id, "c1", res_cb, t), RET_OK);
    check_span("wrap", from, t, none, RET_OK, NULL);
    w[i] = csv_bytes(t, &wl[i]);
  }

  /* unwrap m2, m3, m4: missing_dependencies precedes each result */
  const char *miss2[] = {"{\"eventType\":\"missing_dependencies\",\"messageId\":\"m2\",\"channelId\":\"c1\","
                         "\"missingDeps\":[{\"messageId\":\"m1\",\"retrievalHint\":\"\"}]}",
                         NULL};
  const char *miss3[] = {"{\"eventType\":\"missing_dependencies\",\"messageId\":\"m3\",\"channelId\":\"c1\","
                         "\"missingDeps\":[{\"messageId\":\"m1\",\"retrievalHint\":\"\"},"
                         "{\"messageId\":\"m2\",\"retrievalHint\":\"\"}]}",
                         NULL};
  const char *miss4[] = {"{\"eventType\":\"missing_dependencies\",\"messageId\":\"m4\",\"channelId\":\"c1\","
                         "\"missingDeps\":[{\"messageId\":\"m1\",\"retrievalHint\":\"\"},"
                         "{\"messageId\":\"m2\",\"retrievalHint\":\"\"},{\"messageId\":\"m3\",\"retrievalHint\":\"\"}]}",
                         NULL};
  const char **miss[] = {NULL, miss2, miss3, miss4};
  for (int i = 1; i < 4; i++) {
    void *t = tag();
    int from = log_size();
    CHECK_EQ_INT(SdsUnwrapReceivedMessage(c, w[i], wl[i], res_cb, t), RET_OK);
    check_span("unwrap waiting", from, t, miss[i], RET_OK, NULL);
  }
  /* unwrap m1: releases the chain; four message_ready, then the result */
  {
    const char *ready[] = {"{\"messageId\":\"m2\",\"channelId\":\"c1\",\"eventType\":\"message_ready\"}",
                           "{\"messageId\":\"m3\",\"channelId\":\"c1\",\"eventType\":\"message_ready\"}",
                           "{\"messageId\":\"m4\",\"channelId\":\"c1\",\"eventType\":\"message_ready\"}",
                           "{\"messageId\":\"m1\",\"channelId\":\"c1\",\"eventType\":\"message_ready\"}", NULL};
    void *t = tag();
    int from = log_size();
    CHECK_EQ_INT(SdsUnwrapReceivedMessage(c, w[0], wl[0], res_cb, t), RET_OK);
    check_span("unwrap m1", from, t, ready,
               RET_OK, "{\"message\":[104,101,108,108,111,32,109,49],\"channelId\":\"c1\",\"missingDeps\":[]}");
  }

  /* markDependenciesMet: x2 waits for x1; marking x1 releases x2 before the result */
  {
    void *t1 = tag(), *t2 = tag();
    int from = log_size();
    CHECK_EQ_INT(SdsWrapOutgoingMessage(s, "x1", 2, "x1", "c3", res_cb, t1), RET_OK);
    CHECK_EQ_INT(SdsWrapOutgoingMessage(s, "x2", 2, "x2", "c3", res_cb, t2), RET_OK);
    check_span("wrap x1", from, t1, none, RET_OK, NULL);
    size_t n;
    unsigned char *x2 = csv_bytes(t2, &n);
    const char *missx[] = {"{\"eventType\":\"missing_dependencies\",\"messageId\":\"x2\",\"channelId\":\"c3\","
                           "\"missingDeps\":[{\"messageId\":\"x1\",\"retrievalHint\":\"\"}]}",
                           NULL};
    void *t3 = tag();
    from = log_size();
    CHECK_EQ_INT(SdsUnwrapReceivedMessage(c, x2, n, res_cb, t3), RET_OK);
    check_span("unwrap x2", from, t3, missx, RET_OK, NULL);
    free(x2);
    const char *readyx[] = {"{\"messageId\":\"x2\",\"channelId\":\"c3\",\"eventType\":\"message_ready\"}", NULL};
    char *ids[] = {"x1"};
    void *t4 = tag();
    from = log_size();
    CHECK_EQ_INT(SdsMarkDependenciesMet(c, ids, 1, "c3", res_cb, t4), RET_OK);
    check_span("mark x1", from, t4, readyx, RET_OK, "");
    /* a processing error is a result like any other: one, from a library thread */
    void *t5 = tag();
    from = log_size();
    CHECK_EQ_INT(SdsMarkDependenciesMet(c, ids, 1, "nochan", res_cb, t5), RET_OK);
    check_span("mark unknown channel", from, t5, none, RET_ERR,
               "libsds error: handleRes fireSyncRes error: error processing MARK_DEPENDENCIES_MET request: "
               "reInvalidArgument");
  }

  /* startPeriodicTasks: the start-up periodic_sync precedes the result */
  {
    const char *sync[] = {"{\"eventType\":\"periodic_sync\"}", NULL};
    void *t = tag();
    int from = log_size();
    CHECK_EQ_INT(SdsStartPeriodicTasks(c, res_cb, t), RET_OK);
    /* the periodic tasks' thread may be delivering when the call ends */
    check_span_on("start", from, t, sync, RET_OK, "", ANY_THREAD);
  }

  /* reset: one result "", no events */
  {
    void *t = tag();
    int from = log_size();
    CHECK_EQ_INT(SdsResetReliabilityManager(c, res_cb, t), RET_OK);
    check_span("reset", from, t, none, RET_OK, "");
  }

  /* validation errors: on the caller's thread, inside the call, RET_ERR, no
     second callback later */
  {
    static char tv;
    int from = log_size();
    CHECK_EQ_INT(SdsWrapOutgoingMessage(c, "x", 1, NULL, "c1", res_cb, &tv), RET_ERR);
    pthread_mutex_lock(&log_mu);
    CHECK_EQ_INT(log_n, from + 1);
    if (log_n == from + 1) {
      CHECK_EQ_INT(log_e[from].kind, 'R');
      CHECK(log_e[from].ud == &tv);
      CHECK_EQ_INT(log_e[from].ret, RET_ERR);
      CHECK(pthread_equal(log_e[from].thr, main_thr));
      CHECK_STR(log_e[from].msg, "libsds error: message ID pointer is NULL");
    }
    pthread_mutex_unlock(&log_mu);
    compat_fence(c); /* no second result later */
    CHECK_EQ_INT(count_results(&tv), 1);
  }

  /* an unwrap whose result is the m1 chain again on a fresh manager, then
     cleanup at once: the events, the unwrap result and only then the cleanup
     result, which is the last thing that manager delivers */
  {
    void *t_new = tag();
    void *d = SdsNewReliabilityManager(res_cb, t_new);
    check_span("new D", wait_result(t_new), t_new, none, RET_OK, "");
    static char ev_d;
    SdsSetEventCallback(d, ev_cb, &ev_d);
    void *t1 = tag(), *t2 = tag(), *t3 = tag();
    int from = log_size();
    CHECK_EQ_INT(SdsUnwrapReceivedMessage(d, w[0], wl[0], res_cb, t1), RET_OK);
    CHECK_EQ_INT(SdsUnwrapReceivedMessage(d, w[1], wl[1], res_cb, t2), RET_OK);
    CHECK_EQ_INT(SdsCleanupReliabilityManager(d, res_cb, t3), RET_OK);
    const char *r1[] = {"{\"messageId\":\"m1\",\"channelId\":\"c1\",\"eventType\":\"message_ready\"}", NULL};
    const char *r2[] = {"{\"messageId\":\"m2\",\"channelId\":\"c1\",\"eventType\":\"message_ready\"}", NULL};
    check_span("D unwrap m1", from, t1, r1, RET_OK, NULL);
    check_span("D unwrap m2", wait_result(t1) + 1, t2, r2, RET_OK, NULL);
    check_span("D cleanup", wait_result(t2) + 1, t3, none, RET_OK, "");
    int at = wait_result(t3);
    tu_sleep_ms(100); /* not synchronisation: no fence exists once a manager is cleaned up (ctx is gone), so a late callback is given this long to show */
    CHECK_EQ_INT(log_size(), at + 1);
  }

  /* cleanup of S and C: one result each */
  {
    void *t1 = tag(), *t2 = tag();
    int from = log_size();
    CHECK_EQ_INT(SdsCleanupReliabilityManager(c, res_cb, t1), RET_OK);
    check_span("cleanup C", from, t1, none, RET_OK, "");
    from = log_size();
    CHECK_EQ_INT(SdsCleanupReliabilityManager(s, res_cb, t2), RET_OK);
    check_span("cleanup S", from, t2, none, RET_OK, "");
  }

  /* no call got a second result */
  tu_sleep_ms(150); /* not synchronisation: no fence exists once a manager is cleaned up (ctx is gone), so a late callback is given this long to show */
  for (int i = 0; i < ntags; i++) {
    int n = count_results(&tags[i]);
    if (n != 1) fprintf(stderr, "call #%d: %d result callbacks\n", i, n);
    CHECK_EQ_INT(n, 1);
  }

  for (int i = 0; i < 4; i++) free(w[i]);
  for (int i = 0; i < log_n; i++) free(log_e[i].msg);
  return tu_done("compat_ordering");
}
