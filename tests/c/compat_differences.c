/* Compatible API, deliberate differences from nim-sds (ABI.md §1.5):
   - events are delivered with a NULL event userData (nim-sds 35a33ad dropped
     them: trace step 1117);
   - SdsStartPeriodicTasks is idempotent: one periodic_sync for the first
     start's start-up tick, none for a second start (nim-sds starts a second set
     of loops, whose first tick fires another periodic_sync);
   - a result buffer stays readable after its callback: the manager keeps its
     last 64 results alive (sds-go-bindings reads msg after the callback). */
#include "testutil.h"
#include "testcompat.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- events with a NULL userData ---- */

static int null_ud_events, null_ud_nonnull;
static char null_ud_last[256];
static void null_ud_event_cb(int ret, const char *msg, size_t len, void *ud) {
  pthread_mutex_lock(&mu);
  null_ud_events++;
  if (ud != NULL) null_ud_nonnull++;
  snprintf(null_ud_last, sizeof null_ud_last, "%d:%.*s", ret, (int)len, msg);
  pthread_mutex_unlock(&mu);
}

static void test_null_event_userdata(void) {
  void *a = new_mgr();
  void *e = new_mgr();
  SdsSetEventCallback(e, null_ud_event_cb, NULL);
  size_t n;
  unsigned char *m1 = wrap(a, "hello m1", "m1", "c1", &n);
  tu_result u;
  tu_result_init(&u);
  CHECK_EQ_INT(SdsUnwrapReceivedMessage(e, m1, n, tu_result_cb, &u), RET_OK);
  CHECK(tu_wait(&u, 1));
  CHECK_EQ_INT(u.ret, RET_OK);
  CHECK_STR(u.msg, "{\"message\":[104,101,108,108,111,32,109,49],\"channelId\":\"c1\",\"missingDeps\":[]}");
  /* the event precedes the result, so it has arrived */
  pthread_mutex_lock(&mu);
  CHECK_EQ_INT(null_ud_events, 1);
  CHECK_EQ_INT(null_ud_nonnull, 0);
  CHECK_STR(null_ud_last, "0:{\"messageId\":\"m1\",\"channelId\":\"c1\",\"eventType\":\"message_ready\"}");
  pthread_mutex_unlock(&mu);
  tu_result_destroy(&u);
  free(m1);
  cleanup_mgr(a);
  cleanup_mgr(e);
}

/* ---- SdsStartPeriodicTasks twice ---- */

static int syncs, other_events;
static void sync_event_cb(int ret, const char *msg, size_t len, void *ud) {
  (void)ud;
  pthread_mutex_lock(&mu);
  if (ret == RET_OK && len == strlen("{\"eventType\":\"periodic_sync\"}") &&
      memcmp(msg, "{\"eventType\":\"periodic_sync\"}", len) == 0)
    syncs++;
  else
    other_events++;
  pthread_mutex_unlock(&mu);
}

static int count_syncs(void) {
  pthread_mutex_lock(&mu);
  int n = syncs;
  pthread_mutex_unlock(&mu);
  return n;
}

static void test_start_twice(void) {
  void *b = new_mgr();
  SdsSetEventCallback(b, sync_event_cb, b);
  tu_result s1, s2, s3;
  tu_result_init(&s1);
  tu_result_init(&s2);
  tu_result_init(&s3);
  CHECK_EQ_INT(SdsStartPeriodicTasks(b, tu_result_cb, &s1), RET_OK);
  CHECK(tu_wait(&s1, 1));
  CHECK_EQ_INT(s1.ret, RET_OK);
  CHECK_EQ_INT(s1.len, 0);
  CHECK_STR(s1.msg, "");
  /* the start-up tick's periodic_sync precedes the start result */
  CHECK_EQ_INT(count_syncs(), 1);

  CHECK_EQ_INT(SdsStartPeriodicTasks(b, tu_result_cb, &s2), RET_OK);
  CHECK(tu_wait(&s2, 1));
  CHECK_EQ_INT(s2.ret, RET_OK);
  CHECK_STR(s2.msg, "");
  CHECK_EQ_INT(count_syncs(), 1); /* nim-sds: 2 (a second set of loops) */
  CHECK_EQ_INT(SdsStartPeriodicTasks(b, tu_result_cb, &s3), RET_OK);
  CHECK(tu_wait(&s3, 1));
  compat_fence(b); /* a second first-round sync would have come before */
  CHECK_EQ_INT(count_syncs(), 1);
  CHECK_EQ_INT(s1.calls, 1);
  CHECK_EQ_INT(s2.calls, 1);
  CHECK_EQ_INT(s3.calls, 1);
  CHECK_EQ_INT(other_events, 0);
  tu_result_destroy(&s1);
  tu_result_destroy(&s2);
  tu_result_destroy(&s3);
  cleanup_mgr(b);
  tu_sleep_ms(50); /* not synchronisation: no fence exists once a manager is cleaned up (ctx is gone), so a late callback is given this long to show */
  CHECK_EQ_INT(count_syncs(), 1);
}

/* ---- result buffers outlive their callbacks ---- */

static void test_result_lifetime(void) {
  void *a = new_mgr();
  void *b = new_mgr();
  tu_result first;
  tu_result_init(&first);
  CHECK_EQ_INT(SdsWrapOutgoingMessage(a, "keep me", 7, "k1", "c1", tu_result_cb, &first), RET_OK);
  CHECK(tu_wait(&first, 1));
  CHECK_EQ_INT(first.ret, RET_OK);
  const char *kept = first.raw;
  size_t kept_len = first.len;
  char *copy = malloc(kept_len + 1);
  memcpy(copy, first.msg, kept_len + 1);

  /* 10 more calls with non-empty results on the same manager (and some other
     kinds), each waited for */
  size_t n;
  unsigned char *wires[5];
  size_t lens[5];
  for (int i = 0; i < 5; i++) {
    char id[8];
    snprintf(id, sizeof id, "k%d", i + 2);
    wires[i] = wrap(a, "more", id, "c1", &lens[i]);
  }
  unsigned char *other = wrap(b, "from b", "b1", "c1", &n);
  for (int i = 0; i < 5; i++) {
    tu_result u;
    tu_result_init(&u);
    CHECK_EQ_INT(SdsUnwrapReceivedMessage(a, i == 0 ? other : wires[i], i == 0 ? n : lens[i], tu_result_cb, &u),
                 RET_OK);
    CHECK(tu_wait(&u, 1));
    CHECK_EQ_INT(u.ret, RET_OK);
    tu_result_destroy(&u);
  }
  tu_result rs;
  tu_result_init(&rs);
  CHECK_EQ_INT(SdsResetReliabilityManager(a, tu_result_cb, &rs), RET_OK);
  CHECK(tu_wait(&rs, 1));
  tu_result_destroy(&rs);

  /* the old pointer still holds the same bytes, NUL-terminated */
  CHECK(memcmp(kept, copy, kept_len + 1) == 0);
  CHECK(kept[kept_len] == 0);
  unsigned char *wire = malloc(kept_len / 2 + 1);
  size_t wl = tu_parse_csv(kept, kept_len, wire);
  CHECK(wl > 4 && wire[0] == 0x0a && wire[1] == 2 && memcmp(wire + 2, "k1", 2) == 0);

  free(wire);
  free(copy);
  free(other);
  for (int i = 0; i < 5; i++) free(wires[i]);
  tu_result_destroy(&first);
  cleanup_mgr(a);
  cleanup_mgr(b);
}

int main(void) {
  test_null_event_userdata();
  test_start_twice();
  test_result_lifetime();
  return tu_done("compat_differences");
}
