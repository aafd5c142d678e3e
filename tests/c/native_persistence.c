/* native_persistence: a libsds_persistence vtable written in C — an in-memory
   store with per-kind tables keyed by (channel, id) in insertion order, lamport
   per channel, transactions as a journal (a copy taken at begin), channel
   listing and a destroy counter.
   (a) every buffer survives a restart: log (with evictions), outgoing, incoming,
       outgoing repair, incoming repair, lamport; list_channels restores channels
       at creation;
   (b) with transactions, a failing method makes the call return LIBSDS_ERR_STORE,
       drops its events, rolls back, leaves the committed state as it was, and
       the operation succeeds when retried (also for commit, begin and load);
   (c) without transactions, failures arrive as LIBSDS_EVENT_STORE_FAILED;
   (d) invalid vtables are rejected and destroy runs exactly once;
   (e) misused loaders (stale, NULL, wrong kind) answer with an error;
   (f) lazy loading with a version 2 vtable (see test_lazy_loading). */
#include "testutil.h"
#include "testevents.h"
#include "testnative.h"
#include "testwire.h"

#include <unistd.h>

/* ======================================================================== */
/* the in-memory store                                                       */
/* ======================================================================== */

enum {
  M_SAVE_LAMPORT, M_APPEND_LOG, M_REMOVE_LOG, M_SET_HINT, M_SAVE_OUT, M_REMOVE_OUT, M_SAVE_IN, M_REMOVE_IN,
  M_SAVE_OREP, M_REMOVE_OREP, M_SAVE_IREP, M_REMOVE_IREP, M_DROP, M_LOAD, M_BEGIN, M_COMMIT, M_ROLLBACK,
  M_LIST, M_SAVE_DUE, M_DUE, M_COUNT
};

#define HINTS 0 /* table 0 keeps set_retrieval_hint; 1..5 are the record kinds */
#define NTABLES 6

typedef struct {
  char *ch, *id;
  size_t ch_len, id_len;
  uint8_t *rec;
  size_t len;
} row;

typedef struct {
  row *rows;
  size_t n, cap;
} table;

typedef struct {
  char *ch;
  size_t ch_len;
  int64_t lamport;
} lamport_row;

typedef struct {
  table t[NTABLES];
  lamport_row *lam;
  size_t nlam, caplam;
} state;

enum { LOADER_NORMAL, LOADER_KEEP, LOADER_MISUSE, LOADER_BADKIND };

typedef struct {
  pthread_mutex_t mu;
  state cur;
  state *journal; /* the state at begin while a transaction is open */
  int calls[M_COUNT];
  int destroys, writes_outside_tx, nested_begins, stray_commits, loader_errors;
  int fail_method, fail_times, failures;
  int loader_mode;
  libsds_loader *kept_loader;
  int misuse_rcs[8];
  const char *list_extra; /* list_channels also reports this channel */
  /* version 2 due times (no transactions: the lazy-loading test runs without) */
  char due_ch[8][32];
  int64_t due_ms[8];
  int ndue, force_due;
} store;

static char *dup_bytes(const void *p, size_t n) {
  char *d = malloc(n + 1);
  if (n) memcpy(d, p, n);
  d[n] = 0;
  return d;
}

static void row_free(row *r) {
  free(r->ch);
  free(r->id);
  free(r->rec);
}

static void state_free(state *s) {
  for (int k = 0; k < NTABLES; k++) {
    for (size_t i = 0; i < s->t[k].n; i++) row_free(&s->t[k].rows[i]);
    free(s->t[k].rows);
  }
  for (size_t i = 0; i < s->nlam; i++) free(s->lam[i].ch);
  free(s->lam);
  memset(s, 0, sizeof *s);
}

static void state_copy(state *dst, const state *src) {
  memset(dst, 0, sizeof *dst);
  for (int k = 0; k < NTABLES; k++) {
    const table *a = &src->t[k];
    table *b = &dst->t[k];
    b->cap = b->n = a->n;
    b->rows = calloc(a->n ? a->n : 1, sizeof(row));
    for (size_t i = 0; i < a->n; i++) {
      const row *r = &a->rows[i];
      b->rows[i] = (row){dup_bytes(r->ch, r->ch_len), dup_bytes(r->id, r->id_len), r->ch_len, r->id_len,
                         (uint8_t *)dup_bytes(r->rec, r->len), r->len};
    }
  }
  dst->caplam = dst->nlam = src->nlam;
  dst->lam = calloc(src->nlam ? src->nlam : 1, sizeof(lamport_row));
  for (size_t i = 0; i < src->nlam; i++)
    dst->lam[i] = (lamport_row){dup_bytes(src->lam[i].ch, src->lam[i].ch_len), src->lam[i].ch_len,
                                src->lam[i].lamport};
}

static int bytes_eq(const void *a, size_t an, const void *b, size_t bn) {
  return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* Exact equality, order included. */
static int state_equal(const state *a, const state *b) {
  for (int k = 0; k < NTABLES; k++) {
    if (a->t[k].n != b->t[k].n) return 0;
    for (size_t i = 0; i < a->t[k].n; i++) {
      const row *x = &a->t[k].rows[i], *y = &b->t[k].rows[i];
      if (!bytes_eq(x->ch, x->ch_len, y->ch, y->ch_len) || !bytes_eq(x->id, x->id_len, y->id, y->id_len) ||
          !bytes_eq(x->rec, x->len, y->rec, y->len))
        return 0;
    }
  }
  if (a->nlam != b->nlam) return 0;
  for (size_t i = 0; i < a->nlam; i++)
    if (!bytes_eq(a->lam[i].ch, a->lam[i].ch_len, b->lam[i].ch, b->lam[i].ch_len) ||
        a->lam[i].lamport != b->lam[i].lamport)
      return 0;
  return 1;
}

static row *find_row(table *t, libsds_str ch, libsds_str id) {
  for (size_t i = 0; i < t->n; i++)
    if (bytes_eq(t->rows[i].ch, t->rows[i].ch_len, ch.data, ch.len) &&
        bytes_eq(t->rows[i].id, t->rows[i].id_len, id.data, id.len))
      return &t->rows[i];
  return NULL;
}

/* Inserts, or updates in place keeping the original position. */
static void put_row(table *t, libsds_str ch, libsds_str id, const uint8_t *rec, size_t len) {
  row *r = find_row(t, ch, id);
  if (r) {
    free(r->rec);
    r->rec = (uint8_t *)dup_bytes(rec, len);
    r->len = len;
    return;
  }
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 8;
    t->rows = realloc(t->rows, t->cap * sizeof(row));
  }
  t->rows[t->n++] = (row){dup_bytes(ch.data, ch.len), dup_bytes(id.data, id.len), ch.len, id.len,
                          (uint8_t *)dup_bytes(rec, len), len};
}

static void del_at(table *t, size_t i) {
  row_free(&t->rows[i]);
  memmove(&t->rows[i], &t->rows[i + 1], (t->n - i - 1) * sizeof(row));
  t->n--;
}

