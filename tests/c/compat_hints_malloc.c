/* Compatible API, deliberate difference (ABI.md §1.5, §2.3): the retrieval-hint
   provider returns malloc'd buffers and the library releases them with free().
   nim-sds released them with its own allocator and crashed at the second
   provider call (trace probe hint-malloc). Manager P wraps h1..h40 on c4 with a
   provider that returns malloc'd "hint:"+id (exact length, no NUL); ASan and
   LeakSanitizer must see no error and no leak. The hints reach the wire: Q
   unwraps h2 without h1 and reports h1 with retrievalHint base64("hint:h1"). */
#include "testutil.h"
#include "testcompat.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int provider_calls;
static int provider_bad_args;
static int provider_wrong_ud;
static char provider_ud_tag;

static void hint_provider(const char *id, char **hint, size_t *hint_len, void *ud) {
  pthread_mutex_lock(&mu);
  provider_calls++;
  if (ud != &provider_ud_tag) provider_wrong_ud++;
  if (!id || !hint || !hint_len || *hint != NULL || *hint_len != 0) provider_bad_args++;
  pthread_mutex_unlock(&mu);
  if (!id || !hint || !hint_len) return;
  size_t n = strlen(id);
  char *b = malloc(5 + n); /* exact length: no room for a NUL */
  memcpy(b, "hint:", 5);
  memcpy(b + 5, id, n);
  *hint = b;
  *hint_len = 5 + n;
}

/* Returns a malloc'd buffer but a length of 0: the library still owns (and
   frees) the buffer, and the entry has no hint. */
static int zero_len_calls;
static void hint_provider_zero_len(const char *id, char **hint, size_t *hint_len, void *ud) {
  (void)id, (void)ud;
  pthread_mutex_lock(&mu);
  zero_len_calls++;
  pthread_mutex_unlock(&mu);
  *hint = malloc(16);
  memcpy(*hint, "ignored-ignored", 16);
  *hint_len = 0;
}

/* Q's events */
static int q_events;
static char *q_last_event;
static void q_event_cb(int ret, const char *msg, size_t len, void *ud) {
  (void)ud;
  pthread_mutex_lock(&mu);
  q_events++;
  free(q_last_event);
  q_last_event = malloc(len + 16);
  snprintf(q_last_event, len + 16, "%d:%.*s", ret, (int)len, msg);
  pthread_mutex_unlock(&mu);
}

/* new_mgr and cleanup_mgr (testcompat.h) use tu_result_cb, which mallocs a copy of every
   result on the library thread, as the hint-malloc probe's callback did (that made nim-sds
   crash sooner). */
