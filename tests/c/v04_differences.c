/* The nim-sds 0.4 JSON API where nim-sds 0.4 crashes, deadlocks or leaks and
   this library deliberately does what a user would expect (docs/compat.md,
   "nim-sds 0.4"): each case below is one of those differences. */
#include "testv04.h"

static const char *wrap_req = "{\"message\":[1,2,3],\"messageId\":\"m1\",\"channelId\":\"ch\"}";

/* 1. sds_create with a NULL callback returns NULL (nim-sds calls the NULL
   callback and dies). Also a bad config: NULL and the error, synchronously. */
static void null_callback(void) {
  CHECK(sds_create("{\"participantId\":\"a\"}", NULL, NULL) == NULL);
  CHECK(sds_create(NULL, NULL, NULL) == NULL);
  tu_result r;
  tu_result_init(&r);
  CHECK(sds_create("{\"participantId\":5}", tu_result_cb, &r) == NULL);
  CHECK_EQ_INT(r.calls, 1); /* before sds_create returned */
  CHECK_EQ_INT(r.ret, RET_ERR);
  CHECK_STR(r.msg, "ffiCtor: failed to deserialize param: Incorrect JSON kind. Wanted '{JNull, JString}' in "
                   "'.participantId' but got 'JInt'.");
  tu_result_destroy(&r);
}

/* 2. Calls into a context from inside its own callbacks work (nim-sds
   deadlocks): from an event callback, from a result callback; and from the
   hint provider they are refused with an error instead of waiting forever. */
typedef struct {
  void *ctx;
  tu_result nested;
  int rc;
} reentry;

static void reenter_from_event(int ret, const char *msg, size_t len, void *ud) {
  reentry *x = ud;
  (void)ret;
  (void)len;
  if (strstr(msg, "periodic_sync") && x->nested.calls == 0 && x->rc == -1)
    x->rc = sds_wrap_outgoing_message(x->ctx, tu_result_cb, &x->nested, wrap_req);
}

static void reenter_from_result(int ret, const char *msg, size_t len, void *ud) {
  reentry *x = ud;
  (void)ret;
  (void)msg;
  (void)len;
  x->rc = sds_reset(x->ctx, tu_result_cb, &x->nested);
}

static void destroy_from_result(int ret, const char *msg, size_t len, void *ud) {
  reentry *x = ud;
  (void)ret;
  (void)msg;
  (void)len;
  x->rc = sds_destroy(x->ctx, tu_result_cb, &x->nested);
}

static void reenter_from_hint(const char *id, char **hint, size_t *len, void *ud) {
  reentry *x = ud;
  (void)id;
  (void)hint;
  (void)len;
  x->rc = sds_wrap_outgoing_message(x->ctx, tu_result_cb, &x->nested, wrap_req);
}

static void reentrant_calls(void) {
  reentry x = {.rc = -1};
  tu_result_init(&x.nested);
  x.ctx = v4_create("alice");
  sds_set_event_callback(x.ctx, reenter_from_event, &x);
  tu_result start;
  tu_result_init(&start);
  CHECK_EQ_INT(sds_start_periodic_tasks(x.ctx, tu_result_cb, &start), RET_OK);
  CHECK(tu_wait(&start, 1));
  CHECK_EQ_INT(start.ret, RET_OK);
  CHECK(tu_wait(&x.nested, 1)); /* the nested wrap's result, after the event callback returned */
  CHECK_EQ_INT(x.rc, RET_OK);
  CHECK_EQ_INT(x.nested.ret, RET_OK);
  CHECK(strncmp(x.nested.msg, "{\"message\":[10,2,109,49,", 24) == 0);
  tu_result_destroy(&start);

  /* from a result callback */
  sds_set_event_callback(x.ctx, NULL, NULL);
  tu_result_destroy(&x.nested);
  tu_result_init(&x.nested);
  x.rc = -1;
  CHECK_EQ_INT(sds_wrap_outgoing_message(x.ctx, reenter_from_result, &x,
                                         "{\"message\":[1],\"messageId\":\"m2\",\"channelId\":\"ch\"}"),
               RET_OK);
  CHECK(tu_wait(&x.nested, 1));
  CHECK_EQ_INT(x.rc, RET_OK);
  CHECK_EQ_INT(x.nested.ret, RET_OK);

  /* from the hint provider: refused through the callback, synchronously
     (the reset above emptied the history: one wrap first, for the provider
     to be asked about) */
  free(v4_call(sds_wrap_outgoing_message, x.ctx, wrap_req, RET_OK, NULL));
  tu_result_destroy(&x.nested);
  tu_result_init(&x.nested);
  x.rc = -1;
  CHECK_EQ_INT(sds_set_retrieval_hint_provider(x.ctx, reenter_from_hint, &x), RET_OK);
  char *res = v4_call(sds_wrap_outgoing_message, x.ctx, "{\"message\":[1],\"messageId\":\"m3\",\"channelId\":\"ch\"}",
                      RET_OK, NULL);
  free(res);
  CHECK_EQ_INT(x.rc, RET_ERR);
  CHECK_EQ_INT(x.nested.calls, 1);
  CHECK_STR(x.nested.msg, "called from the retrieval-hint provider of the same context");
  tu_result_destroy(&x.nested);

  /* sds_destroy from inside a result callback of the same context: accepted,
     its callback follows the current one */
  tu_result_init(&x.nested);
  x.rc = -1;
  CHECK_EQ_INT(sds_set_retrieval_hint_provider(x.ctx, NULL, NULL), RET_OK);
  CHECK_EQ_INT(sds_wrap_outgoing_message(x.ctx, destroy_from_result, &x, wrap_req), RET_OK);
  CHECK(tu_wait(&x.nested, 1));
  CHECK_EQ_INT(x.rc, RET_OK);
  CHECK_EQ_INT(x.nested.ret, RET_OK);
  CHECK_STR(x.nested.msg, "");
  tu_result_destroy(&x.nested);
}

