/* native_events: typed events and synchronous results of the native API —
   MESSAGE_READY, MESSAGE_ACKNOWLEDGED (via causal history, distinct from
   GIVEN_UP), MISSING_DEPENDENCIES with ids in citation order, causal release order with content,
   libsds_unwrapped's fields, libsds_mark_dependencies_met with libsds_str ids
   (embedded NULs), PERIODIC_SYNC via run_tasks and libsds_start, delivery on a
   library thread in order, the event size field, GIVEN_UP, the SDS-R repair
   round trip (REPAIR_READY), and the retrieval-hint provider protocol. */
#include "testutil.h"
#include "testevents.h"
#include "testnative.h"
#include "testwire.h"

/* ---- wire helpers (the rest are in testwire.h) ---- */

/* A history entry (field 3 or 13) as strings; the hint is returned raw. */
typedef struct {
  char id[64];
  char sender[64];
  const uint8_t *hint;
  size_t hint_len;
  int has_hint;
} wire_entry;

static int entry_at(const uint8_t *b, size_t n, uint32_t num, int k, wire_entry *e) {
  pb_field f, g;
  memset(e, 0, sizeof *e);
  if (!pb_nth(b, n, num, k, &f)) return 0;
  if (pb_get(f.data, f.len, 1, &g)) snprintf(e->id, sizeof e->id, "%.*s", (int)g.len, (const char *)g.data);
  if (pb_get(f.data, f.len, 3, &g)) snprintf(e->sender, sizeof e->sender, "%.*s", (int)g.len, (const char *)g.data);
  if (pb_get(f.data, f.len, 2, &g)) {
    e->has_hint = 1;
    e->hint = g.data;
    e->hint_len = g.len;
  }
  return 1;
}

/* ---- helpers ---- */

static pthread_t main_thread;

static libsds_handle new_manager(const char *pid, recorder *r, uint64_t set, int64_t tmin, int64_t tmax) {
  libsds_options o = LIBSDS_OPTIONS_INIT;
  o.participant_id = pid;
  o.config_set = set;
  o.repair_t_min_ms = tmin;
  o.repair_t_max_ms = tmax;
  libsds_handle h = 0;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  if (r) CHECK_EQ_INT(libsds_set_event_handler(h, on_event, r), LIBSDS_OK);
  return h;
}

/* Unwraps and returns the number of missing deps (-1 on error); keeps the result in *out if given. */
static int unwrap(libsds_handle h, const uint8_t *d, size_t n, libsds_unwrapped **out) {
  libsds_unwrapped *u = NULL;
  int rc = libsds_unwrap(h, d, n, &u);
  CHECK_EQ_INT(rc, LIBSDS_OK);
  if (rc != LIBSDS_OK || !u) return -1;
  int deps = (int)u->missing_deps_len;
  if (out)
    *out = u;
  else
    libsds_unwrapped_free(u);
  return deps;
}

static int str_is(libsds_str s, const char *want) {
  return s.data && s.len == strlen(want) && memcmp(s.data, want, s.len) == 0 && s.data[s.len] == 0;
}

/* ---- the tests ---- */

