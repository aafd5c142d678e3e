/*
 * sds.h — libsds: Scalable Data Sync (SDS) with the SDS-R repair extension.
 *
 * End-to-end reliability for group messaging over an unreliable transport:
 * wrap each outgoing payload, unwrap each received message, and the library
 * tells you when messages are ready to deliver (in causal order), acknowledged,
 * missing, or in need of a rebroadcast. Wire-compatible with nim-sds.
 *
 * This header declares two API families over one engine:
 *
 *   - the native API (libsds_* / LIBSDS_*): typed, synchronous results, typed
 *     events, configurable, with persistence. New code should use it.
 *   - the nim-sds compatible API (Sds*, RET_*): the nine functions of nim-sds's
 *     libsds.h with the same signatures, payload formats and callback semantics,
 *     so a program written for nim-sds links against this library unchanged.
 *     <libsds.h> includes this header.
 *
 * ---------------------------------------------------------------------------
 * Threading & lifetime (both APIs)
 * ---------------------------------------------------------------------------
 *  - Any thread may call any function at any time. Calls on one manager are
 *    serialized; different managers run in parallel.
 *  - Native events are delivered serially, in the order they happened, on
 *    library threads — never on the caller's thread and never while the
 *    library holds the manager's lock. A shared pool of delivery threads serves
 *    all managers: one manager's callbacks never run concurrently, but
 *    consecutive ones may run on different threads, and a callback that blocks
 *    holds up only its own manager (the pool grows; idle threads exit, so an
 *    idle process has none). No library thread spins. Any function, including
 *    freeing that manager, may be called from inside them.
 *  - The compatible APIs' events and result callbacks follow the same rules
 *    with one difference: a call delivers the callbacks it caused itself, on
 *    the caller's thread before it returns, when no other thread is delivering
 *    that manager's callbacks and the call is not made from inside a callback,
 *    hint provider or persistence method; otherwise a library thread delivers
 *    them, in the same order. This spares two thread hand-offs per call (see
 *    the compatible API section for what a host must not do). Setting the
 *    environment variable LIBSDS_CALLER_DELIVERS=0 before the first manager is
 *    created makes library threads deliver everything, as for native events.
 *  - Backpressure: while LIBSDS_MAX_PENDING_EVENTS events of a manager wait for
 *    its handler, a call into that manager that may cause events waits for
 *    the handler to catch up, instead of memory growing. Such a call does not
 *    wait when made from inside a callback whose waiting could deadlock (one
 *    of that manager's own callbacks, or one another thread's callback is
 *    waiting on) or from a hint provider or persistence method; periodic tasks
 *    never wait.
 *  - The retrieval-hint provider and the persistence methods are different:
 *    they run synchronously in the middle of an operation, on the caller's
 *    thread (or a library thread for periodic work), with the manager's lock
 *    held. A call from one of them into the same manager fails at once with
 *    LIBSDS_ERR_REENTRANT instead of deadlocking.
 *  - "No callback after free": when libsds_free (or the compatible cleanup)
 *    returns, no callback of that manager is running and none will start.
 *    Three exceptions, where waiting could deadlock: called from one of the
 *    manager's own callbacks, that callback is the last and finishes after
 *    the free returns; called from a callback that another thread's running
 *    callback of the freed manager is (directly or through others) waiting
 *    on, or from inside any hint provider or persistence method (a manager's
 *    lock is held), the free does not wait and the callback running, if any,
 *    is the last.
 *
 * ---------------------------------------------------------------------------
 * Memory ownership (native API)
 * ---------------------------------------------------------------------------
 *  - Every pointer a function takes is borrowed for the duration of the call
 *    and copied if kept. Every pointer a callback receives is valid only during
 *    that callback.
 *  - Results are returned through out-parameters that the library fills and
 *    owns until you release them with the matching free function
 *    (libsds_buffer_free, libsds_unwrapped_free). Nothing the host allocates is
 *    freed by the library and vice versa.
 *  - Strings the library returns are NUL-terminated and also carry their
 *    length: ids travel on the wire as raw bytes and may contain any byte.
 *  - Input strings: a `const char *` parameter must be NUL-terminated (it ends
 *    at its first NUL); ids passed as libsds_str, or with an explicit length,
 *    are read for exactly that length and need no NUL.
 *  - A result block (libsds_unwrapped) is one allocation: every field of it,
 *    including the libsds_bytes and libsds_str views, is borrowed from the
 *    block, valid until the block is released, and never freed on its own.
 *
 * ---------------------------------------------------------------------------
 * Versioning of structs (options, events, persistence table)
 * ---------------------------------------------------------------------------
 *  - Every struct that may grow starts with a uint32_t holding its size as the
 *    writer's header declared it: libsds_options.size (set by the host; use
 *    libsds_options_init or LIBSDS_OPTIONS_INIT), libsds_event.size (set by the
 *    library) and libsds_persistence.version (set by the host; use
 *    LIBSDS_PERSISTENCE_INIT). Fields are only ever appended; a reader reads no
 *    field beyond that size, so old hosts run against new libraries and the
 *    other way round. For the persistence table, the value 1 is also accepted:
 *    it names the first layout (hosts written before this scheme).
 */
#ifndef LIBSDS_SDS_H
#define LIBSDS_SDS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define LIBSDS_API __declspec(dllimport)
#elif defined(__GNUC__) || defined(__clang__)
#define LIBSDS_API __attribute__((visibility("default")))
#else
#define LIBSDS_API
#endif

/* ------------------------------------------------------------------------- */
/* Versions                                                                  */
/* ------------------------------------------------------------------------- */

#define LIBSDS_VERSION_MAJOR 0
#define LIBSDS_VERSION_MINOR 1
#define LIBSDS_VERSION_PATCH 0
#define LIBSDS_VERSION "0.1.0"
/** MAJOR * 10000 + MINOR * 100 + PATCH. */
#define LIBSDS_VERSION_NUMBER \
  (LIBSDS_VERSION_MAJOR * 10000 + LIBSDS_VERSION_MINOR * 100 + LIBSDS_VERSION_PATCH)