static void del_row(table *t, libsds_str ch, libsds_str id) {
  row *r = find_row(t, ch, id);
  if (r) del_at(t, (size_t)(r - t->rows));
}

static lamport_row *find_lamport(state *s, const char *ch, size_t len) {
  for (size_t i = 0; i < s->nlam; i++)
    if (bytes_eq(s->lam[i].ch, s->lam[i].ch_len, ch, len)) return &s->lam[i];
  return NULL;
}

/* Every method starts here: counts the call, applies failure injection. */
static int enter(store *s, int m) {
  pthread_mutex_lock(&s->mu);
  s->calls[m]++;
  if (s->fail_method == m && s->fail_times > 0) {
    s->fail_times--;
    s->failures++;
    pthread_mutex_unlock(&s->mu);
    return 1;
  }
  return 0;
}

static void leave(store *s) { pthread_mutex_unlock(&s->mu); }

static int enter_write(store *s, int m, int tx_capable) {
  if (enter(s, m)) return 1;
  if (tx_capable && !s->journal) s->writes_outside_tx++;
  return 0;
}

/* user_data is a store_ref: the store plus whether its vtable has transactions. */
typedef struct {
  store *s;
  int tx;
} store_ref;

#define S(ud) (((store_ref *)(ud))->s)
#define TX(ud) (((store_ref *)(ud))->tx)

static int m_save_lamport(void *ud, libsds_str ch, int64_t l) {
  store *s = S(ud);
  if (enter_write(s, M_SAVE_LAMPORT, TX(ud))) return LIBSDS_ERR_USER;
  lamport_row *r = find_lamport(&s->cur, ch.data, ch.len);
  if (r) {
    r->lamport = l;
  } else {
    if (s->cur.nlam == s->cur.caplam) {
      s->cur.caplam = s->cur.caplam ? s->cur.caplam * 2 : 4;
      s->cur.lam = realloc(s->cur.lam, s->cur.caplam * sizeof(lamport_row));
    }
    s->cur.lam[s->cur.nlam++] = (lamport_row){dup_bytes(ch.data, ch.len), ch.len, l};
  }
  leave(s);
  return LIBSDS_OK;
}

#define PUT_METHOD(name, M, kind)                                                                    \
  static int name(void *ud, libsds_str ch, libsds_str id, const uint8_t *rec, size_t len) {         \
    store *s = S(ud);                                                                                \
    if (enter_write(s, M, TX(ud))) return LIBSDS_ERR_USER;                                           \
    put_row(&s->cur.t[kind], ch, id, rec, len);                                                      \
    leave(s);                                                                                        \
    return LIBSDS_OK;                                                                                \
  }
#define DEL_METHOD(name, M, kind)                                                                    \
  static int name(void *ud, libsds_str ch, libsds_str id) {                                         \
    store *s = S(ud);                                                                                \
    if (enter_write(s, M, TX(ud))) return LIBSDS_ERR_USER;                                           \
    del_row(&s->cur.t[kind], ch, id);                                                                \
    leave(s);                                                                                        \
    return LIBSDS_OK;                                                                                \
  }

PUT_METHOD(m_append_log, M_APPEND_LOG, LIBSDS_RECORD_LOG)
DEL_METHOD(m_remove_log, M_REMOVE_LOG, LIBSDS_RECORD_LOG)
PUT_METHOD(m_save_out, M_SAVE_OUT, LIBSDS_RECORD_OUTGOING)
DEL_METHOD(m_remove_out, M_REMOVE_OUT, LIBSDS_RECORD_OUTGOING)
PUT_METHOD(m_save_in, M_SAVE_IN, LIBSDS_RECORD_INCOMING)
DEL_METHOD(m_remove_in, M_REMOVE_IN, LIBSDS_RECORD_INCOMING)
PUT_METHOD(m_save_orep, M_SAVE_OREP, LIBSDS_RECORD_OUTGOING_REPAIR)
DEL_METHOD(m_remove_orep, M_REMOVE_OREP, LIBSDS_RECORD_OUTGOING_REPAIR)
PUT_METHOD(m_save_irep, M_SAVE_IREP, LIBSDS_RECORD_INCOMING_REPAIR)
DEL_METHOD(m_remove_irep, M_REMOVE_IREP, LIBSDS_RECORD_INCOMING_REPAIR)

static int m_set_hint(void *ud, libsds_str id, const uint8_t *hint, size_t len) {
  store *s = S(ud);
  if (enter_write(s, M_SET_HINT, TX(ud))) return LIBSDS_ERR_USER;
  libsds_str none = {"", 0};
  put_row(&s->cur.t[HINTS], none, id, hint, len);
  leave(s);
  return LIBSDS_OK;
}

static int m_drop(void *ud, libsds_str ch) {
  store *s = S(ud);
  if (enter_write(s, M_DROP, TX(ud))) return LIBSDS_ERR_USER;
  for (int k = 1; k < NTABLES; k++)
    for (size_t i = s->cur.t[k].n; i-- > 0;)
      if (bytes_eq(s->cur.t[k].rows[i].ch, s->cur.t[k].rows[i].ch_len, ch.data, ch.len)) del_at(&s->cur.t[k], i);
  lamport_row *r = find_lamport(&s->cur, ch.data, ch.len);
  if (r) {
    free(r->ch);
    size_t i = (size_t)(r - s->cur.lam);
    memmove(&s->cur.lam[i], &s->cur.lam[i + 1], (s->cur.nlam - i - 1) * sizeof(lamport_row));
    s->cur.nlam--;
  }
  leave(s);
  return LIBSDS_OK;
}

static void loader_misuse_in_load(store *s, libsds_loader *l) {
  s->misuse_rcs[0] = libsds_loader_add_channel(l, "x", 1);              /* a list_channels call */
  s->misuse_rcs[1] = libsds_loader_add_record(l, LIBSDS_RECORD_LOG, NULL, 5); /* NULL with a length */
}

static int m_load(void *ud, libsds_str ch, libsds_loader *l) {
  store *s = S(ud);
  if (enter(s, M_LOAD)) return LIBSDS_ERR_USER;
  if (s->loader_mode == LOADER_KEEP) s->kept_loader = l;
  if (s->loader_mode == LOADER_MISUSE) loader_misuse_in_load(s, l);
  if (s->loader_mode == LOADER_BADKIND) {
    s->misuse_rcs[5] = libsds_loader_add_record(l, 0, (const uint8_t *)"x", 1);
    s->misuse_rcs[6] = libsds_loader_add_record(l, 6, (const uint8_t *)"x", 1);
  }
  lamport_row *r = find_lamport(&s->cur, ch.data, ch.len);
  if (r && libsds_loader_set_lamport(l, r->lamport) != LIBSDS_OK) s->loader_errors++;
  for (uint32_t k = LIBSDS_RECORD_LOG; k <= LIBSDS_RECORD_INCOMING_REPAIR; k++)
    for (size_t i = 0; i < s->cur.t[k].n; i++) {
      row *x = &s->cur.t[k].rows[i];
      if (bytes_eq(x->ch, x->ch_len, ch.data, ch.len) &&
          libsds_loader_add_record(l, k, x->rec, x->len) != LIBSDS_OK)
        s->loader_errors++;
    }
  leave(s);
  return LIBSDS_OK;
}