static void test_round_trip_and_ack(void) {
  recorder ra, rb;
  rec_init(&ra);
  rec_init(&rb);
  libsds_handle a = new_manager("alice", &ra, 0, 0, 0);
  libsds_handle b = new_manager(NULL, &rb, 0, 0, 0);

  libsds_buffer a1 = wrap_msg(a, "hello bob", "a1", "room");
  libsds_unwrapped *u = NULL;
  CHECK_EQ_INT(unwrap(b, a1.data, a1.len, &u), 0);
  if (u) {
    CHECK_EQ_INT(u->content.len, 9);
    CHECK(u->content.data && memcmp(u->content.data, "hello bob", 9) == 0);
    CHECK(str_is(u->channel_id, "room"));
    CHECK(str_is(u->message_id, "a1"));
    CHECK(u->missing_deps == NULL);
    libsds_unwrapped_free(u);
  }
  rec_wait(&rb, 1);
  CHECK_EV(&rb, 0, LIBSDS_EVENT_MESSAGE_READY, "a1");
  CHECK_STR(rb.ev[0].ch, "room");
  CHECK_EQ_INT(rb.ev[0].ch_len, 4);
  CHECK_EQ_INT(rb.ev[0].id_len, 2);
  CHECK(rb.ev[0].ch_nul_ok && rb.ev[0].id_nul_ok);
  CHECK_EQ_INT(rb.ev[0].size, sizeof(libsds_event));
  CHECK_EQ_INT(rb.ev[0].ndeps, 0);
  CHECK(rb.ev[0].msg == NULL && !rb.ev[0].has_error);
  CHECK(rb.ev[0].content_set && rb.ev[0].content_len == 9);
  CHECK_STR(rb.ev[0].content, "hello bob");
  CHECK(!pthread_equal(rb.ev[0].thread, main_thread));

  /* A duplicate: content and id again, no event. */
  CHECK_EQ_INT(unwrap(b, a1.data, a1.len, &u), 0);
  if (u) {
    CHECK(u->content.len == 9 && memcmp(u->content.data, "hello bob", 9) == 0);
    CHECK(str_is(u->message_id, "a1"));
    libsds_unwrapped_free(u);
  }

  /* b1 cites a1. Strip b1's bloom filter so that only the causal history can acknowledge. */
  libsds_buffer b1 = wrap_msg(b, "hi alice", "b1", "room");
  wire_entry e;
  CHECK(entry_at(b1.data, b1.len, 3, 0, &e) && strcmp(e.id, "a1") == 0);
  CHECK_STR(e.sender, "alice");
  uint8_t *stripped = malloc(b1.len);
  size_t sn = pb_strip(b1.data, b1.len, 6, stripped);
  CHECK(sn < b1.len && pb_count(stripped, sn, 6) == 0);
  CHECK_EQ_INT(unwrap(a, stripped, sn, NULL), 0);
  rec_wait(&ra, 2);
  CHECK_EV(&ra, 0, LIBSDS_EVENT_MESSAGE_ACKNOWLEDGED, "a1");
  CHECK_STR(ra.ev[0].ch, "room");
  CHECK_EV(&ra, 1, LIBSDS_EVENT_MESSAGE_READY, "b1");
  for (int i = 0; i < 2; i++) CHECK(!pthread_equal(ra.ev[i].thread, main_thread));
  CHECK_EQ_INT(rec_fence(a, &ra), 2); /* acknowledged once, never also given up */
  CHECK_EQ_INT(rec_fence(b, &rb), 1);
  free(stripped);

  libsds_buffer_free(&a1);
  libsds_buffer_free(&b1);
  CHECK_EQ_INT(libsds_free(a), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(b), LIBSDS_OK);
  rec_destroy(&ra);
  rec_destroy(&rb);
}

