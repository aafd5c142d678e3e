/* native_concurrency: 8 threads hammer 4 native managers — wraps, unwraps of
   each other's messages (byte copies through a shared queue), marks — while
   libsds_start runs every periodic task at 5 ms. Every call returns OK or an
   expected status, each manager delivers each message at most once, events
   arrive on library threads, and the managers are freed while events may
   still be flowing; nothing arrives after libsds_free returns. */
#include "testutil.h"

#include <unistd.h>

#define MANAGERS 4
#define THREADS 8
#define ROUNDS 90
#define MAX_READY 8192

typedef struct {
  libsds_handle h;
  pthread_mutex_t mu;
  char *ready[MAX_READY]; /* ids of MESSAGE_READY, in order */
  int nready, overflow;
  int missing, syncs, acks, given_up, repairs, dropped, store_failed, unknown;
  int on_caller_thread, bad_size, events_after_free;
  int freed;
} mgr;

static mgr mgrs[MANAGERS];
static pthread_t workers[THREADS];
static __thread int is_worker; /* set on the threads that call the API */

static void on_event(const libsds_event *e, void *ud) {
  mgr *m = ud;
  int on_worker = is_worker;
  pthread_mutex_lock(&m->mu);
  if (m->freed) m->events_after_free++;
  if (on_worker) m->on_caller_thread++;
  if (e->size != sizeof(libsds_event)) m->bad_size++;
  switch (e->type) {
  case LIBSDS_EVENT_MESSAGE_READY:
    if (m->nready < MAX_READY) {
      char *id = malloc(e->message_id.len + 1);
      memcpy(id, e->message_id.data, e->message_id.len + 1);
      m->ready[m->nready++] = id;
    } else {
      m->overflow++;
    }
    break;
  case LIBSDS_EVENT_MISSING_DEPENDENCIES: m->missing++; break;
  case LIBSDS_EVENT_PERIODIC_SYNC: m->syncs++; break;
  case LIBSDS_EVENT_MESSAGE_ACKNOWLEDGED: m->acks++; break;
  case LIBSDS_EVENT_MESSAGE_GIVEN_UP: m->given_up++; break;
  case LIBSDS_EVENT_REPAIR_READY: m->repairs++; break;
  case LIBSDS_EVENT_INCOMING_DROPPED: m->dropped++; break;
  case LIBSDS_EVENT_STORE_FAILED: m->store_failed++; break;
  default: m->unknown++;
  }
  pthread_mutex_unlock(&m->mu);
}

/* ---- a shared queue of wire-message copies, each addressed to one manager ---- */

typedef struct item {
  struct item *next;
  int target;
  size_t len;
  uint8_t data[];
} item;

static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;
static item *qhead, *qtail;
static int queued;

static void push(int target, const uint8_t *d, size_t n) {
  item *it = malloc(sizeof *it + n);
  it->next = NULL;
  it->target = target;
  it->len = n;
  memcpy(it->data, d, n);
  pthread_mutex_lock(&qmu);
  if (qtail)
    qtail->next = it;
  else
    qhead = it;
  qtail = it;
  queued++;
  pthread_mutex_unlock(&qmu);
}

static item *pop(void) {
  pthread_mutex_lock(&qmu);
  item *it = qhead;
  if (it) {
    qhead = it->next;
    if (!qhead) qtail = NULL;
  }
  pthread_mutex_unlock(&qmu);
  return it;
}

/* ---- the workers ---- */

typedef struct {
  int id;
  int calls, wraps, unwraps, marks, unknown_channel;
  int wraps_by[MANAGERS];
  int bad; /* unexpected statuses */
  unsigned seed;
} worker;

static unsigned next_rand(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return (*s >> 16) & 0x7fff;
}

