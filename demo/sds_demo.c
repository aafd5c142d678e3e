/* sds_demo — a lossy-network group chat through libsds, end to end.
 *
 * N participants share one channel. Each is a libsds manager (native API) with
 * its own participant id and its own SQLite store in a temporary directory.
 * They exchange messages over a simulated broadcast network that drops,
 * duplicates, delays and reorders packets, deterministically from --seed.
 * Losses are recovered on two paths:
 *   - SDS-R: a REPAIR_READY event makes the participant rebroadcast the message;
 *   - a simulated store node (the transport's archive of every packet the senders
 *     published) answers retrieval-hint lookups for a share of the missing
 *     messages; the participant unwraps the fetched packet and, if that message
 *     still waits for older ones, calls libsds_mark_dependencies_met for it.
 * Midway one participant is stopped (libsds_free), misses messages while down,
 * is restarted from its database (libsds_new on the same file) and catches up.
 * After a lossy phase every participant keeps sending one message per round over
 * a lossless network until everyone has delivered everything; the program then
 * checks that every participant delivered each of the others' messages exactly
 * once, prints a report, and exits 0 only if all is well.
 *
 * Determinism (same --seed, same run):
 *   - One PRNG (splitmix64) drives every network decision, always consumed in
 *     the same order; store-node answers are a hash of (seed, participant, id).
 *   - Events arrive on library threads, in order per manager. The handler only copies
 *     them into the participant's queue. After every libsds call the program
 *     runs libsds_run_tasks(h, LIBSDS_TASK_SYNC) and waits for the resulting
 *     PERIODIC_SYNC event: a manager delivers its events in order, so when that
 *     marker arrives every event of the call before it has arrived too. The queue
 *     is then processed on the main thread, so events are handled at fixed points.
 *   - The SDS-R timers run on the real clock. Every timer the library arms is
 *     settled before anything looks at it: a round is
 *         sweep all | sleep > T_max | wrap all | deliver | sleep > 2*T_max
 *     so every repair response armed while delivering (T_resp < T_max) is due at
 *     the next sweep, every repair request armed while delivering is past its
 *     expiry at that sweep (dropped, then asked again by RerequestRepairs), and
 *     every request asked again at a sweep is due at the next wraps. Only lower
 *     bounds on elapsed time matter, so a slow machine changes timings, never the
 *     run. Repair rebroadcasts of one sweep are sent in message-id order.
 *     Resend intervals are a day, so no message is given up by the clock.
 *   - Periodic tasks are driven with libsds_run_tasks; libsds_start is not used.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sds.h>

#define CHANNEL "demo-chat"
#define MAX_PARTICIPANTS 64
#define PATHLEN 4096

/* ======================================================================== */
/* options                                                                   */
/* ======================================================================== */

typedef struct {
  int participants;
  int rounds;        /* lossy rounds */
  int messages;      /* alternative to rounds: messages in the lossy phase */
  double loss, dup, delay;
  int max_delay;     /* rounds */
  uint64_t seed;
  double store_share;
  int down_peer, down_at, down_for;
  int t_min, t_max;  /* SDS-R window, ms */
  int groups;        /* SDS-R response groups */
  int max_requests;  /* SDS-R repair requests per outgoing message */
  int history;       /* causal-history entries per message */
  int bloom_capacity;
  int max_lossless;  /* give up after this many lossless rounds */
  int keep_dir, quiet, no_timings;
} opts_t;

static opts_t O = {
    .participants = 6,
    .rounds = 30,
    .messages = 0,
    .loss = 0.20,
    .dup = 0.10,
    .delay = 0.20,
    .max_delay = 3,
    .seed = 1,
    .store_share = 0.5,
    .down_peer = -2, /* unset: participants / 2 */
    .down_at = -1,
    .down_for = -1, /* unset: 4, or less if the lossy phase is short */
    .t_min = 10,
    .t_max = 30,
    .groups = 1,
    .max_requests = 32,
    .history = 20,
    .bloom_capacity = 10000,
    .max_lossless = 200,
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: sds_demo [flags]\n"
          "\n"
          "A group chat over a lossy simulated network through libsds: SDS causal\n"
          "delivery, SDS-R repair, store-node retrieval, a restart from SQLite.\n"
          "\n"
          "  --participants N   participants in the channel (default 6, at least 3)\n"
          "  --rounds N         rounds of the lossy phase; each participant sends one\n"
          "                     message per round (default 30)\n"
          "  --messages N       alternatively: messages sent in the lossy phase\n"
          "                     (rounds = N / participants, rounded up)\n"
          "  --loss P           probability a packet copy is dropped (default 0.20)\n"
          "  --dup P            probability a packet is duplicated (default 0.10)\n"
          "  --delay P          probability a copy is held back 1..max-delay rounds,\n"
          "                     arriving out of order (default 0.20)\n"
          "  --max-delay N      longest hold-back in rounds (default 3)\n"
          "  --reorder P        same as --delay\n"
          "  --seed N           seed of the simulation (default 1): same seed, same run\n"
          "  --store-share P    share of lookups the store node answers (default 0.5)\n"
          "  --down N           participant stopped and restarted (default participants/2;\n"
          "                     -1: nobody)\n"
          "  --down-at R        round before which it stops (default rounds/3 + 1,\n"
          "                     at least 2)\n"
          "  --down-for N       rounds it stays down (default 4, fewer if the lossy\n"
          "                     phase ends sooner)\n"
          "  --t-min MS         SDS-R T_min (default 10)\n"
          "  --t-max MS         SDS-R T_max (default 30); rounds last about 3*T_max\n"
          "  --response-groups N  SDS-R response groups (default 1)\n"
          "  --max-repair-requests N  SDS-R requests per message (default 32)\n"
          "  --causal-history N causal-history entries per message (default 20;\n"
          "                     the library default is 10)\n"
          "  --bloom-capacity N bloom filter capacity (default 10000)\n"
          "  --max-lossless N   give up after N lossless rounds (default 200)\n"
          "  --keep-dir         keep the temporary directory with the SQLite stores\n"
          "  --quiet            no progress output\n"
          "  --no-timings       leave wall-clock times out of the report (for diffs)\n"
          "  --help             this text\n"
          "\n"
          "Exit status: 0 if every participant delivered every other participant's\n"
          "message exactly once and nothing was given up; 1 otherwise; 2 on bad flags.\n");
}

static int parse_int(const char *s, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < -1000000000L || v > 1000000000L) return -1;
  *out = (int)v;
  return 0;
}

static int parse_prob(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= 0.0 && v <= 1.0)) return -1;
  *out = v;
  return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || end == s || *end || s[0] == '-') return -1;
  *out = (uint64_t)v;
  return 0;
}

