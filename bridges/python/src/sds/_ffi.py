"""The ctypes layer: the only module of the package that touches ctypes.

It finds and loads libsds, declares the argument and result types of every
``libsds_*`` function in the order of include/sds.h, checks the ABI major,
mirrors the header's structs, owns the C-facing callback trampolines, and offers
one small function per native call that converts Python values in, C results
out (copying everything the library owns before releasing it), and raises the
matching :class:`~sds.SdsError` on failure.

Library search order: ``$SDS_LIBRARY_PATH`` (a file, or a directory holding
the library; if set it must load), then the package directory, then
``ctypes.util.find_library("sds")``. The library is loaded with
``ctypes.CDLL``, so every call releases the GIL: the library's threads can
deliver events into Python while a call (even ``libsds_free``) waits.

Callbacks: the event handler and the hint provider of every manager go through
two module-level ``CFUNCTYPE`` trampolines that live as long as the process, so
no C function pointer handed to the library can ever dangle. ``user_data`` is
an integer key into a registry of per-manager callback targets.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
import os
import sys
import weakref
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    byref,
    c_char_p,
    c_double,
    c_int,
    c_int64,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Any, Callable, Iterable

from ._errors import ERR_INVALID_ARG, InvalidArgumentError, raise_for_status
from ._types import Event as PyEvent
from ._types import EventType, HistoryEntry as PyHistoryEntry, Unwrapped as PyUnwrapped

#: The LIBSDS_ABI_VERSION this bridge is written against.
EXPECTED_ABI_VERSION = 0

# ---------------------------------------------------------------------------
# Constants of include/sds.h
# ---------------------------------------------------------------------------

STORE_NONE = 0
STORE_HOST = 1
STORE_SQLITE = 2

PERSISTENCE_VERSION = 1  # the first layout; a newer one sets its struct size instead

RECORD_LOG = 1
RECORD_OUTGOING = 2
RECORD_INCOMING = 3
RECORD_OUTGOING_REPAIR = 4
RECORD_INCOMING_REPAIR = 5

TASK_BUFFER_SWEEP = 1 << 0
TASK_SYNC = 1 << 1
TASK_REPAIR_SWEEP = 1 << 2

# ---------------------------------------------------------------------------
# Structs (LP64 layout follows from the C rules; tests compare with a C compiler)
# ---------------------------------------------------------------------------


class Str(Structure):
    """libsds_str. data is void* (not c_char_p) so embedded NULs survive."""

    _fields_ = [("data", c_void_p), ("len", c_size_t)]


class Buffer(Structure):
    """libsds_buffer."""

    _fields_ = [("data", c_void_p), ("len", c_size_t)]


class Bytes(Structure):
    """libsds_bytes: a borrowed view into a result block (never freed alone)."""

    _fields_ = [("data", c_void_p), ("len", c_size_t)]


class HistoryEntry(Structure):
    """libsds_history_entry."""

    _fields_ = [
        ("message_id", Str),
        ("retrieval_hint", c_void_p),
        ("retrieval_hint_len", c_size_t),
        ("sender_id", Str),
    ]


# Persistence method types (libsds_persistence).
SAVE_LAMPORT_FN = CFUNCTYPE(c_int, c_void_p, Str, c_int64)
SAVE_RECORD_FN = CFUNCTYPE(c_int, c_void_p, Str, Str, c_void_p, c_size_t)
REMOVE_RECORD_FN = CFUNCTYPE(c_int, c_void_p, Str, Str)
SET_HINT_FN = CFUNCTYPE(c_int, c_void_p, Str, c_void_p, c_size_t)
DROP_CHANNEL_FN = CFUNCTYPE(c_int, c_void_p, Str)
LOAD_CHANNEL_FN = CFUNCTYPE(c_int, c_void_p, Str, c_void_p)
TX_FN = CFUNCTYPE(c_int, c_void_p)
LIST_CHANNELS_FN = CFUNCTYPE(c_int, c_void_p, c_void_p)
DESTROY_FN = CFUNCTYPE(None, c_void_p)
SAVE_DUE_FN = CFUNCTYPE(c_int, c_void_p, Str, c_int64)
CHANNELS_DUE_FN = CFUNCTYPE(c_int, c_void_p, c_int64, c_void_p)


class Persistence(Structure):
    """libsds_persistence (LIBSDS_STORE_HOST). Not exposed by the Python API yet;
    declared for completeness and exercised by the tests."""

    _fields_ = [
        ("version", c_uint32),
        ("user_data", c_void_p),
        ("save_lamport", SAVE_LAMPORT_FN),
        ("append_log_entry", SAVE_RECORD_FN),
        ("remove_log_entry", REMOVE_RECORD_FN),
        ("set_retrieval_hint", SET_HINT_FN),
        ("save_outgoing", SAVE_RECORD_FN),
        ("remove_outgoing", REMOVE_RECORD_FN),
        ("save_incoming", SAVE_RECORD_FN),
        ("remove_incoming", REMOVE_RECORD_FN),
        ("save_outgoing_repair", SAVE_RECORD_FN),
        ("remove_outgoing_repair", REMOVE_RECORD_FN),
        ("save_incoming_repair", SAVE_RECORD_FN),
        ("remove_incoming_repair", REMOVE_RECORD_FN),
        ("drop_channel", DROP_CHANNEL_FN),
        ("load_all_for_channel", LOAD_CHANNEL_FN),
        ("begin", TX_FN),
        ("commit", TX_FN),
        ("rollback", TX_FN),
        ("list_channels", LIST_CHANNELS_FN),
        ("destroy", DESTROY_FN),
        ("save_channel_due", SAVE_DUE_FN),
        ("channels_due", CHANNELS_DUE_FN),
    ]


class Options(Structure):
    """libsds_options, versioned by its size field."""

    _fields_ = [
        ("size", c_uint32),
        ("store_kind", c_uint32),
        ("participant_id", c_char_p),
        ("config_set", c_uint64),
        ("bloom_capacity", c_uint32),
        ("bloom_error_rate", c_double),
        ("max_message_history", c_uint32),
        ("max_causal_history", c_uint32),
        ("resend_interval_ms", c_int64),
        ("max_resend_attempts", c_uint32),
        ("sync_interval_ms", c_int64),
        ("buffer_sweep_interval_ms", c_int64),
        ("repair_t_min_ms", c_int64),
        ("repair_t_max_ms", c_int64),
        ("num_response_groups", c_uint32),
        ("max_repair_requests", c_uint32),
        ("repair_sweep_interval_ms", c_int64),
        ("max_channels", c_uint32),
        ("max_incoming_buffer", c_uint32),
        ("max_outgoing_buffer", c_uint32),
        ("rerequest_repairs", c_uint32),
        ("persistence", POINTER(Persistence)),
        ("sqlite_path", c_char_p),
        ("sqlite_namespace", c_char_p),
        ("sqlite_durability", c_uint32),
        ("wire_generation", c_uint32),
        # Hostile-peer budgets.
        ("max_id_length", c_uint32),
        ("max_channel_id_length", c_uint32),
        ("max_hint_length", c_uint32),
        ("max_causal_entries", c_uint32),
        ("max_repair_entries", c_uint32),
        ("max_causal_history_bytes", c_uint32),
        ("max_pending_repairs", c_uint32),
        ("max_incoming_bytes", c_uint64),
        ("max_history_bytes", c_uint64),
        ("max_repair_bytes", c_uint64),
    ]


class Event(Structure):
    """libsds_event; fields beyond ``size`` are never read."""

    _fields_ = [
        ("size", c_uint32),
        ("type", c_uint32),
        ("channel_id", Str),
        ("message_id", Str),
        ("missing_deps", POINTER(HistoryEntry)),
        ("missing_deps_len", c_size_t),
        ("message", c_void_p),
        ("message_len", c_size_t),
        ("error", c_char_p),
        ("content", c_void_p),
        ("content_len", c_size_t),
    ]


class ChannelList(Structure):
    """libsds_channel_list."""

    _fields_ = [("ids", POINTER(Str)), ("len", c_size_t)]


ChannelListP = POINTER(ChannelList)


class Unwrapped(Structure):
    """libsds_unwrapped."""

    _fields_ = [
        ("content", Bytes),
        ("channel_id", Str),
        ("missing_deps", POINTER(HistoryEntry)),
        ("missing_deps_len", c_size_t),
        ("message_id", Str),
    ]


EVENT_CB = CFUNCTYPE(None, POINTER(Event), c_void_p)
# int64_t (*)(libsds_str message_id, uint8_t *buf, size_t buf_len, void *user_data)
HINT_PROVIDER = CFUNCTYPE(c_int64, Str, c_void_p, c_size_t, c_void_p)

# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

if sys.platform == "darwin":
    _LIB_NAMES = (f"libsds.{EXPECTED_ABI_VERSION}.dylib", "libsds.dylib")
elif sys.platform == "win32":
    _LIB_NAMES = ("sds.dll", "libsds.dll")
else:
    _LIB_NAMES = (f"libsds.so.{EXPECTED_ABI_VERSION}", "libsds.so")


def _load() -> tuple[ctypes.CDLL, str]:
    env = os.environ.get("SDS_LIBRARY_PATH")
    if env:
        paths = [os.path.join(env, n) for n in _LIB_NAMES] if os.path.isdir(env) else [env]
        errors = []
        for p in paths:
            try:
                return ctypes.CDLL(p), p
            except OSError as e:
                errors.append(f"{p}: {e}")
        raise ImportError("sds: cannot load libsds from $SDS_LIBRARY_PATH: " + "; ".join(errors))
    here = os.path.dirname(os.path.abspath(__file__))
    tried = []
    for n in _LIB_NAMES:
        p = os.path.join(here, n)
        if os.path.exists(p):
            try:
                return ctypes.CDLL(p), p
            except OSError as e:
                tried.append(f"{p}: {e}")
    found = ctypes.util.find_library("sds")
    if found:
        try:
            return ctypes.CDLL(found), found
        except OSError as e:
            tried.append(f"{found}: {e}")
    raise ImportError(
        "sds: libsds not found. Set SDS_LIBRARY_PATH to the library file (e.g. build/libsds.so.0 after "
        "`make lib` in the libsds repository), install the wheel that bundles it (`make wheel`), "
        "or install it where the system loader finds it (`make install`, then `ldconfig`)"
        + (" (tried: " + "; ".join(tried) + ")" if tried else "")
    )


lib, library_path = _load()

BufferP = POINTER(Buffer)
UnwrappedP = POINTER(Unwrapped)

# Every libsds_* function of include/sds.h, in header order: (name, restype, argtypes).
_PROTOTYPES: tuple[tuple[str, Any, list[Any]], ...] = (
    ("libsds_version_number", c_int, []),
    ("libsds_version", c_char_p, []),
    ("libsds_abi_version", c_int, []),
    ("libsds_status_str", c_char_p, [c_int]),
    ("libsds_last_error", c_char_p, []),
    ("libsds_buffer_free", None, [BufferP]),
    ("libsds_options_init", None, [c_void_p]),
    ("libsds_loader_set_lamport", c_int, [c_void_p, c_int64]),
    ("libsds_loader_add_record", c_int, [c_void_p, c_uint32, c_char_p, c_size_t]),
    ("libsds_loader_add_channel", c_int, [c_void_p, c_char_p, c_size_t]),
    ("libsds_new", c_int, [POINTER(Options), POINTER(c_uint64)]),
    ("libsds_free", c_int, [c_uint64]),
    ("libsds_set_event_handler", c_int, [c_uint64, EVENT_CB, c_void_p]),
    ("libsds_set_hint_provider", c_int, [c_uint64, HINT_PROVIDER, c_void_p]),
    ("libsds_wrap", c_int, [c_uint64, c_char_p, c_size_t, c_char_p, c_char_p, BufferP]),
    ("libsds_unwrap", c_int, [c_uint64, c_char_p, c_size_t, POINTER(UnwrappedP)]),
    ("libsds_unwrapped_free", None, [UnwrappedP]),
    ("libsds_mark_dependencies_met", c_int, [c_uint64, POINTER(Str), c_size_t, c_char_p]),
    ("libsds_reset", c_int, [c_uint64]),
    ("libsds_remove_channel", c_int, [c_uint64, c_char_p]),
    ("libsds_channels", c_int, [c_uint64, POINTER(ChannelListP)]),
    ("libsds_channel_list_free", None, [ChannelListP]),
    ("libsds_start", c_int, [c_uint64]),
    ("libsds_stop", c_int, [c_uint64]),
    ("libsds_run_tasks", c_int, [c_uint64, c_uint32]),
)


def _declare() -> None:
    missing = []
    for name, restype, argtypes in _PROTOTYPES:
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    if missing:
        raise ImportError(f"sds: {library_path} is not a compatible libsds: missing {', '.join(missing)}")


_declare()

abi_version: int = lib.libsds_abi_version()
if abi_version != EXPECTED_ABI_VERSION:
    raise ImportError(
        f"sds: {library_path} has ABI version {abi_version}, but this bridge needs ABI version "
        f"{EXPECTED_ABI_VERSION} (libsds.so.{EXPECTED_ABI_VERSION}); install a matching libsds "
        "or a matching version of the Python package"
    )
version: str = (lib.libsds_version() or b"").decode("ascii", "replace")
version_number: int = lib.libsds_version_number()

# ---------------------------------------------------------------------------
# Fork safety: the Go runtime's threads do not survive fork(), so a child
# process must never call into the library it inherited.
# ---------------------------------------------------------------------------

_forked = False


def _after_fork_in_child() -> None:
    global _forked
    _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def forked() -> bool:
    """True in a child process forked after libsds was loaded."""
    return _forked


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def status_str(status: int) -> str:
    """libsds_status_str: a static name for a status."""
    return (lib.libsds_status_str(status) or b"").decode("utf-8", "replace")


def _check(rc: int) -> None:
    """Raises for a failed call; reads libsds_last_error() on this thread at once."""
    if rc != 0:
        raw = lib.libsds_last_error()
        msg = raw.decode("utf-8", "replace") if raw else ""
        raise_for_status(rc, msg or status_str(rc))


# ---------------------------------------------------------------------------
# Reporting exceptions from callbacks: a one-shot ctypes callback re-raises the
# exception, so ctypes hands it to sys.unraisablehook with a real
# UnraisableHookArgs (which Python code cannot construct itself).
# ---------------------------------------------------------------------------

_RAISER = CFUNCTYPE(None)


class _Raiser:
    __slots__ = ("exc", "what")

    def __init__(self, exc: BaseException, what: str) -> None:
        self.exc: BaseException | None = exc
        self.what = what

    def __call__(self) -> None:
        exc, self.exc = self.exc, None
        assert exc is not None, "raised twice"
        raise exc

    def __repr__(self) -> str:
        return self.what


def report_unraisable(exc: BaseException, what: str) -> None:
    """Sends exc to sys.unraisablehook; never raises."""
    try:
        _RAISER(_Raiser(exc, what))()
    except BaseException:  # pragma: no cover - the hook itself failed
        pass


def _describe(kind: str, fn: object) -> str:
    try:
        return f"sds {kind} {fn!r}"
    except BaseException:
        return f"sds {kind}"


# ---------------------------------------------------------------------------
# Callback targets and trampolines
# ---------------------------------------------------------------------------


class CallbackTarget:
    """What the trampolines call for one manager. Holds no reference to it."""

    __slots__ = ("event_handler", "hint_provider", "hint_cache", "__weakref__")

    def __init__(self) -> None:
        self.event_handler: Callable[[PyEvent], None] | None = None
        self.hint_provider: Callable[[bytes], Any] | None = None
        # (message_id, provider, hint) of a hint larger than the buffer offered:
        # the library asks again at once with a big enough buffer.
        self.hint_cache: tuple[bytes, Any, bytes] | None = None


# Weak: the manager owns its target, so a handler that refers to its own
# manager makes a cycle the garbage collector can still reclaim.
_targets: dict[int, weakref.ref[CallbackTarget]] = {}
_keys = itertools.count(1)


def register(target: CallbackTarget) -> int:
    key = next(_keys)
    _targets[key] = weakref.ref(target)
    return key


def _target(user_data: int | None) -> CallbackTarget | None:
    ref = _targets.get(user_data or 0)
    return ref() if ref is not None else None


def unregister(key: int) -> None:
    _targets.pop(key, None)


def _bytes_of(s: Str) -> bytes:
    if not s.data or not s.len:
        return b""
    return ctypes.string_at(s.data, s.len)


def _entries(ptr: Any, n: int) -> list[PyHistoryEntry]:
    out = []
    for i in range(n):
        e = ptr[i]
        hint = ctypes.string_at(e.retrieval_hint, e.retrieval_hint_len) if e.retrieval_hint and e.retrieval_hint_len else b""
        out.append(PyHistoryEntry(_bytes_of(e.message_id), hint, _bytes_of(e.sender_id)))
    return out


def _field_end(cls: Any, name: str) -> int:
    f = getattr(cls, name)
    return int(f.offset + f.size)


_EVENT_END = {f[0]: _field_end(Event, f[0]) for f in Event._fields_}


def event_from_c(ev: Event) -> PyEvent:
    """Copies a libsds_event into an Event, reading no field beyond ev.size."""
    size = ev.size

    def has(name: str) -> bool:
        return bool(_EVENT_END[name] <= size)

    raw_type = ev.type
    etype: EventType | int
    try:
        etype = EventType(raw_type)
    except ValueError:
        etype = raw_type
    channel_id = _bytes_of(ev.channel_id) if has("channel_id") else b""
    message_id = _bytes_of(ev.message_id) if has("message_id") else b""
    deps: list[PyHistoryEntry] = []
    if has("missing_deps_len") and ev.missing_deps_len and ev.missing_deps:
        deps = _entries(ev.missing_deps, ev.missing_deps_len)
    message = None
    if has("message_len") and ev.message:
        message = ctypes.string_at(ev.message, ev.message_len)
    error = None
    if has("error") and ev.error is not None:
        error = ev.error.decode("utf-8", "replace")
    content = None
    if has("content_len") and ev.content:
        content = ctypes.string_at(ev.content, ev.content_len)
    return PyEvent(etype, channel_id, message_id, deps, message, error, content)


def _on_event(ev_ptr: Any, user_data: int | None) -> None:
    handler = None
    try:
        target = _target(user_data)
        handler = target.event_handler if target is not None else None
        if handler is None or not ev_ptr:
            return
        event = event_from_c(ev_ptr.contents)
    except BaseException as e:
        report_unraisable(e, "sds event conversion")
        return
    try:
        handler(event)
    except BaseException as e:
        report_unraisable(e, _describe("event handler", handler))


def _on_hint(message_id: Str, buf: int | None, buf_len: int, user_data: int | None) -> int:
    provider = None
    try:
        target = _target(user_data)
        if target is None or target.hint_provider is None:
            return 0
        provider = target.hint_provider
        mid = _bytes_of(message_id)
        cached, target.hint_cache = target.hint_cache, None
        if cached is not None and cached[0] == mid and cached[1] is provider:
            hint = cached[2]
        else:
            value = provider(mid)
            if value is None:
                return 0
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise TypeError(f"a hint provider must return bytes or None, not {type(value).__name__}")
            hint = bytes(value)
        n = len(hint)
        if n == 0:
            return 0
        if n > buf_len:
            target.hint_cache = (mid, provider, hint)
        if buf and buf_len:
            ctypes.memmove(buf, hint, min(n, buf_len))
        return n
    except BaseException as e:
        report_unraisable(e, _describe("hint provider", provider))
        return 0


#: The two C callbacks handed to the library; module-level so they never die.
EVENT_TRAMPOLINE = EVENT_CB(_on_event)
HINT_TRAMPOLINE = HINT_PROVIDER(_on_hint)
# NULL function pointers: a CFUNCTYPE argtype does not accept None.
_NULL_EVENT_CB = EVENT_CB()
_NULL_HINT_PROVIDER = HINT_PROVIDER()

# ---------------------------------------------------------------------------
# Calls
# ---------------------------------------------------------------------------


# Room beyond this module's libsds_options for a newer library's fields, which
# libsds_options_init also fills; the library reads no field beyond o.size.
_OPTIONS_SLACK = 512


def _new_options() -> Options:
    """A libsds_options with the library's defaults and size (libsds_options_init)."""
    buf = (ctypes.c_uint8 * (ctypes.sizeof(Options) + _OPTIONS_SLACK))()
    lib.libsds_options_init(buf)
    o = Options.from_buffer(buf)
    if o.size > len(buf):
        raise RuntimeError(f"sds: {library_path} has a libsds_options of {o.size} bytes; upgrade the Python package")
    return o


