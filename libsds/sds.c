/*
 * sds.c — the public functions of sds.h and libsds.h. cgo emits non-const
 * prototypes for //export functions, so the Go side exports private
 * libsdsgo_* names and these const-correct definitions forward to them. Host
 * pointers cross into Go as uintptr_t, never as Go pointer types.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../include/libsds.h"
#include "../include/sds.h"
#include "_cgo_export.h"
#include "trampolines.h"

__thread uintptr_t sdsi_callouts[SDSI_CALLOUT_DEPTH];
__thread unsigned sdsi_callout_depth;

/* Refuses a call into the manager whose hint provider or persistence method is
   running on this thread (see trampolines.h). */
#define REFUSE_REENTRY(h)                                                                   \
  do {                                                                                      \
    if ((h) != 0 && sdsi_in_callout((uintptr_t)(h))) {                                   \
      static const char msg[] = "called from a hint provider or persistence method of the same manager"; \
      sdsi_set_last_error(msg, sizeof msg - 1);                                           \
      return LIBSDS_ERR_REENTRANT;                                                          \
    }                                                                                       \
  } while (0)

static const char compat_reentry[] =
    "libsds error: called from the retrieval-hint provider of the same manager";

/* The compatible API reports a refused re-entry like any invalid call. */
#define REFUSE_COMPAT_REENTRY(ctx, cb, ud)                                    \
  do {                                                                        \
    if ((ctx) != NULL && sdsi_in_callout((uintptr_t)(ctx))) {               \
      if (cb) (cb)(RET_ERR, compat_reentry, sizeof compat_reentry - 1, (ud)); \
      return RET_ERR;                                                         \
    }                                                                         \
  } while (0)

/* ---- libsds_last_error: one buffer per thread, freed when the thread exits ---- */

typedef struct {
  char *buf;
  size_t cap;
} last_error;

static pthread_key_t last_error_key;
static pthread_once_t last_error_once = PTHREAD_ONCE_INIT;

static void last_error_free(void *p) {
  last_error *e = p;
  free(e->buf);
  free(e);
}

static void last_error_init(void) { pthread_key_create(&last_error_key, last_error_free); }

static last_error *last_error_get(int create) {
  pthread_once(&last_error_once, last_error_init);
  last_error *e = pthread_getspecific(last_error_key);
  if (!e && create) {
    e = calloc(1, sizeof *e);
    if (e) pthread_setspecific(last_error_key, e);
  }
  return e;
}

void sdsi_set_last_error(const char *msg, size_t len) {
  last_error *e = last_error_get(1);
  if (!e) return;
  if (e->cap < len + 1) {
    char *b = realloc(e->buf, len + 1);
    if (!b) return;
    e->buf = b;
    e->cap = len + 1;
  }
  memcpy(e->buf, msg, len);
  e->buf[len] = 0;
}

void sdsi_clear_last_error(void) {
  last_error *e = last_error_get(0);
  if (e && e->buf) e->buf[0] = 0;
}

const char *libsds_last_error(void) {
  last_error *e = last_error_get(0);
  return e && e->buf ? e->buf : "";
}

/* ---- versions, statuses, buffers ---- */

int libsds_version_number(void) { return LIBSDS_VERSION_NUMBER; }
const char *libsds_version(void) { return LIBSDS_VERSION; }
int libsds_abi_version(void) { return LIBSDS_ABI_VERSION; }

