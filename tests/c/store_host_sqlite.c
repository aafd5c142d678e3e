/* store_host_sqlite: symbol hygiene. A host process that loads the platform's
   libsqlite3 itself — dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_GLOBAL), which
   puts its sqlite3_* symbols in the global scope, the situation that would
   clash if libsds exported or interposed SQLite's names — and also uses libsds
   with LIBSDS_STORE_SQLITE (its own, bundled SQLite) in the same process:
   (a) libsds exports no sqlite3_* symbol: dlsym on libsds's handle finds none,
       and the global sqlite3_* names resolve to the system library;
   (b) the host's SQLite (in-memory and on-disk databases) and libsds's store
       work side by side: queries before, between and after libsds operations,
       a libsds restart that sees its state, and the host's results are right.
   Only libdl is needed (part of libc since glibc 2.34), so the generic tests/c
   rule builds it. Without a system libsqlite3 the host half is skipped. */
#define _GNU_SOURCE
#include "testutil.h"
#include "testnative.h"
#include "testwire.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the host's SQLite, through dlsym ---- */

typedef struct sqlite3 sqlite3;
typedef int (*sqlite_cb)(void *, int, char **, char **);

static struct {
  void *lib;
  const char *(*libversion)(void);
  int (*libversion_number)(void);
  int (*open)(const char *, sqlite3 **);
  int (*close)(sqlite3 *);
  int (*exec)(sqlite3 *, const char *, sqlite_cb, void *, char **);
  void (*free)(void *);
  const char *(*errmsg)(sqlite3 *);
} host;

static int load_host_sqlite(void) {
  host.lib = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_GLOBAL);
  if (!host.lib) {
    printf("store_host_sqlite: no system libsqlite3 (%s)\n", dlerror());
    return 0;
  }
#define SYM(field, name)                                                           \
  do {                                                                             \
    *(void **)(&host.field) = dlsym(host.lib, name);                               \
    if (!host.field) {                                                             \
      fprintf(stderr, "store_host_sqlite: libsqlite3 lacks %s\n", name);          \
      tu_failures++;                                                               \
      return 0;                                                                    \
    }                                                                              \
  } while (0)
  SYM(libversion, "sqlite3_libversion");
  SYM(libversion_number, "sqlite3_libversion_number");
  SYM(open, "sqlite3_open");
  SYM(close, "sqlite3_close");
  SYM(exec, "sqlite3_exec");
  SYM(free, "sqlite3_free");
  SYM(errmsg, "sqlite3_errmsg");
#undef SYM
  return 1;
}

/* Runs sql; returns the first column of the last row as a string (or ""). */
static char last_value[256];

static int keep_last(void *ud, int n, char **vals, char **cols) {
  (void)ud;
  (void)cols;
  snprintf(last_value, sizeof last_value, "%s", n > 0 && vals[0] ? vals[0] : "");
  return 0;
}

static const char *q(sqlite3 *db, const char *sql, int line) {
  char *err = NULL;
  last_value[0] = 0;
  int rc = host.exec(db, sql, keep_last, NULL, &err);
  if (rc != 0) {
    fprintf(stderr, "%s:%d: host sqlite3_exec(\"%s\") = %d: %s\n", __FILE__, line, sql, rc, err ? err : "");
    tu_failures++;
  }
  if (err) host.free(err);
  return last_value;
}
#define Q(db, sql) q((db), (sql), __LINE__)

/* ---- libsds ---- */

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int ready, acked, syncs;
} counts;