def new_manager(
    participant_id: bytes | None,
    config_set: int,
    config_values: dict[str, int | float],
    store_kind: int = STORE_NONE,
    sqlite_path: bytes | None = None,
    sqlite_namespace: bytes | None = None,
    durability: int = 0,
    persistence: Persistence | None = None,
) -> int:
    """libsds_new; returns the handle."""
    o = _new_options()
    o.store_kind = store_kind
    o.participant_id = participant_id
    o.config_set = config_set
    for name, value in config_values.items():
        setattr(o, name, value)
    if persistence is not None:
        o.persistence = ctypes.pointer(persistence)
    o.sqlite_path = sqlite_path
    o.sqlite_namespace = sqlite_namespace
    if not 0 <= durability <= 0xFFFFFFFF:
        raise InvalidArgumentError(ERR_INVALID_ARG, f"unknown durability {durability}")
    o.sqlite_durability = durability
    h = c_uint64(0)
    _check(lib.libsds_new(byref(o), byref(h)))
    return int(h.value)


def free(h: int) -> None:
    _check(lib.libsds_free(h))


def set_event_handler(h: int, key: int | None) -> None:
    if key is None:
        _check(lib.libsds_set_event_handler(h, _NULL_EVENT_CB, None))
    else:
        _check(lib.libsds_set_event_handler(h, EVENT_TRAMPOLINE, key))


