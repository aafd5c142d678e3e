/* Compatible API, deliberate difference (ABI.md §1.5): a NULL, garbage or
   cleaned-up ctx never crashes. Every int-returning Sds* function calls its
   callback exactly once, synchronously on the caller's thread, with RET_ERR and
   exactly "libsds error: invalid context", and returns RET_ERR; with a NULL
   callback it returns RET_ERR and calls nothing. The two void setters are
   harmless no-ops on such a ctx. (nim-sds 35a33ad segfaults on a NULL ctx:
   trace probe null-ctx.) */
#include "testutil.h"
#include "testcompat.h"

static const char invalid_text[] = "libsds error: invalid context";

/* Counts every call of a callback that must never be called. */
static pthread_mutex_t never_mu = PTHREAD_MUTEX_INITIALIZER;
static int never_calls;
static void never_cb(int ret, const char *msg, size_t len, void *ud) {
  (void)ret, (void)msg, (void)len, (void)ud;
  pthread_mutex_lock(&never_mu);
  never_calls++;
  pthread_mutex_unlock(&never_mu);
}
static void never_hint(const char *id, char **hint, size_t *hint_len, void *ud) {
  (void)id, (void)hint, (void)hint_len, (void)ud;
  pthread_mutex_lock(&never_mu);
  never_calls++;
  pthread_mutex_unlock(&never_mu);
}

/* A live manager's event log, to show the setters on bad contexts change nothing. */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static int live_events;
static char live_last[256];
static void live_event_cb(int ret, const char *msg, size_t len, void *ud) {
  (void)ud;
  pthread_mutex_lock(&live_mu);
  live_events++;
  snprintf(live_last, sizeof live_last, "%d:%.*s", ret, (int)len, msg);
  pthread_mutex_unlock(&live_mu);
}

enum { OP_CLEANUP, OP_RESET, OP_WRAP, OP_UNWRAP, OP_MARK, OP_START, OP_COUNT };
static const char *op_names[OP_COUNT] = {"cleanup", "reset", "wrap", "unwrap", "mark", "start"};

static int call_op(int op, void *ctx, SdsCallBack cb, void *ud) {
  static char content[] = "hello";
  static unsigned char garbage[] = {0x0a, 0x01, 0x78};
  char *ids[] = {"m1"};
  switch (op) {
  case OP_CLEANUP: return SdsCleanupReliabilityManager(ctx, cb, ud);
  case OP_RESET: return SdsResetReliabilityManager(ctx, cb, ud);
  case OP_WRAP: return SdsWrapOutgoingMessage(ctx, content, 5, "m1", "c1", cb, ud);
  case OP_UNWRAP: return SdsUnwrapReceivedMessage(ctx, garbage, sizeof garbage, cb, ud);
  case OP_MARK: return SdsMarkDependenciesMet(ctx, ids, 1, "c1", cb, ud);
  case OP_START: return SdsStartPeriodicTasks(ctx, cb, ud);
  }
  return -1;
}

/* Every int-returning function on ctx: one synchronous invalid-context
   callback, RET_ERR; with a NULL callback, RET_ERR and no call. */
static void check_invalid(void *ctx, const char *what) {
  for (int op = 0; op < OP_COUNT; op++) {
    rec x;
    tu_result_init(&x.r);
    int rc = call_op(op, ctx, rec_cb, &x);
    /* synchronous: already called when the function returns */
    pthread_mutex_lock(&x.r.mu);
    int calls_at_return = x.r.calls;
    pthread_mutex_unlock(&x.r.mu);
    if (rc != RET_ERR || calls_at_return != 1) {
      fprintf(stderr, "ctx %s, %s: rc=%d, callbacks at return=%d\n", what, op_names[op], rc, calls_at_return);
    }
    CHECK_EQ_INT(rc, RET_ERR);
    CHECK_EQ_INT(calls_at_return, 1);
    if (calls_at_return == 1) {
      CHECK_EQ_INT(x.r.ret, RET_ERR);
      CHECK_STR(x.r.msg, invalid_text);
      CHECK_EQ_INT(x.r.len, sizeof invalid_text - 1);
      CHECK(pthread_equal(x.thr, pthread_self()));
      CHECK(x.r.raw != NULL);
    }
    /* no late second callback */
    tu_sleep_ms(20); /* not synchronisation: no fence exists for an invalid ctx; the window for a wrong second callback */
    CHECK_EQ_INT(x.r.calls, 1);
    tu_result_destroy(&x.r);

    /* NULL callback: RET_ERR, nothing called (there is nothing that could be) */
    rc = call_op(op, ctx, NULL, NULL);
    CHECK_EQ_INT(rc, RET_ERR);
  }
  /* The void setters are harmless no-ops. */
  SdsSetEventCallback(ctx, never_cb, &never_calls);
  SdsSetEventCallback(ctx, NULL, NULL);
  SdsSetEventCallback(ctx, never_cb, NULL);
  SdsSetRetrievalHintProvider(ctx, never_hint, &never_calls);
  SdsSetRetrievalHintProvider(ctx, NULL, NULL);
  SdsSetRetrievalHintProvider(ctx, never_hint, NULL);
}

