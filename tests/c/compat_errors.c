/* Compatible API errors, exactly as nim-sds 35a33ad (ABI.md §2.2, §2.3;
   trace section 10-errors):
   - argument validation: callback on the caller's thread inside the call,
     RET_ERR, the exact nim text, return RET_ERR (checks in nim's order);
   - processing errors: return RET_OK, then one result callback (from the
     caller's thread inside the call, or with LIBSDS_CALLER_DELIVERS=0 from a
     library thread) with RET_ERR and "libsds error: handleRes fireSyncRes error: error
     processing <OP> request: <reError>"; the 1 MiB content limit; 16 MiB + 1
     input is an error, not a crash;
   - a NULL callback: RET_MISSING_CALLBACK (2) from every int-returning
     function, nothing done; SdsNewReliabilityManager(NULL, x) is NULL. */
#include "testutil.h"
#include "testcompat.h"

#define PREFIX "libsds error: handleRes fireSyncRes error: error processing "

/* After a call that failed validation: rc RET_ERR, exactly one callback,
   already made, on this thread, with RET_ERR and text. */
static void expect_sync(void *ctx, const char *what, int rc, rec *x, const char *text) {
  pthread_mutex_lock(&x->r.mu);
  int calls = x->r.calls;
  pthread_mutex_unlock(&x->r.mu);
  if (rc != RET_ERR || calls != 1) fprintf(stderr, "%s: rc=%d calls=%d\n", what, rc, calls);
  CHECK_EQ_INT(rc, RET_ERR);
  CHECK_EQ_INT(calls, 1);
  if (calls == 1) {
    CHECK_EQ_INT(x->r.ret, RET_ERR);
    CHECK_STR(x->r.msg, text);
    CHECK_EQ_INT(x->r.len, strlen(text));
    CHECK(pthread_equal(x->thr, pthread_self()));
  }
  compat_fence(ctx); /* no second callback later */
  CHECK_EQ_INT(x->r.calls, 1);
  tu_result_destroy(&x->r);
}

/* After a call that fails in processing: RET_OK, then one result callback
   with RET_ERR and text, on the thread caller delivery says. */
static void expect_async(void *ctx, const char *what, int rc, rec *x, const char *text) {
  if (rc != RET_OK) fprintf(stderr, "%s: rc=%d\n", what, rc);
  CHECK_EQ_INT(rc, RET_OK);
  if (rc == RET_OK) {
    CHECK(tu_wait(&x->r, 1));
    CHECK_EQ_INT(x->r.ret, RET_ERR);
    if (!x->r.msg || strcmp(x->r.msg, text) != 0)
      fprintf(stderr, "%s:\n  got  %s\n  want %s\n", what, x->r.msg ? x->r.msg : "(none)", text);
    CHECK_STR(x->r.msg, text);
    CHECK_EQ_INT(x->r.len, strlen(text));
    CHECK(!!pthread_equal(x->thr, pthread_self()) == tu_caller_delivers());
    compat_fence(ctx); /* no second callback later */
    CHECK_EQ_INT(x->r.calls, 1);
  }
  tu_result_destroy(&x->r);
}

static rec *fresh(rec *x) {
  tu_result_init(&x->r);
  return x;
}