static int parse_args(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      exit(0);
    }
    if (!strcmp(a, "--keep-dir")) { O.keep_dir = 1; continue; }
    if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) { O.quiet = 1; continue; }
    if (!strcmp(a, "--no-timings")) { O.no_timings = 1; continue; }
    static const char *const valued[] = {
        "--participants", "--rounds", "--messages", "--loss", "--dup", "--delay", "--reorder", "--max-delay",
        "--seed", "--store-share", "--down", "--down-at", "--down-for", "--t-min", "--t-max", "--response-groups",
        "--max-repair-requests", "--causal-history", "--bloom-capacity", "--max-lossless", NULL};
    const char *v = NULL;
    char name[64];
    const char *eq = strchr(a, '=');
    if (eq && (size_t)(eq - a) < sizeof name) {
      memcpy(name, a, (size_t)(eq - a));
      name[eq - a] = 0;
      v = eq + 1;
    } else {
      snprintf(name, sizeof name, "%s", a);
    }
    int known = 0;
    for (int j = 0; valued[j]; j++) known |= !strcmp(name, valued[j]);
    if (!known) {
      fprintf(stderr, "sds_demo: unknown flag %s (see --help)\n", name);
      return -1;
    }
    if (!eq && i + 1 < argc) v = argv[++i];
    int bad = !v;
    if (bad) {
    } else if (!strcmp(name, "--participants")) bad = parse_int(v, &O.participants);
    else if (!strcmp(name, "--rounds")) bad = parse_int(v, &O.rounds);
    else if (!strcmp(name, "--messages")) bad = parse_int(v, &O.messages);
    else if (!strcmp(name, "--loss")) bad = parse_prob(v, &O.loss);
    else if (!strcmp(name, "--dup")) bad = parse_prob(v, &O.dup);
    else if (!strcmp(name, "--delay") || !strcmp(name, "--reorder")) bad = parse_prob(v, &O.delay);
    else if (!strcmp(name, "--max-delay")) bad = parse_int(v, &O.max_delay);
    else if (!strcmp(name, "--seed")) bad = parse_u64(v, &O.seed);
    else if (!strcmp(name, "--store-share")) bad = parse_prob(v, &O.store_share);
    else if (!strcmp(name, "--down")) bad = parse_int(v, &O.down_peer);
    else if (!strcmp(name, "--down-at")) bad = parse_int(v, &O.down_at);
    else if (!strcmp(name, "--down-for")) bad = parse_int(v, &O.down_for);
    else if (!strcmp(name, "--t-min")) bad = parse_int(v, &O.t_min);
    else if (!strcmp(name, "--t-max")) bad = parse_int(v, &O.t_max);
    else if (!strcmp(name, "--response-groups")) bad = parse_int(v, &O.groups);
    else if (!strcmp(name, "--max-repair-requests")) bad = parse_int(v, &O.max_requests);
    else if (!strcmp(name, "--causal-history")) bad = parse_int(v, &O.history);
    else if (!strcmp(name, "--bloom-capacity")) bad = parse_int(v, &O.bloom_capacity);
    else if (!strcmp(name, "--max-lossless")) bad = parse_int(v, &O.max_lossless);
    if (bad) {
      fprintf(stderr, "sds_demo: bad or missing value for %s (see --help)\n", name);
      return -1;
    }
  }
  if (O.participants < 3 || O.participants > MAX_PARTICIPANTS) {
    fprintf(stderr, "sds_demo: --participants must be 3..%d\n", MAX_PARTICIPANTS);
    return -1;
  }
  if (O.messages > 0) O.rounds = (O.messages + O.participants - 1) / O.participants;
  if (O.rounds < 1 || O.rounds > 100000) {
    fprintf(stderr, "sds_demo: --rounds must be at least 1\n");
    return -1;
  }
  if (O.max_delay < 0 || O.max_delay > 1000 || O.t_min < 0 || O.t_max < O.t_min || O.t_max > 60000 ||
      O.groups < 1 || O.max_requests < 0 || O.max_requests > 1000 ||
      O.history < 1 || O.history > 64 || O.bloom_capacity < 1 || O.max_lossless < 1 || O.max_lossless > 100000) {
    fprintf(stderr, "sds_demo: bad --max-delay, --t-min/--t-max, --response-groups or --max-lossless\n");
    return -1;
  }
  if (O.max_delay == 0) O.delay = 0;
  return 0;
}

/* ======================================================================== */
/* small helpers                                                             */
/* ======================================================================== */

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "\nsds_demo: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) die("out of memory");
  return p;
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) die("out of memory");
  return p;
}

static void *xmemdup(const void *src, size_t n) {
  void *p = xmalloc(n + 1);
  if (n) memcpy(p, src, n);
  ((char *)p)[n] = 0;
  return p;
}

static void check(int rc, const char *what) {
  if (rc != LIBSDS_OK) die("%s failed: %s (%s)", what, libsds_status_str(rc), libsds_last_error());
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) == -1 && errno == EINTR) {
  }
}

/* splitmix64: the one PRNG of the network */
static uint64_t rng_state;
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static uint64_t rng_next(void) { return mix64(rng_state += 0x9e3779b97f4a7c15ULL); }
static double rng_unit(void) { return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0); }
static int chance(double p) { return p > 0 && rng_unit() < p; }
static int rng_below(int n) { return (int)(rng_unit() * n); }
static void shuffle(int *a, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = rng_below(i + 1);
    int t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
  const uint8_t *p = data;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

/* ======================================================================== */
/* wire scanning (protobuf, nim-sds field numbers) — for the report only     */
/* ======================================================================== */

static int pb_varint(const uint8_t *b, size_t n, size_t *i, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*i >= n) return -1;
    uint8_t c = b[(*i)++];
    *v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) return 0;
  }
  return -1;
}

typedef struct {
  size_t bloom_len;     /* field 6 */
  int repair_requests;  /* field 13 entries */
  int history;          /* field 3 entries */
  const uint8_t *id;    /* field 1 */
  size_t id_len;
  const uint8_t *hist[64]; /* each causal-history entry's message id */
  size_t hist_len[64];
  const uint8_t *req[64];  /* each repair request's message id */
  size_t req_len[64];
} wire_info;

/* Reads the first field of a HistoryEntry (its message id). */
static void entry_id(const uint8_t *b, size_t n, const uint8_t **id, size_t *len) {
  size_t i = 0;
  uint64_t key, l;
  *id = NULL;
  *len = 0;
  if (pb_varint(b, n, &i, &key) || key != 0x0A || pb_varint(b, n, &i, &l) || l > n - i) return;
  *id = b + i;
  *len = (size_t)l;
}

static int scan_wire(const uint8_t *b, size_t n, wire_info *w) {
  memset(w, 0, sizeof *w);
  size_t i = 0;
  while (i < n) {
    uint64_t key, v;
    if (pb_varint(b, n, &i, &key)) return -1;
    uint32_t num = (uint32_t)(key >> 3), wt = (uint32_t)(key & 7);
    if (wt == 0) {
      if (pb_varint(b, n, &i, &v)) return -1;
    } else if (wt == 2) {
      if (pb_varint(b, n, &i, &v) || v > n - i) return -1;
      const uint8_t *d = b + i;
      if (num == 1) {
        w->id = d;
        w->id_len = (size_t)v;
      } else if (num == 3) {
        if (w->history < 64) entry_id(d, (size_t)v, &w->hist[w->history], &w->hist_len[w->history]);
        w->history++;
      } else if (num == 6) {
        w->bloom_len = (size_t)v;
      } else if (num == 13) {
        if (w->repair_requests < 64) entry_id(d, (size_t)v, &w->req[w->repair_requests], &w->req_len[w->repair_requests]);
        w->repair_requests++;
      }
      i += (size_t)v;
    } else if (wt == 1) {
      i += 8;
    } else if (wt == 5) {
      i += 4;
    } else {
      return -1;
    }
  }
  return i == n ? 0 : -1;
}

/* ======================================================================== */
/* messages and the store node's archive                                     */
/* ======================================================================== */

typedef struct {
  char id[24];      /* "p3-17": participant 3's 17th message */
  int sender, round;
  uint8_t *wire;    /* the packet as first published: what the store node archives */
  size_t wire_len;
  uint64_t hash;    /* the transport's hash of the packet; the retrieval hint is its hex */
  char hint[24];
  char text[64];    /* the chat text: what every other participant must be handed */
} msg_t;

static msg_t *msgs;
static int nmsgs, cap_msgs, max_seq;
static int *seq_index;     /* [sender * (max_seq + 1) + seq] -> message index */
static int *hint_table;    /* open addressing: message index + 1, keyed by hash */
static size_t hint_mask;
static uint8_t *acked;     /* per message: acknowledged to its sender */

/* Parses "p<sender>-<seq>" into a message index, or -1. */
static int lookup_id(const char *s, size_t n) {
  if (n < 4 || s[0] != 'p') return -1;
  size_t i = 1;
  long a = 0, b = 0;
  if (i >= n || s[i] < '0' || s[i] > '9') return -1;
  while (i < n && s[i] >= '0' && s[i] <= '9' && a < 1000000) a = a * 10 + (s[i++] - '0');
  if (i >= n || s[i++] != '-' || i >= n) return -1;
  while (i < n && s[i] >= '0' && s[i] <= '9' && b < 1000000) b = b * 10 + (s[i++] - '0');
  if (i != n || a >= O.participants || b < 1 || b > max_seq) return -1;
  return seq_index[a * (max_seq + 1) + b];
}

