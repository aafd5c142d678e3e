/* native_options: libsds_options — NULL, LIBSDS_OPTIONS_INIT and a zeroed struct
   mean defaults; the config_set mask decides which fields are read (checked on
   the wire); unknown bits, invalid values and size 0 are rejected with
   last_error naming the problem; a short size hides the fields beyond it;
   participant_id becomes the sender id; the store kinds. */
#include "testutil.h"
#include "testnative.h"
#include "testwire.h"

#include <stddef.h>
#include <unistd.h>

/* ---- helpers ---- */

static const uint8_t payload[] = "payload";

/* Wraps n messages on a new channel and returns the number of causal-history
   entries (field 3) of the last one. */
static int history_after(libsds_handle h, int n) {
  int entries = -2;
  char ch[32];
  static int channel_seq;
  snprintf(ch, sizeof ch, "hist-%d", ++channel_seq);
  for (int i = 0; i < n; i++) {
    char id[32];
    snprintf(id, sizeof id, "h%d", i);
    libsds_buffer w = {0};
    int rc = libsds_wrap(h, payload, sizeof payload - 1, id, ch, &w);
    CHECK_EQ_INT(rc, LIBSDS_OK);
    if (i == n - 1 && rc == LIBSDS_OK) entries = pb_count(w.data, w.len, 3);
    libsds_buffer_free(&w);
  }
  return entries;
}

/* Lowercases s and drops underscores, so "bloom_error_rate" and
   "BloomErrorRate" both become "bloomerrorrate". */
static void squash(const char *s, char *out, size_t cap) {
  size_t k = 0;
  for (; *s && k + 1 < cap; s++) {
    if (*s == '_') continue;
    out[k++] = (char)((*s >= 'A' && *s <= 'Z') ? *s - 'A' + 'a' : *s);
  }
  out[k] = 0;
}

static int last_error_names(const char *field) {
  char a[512], b[64];
  squash(libsds_last_error(), a, sizeof a);
  squash(field, b, sizeof b);
  if (!strstr(a, b)) {
    fprintf(stderr, "last_error \"%s\" does not name %s\n", libsds_last_error(), field);
    return 0;
  }
  return 1;
}

/* Expects libsds_new to fail with want and a last_error naming field (if not NULL). */
static void expect_new_fails(const libsds_options *o, int want, const char *field, int line) {
  libsds_handle h = 0x55;
  int rc = libsds_new(o, &h);
  if (rc != want) {
    fprintf(stderr, "line %d: libsds_new = %d (%s), want %d\n", line, rc, libsds_last_error(), want);
    tu_failures++;
  }
  if (h != 0) {
    fprintf(stderr, "line %d: handle not zeroed on failure\n", line);
    tu_failures++;
  }
  if (!libsds_last_error()[0]) {
    fprintf(stderr, "line %d: empty last_error\n", line);
    tu_failures++;
  }
  if (field && !last_error_names(field)) {
    fprintf(stderr, "  (line %d)\n", line);
    tu_failures++;
  }
  if (rc == LIBSDS_OK) libsds_free(h);
}

