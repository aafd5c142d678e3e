/* Compatible API payloads, byte for byte as nim-sds 35a33ad (ABI.md §2.3,
   §2.4; trace-nim-sds.jsonl):
   - wrap result: the wire bytes as comma-separated decimals, no spaces, no
     leading zeros, no trailing comma;
   - unwrap result: {"message":[...],"channelId":"...","missingDeps":[...]};
   - events: message_ready, message_sent (ack through causal history),
     missing_dependencies (retrievalHint ""), periodic_sync;
   - Nim escapeJson for ids and channels with " \ newline tab 0x01 <& é and
     \b 0x0B \f \r 0x0E 0x1F 0x7F / > U+2028 (trace steps 96-100). */
#include "testutil.h"
#include "testcompat.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* Per-manager event log. */
typedef struct {
  int n;
  char *ev[64];
  size_t len[64];
  int bad; /* an event with ret != RET_OK, or msg[len] != 0 */
} evlog;

static void ev_cb(int ret, const char *msg, size_t len, void *ud) {
  evlog *l = ud;
  pthread_mutex_lock(&mu);
  if (ret != RET_OK || msg == NULL || msg[len] != 0) l->bad++;
  if (l->n < 64 && msg) {
    l->ev[l->n] = malloc(len + 1);
    memcpy(l->ev[l->n], msg, len + 1);
    l->len[l->n] = len;
    l->n++;
  }
  pthread_mutex_unlock(&mu);
}

static void evlog_free(evlog *l) {
  for (int i = 0; i < l->n; i++) free(l->ev[i]);
  l->n = 0;
}

/* Checks that l's events from index `from` are exactly want[] (NULL-ended). */
static void check_events(const char *what, evlog *l, int from, const char **want) {
  pthread_mutex_lock(&mu);
  int k = 0;
  for (; want[k]; k++) {
    if (from + k >= l->n) {
      fprintf(stderr, "%s: event %d missing: %s\n", what, k, want[k]);
      tu_failures++;
      break;
    }
    const char *got = l->ev[from + k];
    if (l->len[from + k] != strlen(want[k]) || memcmp(got, want[k], l->len[from + k]) != 0) {
      fprintf(stderr, "%s: event %d\n  got  %s\n  want %s\n", what, k, got, want[k]);
      tu_failures++;
    }
  }
  if (from + k < l->n && want[k] == NULL) {
    fprintf(stderr, "%s: %d unexpected extra event(s), first: %s\n", what, l->n - from - k, l->ev[from + k]);
    tu_failures++;
  }
  CHECK_EQ_INT(l->bad, 0);
  pthread_mutex_unlock(&mu);
}

static int evcount(evlog *l) {
  pthread_mutex_lock(&mu);
  int n = l->n;
  pthread_mutex_unlock(&mu);
  return n;
}

/* Creates a manager (checking its empty RET_OK result) whose events go to l, if given. */
static void *new_logged_mgr(evlog *l) {
  void *ctx = new_mgr();
  if (l) SdsSetEventCallback(ctx, ev_cb, l);
  return ctx;
}

/* Is s[0..n) the canonical CSV form of some bytes: decimals 0..255 without
   leading zeros, separated by single commas, no spaces, no trailing comma? */
static int csv_canonical(const char *s, size_t n) {
  if (n == 0) return 0;
  size_t i = 0;
  for (;;) {
    size_t start = i;
    unsigned v = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') v = v * 10 + (unsigned)(s[i++] - '0');
    size_t digits = i - start;
    if (digits == 0 || digits > 3 || v > 255) return 0;
    if (digits > 1 && s[start] == '0') return 0;
    if (i == n) return 1;
    if (s[i] != ',') return 0;
    i++;
    if (i == n) return 0; /* trailing comma */
  }
}

/* Wraps; checks the CSV form and that it decodes as an SDS message with this
   id (field 1 first: 0x0a, length, id bytes; then the lamport tag 0x10). */