int main(void) {
  /* A live manager throughout, to show nothing leaks into it. */
  tu_result created;
  tu_result_init(&created);
  void *live = SdsNewReliabilityManager(tu_result_cb, &created);
  CHECK(live != NULL);
  CHECK(tu_wait(&created, 1));
  CHECK_EQ_INT(created.ret, RET_OK);
  SdsSetEventCallback(live, live_event_cb, &live_events);

  /* NULL */
  check_invalid(NULL, "NULL");
  /* garbage values */
  check_invalid((void *)0x1234, "0x1234");
  int local = 42;
  check_invalid(&local, "&local");
  CHECK_EQ_INT(local, 42); /* never written through */
  long long big_local[4] = {0, 0, 0, 0};
  check_invalid(&big_local[1], "&big_local[1]");
  CHECK(big_local[0] == 0 && big_local[1] == 0 && big_local[2] == 0 && big_local[3] == 0);
  check_invalid((void *)~(uintptr_t)0, "~0");
  /* an odd offset from a live context is not the live context */
  check_invalid((char *)live + 1, "live+1");

  /* a cleaned-up context */
  tu_result c2;
  tu_result_init(&c2);
  void *dead = SdsNewReliabilityManager(tu_result_cb, &c2);
  CHECK(dead != NULL);
  CHECK(tu_wait(&c2, 1));
  tu_result cl;
  tu_result_init(&cl);
  CHECK_EQ_INT(SdsCleanupReliabilityManager(dead, tu_result_cb, &cl), RET_OK);
  CHECK(tu_wait(&cl, 1));
  CHECK_EQ_INT(cl.ret, RET_OK);
  check_invalid(dead, "cleaned-up");

  /* The live manager still works, with its own event callback: none of the
     setters above touched it, and no never_* function was ever called. */
  size_t wire_len;
  free(wrap(live, "hi", "x1", "c1", &wire_len));
  /* a message from another manager gives the live one a message_ready event */
  tu_result c3;
  tu_result_init(&c3);
  void *sender = SdsNewReliabilityManager(tu_result_cb, &c3);
  CHECK(tu_wait(&c3, 1));
  size_t wire2_len;
  unsigned char *wire2 = wrap(sender, "yo", "s1", "c1", &wire2_len);
  tu_result u;
  tu_result_init(&u);
  CHECK_EQ_INT(SdsUnwrapReceivedMessage(live, wire2, wire2_len, tu_result_cb, &u), RET_OK);
  CHECK(tu_wait(&u, 1));
  CHECK_EQ_INT(u.ret, RET_OK);
  pthread_mutex_lock(&live_mu);
  CHECK_EQ_INT(live_events, 1);
  CHECK_STR(live_last, "0:{\"messageId\":\"s1\",\"channelId\":\"c1\",\"eventType\":\"message_ready\"}");
  pthread_mutex_unlock(&live_mu);

  compat_fence(live);
  pthread_mutex_lock(&never_mu);
  CHECK_EQ_INT(never_calls, 0);
  pthread_mutex_unlock(&never_mu);

  tu_result e1, e2;
  tu_result_init(&e1);
  tu_result_init(&e2);
  CHECK_EQ_INT(SdsCleanupReliabilityManager(live, tu_result_cb, &e1), RET_OK);
  CHECK_EQ_INT(SdsCleanupReliabilityManager(sender, tu_result_cb, &e2), RET_OK);
  CHECK(tu_wait(&e1, 1));
  CHECK(tu_wait(&e2, 1));
  check_invalid(live, "live after cleanup");

  free(wire2);
  tu_result_destroy(&created);
  tu_result_destroy(&c2);
  tu_result_destroy(&c3);
  tu_result_destroy(&cl);
  tu_result_destroy(&u);
  tu_result_destroy(&e1);
  tu_result_destroy(&e2);
  return tu_done("compat_invalid_ctx");
}