const char *libsds_status_str(int status) {
  switch (status) {
  case LIBSDS_OK: return "LIBSDS_OK: success";
  case LIBSDS_ERR: return "LIBSDS_ERR: failure";
  case LIBSDS_ERR_BAD_HANDLE: return "LIBSDS_ERR_BAD_HANDLE: invalid, freed or stale handle";
  case LIBSDS_ERR_INVALID_ARG: return "LIBSDS_ERR_INVALID_ARG: invalid argument";
  case LIBSDS_ERR_TOO_LARGE: return "LIBSDS_ERR_TOO_LARGE: message too large";
  case LIBSDS_ERR_DECODE: return "LIBSDS_ERR_DECODE: not a valid SDS message";
  case LIBSDS_ERR_UNKNOWN_CHANNEL: return "LIBSDS_ERR_UNKNOWN_CHANNEL: unknown channel";
  case LIBSDS_ERR_TOO_MANY_CHANNELS: return "LIBSDS_ERR_TOO_MANY_CHANNELS: channel limit reached";
  case LIBSDS_ERR_STORE: return "LIBSDS_ERR_STORE: persistence store failed";
  case LIBSDS_ERR_UNSUPPORTED: return "LIBSDS_ERR_UNSUPPORTED: not supported by this build";
  case LIBSDS_ERR_REENTRANT: return "LIBSDS_ERR_REENTRANT: called from a hint provider or persistence method";
  case LIBSDS_ERR_CLOSED: return "LIBSDS_ERR_CLOSED: manager is being freed";
  case LIBSDS_ERR_INTERNAL: return "LIBSDS_ERR_INTERNAL: internal error";
  case LIBSDS_ERR_USER: return "LIBSDS_ERR_USER: host callback failed";
  }
  return "unknown libsds status";
}

void libsds_buffer_free(libsds_buffer *buffer) {
  if (!buffer) return;
  free(buffer->data);
  buffer->data = NULL;
  buffer->len = 0;
}

void libsds_options_init(libsds_options *options) {
  if (!options) return;
  static const libsds_options defaults = LIBSDS_OPTIONS_INIT;
  *options = defaults;
}

/* An unwrap result is one allocation: the struct, its entries and strings. */
void libsds_unwrapped_free(libsds_unwrapped *result) { free(result); }

/* ---- native API ---- */

int libsds_new(const libsds_options *options, libsds_handle *out) {
  sdsi_clear_last_error();
  return libsdsgo_new((libsds_options *)options, out);
}
int libsds_free(libsds_handle h) {
  sdsi_clear_last_error();
  REFUSE_REENTRY(h);
  return libsdsgo_free(h);
}
int libsds_set_event_handler(libsds_handle h, libsds_event_cb cb, void *user_data) {
  sdsi_clear_last_error();
  REFUSE_REENTRY(h);
  return libsdsgo_set_event_handler(h, cb, (uintptr_t)user_data);
}
int libsds_set_hint_provider(libsds_handle h, libsds_hint_provider provider, void *user_data) {
  sdsi_clear_last_error();
  REFUSE_REENTRY(h);
  return libsdsgo_set_hint_provider(h, provider, (uintptr_t)user_data);
}
int libsds_wrap(libsds_handle h, const uint8_t *content, size_t content_len, const char *message_id,
                const char *channel_id, libsds_buffer *out) {
  sdsi_clear_last_error();
  REFUSE_REENTRY(h);
  return libsdsgo_wrap(h, (uint8_t *)content, content_len, (char *)message_id, (char *)channel_id, out);
}
int libsds_unwrap(libsds_handle h, const uint8_t *data, size_t len, libsds_unwrapped **out) {
  sdsi_clear_last_error();
  REFUSE_REENTRY(h);
  return libsdsgo_unwrap(h, (uint8_t *)data, len, out);
}
int libsds_mark_dependencies_met(libsds_handle h, const libsds_str *ids, size_t count, const char *channel_id) {
  sdsi_clear_last_error();
  REFUSE_REENTRY(h);
  return libsdsgo_mark_dependencies_met(h, (libsds_str *)ids, count, (char *)channel_id);
}
int libsds_reset(libsds_handle h) {
  sdsi_clear_last_error();
  REFUSE_REENTRY(h);
  return libsdsgo_reset(h);
}
int libsds_remove_channel(libsds_handle h, const char *channel_id) {
  sdsi_clear_last_error();
  REFUSE_REENTRY(h);
  return libsdsgo_remove_channel(h, (char *)channel_id);
}
int libsds_channels(libsds_handle h, libsds_channel_list **out) {
  sdsi_clear_last_error();
  REFUSE_REENTRY(h);
  return libsdsgo_channels(h, out);
}
/* A channel list is one allocation: the struct, its array and strings. */
void libsds_channel_list_free(libsds_channel_list *list) { free(list); }
int libsds_start(libsds_handle h) {
  sdsi_clear_last_error();
  REFUSE_REENTRY(h);
  return libsdsgo_start(h);
}
int libsds_stop(libsds_handle h) {
  sdsi_clear_last_error();
  REFUSE_REENTRY(h);
  return libsdsgo_stop(h);
}
int libsds_run_tasks(libsds_handle h, uint32_t tasks) {
  sdsi_clear_last_error();
  REFUSE_REENTRY(h);
  return libsdsgo_run_tasks(h, tasks);
}