static void hint_insert(int k) {
  size_t i = (size_t)msgs[k].hash & hint_mask;
  while (hint_table[i]) i = (i + 1) & hint_mask;
  hint_table[i] = k + 1;
}

/* The store node: the archived packet whose hash is the hint, or -1. */
static int store_lookup(const uint8_t *hint, size_t len) {
  if (len != 21 || memcmp(hint, "waku:", 5) != 0) return -1;
  uint64_t h = 0;
  for (size_t i = 5; i < len; i++) {
    int c = hint[i], d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return -1;
    h = h << 4 | (uint64_t)d;
  }
  for (size_t i = (size_t)h & hint_mask; hint_table[i]; i = (i + 1) & hint_mask) {
    int k = hint_table[i] - 1;
    if (msgs[k].hash == h) return k;
  }
  return -1;
}

/* ======================================================================== */
/* participants                                                              */
/* ======================================================================== */

typedef struct dep_s {
  char *id;
  size_t id_len;
  uint8_t *hint;
  size_t hint_len;
} dep_t;

typedef struct ev_s {
  struct ev_s *next;
  uint32_t type;
  char *id;
  size_t id_len;
  dep_t *deps;
  size_t ndeps;
  uint8_t *msg;     /* REPAIR_READY: the message; MESSAGE_READY: the content */
  size_t msg_len;
  char *err;
} ev_t;

/* per (participant, message) flags */
enum {
  F_WAITING = 1 << 0,        /* reported with missing dependencies, not delivered yet */
  F_LOST = 1 << 1,           /* the network dropped the original copy for this receiver */
  F_DOWN_MISSED = 1 << 2,    /* missed while the receiver was down (set at its restart) */
  F_ARRIVED = 1 << 3,        /* some copy of it has reached the receiver */
  F_LOOKED_UP = 1 << 4,      /* asked the store node for it */
  F_FETCHED = 1 << 5,        /* got it from the store node */
  F_MARKED = 1 << 6,         /* marked met with libsds_mark_dependencies_met */
  F_AFTER_RESTART = 1 << 7,  /* a copy arrived after the participant's restart */
  F_WAITING_AT_STOP = 1 << 8, /* was waiting when the participant stopped */
  F_IN_LOG_AT_STOP = 1 << 9   /* delivered or sent by the participant before it stopped */
};

enum { VIA_NONE = 0, VIA_ORIGINAL = 1, VIA_REPAIR = 2, VIA_STORE = 3 };

typedef struct {
  int idx;
  char pid[16];
  char db[PATHLEN + 32];
  libsds_handle h;
  int up, restarted;

  pthread_mutex_t mu;
  pthread_cond_t cv;
  ev_t *head, *tail;
  uint64_t sync_seen, sync_sent;

  uint8_t *ready;   /* MESSAGE_READY count per message */
  uint16_t *flags;
  uint8_t *via;     /* how the first copy arrived */
  int *log;         /* delivered and own messages in log order (the app's view) */
  int nlog;
  int *fetchq;      /* store answers waiting to be unwrapped */
  int nfetch;
  int *remark;      /* fetched messages reported missing again */
  int nremark;
  struct { int k; uint8_t *data; size_t len; } *rebro; /* REPAIR_READY of the current sweep */
  int nrebro, caprebro;
  int first_wrap_after_restart;
} peer_t;

static peer_t peers[MAX_PARTICIPANTS];
static int N;

/* ======================================================================== */
/* statistics                                                                */
/* ======================================================================== */

static struct {
  long sent, sent_lossy;
  long orig_bytes, rebro_bytes, fetch_bytes;
  long bloom_bytes, history_entries, content_bytes;
  long repair_requests, msgs_with_requests, held_requests;
  long rebroadcasts, rebro_requests, rebro_bloom;
  long copies, copies_lost, copies_dup, copies_delayed, copies_down;
  long deliveries, dup_deliveries, own_deliveries;
  long acks, dup_acks, given_up, incoming_dropped, store_failed, unknown_ids;
  long missing_reports, lookups, store_answered, store_declined;
  long fetched, fetch_delivered, fetch_unneeded;
  long mark_calls, marked, remarked, mark_released;
  long dup_suppressed, rereceived_waiting;
  long waiting_now, max_waiting;
  uint64_t digest;
  char first_error[512];
} S;

static struct {
  int peer, stop_round, restart_round;
  int log_at_stop, waiting_at_stop, unacked_at_stop;
  long missed_msgs, missed_copies, missed_sent_while_down;
  long released_from_store_buffer, acked_old_after_restart, redelivered;
  int first_history, first_history_match;
  char newest_cited[24];
  long recovered_repair, recovered_store, recovered_late;
  double db_kib;
} R = {.peer = -1};

static void note_error(const char *fmt, ...) {
  if (S.first_error[0]) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(S.first_error, sizeof S.first_error, fmt, ap);
  va_end(ap);
}

static void digest(int peer, uint32_t type, long a, long b) {
  long v[4] = {peer, (long)type, a, b};
  S.digest = fnv1a(S.digest, v, sizeof v);
}

/* ======================================================================== */
/* libsds callbacks (library threads: copy and queue, nothing else)          */
/* ======================================================================== */

static void on_event(const libsds_event *e, void *ud) {
  peer_t *p = ud;
  if (e->type == LIBSDS_EVENT_PERIODIC_SYNC) {
    pthread_mutex_lock(&p->mu);
    p->sync_seen++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return;
  }
  ev_t *ev = xcalloc(1, sizeof *ev);
  ev->type = e->type;
  ev->id = xmemdup(e->message_id.data, e->message_id.len);
  ev->id_len = e->message_id.len;
  if (e->missing_deps_len) {
    ev->ndeps = e->missing_deps_len;
    ev->deps = xcalloc(ev->ndeps, sizeof *ev->deps);
    for (size_t i = 0; i < ev->ndeps; i++) {
      const libsds_history_entry *d = &e->missing_deps[i];
      ev->deps[i].id = xmemdup(d->message_id.data, d->message_id.len);
      ev->deps[i].id_len = d->message_id.len;
      ev->deps[i].hint = xmemdup(d->retrieval_hint, d->retrieval_hint_len);
      ev->deps[i].hint_len = d->retrieval_hint ? d->retrieval_hint_len : 0;
    }
  }
  if (e->message_len) {
    ev->msg = xmemdup(e->message, e->message_len);
    ev->msg_len = e->message_len;
  } else if (e->type == LIBSDS_EVENT_MESSAGE_READY && e->content_len) {
    ev->msg = xmemdup(e->content, e->content_len);
    ev->msg_len = e->content_len;
  }
  if (e->error) ev->err = xmemdup(e->error, strlen(e->error));
  pthread_mutex_lock(&p->mu);
  if (p->tail) p->tail->next = ev;
  else p->head = ev;
  p->tail = ev;
  pthread_mutex_unlock(&p->mu);
}

/* Retrieval hints: the transport hash of each cited message's packet. Runs on
   the calling (main) thread during libsds_wrap. */
static int64_t hint_provider(libsds_str message_id, uint8_t *buf, size_t buf_len, void *ud) {
  (void)ud;
  int k = lookup_id(message_id.data, message_id.len);
  if (k < 0) return 0;
  size_t n = strlen(msgs[k].hint);
  memcpy(buf, msgs[k].hint, n < buf_len ? n : buf_len);
  return (int64_t)n;
}

/* Waits until every event of the calls made so far on p has arrived. */
static void barrier(peer_t *p) {
  p->sync_sent++;
  check(libsds_run_tasks(p->h, LIBSDS_TASK_SYNC), "libsds_run_tasks(SYNC)");
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 30;
  pthread_mutex_lock(&p->mu);
  while (p->sync_seen < p->sync_sent) {
    if (pthread_cond_timedwait(&p->cv, &p->mu, &dl) == ETIMEDOUT) {
      pthread_mutex_unlock(&p->mu);
      die("%s: no PERIODIC_SYNC event within 30 s", p->pid);
    }
  }
  pthread_mutex_unlock(&p->mu);
}