static int m_list(void *ud, libsds_loader *l) {
  store *s = S(ud);
  if (enter(s, M_LIST)) return LIBSDS_ERR_USER;
  if (s->loader_mode == LOADER_MISUSE) {
    s->misuse_rcs[2] = libsds_loader_add_record(l, LIBSDS_RECORD_LOG, (const uint8_t *)"x", 1);
    s->misuse_rcs[3] = libsds_loader_set_lamport(l, 5);
    s->misuse_rcs[4] = libsds_loader_add_channel(l, NULL, 3);
  }
  /* every channel with a lamport or a record, once */
  const char *seen[64];
  size_t seen_len[64];
  int nseen = 0;
  for (size_t i = 0; i < s->cur.nlam && nseen < 64; i++) {
    seen[nseen] = s->cur.lam[i].ch;
    seen_len[nseen++] = s->cur.lam[i].ch_len;
  }
  for (int k = 1; k < NTABLES; k++)
    for (size_t i = 0; i < s->cur.t[k].n; i++) {
      row *x = &s->cur.t[k].rows[i];
      int dup = 0;
      for (int j = 0; j < nseen && !dup; j++) dup = bytes_eq(seen[j], seen_len[j], x->ch, x->ch_len);
      if (!dup && nseen < 64) {
        seen[nseen] = x->ch;
        seen_len[nseen++] = x->ch_len;
      }
    }
  for (int j = 0; j < nseen; j++)
    if (libsds_loader_add_channel(l, seen[j], seen_len[j]) != LIBSDS_OK) s->loader_errors++;
  if (s->list_extra && libsds_loader_add_channel(l, s->list_extra, strlen(s->list_extra)) != LIBSDS_OK)
    s->loader_errors++;
  leave(s);
  return LIBSDS_OK;
}

static int m_save_due(void *ud, libsds_str ch, int64_t due) {
  store *s = S(ud);
  if (enter(s, M_SAVE_DUE)) return LIBSDS_ERR_USER;
  int i = 0;
  while (i < s->ndue && strcmp(s->due_ch[i], ch.data) != 0) i++;
  if (i == s->ndue && i < 8 && ch.len < sizeof s->due_ch[0]) {
    memcpy(s->due_ch[i], ch.data, ch.len + 1);
    s->ndue++;
  }
  if (i < s->ndue) s->due_ms[i] = due;
  leave(s);
  return LIBSDS_OK;
}

static int m_channels_due(void *ud, int64_t now, libsds_loader *l) {
  store *s = S(ud);
  if (enter(s, M_DUE)) return LIBSDS_ERR_USER;
  for (int i = 0; i < s->ndue; i++)
    if (s->due_ms[i] != 0 && (s->force_due || s->due_ms[i] <= now) &&
        libsds_loader_add_channel(l, s->due_ch[i], strlen(s->due_ch[i])) != LIBSDS_OK)
      s->loader_errors++;
  leave(s);
  return LIBSDS_OK;
}

static int m_begin(void *ud) {
  store *s = S(ud);
  if (enter(s, M_BEGIN)) return LIBSDS_ERR_USER;
  if (s->journal) {
    s->nested_begins++;
  } else {
    s->journal = malloc(sizeof(state));
    state_copy(s->journal, &s->cur);
  }
  leave(s);
  return LIBSDS_OK;
}

static int m_commit(void *ud) {
  store *s = S(ud);
  if (enter(s, M_COMMIT)) return LIBSDS_ERR_USER; /* the transaction stays open: rollback follows */
  if (!s->journal) {
    s->stray_commits++;
  } else {
    state_free(s->journal);
    free(s->journal);
    s->journal = NULL;
  }
  leave(s);
  return LIBSDS_OK;
}

static int m_rollback(void *ud) {
  store *s = S(ud);
  if (enter(s, M_ROLLBACK)) return LIBSDS_ERR_USER;
  if (!s->journal) {
    s->stray_commits++;
  } else {
    state_free(&s->cur);
    s->cur = *s->journal;
    free(s->journal);
    s->journal = NULL;
  }
  leave(s);
  return LIBSDS_OK;
}

static void m_destroy(void *ud) {
  store *s = S(ud);
  pthread_mutex_lock(&s->mu);
  s->destroys++;
  pthread_mutex_unlock(&s->mu);
}

static void store_init(store *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  s->fail_method = -1;
}

static void store_free(store *s) {
  state_free(&s->cur);
  if (s->journal) {
    state_free(s->journal);
    free(s->journal);
  }
  pthread_mutex_destroy(&s->mu);
}

/* A vtable over ref; tx and list choose the optional methods. */
static libsds_persistence vtable(store_ref *ref, int tx, int list) {
  ref->tx = tx;
  libsds_persistence p = {
      .version = (uint32_t)sizeof(libsds_persistence), /* this header's layout */
      .user_data = ref,
      .save_lamport = m_save_lamport,
      .append_log_entry = m_append_log,
      .remove_log_entry = m_remove_log,
      .set_retrieval_hint = m_set_hint,
      .save_outgoing = m_save_out,
      .remove_outgoing = m_remove_out,
      .save_incoming = m_save_in,
      .remove_incoming = m_remove_in,
      .save_outgoing_repair = m_save_orep,
      .remove_outgoing_repair = m_remove_orep,
      .save_incoming_repair = m_save_irep,
      .remove_incoming_repair = m_remove_irep,
      .drop_channel = m_drop,
      .load_all_for_channel = m_load,
      .begin = tx ? m_begin : NULL,
      .commit = tx ? m_commit : NULL,
      .rollback = tx ? m_rollback : NULL,
      .list_channels = list ? m_list : NULL,
      .destroy = m_destroy,
  };
  return p;
}

static size_t count(store *s, int kind) { return s->cur.t[kind].n; }

static int has_row(store *s, int kind, const char *id) {
  libsds_str ch = {"ch", 2}, i = {id, strlen(id)};
  return find_row(&s->cur.t[kind], ch, i) != NULL;
}

static int64_t lamport_of(store *s, const char *ch) {
  lamport_row *r = find_lamport(&s->cur, ch, strlen(ch));
  return r ? r->lamport : -1;
}

/* The ids of a table's rows for channel ch, comma-separated, in order. */
static void ids_of(store *s, int kind, char *out, size_t cap) {
  size_t k = 0;
  out[0] = 0;
  for (size_t i = 0; i < s->cur.t[kind].n; i++)
    k += (size_t)snprintf(out + k, cap > k ? cap - k : 0, "%s%s", k ? "," : "", s->cur.t[kind].rows[i].id);
}