static unsigned char *wrap_checked(void *ctx, const void *content, size_t clen, const char *id, const char *ch,
                                   size_t *n) {
  tu_result r;
  tu_result_init(&r);
  CHECK_EQ_INT(SdsWrapOutgoingMessage(ctx, (void *)content, clen, id, ch, tu_result_cb, &r), RET_OK);
  CHECK(tu_wait(&r, 1));
  CHECK_EQ_INT(r.ret, RET_OK);
  CHECK(r.msg != NULL && strlen(r.msg) == r.len);
  CHECK(csv_canonical(r.msg, r.len));
  unsigned char *w = malloc(r.len / 2 + 1);
  *n = tu_parse_csv(r.msg, r.len, w);
  size_t idlen = strlen(id);
  CHECK(*n > idlen + 3);
  if (*n > idlen + 3) {
    CHECK_EQ_INT(w[0], 0x0a);
    CHECK_EQ_INT(w[1], idlen); /* every id here is shorter than 128 bytes */
    CHECK(memcmp(w + 2, id, idlen) == 0);
    CHECK_EQ_INT(w[2 + idlen], 0x10);
  }
  /* re-encoding the bytes gives the same text */
  char *again = malloc(*n * 4 + 1);
  size_t k = 0;
  for (size_t i = 0; i < *n; i++) k += (size_t)sprintf(again + k, i ? ",%u" : "%u", w[i]);
  CHECK(k == r.len && memcmp(again, r.msg, k) == 0);
  free(again);
  tu_result_destroy(&r);
  return w;
}

/* Unwraps and checks the exact result text. */
static void unwrap(void *ctx, const unsigned char *w, size_t n, const char *want) {
  tu_result r;
  tu_result_init(&r);
  CHECK_EQ_INT(SdsUnwrapReceivedMessage(ctx, (void *)w, n, tu_result_cb, &r), RET_OK);
  CHECK(tu_wait(&r, 1));
  CHECK_EQ_INT(r.ret, RET_OK);
  if (r.msg && (strlen(want) != r.len || memcmp(r.msg, want, r.len) != 0)) {
    fprintf(stderr, "unwrap result\n  got  %s\n  want %s\n", r.msg, want);
    tu_failures++;
  }
  CHECK(r.raw && r.raw[r.len] == 0);
  tu_result_destroy(&r);
}