static void test_out_of_order(void) {
  recorder rb;
  rec_init(&rb);
  libsds_handle a = new_manager("alice", NULL, 0, 0, 0);
  libsds_handle b = new_manager(NULL, &rb, 0, 0, 0);
  libsds_buffer m[5];
  char id[16], content[16];
  for (int i = 1; i <= 4; i++) {
    snprintf(id, sizeof id, "m%d", i);
    snprintf(content, sizeof content, "c%d", i);
    m[i] = wrap_msg(a, content, id, "chain");
  }
  /* m4, m3, m2: each waits for everything it cites that b lacks, in citation order. */
  for (int i = 4; i >= 2; i--) {
    libsds_unwrapped *u = NULL;
    CHECK_EQ_INT(unwrap(b, m[i].data, m[i].len, &u), i - 1);
    if (!u) continue;
    snprintf(content, sizeof content, "c%d", i);
    CHECK(u->content.len == 2 && memcmp(u->content.data, content, 2) == 0);
    CHECK(str_is(u->channel_id, "chain"));
    snprintf(id, sizeof id, "m%d", i);
    CHECK(str_is(u->message_id, id)); /* the id its READY will carry */
    for (size_t k = 0; k < u->missing_deps_len; k++) {
      snprintf(id, sizeof id, "m%d", (int)k + 1);
      CHECK(str_is(u->missing_deps[k].message_id, id));
      CHECK(str_is(u->missing_deps[k].sender_id, "alice"));
      CHECK(u->missing_deps[k].retrieval_hint == NULL && u->missing_deps[k].retrieval_hint_len == 0);
    }
    libsds_unwrapped_free(u);
  }
  rec_wait(&rb, 3);
  for (int k = 0; k < 3; k++) {
    snprintf(id, sizeof id, "m%d", 4 - k);
    CHECK_EV(&rb, k, LIBSDS_EVENT_MISSING_DEPENDENCIES, id);
    CHECK_STR(rb.ev[k].ch, "chain");
    CHECK_EQ_INT(rb.ev[k].ndeps, 3 - k);
    for (int d = 0; d < rb.ev[k].ndeps && d < 8; d++) {
      snprintf(id, sizeof id, "m%d", d + 1);
      CHECK_STR(rb.ev[k].deps[d], id);
      CHECK_EQ_INT(rb.ev[k].dep_len[d], 2);
      CHECK_STR(rb.ev[k].dep_sender[d], "alice");
    }
  }
  /* m1 is delivered, then the m2, m3, m4 it releases: causal order, each
     READY with its content (the compatible API reports m2, m3, m4, m1). */
  CHECK_EQ_INT(unwrap(b, m[1].data, m[1].len, NULL), 0);
  rec_wait(&rb, 7);
  for (int k = 3; k < 7 && k < rb.n; k++) {
    snprintf(id, sizeof id, "m%d", k - 2);
    snprintf(content, sizeof content, "c%d", k - 2);
    CHECK_EV(&rb, k, LIBSDS_EVENT_MESSAGE_READY, id);
    CHECK(rb.ev[k].content_set && rb.ev[k].content_len == 2);
    CHECK_STR(rb.ev[k].content, content);
  }
  for (int k = 0; k < 3 && k < rb.n; k++) CHECK(!rb.ev[k].content_set); /* only READY has content */
  for (int k = 0; k < 7 && k < rb.n; k++) {
    CHECK(!pthread_equal(rb.ev[k].thread, main_thread));
    CHECK_EQ_INT(rb.ev[k].size, sizeof(libsds_event));
  }
  CHECK_EQ_INT(rec_fence(b, &rb), 7);
  for (int i = 1; i <= 4; i++) libsds_buffer_free(&m[i]);
  CHECK_EQ_INT(libsds_free(a), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(b), LIBSDS_OK);
  rec_destroy(&rb);
}

/* The chat app's case: alice sends a question, then a reply to it; bob
   receives the reply first. Across calls, the question's READY comes first,
   and each READY has the content a chat view appends. */
static void test_causal_across_calls(void) {
  recorder rb;
  rec_init(&rb);
  libsds_handle a = new_manager("alice", NULL, 0, 0, 0);
  libsds_handle b = new_manager("bob", &rb, 0, 0, 0);
  libsds_buffer q = wrap_msg(a, "lunch?", "q", "chat");
  libsds_buffer r = wrap_msg(a, "at noon", "r", "chat");
  libsds_unwrapped *u = NULL;
  CHECK_EQ_INT(unwrap(b, r.data, r.len, &u), 1);
  if (u) {
    CHECK(str_is(u->message_id, "r"));
    libsds_unwrapped_free(u);
  }
  rec_wait(&rb, 1);
  CHECK_EV(&rb, 0, LIBSDS_EVENT_MISSING_DEPENDENCIES, "r");
  CHECK_EQ_INT(unwrap(b, q.data, q.len, &u), 0);
  if (u) {
    CHECK(str_is(u->message_id, "q"));
    libsds_unwrapped_free(u);
  }
  rec_wait(&rb, 3);
  CHECK_EV(&rb, 1, LIBSDS_EVENT_MESSAGE_READY, "q");
  CHECK_STR(rb.ev[1].content, "lunch?");
  CHECK_EV(&rb, 2, LIBSDS_EVENT_MESSAGE_READY, "r");
  CHECK_STR(rb.ev[2].content, "at noon");
  CHECK_EQ_INT(rb.ev[2].content_len, 7);
  libsds_buffer_free(&q);
  libsds_buffer_free(&r);
  CHECK_EQ_INT(libsds_free(a), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(b), LIBSDS_OK);
  rec_destroy(&rb);
}