/** Equals the shared library's soname major (libsds.so.0); changes only on an ABI break. */
#define LIBSDS_ABI_VERSION 0

/** @return the library's LIBSDS_VERSION_NUMBER (compare with the header's). */
LIBSDS_API int libsds_version_number(void);
/** @return the library's version string, e.g. "0.1.0". Static; do not free. */
LIBSDS_API const char *libsds_version(void);
/** @return the library's LIBSDS_ABI_VERSION. */
LIBSDS_API int libsds_abi_version(void);

/* ------------------------------------------------------------------------- */
/* Status codes                                                              */
/* ------------------------------------------------------------------------- */

/** Every native function returns LIBSDS_OK (0) or one of these negative codes. */
typedef enum libsds_status {
  LIBSDS_OK = 0,                     /**< success */
  LIBSDS_ERR = -1,                   /**< unspecified failure */
  LIBSDS_ERR_BAD_HANDLE = -2,        /**< 0, freed, stale or garbage handle */
  LIBSDS_ERR_INVALID_ARG = -3,       /**< NULL where a value is required, empty content, bad option */
  LIBSDS_ERR_TOO_LARGE = -4,         /**< content over 1 MiB, input over 16 MiB, or an id/entry over its budget (docs/limits.md) */
  LIBSDS_ERR_DECODE = -5,            /**< the bytes are not a valid SDS message */
  LIBSDS_ERR_UNKNOWN_CHANNEL = -6,   /**< the manager has no such channel */
  LIBSDS_ERR_TOO_MANY_CHANNELS = -7, /**< the operation would exceed the channel limit */
  LIBSDS_ERR_STORE = -8,             /**< persistence failed; see libsds_free and the store docs */
  LIBSDS_ERR_UNSUPPORTED = -9,       /**< not available in this build (e.g. SQLite left out) */
  LIBSDS_ERR_REENTRANT = -10,        /**< called from a hint provider or persistence method of the same manager */
  LIBSDS_ERR_CLOSED = -11,           /**< the manager is being freed: the call found it while libsds_free ran, or gave up waiting for room in its event queue */
  LIBSDS_ERR_INTERNAL = -12,         /**< a bug in libsds (reported, never a crash) */
  LIBSDS_ERR_USER = -13              /**< for host persistence methods: "my store failed" */
} libsds_status;

/**
 * @param status  any int (a libsds_status or not).
 * @return a static, human-readable name for it ("LIBSDS_ERR_DECODE: ..."). Never NULL.
 */
LIBSDS_API const char *libsds_status_str(int status);

/**
 * @return a description of the last failure of a native call made on the
 * calling thread, or "" if that call succeeded. The string is owned by the
 * library and valid until the next native call on this thread.
 */
LIBSDS_API const char *libsds_last_error(void);

/* ------------------------------------------------------------------------- */
/* Values                                                                    */
/* ------------------------------------------------------------------------- */

/** An opaque manager handle. 0 is never a valid handle. */
typedef uint64_t libsds_handle;

/** A string with a length. data is NUL-terminated at data[len] but may contain NULs. */
typedef struct libsds_str {
  const char *data;
  size_t len;
} libsds_str;

/** Bytes owned by the caller once returned; release with libsds_buffer_free. */
typedef struct libsds_buffer {
  uint8_t *data; /**< NULL when len == 0 */
  size_t len;
} libsds_buffer;

/**
 * Releases a buffer's bytes and zeroes it. NULL and already-freed (zeroed)
 * buffers are fine.
 * @param buffer  a buffer a libsds function filled (libsds_wrap), or NULL.
 */
LIBSDS_API void libsds_buffer_free(libsds_buffer *buffer);

/**
 * A borrowed, read-only view of bytes inside a result block: valid as long as
 * the block, never freed on its own (it is not a libsds_buffer).
 */
typedef struct libsds_bytes {
  const uint8_t *data; /**< NULL when len == 0 */
  size_t len;
} libsds_bytes;

/** One causal-history entry: a message the described message depends on. */
typedef struct libsds_history_entry {
  libsds_str message_id;
  const uint8_t *retrieval_hint; /**< the sender's hint for fetching the message; may be NULL */
  size_t retrieval_hint_len;
  libsds_str sender_id;          /**< original sender (SDS-R); empty if unknown */
} libsds_history_entry;

/* ------------------------------------------------------------------------- */
/* Options                                                                   */
/* ------------------------------------------------------------------------- */

/** Where a manager keeps its state. */
typedef enum libsds_store_kind {
  LIBSDS_STORE_NONE = 0,   /**< memory only (nim-sds's behaviour) */
  LIBSDS_STORE_HOST = 1,   /**< the host's libsds_persistence vtable */
  LIBSDS_STORE_SQLITE = 2  /**< the bundled SQLite store at sqlite_path */
} libsds_store_kind;

/** SQLite durability; see docs/persistence.md. */
typedef enum libsds_durability {
  LIBSDS_DURABILITY_NORMAL = 0, /**< WAL + synchronous=NORMAL: survives a process crash (default) */
  LIBSDS_DURABILITY_FULL = 1    /**< WAL + synchronous=FULL: also survives power loss */
} libsds_durability;

/**
 * The SDS wire layout a manager writes (see docs/wire.md). Every manager reads
 * both; a network upgrades by reading both everywhere first, then switching
 * writers to LIBSDS_WIRE_V04.
 */
typedef enum libsds_wire_generation {
  LIBSDS_WIRE_V03 = 0, /**< nim-sds 0.3's layout (default: deployed networks speak it) */
  LIBSDS_WIRE_V04 = 1  /**< nim-sds 0.4's layout */
} libsds_wire_generation;

/*
 * Every field is range-checked by libsds_new (LIBSDS_ERR_INVALID_ARG, with
 * libsds_last_error naming the field and its range). The budgets, their
 * ranges, what a peer sees when it exceeds one and the memory ceiling they
 * imply are listed in docs/limits.md.
 *
 * Bits of libsds_options.config_set: a field of the configuration is used only
 * if its bit is set; otherwise the nim-sds default applies. So a zeroed
 * options struct means "all defaults", and 0 can still be asked for where it
 * means something (e.g. max_causal_history = 0).
 */
