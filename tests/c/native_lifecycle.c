/* native_lifecycle: no order of lifecycle calls hangs. A watchdog fails the
   program if one stage takes longer than its limit.
   - libsds_start racing libsds_stop (and libsds_run_tasks) on one manager from
     several threads, then libsds_free racing them;
   - manager A's callback frees B while B's callback frees A, both callbacks
     running at once;
   - every manager's callback frees all managers at once (a shutdown done
     from callbacks). */
#include "testnative.h"
#include "testwatchdog.h"

#include <semaphore.h>

static int acceptable(int rc) { return rc == LIBSDS_OK || rc == LIBSDS_ERR_BAD_HANDLE || rc == LIBSDS_ERR_CLOSED; }

/* ---- start / stop / run_tasks / free from several threads ---- */

#define RACE_ITER 300

typedef struct {
  libsds_handle h;
  int op; /* 0 start, 1 stop, 2 run_tasks */
  int bad; /* statuses other than OK, BAD_HANDLE, CLOSED */
  sem_t *warm; /* posted once after RACE_ITER / 3 calls */
} racer;

static void *race(void *arg) {
  racer *r = arg;
  for (int i = 0; i < RACE_ITER; i++) {
    int rc = r->op == 0 ? libsds_start(r->h) : r->op == 1 ? libsds_stop(r->h) : libsds_run_tasks(r->h, LIBSDS_TASK_SYNC | LIBSDS_TASK_BUFFER_SWEEP);
    if (!acceptable(rc)) r->bad++;
    if (i == RACE_ITER / 3) sem_post(r->warm);
    if (rc == LIBSDS_ERR_BAD_HANDLE) break; /* freed */
  }
  return NULL;
}

static void test_start_stop_free_race(void) {
  for (int round = 0; round < 5; round++) {
    wd_stage("start/stop/run_tasks/free racing", 30);
    libsds_handle h = memory_manager("racer", 0, 0);
    sem_t warm;
    sem_init(&warm, 0, 0);
    racer r[6];
    pthread_t t[6];
    for (int i = 0; i < 6; i++) {
      r[i] = (racer){h, i % 3, 0, &warm};
      pthread_create(&t[i], NULL, race, &r[i]);
    }
    /* Free while every racer is still calling (each has made a third of its calls). */
    for (int i = 0; i < 6; i++) sem_wait(&warm);
    CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
    for (int i = 0; i < 6; i++) {
      pthread_join(t[i], NULL);
      CHECK_EQ_INT(r[i].bad, 0);
    }
    sem_destroy(&warm);
  }
  /* Start racing stop alone, then a free after they are done. */
  wd_stage("start racing stop, then free", 30);
  libsds_handle h = memory_manager("start-stop", 0, 0);
  sem_t warm;
  sem_init(&warm, 0, 0);
  racer a = {h, 0, 0, &warm}, b = {h, 1, 0, &warm};
  pthread_t ta, tb;
  pthread_create(&ta, NULL, race, &a);
  pthread_create(&tb, NULL, race, &b);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  CHECK_EQ_INT(a.bad + b.bad, 0);
  CHECK_EQ_INT(libsds_stop(h), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  sem_destroy(&warm);
}

/* ---- managers freeing each other from their callbacks ---- */

#define MAXM 4

typedef struct {
  int n;                   /* managers in the group */
  libsds_handle h[MAXM];
  int all;                 /* 1: each callback frees all; 0: i frees (i+1) % n */
  sem_t inside;            /* posted by each callback on entry */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int entered, returned;   /* callbacks in / finished */
  int bad;                 /* unacceptable statuses */
} group;

typedef struct {
  group *g;
  int i;
} member;

static void on_group_event(const libsds_event *e, void *ud) {
  member *me = ud;
  group *g = me->g;
  if (e->type != LIBSDS_EVENT_PERIODIC_SYNC) return;
  /* Wait until every member's callback is running, so the frees overlap. */
  pthread_mutex_lock(&g->mu);
  g->entered++;
  pthread_cond_broadcast(&g->cv);
  while (g->entered < g->n) pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
  for (int k = 0; k < g->n; k++) {
    if (!g->all && k != (me->i + 1) % g->n) continue;
    int rc = libsds_free(g->h[k]);
    if (!acceptable(rc)) __atomic_add_fetch(&g->bad, 1, __ATOMIC_RELAXED);
  }
  pthread_mutex_lock(&g->mu);
  g->returned++;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

static void run_group(const char *what, int n, int all) {
  wd_stage(what, 30);
  /* Static: a callback may still be unlocking g.mu when the wait below ends. */
  static group groups[8];
  static int used;
  group *gp = &groups[used++];
#define g (*gp)
  memset(&g, 0, sizeof g);
  g.n = n;
  g.all = all;
  pthread_mutex_init(&g.mu, NULL);
  pthread_cond_init(&g.cv, NULL);
  member me[MAXM];
  for (int i = 0; i < n; i++) {
    char pid[16];
    snprintf(pid, sizeof pid, "g%d", i);
    g.h[i] = memory_manager(pid, 0, 0);
    me[i] = (member){&g, i};
    CHECK_EQ_INT(libsds_set_event_handler(g.h[i], on_group_event, &me[i]), LIBSDS_OK);
  }
  for (int i = 0; i < n; i++) CHECK_EQ_INT(libsds_run_tasks(g.h[i], LIBSDS_TASK_SYNC), LIBSDS_OK);
  pthread_mutex_lock(&g.mu);
  while (g.returned < n) pthread_cond_wait(&g.cv, &g.mu);
  pthread_mutex_unlock(&g.mu);
  CHECK_EQ_INT(g.bad, 0);
  /* Every manager is gone. */
  for (int i = 0; i < n; i++) CHECK_EQ_INT(libsds_free(g.h[i]), LIBSDS_ERR_BAD_HANDLE);
#undef g
}

int main(void) {
  test_start_stop_free_race();
  run_group("A frees B while B frees A (callbacks)", 2, 0);
  run_group("a ring of four frees the next (callbacks)", 4, 0);
  run_group("each of four callbacks frees all four", 4, 1);
  wd_stage("done", 0);
  return tu_done("native_lifecycle");
}