/* ======================================================================== */
/* helpers                                                                   */
/* ======================================================================== */

static libsds_options host_options(const libsds_persistence *p, const char *pid) {
  libsds_options o = LIBSDS_OPTIONS_INIT;
  o.store_kind = LIBSDS_STORE_HOST;
  o.persistence = p;
  o.participant_id = pid;
  o.config_set = SDSR_BITS | LIBSDS_CFG_MAX_MESSAGE_HISTORY;
  o.repair_t_min_ms = 1;
  o.repair_t_max_ms = 20;
  o.max_message_history = 5;
  return o;
}

/* ======================================================================== */
/* (a) restart survival                                                      */
/* ======================================================================== */

static void test_restart(void) {
  store s;
  store_init(&s);
  store_ref ref = {&s, 1};
  libsds_persistence p = vtable(&ref, 1, 1);
  libsds_options o = host_options(&p, "alice");
  libsds_handle m1 = 0;
  CHECK_EQ_INT(libsds_new(&o, &m1), LIBSDS_OK);
  CHECK_EQ_INT(s.calls[M_LIST], 1);
  recorder r1;
  rec_init(&r1);
  CHECK_EQ_INT(libsds_set_event_handler(m1, on_event, &r1), LIBSDS_OK);

  /* log with evictions + outgoing: a1..a7 with a 5-entry history */
  libsds_buffer a[8];
  for (int i = 1; i <= 7; i++) {
    char id[8];
    snprintf(id, sizeof id, "a%d", i);
    a[i] = wrap(m1, id);
  }
  CHECK(s.calls[M_REMOVE_LOG] >= 2);

  /* incoming repair: peer misses a2..a6 (a7 cites them) and asks for all of them */
  libsds_handle peer = memory_manager("peer", LIBSDS_CFG_MAX_REPAIR_REQUESTS, 5);
  CHECK_EQ_INT(unwrap_rc(peer, a[7].data, a[7].len), LIBSDS_OK);
  tu_sleep_ms(30); /* not synchronisation: T_req (< 20 ms) must pass on the clock */
  libsds_buffer p1 = wrap(peer, "p1");
  char reqs[256];
  entry_ids(p1.data, p1.len, 13, reqs, sizeof reqs);
  const char *asked[] = {"a2", "a3", "a4", "a5", "a6"};
  CHECK(same_set(reqs, asked, 5)); /* most overdue first: the order follows the hashes */
  {
    uint8_t *stripped = malloc(p1.len); /* no bloom filter: it would acknowledge a7 */
    size_t n = strip_bloom(p1.data, p1.len, stripped);
    CHECK_EQ_INT(unwrap_rc(m1, stripped, n), LIBSDS_OK);
    free(stripped);
  }

  /* incoming + outgoing repair: quinn's q2 waits for q1 */
  libsds_handle quinn = memory_manager("quinn", 0, 0);
  libsds_buffer q1 = wrap(quinn, "q1"), q2 = wrap(quinn, "q2");
  CHECK_EQ_INT(unwrap_rc(m1, q2.data, q2.len), LIBSDS_OK);
  rec_wait(&r1, 2); /* READY p1, MISSING q2 */
  CHECK_EV(&r1, 0, LIBSDS_EVENT_MESSAGE_READY, "p1");
  CHECK_EV(&r1, 1, LIBSDS_EVENT_MISSING_DEPENDENCIES, "q2");

  char ids[256];
  ids_of(&s, LIBSDS_RECORD_LOG, ids, sizeof ids);
  CHECK_STR(ids, "a4,a5,a6,a7,p1");
  ids_of(&s, LIBSDS_RECORD_OUTGOING, ids, sizeof ids);
  CHECK_STR(ids, "a1,a2,a3,a4,a5,a6,a7");
  ids_of(&s, LIBSDS_RECORD_INCOMING, ids, sizeof ids);
  CHECK_STR(ids, "q2");
  ids_of(&s, LIBSDS_RECORD_OUTGOING_REPAIR, ids, sizeof ids);
  CHECK_STR(ids, "q1");
  ids_of(&s, LIBSDS_RECORD_INCOMING_REPAIR, ids, sizeof ids);
  const char *held[] = {"a3", "a4", "a5", "a6"}; /* a2 was evicted from the log */
  CHECK(same_set(ids, held, 4));
  int64_t lamport_before = lamport_of(&s, "ch");
  CHECK(lamport_before > 0);
  CHECK_EQ_INT(s.writes_outside_tx, 0);
  CHECK_EQ_INT(s.nested_begins, 0);
  CHECK_EQ_INT(s.calls[M_ROLLBACK], 0);
  CHECK(s.calls[M_COMMIT] >= 9);
  CHECK(s.journal == NULL);

  CHECK_EQ_INT(s.destroys, 0);
  CHECK_EQ_INT(libsds_free(m1), LIBSDS_OK);
  CHECK_EQ_INT(s.destroys, 1);
  CHECK(s.journal == NULL);
  rec_destroy(&r1);

  state before;
  state_copy(&before, &s.cur);

  /* ---- restart on the same store; this time messages give up after 1 ms ---- */
  o.config_set |= LIBSDS_CFG_RESEND_INTERVAL | LIBSDS_CFG_MAX_RESEND_ATTEMPTS;
  o.resend_interval_ms = 1;
  o.max_resend_attempts = 0;
  int loads_before = s.calls[M_LOAD];
  libsds_handle m2 = 0;
  CHECK_EQ_INT(libsds_new(&o, &m2), LIBSDS_OK);
  CHECK_EQ_INT(s.calls[M_LIST], 2);
  CHECK_EQ_INT(s.calls[M_LOAD], loads_before + 1); /* "ch" restored at creation */
  CHECK_EQ_INT(s.loader_errors, 0);
  CHECK(state_equal(&s.cur, &before)); /* loading wrote nothing */
  CHECK_EQ_INT(s.destroys, 1);
  recorder r2;
  rec_init(&r2);
  CHECK_EQ_INT(libsds_set_event_handler(m2, on_event, &r2), LIBSDS_OK);

  /* the next wrap: lamport moves on, history cites the restored log, and the
     restored (due) repair request for q1 goes out */
  tu_sleep_ms(25); /* not synchronisation: the restored request's T_req must pass on the clock */
  libsds_buffer w1 = wrap(m2, "w1");
  pb_field f;
  CHECK(pb_get(w1.data, w1.len, 2, &f) && f.wt == 0 && (int64_t)f.v > lamport_before);
  entry_ids(w1.data, w1.len, 3, ids, sizeof ids);
  CHECK_STR(ids, "a4,a5,a6,a7,p1");
  entry_ids(w1.data, w1.len, 13, ids, sizeof ids);
  CHECK_STR(ids, "q1");
  CHECK(lamport_of(&s, "ch") > lamport_before);

  /* the restored repair responses are due */
  CHECK_EQ_INT(libsds_run_tasks(m2, LIBSDS_TASK_REPAIR_SWEEP), LIBSDS_OK);
  const char *responses[] = {"a3", "a4", "a5", "a6"};
  check_repair_ready_ids(&r2, responses, 4);
  CHECK_EQ_INT(count(&s, LIBSDS_RECORD_INCOMING_REPAIR), 0);

  /* an acknowledgement of a restored outgoing message */
  pb_buf ack;
  const char *cite[] = {"a5"};
  pb_craft(&ack, "ack1", 4, 1, cite, NULL, 1, "ch");
  CHECK_EQ_INT(unwrap_rc(m2, ack.b, ack.n), LIBSDS_OK);
  rec_wait(&r2, 6);
  CHECK_EV(&r2, 4, LIBSDS_EVENT_MESSAGE_ACKNOWLEDGED, "a5");
  CHECK_EV(&r2, 5, LIBSDS_EVENT_MESSAGE_READY, "ack1");

  /* the missing dependency releases the restored waiting message: READY q1,
     then q2, with the content kept across the restart */
  CHECK_EQ_INT(unwrap_rc(m2, q1.data, q1.len), LIBSDS_OK);
  rec_wait(&r2, 8);
  CHECK_EV(&r2, 6, LIBSDS_EVENT_MESSAGE_READY, "q1");
  CHECK_EV(&r2, 7, LIBSDS_EVENT_MESSAGE_READY, "q2");
  CHECK_STR(r2.ev[7].content, "q2");
  CHECK_EQ_INT(count(&s, LIBSDS_RECORD_INCOMING), 0);

  /* every restored outgoing message is there, in order: give them all up */
  tu_sleep_ms(5); /* not synchronisation: the resend interval must pass on the clock */
  CHECK_EQ_INT(libsds_run_tasks(m2, LIBSDS_TASK_BUFFER_SWEEP), LIBSDS_OK);
  const char *gone[] = {"a1", "a2", "a3", "a4", "a6", "a7", "w1"};
  rec_wait(&r2, 15);
  for (int i = 0; i < 7; i++) CHECK_EV(&r2, 8 + i, LIBSDS_EVENT_MESSAGE_GIVEN_UP, gone[i]);
  CHECK_EQ_INT(count(&s, LIBSDS_RECORD_OUTGOING), 0);
  CHECK_EQ_INT(rec_fence(m2, &r2), 15);
  CHECK_EQ_INT(s.writes_outside_tx, 0);
  CHECK_EQ_INT(libsds_free(m2), LIBSDS_OK);
  CHECK_EQ_INT(s.destroys, 2);
  rec_destroy(&r2);

  /* ---- list_channels restores channels at creation: a manager that only ever
     gets mark_dependencies_met finds "ch" ---- */
  {
    store s2;
    store_init(&s2);
    state_copy(&s2.cur, &before);
    store_ref ref2 = {&s2, 1};
    libsds_persistence p2 = vtable(&ref2, 1, 1);
    libsds_options o2 = host_options(&p2, "alice");
    libsds_handle m3 = 0;
    CHECK_EQ_INT(libsds_new(&o2, &m3), LIBSDS_OK);
    recorder r3;
    rec_init(&r3);
    CHECK_EQ_INT(libsds_set_event_handler(m3, on_event, &r3), LIBSDS_OK);
    libsds_str q1id[1] = {{"q1", 2}};
    CHECK_EQ_INT(libsds_mark_dependencies_met(m3, q1id, 1, "ch"), LIBSDS_OK);
    rec_wait(&r3, 1);
    CHECK_EV(&r3, 0, LIBSDS_EVENT_MESSAGE_READY, "q2");
  CHECK_STR(r3.ev[0].content, "q2");
    CHECK_EQ_INT(count(&s2, LIBSDS_RECORD_INCOMING), 0);
    CHECK_EQ_INT(count(&s2, LIBSDS_RECORD_OUTGOING_REPAIR), 0); /* mark cancels the request */
    CHECK_EQ_INT(libsds_free(m3), LIBSDS_OK);
    CHECK_EQ_INT(s2.destroys, 1);
    rec_destroy(&r3);
    store_free(&s2);

    /* without list_channels the channel is only loaded on first use, which
       mark_dependencies_met is not (PROTOCOL.md §2.10) */
    store s3;
    store_init(&s3);
    state_copy(&s3.cur, &before);
    store_ref ref3 = {&s3, 1};
    libsds_persistence p3 = vtable(&ref3, 1, 0);
    libsds_options o3 = host_options(&p3, "alice");
    libsds_handle m4 = 0;
    CHECK_EQ_INT(libsds_new(&o3, &m4), LIBSDS_OK);
    CHECK_EQ_INT(libsds_mark_dependencies_met(m4, q1id, 1, "ch"), LIBSDS_ERR_UNKNOWN_CHANNEL);
    CHECK_EQ_INT(s3.calls[M_LOAD], 0);
    CHECK_EQ_INT(libsds_free(m4), LIBSDS_OK);
    CHECK_EQ_INT(s3.destroys, 1);
    store_free(&s3);
  }

  for (int i = 1; i <= 7; i++) libsds_buffer_free(&a[i]);
  libsds_buffer_free(&p1);
  libsds_buffer_free(&q1);
  libsds_buffer_free(&q2);
  libsds_buffer_free(&w1);
  CHECK_EQ_INT(libsds_free(peer), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(quinn), LIBSDS_OK);
  state_free(&before);
  store_free(&s);
}

