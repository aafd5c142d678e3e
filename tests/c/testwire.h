/* A minimal protobuf reader/writer for SDS wire messages, shared by the native
   C tests: walk a message's top-level fields, find or count them, read the
   history entries' ids, strip a field, and write messages by hand. Field
   numbers are those of the SDS message: 1 id, 2 lamport, 3 causal history,
   4 channel, 5 content, 6 bloom filter, 7 sender id, 13 repair requests. */
#ifndef LIBSDS_TESTWIRE_H
#define LIBSDS_TESTWIRE_H

#include "testutil.h"
#include "testevents.h"

#include <stdint.h>

/* One field: number, wire type, varint value (type 0), bytes (type 2), and its whole span in the input. */
typedef struct {
  uint32_t num, wt;
  uint64_t v;
  const uint8_t *data;
  size_t len;
  size_t start, end; /* the whole field's span in the input */
} pb_field;

/* Reads a varint at *i (advancing it); 0 on success, -1 if truncated or too long. */
static inline int pb_varint(const uint8_t *b, size_t n, size_t *i, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*i >= n) return -1;
    uint8_t c = b[(*i)++];
    *v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) return 0;
  }
  return -1;
}

/* Reads the next top-level field at *i: 1 a field was read; 0 end of input; -1 malformed. */
static inline int pb_next(const uint8_t *b, size_t n, size_t *i, pb_field *f) {
  if (*i >= n) return 0;
  f->start = *i;
  uint64_t key;
  if (pb_varint(b, n, i, &key)) return -1;
  f->num = (uint32_t)(key >> 3);
  f->wt = (uint32_t)(key & 7);
  f->data = NULL;
  f->len = 0;
  f->v = 0;
  int r = -1;
  switch (f->wt) {
  case 0: r = pb_varint(b, n, i, &f->v) ? -1 : 1; break;
  case 2: {
    uint64_t len;
    if (pb_varint(b, n, i, &len) || len > n - *i) return -1;
    f->data = b + *i;
    f->len = (size_t)len;
    *i += (size_t)len;
    r = 1;
    break;
  }
  case 1: if (n - *i < 8) return -1; *i += 8; r = 1; break;
  case 5: if (n - *i < 4) return -1; *i += 4; r = 1; break;
  }
  f->end = *i;
  return r;
}

/* Counts top-level fields numbered num; -1 if the message is malformed. */
static inline int pb_count(const uint8_t *b, size_t n, uint32_t num) {
  size_t i = 0;
  pb_field f;
  int c = 0, r;
  while ((r = pb_next(b, n, &i, &f)) == 1)
    if (f.num == num) c++;
  return r < 0 ? -1 : c;
}

/* Finds the last top-level field numbered num; 1 if found. */
static inline int pb_get(const uint8_t *b, size_t n, uint32_t num, pb_field *out) {
  size_t i = 0;
  pb_field f;
  int found = 0;
  while (pb_next(b, n, &i, &f) == 1)
    if (f.num == num) {
      *out = f;
      found = 1;
    }
  return found;
}

/* Finds the k-th (0-based) top-level field numbered num; 1 if found. */
static inline int pb_nth(const uint8_t *b, size_t n, uint32_t num, int k, pb_field *out) {
  size_t i = 0;
  pb_field f;
  while (pb_next(b, n, &i, &f) == 1)
    if (f.num == num && k-- == 0) {
      *out = f;
      return 1;
    }
  return 0;
}

/* Is f a bytes field holding exactly the string s? */
static inline int field_is(const pb_field *f, const char *s) {
  return f->wt == 2 && f->len == strlen(s) && memcmp(f->data, s, f->len) == 0;
}

/* Copies a message leaving out every top-level field numbered drop; returns the new length. */
static inline size_t pb_strip(const uint8_t *b, size_t n, uint32_t drop, uint8_t *out) {
  size_t i = 0, k = 0;
  pb_field f;
  while (pb_next(b, n, &i, &f) == 1) {
    if (f.num == drop) continue;
    memcpy(out + k, b + f.start, f.end - f.start);
    k += f.end - f.start;
  }
  return k;
}

