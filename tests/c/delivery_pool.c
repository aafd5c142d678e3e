/* delivery_pool: callbacks are delivered by a shared pool of library threads
   (libsds/cdispatch.c), one callback at a time per manager. This checks what
   the pool must keep from a thread per manager:
   - a callback blocked until another manager's callback runs does not stall
     it: four managers' callbacks wait on each other in a chain, so four
     deliveries must be in progress at once;
   - callbacks of one manager never overlap and keep their order while four
     host threads drive eight managers and callbacks take their time;
   - the extra threads the chain needed exit once idle, and 200 managers do
     not need 200 threads (Linux: counted in /proc/self/task).
   Delivery is awaited with a fence: a LIBSDS_TASK_SYNC run queues a
   PERIODIC_SYNC event behind everything queued before it. */
#include "testnative.h"

#include <semaphore.h>

/* ---- a chain of callbacks waiting on each other ---- */

#define CHAIN 4

static sem_t chain_inside[CHAIN], chain_done[CHAIN];
static int chain_waited_ok[CHAIN];

/* Waits up to 5 s for s; returns 0 on timeout. */
static int sem_wait_5s(sem_t *s) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 5;
  while (sem_timedwait(s, &deadline) == -1) {
    if (errno != EINTR) return 0;
  }
  return 1;
}

/* Manager i's handler: says it is inside, then (but for the last) waits for
   manager i+1's handler to finish before finishing itself. */
static void on_chain_event(const libsds_event *e, void *ud) {
  int i = (int)(intptr_t)ud;
  if (e->type != LIBSDS_EVENT_MESSAGE_READY) return;
  sem_post(&chain_inside[i]);
  chain_waited_ok[i] = i == CHAIN - 1 ? 1 : sem_wait_5s(&chain_done[i + 1]);
  sem_post(&chain_done[i]);
}

static void test_blocked_callbacks_do_not_stall_others(void) {
  libsds_handle sender = memory_manager("sender", 0, 0);
  libsds_handle m[CHAIN];
  for (int i = 0; i < CHAIN; i++) {
    sem_init(&chain_inside[i], 0, 0);
    sem_init(&chain_done[i], 0, 0);
    char pid[16];
    snprintf(pid, sizeof pid, "m%d", i);
    m[i] = memory_manager(pid, 0, 0);
    CHECK_EQ_INT(libsds_set_event_handler(m[i], on_chain_event, (void *)(intptr_t)i), LIBSDS_OK);
  }
  for (int i = 0; i < CHAIN; i++) {
    char id[16];
    snprintf(id, sizeof id, "chain-%d", i);
    libsds_buffer b = wrap_msg(sender, id, id, id); /* a channel each: no missing dependencies */
    CHECK_EQ_INT(unwrap_rc(m[i], b.data, b.len), LIBSDS_OK);
    libsds_buffer_free(&b);
    /* Manager i's handler is now blocked (but for the last) until i+1's ran. */
    CHECK(sem_wait_5s(&chain_inside[i]));
  }
  CHECK(sem_wait_5s(&chain_done[0]));
  for (int i = 0; i < CHAIN; i++) CHECK(chain_waited_ok[i]);
  for (int i = 0; i < CHAIN; i++) CHECK_EQ_INT(libsds_free(m[i]), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(sender), LIBSDS_OK);
  for (int i = 0; i < CHAIN; i++) {
    sem_destroy(&chain_inside[i]);
    sem_destroy(&chain_done[i]);
  }
}

/* ---- serial, ordered delivery per manager under load ---- */

#define MANAGERS 8
#define DRIVERS 4 /* each drives MANAGERS / DRIVERS managers */
#define MESSAGES 150

typedef struct {
  libsds_handle h;
  int inside;      /* atomic: handlers of this manager running now */
  int overlaps;    /* handlers that found another one running */
  int next;        /* the sequence number the next MESSAGE_READY must carry */
  int out_of_order;
  int ready;
  int synced; /* PERIODIC_SYNC seen: the fence */
} serial_mgr;

static pthread_mutex_t fence_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fence_cv = PTHREAD_COND_INITIALIZER;

static serial_mgr serial[MANAGERS];

static void on_serial_event(const libsds_event *e, void *ud) {
  serial_mgr *m = ud;
  if (__atomic_fetch_add(&m->inside, 1, __ATOMIC_ACQ_REL) != 0) __atomic_add_fetch(&m->overlaps, 1, __ATOMIC_RELAXED);
  if (e->type == LIBSDS_EVENT_MESSAGE_READY) {
    /* Ids are "<manager>-<seq>"; this manager's messages are unwrapped in seq order. */
    const char *dash = memchr(e->message_id.data, '-', e->message_id.len);
    int seq = dash ? atoi(dash + 1) : -1;
    if (seq != m->next) m->out_of_order++;
    m->next = seq + 1;
    m->ready++;
    if (seq % 7 == 0) tu_sleep_ms(1); /* not synchronisation: a slow handler now and then */
  } else if (e->type == LIBSDS_EVENT_PERIODIC_SYNC) {
    pthread_mutex_lock(&fence_mu);
    m->synced = 1;
    pthread_cond_broadcast(&fence_cv);
    pthread_mutex_unlock(&fence_mu);
  }
  __atomic_sub_fetch(&m->inside, 1, __ATOMIC_ACQ_REL);
}

typedef struct {
  int first; /* the first of this driver's managers */
  libsds_handle sender;
} driver;