/* ======================================================================== */
/* event processing (main thread)                                            */
/* ======================================================================== */

enum { CALL_OTHER, CALL_UNWRAP, CALL_MARK };
static int cur_call;
static int round_no, lossy;

/* The store node answers a lookup with probability store_share, decided by a
   hash so that the answer does not depend on when the lookup is made. */
static int store_answers(int peer, int k) {
  uint64_t h = mix64(O.seed * 0x9e3779b97f4a7c15ULL ^ mix64((uint64_t)peer << 32 ^ (uint64_t)k));
  return (double)(h >> 11) * (1.0 / 9007199254740992.0) < O.store_share;
}

static void set_waiting(peer_t *p, int k, int on) {
  if (on && !(p->flags[k] & F_WAITING)) {
    p->flags[k] |= F_WAITING;
    if (++S.waiting_now > S.max_waiting) S.max_waiting = S.waiting_now;
  } else if (!on && (p->flags[k] & F_WAITING)) {
    p->flags[k] &= (uint16_t)~F_WAITING;
    S.waiting_now--;
  }
}

static int lookup_or_note(const peer_t *p, const char *id, size_t n) {
  int k = lookup_id(id, n);
  if (k < 0) {
    S.unknown_ids++;
    note_error("%s: event for an unknown message id \"%.*s\"", p->pid, (int)n, id);
  }
  return k;
}

static void free_event(ev_t *ev) {
  for (size_t i = 0; i < ev->ndeps; i++) {
    free(ev->deps[i].id);
    free(ev->deps[i].hint);
  }
  free(ev->deps);
  free(ev->id);
  free(ev->msg);
  free(ev->err);
  free(ev);
}

static int trace_on;

static void process_events(peer_t *p) {
  pthread_mutex_lock(&p->mu);
  ev_t *ev = p->head;
  p->head = p->tail = NULL;
  pthread_mutex_unlock(&p->mu);
  while (ev) {
    ev_t *next = ev->next;
    if (trace_on) {
      fprintf(stderr, "r%d %s call=%d ev=%u %.*s", round_no, p->pid, cur_call, ev->type, (int)ev->id_len, ev->id);
      for (size_t i = 0; i < ev->ndeps; i++) fprintf(stderr, " %s%.*s", i ? "" : "deps:", (int)ev->deps[i].id_len, ev->deps[i].id);
      fprintf(stderr, "\n");
    }
    int k = -1;
    switch (ev->type) {
    case LIBSDS_EVENT_MESSAGE_READY:
      if ((k = lookup_or_note(p, ev->id, ev->id_len)) < 0) break;
      digest(p->idx, ev->type, k, 0);
      S.deliveries++;
      /* the chat view shows the event's content, also for a message that
         waited for its dependencies */
      if (ev->msg_len != strlen(msgs[k].text) || memcmp(ev->msg, msgs[k].text, ev->msg_len) != 0)
        note_error("%s: MESSAGE_READY of %s carries the wrong content", p->pid, msgs[k].id);
      if (msgs[k].sender == p->idx) {
        S.own_deliveries++;
        note_error("%s delivered its own message %s", p->pid, msgs[k].id);
      } else if (p->ready[k]) {
        S.dup_deliveries++;
        note_error("%s delivered %s twice", p->pid, msgs[k].id);
      }
      if (p->ready[k] < 255) p->ready[k]++;
      set_waiting(p, k, 0);
      p->log[p->nlog++ % cap_msgs] = k;
      if (cur_call == CALL_MARK) S.mark_released++;
      if (p->restarted && (p->flags[k] & F_WAITING_AT_STOP) && !(p->flags[k] & F_AFTER_RESTART))
        R.released_from_store_buffer++;
      break;
    case LIBSDS_EVENT_MESSAGE_ACKNOWLEDGED:
      if ((k = lookup_or_note(p, ev->id, ev->id_len)) < 0) break;
      digest(p->idx, ev->type, k, 0);
      if (msgs[k].sender != p->idx) note_error("%s: acknowledgement of %s, not its own", p->pid, msgs[k].id);
      if (acked[k]) S.dup_acks++;
      acked[k] = 1;
      S.acks++;
      if (p->restarted && p->idx == R.peer && msgs[k].round < R.stop_round) R.acked_old_after_restart++;
      break;
    case LIBSDS_EVENT_MESSAGE_GIVEN_UP:
      if ((k = lookup_or_note(p, ev->id, ev->id_len)) < 0) break;
      digest(p->idx, ev->type, k, 0);
      S.given_up++;
      note_error("%s gave up %s", p->pid, msgs[k].id);
      break;
    case LIBSDS_EVENT_MISSING_DEPENDENCIES: {
      if ((k = lookup_or_note(p, ev->id, ev->id_len)) < 0) break;
      digest(p->idx, ev->type, k, (long)ev->ndeps);
      if (!p->ready[k]) set_waiting(p, k, 1);
      for (size_t i = 0; i < ev->ndeps; i++) {
        int d = lookup_or_note(p, ev->deps[i].id, ev->deps[i].id_len);
        if (d < 0) continue;
        digest(p->idx, 0, d, 0);
        S.missing_reports++;
        if (p->flags[d] & F_MARKED) {
          /* nim-sds keeps marked ids out of the log: cited again, they are
             reported again. We hold the message: mark it again. */
          p->remark[p->nremark++ % cap_msgs] = d;
          continue;
        }
        if (p->flags[d] & (F_WAITING | F_LOOKED_UP)) continue; /* held, or already asked */
        if (!ev->deps[i].hint_len) continue;
        p->flags[d] |= F_LOOKED_UP;
        S.lookups++;
        int a = store_lookup(ev->deps[i].hint, ev->deps[i].hint_len);
        if (a >= 0 && a != d) note_error("%s: hint of %s leads to %s", p->pid, msgs[d].id, msgs[a].id);
        if (a >= 0 && store_answers(p->idx, d)) {
          S.store_answered++;
          p->fetchq[p->nfetch++] = d;
        } else {
          S.store_declined++;
        }
      }
      break;
    }
    case LIBSDS_EVENT_REPAIR_READY: {
      wire_info w;
      if (scan_wire(ev->msg, ev->msg_len, &w) || !w.id || (k = lookup_id((const char *)w.id, w.id_len)) < 0) {
        note_error("%s: REPAIR_READY with an unreadable message", p->pid);
        break;
      }
      if (p->nrebro == p->caprebro) {
        p->caprebro = p->caprebro ? 2 * p->caprebro : 16;
        p->rebro = realloc(p->rebro, (size_t)p->caprebro * sizeof *p->rebro);
        if (!p->rebro) die("out of memory");
      }
      p->rebro[p->nrebro].k = k;
      p->rebro[p->nrebro].data = ev->msg;
      p->rebro[p->nrebro].len = ev->msg_len;
      p->nrebro++;
      ev->msg = NULL; /* kept: the packet lives on in the network */
      break;
    }
    case LIBSDS_EVENT_INCOMING_DROPPED:
      S.incoming_dropped++;
      note_error("%s dropped a waiting message (buffer full)", p->pid);
      break;
    case LIBSDS_EVENT_STORE_FAILED:
      S.store_failed++;
      note_error("%s: store failed: %s", p->pid, ev->err ? ev->err : "?");
      break;
    default:
      note_error("%s: unexpected event type %u", p->pid, ev->type);
    }
    free_event(ev);
    ev = next;
  }
}

/* ======================================================================== */
/* the network                                                               */
/* ======================================================================== */

typedef struct {
  int to, at, k, via;
  const uint8_t *data;
  size_t len;
} pkt_t;

static pkt_t *inflight;
static int ninflight, capinflight;
static uint8_t **blobs; /* rebroadcast packets: copies in flight point into them; kept to the end */
static int nblobs, capblobs;