/* Counts MESSAGE_READY and MESSAGE_ACKNOWLEDGED events (not testevents.h's recorder: only counts matter here). */
static void count_event(const libsds_event *e, void *ud) {
  counts *c = ud;
  pthread_mutex_lock(&c->mu);
  if (e->type == LIBSDS_EVENT_MESSAGE_READY) c->ready++;
  if (e->type == LIBSDS_EVENT_MESSAGE_ACKNOWLEDGED) c->acked++;
  if (e->type == LIBSDS_EVENT_PERIODIC_SYNC) c->syncs++;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

/* Checks h's event counts once every event queued so far has arrived: the
   PERIODIC_SYNC that run_tasks queues is a fence, delivered after them. */
static void wait_counts(libsds_handle h, counts *c, int ready, int acked) {
  pthread_mutex_lock(&c->mu);
  int syncs = c->syncs;
  pthread_mutex_unlock(&c->mu);
  CHECK_EQ_INT(libsds_run_tasks(h, LIBSDS_TASK_SYNC), LIBSDS_OK);
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 5;
  pthread_mutex_lock(&c->mu);
  while (c->syncs == syncs && pthread_cond_timedwait(&c->cv, &c->mu, &dl) != ETIMEDOUT) {
  }
  int ok = c->syncs > syncs && c->ready == ready && c->acked == acked;
  if (!ok) {
    fprintf(stderr, "events: ready %d acked %d, want %d and %d\n", c->ready, c->acked, ready, acked);
    tu_failures++;
  }
  pthread_mutex_unlock(&c->mu);
}

/* (a) libsds exports no sqlite3_* symbol. */
static void check_symbols(void) {
  /* libsds is linked in: RTLD_NOLOAD hands back the loaded copy */
  void *sds = dlopen("libsds.so.0", RTLD_NOW | RTLD_NOLOAD);
  CHECK(sds != NULL);
  if (!sds) return;
  CHECK(dlsym(sds, "libsds_new") != NULL); /* the handle works */
  static const char *const names[] = {
      "sqlite3_open",       "sqlite3_open_v2",  "sqlite3_close",      "sqlite3_close_v2", "sqlite3_exec",
      "sqlite3_prepare_v2", "sqlite3_step",     "sqlite3_finalize",   "sqlite3_initialize", "sqlite3_config",
      "sqlite3_libversion", "sqlite3_sourceid", "sqlite3_malloc",     "sqlite3_free",     "sqlite3_vfs_find",
      "sqlite3_vfs_register", "sqlite3_errmsg", "sqlite3_busy_timeout", "sqlite3_wal_checkpoint_v2",
      "_cgo_panic",         "crosscall2",       "_cgo_topofstack",
  };
  int exported = 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    void *p = dlsym(sds, names[i]);
    Dl_info info;
    /* dlsym on a library handle also searches its dependencies: a hit counts
       only if the symbol lives in libsds itself */
    if (!p) continue;
    if (!dladdr(p, &info) || !info.dli_fname || strstr(info.dli_fname, "libsds")) {
      fprintf(stderr, "store_host_sqlite: libsds exports %s\n", names[i]);
      exported++;
    } else {
      /* a build with SQLITE=system links libsqlite3: found in that dependency */
      printf("store_host_sqlite: %s resolves in libsds's dependency %s\n", names[i], info.dli_fname);
    }
  }
  CHECK_EQ_INT(exported, 0);
  if (host.lib) {
    /* the global names are the system library's */
    void *g = dlsym(RTLD_DEFAULT, "sqlite3_open");
    CHECK(g != NULL && g == (void *)host.open);
    Dl_info info;
    CHECK(g && dladdr(g, &info) && info.dli_fname && strstr(info.dli_fname, "libsqlite3") != NULL);
    if (g && dladdr(g, &info)) printf("store_host_sqlite: global sqlite3_open is in %s\n", info.dli_fname);
  }
  dlclose(sds);
}

