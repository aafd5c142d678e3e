/* Compatible API: the msg of a result callback stays valid after the callback
   returns (sds.h: "valid after the callback too"; ABI.md §1.5, §2.6:
   sds-go-bindings copies msg, error texts included, only after its WaitGroup
   returns). This holds for the synchronous error results as well: the
   argument-validation errors (a live manager; well within its 64 kept
   results) and the invalid-context error.

   The program re-executes itself with GOGC=1 (unless GOGC is set) so that the
   library's Go runtime collects garbage constantly: a buffer that is only
   kept alive by luck is then reused quickly. Each round keeps the msg
   pointers of 30 validation errors and 30 invalid-context errors, makes 400
   calls on another manager, and compares the kept bytes with their texts. */
#include "testutil.h"
#include <unistd.h>

#define PER_KIND 30
#define ROUNDS 4
#define CHURN 400

static const char *kept[2 * PER_KIND];
static size_t kept_len[2 * PER_KIND];
static int slot;

static void keep_cb(int ret, const char *msg, size_t len, void *ud) {
  (void)ret, (void)ud;
  kept[slot] = msg;
  kept_len[slot] = len;
}

static const char t_validation[] = "libsds error: message ID pointer is NULL";
static const char t_invalid[] = "libsds error: invalid context";

int main(int argc, char **argv) {
  (void)argc;
  if (!getenv("GOGC")) {
    setenv("GOGC", "1", 1);
    execv("/proc/self/exe", argv);
    perror("execv"); /* fall through: run with the default GOGC */
  }
  tu_result c;
  tu_result_init(&c);
  void *m = SdsNewReliabilityManager(tu_result_cb, &c);
  void *other = SdsNewReliabilityManager(tu_result_cb, &c);
  CHECK(m && other);
  CHECK(tu_wait(&c, 2));

  int changed_total = 0;
  for (int round = 0; round < ROUNDS; round++) {
    for (slot = 0; slot < 2 * PER_KIND; slot++) {
      int rc = slot % 2 ? SdsWrapOutgoingMessage(NULL, "x", 1, "id", "c1", keep_cb, NULL)
                        : SdsWrapOutgoingMessage(m, "x", 1, NULL, "c1", keep_cb, NULL);
      CHECK_EQ_INT(rc, RET_ERR);
    }
    /* all correct right after the calls */
    for (int i = 0; i < 2 * PER_KIND; i++) {
      const char *want = i % 2 ? t_invalid : t_validation;
      CHECK(kept[i] && kept_len[i] == strlen(want) && memcmp(kept[i], want, kept_len[i] + 1) == 0);
    }
    /* churn: calls on another manager (m's own results are not touched) */
    for (int i = 0; i < CHURN; i++) {
      tu_result r;
      tu_result_init(&r);
      char id[32];
      snprintf(id, sizeof id, "r%d-%d", round, i);
      CHECK_EQ_INT(SdsWrapOutgoingMessage(other, "churn", 5, id, "c1", tu_result_cb, &r), RET_OK);
      CHECK(tu_wait(&r, 1));
      if (i % 4 == 0) {
        unsigned char *w = malloc(r.len / 2 + 1);
        size_t n = tu_parse_csv(r.msg, r.len, w);
        tu_result u;
        tu_result_init(&u);
        CHECK_EQ_INT(SdsUnwrapReceivedMessage(other, w, n, tu_result_cb, &u), RET_OK);
        CHECK(tu_wait(&u, 1));
        tu_result_destroy(&u);
        free(w);
      }
      tu_result_destroy(&r);
    }
    int changed = 0;
    for (int i = 0; i < 2 * PER_KIND; i++) {
      const char *want = i % 2 ? t_invalid : t_validation;
      if (memcmp(kept[i], want, strlen(want) + 1) != 0) {
        if (!changed)
          fprintf(stderr, "round %d: the %s result's msg changed after its callback: \"%.*s\"\n", round,
                  i % 2 ? "invalid-context" : "validation-error", (int)strlen(want), kept[i]);
        changed++;
      }
    }
    if (changed) fprintf(stderr, "round %d: %d of %d kept error results changed\n", round, changed, 2 * PER_KIND);
    changed_total += changed;
  }
  CHECK_EQ_INT(changed_total, 0);

  tu_result e;
  tu_result_init(&e);
  CHECK_EQ_INT(SdsCleanupReliabilityManager(m, tu_result_cb, &e), RET_OK);
  CHECK_EQ_INT(SdsCleanupReliabilityManager(other, tu_result_cb, &e), RET_OK);
  CHECK(tu_wait(&e, 2));
  tu_result_destroy(&e);
  tu_result_destroy(&c);
  return tu_done("compat_error_buffers");
}
