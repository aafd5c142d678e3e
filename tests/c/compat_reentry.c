/* Compatible API re-entrancy (ABI.md §1.1, §1.5; nim-sds deadlocks in all of
   these, §2.5):
   - from inside a result callback and from inside event callbacks
     (message_ready, periodic_sync), SdsWrapOutgoingMessage and
     SdsUnwrapReceivedMessage on the same ctx return RET_OK and their results
     arrive (after the running callback returns);
   - from inside a result callback, SdsCleanupReliabilityManager on the same ctx
     returns RET_OK and calls back exactly once;
   - from inside the retrieval-hint provider, every int-returning call on the
     same ctx fails at once (one synchronous RET_ERR callback, RET_ERR) while
     the outer wrap succeeds; a call into another manager works.
   A watchdog ends the program with a failure if anything hangs. */
#include "testutil.h"
#include "testcompat.h"

/* ---- (a) from inside a result callback ---- */

typedef struct {
  void *ctx;
  unsigned char *wire; /* a message to unwrap from inside */
  size_t wire_len;
  const char *wrap_id;
  int rc_wrap, rc_unwrap;
  int entered;
  int inner_before_return; /* an inner result arrived while the callback ran */
  tu_result inner_wrap, inner_unwrap;
  tu_result outer;
} reenter;

static void do_reenter(reenter *s) {
  s->entered = 1;
  s->rc_wrap = SdsWrapOutgoingMessage(s->ctx, "inner", 5, s->wrap_id, "c1", tu_result_cb, &s->inner_wrap);
  s->rc_unwrap = SdsUnwrapReceivedMessage(s->ctx, s->wire, s->wire_len, tu_result_cb, &s->inner_unwrap);
  /* neither result can have arrived yet: they come from this manager's
     library thread, which is busy running this callback */
  pthread_mutex_lock(&s->inner_wrap.mu);
  if (s->inner_wrap.calls) s->inner_before_return = 1;
  pthread_mutex_unlock(&s->inner_wrap.mu);
  pthread_mutex_lock(&s->inner_unwrap.mu);
  if (s->inner_unwrap.calls) s->inner_before_return = 1;
  pthread_mutex_unlock(&s->inner_unwrap.mu);
}

static void outer_result_cb(int ret, const char *msg, size_t len, void *ud) {
  reenter *s = ud;
  do_reenter(s);
  tu_result_cb(ret, msg, len, &s->outer);
}

static void check_reenter(const char *what, reenter *s) {
  CHECK(tu_wait(&s->inner_wrap, 1));
  CHECK(tu_wait(&s->inner_unwrap, 1));
  if (!s->entered) fprintf(stderr, "%s: callback never ran\n", what);
  CHECK(s->entered);
  CHECK_EQ_INT(s->rc_wrap, RET_OK);
  CHECK_EQ_INT(s->rc_unwrap, RET_OK);
  CHECK_EQ_INT(s->inner_before_return, 0);
  CHECK_EQ_INT(s->inner_wrap.ret, RET_OK);
  CHECK_EQ_INT(s->inner_unwrap.ret, RET_OK);
  CHECK(s->inner_wrap.msg && s->inner_wrap.msg[0] == '1' && s->inner_wrap.msg[1] == '0' && s->inner_wrap.msg[2] == ',');
  CHECK(s->inner_unwrap.msg && strncmp(s->inner_unwrap.msg, "{\"message\":[", 12) == 0);
  compat_fence(s->ctx); /* no second result later */
  CHECK_EQ_INT(s->inner_wrap.calls, 1);
  CHECK_EQ_INT(s->inner_unwrap.calls, 1);
}

static void reenter_init(reenter *s, void *ctx, unsigned char *wire, size_t n, const char *wrap_id) {
  memset(s, 0, sizeof *s);
  s->ctx = ctx;
  s->wire = wire;
  s->wire_len = n;
  s->wrap_id = wrap_id;
  tu_result_init(&s->inner_wrap);
  tu_result_init(&s->inner_unwrap);
  tu_result_init(&s->outer);
}