static void test_validation(void *a) {
  rec x;
  char *ids[] = {"x1"};
  /* wrap */
  expect_sync(a, "wrap NULL message, len 5", SdsWrapOutgoingMessage(a, NULL, 5, "err3", "c1", rec_cb, fresh(&x)), &x,
              "libsds error: message pointer is NULL but length > 0");
  expect_sync(a, "wrap NULL id", SdsWrapOutgoingMessage(a, "x", 1, NULL, "c1", rec_cb, fresh(&x)), &x,
              "libsds error: message ID pointer is NULL");
  expect_sync(a, "wrap NULL channel", SdsWrapOutgoingMessage(a, "x", 1, "err5", NULL, rec_cb, fresh(&x)), &x,
              "libsds error: channel ID pointer is NULL");
  expect_sync(a, "wrap empty channel", SdsWrapOutgoingMessage(a, "x", 1, "err4", "", rec_cb, fresh(&x)), &x,
              "libsds error: channel ID is empty string");
  /* nim's order: message, id, channel, empty channel */
  expect_sync(a, "wrap all bad", SdsWrapOutgoingMessage(a, NULL, 5, NULL, NULL, rec_cb, fresh(&x)), &x,
              "libsds error: message pointer is NULL but length > 0");
  expect_sync(a, "wrap id and channel bad", SdsWrapOutgoingMessage(a, "x", 1, NULL, "", rec_cb, fresh(&x)), &x,
              "libsds error: message ID pointer is NULL");
  /* unwrap */
  expect_sync(a, "unwrap NULL, len 4", SdsUnwrapReceivedMessage(a, NULL, 4, rec_cb, fresh(&x)), &x,
              "libsds error: message pointer is NULL but length > 0");
  /* mark */
  expect_sync(a, "mark NULL ids, count 1", SdsMarkDependenciesMet(a, NULL, 1, "c3", rec_cb, fresh(&x)), &x,
              "libsds error: MessageIDs pointer is NULL but count > 0");
  expect_sync(a, "mark NULL channel", SdsMarkDependenciesMet(a, ids, 1, NULL, rec_cb, fresh(&x)), &x,
              "libsds error: channel ID pointer is NULL");
  expect_sync(a, "mark empty channel", SdsMarkDependenciesMet(a, ids, 1, "", rec_cb, fresh(&x)), &x,
              "libsds error: channel ID is empty string");
  expect_sync(a, "mark NULL ids and channel", SdsMarkDependenciesMet(a, NULL, 2, NULL, rec_cb, fresh(&x)), &x,
              "libsds error: MessageIDs pointer is NULL but count > 0");
  expect_sync(a, "mark count 0, NULL channel", SdsMarkDependenciesMet(a, NULL, 0, NULL, rec_cb, fresh(&x)), &x,
              "libsds error: channel ID pointer is NULL");

  /* none of the rejected wraps happened: the next wrap has no causal history
     (id "ok1", channel "c1": 0x0a 3 'o' 'k' '1' 0x10 <lamport> then 0x22, not 0x1a) */
  size_t n;
  unsigned char *w = wrap(a, "x", "ok1", "c1", &n);
  size_t i = 6;
  while (i < n && (w[i] & 0x80)) i++; /* skip the lamport varint */
  i++;
  CHECK(n > 10 && w[4] == '1' && w[5] == 0x10);
  CHECK(i < n && w[i] == 0x22);
  free(w);
}