static void test_basic(void) {
  evlog la = {0}, lb = {0}, lc = {0};
  void *a = new_logged_mgr(&la), *b = new_logged_mgr(&lb), *c = new_logged_mgr(&lc);
  size_t n1, nr1, n2;

  /* A wraps m1; B unwraps it: message_ready */
  unsigned char *m1 = wrap_checked(a, "hello m1", 8, "m1", "c1", &n1);
  /* the wrap result has no event */
  CHECK_EQ_INT(evcount(&la), 0);
  unwrap(b, m1, n1, "{\"message\":[104,101,108,108,111,32,109,49],\"channelId\":\"c1\",\"missingDeps\":[]}");
  const char *b_ready[] = {"{\"messageId\":\"m1\",\"channelId\":\"c1\",\"eventType\":\"message_ready\"}", NULL};
  check_events("B gets m1", &lb, 0, b_ready);

  /* duplicate: same result, no event */
  unwrap(b, m1, n1, "{\"message\":[104,101,108,108,111,32,109,49],\"channelId\":\"c1\",\"missingDeps\":[]}");
  check_events("B gets m1 again", &lb, 0, b_ready);

  /* B wraps r1 (history [m1]); A unwraps it: message_sent m1, message_ready r1 */
  unsigned char *r1 = wrap_checked(b, "reply r1", 8, "r1", "c1", &nr1);
  unwrap(a, r1, nr1, "{\"message\":[114,101,112,108,121,32,114,49],\"channelId\":\"c1\",\"missingDeps\":[]}");
  const char *a_ack[] = {"{\"messageId\":\"m1\",\"channelId\":\"c1\",\"eventType\":\"message_sent\"}",
                         "{\"messageId\":\"r1\",\"channelId\":\"c1\",\"eventType\":\"message_ready\"}", NULL};
  check_events("A gets r1", &la, 0, a_ack);

  /* A wraps m2 (history [m1, r1], oldest first); C gets only m2: missing both, hint "" */
  unsigned char *m2 = wrap_checked(a, "hello m2", 8, "m2", "c1", &n2);
  unwrap(c, m2, n2,
         "{\"message\":[104,101,108,108,111,32,109,50],\"channelId\":\"c1\",\"missingDeps\":"
         "[{\"messageId\":\"m1\",\"retrievalHint\":\"\"},{\"messageId\":\"r1\",\"retrievalHint\":\"\"}]}");
  const char *c_miss[] = {"{\"eventType\":\"missing_dependencies\",\"messageId\":\"m2\",\"channelId\":\"c1\","
                          "\"missingDeps\":[{\"messageId\":\"m1\",\"retrievalHint\":\"\"},"
                          "{\"messageId\":\"r1\",\"retrievalHint\":\"\"}]}",
                          NULL};
  check_events("C gets m2", &lc, 0, c_miss);

  /* periodic_sync */
  tu_result s;
  tu_result_init(&s);
  CHECK_EQ_INT(SdsStartPeriodicTasks(c, tu_result_cb, &s), RET_OK);
  CHECK(tu_wait(&s, 1));
  CHECK_EQ_INT(s.ret, RET_OK);
  CHECK_EQ_INT(s.len, 0);
  tu_result_destroy(&s);
  const char *c_sync[] = {"{\"eventType\":\"periodic_sync\"}", NULL};
  check_events("C starts", &lc, 1, c_sync);

  /* an empty message from a hand-built wire: "message":[] (trace step 80) */
  static const unsigned char k1[] = {0x0a, 0x02, 'k', '1', 0x10, 0x01, 0x22, 0x02, 'k', 'c', 0x2a, 0x00};
  unwrap(c, k1, sizeof k1, "{\"message\":[],\"channelId\":\"kc\",\"missingDeps\":[]}");
  /* hand-built hints (7, 3 and 8 bytes) and a senderId-only entry (trace step 59):
     retrievalHint is std base64 with padding, "" when empty */
  static const unsigned char h9[] = {
      0x0a, 0x02, 0x68, 0x39, 0x10, 0x01, 0x1a, 0x0e, 0x0a, 0x03, 0x68, 0x78, 0x31, 0x12, 0x07, 0x68, 0x69, 0x6e,
      0x74, 0x3a, 0x68, 0x31, 0x1a, 0x0a, 0x0a, 0x03, 0x68, 0x78, 0x32, 0x12, 0x03, 0xff, 0xfe, 0xfd, 0x1a, 0x0f,
      0x0a, 0x03, 0x68, 0x78, 0x33, 0x12, 0x08, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x1a, 0x09, 0x0a,
      0x03, 0x68, 0x78, 0x34, 0x1a, 0x02, 0x73, 0x34, 0x22, 0x02, 0x63, 0x34, 0x2a, 0x02, 0x68, 0x39, 0x32, 0x00};
  int before = evcount(&lc);
  unwrap(c, h9, sizeof h9,
         "{\"message\":[104,57],\"channelId\":\"c4\",\"missingDeps\":[{\"messageId\":\"hx1\",\"retrievalHint\":"
         "\"aGludDpoMQ==\"},{\"messageId\":\"hx2\",\"retrievalHint\":\"//79\"},{\"messageId\":\"hx3\","
         "\"retrievalHint\":\"MTIzNDU2Nzg=\"},{\"messageId\":\"hx4\",\"retrievalHint\":\"\"}]}");
  const char *c_h9[] = {
      "{\"eventType\":\"missing_dependencies\",\"messageId\":\"h9\",\"channelId\":\"c4\",\"missingDeps\":"
      "[{\"messageId\":\"hx1\",\"retrievalHint\":\"aGludDpoMQ==\"},{\"messageId\":\"hx2\",\"retrievalHint\":"
      "\"//79\"},{\"messageId\":\"hx3\",\"retrievalHint\":\"MTIzNDU2Nzg=\"},{\"messageId\":\"hx4\","
      "\"retrievalHint\":\"\"}]}",
      NULL};
  check_events("C gets h9", &lc, before, c_h9);

  cleanup_mgr(a);
  cleanup_mgr(b);
  cleanup_mgr(c);
  free(m1);
  free(r1);
  free(m2);
  evlog_free(&la);
  evlog_free(&lb);
  evlog_free(&lc);
}

/* Trace steps 96-100 (section 11-strings), expected strings copied from the
   "raw" and "payload" fields of trace-nim-sds.jsonl. */
#define W1_ID "w\"1\\\012\011\001<&\303\251"
#define W2_ID "w2\010\013\014\015\016\037\177/>\342\200\250"
#define ODD_CH "ch\"\\\012\011\001<&\303\251"

static const char step98_event[] =
    "{\"messageId\":\"w\\\"1\\\\\\n\\t\\u0001<&\303\251\",\"channelId\":\"ch\\\"\\\\\\n\\t\\u0001<&\303\251\","
    "\"eventType\":\"message_ready\"}";
static const char step99_event[] =
    "{\"messageId\":\"w2\\b\\u000b\\f\\r\\u000E\\u001F\177/>\342\200\250\",\"channelId\":\"ch\\\"\\\\\\n\\t\\u0001<&"
    "\303\251\",\"eventType\":\"message_ready\"}";
