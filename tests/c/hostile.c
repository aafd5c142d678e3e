/* hostile: every attack on the budgets (docs/limits.md) through the C ABI,
   with the default budgets, each in a fresh process so that its peak RSS is its
   own. Each attack asserts the documented error or event, that no single
   unwrap costs more than HOSTILE_CPU_MS of CPU plus HOSTILE_CPU_MS_PER_MIB
   for each MiB of its message (a message the budgets accept must be copied,
   which on a VM costs several ms per MiB of fresh memory; a cost that grows
   faster than the message fails) (getrusage(RUSAGE_THREAD)
   around the call: the unwrap runs on the calling thread; the whole process's
   CPU during the call, which adds the Go runtime's and the SQLite
   checkpointer's background threads, is reported too), that an honest peer's next message
   is delivered at once afterwards, and the parent asserts the child's peak RSS
   (wait4's ru_maxrss) is under HOSTILE_RSS_MIB. Built without AddressSanitizer,
   whose shadow memory and quarantine would swamp the RSS being measured.

   hostile            runs every attack, each in a child
   hostile NAME       runs one attack in this process */
#define _GNU_SOURCE
#include "testutil.h"
#include "testhostile.h"
#include "testnative.h"

#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MIB ((size_t)1 << 20)
#define HOSTILE_RSS_MIB 256
#define HOSTILE_CPU_MS 100.0
#define HOSTILE_CPU_MS_PER_MIB 10.0
#define CHILD_SECONDS 60 /* a hung attack is killed and fails */

/* ---- the victim, the honest peer and measured unwraps ---- */

static libsds_handle victim, honest;
static hcount vev;        /* the victim's events */
static double max_cpu_ms; /* the most CPU one unwrap cost */
static double max_cpu_bound_ms; /* that unwrap's bound */
static double max_over_ms = -1e9; /* the most an unwrap's CPU exceeded its bound by (negative: none did) */
static long honest_seq;

static double max_proc_ms; /* the most CPU the process spent during one unwrap */