static void reenter_destroy(reenter *s) {
  tu_result_destroy(&s->inner_wrap);
  tu_result_destroy(&s->inner_unwrap);
  tu_result_destroy(&s->outer);
}

static void test_result_callback(void *sender) {
  stage("(a) wrap/unwrap from inside a result callback");
  void *a = new_mgr();
  size_t n;
  unsigned char *s1 = wrap(sender, "s1", "s1", "c1", &n);
  reenter s;
  reenter_init(&s, a, s1, n, "a2");
  CHECK_EQ_INT(SdsWrapOutgoingMessage(a, "a1", 2, "a1", "c1", outer_result_cb, &s), RET_OK);
  CHECK(tu_wait(&s.outer, 1));
  CHECK_EQ_INT(s.outer.ret, RET_OK);
  check_reenter("result callback", &s);
  reenter_destroy(&s);
  free(s1);
  cleanup_mgr(a);
}

/* ---- (b) from inside event callbacks ---- */

static reenter ev_state;
static const char *ev_trigger; /* the event that re-enters, once */
static void reentering_event_cb(int ret, const char *msg, size_t len, void *ud) {
  (void)ret;
  reenter *s = ud;
  if (ev_trigger && strlen(ev_trigger) == len && memcmp(msg, ev_trigger, len) == 0 && !s->entered) do_reenter(s);
}

static void test_event_callback(void *sender) {
  stage("(b) wrap/unwrap from inside a message_ready event callback");
  void *a = new_mgr();
  size_t n2, n3;
  unsigned char *s2 = wrap(sender, "s2", "s2", "c2", &n2);
  unsigned char *s3 = wrap(sender, "s3", "s3", "c2", &n3);
  reenter_init(&ev_state, a, s3, n3, "a3");
  ev_trigger = "{\"messageId\":\"s2\",\"channelId\":\"c2\",\"eventType\":\"message_ready\"}";
  SdsSetEventCallback(a, reentering_event_cb, &ev_state);
  tu_result u;
  tu_result_init(&u);
  CHECK_EQ_INT(SdsUnwrapReceivedMessage(a, s2, n2, tu_result_cb, &u), RET_OK);
  CHECK(tu_wait(&u, 1));
  CHECK_EQ_INT(u.ret, RET_OK);
  check_reenter("message_ready callback", &ev_state);
  /* the unwrap result still came exactly once */
  CHECK_EQ_INT(u.calls, 1);
  tu_result_destroy(&u);
  reenter_destroy(&ev_state);
  free(s2);
  free(s3);

  /* periodic_sync handler that sends a sync message straight away (the
     nim-sds example of a deadlock) */
  stage("(b) wrap/unwrap from inside a periodic_sync event callback");
  size_t n4;
  unsigned char *s4 = wrap(sender, "s4", "s4", "c2", &n4);
  reenter_init(&ev_state, a, s4, n4, "sync1");
  ev_trigger = "{\"eventType\":\"periodic_sync\"}";
  tu_result st;
  tu_result_init(&st);
  CHECK_EQ_INT(SdsStartPeriodicTasks(a, tu_result_cb, &st), RET_OK);
  CHECK(tu_wait(&st, 1));
  CHECK_EQ_INT(st.ret, RET_OK);
  check_reenter("periodic_sync callback", &ev_state);
  tu_result_destroy(&st);
  SdsSetEventCallback(a, NULL, NULL);
  reenter_destroy(&ev_state);
  free(s4);
  cleanup_mgr(a);
}

/* ---- (c) cleanup from inside a result callback ---- */

typedef struct {
  void *ctx;
  int rc;
  int calls_at_return; /* cleanup callbacks seen when cleanup returned */
  int msg_intact;
  tu_result cleaned;
  tu_result outer;
} cleaner;