#define LIBSDS_CFG_BLOOM_CAPACITY        (1u << 0)  /**< default 10000 */
#define LIBSDS_CFG_BLOOM_ERROR_RATE      (1u << 1)  /**< default 0.001 */
#define LIBSDS_CFG_MAX_MESSAGE_HISTORY   (1u << 2)  /**< default 1000 */
#define LIBSDS_CFG_MAX_CAUSAL_HISTORY    (1u << 3)  /**< default 10 */
#define LIBSDS_CFG_RESEND_INTERVAL       (1u << 4)  /**< default 60000 ms */
#define LIBSDS_CFG_MAX_RESEND_ATTEMPTS   (1u << 5)  /**< default 5 */
#define LIBSDS_CFG_SYNC_INTERVAL         (1u << 6)  /**< default 30000 ms */
#define LIBSDS_CFG_BUFFER_SWEEP_INTERVAL (1u << 7)  /**< default 60000 ms */
#define LIBSDS_CFG_REPAIR_T_MIN          (1u << 8)  /**< default 30000 ms */
#define LIBSDS_CFG_REPAIR_T_MAX          (1u << 9)  /**< default 300000 ms */
#define LIBSDS_CFG_NUM_RESPONSE_GROUPS   (1u << 10) /**< default 1 */
#define LIBSDS_CFG_MAX_REPAIR_REQUESTS   (1u << 11) /**< default 3 */
#define LIBSDS_CFG_REPAIR_SWEEP_INTERVAL (1u << 12) /**< default 5000 ms */
#define LIBSDS_CFG_MAX_CHANNELS          (1u << 13) /**< default 10000 */
#define LIBSDS_CFG_MAX_INCOMING_BUFFER   (1u << 14) /**< default 10000 per channel */
#define LIBSDS_CFG_MAX_OUTGOING_BUFFER   (1u << 15) /**< default 10000 per channel */
#define LIBSDS_CFG_REREQUEST_REPAIRS      (1u << 16) /**< default 0 (nim-sds asks once) */
#define LIBSDS_CFG_WIRE_GENERATION       (1u << 17) /**< default LIBSDS_WIRE_V03 */
/* Hostile-peer budgets: see docs/limits.md for each one's range and what a
   peer sees when it exceeds it. */
#define LIBSDS_CFG_MAX_ID_LENGTH            (1u << 18) /**< default 1024 bytes */
#define LIBSDS_CFG_MAX_CHANNEL_ID_LENGTH    (1u << 19) /**< default 1024 bytes */
#define LIBSDS_CFG_MAX_HINT_LENGTH          (1u << 20) /**< default 4096 bytes */
#define LIBSDS_CFG_MAX_CAUSAL_ENTRIES       (1u << 21) /**< default 1000 per incoming message */
#define LIBSDS_CFG_MAX_REPAIR_ENTRIES       (1u << 22) /**< default 100 per incoming message */
#define LIBSDS_CFG_MAX_CAUSAL_HISTORY_BYTES (1u << 23) /**< default 65536 per outgoing message */
#define LIBSDS_CFG_MAX_PENDING_REPAIRS      (1u << 24) /**< default 1000 per channel and queue */
#define LIBSDS_CFG_MAX_INCOMING_BYTES       (1u << 25) /**< default 8 MiB per channel */
#define LIBSDS_CFG_MAX_HISTORY_BYTES        (1u << 26) /**< default 16 MiB per channel */
#define LIBSDS_CFG_MAX_REPAIR_BYTES         (1u << 27) /**< default 16 MiB per channel */

struct libsds_persistence;

/**
 * Creation options. Versioned by size: set size = sizeof(libsds_options) (the
 * LIBSDS_OPTIONS_INIT initializer does); fields are only ever appended, and a
 * library reads no field beyond the size it is given.
 */
typedef struct libsds_options {
  uint32_t size;              /**< sizeof(libsds_options) */
  uint32_t store_kind;        /**< a libsds_store_kind */
  const char *participant_id; /**< NULL or "" disables SDS-R; borrowed */

  uint64_t config_set;        /**< LIBSDS_CFG_* bits: which fields below are set */
  uint32_t bloom_capacity;
  double bloom_error_rate;    /**< in (0, 1) */
  uint32_t max_message_history;
  uint32_t max_causal_history;
  int64_t resend_interval_ms;
  uint32_t max_resend_attempts;
  int64_t sync_interval_ms;
  int64_t buffer_sweep_interval_ms;
  int64_t repair_t_min_ms;
  int64_t repair_t_max_ms;
  uint32_t num_response_groups;
  uint32_t max_repair_requests;
  int64_t repair_sweep_interval_ms;
  uint32_t max_channels;
  uint32_t max_incoming_buffer;
  uint32_t max_outgoing_buffer;
  uint32_t rerequest_repairs; /**< 0 or 1 */

  /** LIBSDS_STORE_HOST: the host's store; the struct is copied, user_data is not. */
  const struct libsds_persistence *persistence;
  /** LIBSDS_STORE_SQLITE: database file path (created if missing); borrowed. */
  const char *sqlite_path;
  /** LIBSDS_STORE_SQLITE: the manager's namespace inside the file (NULL = participant id). */
  const char *sqlite_namespace;
  uint32_t sqlite_durability; /**< a libsds_durability */

  /* Wire generations (used if config_set has LIBSDS_CFG_WIRE_GENERATION). */
  /** A libsds_wire_generation: the layout wraps and repair rebroadcasts are
      written in. Unwrap reads both generations whatever this says. Any other
      value is LIBSDS_ERR_INVALID_ARG. */
  uint32_t wire_generation;

  /* Hostile-peer budgets (LIBSDS_CFG_MAX_ID_LENGTH ... LIBSDS_CFG_MAX_REPAIR_BYTES):
     what any peer can make the manager hold or compute. An incoming message
     over a per-message budget fails libsds_unwrap with LIBSDS_ERR_TOO_LARGE and
     changes nothing; a buffer over its byte budget evicts its oldest entries,
     each reported by an event. Ranges and the per-manager memory ceiling they
     imply: docs/limits.md. */
  uint32_t max_id_length;            /**< message and sender ids, in and out (wrap refuses longer) */
  uint32_t max_channel_id_length;    /**< channel ids, in and out */
  uint32_t max_hint_length;          /**< each incoming retrieval hint; longer outgoing hints are not sent */
  uint32_t max_causal_entries;       /**< causal-history entries per incoming message */
  uint32_t max_repair_entries;       /**< repair-request entries per incoming message */
  uint32_t max_causal_history_bytes; /**< encoded causal history of an outgoing message */
  uint32_t max_pending_repairs;      /**< each SDS-R queue of a channel; beyond it LIBSDS_EVENT_REPAIR_DROPPED */
  uint64_t max_incoming_bytes;       /**< a channel's waiting messages; beyond it LIBSDS_EVENT_INCOMING_DROPPED */
  uint64_t max_history_bytes;        /**< message bodies a channel keeps for rebroadcast (ids are kept) */
  uint64_t max_repair_bytes;         /**< messages a channel holds for repair responses */
} libsds_options;