/* ======================================================================== */
/* (b) failure policy with transactions                                      */
/* ======================================================================== */

/* A manager on a copy of st's committed state unwraps g1: returns its events. */
static void replay_on_copy(const state *st, const libsds_buffer *g1, recorder *r) {
  store c;
  store_init(&c);
  state_copy(&c.cur, st);
  store_ref ref = {&c, 1};
  libsds_persistence p = vtable(&ref, 1, 1);
  libsds_options o = host_options(&p, NULL);
  libsds_handle h = 0;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  CHECK_EQ_INT(libsds_set_event_handler(h, on_event, r), LIBSDS_OK);
  CHECK_EQ_INT(unwrap_rc(h, g1->data, g1->len), LIBSDS_OK);
  /* libsds_free drops what is not delivered yet: a PERIODIC_SYNC queued after
     the unwrap's events is the fence; it is not part of the record. */
  int before = rec_count(r);
  CHECK_EQ_INT(libsds_run_tasks(h, LIBSDS_TASK_SYNC), LIBSDS_OK);
  int n = before;
  while (rec_wait(r, n + 1) && r->ev[n].type != LIBSDS_EVENT_PERIODIC_SYNC) n++;
  pthread_mutex_lock(&r->mu);
  if (r->n > n && r->ev[n].type == LIBSDS_EVENT_PERIODIC_SYNC) r->n = n;
  pthread_mutex_unlock(&r->mu);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  store_free(&c);
}

