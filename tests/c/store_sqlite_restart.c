/* store_sqlite_restart: the bundled SQLite store (LIBSDS_STORE_SQLITE) through
   the C ABI, in a temporary directory.
   (a) restart survival of every piece of state, at both durability levels:
       the log (with evictions), the outgoing buffer, a message waiting for a
       missing dependency, an outgoing repair request, incoming repair
       responses and the lamport clock — checked through behaviour after
       libsds_free + libsds_new on the same file and namespace;
   (b) two namespaces in one file, open at the same time, stay separate; the
       default namespace is the participant id; a manager created after a
       restart that only calls libsds_mark_dependencies_met finds its channel
       (restored at creation by channel listing);
   (c) one namespace open twice at once: the second libsds_new fails with
       LIBSDS_ERR_STORE naming the namespace in use; after a free it opens;
   (d) bad options and paths: a missing directory, a path under a regular
       file, a directory as the path, a file that is not a database, a
       read-only file (not as root), an unknown sqlite_durability, a NULL or
       empty sqlite_path — each a clear error, never a crash.
   A build without SQLite (make SQLITE=none) answers LIBSDS_ERR_UNSUPPORTED:
   the test then only checks that and passes. */
#include "testutil.h"
#include "testevents.h"
#include "testnative.h"
#include "testwire.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* ======================================================================== */
/* helpers                                                                   */
/* ======================================================================== */

static char g_dir[256];