static void test_mark_dependencies_met(void) {
  recorder rb;
  rec_init(&rb);
  libsds_handle a = new_manager(NULL, NULL, 0, 0, 0);
  libsds_handle b = new_manager(NULL, &rb, 0, 0, 0);

  libsds_buffer x1 = wrap_msg(a, "one", "x1", "mk");
  libsds_buffer x2 = wrap_msg(a, "two", "x2", "mk");
  CHECK_EQ_INT(unwrap(b, x2.data, x2.len, NULL), 1);
  rec_wait(&rb, 1);
  CHECK_EV(&rb, 0, LIBSDS_EVENT_MISSING_DEPENDENCIES, "x2");

  /* An id with an embedded NUL is accepted and matches nothing ("x1\0zz" is not "x1"). */
  libsds_str nul_id[1] = {{"x1\0zz", 5}};
  CHECK_EQ_INT(libsds_mark_dependencies_met(b, nul_id, 1, "mk"), LIBSDS_OK);
  libsds_str prefix[1] = {{"x1", 2}};
  CHECK_EQ_INT(rec_fence(b, &rb), 1);
  /* The real id. */
  CHECK_EQ_INT(libsds_mark_dependencies_met(b, prefix, 1, "mk"), LIBSDS_OK);
  rec_wait(&rb, 2);
  CHECK_EV(&rb, 1, LIBSDS_EVENT_MESSAGE_READY, "x2");
  /* x1 itself now arrives and is delivered (mark does not put it in the log). */
  CHECK_EQ_INT(unwrap(b, x1.data, x1.len, NULL), 0);
  rec_wait(&rb, 3);
  CHECK_EV(&rb, 2, LIBSDS_EVENT_MESSAGE_READY, "x1");

  /* Ids with embedded NULs on the wire: a message citing "d\0x" (3 bytes). */
  pb_buf p;
  size_t n = pb_craft(&p, "w\0w", 3, 5, (const char *const[]){"d\0x"}, (const size_t[]){3}, 1, "nul");
  libsds_unwrapped *u = NULL;
  CHECK_EQ_INT(unwrap(b, p.b, n, &u), 1);
  if (u && u->missing_deps_len == 1) {
    CHECK_EQ_INT(u->missing_deps[0].message_id.len, 3);
    CHECK(memcmp(u->missing_deps[0].message_id.data, "d\0x", 4) == 0); /* and NUL-terminated */
  }
  libsds_unwrapped_free(u);
  rec_wait(&rb, 4);
  CHECK_EV(&rb, 3, LIBSDS_EVENT_MISSING_DEPENDENCIES, NULL);
  CHECK_EQ_INT(rb.ev[3].id_len, 3);
  CHECK_EQ_INT(rb.ev[3].dep_len[0], 3);
  libsds_str just_d[1] = {{"d", 1}};
  CHECK_EQ_INT(libsds_mark_dependencies_met(b, just_d, 1, "nul"), LIBSDS_OK);
  CHECK_EQ_INT(rec_fence(b, &rb), 4); /* "d" is not "d\0x" */
  libsds_str full[2] = {{"", 0}, {"d\0x", 3}};
  CHECK_EQ_INT(libsds_mark_dependencies_met(b, full, 2, "nul"), LIBSDS_OK);
  rec_wait(&rb, 5);
  CHECK_EV(&rb, 4, LIBSDS_EVENT_MESSAGE_READY, NULL);
  CHECK_EQ_INT(rb.ev[4].id_len, 3);
  CHECK(memcmp(rb.ev[4].id, "w\0w", 4) == 0);
  CHECK_STR(rb.ev[4].ch, "nul");

  libsds_buffer_free(&x1);
  libsds_buffer_free(&x2);
  CHECK_EQ_INT(libsds_free(a), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(b), LIBSDS_OK);
  rec_destroy(&rb);
}