/* 3 and 4. sds_start_periodic_tasks is idempotent (nim-sds starts another set
   of loops each time), and sds_destroy stops the tasks (nim-sds leaves them
   running, and they send events to whoever owns the slot next). */
static void destroyed_ctx_cb(int ret, const char *msg, size_t len, void *ud) {
  (void)ret;
  (void)msg;
  (void)len;
  (void)ud;
}

static void periodic_tasks(void) {
  v4_events a, e;
  v4_events_init(&a);
  v4_events_init(&e);
  void *ctx = v4_create("alice");
  sds_set_event_callback(ctx, v4_event_cb, &a);
  tu_result r;
  tu_result_init(&r);
  CHECK_EQ_INT(sds_start_periodic_tasks(ctx, tu_result_cb, &r), RET_OK);
  CHECK(tu_wait(&r, 1));
  CHECK_EQ_INT(v4_events_count(&a, 1), 1); /* the first tick comes before the result */
  CHECK_EQ_INT(sds_start_periodic_tasks(ctx, tu_result_cb, &r), RET_OK);
  CHECK(tu_wait(&r, 2));
  CHECK_EQ_INT(r.ret, RET_OK);
  CHECK_EQ_INT(v4_events_count(&a, 1), 1); /* no second set of loops: no second tick */
  tu_result_destroy(&r);
  v4_destroy(ctx);
  int after_destroy = v4_events_count(&a, 0);

  /* the next context is a new one (never the old pointer) and gets nothing of A's */
  void *next = v4_create("erin");
  CHECK(next != ctx);
  sds_set_event_callback(next, v4_event_cb, &e);
  free(v4_call(sds_wrap_outgoing_message, next, wrap_req, RET_OK, NULL));
  free(v4_call(sds_mark_dependencies_met, next, "{\"messageIds\":[],\"channelId\":\"ch\"}", RET_OK, ""));
  CHECK_EQ_INT(v4_events_count(&e, 1), 0);
  CHECK_EQ_INT(v4_events_count(&a, 0), after_destroy);
  /* A's pointer is dead for every call */
  tu_result_init(&r);
  CHECK_EQ_INT(sds_start_periodic_tasks(ctx, tu_result_cb, &r), RET_ERR);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_STR(r.msg, "ctx is not a valid FFI context");
  tu_result_destroy(&r);
  sds_set_event_callback(ctx, destroyed_ctx_cb, NULL); /* ignored, prints nim-sds's error line */
  v4_destroy(next);
}

/* 5. No limit of 32 contexts, and failed creates consume nothing (nim-sds
   keeps the slot of every failed create for the life of the process). */
static void many_contexts(void) {
  enum { N = 40 };
  void *ctx[N];
  for (int i = 0; i < 50; i++) {
    tu_result r;
    tu_result_init(&r);
    CHECK(sds_create("{}", tu_result_cb, &r) == NULL);
    CHECK_STR(r.msg, "ffiCtor: failed to deserialize param: key not found: .participantId");
    tu_result_destroy(&r);
  }
  for (int i = 0; i < N; i++) ctx[i] = v4_create("p");
  for (int i = 0; i < N; i++)
    for (int j = 0; j < i; j++) CHECK(ctx[i] != ctx[j]);
  for (int i = 0; i < N; i++) v4_destroy(ctx[i]);
}

/* 6. Garbage, NULL and destroyed pointers are recognized by every function:
   nim-sds dereferences them in sds_destroy and writes through them in
   sds_set_event_callback. */
