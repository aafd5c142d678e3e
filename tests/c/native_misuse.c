/* native_misuse: every misuse of the native API gives its documented status,
   never a crash — bad handles (0, garbage, freed, double free, a compatible
   context), NULL out-parameters, invalid arguments, size limits, undecodable
   input, unknown channels, the free functions' tolerance, libsds_status_str,
   and libsds_last_error (including that it is per thread). */
#include "testutil.h"

#define MIB (1024u * 1024u)

/* Checks a failed call: the status and a non-empty libsds_last_error(). */
#define CHECK_FAIL(call, want)                                                              \
  do {                                                                                      \
    int rc_ = (call);                                                                       \
    CHECK_EQ_INT(rc_, (want));                                                              \
    const char *le_ = libsds_last_error();                                                  \
    if (!le_ || !le_[0]) {                                                                  \
      fprintf(stderr, "%s:%d: libsds_last_error() empty after %s\n", __FILE__, __LINE__, #call); \
      tu_failures++;                                                                        \
    }                                                                                       \
  } while (0)

/* Checks a successful call and that libsds_last_error() is "" afterwards. */
#define CHECK_OK(call)                                                                      \
  do {                                                                                      \
    int rc_ = (call);                                                                       \
    CHECK_EQ_INT(rc_, LIBSDS_OK);                                                           \
    const char *le_ = libsds_last_error();                                                  \
    if (!le_ || le_[0]) {                                                                   \
      fprintf(stderr, "%s:%d: libsds_last_error() = \"%s\" after successful %s\n", __FILE__, \
              __LINE__, le_ ? le_ : "(null)", #call);                                       \
      tu_failures++;                                                                        \
    }                                                                                       \
  } while (0)

static const uint8_t payload[] = "hello";

static void noop_event(const libsds_event *ev, void *ud) {
  (void)ev;
  (void)ud;
}

static int64_t noop_hint(libsds_str id, uint8_t *buf, size_t len, void *ud) {
  (void)id;
  (void)buf;
  (void)len;
  (void)ud;
  return 0;
}

/* Every function that takes a handle, with valid other arguments. */
static void check_bad_handle(libsds_handle h, const uint8_t *wire, size_t wire_len) {
  libsds_buffer buf = {(uint8_t *)0x1, 99};
  libsds_unwrapped *u = (libsds_unwrapped *)0x1;
  libsds_str ids[1] = {{"x", 1}};
  CHECK_FAIL(libsds_set_event_handler(h, noop_event, NULL), LIBSDS_ERR_BAD_HANDLE);
  CHECK_FAIL(libsds_set_hint_provider(h, noop_hint, NULL), LIBSDS_ERR_BAD_HANDLE);
  CHECK_FAIL(libsds_wrap(h, payload, 5, "id", "ch", &buf), LIBSDS_ERR_BAD_HANDLE);
  CHECK(buf.data == NULL && buf.len == 0); /* out is zeroed on failure */
  CHECK_FAIL(libsds_unwrap(h, wire, wire_len, &u), LIBSDS_ERR_BAD_HANDLE);
  CHECK(u == NULL);
  CHECK_FAIL(libsds_mark_dependencies_met(h, ids, 1, "ch"), LIBSDS_ERR_BAD_HANDLE);
  CHECK_FAIL(libsds_reset(h), LIBSDS_ERR_BAD_HANDLE);
  CHECK_FAIL(libsds_remove_channel(h, "ch"), LIBSDS_ERR_BAD_HANDLE);
  CHECK_FAIL(libsds_start(h), LIBSDS_ERR_BAD_HANDLE);
  CHECK_FAIL(libsds_stop(h), LIBSDS_ERR_BAD_HANDLE);
  CHECK_FAIL(libsds_run_tasks(h, LIBSDS_TASK_SYNC | LIBSDS_TASK_BUFFER_SWEEP | LIBSDS_TASK_REPAIR_SWEEP),
             LIBSDS_ERR_BAD_HANDLE);
  CHECK_FAIL(libsds_free(h), LIBSDS_ERR_BAD_HANDLE);
}

/* ---- per-thread last error ---- */

typedef struct {
  libsds_handle h;
  int saw_empty_at_start;
  int fail_rc;
  char fail_msg[256];
  int ok_rc;
  int saw_empty_after_ok;
} thread_check;

static void *last_error_thread(void *arg) {
  thread_check *t = arg;
  /* A fresh thread has no failure of its own, whatever the main thread did. */
  t->saw_empty_at_start = strcmp(libsds_last_error(), "") == 0;
  libsds_buffer out = {0};
  t->fail_rc = libsds_wrap(t->h, payload, 5, "id", "", &out); /* empty channel */
  snprintf(t->fail_msg, sizeof t->fail_msg, "%s", libsds_last_error());
  t->ok_rc = libsds_run_tasks(t->h, 0);
  t->saw_empty_after_ok = strcmp(libsds_last_error(), "") == 0;
  return NULL;
}

int main(void) {
  libsds_handle h = 0;
  CHECK_OK(libsds_new(NULL, &h));
  CHECK(h != 0);

  /* A valid wire message to feed to unwrap. */
  libsds_buffer w = {0};
  CHECK_OK(libsds_wrap(h, payload, 5, "m1", "ch", &w));
  CHECK(w.data != NULL && w.len > 0);

  /* ---- bad handles ---- */
  check_bad_handle(0, w.data, w.len);
  check_bad_handle((libsds_handle)0x1234, w.data, w.len);
  check_bad_handle((libsds_handle)0xffffffffffffffffull, w.data, w.len);
  check_bad_handle(h + 16, w.data, w.len); /* a plausible neighbour of a live handle */
  {
    libsds_handle f = 0;
    CHECK_OK(libsds_new(NULL, &f));
    CHECK_OK(libsds_free(f));
    check_bad_handle(f, w.data, w.len); /* includes the double free */
    CHECK_FAIL(libsds_free(f), LIBSDS_ERR_BAD_HANDLE);
  }
  {
    /* A compatible-API context is not a native handle. */
    tu_result r;
    tu_result_init(&r);
    void *ctx = SdsNewReliabilityManager(tu_result_cb, &r);
    CHECK(ctx != NULL);
    tu_wait(&r, 1);
    check_bad_handle((libsds_handle)(uintptr_t)ctx, w.data, w.len);
    CHECK_EQ_INT(SdsCleanupReliabilityManager(ctx, tu_result_cb, &r), RET_OK);
    tu_wait(&r, 2);
    tu_result_destroy(&r);
  }

  /* ---- NULL out-parameters ---- */
  CHECK_FAIL(libsds_new(NULL, NULL), LIBSDS_ERR_INVALID_ARG);
  CHECK_FAIL(libsds_wrap(h, payload, 5, "id", "ch", NULL), LIBSDS_ERR_INVALID_ARG);
  CHECK_FAIL(libsds_unwrap(h, w.data, w.len, NULL), LIBSDS_ERR_INVALID_ARG);

  /* ---- wrap arguments ---- */
  {
    libsds_buffer out = {(uint8_t *)0x1, 7};
    CHECK_FAIL(libsds_wrap(h, NULL, 5, "id", "ch", &out), LIBSDS_ERR_INVALID_ARG);
    CHECK(out.data == NULL && out.len == 0);
    CHECK_FAIL(libsds_wrap(h, payload, 5, NULL, "ch", &out), LIBSDS_ERR_INVALID_ARG);
    CHECK_FAIL(libsds_wrap(h, payload, 5, "id", NULL, &out), LIBSDS_ERR_INVALID_ARG);
    CHECK_FAIL(libsds_wrap(h, payload, 5, "id", "", &out), LIBSDS_ERR_INVALID_ARG);
    CHECK_FAIL(libsds_wrap(h, payload, 0, "id", "ch", &out), LIBSDS_ERR_INVALID_ARG);
    CHECK_FAIL(libsds_wrap(h, NULL, 0, "id", "ch", &out), LIBSDS_ERR_INVALID_ARG);
    CHECK(out.data == NULL && out.len == 0);

    uint8_t *big = calloc(1, MIB + 1);
    CHECK(big != NULL);
    if (big) {
      CHECK_FAIL(libsds_wrap(h, big, MIB + 1, "big", "ch", &out), LIBSDS_ERR_TOO_LARGE);
      CHECK(out.data == NULL && out.len == 0);
      CHECK_OK(libsds_wrap(h, big, MIB, "big", "ch", &out));
      CHECK(out.len > MIB);
      libsds_buffer_free(&out);
      free(big);
    }
    /* An empty message id is allowed. */
    CHECK_OK(libsds_wrap(h, payload, 5, "", "ch", &out));
    libsds_buffer_free(&out);
  }

  /* ---- unwrap arguments and input ---- */
  {
    libsds_unwrapped *u = (libsds_unwrapped *)0x1;
    CHECK_FAIL(libsds_unwrap(h, NULL, 5, &u), LIBSDS_ERR_INVALID_ARG);
    CHECK(u == NULL);
    u = (libsds_unwrapped *)0x1;
    CHECK_FAIL(libsds_unwrap(h, NULL, 0, &u), LIBSDS_ERR_DECODE);
    CHECK(u == NULL);
    const uint8_t empty[1] = {0};
    CHECK_FAIL(libsds_unwrap(h, empty, 0, &u), LIBSDS_ERR_DECODE);
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK_FAIL(libsds_unwrap(h, garbage, sizeof garbage, &u), LIBSDS_ERR_DECODE);
    const uint8_t text[] = "this is not an SDS message";
    CHECK_FAIL(libsds_unwrap(h, text, sizeof text - 1, &u), LIBSDS_ERR_DECODE);
    /* Truncated copies of a valid message: in the middle of the bloom filter
       (the last field), in the middle, and after a few bytes. */
    CHECK_FAIL(libsds_unwrap(h, w.data, w.len - 3, &u), LIBSDS_ERR_DECODE);
    CHECK_FAIL(libsds_unwrap(h, w.data, w.len / 2, &u), LIBSDS_ERR_DECODE);
    CHECK_FAIL(libsds_unwrap(h, w.data, 3, &u), LIBSDS_ERR_DECODE);
    CHECK(u == NULL);
    /* Over 16 MiB: too large, whatever the bytes. */
    size_t huge_len = 16 * MIB + 1;
    uint8_t *huge = calloc(1, huge_len);
    CHECK(huge != NULL);
    if (huge) {
      memcpy(huge, w.data, w.len);
      CHECK_FAIL(libsds_unwrap(h, huge, huge_len, &u), LIBSDS_ERR_TOO_LARGE);
      CHECK(u == NULL);
      free(huge);
    }
    /* The intact message still unwraps (a duplicate of our own: no error). */
    CHECK_OK(libsds_unwrap(h, w.data, w.len, &u));
    CHECK(u != NULL);
    libsds_unwrapped_free(u);
  }

  /* ---- mark_dependencies_met arguments ---- */
  {
    libsds_str ids[2] = {{"m1", 2}, {"zz", 2}};
    libsds_str null_id[1] = {{NULL, 3}};
    CHECK_FAIL(libsds_mark_dependencies_met(h, NULL, 2, "ch"), LIBSDS_ERR_INVALID_ARG);
    CHECK_FAIL(libsds_mark_dependencies_met(h, ids, 2, NULL), LIBSDS_ERR_INVALID_ARG);
    CHECK_FAIL(libsds_mark_dependencies_met(h, ids, 2, ""), LIBSDS_ERR_INVALID_ARG);
    CHECK_FAIL(libsds_mark_dependencies_met(h, null_id, 1, "ch"), LIBSDS_ERR_INVALID_ARG);
    CHECK_FAIL(libsds_mark_dependencies_met(h, ids, 2, "no-such-channel"), LIBSDS_ERR_UNKNOWN_CHANNEL);
    CHECK_OK(libsds_mark_dependencies_met(h, NULL, 0, "ch"));
    CHECK_OK(libsds_mark_dependencies_met(h, ids, 2, "ch"));
  }

  /* ---- remove_channel arguments ---- */
  CHECK_FAIL(libsds_remove_channel(h, NULL), LIBSDS_ERR_INVALID_ARG);
  {
    /* "" names no channel wrap could create; the header only promises that an
       unknown channel is not an error, so either answer is accepted. */
    int rc = libsds_remove_channel(h, "");
    CHECK(rc == LIBSDS_OK || rc == LIBSDS_ERR_INVALID_ARG);
    printf("native_misuse: libsds_remove_channel(h, \"\") -> %s\n", libsds_status_str(rc));
  }
  CHECK_OK(libsds_remove_channel(h, "never-used")); /* unknown: not an error */

  /* ---- the free functions ---- */
  libsds_buffer_free(NULL);
  {
    libsds_buffer b = {0};
    CHECK_OK(libsds_wrap(h, payload, 5, "m2", "ch", &b));
    libsds_buffer_free(&b);
    CHECK(b.data == NULL && b.len == 0);
    libsds_buffer_free(&b); /* already freed (zeroed): fine */
    libsds_buffer zero = {0};
    libsds_buffer_free(&zero);
  }
  libsds_unwrapped_free(NULL);

  /* ---- libsds_status_str ---- */
  {
    const int codes[] = {LIBSDS_OK, LIBSDS_ERR, LIBSDS_ERR_BAD_HANDLE, LIBSDS_ERR_INVALID_ARG,
                         LIBSDS_ERR_TOO_LARGE, LIBSDS_ERR_DECODE, LIBSDS_ERR_UNKNOWN_CHANNEL,
                         LIBSDS_ERR_TOO_MANY_CHANNELS, LIBSDS_ERR_STORE, LIBSDS_ERR_UNSUPPORTED,
                         LIBSDS_ERR_REENTRANT, LIBSDS_ERR_CLOSED, LIBSDS_ERR_INTERNAL, LIBSDS_ERR_USER};
    const size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
      const char *s = libsds_status_str(codes[i]);
      CHECK(s != NULL && s[0] != 0);
      for (size_t j = 0; s && j < i; j++) {
        const char *t = libsds_status_str(codes[j]);
        if (t && strcmp(s, t) == 0) {
          fprintf(stderr, "status_str(%d) == status_str(%d) == \"%s\"\n", codes[i], codes[j], s);
          tu_failures++;
        }
      }
    }
    const int unknown[] = {1, 42, -14, -100, 0x7fffffff, (int)0x80000000};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
      const char *s = libsds_status_str(unknown[i]);
      CHECK(s != NULL && s[0] != 0);
      for (size_t j = 0; s && j < n; j++) CHECK(strcmp(s, libsds_status_str(codes[j])) != 0);
    }
  }

  /* ---- libsds_last_error ---- */
  {
    libsds_buffer out = {0};
    CHECK_FAIL(libsds_wrap(h, payload, 0, "id", "ch", &out), LIBSDS_ERR_INVALID_ARG);
    char main_msg[256];
    snprintf(main_msg, sizeof main_msg, "%s", libsds_last_error());
    CHECK(strstr(main_msg, "content") != NULL); /* describes what was wrong */

    CHECK_FAIL(libsds_free(0x1234), LIBSDS_ERR_BAD_HANDLE);
    CHECK(strcmp(libsds_last_error(), main_msg) != 0); /* the newest failure */
    CHECK_FAIL(libsds_wrap(h, payload, 0, "id", "ch", &out), LIBSDS_ERR_INVALID_ARG);
    CHECK_STR(libsds_last_error(), main_msg);

    thread_check t = {.h = h};
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, last_error_thread, &t), 0);
    pthread_join(th, NULL);
    CHECK(t.saw_empty_at_start);
    CHECK_EQ_INT(t.fail_rc, LIBSDS_ERR_INVALID_ARG);
    CHECK(t.fail_msg[0] != 0 && strstr(t.fail_msg, "channel") != NULL);
    CHECK_EQ_INT(t.ok_rc, LIBSDS_OK);
    CHECK(t.saw_empty_after_ok);
    /* The other thread's calls did not touch this thread's last error. */
    CHECK_STR(libsds_last_error(), main_msg);

    CHECK_OK(libsds_run_tasks(h, 0));
    CHECK_STR(libsds_last_error(), "");
    CHECK_OK(libsds_set_event_handler(h, NULL, NULL));
  }

  libsds_buffer_free(&w);
  CHECK_OK(libsds_free(h));
  CHECK_FAIL(libsds_free(h), LIBSDS_ERR_BAD_HANDLE);
  return tu_done("native_misuse");
}
