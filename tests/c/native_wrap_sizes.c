/* native_wrap_sizes: libsds_wrap encodes into C memory reserved from the
   sizes of earlier messages; messages that outgrow it (the largest content,
   hints that suddenly grow) still come back whole. Each wrapped message is
   unwrapped by a second manager, which must deliver it with its content. */
#include "testnative.h"

static size_t hint_len; /* the hint provider's current hint length */

static int64_t hint(libsds_str id, uint8_t *buf, size_t buf_len, void *ud) {
  (void)id;
  (void)ud;
  if (hint_len <= buf_len) memset(buf, 'h', hint_len);
  return (int64_t)hint_len;
}

static void check_pair(libsds_handle a, libsds_handle b, const uint8_t *content, size_t len, const char *id) {
  libsds_buffer w = {0};
  CHECK_EQ_INT(libsds_wrap(a, content, len, id, "ch", &w), LIBSDS_OK);
  CHECK(w.data != NULL && w.len > len);
  libsds_unwrapped *u = NULL;
  CHECK_EQ_INT(libsds_unwrap(b, w.data, w.len, &u), LIBSDS_OK);
  CHECK(u->content.len == len && memcmp(u->content.data, content, len) == 0);
  CHECK_EQ_INT((int)u->missing_deps_len, 0);
  libsds_unwrapped_free(u);
  libsds_buffer_free(&w);
}

int main(void) {
  libsds_handle a = memory_manager("a", 0, 0), b = memory_manager("b", 0, 0);
  CHECK_EQ_INT(libsds_set_hint_provider(a, hint, NULL), LIBSDS_OK);
  size_t big = 1 << 20; /* the largest content */
  uint8_t *content = malloc(big);
  CHECK(content != NULL);
  for (size_t i = 0; i < big; i++) content[i] = (uint8_t)(i * 7);
  char id[32];
  for (int i = 0; i < 12; i++) { /* small messages set the reservation */
    snprintf(id, sizeof id, "s-%d", i);
    check_pair(a, b, content, 10, id);
  }
  check_pair(a, b, content, big, "big");
  hint_len = 16 << 10; /* ten cited entries now carry 160 KB of hints */
  check_pair(a, b, content, 10, "long-hints");
  check_pair(a, b, content, 10, "long-hints-again");
  hint_len = 0;
  check_pair(a, b, content, 10, "short-again");
  free(content);
  CHECK_EQ_INT(libsds_free(a), LIBSDS_OK);
  CHECK_EQ_INT(libsds_free(b), LIBSDS_OK);
  printf("native_wrap_sizes: ok\n");
  return 0;
}