static void push_packet(pkt_t pk) {
  if (ninflight == capinflight) {
    capinflight = capinflight ? 2 * capinflight : 256;
    inflight = realloc(inflight, (size_t)capinflight * sizeof *inflight);
    if (!inflight) die("out of memory");
  }
  inflight[ninflight++] = pk;
}

/* Broadcasts a packet from one participant to all the others. */
static void broadcast(int from, int k, const uint8_t *data, size_t len, int via) {
  for (int to = 0; to < N; to++) {
    if (to == from) continue;
    if (lossy && chance(O.loss)) {
      S.copies_lost++;
      if (via == VIA_ORIGINAL) peers[to].flags[k] |= F_LOST;
      continue;
    }
    int copies = 1;
    if (lossy && chance(O.dup)) {
      copies = 2;
      S.copies_dup++;
    }
    for (int c = 0; c < copies; c++) {
      int delay = 0;
      if (lossy && chance(O.delay)) {
        delay = 1 + rng_below(O.max_delay);
        S.copies_delayed++;
      }
      pkt_t pk = {to, round_no + delay, k, via, data, len};
      push_packet(pk);
      S.copies++;
    }
  }
}

/* ======================================================================== */
/* operations on one participant                                             */
/* ======================================================================== */

static void raw_unwrap(peer_t *p, const uint8_t *data, size_t len, int k, int via) {
  int dup = msgs[k].sender == p->idx || p->ready[k];
  if (!dup && (p->flags[k] & F_WAITING)) S.rereceived_waiting++;
  if (!(p->flags[k] & F_ARRIVED)) p->via[k] = (uint8_t)via;
  p->flags[k] |= F_ARRIVED;
  if (p->restarted) p->flags[k] |= F_AFTER_RESTART;
  libsds_unwrapped *u = NULL;
  cur_call = CALL_UNWRAP;
  check(libsds_unwrap(p->h, data, len, &u), "libsds_unwrap");
  if (!u->channel_id.data || strcmp(u->channel_id.data, CHANNEL) != 0 || !u->message_id.data ||
      strcmp(u->message_id.data, msgs[k].id) != 0 || u->content.len != strlen(msgs[k].text) ||
      memcmp(u->content.data, msgs[k].text, u->content.len) != 0)
    note_error("%s: unwrap of %s returned the wrong channel, id or content", p->pid, msgs[k].id);
  libsds_unwrapped_free(u);
  barrier(p);
  process_events(p);
  cur_call = CALL_OTHER;
  if (dup) S.dup_suppressed++;
}

/* Handles the store node's answers: unwrap each fetched packet (its message is
   delivered if it can be, or waits for older ones — whose lookups may add more
   answers); then mark met the fetched messages that still wait, so that what
   waits for them is released: the application holds them. */
static void run_fetches(peer_t *p) {
  int *mark = NULL;
  int nmark = 0;
  int qi = 0;
  while (qi < p->nfetch) {
    int k = p->fetchq[qi++];
    if (p->ready[k]) {
      S.fetch_unneeded++;
      continue;
    }
    S.fetched++;
    S.fetch_bytes += (long)msgs[k].wire_len;
    p->flags[k] |= F_FETCHED;
    raw_unwrap(p, msgs[k].wire, msgs[k].wire_len, k, VIA_STORE);
    if (!mark) mark = xmalloc((size_t)cap_msgs * sizeof *mark);
    mark[nmark++] = k;
  }
  p->nfetch = 0;
  int n = 0, rem = p->nremark < cap_msgs ? p->nremark : cap_msgs;
  if (!mark && rem) mark = xmalloc((size_t)cap_msgs * sizeof *mark);
  for (int i = 0; i < nmark; i++) {
    if (p->ready[mark[i]]) S.fetch_delivered++; /* delivered, or released by a later fetch */
    else if (!(p->flags[mark[i]] & F_MARKED)) mark[n++] = mark[i];
  }
  int fresh = n;
  for (int i = 0; i < rem; i++) {
    int k = p->remark[i], seen = 0;
    if (p->ready[k]) continue;
    for (int j = 0; j < n; j++) seen |= mark[j] == k;
    if (!seen && n < cap_msgs) mark[n++] = k;
  }
  p->nremark = 0;
  if (getenv("SDS_DEMO_NOMARK")) n = 0;
  if (n) {
    libsds_str ids[256];
    for (int base = 0; base < n; base += 256) {
      int m = n - base < 256 ? n - base : 256;
      for (int i = 0; i < m; i++) {
        int k = mark[base + i];
        ids[i].data = msgs[k].id;
        ids[i].len = strlen(msgs[k].id);
        p->flags[k] |= F_MARKED;
        digest(p->idx, 100, k, 0);
      }
      cur_call = CALL_MARK;
      check(libsds_mark_dependencies_met(p->h, ids, (size_t)m, CHANNEL), "libsds_mark_dependencies_met");
      barrier(p);
      process_events(p);
      cur_call = CALL_OTHER;
      S.mark_calls++;
    }
    S.marked += fresh;
    S.remarked += n - fresh;
  }
  free(mark);
}

static void deliver(peer_t *p, const pkt_t *pk) {
  if (!p->up) {
    S.copies_down++;
    if (p->idx == R.peer) R.missed_copies++;
    return;
  }
  raw_unwrap(p, pk->data, pk->len, pk->k, pk->via);
  run_fetches(p);
}

static int cmp_rebro(const void *a, const void *b) {
  int ka = *(const int *)a, kb = *(const int *)b;
  return (ka > kb) - (ka < kb);
}

static void sweep(peer_t *p) {
  check(libsds_run_tasks(p->h, LIBSDS_TASK_REPAIR_SWEEP | LIBSDS_TASK_BUFFER_SWEEP), "libsds_run_tasks(sweeps)");
  barrier(p);
  p->nrebro = 0;
  process_events(p);
  /* due times differ by microseconds: send in id order, not arrival order */
  if (p->nrebro > 1) qsort(p->rebro, (size_t)p->nrebro, sizeof *p->rebro, cmp_rebro);
  for (int i = 0; i < p->nrebro; i++) {
    if (nblobs == capblobs) {
      capblobs = capblobs ? 2 * capblobs : 64;
      blobs = realloc(blobs, (size_t)capblobs * sizeof *blobs);
      if (!blobs) die("out of memory");
    }
    blobs[nblobs++] = p->rebro[i].data;
    digest(p->idx, 200, p->rebro[i].k, 0);
    if (trace_on) fprintf(stderr, "r%d %s rebroadcast %s\n", round_no, p->pid, msgs[p->rebro[i].k].id);
    S.rebroadcasts++;
    S.rebro_bytes += (long)p->rebro[i].len;
    wire_info rw;
    if (scan_wire(p->rebro[i].data, p->rebro[i].len, &rw) == 0) {
      S.rebro_requests += rw.repair_requests;
      S.rebro_bloom += (long)rw.bloom_len;
    }
    broadcast(p->idx, p->rebro[i].k, p->rebro[i].data, p->rebro[i].len, VIA_REPAIR);
  }
  p->nrebro = 0;
  run_fetches(p);
}