static void path_in(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", g_dir, name); }

static libsds_options sqlite_options(const char *path, const char *pid, const char *ns, uint32_t durability) {
  libsds_options o = LIBSDS_OPTIONS_INIT;
  o.store_kind = LIBSDS_STORE_SQLITE;
  o.sqlite_path = path;
  o.sqlite_namespace = ns;
  o.sqlite_durability = durability;
  o.participant_id = pid;
  o.config_set = SDSR_BITS | LIBSDS_CFG_MAX_MESSAGE_HISTORY;
  o.repair_t_min_ms = 1;
  o.repair_t_max_ms = 20;
  o.max_message_history = 5;
  return o;
}

/* libsds_new must fail with want, leave the handle 0 and say something that
   contains each of the needles in last_error. */
static void expect_new_fails(const libsds_options *o, int want, const char *n1, const char *n2, int line) {
  libsds_handle h = 0x77;
  int rc = libsds_new(o, &h);
  const char *err = libsds_last_error();
  int ok = rc == want && h == 0 && err[0] && (!n1 || strstr(err, n1)) && (!n2 || strstr(err, n2));
  if (!ok) {
    fprintf(stderr, "%s:%d: libsds_new = %s (want %s), handle %#llx, last_error \"%s\" (want \"%s\"%s%s%s)\n",
            __FILE__, line, libsds_status_str(rc), libsds_status_str(want), (unsigned long long)h, err,
            n1 ? n1 : "", n2 ? " and \"" : "", n2 ? n2 : "", n2 ? "\"" : "");
    tu_failures++;
  } else {
    printf("  rejected (%s): %s\n", libsds_status_str(rc), err);
  }
  if (rc == LIBSDS_OK) libsds_free(h);
}
#define EXPECT_NEW_FAILS(o, want, n1, n2) expect_new_fails((o), (want), (n1), (n2), __LINE__)

/* ======================================================================== */
/* (a) restart survival                                                      */
/* ======================================================================== */

#define HIGH_LAMPORT 5000000000ull /* far above the wall clock in seconds */

static void test_restart(uint32_t durability) {
  const char *dname = durability == LIBSDS_DURABILITY_FULL ? "FULL" : "NORMAL";
  printf("store_sqlite_restart: restart with durability %s\n", dname);
  char path[400];
  path_in(path, sizeof path, durability == LIBSDS_DURABILITY_FULL ? "full.db" : "normal.db");
  libsds_options o = sqlite_options(path, "alice", NULL, durability);
  libsds_handle m1 = 0;
  CHECK_EQ_INT(libsds_new(&o, &m1), LIBSDS_OK);
  CHECK(access(path, F_OK) == 0);
  recorder r1;
  rec_init(&r1);
  CHECK_EQ_INT(libsds_set_event_handler(m1, on_event, &r1), LIBSDS_OK);

  /* log with evictions + outgoing: a1..a7 with a 5-entry history */
  libsds_buffer a[8];
  int64_t last = 0;
  for (int i = 1; i <= 7; i++) {
    char id[8];
    snprintf(id, sizeof id, "a%d", i);
    a[i] = wrap(m1, id);
    CHECK(wire_lamport(&a[i]) > last);
    last = wire_lamport(&a[i]);
  }

  /* incoming repair: peer misses a2..a6 (a7 cites them) and asks for them */
  libsds_handle peer = memory_manager("peer", LIBSDS_CFG_MAX_REPAIR_REQUESTS, 5);
  CHECK_EQ_INT(unwrap_rc(peer, a[7].data, a[7].len), LIBSDS_OK);
  tu_sleep_ms(30); /* not synchronisation: T_req (< 20 ms) must pass on the clock */
  libsds_buffer p1 = wrap(peer, "p1");
  char reqs[256];
  entry_ids(p1.data, p1.len, 13, reqs, sizeof reqs);
  const char *asked[] = {"a2", "a3", "a4", "a5", "a6"};
  CHECK(same_set(reqs, asked, 5));
  {
    uint8_t *stripped = malloc(p1.len); /* no bloom filter: it would acknowledge a7 */
    size_t n = strip_bloom(p1.data, p1.len, stripped);
    CHECK_EQ_INT(unwrap_rc(m1, stripped, n), LIBSDS_OK); /* log a4..a7,p1; responses a3..a6 */
    free(stripped);
  }

  /* incoming + outgoing repair: quinn's q2 waits for q1 */
  libsds_handle quinn = memory_manager("quinn", 0, 0);
  libsds_buffer q1 = wrap(quinn, "q1"), q2 = wrap(quinn, "q2");
  CHECK_EQ_INT(unwrap_rc(m1, q2.data, q2.len), LIBSDS_OK);

  /* a message from the future pushes the lamport clock far above the wall
     clock, so a clock lost in the restart could not hide behind time */
  pb_buf hi;
  pb_craft(&hi, "hi", 2, HIGH_LAMPORT, NULL, NULL, 0, "ch");
  CHECK_EQ_INT(unwrap_rc(m1, hi.b, hi.n), LIBSDS_OK); /* log a5,a6,a7,p1,hi */

  rec_wait(&r1, 3);
  CHECK_EV(&r1, 0, LIBSDS_EVENT_MESSAGE_READY, "p1");
  CHECK_EV(&r1, 1, LIBSDS_EVENT_MISSING_DEPENDENCIES, "q2");
  CHECK_EV(&r1, 2, LIBSDS_EVENT_MESSAGE_READY, "hi");
  CHECK_STR(r1.ev[1].missing, "q1");

  CHECK_EQ_INT(libsds_free(m1), LIBSDS_OK);
  CHECK_EQ_INT(rec_count(&r1), 3);
  rec_destroy(&r1);

  /* ---- restart on the same file; this time messages give up after 1 ms ---- */
  o.config_set |= LIBSDS_CFG_RESEND_INTERVAL | LIBSDS_CFG_MAX_RESEND_ATTEMPTS;
  o.resend_interval_ms = 1;
  o.max_resend_attempts = 0;
  libsds_handle m2 = 0;
  CHECK_EQ_INT(libsds_new(&o, &m2), LIBSDS_OK);
  recorder r2;
  rec_init(&r2);
  CHECK_EQ_INT(libsds_set_event_handler(m2, on_event, &r2), LIBSDS_OK);

  /* the next wrap: the lamport clock goes on from the restored one (hi: 5e9,
     +1 on receipt, +1 for this wrap), the causal history cites the newest
     restored log entries in order, and the restored (due) repair request for
     q1 goes out */
  tu_sleep_ms(25); /* not synchronisation: the restored request's T_req must pass on the clock */
  libsds_buffer w1 = wrap(m2, "w1");
  CHECK_EQ_INT(wire_lamport(&w1), (int64_t)HIGH_LAMPORT + 2);
  char ids[256];
  entry_ids(w1.data, w1.len, 3, ids, sizeof ids);
  CHECK_STR(ids, "a5,a6,a7,p1,hi");
  entry_ids(w1.data, w1.len, 13, ids, sizeof ids);
  CHECK_STR(ids, "q1");

  /* the restored repair responses are due: a3..a6, each with its message
     (a3 and a4 left the log since; the responses keep their copies) */
  CHECK_EQ_INT(libsds_run_tasks(m2, LIBSDS_TASK_REPAIR_SWEEP), LIBSDS_OK);
  const char *responses[] = {"a3", "a4", "a5", "a6"};
  check_repair_ready_ids(&r2, responses, 4);

  /* an acknowledgement of a restored outgoing message */
  pb_buf ack;
  const char *cite[] = {"a7"}; /* a5 left the log: citing it would make ack1 wait */
  pb_craft(&ack, "ack1", 4, 1, cite, NULL, 1, "ch");
  CHECK_EQ_INT(unwrap_rc(m2, ack.b, ack.n), LIBSDS_OK);
  rec_wait(&r2, 6);
  CHECK_EV(&r2, 4, LIBSDS_EVENT_MESSAGE_ACKNOWLEDGED, "a7");
  CHECK_EV(&r2, 5, LIBSDS_EVENT_MESSAGE_READY, "ack1");

  /* the missing dependency releases the restored waiting message: READY q1,
     then q2, with the content kept across the restart */
  CHECK_EQ_INT(unwrap_rc(m2, q1.data, q1.len), LIBSDS_OK);
  rec_wait(&r2, 8);
  CHECK_EV(&r2, 6, LIBSDS_EVENT_MESSAGE_READY, "q1");
  CHECK_EV(&r2, 7, LIBSDS_EVENT_MESSAGE_READY, "q2");
  CHECK_STR(r2.ev[7].content, "q2");

  /* every restored outgoing message is there, in order: give them all up */
  tu_sleep_ms(5); /* not synchronisation: the resend interval must pass on the clock */
  CHECK_EQ_INT(libsds_run_tasks(m2, LIBSDS_TASK_BUFFER_SWEEP), LIBSDS_OK);
  const char *gone[] = {"a1", "a2", "a3", "a4", "a5", "a6", "w1"};
  rec_wait(&r2, 15);
  for (int i = 0; i < 7; i++) CHECK_EV(&r2, 8 + i, LIBSDS_EVENT_MESSAGE_GIVEN_UP, gone[i]);
  CHECK_EQ_INT(rec_fence(m2, &r2), 15);
  CHECK_EQ_INT(libsds_free(m2), LIBSDS_OK);
  rec_destroy(&r2);

  /* ---- a third start sees what the second did: nothing left to send,
     repair or release; the log and the clock moved on ---- */
  libsds_handle m3 = 0;
  CHECK_EQ_INT(libsds_new(&o, &m3), LIBSDS_OK);
  recorder r3;
  rec_init(&r3);
  CHECK_EQ_INT(libsds_set_event_handler(m3, on_event, &r3), LIBSDS_OK);
  tu_sleep_ms(25); /* not synchronisation: a restored request would be due by now (T_req) */
  libsds_buffer w2 = wrap(m3, "w2");
  /* receipts of ack1 (lamport 1) and q1 each add one: hi+2 (w1), +1, +1, +1 */
  CHECK_EQ_INT(wire_lamport(&w2), (int64_t)HIGH_LAMPORT + 5);
  entry_ids(w2.data, w2.len, 3, ids, sizeof ids);
  CHECK_STR(ids, "hi,w1,ack1,q1,q2"); /* q1 joined the log before the q2 it released */
  entry_ids(w2.data, w2.len, 13, ids, sizeof ids);
  CHECK_STR(ids, "");
  CHECK_EQ_INT(libsds_run_tasks(m3, LIBSDS_TASK_BUFFER_SWEEP | LIBSDS_TASK_REPAIR_SWEEP), LIBSDS_OK);
  tu_sleep_ms(10); /* not synchronisation: the resend interval must pass on the clock */
  CHECK_EQ_INT(libsds_run_tasks(m3, LIBSDS_TASK_BUFFER_SWEEP), LIBSDS_OK);
  rec_wait(&r3, 1);
  CHECK_EV(&r3, 0, LIBSDS_EVENT_MESSAGE_GIVEN_UP, "w2"); /* only the new one */
  CHECK_EQ_INT(rec_fence(m3, &r3), 1);
  CHECK_EQ_INT(libsds_free(m3), LIBSDS_OK);
  rec_destroy(&r3);

  for (int i = 1; i <= 7; i++) libsds_buffer_free(&a[i]);
  libsds_buffer_free(&p1);
  libsds_buffer_free(&q1);
  libsds_buffer_free(&q2);
  libsds_buffer_free(&w1);
  libsds_buffer_free(&w2);
  CHECK_EQ_INT(libsds_free(peer), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(quinn), LIBSDS_OK);
}

/* ======================================================================== */
/* (b) namespaces                                                            */
/* ======================================================================== */

static void test_namespaces(void) {
  printf("store_sqlite_restart: namespaces\n");
  char path[400];
  path_in(path, sizeof path, "shared.db");
  /* same participant id, two namespaces, both open at once */
  libsds_options o1 = sqlite_options(path, "x", "one", LIBSDS_DURABILITY_NORMAL);
  libsds_options o2 = sqlite_options(path, "x", "two", LIBSDS_DURABILITY_NORMAL);
  libsds_handle h1 = 0, h2 = 0;
  CHECK_EQ_INT(libsds_new(&o1, &h1), LIBSDS_OK);
  CHECK_EQ_INT(libsds_new(&o2, &h2), LIBSDS_OK);
  libsds_buffer b;
  b = wrap(h1, "one-1");
  libsds_buffer_free(&b);
  b = wrap(h2, "two-1");
  libsds_buffer_free(&b);
  b = wrap(h1, "one-2");
  libsds_buffer_free(&b);
  libsds_handle quinn = memory_manager("quinn", 0, 0);
  libsds_buffer q1 = wrap(quinn, "q1"), q2 = wrap(quinn, "q2");
  CHECK_EQ_INT(unwrap_rc(h2, q2.data, q2.len), LIBSDS_OK); /* "two" waits for q1 */

  /* the default namespace is the participant id: participant "one" without a
     namespace collides with namespace "one" held by h1 */
  libsds_options od = sqlite_options(path, "one", NULL, LIBSDS_DURABILITY_NORMAL);
  EXPECT_NEW_FAILS(&od, LIBSDS_ERR_STORE, "namespace", "in use");

  CHECK_EQ_INT(libsds_free(h1), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(h2), LIBSDS_OK);

  /* "two" restarted: a manager that only marks q1 met finds the channel it
     never touched since the restart, and q2 is released */
  CHECK_EQ_INT(libsds_new(&o2, &h2), LIBSDS_OK);
  recorder r;
  rec_init(&r);
  CHECK_EQ_INT(libsds_set_event_handler(h2, on_event, &r), LIBSDS_OK);
  libsds_str q1id[1] = {{"q1", 2}};
  CHECK_EQ_INT(libsds_mark_dependencies_met(h2, q1id, 1, "ch"), LIBSDS_OK);
  rec_wait(&r, 1);
  CHECK_EV(&r, 0, LIBSDS_EVENT_MESSAGE_READY, "q2");
  CHECK_STR(r.ev[0].content, "q2");
  CHECK_EQ_INT(libsds_mark_dependencies_met(h2, q1id, 1, "no-such-channel"), LIBSDS_ERR_UNKNOWN_CHANNEL);
  libsds_buffer t2 = wrap(h2, "two-2");
  char ids[256];
  entry_ids(t2.data, t2.len, 3, ids, sizeof ids);
  CHECK_STR(ids, "two-1,q2");
  libsds_buffer_free(&t2);
  CHECK_EQ_INT(libsds_free(h2), LIBSDS_OK);
  rec_destroy(&r);

  /* "one" restarted: only its own messages, no q2; no channel "ch" waits */
  CHECK_EQ_INT(libsds_new(&o1, &h1), LIBSDS_OK);
  libsds_buffer t1 = wrap(h1, "one-3");
  entry_ids(t1.data, t1.len, 3, ids, sizeof ids);
  CHECK_STR(ids, "one-1,one-2");
  libsds_buffer_free(&t1);
  CHECK_EQ_INT(libsds_free(h1), LIBSDS_OK);

  /* a namespace never used in the file starts empty; a mark finds no channel */
  libsds_options o3 = sqlite_options(path, "x", "three", LIBSDS_DURABILITY_FULL);
  libsds_handle h3 = 0;
  CHECK_EQ_INT(libsds_new(&o3, &h3), LIBSDS_OK);
  CHECK_EQ_INT(libsds_mark_dependencies_met(h3, q1id, 1, "ch"), LIBSDS_ERR_UNKNOWN_CHANNEL);
  libsds_buffer t3 = wrap(h3, "three-1");
  entry_ids(t3.data, t3.len, 3, ids, sizeof ids);
  CHECK_STR(ids, "");
  libsds_buffer_free(&t3);
  CHECK_EQ_INT(libsds_free(h3), LIBSDS_OK);

  libsds_buffer_free(&q1);
  libsds_buffer_free(&q2);
  CHECK_EQ_INT(libsds_free(quinn), LIBSDS_OK);
}

/* ======================================================================== */
/* (c) one namespace twice                                                   */
/* ======================================================================== */

static void test_lock(void) {
  printf("store_sqlite_restart: one namespace open twice\n");
  char path[400];
  path_in(path, sizeof path, "lock.db");
  libsds_options o = sqlite_options(path, "solo", NULL, LIBSDS_DURABILITY_NORMAL);
  libsds_handle h = 0;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  libsds_buffer b = wrap(h, "s1");
  libsds_buffer_free(&b);
  EXPECT_NEW_FAILS(&o, LIBSDS_ERR_STORE, "namespace", "in use");
  libsds_options on = sqlite_options(path, "someone", "solo", LIBSDS_DURABILITY_FULL);
  EXPECT_NEW_FAILS(&on, LIBSDS_ERR_STORE, "solo", "in use");
  /* the first manager is unharmed */
  b = wrap(h, "s2");
  char ids[64];
  entry_ids(b.data, b.len, 3, ids, sizeof ids);
  CHECK_STR(ids, "s1");
  libsds_buffer_free(&b);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  /* free released the namespace */
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  b = wrap(h, "s3");
  entry_ids(b.data, b.len, 3, ids, sizeof ids);
  CHECK_STR(ids, "s1,s2");
  libsds_buffer_free(&b);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
}

/* ======================================================================== */
/* (d) bad options and paths                                                 */
/* ======================================================================== */

static void test_bad_input(void) {
  printf("store_sqlite_restart: bad options and paths\n");
  char path[400], file[400];

  /* a directory that does not exist */
  path_in(path, sizeof path, "no-such-dir/sds.db");
  libsds_options o = sqlite_options(path, "bad", NULL, LIBSDS_DURABILITY_NORMAL);
  EXPECT_NEW_FAILS(&o, LIBSDS_ERR_STORE, "no-such-dir", NULL);

  /* a path under a regular file */
  path_in(file, sizeof file, "plain-file");
  FILE *f = fopen(file, "w");
  CHECK(f != NULL);
  if (f) {
    fputs("not a directory\n", f);
    fclose(f);
  }
  path_in(path, sizeof path, "plain-file/sds.db");
  o = sqlite_options(path, "bad", NULL, LIBSDS_DURABILITY_NORMAL);
  EXPECT_NEW_FAILS(&o, LIBSDS_ERR_STORE, "plain-file", NULL);

  /* a file that is not a database */
  o = sqlite_options(file, "bad", NULL, LIBSDS_DURABILITY_NORMAL);
  EXPECT_NEW_FAILS(&o, LIBSDS_ERR_STORE, "plain-file", "not a database");

  /* a directory as the database path */
  path_in(path, sizeof path, "a-directory");
  CHECK_EQ_INT(mkdir(path, 0700), 0);
  o = sqlite_options(path, "bad", NULL, LIBSDS_DURABILITY_NORMAL);
  EXPECT_NEW_FAILS(&o, LIBSDS_ERR_STORE, "a-directory", NULL);

  /* a read-only database file (root writes anyway: skipped as root) */
  if (geteuid() != 0) {
    path_in(path, sizeof path, "readonly.db");
    o = sqlite_options(path, "ro", NULL, LIBSDS_DURABILITY_NORMAL);
    libsds_handle h = 0;
    CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
    libsds_buffer b = wrap(h, "r1");
    libsds_buffer_free(&b);
    CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
    CHECK_EQ_INT(chmod(path, 0400), 0);
    EXPECT_NEW_FAILS(&o, LIBSDS_ERR_STORE, "read-only", NULL);
  } else {
    printf("  (read-only file case skipped: running as root)\n");
  }

  /* an unknown durability */
  path_in(path, sizeof path, "ok.db");
  o = sqlite_options(path, "bad", NULL, 7);
  EXPECT_NEW_FAILS(&o, LIBSDS_ERR_INVALID_ARG, "sqlite_durability", NULL);
  CHECK(access(path, F_OK) != 0); /* nothing created */

  /* no path */
  o = sqlite_options(NULL, "bad", NULL, LIBSDS_DURABILITY_NORMAL);
  EXPECT_NEW_FAILS(&o, LIBSDS_ERR_INVALID_ARG, "sqlite_path", NULL);
  o = sqlite_options("", "bad", NULL, LIBSDS_DURABILITY_NORMAL);
  EXPECT_NEW_FAILS(&o, LIBSDS_ERR_INVALID_ARG, "sqlite_path", NULL);
}

/* Every manager has been freed: no namespace lock file is left behind. */
static void check_no_lock_files(void) {
  DIR *d = opendir(g_dir);
  CHECK(d != NULL);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n > 5 && strcmp(e->d_name + n - 5, ".lock") == 0) {
      fprintf(stderr, "left behind: %s/%s\n", g_dir, e->d_name);
      CHECK(0);
    }
  }
  closedir(d);
}

