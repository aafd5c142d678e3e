/* store_integrity: the store's integrity guards and channel listing through
   the C ABI, with the bundled SQLite store in a temporary directory.
   (a) libsds_channels lists every channel, also those only stored (after a
       restart nothing is loaded until used), sorted; with
       libsds_remove_channel a host cleans up, and the list survives restarts;
       NULL out is LIBSDS_ERR_INVALID_ARG, libsds_channel_list_free(NULL) is fine;
   (b) the database file deleted while open: the next wrap fails with
       LIBSDS_ERR_STORE saying the file is no longer at its path;
   (c) a hard link to the database: libsds_new through either name fails with
       LIBSDS_ERR_STORE naming the several names.
   A build without SQLite (make SQLITE=none) answers LIBSDS_ERR_UNSUPPORTED:
   the test then only checks that and passes. */
#include "testutil.h"
#include "testnative.h"

#include <unistd.h>

static char g_dir[256];

static libsds_options sqlite_options(const char *path) {
  libsds_options o = LIBSDS_OPTIONS_INIT;
  o.store_kind = LIBSDS_STORE_SQLITE;
  o.sqlite_path = path;
  o.participant_id = "alice";
  return o;
}

/* the manager's channel ids joined with ',' */
static void channels_csv(libsds_handle h, char *out, size_t cap) {
  libsds_channel_list *l = (libsds_channel_list *)0x1;
  out[0] = 0;
  CHECK_EQ_INT(libsds_channels(h, &l), LIBSDS_OK);
  if (!l) return;
  size_t n = 0;
  for (size_t i = 0; i < l->len; i++) {
    CHECK(l->ids[i].data[l->ids[i].len] == 0);
    n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "," : "", l->ids[i].data);
    if (n >= cap) break;
  }
  CHECK(l->len > 0 || l->ids == NULL);
  libsds_channel_list_free(l);
}

static void test_listing(void) {
  char path[400], csv[256];
  snprintf(path, sizeof path, "%s/list.db", g_dir);
  libsds_options o = sqlite_options(path);
  libsds_handle h = 0;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  channels_csv(h, csv, sizeof csv);
  CHECK_STR(csv, "");
  const char *chans[] = {"zeta", "alpha", "mid"};
  for (int i = 0; i < 3; i++) {
    libsds_buffer b = wrap_msg(h, "hello", chans[i], chans[i]);
    libsds_buffer_free(&b);
  }
  channels_csv(h, csv, sizeof csv);
  CHECK_STR(csv, "alpha,mid,zeta");
  CHECK_EQ_INT(libsds_channels(h, NULL), LIBSDS_ERR_INVALID_ARG);
  libsds_channel_list_free(NULL);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);

  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  channels_csv(h, csv, sizeof csv);
  CHECK_STR(csv, "alpha,mid,zeta"); /* stored, not loaded */
  CHECK_EQ_INT(libsds_remove_channel(h, "mid"), LIBSDS_OK);
  channels_csv(h, csv, sizeof csv);
  CHECK_STR(csv, "alpha,zeta");
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);

  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  channels_csv(h, csv, sizeof csv);
  CHECK_STR(csv, "alpha,zeta");
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  libsds_channel_list *l = (libsds_channel_list *)0x1;
  CHECK_EQ_INT(libsds_channels(h, &l), LIBSDS_ERR_BAD_HANDLE);
  CHECK(l == NULL);
}

static void test_deleted(void) {
  char path[400];
  snprintf(path, sizeof path, "%s/deleted.db", g_dir);
  libsds_options o = sqlite_options(path);
  libsds_handle h = 0;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  libsds_buffer b = wrap_msg(h, "hello", "m1", "c");
  CHECK(b.len > 0);
  libsds_buffer_free(&b);
  CHECK_EQ_INT(unlink(path), 0);
  CHECK_EQ_INT(libsds_wrap(h, (const uint8_t *)"x", 1, "m2", "c", &b), LIBSDS_ERR_STORE);
  CHECK(strstr(libsds_last_error(), "no longer at its path") != NULL);
  CHECK(b.len == 0);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
}

static void test_hard_link(void) {
  char path[400], link_path[400];
  snprintf(path, sizeof path, "%s/linked.db", g_dir);
  snprintf(link_path, sizeof link_path, "%s/other-name.db", g_dir);
  libsds_options o = sqlite_options(path);
  libsds_handle h = 0;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(h), LIBSDS_OK);
  CHECK_EQ_INT(link(path, link_path), 0);
  for (int i = 0; i < 2; i++) {
    libsds_options lo = sqlite_options(i ? link_path : path);
    h = 0x77;
    CHECK_EQ_INT(libsds_new(&lo, &h), LIBSDS_ERR_STORE);
    CHECK(h == 0);
    CHECK(strstr(libsds_last_error(), "several names") != NULL);
  }
}

int main(void) {
  alarm(120);
  snprintf(g_dir, sizeof g_dir, "/tmp/store_integrity_XXXXXX");
  if (!mkdtemp(g_dir)) {
    perror("mkdtemp");
    return 1;
  }
  char probe[400];
  snprintf(probe, sizeof probe, "%s/probe.db", g_dir);
  libsds_options o = sqlite_options(probe);
  libsds_handle h = 0;
  int rc = libsds_new(&o, &h);
  if (rc == LIBSDS_ERR_UNSUPPORTED) {
    printf("store_integrity: this build has no SQLite store (%s); skipped\n", libsds_last_error());
    rm_rf(g_dir);
    return tu_done("store_integrity");
  }
  CHECK_EQ_INT(rc, LIBSDS_OK);
  if (rc == LIBSDS_OK) libsds_free(h);
  test_listing();
  test_deleted();
  test_hard_link();
  rm_rf(g_dir);
  return tu_done("store_integrity");
}
