/* One log of the compatible API's events and results in arrival order, under
   one mutex, for compat tests that check how the two interleave: pass ev_cb as
   the event callback and res_cb as a result callback, with a distinct ud per
   call. Include it only where the log is used: it defines file-scope state. */
#ifndef LIBSDS_TESTCOMPATLOG_H
#define LIBSDS_TESTCOMPATLOG_H

#include "testutil.h"

/* One logged callback. */
typedef struct {
  char kind; /* 'E' event, 'R' result */
  int ret;
  char *msg; /* a NUL-terminated copy */
  size_t len;
  void *ud;
  pthread_t thr; /* the thread it was called on */
} entry;

/* The log: log_e[0..log_n), guarded by log_mu; log_cv is signalled on every append. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t log_cv = PTHREAD_COND_INITIALIZER;
static entry log_e[2048]; /* callbacks beyond this are not logged */
static int log_n;

/* Appends one callback to the log and wakes the waiters. */
static inline void log_add(char kind, int ret, const char *msg, size_t len, void *ud) {
  pthread_mutex_lock(&log_mu);
  if (log_n < (int)(sizeof log_e / sizeof log_e[0])) {
    entry *e = &log_e[log_n++];
    e->kind = kind;
    e->ret = ret;
    e->msg = malloc(len + 1);
    if (len) memcpy(e->msg, msg, len);
    e->msg[len] = 0;
    e->len = len;
    e->ud = ud;
    e->thr = pthread_self();
  }
  pthread_cond_broadcast(&log_cv);
  pthread_mutex_unlock(&log_mu);
}

/* The event callback: logs an 'E' entry. */
static inline void ev_cb(int ret, const char *msg, size_t len, void *ud) { log_add('E', ret, msg, len, ud); }

/* The result callback: logs an 'R' entry. */
static inline void res_cb(int ret, const char *msg, size_t len, void *ud) { log_add('R', ret, msg, len, ud); }

#endif
