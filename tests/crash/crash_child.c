//go:build ignore

// (The constraint above keeps the go tool from treating this file as cgo
// source of package crash: it is a separate program, built by `make test-crash`.)

/* crash_child: the process crash_test.go kills. It drives a manager M with the
   SQLite store through the C ABI, together with an in-memory peer P in the same
   process, choosing at random forever (until SIGKILL) among:
     - M wraps a new message                       ("m<run>-<n>")
     - P unwraps one of M's messages of this run   (P has seen it)
     - P wraps a message and M unwraps it          ("p<run>-<k>"; acknowledges
                                                    what P has seen)
     - P wraps a message M is never given          (a gap: later messages of P
                                                    cite it, M waits for it)
     - M marks a dependency it waits for as met
     - M runs its buffer and repair sweeps
   and reports every step on stdout, one line per write(2) (atomic on a pipe):
     S <run>                           M is open
     B <op> <id>                       before an operation on M (op: wrap,
                                       unwrap, mark, sweep; id "-" for sweep)
     E <op> <id> <status> [<lamport>]  after it returned (a wrap also gives
                                       the lamport its message carries)
     PW <id>                           P wrapped a message
     P <id>                            P unwrapped one of M's messages
   and from M's event handler (a library thread):
     R <id> / A <id> / G <id>          ready / acknowledged / given up
     M <id> <dep,...>                  waits for missing dependencies
     RR <id>                           a repair rebroadcast is due
   After each operation on M the child waits until M's events of that operation
   have been handled (a PERIODIC_SYNC fired after it comes back through the
   same ordered event queue), so when it is killed only the operation in flight
   can have undelivered events.

   usage: crash_child <db path> <run> <full|normal> <seed> [<missing dep id>...]
   The extra ids are dependencies M waits for from earlier runs (the parent
   reads them from the database), offered to libsds_mark_dependencies_met. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sds.h>

#define CHANNEL "crash-ch"

/* ---- output ---- */

static void out(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  size_t off = 0;
  while (off < (size_t)n) {
    ssize_t w = write(1, buf + off, (size_t)n - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(4); /* the parent is gone */
    }
    off += (size_t)w;
  }
}

static void fatal(const char *what, int rc) {
  out("F %s: %s: %s", what, libsds_status_str(rc), libsds_last_error());
  _exit(2);
}

/* ---- randomness (xorshift64*) ---- */

static uint64_t rng;

static uint64_t rnd(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 2685821657736338717ull;
}

static size_t pick(size_t n) { return (size_t)(rnd() % n); }

/* ---- the lamport field of a wire message ---- */

static int varint(const uint8_t *b, size_t n, size_t *i, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*i >= n) return -1;
    uint8_t c = b[(*i)++];
    *v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) return 0;
  }
  return -1;
}

/* The value of top-level varint field num, or -1; for field 1 (id), copies it. */
static int64_t field_varint(const uint8_t *b, size_t n, uint32_t num) {
  size_t i = 0;
  while (i < n) {
    uint64_t key, v;
    if (varint(b, n, &i, &key)) return -1;
    switch (key & 7) {
    case 0:
      if (varint(b, n, &i, &v)) return -1;
      if ((key >> 3) == num) return (int64_t)v;
      break;
    case 1: i += 8; break;
    case 5: i += 4; break;
    case 2:
      if (varint(b, n, &i, &v) || v > n - i) return -1;
      i += (size_t)v;
      break;
    default: return -1;
    }
  }
  return -1;
}

static void field_id(const uint8_t *b, size_t n, char *dst, size_t cap) {
  size_t i = 0;
  dst[0] = 0;
  while (i < n) {
    uint64_t key, v;
    if (varint(b, n, &i, &key)) return;
    switch (key & 7) {
    case 0: if (varint(b, n, &i, &v)) return; break;
    case 1: i += 8; break;
    case 5: i += 4; break;
    case 2:
      if (varint(b, n, &i, &v) || v > n - i) return;
      if ((key >> 3) == 1) {
        snprintf(dst, cap, "%.*s", (int)v, (const char *)(b + i));
        return;
      }
      i += (size_t)v;
      break;
    default: return;
    }
  }
}

/* ---- M's events ---- */

static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cv = PTHREAD_COND_INITIALIZER;
static uint64_t syncs_seen;

