/* Compatible API, deliberate difference (ABI.md §1.5):
   SdsCleanupReliabilityManager stops the periodic tasks, delivers the pending
   events, releases the manager and calls back exactly once (RET_OK, "" of
   length 0), after every event and result of the calls made before it; the
   ctx is invalid afterwards (every call gives "libsds error: invalid
   context", a second cleanup included), nothing of that manager is delivered
   after the cleanup callback, and new managers work. (nim-sds 35a33ad queued a
   reset, recycled the ctx pointer for the next new manager and let the old
   periodic loops deliver to the new owner: trace steps 1120-1128.) A NULL
   callback gives RET_MISSING_CALLBACK and cleans nothing up. */
#include "testutil.h"
#include "testcompat.h"
#include "testcompatlog.h"

static const char invalid_text[] = "libsds error: invalid context";

static int count(char kind, void *ud) {
  int n = 0;
  pthread_mutex_lock(&log_mu);
  for (int i = 0; i < log_n; i++)
    if (log_e[i].kind == kind && (ud == NULL || log_e[i].ud == ud)) n++;
  pthread_mutex_unlock(&log_mu);
  return n;
}

static int log_index(char kind, void *ud) {
  int at = -1;
  pthread_mutex_lock(&log_mu);
  for (int i = 0; i < log_n; i++)
    if (log_e[i].kind == kind && log_e[i].ud == ud) {
      at = i;
      break;
    }
  pthread_mutex_unlock(&log_mu);
  return at;
}

/* Waits (5 s at most) until the log holds n entries of kind for ud. */
static int wait_for(char kind, void *ud, int n) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 5;
  int ok = 1;
  pthread_mutex_lock(&log_mu);
  for (;;) {
    int c = 0;
    for (int i = 0; i < log_n; i++)
      if (log_e[i].kind == kind && log_e[i].ud == ud) c++;
    if (c >= n) break;
    if (pthread_cond_timedwait(&log_cv, &log_mu, &deadline) == ETIMEDOUT) {
      ok = 0;
      break;
    }
  }
  pthread_mutex_unlock(&log_mu);
  if (!ok) {
    fprintf(stderr, "wait_for: timed out waiting for %d '%c' entries\n", n, kind);
    tu_failures++;
  }
  return ok;
}

/* Every int-returning function on a dead ctx: one synchronous invalid-context callback. */
static void check_dead(void *ctx) {
  char *ids[] = {"m1"};
  unsigned char junk[] = {1, 2, 3};
  for (int op = 0; op < 6; op++) {
    tu_result r;
    tu_result_init(&r);
    int rc = -1;
    switch (op) {
    case 0: rc = SdsWrapOutgoingMessage(ctx, "x", 1, "d1", "c1", tu_result_cb, &r); break;
    case 1: rc = SdsUnwrapReceivedMessage(ctx, junk, sizeof junk, tu_result_cb, &r); break;
    case 2: rc = SdsMarkDependenciesMet(ctx, ids, 1, "c1", tu_result_cb, &r); break;
    case 3: rc = SdsResetReliabilityManager(ctx, tu_result_cb, &r); break;
    case 4: rc = SdsStartPeriodicTasks(ctx, tu_result_cb, &r); break;
    case 5: rc = SdsCleanupReliabilityManager(ctx, tu_result_cb, &r); break;
    }
    CHECK_EQ_INT(rc, RET_ERR);
    CHECK_EQ_INT(r.calls, 1); /* synchronous */
    CHECK_EQ_INT(r.ret, RET_ERR);
    CHECK_STR(r.msg, invalid_text);
    tu_sleep_ms(10); /* not synchronisation: no fence exists for an invalid ctx; the window for a wrong second callback */
    CHECK_EQ_INT(r.calls, 1);
    tu_result_destroy(&r);
  }
}