def set_hint_provider(h: int, key: int | None) -> None:
    if key is None:
        _check(lib.libsds_set_hint_provider(h, _NULL_HINT_PROVIDER, None))
    else:
        _check(lib.libsds_set_hint_provider(h, HINT_TRAMPOLINE, key))


def wrap(h: int, content: bytes, message_id: bytes, channel_id: bytes) -> bytes:
    out = Buffer()
    try:
        _check(lib.libsds_wrap(h, content, len(content), message_id, channel_id, byref(out)))
        return ctypes.string_at(out.data, out.len) if out.data and out.len else b""
    finally:
        lib.libsds_buffer_free(byref(out))


def unwrap(h: int, data: bytes) -> PyUnwrapped:
    out = UnwrappedP()
    try:
        _check(lib.libsds_unwrap(h, data, len(data), byref(out)))
        u = out.contents
        content = ctypes.string_at(u.content.data, u.content.len) if u.content.data and u.content.len else b""
        deps = _entries(u.missing_deps, u.missing_deps_len) if u.missing_deps and u.missing_deps_len else []
        return PyUnwrapped(content, _bytes_of(u.channel_id), deps, _bytes_of(u.message_id))
    finally:
        if out:
            lib.libsds_unwrapped_free(out)


def mark_dependencies_met(h: int, ids: Iterable[bytes], channel_id: bytes) -> None:
    ids = list(ids)
    keep = [ctypes.create_string_buffer(i, len(i) + 1) for i in ids]
    arr = (Str * max(len(ids), 1))()
    for k, (raw, buf) in enumerate(zip(ids, keep)):
        arr[k].data = ctypes.cast(buf, c_void_p)
        arr[k].len = len(raw)
    _check(lib.libsds_mark_dependencies_met(h, arr if ids else None, len(ids), channel_id))


def reset(h: int) -> None:
    _check(lib.libsds_reset(h))


def remove_channel(h: int, channel_id: bytes) -> None:
    _check(lib.libsds_remove_channel(h, channel_id))


def channels(h: int) -> list[bytes]:
    out = ChannelListP()
    try:
        _check(lib.libsds_channels(h, byref(out)))
        lst = out.contents
        return [_bytes_of(lst.ids[i]) for i in range(lst.len)]
    finally:
        if out:
            lib.libsds_channel_list_free(out)


def start(h: int) -> None:
    _check(lib.libsds_start(h))


def stop(h: int) -> None:
    _check(lib.libsds_stop(h))


def run_tasks(h: int, tasks: int) -> None:
    _check(lib.libsds_run_tasks(h, tasks))