static void *drive(void *arg) {
  driver *d = arg;
  for (int k = 0; k < MESSAGES; k++) {
    for (int j = 0; j < MANAGERS / DRIVERS; j++) {
      int mi = d->first + j;
      char id[32], ch[16];
      snprintf(id, sizeof id, "%d-%d", mi, k);
      snprintf(ch, sizeof ch, "ch-%d", mi); /* a channel per manager: each sees all of its history */
      libsds_buffer b = wrap_msg(d->sender, id, id, ch);
      CHECK_EQ_INT(unwrap_rc(serial[mi].h, b.data, b.len), LIBSDS_OK);
      libsds_buffer_free(&b);
    }
  }
  return NULL;
}

static void test_serial_and_ordered_per_manager(void) {
  for (int i = 0; i < MANAGERS; i++) {
    memset(&serial[i], 0, sizeof serial[i]);
    char pid[16];
    snprintf(pid, sizeof pid, "s%d", i);
    serial[i].h = memory_manager(pid, 0, 0);
    CHECK_EQ_INT(libsds_set_event_handler(serial[i].h, on_serial_event, &serial[i]), LIBSDS_OK);
  }
  driver drivers[DRIVERS];
  pthread_t threads[DRIVERS];
  for (int t = 0; t < DRIVERS; t++) {
    char pid[16];
    snprintf(pid, sizeof pid, "d%d", t);
    drivers[t].first = t * (MANAGERS / DRIVERS);
    drivers[t].sender = memory_manager(pid, 0, 0);
    pthread_create(&threads[t], NULL, drive, &drivers[t]);
  }
  for (int t = 0; t < DRIVERS; t++) pthread_join(threads[t], NULL);
  /* libsds_free drops what is still queued: wait for each manager's fence. */
  for (int i = 0; i < MANAGERS; i++) CHECK_EQ_INT(libsds_run_tasks(serial[i].h, LIBSDS_TASK_SYNC), LIBSDS_OK);
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 30;
  pthread_mutex_lock(&fence_mu);
  for (int i = 0; i < MANAGERS; i++)
    while (!serial[i].synced && pthread_cond_timedwait(&fence_cv, &fence_mu, &deadline) != ETIMEDOUT) {
    }
  pthread_mutex_unlock(&fence_mu);
  for (int i = 0; i < MANAGERS; i++) CHECK_EQ_INT(libsds_free(serial[i].h), LIBSDS_OK);
  for (int t = 0; t < DRIVERS; t++) CHECK_EQ_INT(libsds_free(drivers[t].sender), LIBSDS_OK);
  for (int i = 0; i < MANAGERS; i++) {
    CHECK_EQ_INT(serial[i].ready, MESSAGES);
    CHECK_EQ_INT(serial[i].overlaps, 0);
    CHECK_EQ_INT(serial[i].out_of_order, 0);
  }
}

/* ---- idle threads exit ---- */

#ifdef __linux__
static int thread_count(void) {
  DIR *d = opendir("/proc/self/task");
  int n = 0;
  if (!d) return -1;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

/* After the chain the pool had at least CHAIN threads; idle for longer than
   its 2 s limit, all but one exit. */
static void test_idle_threads_exit(int before_chain) {
  int peak = thread_count();
  CHECK(peak >= before_chain + CHAIN - 1);
  double deadline = tu_now() + 10;
  int now = peak;
  while (tu_now() < deadline && (now = thread_count()) > peak - (CHAIN - 1)) tu_sleep_ms(100);
  if (now > peak - (CHAIN - 1)) fprintf(stderr, "threads: %d before the chain, %d after, %d now\n", before_chain, peak, now);
  CHECK(now <= peak - (CHAIN - 1));
}
#endif

#ifdef __linux__
/* A manager does not cost a thread: 200 managers, each delivering an event,
   leave the process with a handful more threads at most. */
#define MANY 200

static int many_ready;

static void on_many_event(const libsds_event *e, void *ud) {
  (void)ud;
  if (e->type == LIBSDS_EVENT_MESSAGE_READY) __atomic_add_fetch(&many_ready, 1, __ATOMIC_RELAXED);
}

static void test_managers_share_threads(void) {
  int before = thread_count();
  libsds_handle sender = memory_manager("many-sender", 0, 0);
  libsds_buffer b = wrap_msg(sender, "hello", "hello", "ch");
  static libsds_handle many[MANY];
  for (int i = 0; i < MANY; i++) {
    char pid[16];
    snprintf(pid, sizeof pid, "many-%d", i);
    many[i] = memory_manager(pid, 0, 0);
    CHECK_EQ_INT(libsds_set_event_handler(many[i], on_many_event, NULL), LIBSDS_OK);
    CHECK_EQ_INT(unwrap_rc(many[i], b.data, b.len), LIBSDS_OK);
  }
  double deadline = tu_now() + 5;
  while (__atomic_load_n(&many_ready, __ATOMIC_RELAXED) < MANY && tu_now() < deadline) tu_sleep_ms(1);
  CHECK_EQ_INT(__atomic_load_n(&many_ready, __ATOMIC_RELAXED), MANY);
  int after = thread_count();
  if (after - before > 8) fprintf(stderr, "threads: %d before %d managers, %d after\n", before, MANY, after);
  CHECK(after - before <= 8);
  libsds_buffer_free(&b);
  for (int i = 0; i < MANY; i++) CHECK_EQ_INT(libsds_free(many[i]), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(sender), LIBSDS_OK);
}
#endif

int main(void) {
  libsds_handle first = memory_manager("first", 0, 0);
#ifdef __linux__
  int before_chain = thread_count();
#endif
  test_blocked_callbacks_do_not_stall_others();
#ifdef __linux__
  test_idle_threads_exit(before_chain);
#endif
  test_serial_and_ordered_per_manager();
#ifdef __linux__
  test_managers_share_threads();
#endif
  CHECK_EQ_INT(libsds_free(first), LIBSDS_OK);
  return tu_done("delivery_pool");
}
