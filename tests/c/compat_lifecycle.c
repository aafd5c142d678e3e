/* compat_lifecycle: contexts cleaning each other up from their event
   callbacks do not hang (a watchdog fails the program if they do), and every
   cleanup still calls back exactly once.
   - A's event callback cleans up B while B's cleans up A, both callbacks
     running at once;
   - each of four contexts' callbacks cleans up all four. */
#include "testutil.h"
#include "testwatchdog.h"

#define MAXC 4

typedef struct {
  int n, all;
  void *ctx[MAXC];
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int entered, returned; /* event callbacks that rendezvoused / finished */
  int results;           /* cleanup result callbacks */
  int bad;               /* cleanups that returned neither RET_OK nor RET_ERR */
} group;

typedef struct {
  group *g;
  int i;
  int fired; /* this member's callback already cleaned up (only the first event does) */
} member;

static void on_cleanup_result(int ret, const char *msg, size_t len, void *ud) {
  (void)msg, (void)len;
  group *g = ud;
  pthread_mutex_lock(&g->mu);
  if (ret == RET_OK) g->results++;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

static void on_ignore(int ret, const char *msg, size_t len, void *ud) { (void)ret, (void)msg, (void)len, (void)ud; }

static void on_event(int ret, const char *msg, size_t len, void *ud) {
  (void)ret, (void)msg, (void)len;
  member *me = ud;
  group *g = me->g;
  if (me->fired++) return;
  pthread_mutex_lock(&g->mu);
  g->entered++;
  pthread_cond_broadcast(&g->cv);
  while (g->entered < g->n) pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
  for (int k = 0; k < g->n; k++) {
    if (!g->all && k != (me->i + 1) % g->n) continue;
    int rc = SdsCleanupReliabilityManager(g->ctx[k], on_cleanup_result, g);
    /* RET_ERR: another callback cleaned it up first (invalid context). */
    if (rc != RET_OK && rc != RET_ERR) __atomic_add_fetch(&g->bad, 1, __ATOMIC_RELAXED);
  }
  pthread_mutex_lock(&g->mu);
  g->returned++;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

static void run_group(const char *what, int n, int all) {
  wd_stage(what, 30);
  static group groups[4]; /* static: callbacks may still unlock g->mu after the wait */
  static member members[4][MAXC];
  static int used;
  group *g = &groups[used];
  member *me = members[used++];
  memset(g, 0, sizeof *g);
  g->n = n;
  g->all = all;
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->cv, NULL);
  for (int i = 0; i < n; i++) {
    g->ctx[i] = SdsNewReliabilityManager(on_ignore, NULL);
    CHECK(g->ctx[i] != NULL);
    me[i] = (member){g, i, 0};
    SdsSetEventCallback(g->ctx[i], on_event, &me[i]);
  }
  /* Starting runs the sync task once: a periodic_sync event per context. */
  for (int i = 0; i < n; i++) CHECK_EQ_INT(SdsStartPeriodicTasks(g->ctx[i], on_ignore, NULL), RET_OK);
  pthread_mutex_lock(&g->mu);
  while (g->returned < n || g->results < n) pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
  CHECK_EQ_INT(g->bad, 0);
  CHECK_EQ_INT(g->results, n); /* each context cleaned up once, each cleanup called back */
}

int main(void) {
  run_group("A cleans up B while B cleans up A (callbacks)", 2, 0);
  run_group("each of four callbacks cleans up all four", 4, 1);
  wd_stage("done", 0);
  return tu_done("compat_lifecycle");
}