int main(void) {
  alarm(60);
  int have_host = load_host_sqlite();
  check_symbols();

  char dir[] = "/tmp/store_host_sqlite_XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  char sds_path[256], host_path[256];
  snprintf(sds_path, sizeof sds_path, "%s/sds.db", dir);
  snprintf(host_path, sizeof host_path, "%s/host.db", dir);

  sqlite3 *mem = NULL, *disk = NULL;
  if (have_host) {
    printf("store_host_sqlite: host sqlite3_libversion() = %s (%d)\n", host.libversion(), host.libversion_number());
    CHECK_EQ_INT(host.open(":memory:", &mem), 0);
    CHECK_EQ_INT(host.open(host_path, &disk), 0);
    Q(mem, "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)");
    Q(mem, "INSERT INTO t(v) VALUES ('a'), ('b'), ('c')");
    CHECK_STR(Q(mem, "SELECT count(*) FROM t"), "3");
    CHECK_STR(Q(disk, "PRAGMA journal_mode=WAL"), "wal");
    Q(disk, "CREATE TABLE IF NOT EXISTS log(n INTEGER)");
    Q(disk, "INSERT INTO log VALUES (1)");
    CHECK_STR(Q(mem, "SELECT sqlite_version()"), host.libversion());
  }

  libsds_options o = LIBSDS_OPTIONS_INIT;
  o.store_kind = LIBSDS_STORE_SQLITE;
  o.sqlite_path = sds_path;
  o.participant_id = "host";
  libsds_handle h = 0;
  int rc = libsds_new(&o, &h);
  if (rc == LIBSDS_ERR_UNSUPPORTED) {
    printf("store_host_sqlite: this build has no SQLite store; libsds half skipped\n");
  } else {
    CHECK_EQ_INT(rc, LIBSDS_OK);
    counts c = {.ready = 0};
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    CHECK_EQ_INT(libsds_set_event_handler(h, count_event, &c), LIBSDS_OK);
    libsds_handle peer = 0;
    CHECK_EQ_INT(libsds_new(NULL, &peer), LIBSDS_OK);

    libsds_buffer h1 = wrap(h, "h1");
    if (have_host) Q(mem, "INSERT INTO t(v) VALUES ('d')");
    libsds_buffer h2 = wrap(h, "h2");
    CHECK_EQ_INT(unwrap_rc(peer, h1.data, h1.len), LIBSDS_OK);
    CHECK_EQ_INT(unwrap_rc(peer, h2.data, h2.len), LIBSDS_OK);
    libsds_buffer g1 = wrap(peer, "g1"); /* cites h1, h2: acknowledges them */
    if (have_host) Q(disk, "INSERT INTO log VALUES (2)");
    CHECK_EQ_INT(unwrap_rc(h, g1.data, g1.len), LIBSDS_OK);
    wait_counts(h, &c, 1, 2);
    if (have_host) CHECK_STR(Q(mem, "SELECT group_concat(v, '') FROM t"), "abcd");
    CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);

    /* the host's databases are fine after libsds closed its store */
    if (have_host) {
      CHECK_STR(Q(disk, "SELECT sum(n) FROM log"), "3");
      CHECK_STR(Q(disk, "PRAGMA integrity_check"), "ok");
      /* and the host's SQLite reads libsds's file: a valid database */
      sqlite3 *peek = NULL;
      CHECK_EQ_INT(host.open(sds_path, &peek), 0);
      CHECK_STR(Q(peek, "PRAGMA integrity_check"), "ok");
      CHECK_STR(Q(peek, "PRAGMA journal_mode"), "wal");
      CHECK(host.close(peek) == 0);
    }

    /* libsds reopens and sees its state */
    h = 0;
    CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
    libsds_buffer h3 = wrap(h, "h3");
    char ids[128];
    entry_ids(h3.data, h3.len, 3, ids, sizeof ids);
    CHECK_STR(ids, "h1,h2,g1");
    if (have_host) {
      Q(mem, "UPDATE t SET v = upper(v)");
      CHECK_STR(Q(mem, "SELECT group_concat(v, '') FROM t"), "ABCD");
      CHECK_STR(Q(mem, "SELECT sqlite_version()"), host.libversion());
    }
    CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
    CHECK_EQ_INT(libsds_free(peer), LIBSDS_OK);
    libsds_buffer_free(&h1);
    libsds_buffer_free(&h2);
    libsds_buffer_free(&h3);
    libsds_buffer_free(&g1);
    pthread_mutex_destroy(&c.mu);
    pthread_cond_destroy(&c.cv);
  }

  if (have_host) {
    CHECK_STR(Q(disk, "SELECT count(*) FROM log"), "2");
    CHECK_EQ_INT(host.close(mem), 0);
    CHECK_EQ_INT(host.close(disk), 0);
    /* the host's own symbols still answer after everything */
    CHECK(strlen(host.libversion()) > 0);
    dlclose(host.lib);
  }
  rm_rf(dir);
  return tu_done("store_host_sqlite");
}