static void garbage_pointers(void) {
  static unsigned char zeroed[64]; /* a "context" of zeroed memory */
  unsigned char fake[64];
  memset(fake, 0xA5, sizeof fake);
  void *dead = v4_create("d");
  v4_destroy(dead);
  void *bad[] = {NULL, zeroed, fake, (void *)(uintptr_t)0x1234560, dead};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    void *c = bad[i];
    tu_result r;
    tu_result_init(&r);
    CHECK_EQ_INT(sds_wrap_outgoing_message(c, tu_result_cb, &r, wrap_req), RET_ERR);
    CHECK_EQ_INT(sds_unwrap_received_message(c, tu_result_cb, &r, "{\"message\":[1]}"), RET_ERR);
    CHECK_EQ_INT(sds_mark_dependencies_met(c, tu_result_cb, &r, "{\"messageIds\":[],\"channelId\":\"c\"}"), RET_ERR);
    CHECK_EQ_INT(sds_reset(c, tu_result_cb, &r), RET_ERR);
    CHECK_EQ_INT(sds_start_periodic_tasks(c, tu_result_cb, &r), RET_ERR);
    CHECK_EQ_INT(r.calls, 5); /* each on the caller's thread, before returning */
    CHECK_STR(r.msg, "ctx is not a valid FFI context");
    CHECK_EQ_INT(sds_destroy(c, tu_result_cb, &r), RET_ERR);
    CHECK_EQ_INT(r.calls, 6);
    CHECK_STR(r.msg, "context not initialized");
    CHECK_EQ_INT(sds_destroy(c, NULL, NULL), RET_ERR);
    CHECK_EQ_INT(sds_set_retrieval_hint_provider(c, NULL, NULL), RET_ERR);
    /* a NULL callback is reported before the context is looked at */
    CHECK_EQ_INT(sds_wrap_outgoing_message(c, NULL, NULL, wrap_req), RET_MISSING_CALLBACK);
    CHECK_EQ_INT(sds_reset(c, NULL, NULL), RET_MISSING_CALLBACK);
    CHECK_EQ_INT(r.calls, 6);
    tu_result_destroy(&r);
    sds_set_event_callback(c, tu_result_cb, NULL);
  }
  for (size_t i = 0; i < sizeof zeroed; i++) CHECK(zeroed[i] == 0 && fake[i] == 0xA5); /* nothing written */
}

/* 7. Hints are released with free(), also a non-NULL one of length 0
   (nim-sds leaks that one); LeakSanitizer checks both. A hint travels in the
   0.4 message and comes out of the receiver's unwrap result as base64. */
static void hint_provider(const char *id, char **hint, size_t *len, void *ud) {
  int *calls = ud;
  (*calls)++;
  char text[64];
  snprintf(text, sizeof text, "hint-%s", id);
  *len = strcmp(id, "h0") == 0 ? 0 : strlen(text); /* h0: a buffer, but no hint */
  *hint = malloc(strlen(text) + 1);
  memcpy(*hint, text, strlen(text) + 1);
}

static void hints_freed(void) {
  int calls = 0;
  void *a = v4_create("alice"), *b = v4_create("bob");
  CHECK_EQ_INT(sds_set_retrieval_hint_provider(a, hint_provider, &calls), RET_OK);
  free(v4_call(sds_wrap_outgoing_message, a, "{\"message\":[1],\"messageId\":\"h0\",\"channelId\":\"ch\"}", RET_OK, NULL));
  free(v4_call(sds_wrap_outgoing_message, a, "{\"message\":[2],\"messageId\":\"h1\",\"channelId\":\"ch\"}", RET_OK, NULL));
  char *w = v4_call(sds_wrap_outgoing_message, a, "{\"message\":[3],\"messageId\":\"h2\",\"channelId\":\"ch\"}", RET_OK, NULL);
  CHECK_EQ_INT(calls, 3); /* h0 for the second wrap; h0 and h1 for the third */
  /* the wrap result is {"message":[…]}: unwrap it on b as is */
  char *u = v4_call(sds_unwrap_received_message, b, w, RET_OK, NULL);
  CHECK_STR(u, "{\"message\":[3],\"channelId\":\"ch\",\"missingDeps\":[{\"messageId\":\"h0\",\"retrievalHint\":\"\"},"
               "{\"messageId\":\"h1\",\"retrievalHint\":\"aGludC1oMQ==\"}]}");
  free(u);
  free(w);
  CHECK_EQ_INT(sds_set_retrieval_hint_provider(a, NULL, NULL), RET_OK); /* removed: hints empty again */
  free(v4_call(sds_wrap_outgoing_message, a, "{\"message\":[4],\"messageId\":\"h3\",\"channelId\":\"ch\"}", RET_OK, NULL));
  CHECK_EQ_INT(calls, 3);
  v4_destroy(a);
  v4_destroy(b);
}

int main(void) {
  null_callback();
  reentrant_calls();
  periodic_tasks();
  many_contexts();
  garbage_pointers();
  hints_freed();
  return tu_done("v04_differences");
}