static void test_processing(void *a, void *b) {
  rec x;
  char *ids[] = {"x1"};
  /* wrap: empty content, with a pointer and with NULL */
  expect_async(a, "wrap empty", SdsWrapOutgoingMessage(a, "", 0, "err1", "c1", rec_cb, fresh(&x)), &x,
               PREFIX "WRAP_MESSAGE request: reInvalidArgument");
  expect_async(a, "wrap NULL, 0", SdsWrapOutgoingMessage(a, NULL, 0, "err2", "c1", rec_cb, fresh(&x)), &x,
               PREFIX "WRAP_MESSAGE request: reInvalidArgument");
  /* the 1 MiB content limit */
  size_t big = (size_t)1 << 20;
  char *content = malloc(big + 1);
  memset(content, 'a', big + 1);
  expect_async(a, "wrap 1 MiB + 1", SdsWrapOutgoingMessage(a, content, big + 1, "big1", "c8", rec_cb, fresh(&x)), &x,
               PREFIX "WRAP_MESSAGE request: reMessageTooLarge");
  tu_result r;
  tu_result_init(&r);
  CHECK_EQ_INT(SdsWrapOutgoingMessage(a, content, big, "big0", "c8", tu_result_cb, &r), RET_OK);
  free(content);
  CHECK(tu_wait(&r, 1));
  CHECK_EQ_INT(r.ret, RET_OK);
  unsigned char *w = malloc(r.len / 2 + 1);
  size_t n = tu_parse_csv(r.msg, r.len, w);
  CHECK(n > big);
  CHECK(n > 8 && w[0] == 0x0a && w[1] == 4 && memcmp(w + 2, "big0", 4) == 0);
  tu_result_destroy(&r);
  /* B unwraps the 1 MiB message: "message" lists 1048576 x 97 (trace step 78: 3145775 bytes) */
  tu_result u;
  tu_result_init(&u);
  CHECK_EQ_INT(SdsUnwrapReceivedMessage(b, w, n, tu_result_cb, &u), RET_OK);
  CHECK(tu_wait(&u, 1));
  CHECK_EQ_INT(u.ret, RET_OK);
  CHECK_EQ_INT(u.len, 3145775);
  if (u.len == 3145775) {
    CHECK(memcmp(u.msg, "{\"message\":[97,97,", 18) == 0);
    const char tail[] = "97,97],\"channelId\":\"c8\",\"missingDeps\":[]}";
    CHECK(memcmp(u.msg + u.len - (sizeof tail - 1), tail, sizeof tail - 1) == 0);
  }
  tu_result_destroy(&u);
  free(w);

  /* unwrap: garbage, empty, NULL with 0 */
  unsigned char garbage[] = {0xff, 0x01, 0x02, 0x03};
  expect_async(b, "unwrap garbage", SdsUnwrapReceivedMessage(b, garbage, sizeof garbage, rec_cb, fresh(&x)), &x,
               PREFIX "UNWRAP_MESSAGE request: reDeserializationError");
  expect_async(b, "unwrap empty", SdsUnwrapReceivedMessage(b, garbage, 0, rec_cb, fresh(&x)), &x,
               PREFIX "UNWRAP_MESSAGE request: reDeserializationError");
  expect_async(b, "unwrap NULL, 0", SdsUnwrapReceivedMessage(b, NULL, 0, rec_cb, fresh(&x)), &x,
               PREFIX "UNWRAP_MESSAGE request: reDeserializationError");
  /* hand-built: lamport field missing (trace 81) */
  unsigned char nolamport[] = {0x0a, 0x02, 0x6b, 0x32, 0x22, 0x02, 0x6b, 0x63, 0x2a, 0x01, 0x78};
  expect_async(b, "unwrap no lamport", SdsUnwrapReceivedMessage(b, nolamport, sizeof nolamport, rec_cb, fresh(&x)), &x,
               PREFIX "UNWRAP_MESSAGE request: reDeserializationError");
  /* causal history as the plain id "msg-1" (trace 82): nim-sds 0.3 refuses it;
     a deliberate difference: it is the 0.4 layout, read as such */
  unsigned char legacy[] = {0x0a, 0x02, 0x6b, 0x33, 0x10, 0x01, 0x1a, 0x05, 0x6d, 0x73,
                            0x67, 0x2d, 0x31, 0x22, 0x02, 0x6b, 0x63, 0x2a, 0x01, 0x78};
  tu_result_init(&u);
  CHECK_EQ_INT(SdsUnwrapReceivedMessage(b, legacy, sizeof legacy, tu_result_cb, &u), RET_OK);
  CHECK(tu_wait(&u, 1));
  CHECK_EQ_INT(u.ret, RET_OK);
  CHECK_STR(u.msg, "{\"message\":[120],\"channelId\":\"kc\",\"missingDeps\":[{\"messageId\":\"msg-1\",\"retrievalHint\":\"\"}]}");
  tu_result_destroy(&u);

  /* 16 MiB + 1 bytes: an error, not a crash. A valid-looking message with a
     16 MiB content field, so only the size can make it fail. */
  size_t huge = ((size_t)16 << 20) + 1;
  unsigned char *h = malloc(huge);
  memset(h, 'a', huge);
  static const unsigned char head[] = {0x0a, 0x02, 'h', 'g', 0x10, 0x01, 0x22, 0x02, 'h', 'c', 0x2a};
  memcpy(h, head, sizeof head);
  size_t clen = huge - sizeof head - 4; /* 4-byte varint length follows */
  h[sizeof head + 0] = (unsigned char)(0x80 | (clen & 0x7f));
  h[sizeof head + 1] = (unsigned char)(0x80 | ((clen >> 7) & 0x7f));
  h[sizeof head + 2] = (unsigned char)(0x80 | ((clen >> 14) & 0x7f));
  h[sizeof head + 3] = (unsigned char)((clen >> 21) & 0x7f);
  rec xh;
  int rc = SdsUnwrapReceivedMessage(b, h, huge, rec_cb, fresh(&xh));
  free(h); /* the library must not read the input after the call */
  CHECK_EQ_INT(rc, RET_OK);
  CHECK(tu_wait(&xh.r, 1));
  CHECK_EQ_INT(xh.r.ret, RET_ERR);
  CHECK(xh.r.msg && strncmp(xh.r.msg, PREFIX "UNWRAP_MESSAGE request: ", strlen(PREFIX "UNWRAP_MESSAGE request: ")) == 0);
  tu_result_destroy(&xh.r);

  /* mark: an unknown channel */
  expect_async(b, "mark unknown channel", SdsMarkDependenciesMet(b, ids, 1, "nochan", rec_cb, fresh(&x)), &x,
               PREFIX "MARK_DEPENDENCIES_MET request: reInvalidArgument");

  /* not errors: count 0 with NULL ids; a NULL element; an empty id */
  for (int k = 0; k < 3; k++) {
    char *nul[] = {NULL};
    char *empty[] = {""};
    tu_result m;
    tu_result_init(&m);
    int mrc = k == 0   ? SdsMarkDependenciesMet(b, NULL, 0, "c8", tu_result_cb, &m)
              : k == 1 ? SdsMarkDependenciesMet(b, nul, 1, "c8", tu_result_cb, &m)
                       : SdsMarkDependenciesMet(b, empty, 1, "c8", tu_result_cb, &m);
    CHECK_EQ_INT(mrc, RET_OK);
    CHECK(tu_wait(&m, 1));
    CHECK_EQ_INT(m.ret, RET_OK);
    CHECK_STR(m.msg, "");
    tu_result_destroy(&m);
  }
  /* the managers still work */
  tu_result ok;
  tu_result_init(&ok);
  CHECK_EQ_INT(SdsWrapOutgoingMessage(b, "fine", 4, "fine", "c1", tu_result_cb, &ok), RET_OK);
  CHECK(tu_wait(&ok, 1));
  CHECK_EQ_INT(ok.ret, RET_OK);
  tu_result_destroy(&ok);
}