static void on_event(const libsds_event *e, void *ud) {
  (void)ud;
  int id_len = (int)e->message_id.len;
  const char *id = e->message_id.data ? e->message_id.data : "";
  switch (e->type) {
  case LIBSDS_EVENT_MESSAGE_READY: out("R %.*s", id_len, id); break;
  case LIBSDS_EVENT_MESSAGE_ACKNOWLEDGED: out("A %.*s", id_len, id); break;
  case LIBSDS_EVENT_MESSAGE_GIVEN_UP: out("G %.*s", id_len, id); break;
  case LIBSDS_EVENT_MISSING_DEPENDENCIES: {
    char deps[800];
    size_t k = 0;
    deps[0] = 0;
    for (size_t i = 0; i < e->missing_deps_len && k < sizeof deps - 64; i++)
      k += (size_t)snprintf(deps + k, sizeof deps - k, "%s%.*s", i ? "," : "", (int)e->missing_deps[i].message_id.len,
                            e->missing_deps[i].message_id.data);
    out("M %.*s %s", id_len, id, deps);
    break;
  }
  case LIBSDS_EVENT_REPAIR_READY: {
    char rid[128];
    field_id(e->message, e->message_len, rid, sizeof rid);
    out("RR %s", rid);
    break;
  }
  case LIBSDS_EVENT_PERIODIC_SYNC:
    pthread_mutex_lock(&sync_mu);
    syncs_seen++;
    pthread_cond_broadcast(&sync_cv);
    pthread_mutex_unlock(&sync_mu);
    break;
  case LIBSDS_EVENT_STORE_FAILED: out("F store failed event: %s", e->error ? e->error : ""); break;
  default: break;
  }
}

/* Waits until every event M queued so far has been handled. */
static uint64_t syncs_asked;

static void fence(libsds_handle m) {
  int rc = libsds_run_tasks(m, LIBSDS_TASK_SYNC);
  if (rc != LIBSDS_OK) fatal("run_tasks(SYNC)", rc);
  syncs_asked++;
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 10;
  pthread_mutex_lock(&sync_mu);
  while (syncs_seen < syncs_asked)
    if (pthread_cond_timedwait(&sync_cv, &sync_mu, &dl) == ETIMEDOUT) {
      pthread_mutex_unlock(&sync_mu);
      out("F fence: PERIODIC_SYNC not delivered in 10 s");
      _exit(2);
    }
  pthread_mutex_unlock(&sync_mu);
}

/* ---- state of this run ---- */

typedef struct {
  char id[64];
  libsds_buffer wire;
  int seen_by_p;
} msg;

#define MAX_MSGS 20000
#define MAX_MISSING 1024

static msg mmsgs[MAX_MSGS];
static size_t n_mmsgs, n_unseen;
static char *missing[MAX_MISSING];
static size_t n_missing;

