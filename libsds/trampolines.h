/*
 * trampolines.h — static inline callers for the host function pointers that
 * Go code calls (cgo cannot call a C function pointer directly): hint
 * providers, persistence methods and the compatible API's synchronous
 * results, with the re-entry guard around the first two. Event and
 * asynchronous result callbacks are called by the delivery threads in
 * cdispatch.c. Included by the cgo preambles; not installed.
 */
#ifndef SDSI_TRAMPOLINES_H
#define SDSI_TRAMPOLINES_H

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include "../include/sds.h"

/*
 * Re-entry guard: while a host hint provider or persistence method runs, the
 * thread running it records which manager it is in the middle of — a stack,
 * since a provider of manager A may call into B, whose provider may call into
 * A. The public functions in sds.c refuse a call into any manager on the
 * calling thread's stack (LIBSDS_ERR_REENTRANT) instead of deadlocking on its
 * lock. Beyond SDSI_CALLOUT_DEPTH nested callouts, calls are refused outright.
 */
#define SDSI_CALLOUT_DEPTH 16
extern __thread uintptr_t sdsi_callouts[SDSI_CALLOUT_DEPTH];
extern __thread unsigned sdsi_callout_depth;

#define SDSI_CALLOUT(owner, expr)                                          \
  do {                                                                       \
    unsigned sdsi_d = sdsi_callout_depth;                                    \
    if (sdsi_d < SDSI_CALLOUT_DEPTH) sdsi_callouts[sdsi_d] = (owner);        \
    sdsi_callout_depth = sdsi_d + 1;                                         \
    expr;                                                                    \
    sdsi_callout_depth = sdsi_d;                                             \
  } while (0)

/* Non-zero if the calling thread is inside a callout of manager h. */
static inline int sdsi_in_callout(uintptr_t h) {
  unsigned d = sdsi_callout_depth;
  if (d > SDSI_CALLOUT_DEPTH) return 1;
  for (unsigned i = 0; i < d; i++)
    if (sdsi_callouts[i] == h) return 1;
  return 0;
}

/* --- native API ---------------------------------------------------------- */

/* Host user_data travels through Go as uintptr_t: never as a Go pointer type,
   which the Go garbage collector would inspect. */
static inline int64_t sdsi_call_hint(uintptr_t owner, libsds_hint_provider p, libsds_str id, uint8_t *buf,
                                       size_t len, uintptr_t ud) {
  int64_t n;
  SDSI_CALLOUT(owner, n = p(id, buf, len, (void *)ud));
  return n;
}

/* Persistence methods, by slot. */
enum {
  SDSI_P_SAVE_LAMPORT, SDSI_P_APPEND_LOG, SDSI_P_REMOVE_LOG, SDSI_P_SET_HINT,
  SDSI_P_SAVE_OUTGOING, SDSI_P_REMOVE_OUTGOING, SDSI_P_SAVE_INCOMING, SDSI_P_REMOVE_INCOMING,
  SDSI_P_SAVE_OUT_REPAIR, SDSI_P_REMOVE_OUT_REPAIR, SDSI_P_SAVE_IN_REPAIR, SDSI_P_REMOVE_IN_REPAIR,
  SDSI_P_DROP_CHANNEL, SDSI_P_LOAD, SDSI_P_BEGIN, SDSI_P_COMMIT, SDSI_P_ROLLBACK, SDSI_P_LIST,
  SDSI_P_SAVE_DUE, SDSI_P_DUE
};

