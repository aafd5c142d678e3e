/* Shared helpers for the C tests in tests/c: assertions that report the file
   and line, a waitable result slot for the compatible API's asynchronous
   callbacks, a fence for a compatible manager (compat_fence), and time
   helpers. Each test is one program; `make test-c` builds it
   against include/ and build/asan/libsds.so (the library itself built with
   AddressSanitizer and UBSan) with AddressSanitizer and runs it.
   More shared helpers, each header including this one: testwire.h (reading and
   writing SDS wire messages), testevents.h (the native event recorder),
   testnative.h (native manager, wrap/unwrap and temp-directory helpers),
   testcompat.h (compatible-API manager helpers and a watchdog) and
   testcompatlog.h (one log of compatible-API events and results). */
#ifndef LIBSDS_TESTUTIL_H
#define LIBSDS_TESTUTIL_H

#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libsds.h>
#include <sds.h>

static int tu_failures;

#define CHECK(cond)                                                                    \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);         \
      tu_failures++;                                                                   \
    }                                                                                  \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                             \
  do {                                                                                 \
    long long tu_a = (long long)(a), tu_b = (long long)(b);                            \
    if (tu_a != tu_b) {                                                                \
      fprintf(stderr, "%s:%d: CHECK_EQ_INT failed: %s = %lld, %s = %lld\n", __FILE__, \
              __LINE__, #a, tu_a, #b, tu_b);                                           \
      tu_failures++;                                                                   \
    }                                                                                  \
  } while (0)

#define CHECK_STR(a, b)                                                                \
  do {                                                                                 \
    const char *tu_a = (a), *tu_b = (b);                                               \
    if (!tu_a || !tu_b || strcmp(tu_a, tu_b) != 0) {                                   \
      fprintf(stderr, "%s:%d: CHECK_STR failed: %s = \"%s\", %s = \"%s\"\n", __FILE__, \
              __LINE__, #a, tu_a ? tu_a : "(null)", #b, tu_b ? tu_b : "(null)");       \
      tu_failures++;                                                                   \
    }                                                                                  \
  } while (0)

/* Ends a test program: prints a summary and returns the exit status. */
static inline int tu_done(const char *name) {
  if (tu_failures) {
    fprintf(stderr, "%s: %d check(s) FAILED\n", name, tu_failures);
    return 1;
  }
  printf("%s: ok\n", name);
  return 0;
}

/* Whether the compatible APIs' calls deliver their own callbacks on the
   caller's thread (the default; LIBSDS_CALLER_DELIVERS=0 turns it off). */
static inline int tu_caller_delivers(void) {
  const char *mode = getenv("LIBSDS_CALLER_DELIVERS");
  return !(mode && strcmp(mode, "0") == 0);
}

static inline double tu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static inline void tu_sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) == -1 && errno == EINTR) {
  }
}

/* A result slot for the compatible API: the callback copies the result and
   signals; tu_wait blocks until the expected number of callbacks arrived (or
   a 5 s timeout, which counts as a failure). */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int calls;
  int ret;
  char *msg;
  size_t len;
  const char *raw; /* the pointer the library passed, to read after the callback */
} tu_result;

static inline void tu_result_init(tu_result *r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
}

static inline void tu_result_destroy(tu_result *r) {
  free(r->msg);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
}

static inline void tu_result_cb(int ret, const char *msg, size_t len, void *ud) {
  tu_result *r = ud;
  pthread_mutex_lock(&r->mu);
  free(r->msg);
  r->msg = malloc(len + 1);
  if (msg && len) memcpy(r->msg, msg, len);
  r->msg[len] = 0;
  r->len = len;
  r->ret = ret;
  r->raw = msg;
  r->calls++;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

/* Waits until r has seen at least n callbacks; returns 0 on timeout. */
static inline int tu_wait(tu_result *r, int n) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 5;
  int ok = 1;
  pthread_mutex_lock(&r->mu);
  while (r->calls < n) {
    if (pthread_cond_timedwait(&r->cv, &r->mu, &deadline) == ETIMEDOUT) {
      ok = 0;
      break;
    }
  }
  pthread_mutex_unlock(&r->mu);
  if (!ok) {
    fprintf(stderr, "tu_wait: timed out waiting for callback %d\n", n);
    tu_failures++;
  }
  return ok;
}

/* A fence: returns once every event and result ctx queued before the call
   has been delivered. A manager's results are delivered in order with its
   events, so the result of this call (marking no dependencies, which changes
   nothing) comes after all of them. A negative check ("no further event")
   looks after compat_fence. */
static inline void compat_fence(void *ctx) {
  tu_result r;
  tu_result_init(&r);
  CHECK_EQ_INT(SdsMarkDependenciesMet(ctx, NULL, 0, "fence", tu_result_cb, &r), RET_OK);
  CHECK(tu_wait(&r, 1));
  tu_result_destroy(&r);
}

/* Parses the compatible wrap result ("10,5,109,...") into bytes; returns the
   count. out must hold len/2+1 bytes. */
static inline size_t tu_parse_csv(const char *s, size_t n, unsigned char *out) {
  size_t k = 0;
  unsigned v = 0;
  int have = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == ',') {
      out[k++] = (unsigned char)v;
      v = 0;
      have = 0;
    } else {
      v = v * 10 + (unsigned)(s[i] - '0');
      have = 1;
    }
  }
  if (have) out[k++] = (unsigned char)v;
  return k;
}

#endif