/** Initializer for a libsds_options with every field at its default. */
#define LIBSDS_OPTIONS_INIT {sizeof(libsds_options), 0, NULL, 0, 0, 0.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, 0, \
                             0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/**
 * Sets every field of *options to its default and options->size to this
 * library's sizeof(libsds_options) — the same as LIBSDS_OPTIONS_INIT, for
 * bindings that cannot use the macro.
 * @param options  storage for a libsds_options of the sds.h the library was
 *                 built from (check options->size afterwards if your
 *                 declaration may be older); NULL is ignored.
 */
LIBSDS_API void libsds_options_init(libsds_options *options);

/* ------------------------------------------------------------------------- */
/* Persistence vtable (LIBSDS_STORE_HOST)                                    */
/* ------------------------------------------------------------------------- */

/** The first layout's value of libsds_persistence.version (still accepted). */
#define LIBSDS_PERSISTENCE_VERSION 1

/**
 * What a record holds. Records are opaque, versioned byte strings produced and
 * parsed by the library: store them under their keys and hand them back on
 * load; never parse them. They exclude each message's bloom filter and carry
 * times as Unix milliseconds.
 */
typedef enum libsds_record_kind {
  LIBSDS_RECORD_LOG = 1,             /**< a delivered or own message of the local log */
  LIBSDS_RECORD_OUTGOING = 2,        /**< an unacknowledged message */
  LIBSDS_RECORD_INCOMING = 3,        /**< a received message waiting for dependencies */
  LIBSDS_RECORD_OUTGOING_REPAIR = 4, /**< an SDS-R repair request to send */
  LIBSDS_RECORD_INCOMING_REPAIR = 5  /**< an SDS-R repair response to send */
} libsds_record_kind;

/** Receives a channel's stored state during load_all_for_channel (opaque). */
typedef struct libsds_loader libsds_loader;

/**
 * During load_all_for_channel: sets the channel's lamport clock.
 * @param loader   the loader passed to load_all_for_channel.
 * @param lamport  the stored clock.
 * @return LIBSDS_OK, LIBSDS_ERR_INVALID_ARG (not a live loader).
 */
LIBSDS_API int libsds_loader_set_lamport(libsds_loader *loader, int64_t lamport);
/**
 * During load_all_for_channel: hands one stored record back to the library.
 * Records of each kind must be added in the order they were first saved
 * (an update keeps the original position). The bytes are copied.
 * @param loader      the loader passed to load_all_for_channel.
 * @param kind        a libsds_record_kind.
 * @param record      record_len bytes, as saved; borrowed.
 * @param record_len  its length.
 * @return LIBSDS_OK, LIBSDS_ERR_INVALID_ARG (not a live loader, unknown kind,
 *         NULL record with a length). A record that does not parse fails the
 *         load afterwards (load_all_for_channel's caller gets LIBSDS_ERR_STORE).
 */
LIBSDS_API int libsds_loader_add_record(libsds_loader *loader, uint32_t kind /* libsds_record_kind */,
                                        const uint8_t *record, size_t record_len);
/**
 * During list_channels or channels_due: reports one stored channel id (copied).
 * @param loader          the loader passed to list_channels or channels_due.
 * @param channel_id      channel_id_len bytes (no NUL needed); borrowed.
 * @param channel_id_len  its length.
 * @return LIBSDS_OK, LIBSDS_ERR_INVALID_ARG (not a live loader, or a NULL id).
 */
LIBSDS_API int libsds_loader_add_channel(libsds_loader *loader, const char *channel_id, size_t channel_id_len);

/**
 * A host-implemented store: the nim-sds persistence contract (13 write
 * operations and the bootstrap load) plus optional transactions, channel
 * listing and destruction. Every method returns LIBSDS_OK or a negative code
 * (LIBSDS_ERR_USER is reserved for it); a failure never crashes the manager.
 *
 * Each write is called right after the in-memory change it records, on the
 * thread running the operation, never concurrently for one manager, with the
 * manager's lock held (so a method must not call into the same manager).
 * Every pointer argument is borrowed for the duration of the call.
 *
 * Failure policy: if begin/commit are provided, each protocol operation is one
 * transaction; when any method fails inside it the library calls rollback,
 * the API call returns LIBSDS_ERR_STORE, the operation's events are dropped and
 * the channel's state is reloaded from the store on next use — memory never runs
 * ahead of what was committed. Without begin/commit, failures are reported as
 * LIBSDS_EVENT_STORE_FAILED events and memory goes on.
 */