static const char step100_event[] =
    "{\"eventType\":\"missing_dependencies\",\"messageId\":\"w2\\b\\u000b\\f\\r\\u000E\\u001F\177/>\342\200\250\","
    "\"channelId\":\"ch\\\"\\\\\\n\\t\\u0001<&\303\251\",\"missingDeps\":[{\"messageId\":\"w\\\"1\\\\\\n\\t\\u0001<&"
    "\303\251\",\"retrievalHint\":\"\"}]}";
static const char step99_result[] =
    "{\"message\":[119,50,32,98,111,100,121],\"channelId\":\"ch\\\"\\\\\\n\\t\\u0001<&\303\251\",\"missingDeps\":[]}";
static const char step100_result[] =
    "{\"message\":[119,50,32,98,111,100,121],\"channelId\":\"ch\\\"\\\\\\n\\t\\u0001<&\303\251\",\"missingDeps\":"
    "[{\"messageId\":\"w\\\"1\\\\\\n\\t\\u0001<&\303\251\",\"retrievalHint\":\"\"}]}";

static void test_escaping(void) {
  evlog la = {0}, lb = {0}, lc = {0};
  void *a = new_logged_mgr(&la), *b = new_logged_mgr(&lb), *c = new_logged_mgr(&lc);
  unsigned char all[256];
  for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
  size_t n1, n2;
  unsigned char *w1 = wrap_checked(a, all, sizeof all, W1_ID, ODD_CH, &n1);
  unsigned char *w2 = wrap_checked(a, "w2 body", 7, W2_ID, ODD_CH, &n2);

  /* step 98: B receives w1 (content: all 256 byte values) */
  char want98[2048];
  size_t k = (size_t)sprintf(want98, "{\"message\":[");
  for (int i = 0; i < 256; i++) k += (size_t)sprintf(want98 + k, i ? ",%d" : "%d", i);
  sprintf(want98 + k, "],\"channelId\":\"ch\\\"\\\\\\n\\t\\u0001<&\303\251\",\"missingDeps\":[]}");
  unwrap(b, w1, n1, want98);
  const char *e98[] = {step98_event, NULL};
  check_events("step 98", &lb, 0, e98);

  /* step 99: B receives w2 */
  unwrap(b, w2, n2, step99_result);
  const char *e99[] = {step98_event, step99_event, NULL};
  check_events("step 99", &lb, 0, e99);

  /* step 100: C receives only w2 */
  unwrap(c, w2, n2, step100_result);
  const char *e100[] = {step100_event, NULL};
  check_events("step 100", &lc, 0, e100);

  /* a message_sent with the odd ids: A learns from B's reply that w1, w2 arrived */
  size_t nr;
  unsigned char *rep = wrap_checked(b, "ok", 2, "rep", ODD_CH, &nr);
  unwrap(a, rep, nr, "{\"message\":[111,107],\"channelId\":\"ch\\\"\\\\\\n\\t\\u0001<&\303\251\",\"missingDeps\":[]}");
  const char *ea[] = {
      "{\"messageId\":\"w\\\"1\\\\\\n\\t\\u0001<&\303\251\",\"channelId\":\"ch\\\"\\\\\\n\\t\\u0001<&\303\251\","
      "\"eventType\":\"message_sent\"}",
      "{\"messageId\":\"w2\\b\\u000b\\f\\r\\u000E\\u001F\177/>\342\200\250\",\"channelId\":\"ch\\\"\\\\\\n\\t\\u0001<&"
      "\303\251\",\"eventType\":\"message_sent\"}",
      "{\"messageId\":\"rep\",\"channelId\":\"ch\\\"\\\\\\n\\t\\u0001<&\303\251\",\"eventType\":\"message_ready\"}",
      NULL};
  check_events("A gets rep", &la, 0, ea);

  /* the empty message id is allowed */
  size_t ne;
  unsigned char *we = wrap_checked(a, "e", 1, "", "c1", &ne);
  unwrap(c, we, ne, "{\"message\":[101],\"channelId\":\"c1\",\"missingDeps\":[]}");
  const char *ee[] = {step100_event, "{\"messageId\":\"\",\"channelId\":\"c1\",\"eventType\":\"message_ready\"}", NULL};
  check_events("empty id", &lc, 0, ee);

  cleanup_mgr(a);
  cleanup_mgr(b);
  cleanup_mgr(c);
  free(w1);
  free(w2);
  free(rep);
  free(we);
  evlog_free(&la);
  evlog_free(&lb);
  evlog_free(&lc);
}

int main(void) {
  test_basic();
  test_escaping();
  return tu_done("compat_payloads");
}