static double cpu_ms(int who) {
  struct rusage ru;
  getrusage(who, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* Unwraps into the victim, measuring its CPU; returns the status and, if
   missing is not NULL, the number of missing dependencies. */
static int v_unwrap(const uint8_t *d, size_t n, size_t *missing) {
  libsds_unwrapped *u = NULL;
  double t0 = cpu_ms(RUSAGE_THREAD), p0 = cpu_ms(RUSAGE_SELF);
  int rc = libsds_unwrap(victim, d, n, &u);
  double t = cpu_ms(RUSAGE_THREAD) - t0, p = cpu_ms(RUSAGE_SELF) - p0;
  double bound = HOSTILE_CPU_MS + HOSTILE_CPU_MS_PER_MIB * (double)n / (double)MIB;
  if (t > max_cpu_ms) max_cpu_ms = t, max_cpu_bound_ms = bound;
  if (t - bound > max_over_ms) max_over_ms = t - bound;
  if (p > max_proc_ms) max_proc_ms = p;
  if (missing) *missing = u ? u->missing_deps_len : 0;
  libsds_unwrapped_free(u);
  return rc;
}

static libsds_handle new_peer(const char *pid, hcount *events, const libsds_options *base) {
  libsds_options o = LIBSDS_OPTIONS_INIT;
  if (base) o = *base;
  o.participant_id = pid; /* SDS-R on, default windows */
  libsds_handle h = 0;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  if (events) CHECK_EQ_INT(libsds_set_event_handler(h, hc_on_event, events), LIBSDS_OK);
  return h;
}

/* The honest peer sends one message on ch; the victim must deliver it at once
   (no missing dependency, MESSAGE_READY). Also feeds it to the honest peer's
   own view: nothing, it is the sender. */
static void honest_says(const char *ch) {
  char id[64];
  snprintf(id, sizeof id, "honest-%ld", ++honest_seq);
  static const uint8_t text[] = "hello, an honest chat message of a reasonable size";
  libsds_buffer w = {0};
  CHECK_EQ_INT(libsds_wrap(honest, text, sizeof text - 1, id, ch, &w), LIBSDS_OK);
  hc_expect(&vev, id);
  size_t missing = 99;
  int rc = v_unwrap(w.data, w.len, &missing);
  CHECK_EQ_INT(rc, LIBSDS_OK);
  CHECK_EQ_INT((int)missing, 0);
  if (!hc_wait_ready(&vev)) {
    fprintf(stderr, "honest message %s was not delivered\n", id);
    tu_failures++;
  }
  libsds_buffer_free(&w);
}

/* Sets up the victim and the honest peer, with honest history on "ch". */
static void setup(const libsds_options *victim_opts) {
  hc_init(&vev);
  victim = new_peer("victim", &vev, victim_opts);
  honest = new_peer("honest", NULL, NULL);
  for (int i = 0; i < 20; i++) honest_says("ch");
}

static void expect_error(int rc, int want, const char *text) {
  CHECK_EQ_INT(rc, want);
  if (text && !strstr(libsds_last_error(), text)) {
    fprintf(stderr, "last_error \"%s\" does not mention %s\n", libsds_last_error(), text);
    tu_failures++;
  }
}

/* xorshift64: seeded, reproducible */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* ---- the attacks ---- */

/* 16 MiB citing the empty id 4.19 million times: refused whole, twice. */
static void attack_empty_id_16mib(void) {
  hbuf m = {0};
  hb_head(&m, "e", 1, "ch");
  hb_tail(&m, "x", 1);
  const uint8_t entry[] = {0x1a, 0x02, 0x0a, 0x00}; /* field 3: {field 1: ""} */
  hb_reserve(&m, 16 * MIB);
  while (m.n + sizeof entry <= 16 * MIB) {
    memcpy(m.b + m.n, entry, sizeof entry);
    m.n += sizeof entry;
  }
  for (int i = 0; i < 2; i++) expect_error(v_unwrap(m.b, m.n, NULL), LIBSDS_ERR_TOO_LARGE, "MaxCausalEntries");
  hb_free(&m);
}

/* 1.1 MiB citing 100,000 distinct ids, 20 times: refused. */
static void attack_distinct_ids(void) {
  hbuf m = {0};
  for (int k = 0; k < 20; k++) {
    char id[32];
    snprintf(id, sizeof id, "d%d", k);
    hb_head(&m, id, strlen(id), "ch");
    for (int i = 0; i < 100000; i++) {
      char dep[16];
      int n = snprintf(dep, sizeof dep, "%d-%06d", k, i);
      hb_entry(&m, 3, dep, (size_t)n, NULL, 0, "s");
    }
    hb_tail(&m, "x", 1);
    expect_error(v_unwrap(m.b, m.n, NULL), LIBSDS_ERR_TOO_LARGE, "MaxCausalEntries");
  }
  hb_free(&m);
}

/* At the budget: 1000 distinct 1 KiB ids with 1 KiB hints per message (2 MiB),
   40 messages: accepted and buffered, the buffer evicts oldest-first
   (INCOMING_DROPPED), the repair queue drops what exceeds it (REPAIR_DROPPED). */
static void attack_distinct_ids_at_budget(void) {
  hbuf m = {0};
  char id[1024], hint[1024];
  memset(hint, 'h', sizeof hint);
  for (int k = 0; k < 40; k++) {
    char mid[32];
    snprintf(mid, sizeof mid, "b%d", k);
    hb_head(&m, mid, strlen(mid), "ch");
    for (int i = 0; i < 1000; i++) {
      memset(id, 'a' + k % 26, sizeof id);
      snprintf(id, 16, "%d-%d:", k, i);
      hb_entry(&m, 3, id, sizeof id, hint, sizeof hint, "sender");
    }
    hb_tail(&m, "x", 1);
    size_t missing = 0;
    CHECK_EQ_INT(v_unwrap(m.b, m.n, &missing), LIBSDS_OK);
    CHECK_EQ_INT((int)missing, 1000);
  }
  CHECK(hc_wait_count(&vev, LIBSDS_EVENT_INCOMING_DROPPED, 1));
  CHECK(hc_wait_count(&vev, LIBSDS_EVENT_REPAIR_DROPPED, 1));
  printf("  incoming_dropped %ld, repair_dropped %ld\n", hc_count(&vev, LIBSDS_EVENT_INCOMING_DROPPED),
         hc_count(&vev, LIBSDS_EVENT_REPAIR_DROPPED));
  hb_free(&m);
}

/* 12,000 messages with 100 KB ids: refused, and nothing of the honest
   history is evicted by them. */
static void attack_huge_ids_flood(void) {
  hbuf m = {0};
  size_t len = 100 * 1000;
  char *id = malloc(len);
  memset(id, 'i', len);
  for (int k = 0; k < 12000; k++) {
    snprintf(id, 16, "%d:", k);
    hb_head(&m, id, len, "ch");
    hb_tail(&m, "x", 1);
    int rc = v_unwrap(m.b, m.n, NULL);
    if (rc != LIBSDS_ERR_TOO_LARGE) {
      expect_error(rc, LIBSDS_ERR_TOO_LARGE, "MaxIDLength");
      break;
    }
  }
  free(id);
  hb_free(&m);
}

/* 12,000 delivered messages with 1 KiB ids (at the budget): memory stays
   bounded (the rolling filter holds at most 12,000 ids, the log 1000). The
   first 9,000 are sent to us alone and push the honest history out of our
   log: the honest peer's next message, citing what we delivered, is still
   delivered at once. The last 3,000 the whole group sees. */
static void attack_ids_at_budget_flood(void) {
  hbuf m = {0};
  char id[1024];
  memset(id, 'i', sizeof id);
  for (int k = 0; k < 12000; k++) {
    snprintf(id, 16, "%d:", k);
    hb_head(&m, id, sizeof id, "ch");
    hb_tail(&m, "x", 1);
    CHECK_EQ_INT(v_unwrap(m.b, m.n, NULL), LIBSDS_OK);
    if (k == 9000) honest_says("ch");
    if (k < 9000) continue;
    libsds_unwrapped *u = NULL;
    CHECK_EQ_INT(libsds_unwrap(honest, m.b, m.n, &u), LIBSDS_OK);
    libsds_unwrapped_free(u);
  }
  hb_free(&m);
}

/* 1 MiB dependency ids and 15 MiB hints are refused; 15 MiB contents are
   accepted but the waiting ones are evicted by bytes (INCOMING_DROPPED) and
   the delivered ones' bodies let go (MaxHistoryBytes). */
static void attack_big_deps_hints_content(void) {
  hbuf m = {0};
  char *big = malloc(15 * MIB);
  memset(big, 'b', 15 * MIB);
  hb_head(&m, "bigdep", 6, "ch");
  hb_entry(&m, 3, big, MIB, NULL, 0, NULL);
  hb_tail(&m, "x", 1);
  expect_error(v_unwrap(m.b, m.n, NULL), LIBSDS_ERR_TOO_LARGE, "MaxIDLength");
  hb_head(&m, "bighint", 7, "ch");
  hb_entry(&m, 3, "dep", 3, big, 15 * MIB, NULL);
  hb_tail(&m, "x", 1);
  expect_error(v_unwrap(m.b, m.n, NULL), LIBSDS_ERR_TOO_LARGE, "MaxHintLength");
  for (int k = 0; k < 10; k++) {
    char id[32];
    snprintf(id, sizeof id, "wait-%d", k);
    hb_head(&m, id, strlen(id), "ch");
    hb_entry(&m, 3, "never", 5, NULL, 0, NULL);
    hb_tail(&m, big, 15 * MIB);
    CHECK_EQ_INT(v_unwrap(m.b, m.n, NULL), LIBSDS_OK);
    snprintf(id, sizeof id, "deliver-%d", k);
    hb_head(&m, id, strlen(id), "ch");
    hb_tail(&m, big, 15 * MIB);
    CHECK_EQ_INT(v_unwrap(m.b, m.n, NULL), LIBSDS_OK);
  }
  CHECK(hc_wait_count(&vev, LIBSDS_EVENT_INCOMING_DROPPED, 9));
  free(big);
  hb_free(&m);
}

/* 500 messages each missing 1000 new ids: 500,000 repair requests asked for,
   at most 1000 held (REPAIR_DROPPED for the rest); a message with more repair
   requests than MaxRepairEntries is refused. */
static void attack_repair_flood(void) {
  hbuf m = {0};
  for (int k = 0; k < 500; k++) {
    char mid[32];
    snprintf(mid, sizeof mid, "r%d", k);
    hb_head(&m, mid, strlen(mid), "ch");
    for (int i = 0; i < 1000; i++) {
      char dep[32];
      int n = snprintf(dep, sizeof dep, "gone-%d-%d", k, i);
      hb_entry(&m, 3, dep, (size_t)n, NULL, 0, "s");
    }
    hb_tail(&m, "x", 1);
    CHECK_EQ_INT(v_unwrap(m.b, m.n, NULL), LIBSDS_OK);
  }
  CHECK(hc_wait_count(&vev, LIBSDS_EVENT_REPAIR_DROPPED, 500L * 1000 - 1000));
  hb_head(&m, "reqs", 4, "ch");
  for (int i = 0; i < 101; i++) hb_entry(&m, 13, "honest-1", 8, NULL, 0, "honest");
  hb_tail(&m, "x", 1);
  expect_error(v_unwrap(m.b, m.n, NULL), LIBSDS_ERR_TOO_LARGE, "MaxRepairEntries");
  hb_free(&m);
}

/* Our own 10,000 outgoing messages share one id: each wrap replaces the older,
   still unacknowledged one, so one entry is tracked. A message citing it
   0.67 MiB worth of times is refused; one citing it 1000 times acknowledges it,
   at the cost of one citation. */
static void attack_own_duplicate_chain(void) {
  for (int i = 0; i < 10000; i++) {
    libsds_buffer w = {0};
    CHECK_EQ_INT(libsds_wrap(victim, (const uint8_t *)"x", 1, "dup", "dupch", &w), LIBSDS_OK);
    libsds_buffer_free(&w);
  }
  hbuf m = {0};
  hb_head(&m, "cite", 4, "dupch");
  while (m.n < 670 * 1000) hb_entry(&m, 3, "dup", 3, NULL, 0, NULL);
  hb_tail(&m, "x", 1);
  expect_error(v_unwrap(m.b, m.n, NULL), LIBSDS_ERR_TOO_LARGE, "MaxCausalEntries");
  hb_head(&m, "cite", 4, "dupch");
  for (int i = 0; i < 1000; i++) hb_entry(&m, 3, "dup", 3, NULL, 0, NULL);
  hb_tail(&m, "x", 1);
  CHECK_EQ_INT(v_unwrap(m.b, m.n, NULL), LIBSDS_OK);
  CHECK(hc_wait_count(&vev, LIBSDS_EVENT_MESSAGE_ACKNOWLEDGED, 1));
  hb_free(&m);
}

/* Ten messages with 1.7 MiB ids are refused, so our next message stays small
   and the honest peer accepts it; wrap refuses 17 MiB ids and channel ids. */
static void attack_unsendable(void) {
  hbuf m = {0};
  size_t len = 17 * MIB / 10;
  char *id = malloc(17 * MIB + 1);
  memset(id, 'i', 17 * MIB);
  id[17 * MIB] = 0;
  for (int k = 0; k < 10; k++) {
    id[0] = (char)('a' + k);
    hb_head(&m, id, len, "ch");
    hb_tail(&m, "x", 1);
    expect_error(v_unwrap(m.b, m.n, NULL), LIBSDS_ERR_TOO_LARGE, "MaxIDLength");
  }
  libsds_buffer w = {0};
  CHECK_EQ_INT(libsds_wrap(victim, (const uint8_t *)"mine", 4, "mine", "ch", &w), LIBSDS_OK);
  CHECK(w.len < 64 * 1024);
  libsds_unwrapped *u = NULL;
  CHECK_EQ_INT(libsds_unwrap(honest, w.data, w.len, &u), LIBSDS_OK);
  libsds_unwrapped_free(u);
  libsds_buffer_free(&w);
  expect_error(libsds_wrap(victim, (const uint8_t *)"x", 1, id, "ch", &w), LIBSDS_ERR_TOO_LARGE, "MaxIDLength");
  expect_error(libsds_wrap(victim, (const uint8_t *)"x", 1, "ok", id, &w), LIBSDS_ERR_TOO_LARGE, "MaxChannelIDLength");
  free(id);
  hb_free(&m);
}

/* A message on the empty channel is refused, as native wrap, mark and remove
   refuse the empty channel. */
static void attack_empty_channel(void) {
  hbuf m = {0};
  hb_head(&m, "m", 1, "");
  hb_tail(&m, "x", 1);
  expect_error(v_unwrap(m.b, m.n, NULL), LIBSDS_ERR_DECODE, "channel_id is empty");
  libsds_buffer w = {0};
  expect_error(libsds_wrap(victim, (const uint8_t *)"x", 1, "m", "", &w), LIBSDS_ERR_INVALID_ARG, "channel_id");
  libsds_str ids[1] = {{"m", 1}};
  expect_error(libsds_mark_dependencies_met(victim, ids, 1, ""), LIBSDS_ERR_INVALID_ARG, "channel_id");
  expect_error(libsds_remove_channel(victim, ""), LIBSDS_ERR_INVALID_ARG, "channel_id");
  hb_free(&m);
}

/* 10,000 channels created by peers (the MaxChannels default), then one more
   is refused. */
static void attack_channels(void) {
  hbuf m = {0};
  int made = 1; /* "ch" */
  for (int k = 0; made < 10000; k++, made++) {
    char ch[32];
    snprintf(ch, sizeof ch, "c%d", k);
    hb_head(&m, "m", 1, ch);
    hb_tail(&m, "x", 1);
    int rc = v_unwrap(m.b, m.n, NULL);
    if (rc != LIBSDS_OK) {
      CHECK_EQ_INT(rc, LIBSDS_OK);
      break;
    }
  }
  hb_head(&m, "m", 1, "one-too-many");
  hb_tail(&m, "x", 1);
  expect_error(v_unwrap(m.b, m.n, NULL), LIBSDS_ERR_TOO_MANY_CHANNELS, NULL);
  hb_free(&m);
}

/* Many waiters sharing ids: 2000 messages each missing the same 200 ids, then
   some of the 200 arrive, 30-byte messages each resolving every waiter still
   held (all 200 with the memory store; 20 with SQLite, for time). */
static void waiters(int resolve) {
  hbuf m = {0};
  for (int k = 0; k < 2000; k++) {
    char mid[32];
    snprintf(mid, sizeof mid, "w%d", k);
    hb_head(&m, mid, strlen(mid), "ch");
    for (int i = 0; i < 200; i++) {
      char dep[32];
      int n = snprintf(dep, sizeof dep, "shared-%d", i);
      hb_entry(&m, 3, dep, (size_t)n, NULL, 0, NULL);
    }
    hb_tail(&m, "x", 1);
    CHECK_EQ_INT(v_unwrap(m.b, m.n, NULL), LIBSDS_OK);
  }
  for (int i = 0; i < resolve; i++) {
    char dep[32];
    int n = snprintf(dep, sizeof dep, "shared-%d", i);
    hb_head(&m, dep, (size_t)n, "ch");
    hb_tail(&m, "x", 1);
    CHECK_EQ_INT(v_unwrap(m.b, m.n, NULL), LIBSDS_OK);
  }
  hb_free(&m);
}

static void attack_waiters_memory(void) { waiters(200); }

static char sqlite_dir[256];

static void attack_waiters_sqlite(void) { waiters(20); }

/* What held and must keep holding: mutated, truncated and garbage messages
   and bloom filters give LIBSDS_OK or an error, never a crash or a hang. */
static void attack_malformed(void) {
  libsds_buffer w = {0};
  CHECK_EQ_INT(libsds_wrap(honest, (const uint8_t *)"base", 4, "base", "ch", &w), LIBSDS_OK);
  uint8_t *mut = malloc(w.len + 64);
  int ok = 0, errs = 0;
  for (int k = 0; k < 3000; k++) {
    size_t n = w.len;
    memcpy(mut, w.data, n);
    int flips = 1 + (int)(next_rand() % 8);
    for (int f = 0; f < flips; f++) mut[next_rand() % n] ^= (uint8_t)(1u << (next_rand() % 8));
    if (k % 5 == 0) n = (size_t)(next_rand() % n); /* truncated */
    int rc = v_unwrap(mut, n, NULL);
    if (rc == LIBSDS_OK) ok++;
    else if (rc == LIBSDS_ERR_DECODE || rc == LIBSDS_ERR_TOO_LARGE || rc == LIBSDS_ERR_TOO_MANY_CHANNELS) errs++;
    else {
      fprintf(stderr, "mutation %d: unexpected status %d (%s)\n", k, rc, libsds_last_error());
      tu_failures++;
    }
  }
  /* Garbage bloom filters: random bytes of random lengths in field 6. */
  hbuf m = {0};
  uint8_t junk[4096];
  for (int k = 0; k < 500; k++) {
    size_t jn = (size_t)(next_rand() % sizeof junk);
    for (size_t i = 0; i < jn; i++) junk[i] = (uint8_t)next_rand();
    char mid[32];
    snprintf(mid, sizeof mid, "bf%d", k);
    hb_head(&m, mid, strlen(mid), "ch");
    hb_bytes(&m, 5, "x", 1);
    hb_bytes(&m, 6, junk, jn);
    CHECK_EQ_INT(v_unwrap(m.b, m.n, NULL), LIBSDS_OK);
  }
  printf("  mutations: %d accepted, %d refused\n", ok, errs);
  free(mut);
  hb_free(&m);
  libsds_buffer_free(&w);
}

typedef struct {
  const char *name;
  void (*fn)(void);
  int sqlite; /* the victim keeps its state in SQLite */
} attack;

static const attack attacks[] = {
    {"empty_id_16mib", attack_empty_id_16mib, 0},
    {"distinct_ids", attack_distinct_ids, 0},
    {"distinct_ids_at_budget", attack_distinct_ids_at_budget, 0},
    {"huge_ids_flood", attack_huge_ids_flood, 0},
    {"ids_at_budget_flood", attack_ids_at_budget_flood, 0},
    {"big_deps_hints_content", attack_big_deps_hints_content, 0},
    {"repair_flood", attack_repair_flood, 0},
    {"own_duplicate_chain", attack_own_duplicate_chain, 0},
    {"unsendable", attack_unsendable, 0},
    {"empty_channel", attack_empty_channel, 0},
    {"channels", attack_channels, 0},
    {"waiters_memory", attack_waiters_memory, 0},
    {"waiters_sqlite", attack_waiters_sqlite, 1},
    {"malformed", attack_malformed, 0},
};
#define NATTACKS ((int)(sizeof attacks / sizeof attacks[0]))

/* Runs one attack in this process. */
static int run_one(const attack *a) {
  libsds_options o = LIBSDS_OPTIONS_INIT;
  if (a->sqlite) {
    snprintf(sqlite_dir, sizeof sqlite_dir, "/tmp/libsds-hostile-XXXXXX");
    CHECK(mkdtemp(sqlite_dir) != NULL);
    static char path[300];
    snprintf(path, sizeof path, "%s/sds.db", sqlite_dir);
    o.store_kind = LIBSDS_STORE_SQLITE;
    o.sqlite_path = path;
  }
  setup(&o);
  double t0 = tu_now();
  a->fn();
  double took = tu_now() - t0;
  honest_says("ch"); /* delivered at once after the attack */
  printf("  %s: %.2f s, max CPU per unwrap %.1f ms, bound %.0f ms (process-wide during it: %.1f ms)\n", a->name,
         took, max_cpu_ms, max_cpu_bound_ms, max_proc_ms);
  if (max_over_ms > 0) {
    fprintf(stderr, "%s: an unwrap cost %.1f ms of CPU more than its bound (%.0f ms + %.0f ms per MiB)\n", a->name,
            max_over_ms, HOSTILE_CPU_MS, HOSTILE_CPU_MS_PER_MIB);
    tu_failures++;
  }
  CHECK_EQ_INT(libsds_free(victim), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(honest), LIBSDS_OK);
  if (a->sqlite) rm_rf(sqlite_dir);
  return tu_done(a->name);
}

int main(int argc, char **argv) {
  if (argc == 2) {
    alarm(CHILD_SECONDS);
    for (int i = 0; i < NATTACKS; i++)
      if (strcmp(argv[1], attacks[i].name) == 0) return run_one(&attacks[i]);
    fprintf(stderr, "hostile: no attack named %s\n", argv[1]);
    return 2;
  }
  int failed = 0;
  for (int i = 0; i < NATTACKS; i++) {
    char *args[] = {argv[0], (char *)attacks[i].name, NULL};
    pid_t pid;
    if (posix_spawn(&pid, argv[0], NULL, NULL, args, environ) != 0) {
      perror("posix_spawn");
      return 1;
    }
    int st = 0;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid) {
      perror("wait4");
      return 1;
    }
    double rss_mib = (double)ru.ru_maxrss / 1024.0;
    double cpu_s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                   (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (rss_mib > HOSTILE_RSS_MIB) {
      fprintf(stderr, "hostile %s: peak RSS %.1f MiB over %d MiB\n", attacks[i].name, rss_mib, HOSTILE_RSS_MIB);
      ok = 0;
    }
    printf("hostile %-24s %s  peak RSS %6.1f MiB  CPU %.2f s\n", attacks[i].name, ok ? "ok  " : "FAIL", rss_mib,
           cpu_s);
    fflush(stdout);
    if (!ok) failed++;
  }
  if (failed) {
    fprintf(stderr, "hostile: %d attack(s) FAILED\n", failed);
    return 1;
  }
  printf("hostile: ok\n");
  return 0;
}