typedef struct libsds_persistence {
  /** sizeof(libsds_persistence) (LIBSDS_PERSISTENCE_INIT sets it) or 1; other values
      below the size of the first layout are LIBSDS_ERR_INVALID_ARG. */
  uint32_t version;
  void *user_data;  /**< passed back verbatim to every method */

  /* --- required --- */
  int (*save_lamport)(void *user_data, libsds_str channel_id, int64_t lamport);
  int (*append_log_entry)(void *user_data, libsds_str channel_id, libsds_str message_id,
                          const uint8_t *record, size_t record_len);
  int (*remove_log_entry)(void *user_data, libsds_str channel_id, libsds_str message_id);
  /**
   * Records the host's own id -> hint mapping; never read back by the library.
   * Drop a message's hint when its log entry is removed (remove_log_entry,
   * drop_channel), as the bundled stores do, or the mapping grows forever.
   */
  int (*set_retrieval_hint)(void *user_data, libsds_str message_id, const uint8_t *hint, size_t hint_len);
  int (*save_outgoing)(void *user_data, libsds_str channel_id, libsds_str message_id,
                       const uint8_t *record, size_t record_len);
  int (*remove_outgoing)(void *user_data, libsds_str channel_id, libsds_str message_id);
  int (*save_incoming)(void *user_data, libsds_str channel_id, libsds_str message_id,
                       const uint8_t *record, size_t record_len);
  int (*remove_incoming)(void *user_data, libsds_str channel_id, libsds_str message_id);
  int (*save_outgoing_repair)(void *user_data, libsds_str channel_id, libsds_str message_id,
                              const uint8_t *record, size_t record_len);
  int (*remove_outgoing_repair)(void *user_data, libsds_str channel_id, libsds_str message_id);
  int (*save_incoming_repair)(void *user_data, libsds_str channel_id, libsds_str message_id,
                              const uint8_t *record, size_t record_len);
  int (*remove_incoming_repair)(void *user_data, libsds_str channel_id, libsds_str message_id);
  /** Wipes everything stored for the channel, atomically. */
  int (*drop_channel)(void *user_data, libsds_str channel_id);
  /** Hands the channel's stored state to loader (an unknown channel: add nothing). */
  int (*load_all_for_channel)(void *user_data, libsds_str channel_id, libsds_loader *loader);

  /* --- optional: NULL if not supported --- */
  int (*begin)(void *user_data);
  int (*commit)(void *user_data);
  int (*rollback)(void *user_data);
  /**
   * Reports every stored channel with libsds_loader_add_channel, so the manager
   * knows them from creation (and libsds_channels lists them): without the
   * lazy-loading methods below every channel is loaded at creation, so its
   * timers run; with them channels load lazily.
   */
  int (*list_channels)(void *user_data, libsds_loader *loader);
  /** Called once when the manager is freed (or when creation fails after taking the struct). */
  void (*destroy)(void *user_data);

  /* --- optional, read only when version is a size that covers them (not from
     a first-layout host, version 1): lazy loading. Set both, with
     list_channels, and the manager loads no channel at creation: a sweep loads
     only the channels whose timers are due and any other loads on first use. --- */
  /**
   * Records when the channel's timers (resends, repair responses, repair
   * request expiry) next need a sweep, in Unix milliseconds; 0 means never.
   * Called inside the operation that changes it (in its transaction); a
   * channel's due time goes with drop_channel.
   */
  int (*save_channel_due)(void *user_data, libsds_str channel_id, int64_t due_ms);
  /** Reports with libsds_loader_add_channel every channel whose due time is set (non-zero) and <= now_ms. */
  int (*channels_due)(void *user_data, int64_t now_ms, libsds_loader *loader);
} libsds_persistence;