static void send_message(peer_t *p, int seq) {
  int k = nmsgs++;
  msg_t *m = &msgs[k];
  snprintf(m->id, sizeof m->id, "p%d-%d", p->idx, seq);
  m->sender = p->idx;
  m->round = round_no;
  seq_index[p->idx * (max_seq + 1) + seq] = k;
  int n = snprintf(m->text, sizeof m->text, "hello from %s in round %d", p->pid, round_no);
  S.content_bytes += n;
  libsds_buffer out = {NULL, 0};
  cur_call = CALL_OTHER;
  check(libsds_wrap(p->h, (const uint8_t *)m->text, (size_t)n, m->id, CHANNEL, &out), "libsds_wrap");
  m->wire = xmemdup(out.data, out.len);
  m->wire_len = out.len;
  libsds_buffer_free(&out);
  barrier(p);
  process_events(p);

  m->hash = fnv1a(FNV_INIT, m->wire, m->wire_len);
  snprintf(m->hint, sizeof m->hint, "waku:%016" PRIx64, m->hash);
  hint_insert(k);

  wire_info w;
  if (scan_wire(m->wire, m->wire_len, &w)) note_error("%s: unreadable wrap output", p->pid);
  S.bloom_bytes += (long)w.bloom_len;
  S.history_entries += w.history;
  S.repair_requests += w.repair_requests;
  if (w.repair_requests) S.msgs_with_requests++;
  for (int i = 0; i < w.repair_requests && i < 64; i++) {
    int r = lookup_id((const char *)w.req[i], w.req_len[i]);
    if (r >= 0 && (p->flags[r] & F_WAITING)) S.held_requests++; /* we hold it; it waits for older ones */
  }
  digest(p->idx, 300, k, w.repair_requests);
  if (trace_on) {
    fprintf(stderr, "r%d %s wrap %s", round_no, p->pid, m->id);
    for (int i = 0; i < w.repair_requests && i < 64; i++) fprintf(stderr, " %s%.*s", i ? "" : "req:", (int)w.req_len[i], w.req[i]);
    fprintf(stderr, "\n");
  }
  if (p->first_wrap_after_restart) {
    /* the first message after a restart cites the newest entries of the
       restored log: a manager without its state would cite nothing. (The
       exact order is the library's: a message that releases others enters
       the log, and is reported, before them.) */
    p->first_wrap_after_restart = 0;
    int hn = w.history < 64 ? w.history : 64, match = hn > 0;
    for (int i = 0; match && i < hn; i++) {
      int c = lookup_id((const char *)w.hist[i], w.hist_len[i]);
      match = c >= 0 && (p->flags[c] & F_IN_LOG_AT_STOP);
    }
    R.first_history = hn;
    R.first_history_match = match;
    if (hn) snprintf(R.newest_cited, sizeof R.newest_cited, "%.*s", (int)w.hist_len[hn - 1], (const char *)w.hist[hn - 1]);
  }
  p->log[p->nlog++ % cap_msgs] = k;
  S.sent++;
  if (lossy) S.sent_lossy++;
  S.orig_bytes += (long)m->wire_len;
  broadcast(p->idx, k, m->wire, m->wire_len, VIA_ORIGINAL);
}

static void open_peer(peer_t *p) {
  libsds_options o = LIBSDS_OPTIONS_INIT;
  o.store_kind = LIBSDS_STORE_SQLITE;
  o.participant_id = p->pid;
  o.sqlite_path = p->db;
  o.config_set = LIBSDS_CFG_REPAIR_T_MIN | LIBSDS_CFG_REPAIR_T_MAX | LIBSDS_CFG_REREQUEST_REPAIRS |
                 LIBSDS_CFG_RESEND_INTERVAL | LIBSDS_CFG_NUM_RESPONSE_GROUPS | LIBSDS_CFG_MAX_REPAIR_REQUESTS;
  o.max_repair_requests = (uint32_t)O.max_requests;
  o.config_set |= LIBSDS_CFG_MAX_CAUSAL_HISTORY | LIBSDS_CFG_BLOOM_CAPACITY;
  o.max_causal_history = (uint32_t)O.history;
  o.bloom_capacity = (uint32_t)O.bloom_capacity;
  o.repair_t_min_ms = O.t_min;
  o.repair_t_max_ms = O.t_max;
  o.rerequest_repairs = 1;
  o.resend_interval_ms = 24LL * 3600 * 1000; /* nothing is given up by the clock */
  o.num_response_groups = (uint32_t)O.groups;
  check(libsds_new(&o, &p->h), "libsds_new");
  check(libsds_set_event_handler(p->h, on_event, p), "libsds_set_event_handler");
  check(libsds_set_hint_provider(p->h, hint_provider, NULL), "libsds_set_hint_provider");
  p->up = 1;
  barrier(p);
  process_events(p);
}

static void stop_peer(peer_t *p) {
  R.stop_round = round_no;
  R.log_at_stop = p->nlog;
  for (int k = 0; k < nmsgs; k++) {
    if (p->flags[k] & F_WAITING) {
      p->flags[k] |= F_WAITING_AT_STOP;
      R.waiting_at_stop++;
    }
    if (p->ready[k] || msgs[k].sender == p->idx) p->flags[k] |= F_IN_LOG_AT_STOP;
    if (msgs[k].sender == p->idx && !acked[k]) R.unacked_at_stop++;
  }
  check(libsds_free(p->h), "libsds_free");
  p->h = 0;
  p->up = 0;
  process_events(p); /* nothing is expected: every call was followed by a barrier */
}

static void restart_peer(peer_t *p) {
  R.restart_round = round_no;
  /* what it missed: messages sent while it was down, and older ones whose
     copies reached it only while it was down */
  R.missed_msgs = 0;
  for (int k = 0; k < nmsgs; k++)
    if (msgs[k].sender != p->idx && !(p->flags[k] & F_ARRIVED)) {
      p->flags[k] |= F_DOWN_MISSED;
      R.missed_msgs++;
      if (msgs[k].round >= R.stop_round) R.missed_sent_while_down++;
    }
  struct stat st;
  if (stat(p->db, &st) == 0) R.db_kib = (double)st.st_size / 1024.0;
  open_peer(p);
  p->restarted = 1;
  p->first_wrap_after_restart = 1;
}

/* ======================================================================== */
/* progress, convergence, report                                             */
/* ======================================================================== */

static int tty;
static double t_start, t_converged;

static long delivered_total(void) {
  long n = 0;
  for (int p = 0; p < N; p++)
    for (int k = 0; k < nmsgs; k++) n += peers[p].ready[k] ? 1 : 0;
  return n;
}

static void progress(int final) {
  if (O.quiet) return;
  long expected = (long)nmsgs * (N - 1), got = delivered_total();
  char down[32] = "";
  if (R.peer >= 0 && !peers[R.peer].up) snprintf(down, sizeof down, "  p%d down", R.peer);
  char line[256];
  snprintf(line, sizeof line,
           "round %3d %-8s delivered %6ld/%-6ld (%5.1f%%)  waiting %3ld  rebroadcasts %4ld  retrieved %4ld%s",
           round_no, lossy ? "lossy" : "lossless", got, expected, expected ? 100.0 * (double)got / (double)expected : 100.0,
           S.waiting_now, S.rebroadcasts, S.fetched, down);
  if (tty) {
    printf("\r%s\033[K%s", line, final ? "\n" : "");
    fflush(stdout);
  } else if (final || round_no % 10 == 0) {
    printf("%s\n", line);
    fflush(stdout);
  }
}

/* A receiver lacks a message, yet nothing is in flight and nobody waits for
   anything: no message that cites it will come, so no one can learn it is
   missing. Returns the first such (receiver, message) or -1. */
static int undetectable(int *peer) {
  if (ninflight || S.waiting_now) return -1;
  for (int p = 0; p < N; p++)
    for (int k = 0; k < nmsgs; k++)
      if (msgs[k].sender != p && !peers[p].ready[k]) {
        *peer = p;
        return k;
      }
  return -1;
}

static int converged(void) {
  if (ninflight || S.waiting_now) return 0;
  for (int p = 0; p < N; p++) {
    if (!peers[p].up) return 0;
    for (int k = 0; k < nmsgs; k++)
      if (msgs[k].sender != p && !peers[p].ready[k]) return 0;
  }
  for (int k = 0; k < nmsgs; k++)
    if (msgs[k].round < round_no && !acked[k]) return 0;
  return 1;
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) {
  (void)sig;
  interrupted = 1;
}

static char dir[PATHLEN];

static void remove_dir(void) {
  if (!dir[0] || O.keep_dir) return;
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    char path[PATHLEN + 256];
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(dir);
  dir[0] = 0;
}

static double dir_kib(void) {
  double total = 0;
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *e;
  char path[PATHLEN + 256];
  struct stat st;
  while ((e = readdir(d))) {
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (e->d_name[0] != '.' && stat(path, &st) == 0) total += (double)st.st_size;
  }
  closedir(d);
  return total / 1024.0;
}


