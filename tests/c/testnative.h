/* Manager and message helpers for the native API's C tests: a memory-only
   manager with SDS-R on, wrap and unwrap with the status checked or returned,
   an id-set comparison, and removing a temporary directory. */
#ifndef LIBSDS_TESTNATIVE_H
#define LIBSDS_TESTNATIVE_H

#include "testutil.h"

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* The config_set bits that turn SDS-R on with the repair windows below. */
#define SDSR_BITS ((uint64_t)(LIBSDS_CFG_REPAIR_T_MIN | LIBSDS_CFG_REPAIR_T_MAX))

/* A memory-only manager with SDS-R (repair window 1-20 ms), extra config_set bits and max_repair_requests. */
static inline libsds_handle memory_manager(const char *pid, uint64_t extra_bits, uint32_t max_repair) {
  libsds_options o = LIBSDS_OPTIONS_INIT;
  o.participant_id = pid;
  o.config_set = SDSR_BITS | extra_bits;
  o.repair_t_min_ms = 1;
  o.repair_t_max_ms = 20;
  o.max_repair_requests = max_repair;
  libsds_handle h = 0;
  CHECK_EQ_INT(libsds_new(&o, &h), LIBSDS_OK);
  return h;
}

/* Wraps content as message id on channel ch, checking for LIBSDS_OK. */
static inline libsds_buffer wrap_msg(libsds_handle h, const char *content, const char *id, const char *ch) {
  libsds_buffer b = {0};
  CHECK_EQ_INT(libsds_wrap(h, (const uint8_t *)content, strlen(content), id, ch, &b), LIBSDS_OK);
  return b;
}

/* Wraps a message whose content is its id on channel "ch", checking for LIBSDS_OK. */
static inline libsds_buffer wrap(libsds_handle h, const char *id) { return wrap_msg(h, id, id, "ch"); }

/* Unwraps and returns libsds_unwrap's status, freeing the result. */
static inline int unwrap_rc(libsds_handle h, const uint8_t *d, size_t n) {
  libsds_unwrapped *u = NULL;
  int rc = libsds_unwrap(h, d, n, &u);
  libsds_unwrapped_free(u);
  return rc;
}

/* Checks that a comma-separated list holds exactly the given ids, in any order. */
static inline int same_set(const char *list, const char *const *want, int n) {
  int found = 0, items = 0;
  const char *p = list;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    items++;
    for (int i = 0; i < n; i++)
      if (strlen(want[i]) == len && memcmp(want[i], p, len) == 0) found++;
    p += len + (e ? 1 : 0);
  }
  if (items != n || found != n) {
    fprintf(stderr, "list \"%s\" is not the expected set of %d ids\n", list, n);
    return 0;
  }
  return 1;
}

/* Removes dir and everything below it (best effort). */
static inline void rm_rf(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char p[600];
      if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p) continue; /* too long to name */
      struct stat st;
      if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
        rm_rf(p);
      } else {
        unlink(p);
      }
    }
    closedir(d);
  }
  rmdir(dir);
}

#endif