static void *work(void *arg) {
  worker *w = arg;
  is_worker = 1;
  const uint8_t content[] = "concurrent payload";
  for (int round = 0; round < ROUNDS; round++) {
    int src = (w->id + round) % MANAGERS;
    char id[48], ch[16];
    snprintf(id, sizeof id, "m%d-t%d-r%d", src, w->id, round);
    snprintf(ch, sizeof ch, "ch%d", round % 3);
    libsds_buffer out = {0};
    int rc = libsds_wrap(mgrs[src].h, content, sizeof content - 1, id, ch, &out);
    w->calls++;
    w->wraps++;
    if (rc != LIBSDS_OK) {
      w->bad++;
      fprintf(stderr, "wrap on manager %d: %d (%s)\n", src, rc, libsds_last_error());
    } else {
      w->wraps_by[src]++;
      for (int t = 0; t < MANAGERS; t++)
        if (t != src) push(t, out.data, out.len);
    }
    libsds_buffer_free(&out);

    /* unwrap up to four queued messages on their targets */
    for (int k = 0; k < 4; k++) {
      item *it = pop();
      if (!it) break;
      libsds_unwrapped *u = NULL;
      rc = libsds_unwrap(mgrs[it->target].h, it->data, it->len, &u);
      w->calls++;
      w->unwraps++;
      if (rc != LIBSDS_OK || !u || u->content.len != sizeof content - 1) {
        w->bad++;
        fprintf(stderr, "unwrap on manager %d: %d (%s)\n", it->target, rc, libsds_last_error());
      } else {
        /* sometimes declare what it waits for met, as an application would */
        if (u->missing_deps_len && next_rand(&w->seed) % 4 == 0) {
          libsds_str ids[16];
          size_t n = u->missing_deps_len < 16 ? u->missing_deps_len : 16;
          for (size_t i = 0; i < n; i++) ids[i] = u->missing_deps[i].message_id;
          char uch[32];
          snprintf(uch, sizeof uch, "%.*s", (int)u->channel_id.len, u->channel_id.data);
          rc = libsds_mark_dependencies_met(mgrs[it->target].h, ids, n, uch);
          w->calls++;
          w->marks++;
          if (rc != LIBSDS_OK) w->bad++;
        }
      }
      libsds_unwrapped_free(u);
      free(it);
    }

    /* a mark on a channel the target may not have yet */
    if (round % 10 == 0) {
      libsds_str ids[1] = {{"nothing", 7}};
      int t = (int)(next_rand(&w->seed) % MANAGERS);
      rc = libsds_mark_dependencies_met(mgrs[t].h, ids, 1, round % 20 ? "ch1" : "never");
      w->calls++;
      w->marks++;
      if (rc == LIBSDS_ERR_UNKNOWN_CHANNEL)
        w->unknown_channel++;
      else if (rc != LIBSDS_OK)
        w->bad++;
    }
  }
  return NULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
  alarm(60);
  double t0 = tu_now();
  for (int i = 0; i < MANAGERS; i++) {
    char pid[16];
    snprintf(pid, sizeof pid, "p%d", i);
    libsds_options o = LIBSDS_OPTIONS_INIT;
    o.participant_id = pid;
    o.config_set = LIBSDS_CFG_SYNC_INTERVAL | LIBSDS_CFG_BUFFER_SWEEP_INTERVAL | LIBSDS_CFG_REPAIR_SWEEP_INTERVAL |
                   LIBSDS_CFG_RESEND_INTERVAL | LIBSDS_CFG_REPAIR_T_MIN | LIBSDS_CFG_REPAIR_T_MAX;
    o.sync_interval_ms = 5;
    o.buffer_sweep_interval_ms = 5;
    o.repair_sweep_interval_ms = 5;
    o.resend_interval_ms = 10;
    o.repair_t_min_ms = 1;
    o.repair_t_max_ms = 10;
    pthread_mutex_init(&mgrs[i].mu, NULL);
    CHECK_EQ_INT(libsds_new(&o, &mgrs[i].h), LIBSDS_OK);
    CHECK_EQ_INT(libsds_set_event_handler(mgrs[i].h, on_event, &mgrs[i]), LIBSDS_OK);
    CHECK_EQ_INT(libsds_start(mgrs[i].h), LIBSDS_OK);
  }

  worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (worker){.id = i, .seed = 1234u + (unsigned)i};
    CHECK_EQ_INT(pthread_create(&workers[i], NULL, work, &w[i]), 0);
  }
  int calls = 0, wraps = 0, unwraps = 0, marks = 0, bad = 0, unknown_channel = 0;
  int wraps_by[MANAGERS] = {0};
  for (int i = 0; i < THREADS; i++) {
    pthread_join(workers[i], NULL);
    calls += w[i].calls;
    wraps += w[i].wraps;
    unwraps += w[i].unwraps;
    marks += w[i].marks;
    bad += w[i].bad;
    unknown_channel += w[i].unknown_channel;
    for (int k = 0; k < MANAGERS; k++) wraps_by[k] += w[i].wraps_by[k];
  }

  /* free while periodic tasks run and events may still be queued */
  for (int i = 0; i < MANAGERS; i++) {
    CHECK_EQ_INT(libsds_free(mgrs[i].h), LIBSDS_OK);
    pthread_mutex_lock(&mgrs[i].mu);
    mgrs[i].freed = 1;
    pthread_mutex_unlock(&mgrs[i].mu);
  }
  double elapsed = tu_now() - t0;
  /* not synchronisation: no fence exists once a manager is freed, so a late
     callback (counted against its freed flag) is given this long to show */
  tu_sleep_ms(50);

  CHECK_EQ_INT(bad, 0);
  CHECK(calls >= 2000);
  CHECK_EQ_INT(wraps, THREADS * ROUNDS);
  CHECK(unknown_channel > 0); /* "never" is never created */

  int total_ready = 0, ready_sum = 0, missing_sum = 0, acks_sum = 0, syncs_sum = 0, repairs_sum = 0;
  for (int i = 0; i < MANAGERS; i++) {
    mgr *m = &mgrs[i];
    pthread_mutex_lock(&m->mu);
    CHECK_EQ_INT(m->events_after_free, 0);
    CHECK_EQ_INT(m->on_caller_thread, 0);
    CHECK_EQ_INT(m->bad_size, 0);
    CHECK_EQ_INT(m->unknown, 0);
    CHECK_EQ_INT(m->store_failed, 0);
    CHECK_EQ_INT(m->overflow, 0);
    CHECK(m->syncs >= 1); /* at least the first tick */
    /* each message at most once, and only others' messages */
    qsort(m->ready, (size_t)m->nready, sizeof m->ready[0], cmp_str);
    for (int k = 0; k < m->nready; k++) {
      if (k > 0 && strcmp(m->ready[k], m->ready[k - 1]) == 0) {
        fprintf(stderr, "manager %d delivered %s twice\n", i, m->ready[k]);
        tu_failures++;
      }
      char own[8];
      snprintf(own, sizeof own, "m%d-", i);
      if (strncmp(m->ready[k], own, strlen(own)) == 0) {
        fprintf(stderr, "manager %d delivered its own message %s\n", i, m->ready[k]);
        tu_failures++;
      }
    }
    /* at most every message of the other three managers */
    CHECK(m->nready <= wraps - wraps_by[i]);
    total_ready += m->nready;
    ready_sum += m->nready;
    missing_sum += m->missing;
    acks_sum += m->acks;
    syncs_sum += m->syncs;
    repairs_sum += m->repairs;
    for (int k = 0; k < m->nready; k++) free(m->ready[k]);
    pthread_mutex_unlock(&m->mu);
  }
  CHECK(total_ready > 0);
  CHECK(total_ready <= unwraps);
  printf("native_concurrency: %d calls (%d wraps, %d unwraps, %d marks) in %.2f s; events: %d ready, %d missing, "
         "%d acks, %d syncs, %d repairs\n",
         calls, wraps, unwraps, marks, elapsed, ready_sum, missing_sum, acks_sum, syncs_sum, repairs_sum);

  item *it;
  while ((it = pop()) != NULL) free(it);
  for (int i = 0; i < MANAGERS; i++) pthread_mutex_destroy(&mgrs[i].mu);
  return tu_done("native_concurrency");
}
