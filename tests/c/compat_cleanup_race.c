/* Compatible API: SdsCleanupReliabilityManager racing with calls from other
   threads, and with a second cleanup of the same ctx. 8 threads keep wrapping
   on 4 managers while the main thread and a helper thread both clean each
   manager up. Every call either returned RET_OK and got exactly one result
   callback, delivered before that manager's cleanup callback, or returned
   RET_ERR after one synchronous "libsds error: invalid context" callback.
   Of the two cleanups of each manager exactly one returns RET_OK (one
   callback, RET_OK, ""), the other RET_ERR invalid context. Nothing of a
   manager is delivered after its cleanup callback. */
#include "testutil.h"

#define THREADS 8
#define MANAGERS 4
#define ITERS 400

typedef struct {
  int mgr;
  int rc;
  int calls;
  int ret;
  long seq; /* global arrival number of the (last) callback */
  int sync_ok; /* RET_ERR: the callback came inside the call with the invalid-context text */
  pthread_t thr;
} call;

static void *mgrs[MANAGERS];
static call calls[THREADS][ITERS];
static int done_iters[THREADS];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long seq;
static int total, duplicates;
static long cleanup_seq[MANAGERS][2];
static int cleanup_calls[MANAGERS][2], cleanup_ret[MANAGERS][2], cleanup_rc[MANAGERS][2];
static char cleanup_msg[MANAGERS][2][64];
static int events_after_cleanup;
static int cleaned[MANAGERS];

