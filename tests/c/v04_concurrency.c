/* The nim-sds 0.4 JSON API from several threads at once, with a destroy in
   the middle: every call that returned RET_OK gets exactly one result
   callback, every call that returned RET_ERR exactly one error callback
   before it returned, and nothing arrives after the destroy's own callback. */
#include "testv04.h"

#include <sched.h>

enum { THREADS = 4, CALLS = 150 };

typedef struct {
  tu_result r;
  int rc;
} call_rec;

typedef struct {
  void *ctx;
  int id;
  call_rec calls[CALLS];
  int made;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  for (int i = 0; i < CALLS; i++) {
    call_rec *c = &w->calls[i];
    tu_result_init(&c->r);
    char req[128];
    snprintf(req, sizeof req, "{\"message\":[%d],\"messageId\":\"t%d-%d\",\"channelId\":\"ch%d\"}", i % 256, w->id, i,
             w->id);
    c->rc = i % 3 == 2 ? sds_mark_dependencies_met(w->ctx, tu_result_cb, &c->r, "{\"messageIds\":[],\"channelId\":\"ch0\"}")
                       : sds_wrap_outgoing_message(w->ctx, tu_result_cb, &c->r, req);
    w->made = i + 1;
    if (c->rc == RET_ERR) {
      CHECK_EQ_INT(c->r.calls, 1); /* answered before returning */
      CHECK_STR(c->r.msg, "ctx is not a valid FFI context");
    } else {
      CHECK_EQ_INT(c->rc, RET_OK);
      CHECK(tu_wait(&c->r, 1));
    }
  }
  return NULL;
}

int main(void) {
  void *ctx = v4_create("alice");
  /* mark needs a channel the manager has seen */
  free(v4_call(sds_wrap_outgoing_message, ctx, "{\"message\":[1],\"messageId\":\"seed\",\"channelId\":\"ch0\"}", RET_OK,
               NULL));
  static worker ws[THREADS];
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) {
    ws[i].ctx = ctx;
    ws[i].id = i;
    pthread_create(&th[i], NULL, work, &ws[i]);
  }
  /* destroy once every thread is under way */
  for (int i = 0; i < THREADS; i++)
    while (__atomic_load_n(&ws[i].made, __ATOMIC_ACQUIRE) < 10) sched_yield();
  tu_result d;
  tu_result_init(&d);
  CHECK_EQ_INT(sds_destroy(ctx, tu_result_cb, &d), RET_OK);
  CHECK(tu_wait(&d, 1));
  CHECK_EQ_INT(d.ret, RET_OK);
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  /* exactly one callback each; after the destroy's callback nothing else came */
  int ok = 0, refused = 0;
  for (int i = 0; i < THREADS; i++)
    for (int j = 0; j < CALLS; j++) {
      call_rec *c = &ws[i].calls[j];
      CHECK_EQ_INT(c->r.calls, 1);
      if (c->rc == RET_OK) {
        ok++;
        CHECK(c->r.ret == RET_OK && (c->r.len == 0 || strncmp(c->r.msg, "{\"message\":[", 12) == 0));
      } else {
        refused++;
      }
      tu_result_destroy(&c->r);
    }
  CHECK(ok >= THREADS * 10);
  CHECK_EQ_INT(ok + refused, THREADS * CALLS);
  CHECK_EQ_INT(d.calls, 1);
  tu_result_destroy(&d);
  printf("v04_concurrency: %d calls answered, %d refused after the destroy\n", ok, refused);
  return tu_done("v04_concurrency");
}