int main(void) {
  static char tag_ev, tag_start, tag_u[4], tag_clean, tag_clean2;
  void *sender = new_mgr();
  void *ctx = new_mgr();
  SdsSetEventCallback(ctx, ev_cb, &tag_ev);

  /* periodic tasks running: the start-up periodic_sync arrives before the start result */
  CHECK_EQ_INT(SdsStartPeriodicTasks(ctx, res_cb, &tag_start), RET_OK);
  CHECK(wait_for('R', &tag_start, 1));
  CHECK_EQ_INT(count('E', &tag_ev), 1);

  /* m1..m4 from the sender; ctx gets m2, m3, m4 (waiting) then m1 (releases
     all), and cleanup is called at once, without waiting for any result */
  size_t lens[4];
  unsigned char *w[4];
  for (int i = 0; i < 4; i++) {
    char id[4], content[16];
    snprintf(id, sizeof id, "m%d", i + 1);
    snprintf(content, sizeof content, "hello m%d", i + 1);
    w[i] = wrap(sender, content, id, "c1", &lens[i]);
  }
  int order[4] = {1, 2, 3, 0};
  for (int k = 0; k < 4; k++)
    CHECK_EQ_INT(SdsUnwrapReceivedMessage(ctx, w[order[k]], lens[order[k]], res_cb, &tag_u[k]), RET_OK);
  CHECK_EQ_INT(SdsCleanupReliabilityManager(ctx, res_cb, &tag_clean), RET_OK);
  CHECK(wait_for('R', &tag_clean, 1));

  int at_cleanup = -1;
  pthread_mutex_lock(&log_mu);
  at_cleanup = log_n;
  pthread_mutex_unlock(&log_mu);

  /* exactly one cleanup callback: RET_OK, "" of length 0 */
  int ci = log_index('R', &tag_clean);
  CHECK(ci >= 0);
  if (ci >= 0) {
    CHECK_EQ_INT(log_e[ci].ret, RET_OK);
    CHECK_EQ_INT(log_e[ci].len, 0);
    CHECK_STR(log_e[ci].msg, "");
    /* it is the last entry: everything caused before it was delivered first */
    CHECK_EQ_INT(ci, at_cleanup - 1);
  }
  for (int k = 0; k < 4; k++) {
    CHECK_EQ_INT(count('R', &tag_u[k]), 1);
    int ui = log_index('R', &tag_u[k]);
    CHECK(ui >= 0 && ui < ci);
  }
  /* events: periodic_sync, 3 x missing_dependencies, 4 x message_ready */
  CHECK_EQ_INT(count('E', &tag_ev), 8);

  /* nothing more after the cleanup callback, periodic tasks included */
  tu_sleep_ms(200); /* not synchronisation: no fence exists once a manager is cleaned up (ctx is gone), so a late callback is given this long to show */
  pthread_mutex_lock(&log_mu);
  CHECK_EQ_INT(log_n, at_cleanup);
  pthread_mutex_unlock(&log_mu);

  /* every call on the cleaned-up ctx: invalid context; setters: no-ops */
  check_dead(ctx);
  SdsSetEventCallback(ctx, ev_cb, &tag_ev);
  SdsSetRetrievalHintProvider(ctx, NULL, NULL);

  /* a new manager works */
  void *fresh = new_mgr();
  SdsSetEventCallback(fresh, ev_cb, &tag_clean2);
  tu_result u;
  tu_result_init(&u);
  CHECK_EQ_INT(SdsUnwrapReceivedMessage(fresh, w[1], lens[1], tu_result_cb, &u), RET_OK);
  CHECK(tu_wait(&u, 1));
  CHECK_EQ_INT(u.ret, RET_OK);
  CHECK_STR(u.msg,
            "{\"message\":[104,101,108,108,111,32,109,50],\"channelId\":\"c1\",\"missingDeps\":"
            "[{\"messageId\":\"m1\",\"retrievalHint\":\"\"}]}");
  tu_result_destroy(&u);

  /* a second cleanup of the old ctx: RET_ERR invalid context, and it does not
     touch the new manager (nim-sds may hand the same pointer out again) */
  tu_result c2;
  tu_result_init(&c2);
  CHECK_EQ_INT(SdsCleanupReliabilityManager(ctx, tu_result_cb, &c2), RET_ERR);
  CHECK_EQ_INT(c2.calls, 1);
  CHECK_EQ_INT(c2.ret, RET_ERR);
  CHECK_STR(c2.msg, invalid_text);
  tu_result_destroy(&c2);
  tu_result u2;
  tu_result_init(&u2);
  CHECK_EQ_INT(SdsUnwrapReceivedMessage(fresh, w[0], lens[0], tu_result_cb, &u2), RET_OK);
  CHECK(tu_wait(&u2, 1));
  CHECK_EQ_INT(u2.ret, RET_OK);
  tu_result_destroy(&u2);
  /* fresh saw missing_dependencies for m2, then message_ready m1, m2 */
  CHECK_EQ_INT(count('E', &tag_clean2), 3);
  /* the old manager's event callback saw nothing more */
  CHECK_EQ_INT(count('E', &tag_ev), 8);

  /* NULL callback: RET_MISSING_CALLBACK, and the manager is not cleaned up */
  CHECK_EQ_INT(SdsCleanupReliabilityManager(fresh, NULL, NULL), RET_MISSING_CALLBACK);
  tu_result rs;
  tu_result_init(&rs);
  CHECK_EQ_INT(SdsResetReliabilityManager(fresh, tu_result_cb, &rs), RET_OK);
  CHECK(tu_wait(&rs, 1));
  CHECK_EQ_INT(rs.ret, RET_OK);
  tu_result_destroy(&rs);

  /* cleanup right after creation, before anything else */
  tu_result cr, cc;
  tu_result_init(&cr);
  tu_result_init(&cc);
  void *quick = SdsNewReliabilityManager(tu_result_cb, &cr);
  CHECK(quick != NULL);
  CHECK_EQ_INT(SdsCleanupReliabilityManager(quick, tu_result_cb, &cc), RET_OK);
  CHECK(tu_wait(&cr, 1));
  CHECK(tu_wait(&cc, 1));
  tu_sleep_ms(20); /* not synchronisation: no fence exists once a manager is cleaned up (ctx is gone), so a late callback is given this long to show */
  CHECK_EQ_INT(cr.calls, 1);
  CHECK_EQ_INT(cr.ret, RET_OK);
  CHECK_EQ_INT(cc.calls, 1);
  CHECK_EQ_INT(cc.ret, RET_OK);
  tu_result_destroy(&cr);
  tu_result_destroy(&cc);

  tu_result e1, e2;
  tu_result_init(&e1);
  tu_result_init(&e2);
  CHECK_EQ_INT(SdsCleanupReliabilityManager(fresh, tu_result_cb, &e1), RET_OK);
  CHECK_EQ_INT(SdsCleanupReliabilityManager(sender, tu_result_cb, &e2), RET_OK);
  CHECK(tu_wait(&e1, 1));
  CHECK(tu_wait(&e2, 1));
  CHECK_EQ_INT(e1.ret, RET_OK);
  CHECK_EQ_INT(e2.ret, RET_OK);
  tu_sleep_ms(20); /* not synchronisation: no fence exists once a manager is cleaned up (ctx is gone), so a late callback is given this long to show */
  CHECK_EQ_INT(e1.calls, 1);
  CHECK_EQ_INT(e2.calls, 1);
  tu_result_destroy(&e1);
  tu_result_destroy(&e2);

  for (int i = 0; i < 4; i++) free(w[i]);
  for (int i = 0; i < log_n; i++) free(log_e[i].msg);
  return tu_done("compat_cleanup");
}