static inline int sdsi_persist_slot(const libsds_persistence *p, int slot, libsds_str ch, libsds_str id,
                                     const uint8_t *rec, size_t len, int64_t n, libsds_loader *loader) {
  void *ud = p->user_data;
  switch (slot) {
  case SDSI_P_SAVE_LAMPORT: return p->save_lamport(ud, ch, n);
  case SDSI_P_APPEND_LOG: return p->append_log_entry(ud, ch, id, rec, len);
  case SDSI_P_REMOVE_LOG: return p->remove_log_entry(ud, ch, id);
  case SDSI_P_SET_HINT: return p->set_retrieval_hint(ud, id, rec, len);
  case SDSI_P_SAVE_OUTGOING: return p->save_outgoing(ud, ch, id, rec, len);
  case SDSI_P_REMOVE_OUTGOING: return p->remove_outgoing(ud, ch, id);
  case SDSI_P_SAVE_INCOMING: return p->save_incoming(ud, ch, id, rec, len);
  case SDSI_P_REMOVE_INCOMING: return p->remove_incoming(ud, ch, id);
  case SDSI_P_SAVE_OUT_REPAIR: return p->save_outgoing_repair(ud, ch, id, rec, len);
  case SDSI_P_REMOVE_OUT_REPAIR: return p->remove_outgoing_repair(ud, ch, id);
  case SDSI_P_SAVE_IN_REPAIR: return p->save_incoming_repair(ud, ch, id, rec, len);
  case SDSI_P_REMOVE_IN_REPAIR: return p->remove_incoming_repair(ud, ch, id);
  case SDSI_P_DROP_CHANNEL: return p->drop_channel(ud, ch);
  case SDSI_P_LOAD: return p->load_all_for_channel(ud, ch, loader);
  case SDSI_P_BEGIN: return p->begin(ud);
  case SDSI_P_COMMIT: return p->commit(ud);
  case SDSI_P_ROLLBACK: return p->rollback(ud);
  case SDSI_P_LIST: return p->list_channels(ud, loader);
  case SDSI_P_SAVE_DUE: return p->save_channel_due(ud, ch, n);
  case SDSI_P_DUE: return p->channels_due(ud, n, loader);
  }
  return LIBSDS_ERR_INTERNAL;
}

/* Calls one persistence method, by slot, with the arguments that slot takes. */
static inline int sdsi_call_persist(uintptr_t owner, const libsds_persistence *p, int slot, libsds_str ch,
                                      libsds_str id, const uint8_t *rec, size_t len, int64_t n,
                                      libsds_loader *loader) {
  int rc;
  SDSI_CALLOUT(owner, rc = sdsi_persist_slot(p, slot, ch, id, rec, len, n, loader));
  return rc;
}

/* Non-zero if every required method is set. */
static inline int sdsi_persistence_complete(const libsds_persistence *p) {
  return p->save_lamport && p->append_log_entry && p->remove_log_entry && p->set_retrieval_hint &&
         p->save_outgoing && p->remove_outgoing && p->save_incoming && p->remove_incoming &&
         p->save_outgoing_repair && p->remove_outgoing_repair && p->save_incoming_repair &&
         p->remove_incoming_repair && p->drop_channel && p->load_all_for_channel;
}

/* A copy of the host's vtable in a full-size struct: a version 1 host's struct
   ends at destroy, and a host's version (its struct's size) may be smaller or
   larger than ours: only the fields both know are read, the rest is zero. NULL
   if out of memory. */
static inline libsds_persistence *sdsi_persistence_copy(const libsds_persistence *p) {
  libsds_persistence *vt = (libsds_persistence *)calloc(1, sizeof *vt);
  if (!vt) return NULL;
  size_t n = p->version == 1 ? offsetof(libsds_persistence, save_channel_due)
             : p->version < sizeof *vt ? p->version : sizeof *vt;
  memcpy(vt, p, n);
  return vt;
}

static inline void sdsi_call_destroy(uintptr_t owner, const libsds_persistence *p) {
  if (p->destroy) SDSI_CALLOUT(owner, p->destroy(p->user_data));
}

/* The loader handed to load_all_for_channel and list_channels: its address
   identifies it (the Go side keeps a table of live ones); the content only
   makes it recognizable in a debugger. */
struct libsds_loader {
  uint64_t magic;
};
#define SDSI_LOADER_MAGIC 0x6c6f616465722173ull

/* --- nim-sds compatible API ---------------------------------------------- */

static inline void sdsi_call_sds(SdsCallBack cb, int ret, const char *msg, size_t len, uintptr_t ud) {
  cb(ret, msg, len, (void *)ud);
}

static inline void sdsi_call_sds_hint(uintptr_t owner, SdsRetrievalHintProvider p, const char *id, char **hint,
                                        size_t *len, uintptr_t ud) {
  SDSI_CALLOUT(owner, p(id, hint, len, (void *)ud));
}

/* --- thread-local detail of the last failure (libsds_last_error) -------- */

void sdsi_set_last_error(const char *msg, size_t len);
void sdsi_clear_last_error(void);

#endif
