/* native_contract: the header's promises, each with the program that showed
   it broken.
   - libsds_unwrapped.content is a borrowed view (libsds_bytes) into the result
     block, not a libsds_buffer: freeing it as a buffer (which the header used
     to document) was an invalid free. It no longer compiles; the view lies in
     the block and one libsds_unwrapped_free releases everything.
   - libsds_set_event_handler waits for a running callback of the old handler,
     so the old user_data may be freed right after it returns (ASan reports a
     use after free otherwise); from inside that callback it does not wait.
   - libsds_set_hint_provider waits for a running provider likewise.
   - libsds_options_init and LIBSDS_PERSISTENCE_INIT give the versioned
     structs their size; persistence version 1 (the first layout) is still
     accepted, and a value below the first layout's size is rejected. */
#define _GNU_SOURCE /* syscall(SYS_gettid) */
#include "testnative.h"
#include "testwatchdog.h"

#include <sched.h>
#include <sys/syscall.h>
#include <semaphore.h>
#include <stddef.h>

/* ---- result views ---- */

static void test_unwrapped_views(void) {
  wd_stage("unwrapped views", 30);
  libsds_handle a = memory_manager("views-a", 0, 0), b = memory_manager("views-b", 0, 0);
  libsds_buffer w = wrap_msg(a, "hello view", "v1", "ch");
  libsds_unwrapped *u = NULL;
  CHECK_EQ_INT(libsds_unwrap(b, w.data, w.len, &u), LIBSDS_OK);
  /* The types say "borrowed": these lines compile only with view types. */
  const libsds_bytes *content = &u->content;
  const uint8_t *const *data = &u->content.data;
  const libsds_str *channel = &u->channel_id;
  (void)data;
  CHECK(content->len == 10 && memcmp(content->data, "hello view", 10) == 0);
  /* Everything lies inside the one block that starts at u. */
  const uint8_t *block = (const uint8_t *)u;
  CHECK(content->data > block && channel->data > (const char *)block);
  CHECK_STR(channel->data, "ch");
  libsds_unwrapped_free(u); /* releases the views with it: ASan checks no leak */
  libsds_buffer_free(&w);
  CHECK_EQ_INT(libsds_free(a), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(b), LIBSDS_OK);
}

/* ---- replacing a handler while its callback runs ---- */

typedef struct {
  sem_t inside, go;
  int touched;
} old_ud;

static void on_old(const libsds_event *e, void *ud) {
  (void)e;
  old_ud *o = ud;
  sem_post(&o->inside);
  while (sem_wait(&o->go) == -1) {
  }
  o->touched++; /* after the replacement: a use after free if it did not wait */
}

static void on_new(const libsds_event *e, void *ud) {
  (void)e;
  (void)ud;
}

typedef struct {
  libsds_handle h;
  old_ud *old;
  int rc;
  pid_t tid;   /* atomic */
  int done;    /* atomic */
  int hint;    /* 1: replace the hint provider instead */
} replacer;

static int64_t old_hint(libsds_str id, uint8_t *buf, size_t cap, void *ud);
static int64_t new_hint(libsds_str id, uint8_t *buf, size_t cap, void *ud) {
  (void)id, (void)buf, (void)cap, (void)ud;
  return 0;
}

/* Replaces the handler (or provider), then frees the old user_data at once. */
static void *replace(void *arg) {
  replacer *r = arg;
  __atomic_store_n(&r->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
  r->rc = r->hint ? libsds_set_hint_provider(r->h, new_hint, NULL) : libsds_set_event_handler(r->h, on_new, NULL);
  sem_destroy(&r->old->inside);
  sem_destroy(&r->old->go);
  free(r->old);
  __atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
  return NULL;
}

/* Waits until the replacing thread has returned or is blocked. The thread
   cannot signal from inside the library, so this polls its state. */
static void wait_blocked_or_done(replacer *r) {
  pid_t tid;
  while ((tid = __atomic_load_n(&r->tid, __ATOMIC_ACQUIRE)) == 0) sched_yield();
  while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE) && wd_thread_state(tid) != 'S') sched_yield();
}