int main(int argc, char **argv) {
  if (parse_args(argc, argv)) return 2;
  N = O.participants;
  if (O.down_peer == -2) O.down_peer = N / 2;
  if (O.down_peer < -1 || O.down_peer >= N) {
    fprintf(stderr, "sds_demo: --down must be -1..%d\n", N - 1);
    return 2;
  }
  int explicit_window = O.down_at != -1 || O.down_for != -1;
  if (O.down_at == -1) O.down_at = O.rounds / 3 + 1 < 2 ? 2 : O.rounds / 3 + 1;
  if (O.down_for == -1) O.down_for = O.rounds + 1 - O.down_at < 4 ? O.rounds + 1 - O.down_at : 4;
  if (O.down_peer >= 0 && !explicit_window && (O.down_at < 2 || O.down_for < 1)) {
    fprintf(stderr, "sds_demo: %d lossy rounds are too few to stop and restart a participant; nobody will\n",
            O.rounds);
    O.down_peer = -1;
  }
  if (O.down_peer >= 0 && (O.down_at < 2 || O.down_for < 1 || O.down_at + O.down_for > O.rounds + 1)) {
    fprintf(stderr, "sds_demo: the restart must fit in the lossy phase: 2 <= --down-at, 1 <= --down-for, "
                    "down-at + down-for <= rounds + 1\n");
    return 2;
  }
  R.peer = O.down_peer >= 0 ? O.down_peer : -1;
  tty = isatty(STDOUT_FILENO);
  trace_on = getenv("SDS_DEMO_TRACE") != NULL;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  /* sizes */
  int max_rounds = O.rounds + O.max_lossless + 1;
  max_seq = max_rounds;
  cap_msgs = N * max_rounds;
  msgs = xcalloc((size_t)cap_msgs, sizeof *msgs);
  seq_index = xcalloc((size_t)N * (size_t)(max_seq + 1), sizeof *seq_index);
  for (size_t i = 0; i < (size_t)N * (size_t)(max_seq + 1); i++) seq_index[i] = -1;
  size_t tsize = 1;
  while (tsize < (size_t)cap_msgs * 2) tsize <<= 1;
  hint_table = xcalloc(tsize, sizeof *hint_table);
  hint_mask = tsize - 1;
  acked = xcalloc((size_t)cap_msgs, 1);
  S.digest = FNV_INIT;
  rng_state = O.seed;

  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/sds-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) die("mkdtemp %s: %s", dir, strerror(errno));
  atexit(remove_dir);

  for (int i = 0; i < N; i++) {
    peer_t *p = &peers[i];
    p->idx = i;
    snprintf(p->pid, sizeof p->pid, "p%d", i);
    snprintf(p->db, sizeof p->db, "%s/p%d.db", dir, i);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->ready = xcalloc((size_t)cap_msgs, 1);
    p->flags = xcalloc((size_t)cap_msgs, sizeof *p->flags);
    p->via = xcalloc((size_t)cap_msgs, 1);
    p->log = xcalloc((size_t)cap_msgs, sizeof *p->log);
    p->fetchq = xcalloc((size_t)cap_msgs, sizeof *p->fetchq);
    p->remark = xcalloc((size_t)cap_msgs, sizeof *p->remark);
    open_peer(p);
  }

  if (!O.quiet) {
    printf("libsds %s demo: %d participants in channel \"%s\", one SQLite store each in %s\n", libsds_version(), N,
           CHANNEL, dir);
    printf("lossy phase: %d rounds, loss %.0f%%, duplication %.0f%%, delay %.0f%% (1-%d rounds), seed %" PRIu64
           "; store node answers %.0f%% of lookups\n",
           O.rounds, 100 * O.loss, 100 * O.dup, 100 * O.delay, O.max_delay, O.seed, 100 * O.store_share);
    if (R.peer >= 0)
      printf("p%d will stop before round %d and restart from its database before round %d\n", R.peer, O.down_at,
             O.down_at + O.down_for);
    fflush(stdout);
  }

  t_start = now_s();
  int ok_converged = 0, stalled = 0, lost_k = -1, lost_p = -1;
  int *order = xcalloc((size_t)N, sizeof *order);
  int seq = 0;
  for (round_no = 1; round_no <= O.rounds + O.max_lossless; round_no++) {
    if (interrupted) break;
    lossy = round_no <= O.rounds;
    seq++;
    if (R.peer >= 0 && round_no == O.down_at) stop_peer(&peers[R.peer]);
    if (R.peer >= 0 && round_no == O.down_at + O.down_for) restart_peer(&peers[R.peer]);

    /* 1. repair sweeps: due SDS-R responses are rebroadcast */
    int n = 0;
    for (int i = 0; i < N; i++)
      if (peers[i].up) order[n++] = i;
    shuffle(order, n);
    for (int i = 0; i < n; i++) sweep(&peers[order[i]]);
    sleep_ms(O.t_max + 5); /* requests asked again at the sweep become due */

    /* 2. every live participant sends one message */
    shuffle(order, n);
    for (int i = 0; i < n; i++) send_message(&peers[order[i]], seq);

    /* 3. the network delivers what is due, in random order */
    int nd = 0;
    for (int i = 0; i < ninflight; i++)
      if (inflight[i].at <= round_no) nd++;
    pkt_t *due = xcalloc((size_t)nd, sizeof *due);
    int j = 0, keep = 0;
    for (int i = 0; i < ninflight; i++) {
      if (inflight[i].at <= round_no) due[j++] = inflight[i];
      else inflight[keep++] = inflight[i];
    }
    ninflight = keep;
    int *perm = xcalloc((size_t)nd, sizeof *perm);
    for (int i = 0; i < nd; i++) perm[i] = i;
    shuffle(perm, nd);
    for (int i = 0; i < nd && !interrupted; i++) deliver(&peers[due[perm[i]].to], &due[perm[i]]);
    free(perm);
    free(due);

    progress(0);
    if (!lossy && converged()) {
      ok_converged = 1;
      t_converged = now_s();
      break;
    }
    /* after enough lossless rounds every causal-history window has moved on */
    if (!lossy && (lost_k = undetectable(&lost_p)) >= 0) {
      if (++stalled > O.history / (N - 1) + 2) break;
    } else {
      stalled = 0;
    }
    sleep_ms(2 * O.t_max + 5); /* responses due, requests past their expiry */
  }
  if (round_no > O.rounds + O.max_lossless) round_no--;
  progress(1);
  if (interrupted) {
    fprintf(stderr, "sds_demo: interrupted in round %d\n", round_no);
    for (int i = 0; i < N; i++)
      if (peers[i].up) libsds_free(peers[i].h);
    remove_dir();
    return 130;
  }
  double t_end = now_s();
  double kib = dir_kib();

  /* exactly-once check */
  long wrong = 0;
  char what[512] = "";
  for (int p = 0; p < N; p++)
    for (int k = 0; k < nmsgs; k++) {
      int want = msgs[k].sender != p;
      if (peers[p].ready[k] != want) {
        if (!wrong)
          snprintf(what, sizeof what, "p%d delivered %s %d times (expected %d)", p, msgs[k].id, peers[p].ready[k], want);
        wrong++;
      }
    }

  /* recovery paths: how each message reached each receiver first */
  long recovered_repair = 0, recovered_store = 0, by_original = 0, lost = 0, pairs = 0;
  for (int p = 0; p < N; p++)
    for (int k = 0; k < nmsgs; k++) {
      if (msgs[k].sender == p) continue;
      uint16_t f = peers[p].flags[k];
      pairs++;
      if (f & (F_LOST | F_DOWN_MISSED)) lost++;
      if (peers[p].via[k] == VIA_REPAIR) recovered_repair++;
      else if (peers[p].via[k] == VIA_STORE) recovered_store++;
      else if (peers[p].via[k] == VIA_ORIGINAL) by_original++;
      if (p == R.peer && (f & F_DOWN_MISSED)) {
        if (peers[p].via[k] == VIA_REPAIR) R.recovered_repair++;
        else if (peers[p].via[k] == VIA_STORE) R.recovered_store++;
        else if (peers[p].via[k] == VIA_ORIGINAL) R.recovered_late++;
      }
    }
  long all_delivered = 0;
  for (int k = 0; k < nmsgs; k++) {
    int all = 1;
    for (int p = 0; p < N; p++)
      if (msgs[k].sender != p && !peers[p].ready[k]) all = 0;
    all_delivered += all;
  }
  long acked_n = 0, last_round_msgs = 0;
  for (int k = 0; k < nmsgs; k++) {
    acked_n += acked[k];
    if (msgs[k].round == round_no) last_round_msgs++;
  }

  /* release everything */
  for (int i = 0; i < N; i++)
    if (peers[i].up) {
      check(libsds_free(peers[i].h), "libsds_free");
      peers[i].up = 0;
    }

  int fail = !ok_converged || wrong || S.given_up || S.incoming_dropped || S.store_failed || S.unknown_ids ||
             S.dup_deliveries || S.own_deliveries || S.first_error[0];

  /* ---- report ---- */
  printf("\n== SDS demo report ==\n");
  printf("setup          %d participants, seed %" PRIu64 ", %d lossy rounds (loss %.0f%%, dup %.0f%%, delay %.0f%%), "
         "store share %.0f%%, T_req in [%d,%d) ms\n",
         N, O.seed, O.rounds, 100 * O.loss, 100 * O.dup, 100 * O.delay, 100 * O.store_share, O.t_min, O.t_max);
  printf("outcome        %s\n", fail ? "FAILED" : "converged: every participant delivered every other participant's "
                                                  "message exactly once");
  printf("\nmessages\n");
  printf("  sent                     %ld (%ld in the lossy phase, %ld in %d lossless rounds)\n", S.sent, S.sent_lossy,
         S.sent - S.sent_lossy, round_no - O.rounds);
  printf("  delivered to all         %ld of %ld (%ld MESSAGE_READY events, %ld duplicates)\n", all_delivered, S.sent,
         S.deliveries, S.dup_deliveries + S.own_deliveries);
  printf("  acknowledged             %ld of %ld (the final round's %ld wait for a next message)\n", acked_n, S.sent,
         last_round_msgs);
  printf("  given up                 %ld\n", S.given_up);
  printf("\nlosses and recovery\n");
  printf("  packet copies            %ld sent: %ld dropped, %ld duplicated, %ld delayed (reordered), "
         "%ld dropped at a stopped participant\n",
         S.copies + S.copies_lost, S.copies_lost, S.copies_dup, S.copies_delayed, S.copies_down);
  printf("  receiver/message pairs   %ld, %ld of them lost the original packet; first copy to arrive:\n", pairs, lost);
  printf("                           %ld original packet, %ld SDS-R rebroadcast, %ld store retrieval\n", by_original,
         recovered_repair, recovered_store);
  printf("  recovered by SDS-R       %ld   (%ld repair requests in %ld messages, %ld of them for messages the\n"
         "                                 requester held in its dependency buffer; %ld rebroadcasts)\n",
         recovered_repair, S.repair_requests, S.msgs_with_requests, S.held_requests, S.rebroadcasts);
  printf("  recovered by retrieval   %ld   (%ld store lookups by hint, %ld answered; of the fetched packets unwrapped\n"
         "                                 %ld were delivered and %ld waited for older messages, so were marked\n"
         "                                 met; libsds_mark_dependencies_met: %ld calls, %ld re-marks, %ld messages released)\n",
         recovered_store, S.lookups, S.store_answered, S.fetch_delivered, S.marked, S.mark_calls, S.remarked,
         S.mark_released);
  printf("  duplicates suppressed    %ld (packets unwrapped for messages already delivered: no event)\n",
         S.dup_suppressed);
  printf("  waiting                  at most %ld messages at once (all participants); %ld copies received again "
         "while waiting\n",
         S.max_waiting, S.rereceived_waiting);
  if (R.peer >= 0) {
    printf("\nrestart\n");
    printf("  p%d was down for rounds %d-%d and missed %ld messages (%ld packet copies dropped at it)\n", R.peer,
           R.stop_round, R.restart_round - 1, R.missed_sent_while_down, R.missed_copies);
    printf("  at the stop it had %d log entries, %d message(s) waiting for dependencies, %d unacknowledged own "
           "message(s)\n",
           R.log_at_stop, R.waiting_at_stop, R.unacked_at_stop);
    printf("  restored from SQLite     its first message cited %d messages (newest %s), %s\n", R.first_history,
           R.newest_cited[0] ? R.newest_cited : "-",
           R.first_history_match ? "all from its log before the stop" : "NOT all from its log before the stop");
    printf("                           %ld waiting message(s) released without being received again; %ld own "
           "message(s) sent before the stop acknowledged after it\n",
           R.released_from_store_buffer, R.acked_old_after_restart);
    printf("  caught up                it lacked %ld messages at the restart (those %ld and %ld lost before): %ld came\n"
           "                           back by SDS-R, %ld by store retrieval, %ld as a delayed copy\n",
           R.missed_msgs, R.missed_sent_while_down, R.missed_msgs - R.missed_sent_while_down, R.recovered_repair,
           R.recovered_store, R.recovered_late);
  }
  printf("\nwire\n");
  printf("  bytes on the wire        %ld (originals %ld, rebroadcasts %ld) = %.0f per message sent\n",
         S.orig_bytes + S.rebro_bytes, S.orig_bytes, S.rebro_bytes,
         S.sent ? (double)(S.orig_bytes + S.rebro_bytes) / (double)S.sent : 0.0);
  double per = S.sent ? 1.0 / (double)S.sent : 0.0;
  printf("  per original packet      %.0f bytes: bloom filter %.0f, %.1f causal-history entries, payload %.0f\n",
         (double)S.orig_bytes * per, (double)S.bloom_bytes * per, (double)S.history_entries * per,
         (double)S.content_bytes * per);
  printf("  per rebroadcast          %.0f bytes (bloom filter stripped: %ld bytes in all; the original messages'\n"
         "                           repair requests kept: %ld in all)\n",
         S.rebroadcasts ? (double)S.rebro_bytes / (double)S.rebroadcasts : 0.0, S.rebro_bloom, S.rebro_requests);
  printf("  store retrievals         %ld bytes\n", S.fetch_bytes);
  if (ok_converged)
    printf("\nconvergence    round %d (%d lossless rounds after the lossy phase)\n", round_no, round_no - O.rounds);
  else
    printf("\nconvergence    none (stopped at round %d, %d lossless rounds)\n", round_no, round_no - O.rounds);
  printf("trace digest   %016" PRIx64 " (every event every participant handled, in order: same digest, same run)\n",
         S.digest);
  if (!O.no_timings) {
    printf("time           %.2f s to convergence, %.2f s in all (%.0f ms per round)\n",
           ok_converged ? t_converged - t_start : t_end - t_start, t_end - t_start,
           1000.0 * (t_end - t_start) / (double)round_no);
    printf("stores         %.0f KiB in %s%s\n", kib, dir, O.keep_dir ? " (kept)" : " (removed)");
  }

  if (fail) {
    printf("\nFAILED:\n");
    if (!ok_converged && lost_k >= 0)
      printf("  undetectable loss: p%d lacks %s, but no message in flight cites it and no participant waits for\n"
             "  anything. SDS detects a gap only through the causal history of later messages (the newest %d log\n"
             "  entries of their sender); %s left every such window before a participant missing it saw it cited.\n"
             "  A larger --causal-history narrows this window of risk.\n",
             lost_p, msgs[lost_k].id, O.history, msgs[lost_k].id);
    else if (!ok_converged) printf("  no convergence after %d lossless rounds\n", O.max_lossless);
    if (wrong) printf("  %ld (participant, message) pairs not delivered exactly once; first: %s\n", wrong, what);
    if (S.given_up) printf("  %ld messages given up\n", S.given_up);
    if (S.first_error[0]) printf("  %s\n", S.first_error);
  }
  remove_dir();
  return fail ? 1 : 0;
}
