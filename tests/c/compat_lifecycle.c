/* compat_lifecycle: contexts cleaning each other up from their event
   callbacks do not hang (a watchdog fails the program if they do), and every
   cleanup still calls back exactly once.
   - A's event callback cleans up B while B's cleans up A, both callbacks
     running at once;
   - each of four contexts' callbacks cleans up all four;
   - SdsSetEventCallback waits for a running call of the old callback, so its
     userData may be freed right after (ASan reports a use after free
     otherwise). */
#define _GNU_SOURCE /* syscall(SYS_gettid) */
#include "testutil.h"
#include "testwatchdog.h"

#include <sched.h>
#include <semaphore.h>
#include <sys/syscall.h>

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

static void *start_one(void *ctx) {
  CHECK_EQ_INT(SdsStartPeriodicTasks(ctx, on_ignore, NULL), RET_OK);
  return NULL;
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
  /* Starting runs the sync task once: a periodic_sync event per context.
     Each context is started from its own thread: the call may deliver that
     event itself, and the callbacks wait for one another. */
  pthread_t starters[MAXC];
  for (int i = 0; i < n; i++) CHECK(pthread_create(&starters[i], NULL, start_one, g->ctx[i]) == 0);
  for (int i = 0; i < n; i++) pthread_join(starters[i], NULL);
  pthread_mutex_lock(&g->mu);
  while (g->returned < n || g->results < n) pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
  CHECK_EQ_INT(g->bad, 0);
  CHECK_EQ_INT(g->results, n); /* each context cleaned up once, each cleanup called back */
}

/* ---- replacing the event callback while it runs ---- */

typedef struct {
  sem_t inside, go;
  int touched;
} old_ud;

static void on_old_event(int ret, const char *msg, size_t len, void *ud) {
  (void)ret, (void)msg, (void)len;
  old_ud *o = ud;
  if (o->touched++) return; /* only the first event blocks */
  sem_post(&o->inside);
  while (sem_wait(&o->go) == -1) {
  }
  o->touched++; /* after the replacement: a use after free if it did not wait */
}

typedef struct {
  void *ctx;
  old_ud *old;
  pid_t tid; /* atomic */
  int done;  /* atomic */
} replacer;

static void *replace(void *arg) {
  replacer *r = arg;
  __atomic_store_n(&r->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
  SdsSetEventCallback(r->ctx, on_ignore, NULL);
  sem_destroy(&r->old->inside);
  sem_destroy(&r->old->go);
  free(r->old);
  __atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
  return NULL;
}

static void test_set_event_callback_waits(void) {
  wd_stage("SdsSetEventCallback waits for the old callback", 30);
  void *ctx = SdsNewReliabilityManager(on_ignore, NULL);
  old_ud *o = calloc(1, sizeof *o);
  sem_init(&o->inside, 0, 0);
  sem_init(&o->go, 0, 0);
  SdsSetEventCallback(ctx, on_old_event, o);
  /* A periodic_sync event, which the old callback holds: started from another
     thread, since the call may deliver it itself and so wait with it. */
  pthread_t starter;
  pthread_create(&starter, NULL, start_one, ctx);
  while (sem_wait(&o->inside) == -1) {
  }
  sem_t *go = &o->go;
  replacer r = {ctx, o, 0, 0};
  pthread_t t;
  pthread_create(&t, NULL, replace, &r);
  /* The replacing thread cannot signal from inside the library: poll its state. */
  pid_t tid;
  while ((tid = __atomic_load_n(&r.tid, __ATOMIC_ACQUIRE)) == 0) sched_yield();
  while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) && wd_thread_state(tid) != 'S') sched_yield();
  CHECK(!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE)); /* it waits for the callback */
  sem_post(go);
  pthread_join(t, NULL);
  pthread_join(starter, NULL);
  tu_result res;
  tu_result_init(&res);
  CHECK_EQ_INT(SdsCleanupReliabilityManager(ctx, tu_result_cb, &res), RET_OK);
  CHECK(tu_wait(&res, 1));
  CHECK_EQ_INT(res.ret, RET_OK);
  tu_result_destroy(&res);
}

int main(void) {
  run_group("A cleans up B while B cleans up A (callbacks)", 2, 0);
  run_group("each of four callbacks cleans up all four", 4, 1);
  test_set_event_callback_waits();
  wd_stage("done", 0);
  return tu_done("compat_lifecycle");
}