int main(void) {
  libsds_handle h;

  /* ---- defaults three ways: 10 causal-history entries after 12 wraps ---- */
  h = 0;
  CHECK_EQ_INT(libsds_new(NULL, &h), LIBSDS_OK);
  CHECK(h != 0);
  CHECK_EQ_INT(history_after(h, 12), 10);
  {
    /* no participant id: no sender id field */
    libsds_buffer w = {0};
    CHECK_EQ_INT(libsds_wrap(h, payload, 3, "x", "c", &w), LIBSDS_OK);
    CHECK_EQ_INT(pb_count(w.data, w.len, 7), 0);
    libsds_buffer_free(&w);
  }
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);

  {
    libsds_options o = LIBSDS_OPTIONS_INIT;
    CHECK_EQ_INT(o.size, sizeof(libsds_options));
    h = 0;
    CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
    CHECK_EQ_INT(history_after(h, 12), 10);
    CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  }
  {
    libsds_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    h = 0;
    CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
    CHECK_EQ_INT(history_after(h, 12), 10);
    CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  }

  /* ---- config_set decides ---- */
  {
    libsds_options o = LIBSDS_OPTIONS_INIT;
    o.max_causal_history = 0;
    o.config_set = LIBSDS_CFG_MAX_CAUSAL_HISTORY;
    h = 0;
    CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
    CHECK_EQ_INT(history_after(h, 12), 0); /* a real 0: no field 3 at all */
    CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);

    o.config_set = 0; /* same value, bit not set: ignored */
    CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
    CHECK_EQ_INT(history_after(h, 12), 10);
    CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);

    o.max_causal_history = 3;
    o.config_set = LIBSDS_CFG_MAX_CAUSAL_HISTORY;
    CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
    CHECK_EQ_INT(history_after(h, 12), 3);
    CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);

    /* invalid values in fields whose bit is not set are not read */
    o.config_set = 0;
    o.bloom_error_rate = 1.5;
    o.num_response_groups = 0;
    o.bloom_capacity = 0;
    o.sync_interval_ms = -5;
    CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
    CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  }

  /* ---- rejected options ---- */
  {
    libsds_options o = LIBSDS_OPTIONS_INIT;
    o.config_set = 1ull << 18; /* the first unknown bit */
    expect_new_fails(&o, LIBSDS_ERR_INVALID_ARG, NULL, __LINE__);
    o.config_set = 1ull << 63;
    expect_new_fails(&o, LIBSDS_ERR_INVALID_ARG, NULL, __LINE__);
    o.config_set = LIBSDS_CFG_MAX_CAUSAL_HISTORY | (1ull << 40);
    expect_new_fails(&o, LIBSDS_ERR_INVALID_ARG, NULL, __LINE__);

    libsds_options e = LIBSDS_OPTIONS_INIT;
    e.bloom_error_rate = 1.5;
    e.config_set = LIBSDS_CFG_BLOOM_ERROR_RATE;
    expect_new_fails(&e, LIBSDS_ERR_INVALID_ARG, "bloom_error_rate", __LINE__);
    e.bloom_error_rate = 0.0;
    expect_new_fails(&e, LIBSDS_ERR_INVALID_ARG, "bloom_error_rate", __LINE__);

    libsds_options g = LIBSDS_OPTIONS_INIT;
    g.num_response_groups = 0;
    g.config_set = LIBSDS_CFG_NUM_RESPONSE_GROUPS;
    expect_new_fails(&g, LIBSDS_ERR_INVALID_ARG, "num_response_groups", __LINE__);

    libsds_options t = LIBSDS_OPTIONS_INIT;
    t.repair_t_min_ms = 100;
    t.repair_t_max_ms = 50;
    t.config_set = LIBSDS_CFG_REPAIR_T_MIN | LIBSDS_CFG_REPAIR_T_MAX;
    expect_new_fails(&t, LIBSDS_ERR_INVALID_ARG, "repair_t_max", __LINE__);

    libsds_options s = LIBSDS_OPTIONS_INIT;
    s.sync_interval_ms = 0;
    s.config_set = LIBSDS_CFG_SYNC_INTERVAL;
    expect_new_fails(&s, LIBSDS_ERR_INVALID_ARG, "sync_interval", __LINE__);

    /* Every field is range-checked at both ends where it has two: the value
       just outside fails naming the field, the value at the bound is fine. */
#define RANGE(bit, fld, bad, good)                                       \
  do {                                                                   \
    libsds_options r = LIBSDS_OPTIONS_INIT;                              \
    r.config_set = (bit);                                                \
    r.fld = (bad);                                                       \
    expect_new_fails(&r, LIBSDS_ERR_INVALID_ARG, #fld, __LINE__);        \
    r.fld = (good);                                                      \
    libsds_handle ok = 0;                                                \
    CHECK_EQ_INT(libsds_new(&r, &ok), LIBSDS_OK);                        \
    if (ok) CHECK_EQ_INT(libsds_free(ok), LIBSDS_OK);                    \
  } while (0)
    RANGE(LIBSDS_CFG_BLOOM_CAPACITY, bloom_capacity, UINT32_MAX, 1000);     /* used to abort the process */
    RANGE(LIBSDS_CFG_BLOOM_CAPACITY, bloom_capacity, 100000000u, 400000u); /* used to make 187.5 MB messages */
    RANGE(LIBSDS_CFG_BLOOM_ERROR_RATE, bloom_error_rate, 1e-13, 1e-12);
    RANGE(LIBSDS_CFG_MAX_MESSAGE_HISTORY, max_message_history, 1000001u, 1u);
    RANGE(LIBSDS_CFG_MAX_CAUSAL_HISTORY, max_causal_history, 1001u, 1000u);
    RANGE(LIBSDS_CFG_RESEND_INTERVAL, resend_interval_ms, INT64_MAX, 0);
    RANGE(LIBSDS_CFG_RESEND_INTERVAL, resend_interval_ms, 31536000001ll, 31536000000ll);
    RANGE(LIBSDS_CFG_MAX_RESEND_ATTEMPTS, max_resend_attempts, 1000001u, 0u);
    RANGE(LIBSDS_CFG_SYNC_INTERVAL, sync_interval_ms, INT64_MAX / 2 + 12345, 1);
    RANGE(LIBSDS_CFG_BUFFER_SWEEP_INTERVAL, buffer_sweep_interval_ms, -1, 1);
    RANGE(LIBSDS_CFG_REPAIR_T_MIN, repair_t_min_ms, -1, 0);
    RANGE(LIBSDS_CFG_REPAIR_T_MAX, repair_t_max_ms, 31536000001ll, 31536000000ll);
    RANGE(LIBSDS_CFG_NUM_RESPONSE_GROUPS, num_response_groups, 1000001u, 1000000u);
    RANGE(LIBSDS_CFG_MAX_REPAIR_REQUESTS, max_repair_requests, 101u, 100u);
    RANGE(LIBSDS_CFG_REPAIR_SWEEP_INTERVAL, repair_sweep_interval_ms, 0, 1);
    RANGE(LIBSDS_CFG_MAX_CHANNELS, max_channels, 1000001u, 1u);
    RANGE(LIBSDS_CFG_MAX_INCOMING_BUFFER, max_incoming_buffer, 0u, 1000000u);
    RANGE(LIBSDS_CFG_MAX_OUTGOING_BUFFER, max_outgoing_buffer, 1000001u, 1u);
    RANGE(LIBSDS_CFG_MAX_ID_LENGTH, max_id_length, 0u, 65536u);
    RANGE(LIBSDS_CFG_MAX_ID_LENGTH, max_id_length, 65537u, 1u);
    RANGE(LIBSDS_CFG_MAX_CHANNEL_ID_LENGTH, max_channel_id_length, 65537u, 1u);
    RANGE(LIBSDS_CFG_MAX_HINT_LENGTH, max_hint_length, 65537u, 0u);
    RANGE(LIBSDS_CFG_MAX_CAUSAL_ENTRIES, max_causal_entries, 100001u, 100000u);
    RANGE(LIBSDS_CFG_MAX_CAUSAL_ENTRIES, max_causal_entries, 9u, 10u); /* below max_causal_history */
    RANGE(LIBSDS_CFG_MAX_REPAIR_ENTRIES, max_repair_entries, 2u, 100000u); /* below max_repair_requests */
    RANGE(LIBSDS_CFG_MAX_CAUSAL_HISTORY_BYTES, max_causal_history_bytes, 4194305u, 0u);
    RANGE(LIBSDS_CFG_MAX_PENDING_REPAIRS, max_pending_repairs, 0u, 1000000u);
    RANGE(LIBSDS_CFG_MAX_INCOMING_BYTES, max_incoming_bytes, 0u, 1u);
    RANGE(LIBSDS_CFG_MAX_INCOMING_BYTES, max_incoming_bytes, UINT64_MAX, 1ull << 40);
    RANGE(LIBSDS_CFG_MAX_HISTORY_BYTES, max_history_bytes, (1ull << 40) + 1, 1ull << 40);
    RANGE(LIBSDS_CFG_MAX_REPAIR_BYTES, max_repair_bytes, 0u, 1u);
#undef RANGE

    libsds_options z = LIBSDS_OPTIONS_INIT;
    z.size = 0;
    expect_new_fails(&z, LIBSDS_ERR_INVALID_ARG, NULL, __LINE__);
    z.size = 4;
    expect_new_fails(&z, LIBSDS_ERR_INVALID_ARG, NULL, __LINE__);
  }

  /* ---- size versioning: nothing beyond size is read ---- */
  {
    libsds_options o = LIBSDS_OPTIONS_INIT;
    o.participant_id = "shorty";
    o.config_set = LIBSDS_CFG_MAX_CAUSAL_HISTORY | (1ull << 50); /* would be invalid if read */
    o.max_causal_history = 0;
    o.store_kind = LIBSDS_STORE_NONE;
    o.size = (uint32_t)offsetof(libsds_options, config_set);
    h = 0;
    CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
    CHECK_EQ_INT(history_after(h, 12), 10);
    libsds_buffer w = {0};
    CHECK_EQ_INT(libsds_wrap(h, payload, 3, "x", "c", &w), LIBSDS_OK);
    pb_field f;
    CHECK(pb_get(w.data, w.len, 7, &f) && field_is(&f, "shorty")); /* within size: read */
    libsds_buffer_free(&w);
    CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);

    /* config_set inside, max_causal_history just beyond: the bit is ignored */
    o.config_set = LIBSDS_CFG_MAX_CAUSAL_HISTORY;
    o.size = (uint32_t)offsetof(libsds_options, max_causal_history);
    CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
    CHECK_EQ_INT(history_after(h, 12), 10);
    CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);

    /* ... and exactly covering it: read */
    o.size = (uint32_t)(offsetof(libsds_options, max_causal_history) + sizeof o.max_causal_history);
    CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
    CHECK_EQ_INT(history_after(h, 12), 0);
    CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);

    /* a host store beyond size is not seen: the manager is memory-only */
    libsds_options p = LIBSDS_OPTIONS_INIT;
    p.store_kind = LIBSDS_STORE_HOST;
    p.persistence = NULL;
    p.size = (uint32_t)offsetof(libsds_options, persistence);
    expect_new_fails(&p, LIBSDS_ERR_INVALID_ARG, NULL, __LINE__); /* HOST without a vtable */
  }

  /* ---- wire generation: what wrap writes; unwrap reads both ---- */
  {
    libsds_options o4 = LIBSDS_OPTIONS_INIT, o3 = LIBSDS_OPTIONS_INIT;
    o4.participant_id = "alice";
    o4.config_set = LIBSDS_CFG_WIRE_GENERATION;
    o4.wire_generation = LIBSDS_WIRE_V04;
    o3.participant_id = "bob"; /* default: LIBSDS_WIRE_V03 */
    libsds_handle a = 0, b = 0;
    CHECK_EQ_INT(libsds_new(&o4, &a), LIBSDS_OK);
    CHECK_EQ_INT(libsds_new(&o3, &b), LIBSDS_OK);
    libsds_buffer a1 = {0}, a2 = {0}, b1 = {0}, b2 = {0};
    CHECK_EQ_INT(libsds_wrap(a, payload, 3, "a1", "g", &a1), LIBSDS_OK);
    CHECK_EQ_INT(libsds_wrap(a, payload, 3, "a2", "g", &a2), LIBSDS_OK);
    CHECK_EQ_INT(libsds_wrap(b, payload, 3, "b1", "g", &b1), LIBSDS_OK);
    CHECK_EQ_INT(libsds_wrap(b, payload, 3, "b2", "g", &b2), LIBSDS_OK);
    pb_field f;
    /* 0.4: field 3 is the plain id, field 8 carries its sender */
    CHECK(pb_get(a2.data, a2.len, 3, &f) && field_is(&f, "a1"));
    CHECK_EQ_INT(pb_count(a2.data, a2.len, 8), 1);
    /* 0.3: field 3 is a HistoryEntry (0a 02 "b1" 1a 03 "bob"), no field 8 */
    CHECK(pb_get(b2.data, b2.len, 3, &f) && f.len == 9 && f.data[0] == 0x0a);
    CHECK_EQ_INT(pb_count(b2.data, b2.len, 8), 0);
    /* each reads the other, in order, with no bogus dependency */
    libsds_unwrapped *u = NULL;
    CHECK_EQ_INT(libsds_unwrap(b, a1.data, a1.len, &u), LIBSDS_OK);
    libsds_unwrapped_free(u);
    CHECK_EQ_INT(libsds_unwrap(b, a2.data, a2.len, &u), LIBSDS_OK);
    if (u) CHECK_EQ_INT(u->missing_deps_len, 0);
    libsds_unwrapped_free(u);
    CHECK_EQ_INT(libsds_unwrap(a, b1.data, b1.len, &u), LIBSDS_OK);
    libsds_unwrapped_free(u);
    CHECK_EQ_INT(libsds_unwrap(a, b2.data, b2.len, &u), LIBSDS_OK);
    if (u) CHECK_EQ_INT(u->missing_deps_len, 0);
    libsds_unwrapped_free(u);
    libsds_buffer_free(&a1);
    libsds_buffer_free(&a2);
    libsds_buffer_free(&b1);
    libsds_buffer_free(&b2);
    CHECK_EQ_INT(libsds_free(a), LIBSDS_OK);
    CHECK_EQ_INT(libsds_free(b), LIBSDS_OK);

    /* out of range: rejected, naming the field */
    o4.wire_generation = 2;
    expect_new_fails(&o4, LIBSDS_ERR_INVALID_ARG, "wire_generation", __LINE__);
    o4.wire_generation = 0xFFFFFFFFu;
    expect_new_fails(&o4, LIBSDS_ERR_INVALID_ARG, "wire_generation", __LINE__);
    /* ... unless the field lies beyond size, which hides it */
    o4.size = (uint32_t)offsetof(libsds_options, wire_generation);
    CHECK_EQ_INT(libsds_new(&o4, &a), LIBSDS_OK);
    CHECK_EQ_INT(libsds_free(a), LIBSDS_OK);
  }

  /* ---- participant id becomes the sender id (field 7) ---- */
  {
    libsds_options o = LIBSDS_OPTIONS_INIT;
    char pid[] = "alice";
    o.participant_id = pid;
    h = 0;
    CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
    pid[0] = 'X'; /* borrowed: the library copied it */
    libsds_buffer w1 = {0}, w2 = {0};
    CHECK_EQ_INT(libsds_wrap(h, payload, 3, "a1", "c", &w1), LIBSDS_OK);
    CHECK_EQ_INT(libsds_wrap(h, payload, 3, "a2", "c", &w2), LIBSDS_OK);
    pb_field f;
    CHECK(pb_get(w1.data, w1.len, 7, &f) && field_is(&f, "alice"));
    CHECK_EQ_INT(pb_count(w2.data, w2.len, 7), 1);
    /* a2's history entry for a1 names alice as its sender (entry field 3) */
    CHECK(pb_get(w2.data, w2.len, 3, &f));
    pb_field e;
    CHECK(pb_get(f.data, f.len, 1, &e) && field_is(&e, "a1"));
    CHECK(pb_get(f.data, f.len, 3, &e) && field_is(&e, "alice"));
    libsds_buffer_free(&w1);
    libsds_buffer_free(&w2);
    CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);

    o.participant_id = ""; /* "" disables SDS-R: no sender id */
    CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
    CHECK_EQ_INT(libsds_wrap(h, payload, 3, "a1", "c", &w1), LIBSDS_OK);
    CHECK_EQ_INT(pb_count(w1.data, w1.len, 7), 0);
    libsds_buffer_free(&w1);
    CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  }

  /* ---- store kinds ---- */
  {
    char dir[] = "/tmp/native_options_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[600];
    snprintf(path, sizeof path, "%s/sds.db", dir);
    libsds_options o = LIBSDS_OPTIONS_INIT;
    o.store_kind = LIBSDS_STORE_SQLITE;
    o.sqlite_path = path;
    o.participant_id = "sq";
    h = 0;
    int rc = libsds_new(&o, &h);
    if (rc == LIBSDS_OK) {
      printf("native_options: this build has SQLite (LIBSDS_STORE_SQLITE -> LIBSDS_OK)\n");
      CHECK(h != 0);
      libsds_buffer w = {0};
      CHECK_EQ_INT(libsds_wrap(h, payload, 3, "s1", "c", &w), LIBSDS_OK);
      libsds_buffer_free(&w);
      CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
      CHECK_EQ_INT(access(path, F_OK), 0);
    } else {
      printf("native_options: this build lacks SQLite (LIBSDS_STORE_SQLITE -> %s: %s)\n",
             libsds_status_str(rc), libsds_last_error());
      CHECK_EQ_INT(rc, LIBSDS_ERR_UNSUPPORTED);
      CHECK(h == 0);
      CHECK(strlen(libsds_last_error()) > 0);
      CHECK(strstr(libsds_last_error(), "SQLite") != NULL || strstr(libsds_last_error(), "sqlite") != NULL);
    }
    rm_rf(dir);

    libsds_options k = LIBSDS_OPTIONS_INIT;
    k.store_kind = 99;
    expect_new_fails(&k, LIBSDS_ERR_INVALID_ARG, "store_kind", __LINE__);

    libsds_options n = LIBSDS_OPTIONS_INIT;
    n.store_kind = LIBSDS_STORE_HOST;
    n.persistence = NULL;
    expect_new_fails(&n, LIBSDS_ERR_INVALID_ARG, "persistence", __LINE__);
  }

  return tu_done("native_options");
}
