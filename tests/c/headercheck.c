/* Compiled as strict C99 (-Wstrict-prototypes) and as C++11 by `make
   headercheck`: both public headers must be clean in both languages, on their
   own and together, and their constants must be usable in constant expressions. */
#include <libsds.h>
#include <sds.h>

typedef char check_version[LIBSDS_VERSION_NUMBER == LIBSDS_VERSION_MAJOR * 10000 + LIBSDS_VERSION_MINOR * 100 +
                                                      LIBSDS_VERSION_PATCH ? 1 : -1];
typedef char check_ok[LIBSDS_OK == 0 && RET_OK == 0 && RET_ERR == 1 && RET_MISSING_CALLBACK == 2 ? 1 : -1];
typedef char check_status[LIBSDS_ERR_USER < 0 ? 1 : -1];
typedef char check_pending[LIBSDS_MAX_PENDING_EVENTS > 0 ? 1 : -1];

static void on_event(const libsds_event *ev, void *ud) {
  (void)ev;
  (void)ud;
}

static int64_t hint(libsds_str id, uint8_t *buf, size_t len, void *ud) {
  (void)id;
  (void)buf;
  (void)len;
  (void)ud;
  return 0;
}

int headercheck_use(void);
int headercheck_use(void) {
  libsds_options o = LIBSDS_OPTIONS_INIT;
  libsds_persistence p = LIBSDS_PERSISTENCE_INIT;
  libsds_bytes view = {0, 0};
  libsds_handle h = 0;
  libsds_buffer b = {0, 0};
  check_version *v = 0;
  check_ok *k = 0;
  check_status *s = 0;
  check_pending *q = 0;
  (void)q;
  (void)v;
  (void)k;
  (void)s;
  p.version = LIBSDS_PERSISTENCE_VERSION;
  o.config_set = LIBSDS_CFG_MAX_CAUSAL_HISTORY;
  o.max_causal_history = 0;
  libsds_set_event_handler(h, on_event, 0);
  libsds_set_hint_provider(h, hint, 0);
  libsds_buffer_free(&b);
  /* both nim-sds generations share SdsCallBack and RET_* */
  SdsCallBack cb = 0;
  void *ctx = sds_create("{\"participantId\":\"a\"}", cb, 0);
  (void)sds_wrap_outgoing_message(ctx, cb, 0, "{}");
  (void)SdsResetReliabilityManager(ctx, cb, 0);
  (void)p;
  (void)view;
  libsds_options_init(&o);
  return libsds_new(&o, &h) + (int)sizeof(libsds_event) + LIBSDS_ABI_VERSION;
}