static void test_failure_with_transactions(void) {
  store s;
  store_init(&s);
  store_ref ref = {&s, 1};
  libsds_persistence p = vtable(&ref, 1, 1);
  libsds_options o = host_options(&p, NULL);
  libsds_handle h = 0;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  recorder r;
  rec_init(&r);
  CHECK_EQ_INT(libsds_set_event_handler(h, on_event, &r), LIBSDS_OK);
  libsds_handle g = memory_manager(NULL, 0, 0);

  libsds_buffer f1 = wrap(h, "f1");
  CHECK_EQ_INT(unwrap_rc(g, f1.data, f1.len), LIBSDS_OK);
  libsds_buffer g1 = wrap(g, "g1"); /* cites f1: acknowledges it */

  /* unwrap g1 would fire ACK f1 and READY g1; fail its log append */
  state before;
  state_copy(&before, &s.cur);
  int rollbacks = s.calls[M_ROLLBACK];
  s.fail_method = M_APPEND_LOG;
  s.fail_times = 1;
  CHECK_EQ_INT(unwrap_rc(h, g1.data, g1.len), LIBSDS_ERR_STORE);
  CHECK(strlen(libsds_last_error()) > 0);
  CHECK(strstr(libsds_last_error(), "append_log_entry") != NULL || strstr(libsds_last_error(), "appendLogEntry"));
  CHECK_EQ_INT(s.failures, 1);
  CHECK_EQ_INT(s.calls[M_ROLLBACK], rollbacks + 1);
  CHECK(s.journal == NULL);
  CHECK(state_equal(&s.cur, &before));
  CHECK(has_row(&s, LIBSDS_RECORD_OUTGOING, "f1"));
  CHECK_EQ_INT(rec_fence(h, &r), 0); /* neither ACK f1 nor READY g1 */

  /* a manager restarted on the committed state sees f1 unacknowledged and g1 new */
  {
    recorder rc;
    rec_init(&rc);
    replay_on_copy(&s.cur, &g1, &rc);
    CHECK_EQ_INT(rc.n, 2);
    CHECK_EV(&rc, 0, LIBSDS_EVENT_MESSAGE_ACKNOWLEDGED, "f1");
    CHECK_EV(&rc, 1, LIBSDS_EVENT_MESSAGE_READY, "g1");
    rec_destroy(&rc);
  }

  /* retried on the same manager (its channel reloads from the store): succeeds */
  CHECK_EQ_INT(unwrap_rc(h, g1.data, g1.len), LIBSDS_OK);
  rec_wait(&r, 2);
  CHECK_EV(&r, 0, LIBSDS_EVENT_MESSAGE_ACKNOWLEDGED, "f1");
  CHECK_EV(&r, 1, LIBSDS_EVENT_MESSAGE_READY, "g1");
  CHECK(!has_row(&s, LIBSDS_RECORD_OUTGOING, "f1"));
  CHECK(has_row(&s, LIBSDS_RECORD_LOG, "g1"));
  /* now committed: a restarted manager sees g1 as a duplicate */
  {
    recorder rc;
    rec_init(&rc);
    replay_on_copy(&s.cur, &g1, &rc);
    CHECK_EQ_INT(rc.n, 0);
    rec_destroy(&rc);
  }

  /* a failing commit */
  state_free(&before);
  state_copy(&before, &s.cur);
  rollbacks = s.calls[M_ROLLBACK];
  s.fail_method = M_COMMIT;
  s.fail_times = 1;
  libsds_buffer out = {0};
  CHECK_EQ_INT(libsds_wrap(h, (const uint8_t *)"x", 1, "f2", "ch", &out), LIBSDS_ERR_STORE);
  CHECK(out.data == NULL && out.len == 0);
  CHECK_EQ_INT(s.calls[M_ROLLBACK], rollbacks + 1);
  CHECK(state_equal(&s.cur, &before));
  libsds_buffer f2 = wrap(h, "f2");
  CHECK(has_row(&s, LIBSDS_RECORD_OUTGOING, "f2"));

  /* a failing begin: nothing written, nothing to roll back */
  state_free(&before);
  state_copy(&before, &s.cur);
  s.fail_method = M_BEGIN;
  s.fail_times = 1;
  CHECK_EQ_INT(libsds_wrap(h, (const uint8_t *)"x", 1, "f3", "ch", &out), LIBSDS_ERR_STORE);
  CHECK(state_equal(&s.cur, &before));
  CHECK(s.journal == NULL);
  /* ... and then the reload of the dropped channel fails once too */
  s.fail_method = M_LOAD;
  s.fail_times = 1;
  int loads = s.calls[M_LOAD];
  CHECK_EQ_INT(libsds_wrap(h, (const uint8_t *)"x", 1, "f3", "ch", &out), LIBSDS_ERR_STORE);
  CHECK_EQ_INT(s.calls[M_LOAD], loads + 1);
  CHECK(state_equal(&s.cur, &before));
  libsds_buffer f3 = wrap(h, "f3");
  /* the history survived all of it: f3 cites f1, g1, f2 */
  char ids[128];
  entry_ids(f3.data, f3.len, 3, ids, sizeof ids);
  CHECK_STR(ids, "f1,g1,f2");

  CHECK_EQ_INT(rec_fence(h, &r), 2);
  CHECK_EQ_INT(s.writes_outside_tx, 0);
  CHECK_EQ_INT(s.nested_begins, 0);
  CHECK_EQ_INT(s.stray_commits, 0);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  CHECK_EQ_INT(s.destroys, 1);
  CHECK_EQ_INT(libsds_free(g), LIBSDS_OK);
  libsds_buffer_free(&f1);
  libsds_buffer_free(&f2);
  libsds_buffer_free(&f3);
  libsds_buffer_free(&g1);
  state_free(&before);
  rec_destroy(&r);
  store_free(&s);
}

/* ======================================================================== */
/* (c) failure without transactions                                          */
/* ======================================================================== */