static void add_missing(const char *id, size_t len) {
  for (size_t i = 0; i < n_missing; i++)
    if (strlen(missing[i]) == len && memcmp(missing[i], id, len) == 0) return;
  if (n_missing == MAX_MISSING) return;
  missing[n_missing] = malloc(len + 1);
  memcpy(missing[n_missing], id, len);
  missing[n_missing][len] = 0;
  n_missing++;
}

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s <db path> <run> <full|normal> <seed> [<missing dep id>...]\n", argv[0]);
    return 64;
  }
  const char *path = argv[1];
  int run = atoi(argv[2]);
  uint32_t durability = strcmp(argv[3], "full") == 0 ? LIBSDS_DURABILITY_FULL : LIBSDS_DURABILITY_NORMAL;
  rng = strtoull(argv[4], NULL, 10) * 0x9E3779B97F4A7C15ull + 1;
  for (int i = 5; i < argc; i++) add_missing(argv[i], strlen(argv[i]));

  libsds_options mo = LIBSDS_OPTIONS_INIT;
  mo.participant_id = "crash";
  mo.store_kind = LIBSDS_STORE_SQLITE;
  mo.sqlite_path = path;
  mo.sqlite_namespace = "crash";
  mo.sqlite_durability = durability;
  mo.config_set = LIBSDS_CFG_MAX_MESSAGE_HISTORY | LIBSDS_CFG_RESEND_INTERVAL | LIBSDS_CFG_MAX_RESEND_ATTEMPTS |
                  LIBSDS_CFG_REPAIR_T_MIN | LIBSDS_CFG_REPAIR_T_MAX;
  mo.max_message_history = 1000000; /* nothing is evicted: the log holds every message */
  mo.resend_interval_ms = 20;
  mo.max_resend_attempts = 3;
  mo.repair_t_min_ms = 1;
  mo.repair_t_max_ms = 30;
  libsds_handle m = 0;
  int rc = libsds_new(&mo, &m);
  if (rc != LIBSDS_OK) fatal("libsds_new(M)", rc);
  rc = libsds_set_event_handler(m, on_event, NULL);
  if (rc != LIBSDS_OK) fatal("set_event_handler", rc);

  /* P: in memory; a filter with a negligible false-positive rate, so that its
     messages acknowledge exactly what it has seen */
  libsds_options po = LIBSDS_OPTIONS_INIT;
  po.participant_id = "peer";
  po.config_set = LIBSDS_CFG_BLOOM_CAPACITY | LIBSDS_CFG_BLOOM_ERROR_RATE | LIBSDS_CFG_REPAIR_T_MIN |
                  LIBSDS_CFG_REPAIR_T_MAX;
  po.bloom_capacity = 4000;
  po.bloom_error_rate = 1e-9;
  po.repair_t_min_ms = 1;
  po.repair_t_max_ms = 30;
  libsds_handle p = 0;
  rc = libsds_new(&po, &p);
  if (rc != LIBSDS_OK) fatal("libsds_new(P)", rc);

  out("S %d", run);
  int64_t deadline = now_ms() + 30000; /* never outlive a lost parent for long */
  int n_wrap = 0, n_pmsg = 0;
  char id[64];
  for (;;) {
    if (now_ms() > deadline || n_mmsgs == MAX_MSGS) {
      out("F child ran out of time or room without being killed");
      _exit(3);
    }
    unsigned r = (unsigned)pick(100);
    if (r < 30) {
      /* M wraps */
      snprintf(id, sizeof id, "m%d-%d", run, ++n_wrap);
      libsds_buffer w = {0};
      out("B wrap %s", id);
      rc = libsds_wrap(m, (const uint8_t *)id, strlen(id), id, CHANNEL, &w);
      out("E wrap %s %d %lld", id, rc, (long long)(rc == LIBSDS_OK ? field_varint(w.data, w.len, 2) : -1));
      if (rc == LIBSDS_OK) {
        msg *x = &mmsgs[n_mmsgs++];
        snprintf(x->id, sizeof x->id, "%s", id);
        x->wire = w;
        n_unseen++;
      }
      fence(m);
    } else if (r < 50) {
      /* P sees one of M's messages of this run */
      if (n_unseen == 0) continue;
      size_t k = pick(n_unseen), j = 0;
      for (; j < n_mmsgs; j++)
        if (!mmsgs[j].seen_by_p && k-- == 0) break;
      msg *x = &mmsgs[j];
      libsds_unwrapped *u = NULL;
      rc = libsds_unwrap(p, x->wire.data, x->wire.len, &u);
      if (rc != LIBSDS_OK) fatal("P unwrap", rc);
      libsds_unwrapped_free(u);
      x->seen_by_p = 1;
      n_unseen--;
      libsds_buffer_free(&x->wire);
      out("P %s", x->id);
    } else if (r < 75) {
      /* P wraps; M unwraps it, or (one time in five) never gets it: a gap */
      int gap = pick(5) == 0;
      snprintf(id, sizeof id, "p%d-%d", run, ++n_pmsg);
      libsds_buffer w = {0};
      rc = libsds_wrap(p, (const uint8_t *)id, strlen(id), id, CHANNEL, &w);
      if (rc != LIBSDS_OK) fatal("P wrap", rc);
      out("PW %s", id);
      if (!gap) {
        libsds_unwrapped *u = NULL;
        out("B unwrap %s", id);
        rc = libsds_unwrap(m, w.data, w.len, &u);
        out("E unwrap %s %d", id, rc);
        if (rc == LIBSDS_OK)
          for (size_t i = 0; i < u->missing_deps_len; i++)
            add_missing(u->missing_deps[i].message_id.data, u->missing_deps[i].message_id.len);
        libsds_unwrapped_free(u);
        fence(m);
      }
      libsds_buffer_free(&w);
    } else if (r < 85) {
      /* M marks a dependency it waits for as met */
      if (n_missing == 0) continue;
      size_t k = pick(n_missing);
      char *dep = missing[k];
      libsds_str s = {dep, strlen(dep)};
      out("B mark %s", dep);
      rc = libsds_mark_dependencies_met(m, &s, 1, CHANNEL);
      out("E mark %s %d", dep, rc);
      missing[k] = missing[--n_missing];
      free(dep);
      fence(m);
    } else {
      /* M's periodic work */
      out("B sweep -");
      rc = libsds_run_tasks(m, LIBSDS_TASK_BUFFER_SWEEP | LIBSDS_TASK_REPAIR_SWEEP);
      out("E sweep - %d", rc);
      fence(m);
    }
  }
}