int libsds_loader_set_lamport(libsds_loader *loader, int64_t lamport) {
  return libsdsgo_loader_set_lamport((uintptr_t)loader, lamport);
}
int libsds_loader_add_record(libsds_loader *loader, uint32_t kind, const uint8_t *record, size_t record_len) {
  return libsdsgo_loader_add_record((uintptr_t)loader, kind, (uint8_t *)record, record_len);
}
int libsds_loader_add_channel(libsds_loader *loader, const char *channel_id, size_t channel_id_len) {
  return libsdsgo_loader_add_channel((uintptr_t)loader, (char *)channel_id, channel_id_len);
}

/* ---- nim-sds compatible API ---- */

void *SdsNewReliabilityManager(SdsCallBack callback, void *userData) {
  return (void *)libsdsgo_compat_new(callback, (uintptr_t)userData);
}
void SdsSetEventCallback(void *ctx, SdsCallBack callback, void *userData) {
  libsdsgo_compat_set_event_callback((uintptr_t)ctx, callback, (uintptr_t)userData);
}
void SdsSetRetrievalHintProvider(void *ctx, SdsRetrievalHintProvider callback, void *userData) {
  libsdsgo_compat_set_hint_provider((uintptr_t)ctx, callback, (uintptr_t)userData);
}
int SdsCleanupReliabilityManager(void *ctx, SdsCallBack callback, void *userData) {
  REFUSE_COMPAT_REENTRY(ctx, callback, userData);
  return libsdsgo_compat_cleanup((uintptr_t)ctx, callback, (uintptr_t)userData);
}
int SdsResetReliabilityManager(void *ctx, SdsCallBack callback, void *userData) {
  REFUSE_COMPAT_REENTRY(ctx, callback, userData);
  return libsdsgo_compat_reset((uintptr_t)ctx, callback, (uintptr_t)userData);
}
int SdsWrapOutgoingMessage(void *ctx, void *message, size_t messageLen, const char *messageId,
                           const char *channelId, SdsCallBack callback, void *userData) {
  REFUSE_COMPAT_REENTRY(ctx, callback, userData);
  return libsdsgo_compat_wrap((uintptr_t)ctx, (uint8_t *)message, messageLen, (char *)messageId, (char *)channelId,
                              callback, (uintptr_t)userData);
}
int SdsUnwrapReceivedMessage(void *ctx, void *message, size_t messageLen, SdsCallBack callback, void *userData) {
  REFUSE_COMPAT_REENTRY(ctx, callback, userData);
  return libsdsgo_compat_unwrap((uintptr_t)ctx, (uint8_t *)message, messageLen, callback, (uintptr_t)userData);
}
int SdsMarkDependenciesMet(void *ctx, char **messageIDs, size_t count, const char *channelId, SdsCallBack callback,
                           void *userData) {
  REFUSE_COMPAT_REENTRY(ctx, callback, userData);
  return libsdsgo_compat_mark_dependencies_met((uintptr_t)ctx, messageIDs, count, (char *)channelId, callback,
                                               (uintptr_t)userData);
}
int SdsStartPeriodicTasks(void *ctx, SdsCallBack callback, void *userData) {
  REFUSE_COMPAT_REENTRY(ctx, callback, userData);
  return libsdsgo_compat_start((uintptr_t)ctx, callback, (uintptr_t)userData);
}

