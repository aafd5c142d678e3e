/*
 * libsds.h — the name nim-sds's header is installed under. Code written
 * `#include <libsds.h>` for nim-sds compiles unchanged against this library,
 * whichever nim-sds generation it targets: it declares the nine Sds* functions
 * of nim-sds 0.3 (via sds.h), the nine sds_* JSON functions of nim-sds 0.4
 * (below; they share SdsCallBack, SdsRetrievalHintProvider and RET_*), and the
 * entry points nim-sds builds also export, which are harmless no-ops here.
 */
#ifndef LIBSDS_LIBSDS_H
#define LIBSDS_LIBSDS_H

#include "sds.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* nim-sds 0.4 JSON API (sds_*)                                              */
/* ------------------------------------------------------------------------- */
/*
 * Same names, signatures, return codes, request parsing, error texts and
 * result/event JSON as nim-sds 0.4 (see docs/compat.md, "nim-sds 0.4").
 * Requests are JSON: bytes as arrays of integers ({"message":[104,105]}),
 * strings as JSON strings; results are JSON too (retrieval hints in base64).
 * Messages are written in the 0.4 wire generation; both generations are read.
 *
 * Every pointer argument is borrowed: configJson and reqJson are read during
 * the call only (NULL is the empty text, a syntax error). A callback's msg
 * points to len bytes followed by a NUL, owned by the library, valid at least
 * until the callback returns: copy what you keep. Result callbacks come
 * exactly once per call that returned RET_OK, from a library thread, after the
 * events the call caused, before or after the call returns (nim-sds 0.4
 * usually calls back first; do not count on either). A context's callbacks
 * are serial and in order.
 *
 * Where this library deliberately differs from nim-sds 0.4, it is safer:
 *  - sds_create with a NULL callback returns NULL (nim-sds crashes);
 *  - a call into a context from inside one of its callbacks works (nim-sds
 *    deadlocks); from inside its retrieval-hint provider it is refused with
 *    RET_ERR through the callback;
 *  - sds_destroy stops the context's periodic tasks (nim-sds leaves them
 *    running, sending events to the next context created in the same slot),
 *    and its callback has come by the time it returns (outside callbacks);
 *  - sds_start_periodic_tasks is idempotent (nim-sds starts another set of
 *    loops each time);
 *  - there is no limit of 32 contexts, a failed sds_create consumes nothing,
 *    and a context pointer is never reused;
 *  - a garbage or destroyed ctx is recognized everywhere: sds_destroy answers
 *    "context not initialized", sds_set_event_callback prints its error line
 *    and changes nothing (nim-sds writes through such pointers).
 */

/** Creates a context. configJson: {"participantId":"<id>"} (the key is required; "" and null mean none).
 *  On success returns the context and calls callback(RET_OK, "<the context pointer in decimal>");
 *  on a bad config calls back RET_ERR ("ffiCtor: failed to deserialize param: …") and returns NULL. */
LIBSDS_API void *sds_create(const char *configJson, SdsCallBack callback, void *userData);
/** Sets (or, with NULL, clears) the callback events go to; userData may be NULL. */
LIBSDS_API void sds_set_event_callback(void *ctx, SdsCallBack callback, void *userData);
/** Sets (or, with NULL, clears) the retrieval-hint provider. *hint must be malloc'd: the library frees it.
 *  Returns RET_OK, or RET_ERR if ctx is not a live context. */
LIBSDS_API int sds_set_retrieval_hint_provider(void *ctx, SdsRetrievalHintProvider callback, void *userData);
/** reqJson: {"message":[…],"messageId":"…","channelId":"…"}; result {"message":[…wire bytes…]}. */
LIBSDS_API int sds_wrap_outgoing_message(void *ctx, SdsCallBack callback, void *userData, const char *reqJson);
/** reqJson: {"message":[…wire bytes…]}; result
 *  {"message":[…content…],"channelId":"…","missingDeps":[{"messageId":"…","retrievalHint":"<base64>"}]}. */
LIBSDS_API int sds_unwrap_received_message(void *ctx, SdsCallBack callback, void *userData, const char *reqJson);
/** reqJson: {"messageIds":["…"],"channelId":"…"}; empty result. */
LIBSDS_API int sds_mark_dependencies_met(void *ctx, SdsCallBack callback, void *userData, const char *reqJson);
/** Forgets every channel's state; empty result. */
LIBSDS_API int sds_reset(void *ctx, SdsCallBack callback, void *userData);
/** Starts the periodic tasks (idempotent); empty result after the first periodic_sync event. */
LIBSDS_API int sds_start_periodic_tasks(void *ctx, SdsCallBack callback, void *userData);
/** Destroys the context: periodic tasks stop, pending callbacks are delivered, then callback (may be
 *  NULL) gets RET_OK with an empty msg. ctx is invalid from the moment this is called. */
LIBSDS_API int sds_destroy(void *ctx, SdsCallBack callback, void *userData);

/** No-op: nim-sds's Nim runtime initializer (--nimMainPrefix:libsds). Nothing to initialize here. */
LIBSDS_API void libsdsNimMain(void);
/** No-op: nim-sds calls it from every entry point; kept for programs that call it themselves. */
LIBSDS_API void initializeLibrary(void);
/** No-op: nim-sds's global destructor hook, listed in some consumers' .def files. */
LIBSDS_API void libsdsNimDestroyGlobals(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBSDS_LIBSDS_H */