/* Copies a message leaving out its bloom filter (field 6); returns the new length. */
static inline size_t strip_bloom(const uint8_t *b, size_t n, uint8_t *out) { return pb_strip(b, n, 6, out); }

/* Writes the ids of the top-level entries numbered num (3 history, 13 repair requests), comma-separated, in order. */
static inline void entry_ids(const uint8_t *b, size_t n, uint32_t num, char *out, size_t cap) {
  size_t i = 0, k = 0;
  pb_field f, g;
  out[0] = 0;
  while (pb_next(b, n, &i, &f) == 1) {
    if (f.num != num || f.wt != 2) continue;
    if (!pb_get(f.data, f.len, 1, &g)) continue;
    k += (size_t)snprintf(out + k, cap > k ? cap - k : 0, "%s%.*s", k ? "," : "", (int)g.len, (const char *)g.data);
  }
}

/* Writes a message's id (field 1) as a string; 0 if it has none. */
static inline int id_of(const uint8_t *b, size_t n, char *out, size_t cap) {
  pb_field f;
  if (!pb_get(b, n, 1, &f)) return 0;
  snprintf(out, cap, "%.*s", (int)f.len, (const char *)f.data);
  return 1;
}

/* Waits for n events and checks that they are LIBSDS_EVENT_REPAIR_READY and
   that their messages' ids are want[0..n-1], in any order, each once. */
static inline void check_repair_ready_ids(recorder *r, const char *const *want, int n) {
  int used[16] = {0};
  CHECK(n <= 16);
  CHECK(rec_wait(r, n));
  pthread_mutex_lock(&r->mu);
  for (int i = 0; i < n; i++) {
    CHECK_EQ_INT(r->ev[i].type, LIBSDS_EVENT_REPAIR_READY);
    char mid[16] = "";
    CHECK(r->ev[i].msg && id_of(r->ev[i].msg, r->ev[i].msg_len, mid, sizeof mid));
    int found = 0;
    for (int j = 0; j < n && !found; j++) {
      if (!used[j] && strcmp(mid, want[j]) == 0) used[j] = found = 1;
    }
    CHECK(found);
  }
  pthread_mutex_unlock(&r->mu);
}

/* The lamport timestamp (field 2) of a wire message, or -1. */
static inline int64_t wire_lamport(const libsds_buffer *b) {
  pb_field f;
  if (!pb_get(b->data, b->len, 2, &f) || f.wt != 0) return -1;
  return (int64_t)f.v;
}

/* A fixed-size byte buffer for writing messages by hand. */
typedef struct {
  uint8_t b[4096];
  size_t n;
} pb_buf;

/* Appends a varint. */
static inline void pb_put_varint(pb_buf *p, uint64_t v) {
  do {
    uint8_t c = v & 0x7f;
    v >>= 7;
    p->b[p->n++] = c | (v ? 0x80 : 0);
  } while (v);
}

/* Appends a bytes field numbered num. */
static inline void pb_put_bytes(pb_buf *p, uint32_t num, const void *d, size_t len) {
  pb_put_varint(p, (uint64_t)num << 3 | 2);
  pb_put_varint(p, len);
  memcpy(p->b + p->n, d, len);
  p->n += len;
}

/* Writes a message (id, lamport, history citing deps, channel ch, content "x", no bloom) into p; returns its length. */
static inline size_t pb_craft(pb_buf *p, const char *id, size_t id_len, uint64_t lamport, const char *const *deps,
                              const size_t *dep_lens /* NULL: strlen */, int ndeps, const char *ch) {
  p->n = 0;
  pb_put_bytes(p, 1, id, id_len);
  pb_put_varint(p, 2 << 3);
  pb_put_varint(p, lamport);
  for (int i = 0; i < ndeps; i++) {
    pb_buf e = {.n = 0};
    pb_put_bytes(&e, 1, deps[i], dep_lens ? dep_lens[i] : strlen(deps[i]));
    pb_put_bytes(p, 3, e.b, e.n);
  }
  pb_put_bytes(p, 4, ch, strlen(ch));
  pb_put_bytes(p, 5, "x", 1);
  return p->n;
}

#endif