int main(void) {
  void *p = new_mgr();
  void *q = new_mgr();
  SdsSetRetrievalHintProvider(p, hint_provider, &provider_ud_tag);
  SdsSetEventCallback(q, q_event_cb, q);

  unsigned char *h2_wire = NULL;
  size_t h2_len = 0;
  int expected_calls = 0;
  for (int i = 1; i <= 40; i++) {
    char id[16], content[32];
    snprintf(id, sizeof id, "h%d", i);
    snprintf(content, sizeof content, "h%d body", i);
    tu_result r;
    tu_result_init(&r);
    CHECK_EQ_INT(SdsWrapOutgoingMessage(p, content, strlen(content), id, "c4", tu_result_cb, &r), RET_OK);
    CHECK(tu_wait(&r, 1));
    CHECK_EQ_INT(r.ret, RET_OK);
    if (i == 2) {
      h2_wire = malloc(r.len / 2 + 1);
      h2_len = tu_parse_csv(r.msg, r.len, h2_wire);
    }
    tu_result_destroy(&r);
    /* once per causal-history entry (the last min(i-1, 10) messages) */
    expected_calls += i - 1 < 10 ? i - 1 : 10;
    pthread_mutex_lock(&mu);
    int calls = provider_calls;
    pthread_mutex_unlock(&mu);
    if (calls != expected_calls) {
      fprintf(stderr, "after wrap h%d: provider_calls=%d, expected %d\n", i, calls, expected_calls);
      CHECK_EQ_INT(calls, expected_calls);
      expected_calls = calls;
    }
  }
  CHECK_EQ_INT(provider_calls, 345); /* as many as in nim-sds's hint-malloc-quiet probe */
  CHECK_EQ_INT(provider_bad_args, 0);
  CHECK_EQ_INT(provider_wrong_ud, 0);

  /* The hint travelled on the wire: Q gets h2 without h1. */
  CHECK(h2_wire != NULL);
  tu_result u;
  tu_result_init(&u);
  CHECK_EQ_INT(SdsUnwrapReceivedMessage(q, h2_wire, h2_len, tu_result_cb, &u), RET_OK);
  CHECK(tu_wait(&u, 1));
  CHECK_EQ_INT(u.ret, RET_OK);
  CHECK_STR(u.msg,
            "{\"message\":[104,50,32,98,111,100,121],\"channelId\":\"c4\",\"missingDeps\":"
            "[{\"messageId\":\"h1\",\"retrievalHint\":\"aGludDpoMQ==\"}]}");
  pthread_mutex_lock(&mu);
  CHECK_EQ_INT(q_events, 1);
  CHECK_STR(q_last_event,
            "0:{\"eventType\":\"missing_dependencies\",\"messageId\":\"h2\",\"channelId\":\"c4\","
            "\"missingDeps\":[{\"messageId\":\"h1\",\"retrievalHint\":\"aGludDpoMQ==\"}]}");
  pthread_mutex_unlock(&mu);
  tu_result_destroy(&u);

  /* A malloc'd buffer with length 0: freed by the library (LeakSanitizer
     would report it otherwise), and the entry carries no hint. */
  void *z = new_mgr();
  SdsSetRetrievalHintProvider(z, hint_provider_zero_len, NULL);
  unsigned char *z2_wire = NULL;
  size_t z2_len = 0;
  for (int i = 1; i <= 2; i++) {
    char id[8];
    snprintf(id, sizeof id, "z%d", i);
    tu_result r;
    tu_result_init(&r);
    CHECK_EQ_INT(SdsWrapOutgoingMessage(z, "zz", 2, id, "c9", tu_result_cb, &r), RET_OK);
    CHECK(tu_wait(&r, 1));
    CHECK_EQ_INT(r.ret, RET_OK);
    if (i == 2) {
      z2_wire = malloc(r.len / 2 + 1);
      z2_len = tu_parse_csv(r.msg, r.len, z2_wire);
    }
    tu_result_destroy(&r);
  }
  CHECK_EQ_INT(zero_len_calls, 1);
  tu_result u2;
  tu_result_init(&u2);
  CHECK_EQ_INT(SdsUnwrapReceivedMessage(q, z2_wire, z2_len, tu_result_cb, &u2), RET_OK);
  CHECK(tu_wait(&u2, 1));
  CHECK_STR(u2.msg,
            "{\"message\":[122,122],\"channelId\":\"c9\",\"missingDeps\":"
            "[{\"messageId\":\"z1\",\"retrievalHint\":\"\"}]}");
  tu_result_destroy(&u2);

  /* Removing the provider: no more calls. */
  SdsSetRetrievalHintProvider(p, NULL, NULL);
  tu_result r;
  tu_result_init(&r);
  CHECK_EQ_INT(SdsWrapOutgoingMessage(p, "h41", 3, "h41", "c4", tu_result_cb, &r), RET_OK);
  CHECK(tu_wait(&r, 1));
  CHECK_EQ_INT(r.ret, RET_OK);
  CHECK_EQ_INT(provider_calls, 345);
  tu_result_destroy(&r);

  cleanup_mgr(p);
  cleanup_mgr(q);
  cleanup_mgr(z);
  free(h2_wire);
  free(z2_wire);
  free(q_last_event);
  return tu_done("compat_hints_malloc");
}
