/* native_backpressure: a manager whose handler falls behind makes callers
   wait instead of queueing without bound, and libsds_free does not deliver
   the backlog.
   - a handler blocks in its first callback; a host thread keeps causing
     events (LIBSDS_TASK_SYNC runs): it blocks once LIBSDS_MAX_PENDING_EVENTS
     are pending;
   - libsds_free wakes it with LIBSDS_ERR_CLOSED (the manager is being freed),
     returns as soon as the running callback does, and the handler never sees
     the dropped backlog;
   - a call made from inside the handler into its own full queue does not wait
     (it would wait for itself). */
#define _GNU_SOURCE /* syscall(SYS_gettid) */
#include "testnative.h"
#include "testwatchdog.h"

#include <sched.h>
#include <semaphore.h>
#include <sys/syscall.h>

typedef struct {
  libsds_handle h;
  sem_t entered, release;
  int events;          /* atomic: callbacks run */
  int self_calls_rc;   /* in-callback run_tasks status */
  int self_calls;      /* in-callback calls made while the queue was full */
  pthread_mutex_t mu;  /* with cv: events changed */
  pthread_cond_t cv;
} slow;

static void on_slow_event(const libsds_event *e, void *ud);

static void slow_init(slow *s, const char *pid) {
  memset(s, 0, sizeof *s);
  sem_init(&s->entered, 0, 0);
  sem_init(&s->release, 0, 0);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  s->h = memory_manager(pid, 0, 0);
  CHECK_EQ_INT(libsds_set_event_handler(s->h, on_slow_event, s), LIBSDS_OK);
}

static void on_slow_event(const libsds_event *e, void *ud) {
  slow *s = ud;
  (void)e;
  pthread_mutex_lock(&s->mu);
  int n = ++s->events;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  if (n == 1) {
    sem_post(&s->entered);
    while (sem_wait(&s->release) == -1) {
    }
    /* The queue is full now: calls from here must not wait on it. */
    for (int i = 0; i < 3; i++) {
      s->self_calls_rc = libsds_run_tasks(s->h, LIBSDS_TASK_SYNC);
      s->self_calls++;
    }
  }
}

typedef struct {
  slow *s;
  int done;   /* atomic: calls that returned LIBSDS_OK */
  int last;   /* the first status that was not LIBSDS_OK */
  pid_t tid;  /* atomic */
} producer;

static void *produce(void *arg) {
  producer *p = arg;
  __atomic_store_n(&p->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
  for (int i = 0; i < 4 * LIBSDS_MAX_PENDING_EVENTS; i++) {
    int rc = libsds_run_tasks(p->s->h, LIBSDS_TASK_SYNC);
    if (rc != LIBSDS_OK) {
      p->last = rc;
      return NULL;
    }
    __atomic_add_fetch(&p->done, 1, __ATOMIC_ACQ_REL);
  }
  p->last = LIBSDS_OK;
  return NULL;
}

typedef struct {
  libsds_handle h;
  int rc;
} freer;

static void *do_free(void *arg) {
  freer *f = arg;
  f->rc = libsds_free(f->h);
  return NULL;
}

/* One scenario; returns the producer's final status. */
static int scenario(void) {
  static slow s; /* the last callback may still be unlocking s.mu after free */
  slow_init(&s, "slow");

  producer p = {&s, 0, 0, 0};
  pthread_t pt;
  pthread_create(&pt, NULL, produce, &p);
  while (sem_wait(&s.entered) == -1) {
  }
  /* The producer must come to a stop: blocked (in the queue's wait), having
     queued no more than the bound (plus the event being delivered). Nothing
     can signal from inside that wait, so this polls the thread's state. */
  pid_t tid;
  while ((tid = __atomic_load_n(&p.tid, __ATOMIC_ACQUIRE)) == 0) sched_yield();
  for (;;) {
    int before = __atomic_load_n(&p.done, __ATOMIC_ACQUIRE);
    if (before >= LIBSDS_MAX_PENDING_EVENTS && wd_thread_state(tid) == 'S' &&
        __atomic_load_n(&p.done, __ATOMIC_ACQUIRE) == before)
      break;
    if (before > LIBSDS_MAX_PENDING_EVENTS + 1) break; /* no backpressure: fails below */
    sched_yield();
  }
  int queued = __atomic_load_n(&p.done, __ATOMIC_ACQUIRE);
  CHECK(queued <= LIBSDS_MAX_PENDING_EVENTS + 1);

  /* Free while the handler is blocked: the producer is woken with CLOSED. */
  freer f = {s.h, -100};
  pthread_t ft;
  pthread_create(&ft, NULL, do_free, &f);
  pthread_join(pt, NULL);
  int last = p.last;
  sem_post(&s.release);
  pthread_join(ft, NULL);
  CHECK_EQ_INT(f.rc, LIBSDS_OK);
  /* The running callback finished; nothing of the backlog was delivered. */
  pthread_mutex_lock(&s.mu);
  CHECK_EQ_INT(s.events, 1);
  pthread_mutex_unlock(&s.mu);
  CHECK_EQ_INT(s.self_calls, 3);
  /* From inside the callback the manager is being freed (or gone). */
  CHECK(s.self_calls_rc == LIBSDS_ERR_CLOSED || s.self_calls_rc == LIBSDS_ERR_BAD_HANDLE);
  return last;
}

/* The handler's own calls into its full queue return (no self-deadlock). */
static void test_call_from_callback_into_full_queue(void) {
  wd_stage("a callback calls into its own full queue", 30);
  static slow self;
  slow_init(&self, "self");
  CHECK_EQ_INT(libsds_run_tasks(self.h, LIBSDS_TASK_SYNC), LIBSDS_OK);
  while (sem_wait(&self.entered) == -1) {
  }
  /* The first callback is running: fill the queue behind it. */
  for (int i = 0; i < LIBSDS_MAX_PENDING_EVENTS; i++) CHECK_EQ_INT(libsds_run_tasks(self.h, LIBSDS_TASK_SYNC), LIBSDS_OK);
  sem_post(&self.release); /* its three calls must not wait for room */
  int want = 1 + LIBSDS_MAX_PENDING_EVENTS + 3;
  pthread_mutex_lock(&self.mu);
  while (self.events < want) pthread_cond_wait(&self.cv, &self.mu);
  pthread_mutex_unlock(&self.mu);
  CHECK_EQ_INT(self.self_calls, 3);
  CHECK_EQ_INT(self.self_calls_rc, LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(self.h), LIBSDS_OK);
}

int main(void) {
  /* The producer may reach the manager after free began (then BAD_HANDLE):
     retry until the ordering under test happened, a few times at most. */
  int closed = 0;
  for (int round = 0; round < 5 && !closed; round++) {
    wd_stage("backpressure, then free with a backlog", 30);
    int last = scenario();
    CHECK(last == LIBSDS_ERR_CLOSED || last == LIBSDS_ERR_BAD_HANDLE);
    closed = last == LIBSDS_ERR_CLOSED;
  }
  CHECK(closed);
  test_call_from_callback_into_full_queue();
  wd_stage("done", 0);
  return tu_done("native_backpressure");
}