static void test_periodic_sync(void) {
  recorder r;
  rec_init(&r);
  libsds_handle h = new_manager(NULL, &r, 0, 0, 0);
  CHECK_EQ_INT(libsds_run_tasks(h, LIBSDS_TASK_SYNC), LIBSDS_OK);
  rec_wait(&r, 1);
  CHECK_EV(&r, 0, LIBSDS_EVENT_PERIODIC_SYNC, "");
  CHECK_EQ_INT(r.ev[0].ch_len, 0);
  CHECK_EQ_INT(r.ev[0].id_len, 0);
  CHECK_EQ_INT(r.ev[0].size, sizeof(libsds_event));
  CHECK(!pthread_equal(r.ev[0].thread, main_thread));
  /* The other tasks have nothing to report. */
  CHECK_EQ_INT(libsds_run_tasks(h, LIBSDS_TASK_BUFFER_SWEEP | LIBSDS_TASK_REPAIR_SWEEP), LIBSDS_OK);
  CHECK_EQ_INT(libsds_run_tasks(h, 0), LIBSDS_OK);
  CHECK_EQ_INT(rec_fence(h, &r), 1);

  /* start: the first tick at once (its events queued before start returns);
     a second start starts nothing; stop is idempotent. Default interval 30 s. */
  CHECK_EQ_INT(libsds_start(h), LIBSDS_OK);
  rec_wait(&r, 2);
  CHECK_EV(&r, 1, LIBSDS_EVENT_PERIODIC_SYNC, "");
  CHECK_EQ_INT(libsds_start(h), LIBSDS_OK);
  CHECK_EQ_INT(rec_fence(h, &r), 2); /* the running tasks' next tick is 30 s away */
  CHECK_EQ_INT(libsds_stop(h), LIBSDS_OK);
  CHECK_EQ_INT(libsds_stop(h), LIBSDS_OK);
  /* start after stop runs the first tick again */
  CHECK_EQ_INT(libsds_start(h), LIBSDS_OK);
  rec_wait(&r, 3);
  CHECK_EV(&r, 2, LIBSDS_EVENT_PERIODIC_SYNC, "");
  CHECK_EQ_INT(libsds_stop(h), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  CHECK_EQ_INT(rec_count(&r), 3);

  /* A short interval: ticks keep coming, on a library thread. */
  rec_destroy(&r);
  rec_init(&r);
  libsds_options o = LIBSDS_OPTIONS_INIT;
  o.config_set = LIBSDS_CFG_SYNC_INTERVAL;
  o.sync_interval_ms = 5;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  CHECK_EQ_INT(libsds_set_event_handler(h, on_event, &r), LIBSDS_OK);
  CHECK_EQ_INT(libsds_start(h), LIBSDS_OK);
  rec_wait(&r, 4);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  for (int i = 0; i < r.n && i < MAX_EVENTS; i++) {
    CHECK_EQ_INT(r.ev[i].type, LIBSDS_EVENT_PERIODIC_SYNC);
    CHECK(!pthread_equal(r.ev[i].thread, main_thread));
  }
  rec_destroy(&r);
}

static void test_given_up(void) {
  recorder r;
  rec_init(&r);
  libsds_handle h = 0;
  libsds_options o = LIBSDS_OPTIONS_INIT;
  o.config_set = LIBSDS_CFG_RESEND_INTERVAL | LIBSDS_CFG_MAX_RESEND_ATTEMPTS;
  o.resend_interval_ms = 1;
  o.max_resend_attempts = 0;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  CHECK_EQ_INT(libsds_set_event_handler(h, on_event, &r), LIBSDS_OK);
  libsds_buffer w = wrap_msg(h, "lonely", "g1", "void");
  CHECK_EQ_INT(libsds_run_tasks(h, LIBSDS_TASK_BUFFER_SWEEP), LIBSDS_OK); /* not overdue yet */
  tu_sleep_ms(5); /* not synchronisation: the 1 ms resend interval must pass on the clock */
  CHECK_EQ_INT(libsds_run_tasks(h, LIBSDS_TASK_BUFFER_SWEEP), LIBSDS_OK);
  rec_wait(&r, 1);
  CHECK_EV(&r, 0, LIBSDS_EVENT_MESSAGE_GIVEN_UP, "g1");
  CHECK_STR(r.ev[0].ch, "void");
  CHECK_EQ_INT(libsds_run_tasks(h, LIBSDS_TASK_BUFFER_SWEEP), LIBSDS_OK);
  CHECK_EQ_INT(rec_fence(h, &r), 1); /* given up once */
  libsds_buffer_free(&w);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  rec_destroy(&r);
}

static void test_repair(void) {
  const uint64_t set = LIBSDS_CFG_REPAIR_T_MIN | LIBSDS_CFG_REPAIR_T_MAX;
  recorder ra, rb, rc;
  rec_init(&ra);
  rec_init(&rb);
  rec_init(&rc);
  libsds_handle alice = new_manager("alice", &ra, set, 1, 20);
  libsds_handle bob = new_manager("bob", &rb, set, 1, 20);
  libsds_handle carol = new_manager("carol", &rc, set, 1, 20);

  libsds_buffer m1 = wrap_msg(alice, "first", "m1", "grp");
  libsds_buffer m2 = wrap_msg(alice, "second", "m2", "grp");
  CHECK_EQ_INT(unwrap(carol, m1.data, m1.len, NULL), 0);
  CHECK_EQ_INT(unwrap(carol, m2.data, m2.len, NULL), 0);
  rec_wait(&rc, 2);
  /* bob misses m1 */
  CHECK_EQ_INT(unwrap(bob, m2.data, m2.len, NULL), 1);
  rec_wait(&rb, 1);
  CHECK_EV(&rb, 0, LIBSDS_EVENT_MISSING_DEPENDENCIES, "m2");
  CHECK_STR(rb.ev[0].deps[0], "m1");
  CHECK_STR(rb.ev[0].dep_sender[0], "alice");

  /* After T_req (< 20 ms) bob's next message asks for m1. */
  tu_sleep_ms(30); /* not synchronisation: T_req must pass on the clock */
  libsds_buffer b1 = wrap_msg(bob, "bob here", "b1", "grp");
  CHECK_EQ_INT(pb_count(b1.data, b1.len, 13), 1);
  wire_entry e;
  CHECK(entry_at(b1.data, b1.len, 13, 0, &e));
  CHECK_STR(e.id, "m1");
  CHECK_STR(e.sender, "alice");
  /* asked once: the next message carries no request */
  libsds_buffer b2 = wrap_msg(bob, "bob again", "b2", "grp");
  CHECK_EQ_INT(pb_count(b2.data, b2.len, 13), 0);

  /* carol holds m1 and answers after T_resp (< 20 ms). */
  CHECK_EQ_INT(unwrap(carol, b1.data, b1.len, NULL), 0);
  tu_sleep_ms(30); /* not synchronisation: T_resp must pass on the clock */
  int before = rec_count(&rc);
  CHECK_EQ_INT(libsds_run_tasks(carol, LIBSDS_TASK_REPAIR_SWEEP), LIBSDS_OK);
  rec_wait(&rc, before + 1);
  uint8_t *rep = NULL;
  size_t rep_len = 0;
  pthread_mutex_lock(&rc.mu);
  for (int i = before; i < rc.n; i++)
    if (rc.ev[i].type == LIBSDS_EVENT_REPAIR_READY) {
      CHECK_STR(rc.ev[i].ch, "grp");
      CHECK_EQ_INT(rc.ev[i].id_len, 0); /* message_id is empty for REPAIR_READY */
      rep = rc.ev[i].msg;
      rep_len = rc.ev[i].msg_len;
      break;
    }
  pthread_mutex_unlock(&rc.mu);
  CHECK(rep != NULL);
  if (rep) {
    pb_field f;
    CHECK(pb_get(rep, rep_len, 1, &f) && field_is(&f, "m1"));
    CHECK(pb_get(rep, rep_len, 7, &f) && field_is(&f, "alice")); /* still alice's message */
    CHECK(pb_get(rep, rep_len, 6, &f) && f.len == 0);             /* with an empty filter */
    /* bob: m1 arrives, releasing m2 — in causal order */
    int nb = rec_count(&rb);
    libsds_unwrapped *u = NULL;
    CHECK_EQ_INT(unwrap(bob, rep, rep_len, &u), 0);
    if (u) {
      CHECK(u->content.len == 5 && memcmp(u->content.data, "first", 5) == 0);
      libsds_unwrapped_free(u);
    }
    rec_wait(&rb, nb + 2);
    CHECK_EV(&rb, nb, LIBSDS_EVENT_MESSAGE_READY, "m1");
    CHECK_EV(&rb, nb + 1, LIBSDS_EVENT_MESSAGE_READY, "m2");
  }
  /* the response was sent once */
  before = rec_count(&rc);
  CHECK_EQ_INT(libsds_run_tasks(carol, LIBSDS_TASK_REPAIR_SWEEP), LIBSDS_OK);
  CHECK_EQ_INT(rec_fence(carol, &rc), before);

  libsds_buffer_free(&m1);
  libsds_buffer_free(&m2);
  libsds_buffer_free(&b1);
  libsds_buffer_free(&b2);
  CHECK_EQ_INT(libsds_free(alice), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(bob), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(carol), LIBSDS_OK);
  rec_destroy(&ra);
  rec_destroy(&rb);
  rec_destroy(&rc);
}

/* ---- hint provider ---- */

enum { HINT_PREFIX, HINT_BIG, HINT_ZERO, HINT_NEGATIVE };

typedef struct {
  int mode;
  int calls;
  size_t buf_len[16];
  char ids[16][32];
} hint_state;

#define BIG_HINT 1000

static int64_t provider(libsds_str id, uint8_t *buf, size_t buf_len, void *ud) {
  hint_state *s = ud;
  if (s->calls < 16) {
    s->buf_len[s->calls] = buf_len;
    copy_str(s->ids[s->calls], 32, id);
  }
  s->calls++;
  if (!id.data || id.data[id.len] != 0) return 0;
  switch (s->mode) {
  case HINT_PREFIX: {
    char h[128];
    int n = snprintf(h, sizeof h, "hint:%.*s", (int)id.len, id.data);
    memcpy(buf, h, (size_t)n < buf_len ? (size_t)n : buf_len);
    return n;
  }
  case HINT_BIG:
    for (size_t i = 0; i < buf_len && i < BIG_HINT; i++) buf[i] = (uint8_t)('a' + i % 26);
    return BIG_HINT;
  case HINT_ZERO:
    if (buf_len) buf[0] = 'z'; /* written but not claimed */
    return 0;
  case HINT_NEGATIVE:
    if (buf_len) buf[0] = 'n';
    return -7;
  }
  return 0;
}

static void test_hints(void) {
  hint_state s = {.mode = HINT_PREFIX};
  recorder rb;
  rec_init(&rb);
  libsds_handle a = new_manager("alice", NULL, 0, 0, 0);
  libsds_handle b = new_manager(NULL, &rb, 0, 0, 0);
  CHECK_EQ_INT(libsds_set_hint_provider(a, provider, &s), LIBSDS_OK);

  libsds_buffer m1 = wrap_msg(a, "one", "m1", "h");
  CHECK_EQ_INT(s.calls, 0); /* nothing to cite yet */
  libsds_buffer m2 = wrap_msg(a, "two", "m2", "h");
  CHECK_EQ_INT(s.calls, 1);
  CHECK_STR(s.ids[0], "m1");
  CHECK(s.buf_len[0] > 0);
  wire_entry e;
  CHECK(entry_at(m2.data, m2.len, 3, 0, &e));
  CHECK_STR(e.id, "m1");
  CHECK(e.has_hint && e.hint_len == 7 && memcmp(e.hint, "hint:m1", 7) == 0);
  /* the receiver sees the hint in missing_deps */
  libsds_unwrapped *u = NULL;
  CHECK_EQ_INT(unwrap(b, m2.data, m2.len, &u), 1);
  if (u && u->missing_deps_len == 1) {
    CHECK_EQ_INT(u->missing_deps[0].retrieval_hint_len, 7);
    CHECK(u->missing_deps[0].retrieval_hint && memcmp(u->missing_deps[0].retrieval_hint, "hint:m1", 7) == 0);
  }
  libsds_unwrapped_free(u);
  rec_wait(&rb, 1);
  CHECK_STR(rb.ev[0].dep_hint[0], "hint:m1");

  /* m3 cites m1 and m2: one call each, in citation order */
  s.calls = 0;
  libsds_buffer m3 = wrap_msg(a, "three", "m3", "h");
  CHECK_EQ_INT(s.calls, 2);
  CHECK_STR(s.ids[0], "m1");
  CHECK_STR(s.ids[1], "m2");
  CHECK(entry_at(m3.data, m3.len, 3, 1, &e));
  CHECK(e.has_hint && e.hint_len == 7 && memcmp(e.hint, "hint:m2", 7) == 0);

  /* a hint larger than the buffer: asked again with a buffer of its size */
  libsds_handle c = new_manager(NULL, NULL, 0, 0, 0);
  hint_state big = {.mode = HINT_BIG};
  CHECK_EQ_INT(libsds_set_hint_provider(c, provider, &big), LIBSDS_OK);
  libsds_buffer c1 = wrap_msg(c, "one", "c1", "h");
  libsds_buffer c2 = wrap_msg(c, "two", "c2", "h");
  CHECK_EQ_INT(big.calls, 2);
  CHECK(big.buf_len[0] < BIG_HINT);
  CHECK_EQ_INT(big.buf_len[1], BIG_HINT);
  CHECK_STR(big.ids[1], "c1");
  CHECK(entry_at(c2.data, c2.len, 3, 0, &e));
  CHECK_EQ_INT(e.hint_len, BIG_HINT);
  int same = e.has_hint && e.hint_len == BIG_HINT;
  for (size_t i = 0; same && i < BIG_HINT; i++) same = e.hint[i] == (uint8_t)('a' + i % 26);
  CHECK(same);

  /* 0 and negative: no hint */
  hint_state zero = {.mode = HINT_ZERO}, neg = {.mode = HINT_NEGATIVE};
  CHECK_EQ_INT(libsds_set_hint_provider(c, provider, &zero), LIBSDS_OK);
  libsds_buffer c3 = wrap_msg(c, "three", "c3", "h");
  CHECK_EQ_INT(zero.calls, 2);
  CHECK(entry_at(c3.data, c3.len, 3, 0, &e) && !e.has_hint);
  CHECK(entry_at(c3.data, c3.len, 3, 1, &e) && !e.has_hint);
  CHECK_EQ_INT(libsds_set_hint_provider(c, provider, &neg), LIBSDS_OK);
  libsds_buffer c4 = wrap_msg(c, "four", "c4", "h");
  CHECK_EQ_INT(neg.calls, 3);
  for (int k = 0; k < 3; k++) CHECK(entry_at(c4.data, c4.len, 3, k, &e) && !e.has_hint);
  /* removed provider: not called */
  CHECK_EQ_INT(libsds_set_hint_provider(c, NULL, NULL), LIBSDS_OK);
  libsds_buffer c5 = wrap_msg(c, "five", "c5", "h");
  CHECK_EQ_INT(neg.calls, 3);
  CHECK(entry_at(c5.data, c5.len, 3, 0, &e) && !e.has_hint);

  libsds_buffer bufs[] = {m1, m2, m3, c1, c2, c3, c4, c5};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) libsds_buffer_free(&bufs[i]);
  CHECK_EQ_INT(libsds_free(a), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(b), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(c), LIBSDS_OK);
  rec_destroy(&rb);
}

int main(void) {
  main_thread = pthread_self();
  test_round_trip_and_ack();
  test_out_of_order();
  test_causal_across_calls();
  test_mark_dependencies_met();
  test_periodic_sync();
  test_given_up();
  test_repair();
  test_hints();
  return tu_done("native_events");
}