static void test_set_event_handler_waits(void) {
  wd_stage("set_event_handler waits for the old handler's callback", 30);
  libsds_handle h = memory_manager("replace", 0, 0);
  old_ud *o = calloc(1, sizeof *o);
  sem_init(&o->inside, 0, 0);
  sem_init(&o->go, 0, 0);
  CHECK_EQ_INT(libsds_set_event_handler(h, on_old, o), LIBSDS_OK);
  CHECK_EQ_INT(libsds_run_tasks(h, LIBSDS_TASK_SYNC), LIBSDS_OK);
  while (sem_wait(&o->inside) == -1) {
  }
  sem_t *go = &o->go;
  replacer r = {h, o, -100, 0, 0, 0};
  pthread_t t;
  pthread_create(&t, NULL, replace, &r);
  wait_blocked_or_done(&r);
  CHECK(!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE)); /* it waits for the callback */
  sem_post(go);
  pthread_join(t, NULL);
  CHECK_EQ_INT(r.rc, LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
}

/* From inside the old handler's callback the replacement returns at once. */
static int inner_rc = -100;
static sem_t inner_done;
static void on_replace_self(const libsds_event *e, void *ud) {
  (void)e;
  libsds_handle h = *(libsds_handle *)ud;
  inner_rc = libsds_set_event_handler(h, on_new, NULL); /* hangs (watchdog) if it waits for itself */
  sem_post(&inner_done);
}