int main(void) {
  alarm(120);
  snprintf(g_dir, sizeof g_dir, "/tmp/store_sqlite_restart_XXXXXX");
  if (!mkdtemp(g_dir)) {
    perror("mkdtemp");
    return 1;
  }
  /* does this build have SQLite? */
  {
    char path[400];
    path_in(path, sizeof path, "probe.db");
    libsds_options o = sqlite_options(path, "probe", NULL, LIBSDS_DURABILITY_NORMAL);
    libsds_handle h = 0;
    int rc = libsds_new(&o, &h);
    if (rc == LIBSDS_ERR_UNSUPPORTED) {
      printf("store_sqlite_restart: this build has no SQLite store (%s); skipped\n", libsds_last_error());
      CHECK(h == 0);
      rm_rf(g_dir);
      return tu_done("store_sqlite_restart");
    }
    CHECK_EQ_INT(rc, LIBSDS_OK);
    if (rc == LIBSDS_OK) libsds_free(h);
  }
  test_restart(LIBSDS_DURABILITY_FULL);
  test_restart(LIBSDS_DURABILITY_NORMAL);
  test_namespaces();
  test_lock();
  test_bad_input();
  check_no_lock_files();
  rm_rf(g_dir);
  return tu_done("store_sqlite_restart");
}