/* Must never be called. */
static int stray_calls;
static pthread_mutex_t stray_mu = PTHREAD_MUTEX_INITIALIZER;
static void stray_event(int ret, const char *msg, size_t len, void *ud) {
  (void)ret, (void)msg, (void)len, (void)ud;
  pthread_mutex_lock(&stray_mu);
  stray_calls++;
  pthread_mutex_unlock(&stray_mu);
}

static void test_missing_callback(void *a, void *b) {
  /* the sender's m1, for the unwrap */
  size_t n;
  unsigned char *w = wrap(a, "hello", "nc1", "cn", &n);

  SdsSetEventCallback(b, stray_event, b);
  char *ids[] = {"nc1"};
  CHECK_EQ_INT(SdsWrapOutgoingMessage(b, "x", 1, "nocb", "cn", NULL, NULL), RET_MISSING_CALLBACK);
  CHECK_EQ_INT(SdsUnwrapReceivedMessage(b, w, n, NULL, NULL), RET_MISSING_CALLBACK);
  CHECK_EQ_INT(SdsMarkDependenciesMet(b, ids, 1, "cn", NULL, NULL), RET_MISSING_CALLBACK);
  CHECK_EQ_INT(SdsResetReliabilityManager(b, NULL, NULL), RET_MISSING_CALLBACK);
  CHECK_EQ_INT(SdsStartPeriodicTasks(b, NULL, NULL), RET_MISSING_CALLBACK);
  CHECK_EQ_INT(SdsCleanupReliabilityManager(b, NULL, NULL), RET_MISSING_CALLBACK);
  /* NULL callback is checked before validation, as in nim-sds */
  CHECK_EQ_INT(SdsWrapOutgoingMessage(b, NULL, 5, NULL, NULL, NULL, NULL), RET_MISSING_CALLBACK);
  CHECK_EQ_INT(SdsUnwrapReceivedMessage(b, NULL, 5, NULL, NULL), RET_MISSING_CALLBACK);
  CHECK_EQ_INT(SdsMarkDependenciesMet(b, NULL, 3, NULL, NULL, NULL), RET_MISSING_CALLBACK);
  /* with a userData too */
  CHECK_EQ_INT(SdsWrapOutgoingMessage(b, "x", 1, "nocb2", "cn", NULL, b), RET_MISSING_CALLBACK);

  /* nothing happened: no event (no unwrap, no periodic_sync), b is alive and
     unwrapping nc1 now is new (message_ready), not a duplicate */
  compat_fence(b);
  pthread_mutex_lock(&stray_mu);
  CHECK_EQ_INT(stray_calls, 0);
  pthread_mutex_unlock(&stray_mu);
  tu_result u;
  tu_result_init(&u);
  CHECK_EQ_INT(SdsUnwrapReceivedMessage(b, w, n, tu_result_cb, &u), RET_OK);
  CHECK(tu_wait(&u, 1));
  CHECK_EQ_INT(u.ret, RET_OK);
  tu_result_destroy(&u);
  pthread_mutex_lock(&stray_mu);
  CHECK_EQ_INT(stray_calls, 1);
  pthread_mutex_unlock(&stray_mu);
  SdsSetEventCallback(b, NULL, NULL);
  free(w);

  /* SdsNewReliabilityManager(NULL, x) is NULL */
  int dummy;
  CHECK(SdsNewReliabilityManager(NULL, &dummy) == NULL);
  CHECK(SdsNewReliabilityManager(NULL, NULL) == NULL);
}

int main(void) {
  void *a = new_mgr();
  void *b = new_mgr();
  test_validation(a);
  test_processing(a, b);
  test_missing_callback(a, b);
  cleanup_mgr(a);
  cleanup_mgr(b);
  return tu_done("compat_errors");
}