static void result_cb(int ret, const char *msg, size_t len, void *ud) {
  call *c = ud;
  pthread_mutex_lock(&mu);
  c->calls++;
  if (c->calls > 1) duplicates++;
  c->ret = ret;
  c->seq = ++seq;
  c->thr = pthread_self();
  if (ret == RET_ERR && len == strlen("libsds error: invalid context") &&
      memcmp(msg, "libsds error: invalid context", len) == 0)
    c->sync_ok = 1;
  total++;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

typedef struct {
  int m, k;
} cleanup_tag;
static cleanup_tag ctags[MANAGERS][2];

static void cleanup_cb(int ret, const char *msg, size_t len, void *ud) {
  cleanup_tag *t = ud;
  pthread_mutex_lock(&mu);
  cleanup_calls[t->m][t->k]++;
  cleanup_ret[t->m][t->k] = ret;
  cleanup_seq[t->m][t->k] = ++seq;
  snprintf(cleanup_msg[t->m][t->k], sizeof cleanup_msg[0][0], "%.*s", (int)len, msg);
  if (ret == RET_OK) cleaned[t->m] = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static void event_cb(int ret, const char *msg, size_t len, void *ud) {
  (void)ret, (void)msg, (void)len;
  int m = (int)(intptr_t)ud;
  pthread_mutex_lock(&mu);
  if (cleaned[m]) events_after_cleanup++;
  pthread_mutex_unlock(&mu);
}

static void *worker(void *arg) {
  int t = (int)(intptr_t)arg;
  int i;
  for (i = 0; i < ITERS; i++) {
    call *c = &calls[t][i];
    int m = (t + i) % MANAGERS;
    c->mgr = m;
    char id[32];
    snprintf(id, sizeof id, "t%d-%d", t, i);
    c->rc = SdsWrapOutgoingMessage(mgrs[m], id, strlen(id), id, "c1", result_cb, c);
    if (c->rc == RET_ERR) {
      pthread_mutex_lock(&mu);
      if (c->calls != 1 || !pthread_equal(c->thr, pthread_self())) c->sync_ok = 0;
      pthread_mutex_unlock(&mu);
    }
  }
  done_iters[t] = i;
  return NULL;
}

static void *second_cleaner(void *arg) {
  (void)arg;
  for (int m = 0; m < MANAGERS; m++) {
    tu_sleep_ms(10); /* not synchronisation: spreads the cleanups over the workers' calls */
    cleanup_rc[m][1] = SdsCleanupReliabilityManager(mgrs[m], cleanup_cb, &ctags[m][1]);
  }
  return NULL;
}

int main(void) {
  for (int m = 0; m < MANAGERS; m++) {
    tu_result r;
    tu_result_init(&r);
    mgrs[m] = SdsNewReliabilityManager(tu_result_cb, &r);
    CHECK(tu_wait(&r, 1));
    tu_result_destroy(&r);
    SdsSetEventCallback(mgrs[m], event_cb, (void *)(intptr_t)m);
    tu_result s;
    tu_result_init(&s);
    CHECK_EQ_INT(SdsStartPeriodicTasks(mgrs[m], tu_result_cb, &s), RET_OK);
    CHECK(tu_wait(&s, 1));
    tu_result_destroy(&s);
    ctags[m][0].m = ctags[m][1].m = m;
    ctags[m][0].k = 0;
    ctags[m][1].k = 1;
  }
  pthread_t th[THREADS], sc;
  for (int t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
  pthread_create(&sc, NULL, second_cleaner, NULL);
  for (int m = 0; m < MANAGERS; m++) {
    tu_sleep_ms(10); /* not synchronisation: spreads the cleanups over the workers' calls */
    cleanup_rc[m][0] = SdsCleanupReliabilityManager(mgrs[m], cleanup_cb, &ctags[m][0]);
  }
  for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
  pthread_join(sc, NULL);

  int ok = 0, err = 0;
  for (int t = 0; t < THREADS; t++)
    for (int i = 0; i < done_iters[t]; i++) {
      if (calls[t][i].rc == RET_OK) ok++;
      else err++;
    }
  /* wait for every result */
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 10;
  pthread_mutex_lock(&mu);
  while (total < ok + err)
    if (pthread_cond_timedwait(&cv, &mu, &deadline) == ETIMEDOUT) break;
  pthread_mutex_unlock(&mu);
  tu_sleep_ms(100); /* not synchronisation: no fence exists once a manager is cleaned up (ctx is gone), so a late callback is given this long to show */

  pthread_mutex_lock(&mu);
  int lost = 0, late = 0, bad_err = 0, other_rc = 0;
  for (int t = 0; t < THREADS; t++)
    for (int i = 0; i < done_iters[t]; i++) {
      call *c = &calls[t][i];
      if (c->rc == RET_OK) {
        if (c->calls == 0) lost++;
        /* delivered before the manager's (successful) cleanup callback */
        int k = cleanup_ret[c->mgr][0] == RET_OK && cleanup_calls[c->mgr][0] ? 0 : 1;
        if (c->calls && c->seq > cleanup_seq[c->mgr][k]) late++;
      } else if (c->rc == RET_ERR) {
        if (!c->sync_ok || c->calls != 1) bad_err++;
      } else {
        other_rc++;
      }
    }
  if (lost || late || bad_err || other_rc)
    fprintf(stderr, "calls: %d RET_OK (%d lost their result, %d got it after the cleanup callback), %d RET_ERR (%d bad), %d other\n",
            ok, lost, late, err, bad_err, other_rc);
  CHECK_EQ_INT(lost, 0);
  CHECK_EQ_INT(late, 0);
  CHECK_EQ_INT(bad_err, 0);
  CHECK_EQ_INT(other_rc, 0);
  CHECK_EQ_INT(duplicates, 0);
  CHECK_EQ_INT(total, ok + err);
  CHECK(ok > 0);   /* some calls got in before the cleanups */
  CHECK(err > 0);  /* and some came after */
  for (int m = 0; m < MANAGERS; m++) {
    int winners = 0;
    for (int k = 0; k < 2; k++) {
      CHECK_EQ_INT(cleanup_calls[m][k], 1);
      if (cleanup_rc[m][k] == RET_OK) {
        winners++;
        CHECK_EQ_INT(cleanup_ret[m][k], RET_OK);
        CHECK_STR(cleanup_msg[m][k], "");
      } else {
        CHECK_EQ_INT(cleanup_rc[m][k], RET_ERR);
        CHECK_EQ_INT(cleanup_ret[m][k], RET_ERR);
        CHECK_STR(cleanup_msg[m][k], "libsds error: invalid context");
      }
    }
    CHECK_EQ_INT(winners, 1);
  }
  CHECK_EQ_INT(events_after_cleanup, 0);
  pthread_mutex_unlock(&mu);
  printf("compat_cleanup_race: %d calls got in, %d found the manager gone\n", ok, err);
  return tu_done("compat_cleanup_race");
}