static void cleaning_result_cb(int ret, const char *msg, size_t len, void *ud) {
  cleaner *c = ud;
  char *copy = malloc(len + 1);
  memcpy(copy, msg, len + 1);
  c->rc = SdsCleanupReliabilityManager(c->ctx, tu_result_cb, &c->cleaned);
  pthread_mutex_lock(&c->cleaned.mu);
  c->calls_at_return = c->cleaned.calls;
  pthread_mutex_unlock(&c->cleaned.mu);
  /* this callback's msg is still readable until it returns */
  c->msg_intact = memcmp(copy, msg, len + 1) == 0;
  free(copy);
  tu_result_cb(ret, msg, len, &c->outer);
}

static void test_cleanup_inside(void) {
  stage("(c) cleanup from inside a result callback");
  cleaner c;
  memset(&c, 0, sizeof c);
  tu_result_init(&c.cleaned);
  tu_result_init(&c.outer);
  c.ctx = new_mgr();
  CHECK_EQ_INT(SdsWrapOutgoingMessage(c.ctx, "c1", 2, "c1", "c1", cleaning_result_cb, &c), RET_OK);
  CHECK(tu_wait(&c.outer, 1));
  CHECK(tu_wait(&c.cleaned, 1));
  CHECK_EQ_INT(c.rc, RET_OK);
  CHECK_EQ_INT(c.cleaned.ret, RET_OK);
  CHECK_STR(c.cleaned.msg, "");
  CHECK(c.msg_intact);
  CHECK_EQ_INT(c.outer.ret, RET_OK);
  tu_sleep_ms(200); /* not synchronisation: no fence exists once a manager is cleaned up (ctx is gone), so a late callback is given this long to show */
  CHECK_EQ_INT(c.cleaned.calls, 1);
  CHECK_EQ_INT(c.outer.calls, 1);
  (void)c.calls_at_return; /* either way is fine: during or after the outer callback */
  /* the ctx is gone */
  tu_result r;
  tu_result_init(&r);
  CHECK_EQ_INT(SdsResetReliabilityManager(c.ctx, tu_result_cb, &r), RET_ERR);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_STR(r.msg, "libsds error: invalid context");
  tu_result_destroy(&r);
  tu_result_destroy(&c.cleaned);
  tu_result_destroy(&c.outer);
}

/* ---- (d) calls from inside the retrieval-hint provider ---- */

typedef struct {
  void *ctx, *other;
  int calls;
  int rc[6];
  int cb_calls_at_return[6];
  int cb_ret[6];
  int cb_on_provider_thread[6];
  tu_result res[6];
  int other_rc;
  tu_result other_res;
} prov_state;

static void prov_cb(int ret, const char *msg, size_t len, void *ud) { tu_result_cb(ret, msg, len, ud); }

static void reentering_provider(const char *id, char **hint, size_t *hint_len, void *ud) {
  (void)id;
  prov_state *p = ud;
  *hint = NULL;
  *hint_len = 0;
  if (p->calls++) return; /* once */
  char *ids[] = {"p1"};
  unsigned char junk[] = {0x0a, 0x01, 0x78};
  for (int op = 0; op < 6; op++) {
    tu_result *r = &p->res[op];
    switch (op) {
    case 0: p->rc[op] = SdsWrapOutgoingMessage(p->ctx, "in", 2, "in1", "c1", prov_cb, r); break;
    case 1: p->rc[op] = SdsUnwrapReceivedMessage(p->ctx, junk, sizeof junk, prov_cb, r); break;
    case 2: p->rc[op] = SdsMarkDependenciesMet(p->ctx, ids, 1, "c1", prov_cb, r); break;
    case 3: p->rc[op] = SdsResetReliabilityManager(p->ctx, prov_cb, r); break;
    case 4: p->rc[op] = SdsStartPeriodicTasks(p->ctx, prov_cb, r); break;
    case 5: p->rc[op] = SdsCleanupReliabilityManager(p->ctx, prov_cb, r); break;
    }
    pthread_mutex_lock(&r->mu);
    p->cb_calls_at_return[op] = r->calls;
    p->cb_ret[op] = r->ret;
    pthread_mutex_unlock(&r->mu);
  }
  /* another manager is fine */
  p->other_rc = SdsWrapOutgoingMessage(p->other, "ok", 2, "o1", "c1", tu_result_cb, &p->other_res);
}