/** Initializer for a libsds_persistence: version set, every method NULL. */
#define LIBSDS_PERSISTENCE_INIT                                                                     \
  {(uint32_t)sizeof(libsds_persistence), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

/* ------------------------------------------------------------------------- */
/* Events                                                                    */
/* ------------------------------------------------------------------------- */

typedef enum libsds_event_type {
  LIBSDS_EVENT_MESSAGE_READY = 1,        /**< a received message is delivered, in causal order */
  LIBSDS_EVENT_MESSAGE_ACKNOWLEDGED = 2, /**< a peer has seen one of our messages */
  LIBSDS_EVENT_MESSAGE_GIVEN_UP = 3,     /**< one of ours ran out of resend attempts (or buffer room) unacknowledged */
  LIBSDS_EVENT_MISSING_DEPENDENCIES = 4, /**< a received message waits for missing_deps */
  LIBSDS_EVENT_PERIODIC_SYNC = 5,        /**< time to send something so peers learn what we have */
  LIBSDS_EVENT_REPAIR_READY = 6,         /**< SDS-R: rebroadcast `message` (it has an empty bloom filter) */
  LIBSDS_EVENT_INCOMING_DROPPED = 7,     /**< a waiting message was discarded: the channel's buffer (count or bytes) was full */
  LIBSDS_EVENT_STORE_FAILED = 8,         /**< a store without transactions failed a write; `error` says which */
  LIBSDS_EVENT_REPAIR_DROPPED = 9        /**< SDS-R: a pending repair request or response for message_id was discarded (budget full) */
} libsds_event_type;

/**
 * An event. Everything it points to is valid only during the callback.
 *
 * Delivery order. MESSAGE_READY events come in causal order: a message's
 * READY follows the READY of every message it cites, within one call and
 * across calls (a message marked met with libsds_mark_dependencies_met has
 * none: the application obtained it itself). When a message releases
 * messages that waited for it, its own READY comes first, then theirs
 * (breadth-first, in arrival order). Each READY carries the message's content,
 * so a chat view can append on READY, whether the message was just unwrapped
 * or waited in the buffer.
 * The compatible API (Sds*) keeps nim-sds's order instead: the released
 * messages first, the message that released them last, and no content in the
 * event (its unwrap result has it).
 */
typedef struct libsds_event {
  uint32_t size;          /**< sizeof(libsds_event) in this build; fields are only appended */
  uint32_t type;          /**< a libsds_event_type */
  libsds_str channel_id;  /**< empty for PERIODIC_SYNC */
  libsds_str message_id;  /**< empty for PERIODIC_SYNC, REPAIR_READY and STORE_FAILED */
  const libsds_history_entry *missing_deps; /**< MISSING_DEPENDENCIES, in citation order */
  size_t missing_deps_len;
  const uint8_t *message; /**< REPAIR_READY: the wire message to broadcast */
  size_t message_len;
  const char *error;      /**< STORE_FAILED: what failed; else NULL */
  const uint8_t *content; /**< MESSAGE_READY: the message's payload (never NULL; also NUL-terminated); else NULL */
  size_t content_len;
} libsds_event;

/**
 * Backpressure: when this many events of one manager are waiting for its
 * handler, calls into that manager that may cause events wait until the
 * handler has taken one (see Threading & lifetime for the exceptions). One
 * call or periodic task may add several events, so the queue may exceed the
 * bound by one operation's events.
 */
#define LIBSDS_MAX_PENDING_EVENTS 1024

/** Receives the events of one manager (see Threading & lifetime). */
typedef void (*libsds_event_cb)(const libsds_event *event, void *user_data);

/**
 * Retrieval-hint provider: asked for the hint of each causal-history entry of
 * every outgoing message (e.g. the transport's hash of that message). Copy up
 * to buf_len bytes into buf and return the hint's full length; if that exceeds
 * buf_len the library asks again with a buffer of that size. Return 0 (or a
 * negative value) for no hint. message_id is valid during the call.
 */
typedef int64_t (*libsds_hint_provider)(libsds_str message_id, uint8_t *buf, size_t buf_len, void *user_data);

/* ------------------------------------------------------------------------- */
/* Managers                                                                  */
/* ------------------------------------------------------------------------- */

/**
 * Creates a manager.
 * @param options  NULL for all defaults (no SDS-R, no persistence); borrowed.
 * @param out      receives the handle (0 on failure).
 * @return LIBSDS_OK, LIBSDS_ERR_INVALID_ARG (bad option: libsds_last_error says
 *         which), LIBSDS_ERR_STORE (the store could not be opened or loaded),
 *         LIBSDS_ERR_UNSUPPORTED (a store this build lacks).
 * With LIBSDS_STORE_HOST, the vtable's destroy (if any) is called if creation fails —
 * unless its version is not LIBSDS_PERSISTENCE_VERSION: its layout is then unknown.
 */
LIBSDS_API int libsds_new(const libsds_options *options, libsds_handle *out);

/**
 * Releases the manager: calls waiting for room in its event queue return
 * LIBSDS_ERR_CLOSED, calls in progress finish, the periodic tasks stop, events
 * not yet delivered are dropped (the handler never sees them), the store is
 * closed (persistence is kept on disk, not wiped). It waits only for the
 * callback running, if any, so it returns in bounded time whatever the
 * backlog; after it returns no callback of this manager runs (see "No callback
 * after free" above for the two cases inside callbacks).
 * @param h  the manager.
 * @return LIBSDS_OK, LIBSDS_ERR_BAD_HANDLE (0, unknown or already freed),
 *         LIBSDS_ERR_REENTRANT (from its own hint provider or persistence
 *         method), LIBSDS_ERR_STORE (closing the store failed; the manager is
 *         released anyway).
 */
LIBSDS_API int libsds_free(libsds_handle h);

/**
 * Installs (or with cb NULL removes) the manager's event handler. Every event
 * whose delivery starts after this returns goes to the new handler. If a
 * callback of the old handler is running on another thread, this waits for
 * it to return, so the old user_data may be released as soon as this returns —
 * except when called from inside that very callback (it is the caller's own
 * code) or when waiting would deadlock (a callback the running one waits on,
 * see "No callback after free"): then the old user_data may be released once
 * the running callback returns.
 * @param h          the manager.
 * @param cb         the handler, or NULL.
 * @param user_data  passed to cb; borrowed until replaced (as above) or until libsds_free returns.
 * @return LIBSDS_OK, LIBSDS_ERR_BAD_HANDLE, LIBSDS_ERR_CLOSED, LIBSDS_ERR_REENTRANT.
 */
LIBSDS_API int libsds_set_event_handler(libsds_handle h, libsds_event_cb cb, void *user_data);

/**
 * Installs (or with provider NULL removes) the retrieval-hint provider. If the
 * old provider is running (providers run under the manager's lock, on the
 * thread of the call that needs a hint), this waits for it to return, so the
 * old user_data may be released as soon as this returns. (From inside the
 * provider itself the call fails with LIBSDS_ERR_REENTRANT.)
 * @param h          the manager.
 * @param provider   the provider, or NULL.
 * @param user_data  passed to provider; borrowed until replaced or until libsds_free returns.
 * @return LIBSDS_OK, LIBSDS_ERR_BAD_HANDLE, LIBSDS_ERR_CLOSED, LIBSDS_ERR_REENTRANT.
 */
LIBSDS_API int libsds_set_hint_provider(libsds_handle h, libsds_hint_provider provider, void *user_data);

/**
 * Wraps an outgoing payload with SDS metadata; broadcast the result.
 * @param h           the manager.
 * @param content     1 byte to 1 MiB; borrowed. NULL only with content_len 0 (an error).
 * @param message_id  NUL-terminated, unique per message (may be ""); borrowed.
 * @param channel_id  NUL-terminated, non-empty; borrowed. Created on first use.
 *                    (Every channel_id of the native API must be non-empty,
 *                    libsds_unwrap refuses a message with an empty one, and
 *                    ids and channel ids over their budgets are refused:
 *                    docs/limits.md.)
 * @param content_len its length.
 * @param out         receives the wire message; release with libsds_buffer_free.
 * @return LIBSDS_OK, LIBSDS_ERR_INVALID_ARG, LIBSDS_ERR_TOO_LARGE, LIBSDS_ERR_TOO_MANY_CHANNELS, LIBSDS_ERR_STORE,
 *         LIBSDS_ERR_BAD_HANDLE, LIBSDS_ERR_CLOSED, LIBSDS_ERR_REENTRANT.
 */
LIBSDS_API int libsds_wrap(libsds_handle h, const uint8_t *content, size_t content_len,
                           const char *message_id, const char *channel_id, libsds_buffer *out);

/**
 * The result of libsds_unwrap: one block; release it with
 * libsds_unwrapped_free. Every field is a view into the block: valid until
 * then, never freed on its own.
 */
typedef struct libsds_unwrapped {
  libsds_bytes content;      /**< the payload, returned even for duplicates and waiting messages */
  libsds_str channel_id;
  const libsds_history_entry *missing_deps; /**< non-empty: the message waits for these */
  size_t missing_deps_len;
  libsds_str message_id;     /**< the message's id, as its MESSAGE_READY event (none for a duplicate) carries it */
} libsds_unwrapped;

/**
 * Processes a received wire message: acknowledges our messages it confirms,
 * handles repair requests, and delivers it (LIBSDS_EVENT_MESSAGE_READY, before
 * the READY of any waiting messages it releases) or reports what it waits for.
 * A message over one of the per-message budgets (docs/limits.md) fails with
 * LIBSDS_ERR_TOO_LARGE, and one with an empty channel id (which the native API
 * cannot name) with LIBSDS_ERR_DECODE; either changes nothing.
 * @param h     the manager.
 * @param data  the received bytes (up to 16 MiB); borrowed. NULL only with len 0.
 * @param len   their length.
 * @param out   receives a newly allocated result (NULL on failure); release with libsds_unwrapped_free.
 * @return LIBSDS_OK, LIBSDS_ERR_DECODE, LIBSDS_ERR_TOO_LARGE, LIBSDS_ERR_TOO_MANY_CHANNELS, LIBSDS_ERR_STORE,
 *         LIBSDS_ERR_INVALID_ARG, LIBSDS_ERR_BAD_HANDLE, LIBSDS_ERR_CLOSED, LIBSDS_ERR_REENTRANT.
 */
LIBSDS_API int libsds_unwrap(libsds_handle h, const uint8_t *data, size_t len, libsds_unwrapped **out);

/**
 * Releases an unwrap result, with every view into it.
 * @param result  what libsds_unwrap returned, or NULL.
 */
LIBSDS_API void libsds_unwrapped_free(libsds_unwrapped *result);

/**
 * Tells the manager the application obtained these messages itself (e.g. via
 * their retrieval hints), so messages waiting for them can be delivered. The
 * ids are given with lengths because they come from missing_deps.
 * @param h           the manager.
 * @param ids         count ids (lengths given, no NUL needed); borrowed. NULL only with count 0.
 * @param count       how many.
 * @param channel_id  NUL-terminated, non-empty; borrowed.
 * @return LIBSDS_OK, LIBSDS_ERR_UNKNOWN_CHANNEL, LIBSDS_ERR_INVALID_ARG, LIBSDS_ERR_STORE,
 *         LIBSDS_ERR_BAD_HANDLE, LIBSDS_ERR_CLOSED, LIBSDS_ERR_REENTRANT.
 */
LIBSDS_API int libsds_mark_dependencies_met(libsds_handle h, const libsds_str *ids, size_t count,
                                            const char *channel_id);

/**
 * Forgets every channel, in memory and in the store. Handlers and periodic tasks are kept.
 * @param h  the manager.
 * @return LIBSDS_OK, LIBSDS_ERR_STORE, LIBSDS_ERR_BAD_HANDLE, LIBSDS_ERR_CLOSED, LIBSDS_ERR_REENTRANT.
 */
LIBSDS_API int libsds_reset(libsds_handle h);

/**
 * Forgets one channel, in memory and in the store. An unknown channel is not an error.
 * @param h           the manager.
 * @param channel_id  NUL-terminated, non-empty; borrowed.
 * @return LIBSDS_OK, LIBSDS_ERR_INVALID_ARG, LIBSDS_ERR_STORE, LIBSDS_ERR_BAD_HANDLE, LIBSDS_ERR_CLOSED,
 *         LIBSDS_ERR_REENTRANT.
 */
LIBSDS_API int libsds_remove_channel(libsds_handle h, const char *channel_id);

/** The channels of a manager, from libsds_channels; release with libsds_channel_list_free. */
typedef struct libsds_channel_list {
  const libsds_str *ids; /**< sorted by id (bytewise); NULL when len == 0 */
  size_t len;
} libsds_channel_list;

/**
 * Lists every channel the manager has: those in memory and those only in its
 * store (not loaded yet), including channels set aside after a bad stored
 * record. With libsds_remove_channel, this is how a host cleans up channels it
 * no longer wants (for example ones a peer created).
 * @param out  receives a newly allocated list (one allocation: the struct, the
 *             array and the strings), owned by the caller; release it with
 *             libsds_channel_list_free. Set to NULL on failure.
 * @return LIBSDS_OK, LIBSDS_ERR_INVALID_ARG (out is NULL), LIBSDS_ERR_BAD_HANDLE.
 */
LIBSDS_API int libsds_channels(libsds_handle h, libsds_channel_list **out);

/** Releases a list from libsds_channels. NULL is fine. */
LIBSDS_API void libsds_channel_list_free(libsds_channel_list *list);

/**
 * Starts the periodic tasks (buffer sweep, sync notification, repair sweep).
 * Each runs once at once — its events are queued before this returns — then at
 * its interval. Idempotent: a second start does nothing. May race libsds_stop
 * and libsds_free from any thread.
 * @param h  the manager.
 * @return LIBSDS_OK, LIBSDS_ERR_BAD_HANDLE, LIBSDS_ERR_CLOSED, LIBSDS_ERR_REENTRANT.
 */
LIBSDS_API int libsds_start(libsds_handle h);

/**
 * Stops the periodic tasks and waits for a running one to finish. Idempotent.
 * @param h  the manager.
 * @return LIBSDS_OK, LIBSDS_ERR_BAD_HANDLE, LIBSDS_ERR_CLOSED, LIBSDS_ERR_REENTRANT.
 */
LIBSDS_API int libsds_stop(libsds_handle h);

#define LIBSDS_TASK_BUFFER_SWEEP (1u << 0) /**< count resend attempts; give up the exhausted */
#define LIBSDS_TASK_SYNC         (1u << 1) /**< fire LIBSDS_EVENT_PERIODIC_SYNC */
#define LIBSDS_TASK_REPAIR_SWEEP (1u << 2) /**< fire due SDS-R rebroadcasts, expire old requests */

/**
 * Runs the chosen periodic tasks once now, for hosts that drive their own
 * timers. The events they cause are queued behind every event queued before,
 * so the PERIODIC_SYNC of LIBSDS_TASK_SYNC is a fence: when it arrives, every
 * earlier event has been delivered.
 * @param h      the manager.
 * @param tasks  LIBSDS_TASK_* bits.
 * @return LIBSDS_OK, LIBSDS_ERR_STORE, LIBSDS_ERR_BAD_HANDLE, LIBSDS_ERR_CLOSED, LIBSDS_ERR_REENTRANT.
 */
LIBSDS_API int libsds_run_tasks(libsds_handle h, uint32_t tasks);

/* ------------------------------------------------------------------------- */
/* nim-sds compatible API (the header nim-sds ships as libsds.h)             */
/* ------------------------------------------------------------------------- */
/*
 * Same names, signatures, return codes, payload text and JSON as nim-sds
 * (commit 35a33ad); see docs/compat.md. Where this library deliberately
 * differs, it is safer:
 *  - a NULL, freed or garbage ctx calls the callback (if any) once with RET_ERR
 *    and "libsds error: invalid context" and returns RET_ERR — never a crash;
 *  - a result callback is called exactly once per call that returned RET_OK,
 *    after the events that call caused; one manager's callbacks are serial and
 *    in order. nim-sds runs them on the context's worker thread, before or
 *    after the call returns (0.4: before, while the caller waits); here the
 *    call usually runs them itself, on the caller's thread, before it returns,
 *    else a delivery-pool thread does (Threading & lifetime). So a host must
 *    not hold, across a call, a lock its callbacks take (with nim-sds 0.3 that
 *    worked when the host did not wait for the result);
 *    LIBSDS_CALLER_DELIVERS=0 restores delivery by library threads only;
 *  - backpressure and "no callback after free" as for the native API (see
 *    Threading & lifetime); a call that gives up waiting for room because the
 *    manager is being cleaned up reports an invalid context;
 *  - the msg buffer passed to a result callback stays valid after the callback
 *    returns: the manager keeps its last 64 results alive (older ones are
 *    released as new ones arrive, all of them at cleanup);
 *  - events are delivered even when the event userData is NULL;
 *  - the retrieval-hint provider's buffer is released with free(): allocate
 *    it with malloc;
 *  - SdsStartPeriodicTasks is idempotent;
 *  - SdsCleanupReliabilityManager stops the periodic tasks, delivers the
 *    pending events and results (at most about LIBSDS_MAX_PENDING_EVENTS),
 *    releases the manager and calls back exactly once, last; ctx is invalid
 *    from the moment it is called. Called from inside one of the manager's
 *    callbacks it returns at once and the rest is delivered after that
 *    callback returns.
 *
 * Parameters, for all nine: ctx is what SdsNewReliabilityManager returned;
 * callback receives the result (or, for SdsSetEventCallback, every event)
 * with userData, which is borrowed until the result arrives (or the event
 * callback is replaced; replacing it waits for a running one, as
 * libsds_set_event_handler does); message/messageLen are the payload or the
 * received bytes (borrowed); messageId, channelId and each messageIDs[i] are
 * NUL-terminated (borrowed). Each int function returns RET_OK (the result
 * callback follows), RET_ERR (the callback was already called, on the
 * caller's thread, with the error text) or RET_MISSING_CALLBACK (callback is
 * NULL; nothing happens).
 */

#ifndef RET_OK
#define RET_OK 0
#endif
#ifndef RET_ERR
#define RET_ERR 1
#endif
#ifndef RET_MISSING_CALLBACK
#define RET_MISSING_CALLBACK 2
#endif

/** msg points to len bytes followed by a NUL; valid after the callback too (see above). */
typedef void (*SdsCallBack)(int callerRet, const char *msg, size_t len, void *userData);
/** Set *hint to a malloc'd buffer of *hintLen bytes (the library frees it), or leave NULL. */
typedef void (*SdsRetrievalHintProvider)(const char *messageId, char **hint, size_t *hintLen, void *userData);

/** @return a new context (its creation result follows on callback), or NULL if callback is NULL. */
LIBSDS_API void *SdsNewReliabilityManager(SdsCallBack callback, void *userData);
/** @param callback receives every event as nim-sds's JSON; NULL stops events. */
LIBSDS_API void SdsSetEventCallback(void *ctx, SdsCallBack callback, void *userData);
/** @param callback the provider, or NULL; replacing it waits for a running one. */
LIBSDS_API void SdsSetRetrievalHintProvider(void *ctx, SdsRetrievalHintProvider callback, void *userData);
/** @return RET_OK, RET_ERR (invalid ctx), RET_MISSING_CALLBACK; see above. */
LIBSDS_API int SdsCleanupReliabilityManager(void *ctx, SdsCallBack callback, void *userData);
/** @return see above. */
LIBSDS_API int SdsResetReliabilityManager(void *ctx, SdsCallBack callback, void *userData);
/** @return see above; the result is the wire message as comma-separated bytes. */
LIBSDS_API int SdsWrapOutgoingMessage(void *ctx, void *message, size_t messageLen, const char *messageId,
                                      const char *channelId, SdsCallBack callback, void *userData);
/** @return see above; the result is nim-sds's unwrap JSON. */
LIBSDS_API int SdsUnwrapReceivedMessage(void *ctx, void *message, size_t messageLen, SdsCallBack callback,
                                        void *userData);
/** @param count the number of messageIDs. @return see above. */
LIBSDS_API int SdsMarkDependenciesMet(void *ctx, char **messageIDs, size_t count, const char *channelId,
                                      SdsCallBack callback, void *userData);
/** @return see above; idempotent. */
LIBSDS_API int SdsStartPeriodicTasks(void *ctx, SdsCallBack callback, void *userData);

#ifdef __cplusplus
}
#endif

#endif /* LIBSDS_SDS_H */
