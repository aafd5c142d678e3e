/* A growable protobuf writer for hostile SDS messages (any size up to what
   the test asks), and a counting event handler, for tests/c/hostile.c. Field
   numbers are the SDS message's: 1 id, 2 lamport, 3 causal history,
   4 channel, 5 content, 6 bloom filter, 7 sender id, 13 repair requests; an
   entry has 1 id, 2 retrieval hint, 3 sender id. */
#ifndef LIBSDS_TESTHOSTILE_H
#define LIBSDS_TESTHOSTILE_H

#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>

/* A growable byte buffer. */
typedef struct {
  uint8_t *b;
  size_t n, cap;
} hbuf;

static inline void hb_reserve(hbuf *p, size_t more) {
  if (p->n + more <= p->cap) return;
  size_t cap = p->cap ? p->cap : 256;
  while (cap < p->n + more) cap *= 2;
  uint8_t *nb = realloc(p->b, cap);
  if (!nb) {
    fprintf(stderr, "hb_reserve: out of memory\n");
    abort();
  }
  p->b = nb;
  p->cap = cap;
}

static inline void hb_free(hbuf *p) {
  free(p->b);
  memset(p, 0, sizeof *p);
}

static inline void hb_varint(hbuf *p, uint64_t v) {
  hb_reserve(p, 10);
  do {
    uint8_t c = v & 0x7f;
    v >>= 7;
    p->b[p->n++] = c | (v ? 0x80 : 0);
  } while (v);
}

/* A length-delimited field numbered num. */
static inline void hb_bytes(hbuf *p, uint32_t num, const void *d, size_t len) {
  hb_varint(p, (uint64_t)num << 3 | 2);
  hb_varint(p, len);
  hb_reserve(p, len);
  if (len) memcpy(p->b + p->n, d, len);
  p->n += len;
}

/* A field of len copies of byte c. */
static inline void hb_fill(hbuf *p, uint32_t num, int c, size_t len) {
  hb_varint(p, (uint64_t)num << 3 | 2);
  hb_varint(p, len);
  hb_reserve(p, len);
  memset(p->b + p->n, c, len);
  p->n += len;
}

static inline void hb_str(hbuf *p, uint32_t num, const char *s) { hb_bytes(p, num, s, strlen(s)); }

static inline void hb_lamport(hbuf *p, uint64_t l) {
  hb_varint(p, 2 << 3);
  hb_varint(p, l);
}

/* A history entry (num 3) or repair request (num 13): id, optional hint and sender. */
static inline void hb_entry(hbuf *p, uint32_t num, const void *id, size_t id_len, const void *hint, size_t hint_len,
                            const char *sender) {
  hbuf e = {0};
  hb_bytes(&e, 1, id, id_len);
  if (hint_len) hb_bytes(&e, 2, hint, hint_len);
  if (sender && *sender) hb_str(&e, 3, sender);
  hb_bytes(p, num, e.b, e.n);
  hb_free(&e);
}

/* Starts a message: id, lamport 1, channel ch (fields may follow in any order). */
static inline void hb_head(hbuf *p, const void *id, size_t id_len, const char *ch) {
  p->n = 0;
  hb_bytes(p, 1, id, id_len);
  hb_lamport(p, 1);
  hb_str(p, 4, ch);
}

/* Ends a message: content (at least one byte) and an empty bloom filter. */
static inline void hb_tail(hbuf *p, const void *content, size_t len) {
  hb_bytes(p, 5, content, len);
  hb_bytes(p, 6, "", 0);
}

/* Counts the events of each type; remembers whether one message id was
   delivered (MESSAGE_READY) and wakes waiters. */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  long count[16];
  char want[128]; /* the id hc_wait_ready waits for */
  int ready;      /* MESSAGE_READY(want) seen */
} hcount;

static inline void hc_init(hcount *c) {
  memset(c, 0, sizeof *c);
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
}

static inline void hc_on_event(const libsds_event *e, void *ud) {
  hcount *c = ud;
  pthread_mutex_lock(&c->mu);
  if (e->type < 16) c->count[e->type]++;
  if (e->type == LIBSDS_EVENT_MESSAGE_READY && c->want[0] && e->message_id.len == strlen(c->want) &&
      memcmp(e->message_id.data, c->want, e->message_id.len) == 0)
    c->ready = 1;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

/* Arms the wait for MESSAGE_READY(id); call before the unwrap that delivers it. */
static inline void hc_expect(hcount *c, const char *id) {
  pthread_mutex_lock(&c->mu);
  snprintf(c->want, sizeof c->want, "%s", id);
  c->ready = 0;
  pthread_mutex_unlock(&c->mu);
}

/* Waits for the armed MESSAGE_READY (10 s at most: a timeout is a failure). */
static inline int hc_wait_ready(hcount *c) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 10;
  pthread_mutex_lock(&c->mu);
  while (!c->ready)
    if (pthread_cond_timedwait(&c->cv, &c->mu, &dl) == ETIMEDOUT) break;
  int ok = c->ready;
  pthread_mutex_unlock(&c->mu);
  return ok;
}

/* Waits until at least n events of one type arrived (10 s at most). */
static inline int hc_wait_count(hcount *c, uint32_t type, long n) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 10;
  pthread_mutex_lock(&c->mu);
  while (c->count[type] < n)
    if (pthread_cond_timedwait(&c->cv, &c->mu, &dl) == ETIMEDOUT) break;
  int ok = c->count[type] >= n;
  pthread_mutex_unlock(&c->mu);
  return ok;
}

/* The number of events of one type so far. */
static inline long hc_count(hcount *c, uint32_t type) {
  pthread_mutex_lock(&c->mu);
  long n = c->count[type];
  pthread_mutex_unlock(&c->mu);
  return n;
}

#endif