static void test_failure_without_transactions(void) {
  store s;
  store_init(&s);
  store_ref ref = {&s, 0};
  libsds_persistence p = vtable(&ref, 0, 1);
  libsds_options o = host_options(&p, NULL);
  libsds_handle h = 0;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  recorder r;
  rec_init(&r);
  CHECK_EQ_INT(libsds_set_event_handler(h, on_event, &r), LIBSDS_OK);
  libsds_handle g = memory_manager(NULL, 0, 0);
  libsds_buffer f1 = wrap(h, "f1");
  CHECK_EQ_INT(unwrap_rc(g, f1.data, f1.len), LIBSDS_OK);
  libsds_buffer g1 = wrap(g, "g1");

  s.fail_method = M_APPEND_LOG;
  s.fail_times = 1;
  CHECK_EQ_INT(unwrap_rc(h, g1.data, g1.len), LIBSDS_OK); /* memory goes on */
  CHECK_STR(libsds_last_error(), "");
  rec_wait(&r, 3);
  CHECK_EV(&r, 0, LIBSDS_EVENT_MESSAGE_ACKNOWLEDGED, "f1");
  CHECK_EV(&r, 1, LIBSDS_EVENT_STORE_FAILED, "");
  CHECK(r.ev[1].has_error && r.ev[1].error[0] != 0);
  CHECK(strstr(r.ev[1].error, "append_log_entry") != NULL || strstr(r.ev[1].error, "appendLogEntry") != NULL);
  CHECK_STR(r.ev[1].ch, "ch");
  CHECK_EV(&r, 2, LIBSDS_EVENT_MESSAGE_READY, "g1");
  CHECK(!has_row(&s, LIBSDS_RECORD_LOG, "g1")); /* the write that failed */
  CHECK(!has_row(&s, LIBSDS_RECORD_OUTGOING, "f1"));
  /* other events carry no error */
  CHECK(!r.ev[0].has_error && !r.ev[2].has_error);
  /* memory went on: g1 is a duplicate now */
  CHECK_EQ_INT(unwrap_rc(h, g1.data, g1.len), LIBSDS_OK);
  CHECK_EQ_INT(rec_fence(h, &r), 3);
  CHECK_EQ_INT(s.calls[M_BEGIN] + s.calls[M_COMMIT] + s.calls[M_ROLLBACK], 0);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  CHECK_EQ_INT(s.destroys, 1);
  CHECK_EQ_INT(libsds_free(g), LIBSDS_OK);
  libsds_buffer_free(&f1);
  libsds_buffer_free(&g1);
  rec_destroy(&r);
  store_free(&s);
}

/* ======================================================================== */
/* (d) invalid vtables                                                       */
/* ======================================================================== */

static void expect_rejected(libsds_options *o, store *s, int want, int want_destroys, const char *what) {
  libsds_handle h = 0x77;
  int before = s->destroys;
  int rc = libsds_new(o, &h);
  if (rc != want || h != 0 || s->destroys - before != want_destroys || !libsds_last_error()[0]) {
    fprintf(stderr, "%s: libsds_new = %d (want %d), handle %#llx, destroy called %d time(s) (want %d), \"%s\"\n",
            what, rc, want, (unsigned long long)h, s->destroys - before, want_destroys, libsds_last_error());
    tu_failures++;
  }
  if (rc == LIBSDS_OK) libsds_free(h);
}

static void test_invalid_vtables(void) {
  store s;
  store_init(&s);
  store_ref ref = {&s, 1};
  libsds_persistence p;
  libsds_options o;

  p = vtable(&ref, 1, 1);
  p.version = LIBSDS_PERSISTENCE_VERSION + 1;
  o = host_options(&p, NULL);
  {
    libsds_handle h = 0x77;
    int before = s.destroys;
    CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_ERR_INVALID_ARG);
    CHECK(h == 0);
    CHECK(strstr(libsds_last_error(), "version") != NULL);
    printf("native_persistence: a vtable of a newer version rejected; destroy called %d time(s)\n",
           s.destroys - before);
  }
  p.version = 0;
  CHECK_EQ_INT(libsds_new(&o, &(libsds_handle){0}), LIBSDS_ERR_INVALID_ARG);

  p = vtable(&ref, 1, 1);
  p.remove_incoming_repair = NULL;
  o = host_options(&p, NULL);
  expect_rejected(&o, &s, LIBSDS_ERR_INVALID_ARG, 1, "required method NULL");
  p = vtable(&ref, 1, 1);
  p.load_all_for_channel = NULL;
  expect_rejected(&o, &s, LIBSDS_ERR_INVALID_ARG, 1, "load_all_for_channel NULL");
  p = vtable(&ref, 1, 1);
  p.save_lamport = NULL;
  expect_rejected(&o, &s, LIBSDS_ERR_INVALID_ARG, 1, "save_lamport NULL");

  p = vtable(&ref, 0, 1);
  p.begin = m_begin;
  expect_rejected(&o, &s, LIBSDS_ERR_INVALID_ARG, 1, "only begin");
  p = vtable(&ref, 1, 1);
  p.rollback = NULL;
  expect_rejected(&o, &s, LIBSDS_ERR_INVALID_ARG, 1, "begin and commit without rollback");

  /* a valid vtable, creation failing for another reason */
  p = vtable(&ref, 1, 1);
  o = host_options(&p, NULL);
  o.config_set |= 1ull << 30;
  expect_rejected(&o, &s, LIBSDS_ERR_INVALID_ARG, 1, "unknown config bit");
  o = host_options(&p, NULL);
  o.config_set |= LIBSDS_CFG_BLOOM_ERROR_RATE;
  o.bloom_error_rate = 1.5;
  expect_rejected(&o, &s, LIBSDS_ERR_INVALID_ARG, 1, "invalid bloom_error_rate");
  o = host_options(&p, NULL);
  o.sync_interval_ms = -1;
  o.config_set |= LIBSDS_CFG_SYNC_INTERVAL;
  expect_rejected(&o, &s, LIBSDS_ERR_INVALID_ARG, 1, "negative sync interval");

  /* the store fails while restoring at creation (the library has already
     called into the store, so its per-manager callout buffers exist and must
     be released with the failed manager: LeakSanitizer checks that) */
  o = host_options(&p, NULL);
  s.fail_method = M_LIST;
  s.fail_times = 1;
  expect_rejected(&o, &s, LIBSDS_ERR_STORE, 1, "list_channels fails");
  s.list_extra = "listed";
  s.fail_method = M_LOAD;
  s.fail_times = 1;
  expect_rejected(&o, &s, LIBSDS_ERR_STORE, 1, "load_all_for_channel fails at creation");
  s.list_extra = NULL;

  /* and a valid one works, destroy once at free */
  libsds_handle h = 0;
  int before = s.destroys;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  CHECK_EQ_INT(s.destroys, before);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  CHECK_EQ_INT(s.destroys, before + 1);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_ERR_BAD_HANDLE);
  CHECK_EQ_INT(s.destroys, before + 1);

  /* the struct is copied: changing or dropping it after libsds_new is harmless */
  p = vtable(&ref, 1, 1);
  o = host_options(&p, NULL);
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  memset(&p, 0, sizeof p);
  libsds_buffer w = wrap(h, "after");
  libsds_buffer_free(&w);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  CHECK_EQ_INT(s.destroys, before + 2);
  store_free(&s);
}

/* ======================================================================== */
/* (e) misused loaders                                                       */
/* ======================================================================== */