static void test_set_event_handler_from_its_callback(void) {
  wd_stage("set_event_handler from inside the old handler", 30);
  static libsds_handle h;
  h = memory_manager("replace-self", 0, 0);
  CHECK_EQ_INT(libsds_set_event_handler(h, on_replace_self, &h), LIBSDS_OK);
  sem_init(&inner_done, 0, 0);
  CHECK_EQ_INT(libsds_run_tasks(h, LIBSDS_TASK_SYNC), LIBSDS_OK);
  while (sem_wait(&inner_done) == -1) {
  }
  CHECK_EQ_INT(inner_rc, LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  sem_destroy(&inner_done);
}

/* ---- replacing a hint provider while it runs ---- */

static int64_t old_hint(libsds_str id, uint8_t *buf, size_t cap, void *ud) {
  (void)id, (void)buf, (void)cap;
  old_ud *o = ud;
  sem_post(&o->inside);
  while (sem_wait(&o->go) == -1) {
  }
  o->touched++;
  return 0;
}

typedef struct {
  libsds_handle h;
} wrapper;

static void *wrap_second(void *arg) {
  wrapper *w = arg;
  libsds_buffer b = wrap_msg(w->h, "second", "m2", "ch"); /* cites m1: asks for its hint */
  libsds_buffer_free(&b);
  return NULL;
}

static void test_set_hint_provider_waits(void) {
  wd_stage("set_hint_provider waits for the old provider", 30);
  libsds_handle h = memory_manager("hints", 0, 0);
  libsds_buffer b = wrap_msg(h, "first", "m1", "ch");
  libsds_buffer_free(&b);
  old_ud *o = calloc(1, sizeof *o);
  sem_init(&o->inside, 0, 0);
  sem_init(&o->go, 0, 0);
  CHECK_EQ_INT(libsds_set_hint_provider(h, old_hint, o), LIBSDS_OK);
  wrapper w = {h};
  pthread_t wt;
  pthread_create(&wt, NULL, wrap_second, &w);
  while (sem_wait(&o->inside) == -1) {
  }
  sem_t *go = &o->go;
  replacer r = {h, o, -100, 0, 0, 1};
  pthread_t t;
  pthread_create(&t, NULL, replace, &r);
  wait_blocked_or_done(&r);
  CHECK(!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE));
  sem_post(go);
  pthread_join(t, NULL);
  pthread_join(wt, NULL);
  CHECK_EQ_INT(r.rc, LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
}

/* ---- initializers ---- */

static int ok_ch(void *ud, libsds_str ch) { (void)ud, (void)ch; return LIBSDS_OK; }
static int ok_lamport(void *ud, libsds_str ch, int64_t l) { (void)ud, (void)ch, (void)l; return LIBSDS_OK; }
static int ok_rec(void *ud, libsds_str ch, libsds_str id, const uint8_t *r, size_t n) {
  (void)ud, (void)ch, (void)id, (void)r, (void)n;
  return LIBSDS_OK;
}
static int ok_rm(void *ud, libsds_str ch, libsds_str id) { (void)ud, (void)ch, (void)id; return LIBSDS_OK; }
static int ok_hint(void *ud, libsds_str id, const uint8_t *h, size_t n) { (void)ud, (void)id, (void)h, (void)n; return LIBSDS_OK; }
static int ok_load(void *ud, libsds_str ch, libsds_loader *l) { (void)ud, (void)ch, (void)l; return LIBSDS_OK; }

static int new_with_persistence(uint32_t version) {
  libsds_persistence p = LIBSDS_PERSISTENCE_INIT;
  p.version = version;
  p.save_lamport = ok_lamport;
  p.append_log_entry = ok_rec;
  p.remove_log_entry = ok_rm;
  p.set_retrieval_hint = ok_hint;
  p.save_outgoing = ok_rec;
  p.remove_outgoing = ok_rm;
  p.save_incoming = ok_rec;
  p.remove_incoming = ok_rm;
  p.save_outgoing_repair = ok_rec;
  p.remove_outgoing_repair = ok_rm;
  p.save_incoming_repair = ok_rec;
  p.remove_incoming_repair = ok_rm;
  p.drop_channel = ok_ch;
  p.load_all_for_channel = ok_load;
  libsds_options o;
  libsds_options_init(&o);
  o.store_kind = LIBSDS_STORE_HOST;
  o.persistence = &p;
  libsds_handle h = 0;
  int rc = libsds_new(&o, &h);
  if (rc == LIBSDS_OK) CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  return rc;
}

static void test_initializers(void) {
  wd_stage("initializers", 30);
  libsds_options a = LIBSDS_OPTIONS_INIT, b;
  memset(&b, 0xAB, sizeof b);
  libsds_options_init(&b);
  CHECK_EQ_INT(b.size, sizeof(libsds_options));
  CHECK(b.participant_id == NULL && b.persistence == NULL && b.sqlite_path == NULL && b.sqlite_namespace == NULL);
  CHECK(b.config_set == a.config_set && b.store_kind == a.store_kind && b.sqlite_durability == a.sqlite_durability);
  libsds_options_init(NULL); /* ignored */
  libsds_persistence p = LIBSDS_PERSISTENCE_INIT;
  CHECK_EQ_INT(p.version, sizeof(libsds_persistence));
  CHECK(p.save_lamport == NULL && p.destroy == NULL && p.user_data == NULL);
  CHECK_EQ_INT(new_with_persistence(sizeof(libsds_persistence)), LIBSDS_OK);
  CHECK_EQ_INT(new_with_persistence(LIBSDS_PERSISTENCE_VERSION), LIBSDS_OK);
  CHECK_EQ_INT(new_with_persistence(2), LIBSDS_ERR_INVALID_ARG);
  /* a host built against an older header: its struct ends at destroy */
  CHECK_EQ_INT(new_with_persistence(offsetof(libsds_persistence, save_channel_due)), LIBSDS_OK);
  CHECK_EQ_INT(new_with_persistence(offsetof(libsds_persistence, save_channel_due) - 8), LIBSDS_ERR_INVALID_ARG);
}

int main(void) {
  test_unwrapped_views();
  test_set_event_handler_waits();
  test_set_event_handler_from_its_callback();
  test_set_hint_provider_waits();
  test_initializers();
  wd_stage("done", 0);
  return tu_done("native_contract");
}