/* nim-sds builds export these; there is nothing to initialize or destroy here. */
void libsdsNimMain(void) {}
void initializeLibrary(void) {}
void libsdsNimDestroyGlobals(void) {}

/* ---- nim-sds 0.4 JSON API ---- */

static const char v04_reentry[] = "called from the retrieval-hint provider of the same context";

/* A call from inside the context's own hint provider would wait for the
   engine the provider is running in: refused through the callback. */
#define REFUSE_V04_REENTRY(ctx, cb, ud)                                 \
  do {                                                                  \
    if ((ctx) != NULL && sdsi_in_callout((uintptr_t)(ctx))) {         \
      if (cb) (cb)(RET_ERR, v04_reentry, sizeof v04_reentry - 1, (ud)); \
      return RET_ERR;                                                   \
    }                                                                   \
  } while (0)

void *sds_create(const char *configJson, SdsCallBack callback, void *userData) {
  return (void *)libsdsgo_v04_create((char *)configJson, callback, (uintptr_t)userData);
}
void sds_set_event_callback(void *ctx, SdsCallBack callback, void *userData) {
  libsdsgo_v04_set_event_callback((uintptr_t)ctx, callback, (uintptr_t)userData);
}
int sds_set_retrieval_hint_provider(void *ctx, SdsRetrievalHintProvider callback, void *userData) {
  if (ctx != NULL && sdsi_in_callout((uintptr_t)ctx)) return RET_ERR;
  return libsdsgo_v04_set_hint_provider((uintptr_t)ctx, callback, (uintptr_t)userData);
}
int sds_wrap_outgoing_message(void *ctx, SdsCallBack callback, void *userData, const char *reqJson) {
  if (!callback) return RET_MISSING_CALLBACK;
  REFUSE_V04_REENTRY(ctx, callback, userData);
  return libsdsgo_v04_wrap((uintptr_t)ctx, callback, (uintptr_t)userData, (char *)reqJson);
}
int sds_unwrap_received_message(void *ctx, SdsCallBack callback, void *userData, const char *reqJson) {
  if (!callback) return RET_MISSING_CALLBACK;
  REFUSE_V04_REENTRY(ctx, callback, userData);
  return libsdsgo_v04_unwrap((uintptr_t)ctx, callback, (uintptr_t)userData, (char *)reqJson);
}
int sds_mark_dependencies_met(void *ctx, SdsCallBack callback, void *userData, const char *reqJson) {
  if (!callback) return RET_MISSING_CALLBACK;
  REFUSE_V04_REENTRY(ctx, callback, userData);
  return libsdsgo_v04_mark_dependencies_met((uintptr_t)ctx, callback, (uintptr_t)userData, (char *)reqJson);
}
int sds_reset(void *ctx, SdsCallBack callback, void *userData) {
  if (!callback) return RET_MISSING_CALLBACK;
  REFUSE_V04_REENTRY(ctx, callback, userData);
  return libsdsgo_v04_reset((uintptr_t)ctx, callback, (uintptr_t)userData);
}
int sds_start_periodic_tasks(void *ctx, SdsCallBack callback, void *userData) {
  if (!callback) return RET_MISSING_CALLBACK;
  REFUSE_V04_REENTRY(ctx, callback, userData);
  return libsdsgo_v04_start((uintptr_t)ctx, callback, (uintptr_t)userData);
}
int sds_destroy(void *ctx, SdsCallBack callback, void *userData) {
  REFUSE_V04_REENTRY(ctx, callback, userData);
  return libsdsgo_v04_destroy((uintptr_t)ctx, callback, (uintptr_t)userData);
}