static void test_loader_misuse(void) {
  /* NULL and made-up loaders */
  uint64_t fake[8] = {0};
  CHECK(libsds_loader_set_lamport(NULL, 1) != LIBSDS_OK);
  CHECK(libsds_loader_add_record(NULL, LIBSDS_RECORD_LOG, (const uint8_t *)"x", 1) != LIBSDS_OK);
  CHECK(libsds_loader_add_channel(NULL, "x", 1) != LIBSDS_OK);
  CHECK(libsds_loader_set_lamport((libsds_loader *)fake, 1) != LIBSDS_OK);
  CHECK(libsds_loader_add_record((libsds_loader *)fake, LIBSDS_RECORD_LOG, (const uint8_t *)"x", 1) != LIBSDS_OK);
  CHECK(libsds_loader_add_channel((libsds_loader *)fake, "x", 1) != LIBSDS_OK);

  /* a loader kept past its call, and the wrong calls during the calls */
  store s;
  store_init(&s);
  store_ref ref = {&s, 1};
  libsds_persistence p = vtable(&ref, 1, 1);
  libsds_options o = host_options(&p, NULL);
  s.loader_mode = LOADER_MISUSE;
  s.list_extra = "listed";
  libsds_handle h = 0;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  CHECK(s.misuse_rcs[0] != LIBSDS_OK); /* add_channel on a load_all_for_channel loader */
  CHECK_EQ_INT(s.misuse_rcs[1], LIBSDS_ERR_INVALID_ARG); /* NULL record with a length */
  CHECK(s.misuse_rcs[2] != LIBSDS_OK); /* add_record on a list_channels loader */
  CHECK(s.misuse_rcs[3] != LIBSDS_OK); /* set_lamport on a list_channels loader */
  CHECK(s.misuse_rcs[4] != LIBSDS_OK); /* NULL channel id */
  s.loader_mode = LOADER_KEEP;
  libsds_buffer w = {0};
  CHECK_EQ_INT(libsds_wrap(h, (const uint8_t *)"x", 1, "k1", "fresh", &w), LIBSDS_OK); /* loads "fresh" */
  libsds_buffer_free(&w);
  CHECK(s.kept_loader != NULL);
  if (s.kept_loader) {
    CHECK(libsds_loader_set_lamport(s.kept_loader, 1) != LIBSDS_OK);
    CHECK(libsds_loader_add_record(s.kept_loader, LIBSDS_RECORD_LOG, (const uint8_t *)"x", 1) != LIBSDS_OK);
    CHECK(libsds_loader_add_channel(s.kept_loader, "x", 1) != LIBSDS_OK);
  }
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  CHECK_EQ_INT(s.destroys, 1);
  store_free(&s);

  /* an unknown record kind is refused (and the load counts as failed) */
  store b;
  store_init(&b);
  store_ref bref = {&b, 1};
  libsds_persistence bp = vtable(&bref, 1, 0);
  libsds_options bo = host_options(&bp, NULL);
  CHECK_EQ_INT(libsds_new(&bo, &h), LIBSDS_OK);
  b.loader_mode = LOADER_BADKIND;
  b.misuse_rcs[5] = b.misuse_rcs[6] = 99;
  int brc = libsds_wrap(h, (const uint8_t *)"x", 1, "b1", "ch", &w);
  libsds_buffer_free(&w);
  CHECK(b.misuse_rcs[5] != LIBSDS_OK && b.misuse_rcs[5] != 99);
  CHECK(b.misuse_rcs[6] != LIBSDS_OK && b.misuse_rcs[6] != 99);
  CHECK(brc == LIBSDS_OK || brc == LIBSDS_ERR_STORE);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  CHECK_EQ_INT(b.destroys, 1);
  store_free(&b);

  /* a record that is not one the library wrote: the load fails, no crash */
  store u;
  store_init(&u);
  store_ref uref = {&u, 1};
  libsds_persistence up = vtable(&uref, 1, 0);
  libsds_options uo = host_options(&up, NULL);
  CHECK_EQ_INT(libsds_new(&uo, &h), LIBSDS_OK);
  libsds_str ch = {"ch", 2}, id = {"bogus", 5};
  put_row(&u.cur.t[LIBSDS_RECORD_LOG], ch, id, (const uint8_t *)"junk", 4); /* not a record the library wrote */
  int rc = libsds_wrap(h, (const uint8_t *)"x", 1, "z1", "ch", &w);
  CHECK(rc == LIBSDS_ERR_STORE);
  libsds_buffer_free(&w);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  store_free(&u);
}

/* (f) a store with due times: nothing loads at creation, a sweep
   loads only what channels_due reports; a version 1 struct (ending at
   destroy) still works, and nothing past its end is read. */
static void test_lazy_loading(void) {
  store s;
  store_init(&s);
  store_ref ref = {&s, 0};
  libsds_persistence p = vtable(&ref, 0, 1);
  p.save_channel_due = m_save_due;
  p.channels_due = m_channels_due;
  libsds_options o = host_options(&p, "alice");
  libsds_handle h = 0;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  libsds_buffer b = wrap_msg(h, "hello", "m1", "ch");
  libsds_buffer_free(&b);
  CHECK_EQ_INT(s.ndue, 1);
  CHECK(s.due_ms[0] > 0); /* the resend of m1 */
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);

  int loads = s.calls[M_LOAD];
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  CHECK_EQ_INT(s.calls[M_LOAD], loads);
  CHECK_EQ_INT(libsds_run_tasks(h, LIBSDS_TASK_BUFFER_SWEEP | LIBSDS_TASK_REPAIR_SWEEP), LIBSDS_OK);
  CHECK(s.calls[M_DUE] >= 1);
  CHECK_EQ_INT(s.calls[M_LOAD], loads); /* not due yet */
  s.force_due = 1;
  CHECK_EQ_INT(libsds_run_tasks(h, LIBSDS_TASK_BUFFER_SWEEP), LIBSDS_OK);
  CHECK_EQ_INT(s.calls[M_LOAD], loads + 1);
  CHECK_EQ_INT(s.loader_errors, 0);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);

  p.channels_due = NULL; /* one of the two: rejected */
  int before = s.destroys;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_ERR_INVALID_ARG);
  CHECK(strstr(libsds_last_error(), "save_channel_due") != NULL);
  CHECK_EQ_INT(s.destroys, before + 1);

  p = vtable(&ref, 0, 1);
  p.version = 1;
  p.save_channel_due = (int (*)(void *, libsds_str, int64_t))(uintptr_t)1; /* past a v1 struct: never read */
  p.channels_due = (int (*)(void *, int64_t, libsds_loader *))(uintptr_t)1;
  o = host_options(&p, "alice");
  loads = s.calls[M_LOAD];
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  CHECK(s.calls[M_LOAD] > loads); /* version 1: every channel loads at creation */
  b = wrap_msg(h, "hello", "m2", "ch");
  libsds_buffer_free(&b);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  store_free(&s);
}

int main(void) {
  alarm(60);
  test_restart();
  test_failure_with_transactions();
  test_failure_without_transactions();
  test_invalid_vtables();
  test_loader_misuse();
  test_lazy_loading();
  return tu_done("native_persistence");
}