static void test_provider(void) {
  stage("(d) calls from inside the retrieval-hint provider");
  static prov_state p;
  memset(&p, 0, sizeof p);
  for (int i = 0; i < 6; i++) tu_result_init(&p.res[i]);
  tu_result_init(&p.other_res);
  p.ctx = new_mgr();
  p.other = new_mgr();
  SdsSetRetrievalHintProvider(p.ctx, reentering_provider, &p);
  size_t n;
  unsigned char *w1 = wrap(p.ctx, "p1", "p1", "c1", &n); /* no history: provider not called */
  CHECK_EQ_INT(p.calls, 0);
  free(w1);
  /* the outer wrap (history [p1]) calls the provider, which re-enters */
  tu_result outer;
  tu_result_init(&outer);
  CHECK_EQ_INT(SdsWrapOutgoingMessage(p.ctx, "p2", 2, "p2", "c1", tu_result_cb, &outer), RET_OK);
  CHECK(tu_wait(&outer, 1));
  CHECK_EQ_INT(outer.ret, RET_OK);
  CHECK_EQ_INT(p.calls, 1);
  static const char *names[6] = {"wrap", "unwrap", "mark", "reset", "start", "cleanup"};
  for (int op = 0; op < 6; op++) {
    if (p.rc[op] != RET_ERR || p.cb_calls_at_return[op] != 1 || p.cb_ret[op] != RET_ERR)
      fprintf(stderr, "provider re-entry %s: rc=%d callbacks at return=%d ret=%d\n", names[op], p.rc[op],
              p.cb_calls_at_return[op], p.cb_ret[op]);
    CHECK_EQ_INT(p.rc[op], RET_ERR);
    CHECK_EQ_INT(p.cb_calls_at_return[op], 1);
    CHECK_EQ_INT(p.cb_ret[op], RET_ERR);
    CHECK(p.res[op].msg && strncmp(p.res[op].msg, "libsds error: ", 14) == 0);
  }
  CHECK_EQ_INT(p.other_rc, RET_OK);
  CHECK(tu_wait(&p.other_res, 1));
  CHECK_EQ_INT(p.other_res.ret, RET_OK);
  compat_fence(p.ctx); /* no second result later */
  for (int op = 0; op < 6; op++) CHECK_EQ_INT(p.res[op].calls, 1);
  /* the refused cleanup did not clean up; the refused wrap did not happen:
     p3's history is [p1, p2], so the provider is asked twice more */
  SdsSetRetrievalHintProvider(p.ctx, NULL, NULL);
  /* decode: field 1 "p3", lamport, then exactly two history entries (0x1a) */
  size_t n3;
  unsigned char *w3 = wrap(p.ctx, "p3", "p3", "c1", &n3);
  size_t i = 5;
  while (i < n3 && (w3[i] & 0x80)) i++;
  i++;
  int entries = 0;
  while (i + 1 < n3 && w3[i] == 0x1a) {
    entries++;
    i += 2 + w3[i + 1];
  }
  CHECK_EQ_INT(entries, 2);
  free(w3);
  tu_result_destroy(&outer);
  for (int i2 = 0; i2 < 6; i2++) tu_result_destroy(&p.res[i2]);
  tu_result_destroy(&p.other_res);
  cleanup_mgr(p.ctx);
  cleanup_mgr(p.other);
}

int main(void) {
  watchdog_start("compat_reentry", 5);
  void *sender = new_mgr();
  test_result_callback(sender);
  test_event_callback(sender);
  test_cleanup_inside();
  test_provider();
  stage("final cleanup");
  cleanup_mgr(sender);
  watchdog_stop();
  return tu_done("compat_reentry");
}
