"""ReliabilityManager: one libsds manager (handle) with a Pythonic API."""

from __future__ import annotations

import atexit
import os
import threading
import warnings
import weakref
from typing import Any, Callable, Iterable, TypeVar, Union

from . import _ffi
from ._errors import (
    ERR_CLOSED,
    ERR_INVALID_ARG,
    ClosedError,
    InvalidArgumentError,
    InvalidHandleError,
    ReentrantCallError,
)
from ._types import Config, Durability, Event, Unwrapped, encode_id

__all__ = ["ReliabilityManager", "EventHandler", "HintProvider"]

#: Receives every event of a manager, on a library thread.
EventHandler = Callable[[Event], None]
#: Given a message id (bytes), returns its retrieval hint (bytes) or None.
HintProvider = Callable[[bytes], Union[bytes, bytearray, memoryview, None]]

BytesLike = Union[bytes, bytearray, memoryview]
Id = Union[str, bytes, bytearray, memoryview]
_R = TypeVar("_R")

# Managers still open, closed at interpreter exit: the library's threads must
# not call into Python while it is being torn down.
_live: dict[int, weakref.ref[ReliabilityManager]] = {}
_live_lock = threading.Lock()


@atexit.register
def _close_all_at_exit() -> None:
    with _live_lock:
        refs = list(_live.values())
    for ref in refs:
        m = ref()
        if m is not None:
            try:
                m.close()
            except Exception:
                pass


def _cstr(value: Id, what: str) -> bytes:
    """An id for a NUL-terminated C parameter: no NUL byte inside."""
    raw = encode_id(value, what)
    if b"\0" in raw:
        raise InvalidArgumentError(ERR_INVALID_ARG, f"{what} must not contain NUL bytes (the C API takes it NUL-terminated)")
    return raw


def _content(value: BytesLike, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, not {type(value).__name__}")


class ReliabilityManager:
    """An SDS reliability manager (a libsds handle).

    Args:
        participant_id: this participant's id; None or "" disables SDS-R (repair).
        config: tunables; None (or None fields) keeps the library defaults.
        sqlite_path: keep state in the bundled SQLite store at this file (created
            if missing; its directory must exist). None: memory only.
        sqlite_namespace: the manager's namespace inside the file (default: the
            participant id), so several managers can share one file.
        durability: SQLite durability (NORMAL survives a process crash, FULL
            also a power loss).
        on_event: the event handler (see :meth:`set_event_handler`).
        hint_provider: the retrieval-hint provider (see :meth:`set_hint_provider`).

    Raises:
        InvalidArgumentError: a bad option (the message names it).
        StoreError: the SQLite store could not be opened or loaded.
        UnsupportedError: the library was built without SQLite.

    Use it as a context manager, or call :meth:`close`; a manager dropped
    without closing is closed by the garbage collector (with a ResourceWarning)
    and any still open at interpreter exit are closed then. Every method may be
    called from any thread, including from inside the event handler.
    """

    def __init__(
        self,
        participant_id: str | None = None,
        *,
        config: Config | None = None,
        sqlite_path: str | os.PathLike[str] | os.PathLike[bytes] | bytes | None = None,
        sqlite_namespace: str | None = None,
        durability: Durability | int = Durability.NORMAL,
        on_event: EventHandler | None = None,
        hint_provider: HintProvider | None = None,
    ) -> None:
        self._handle = 0
        self._key = 0
        self._lock = threading.Lock()
        self._targets = _ffi.CallbackTarget()
        # The C function pointers given to the library for this manager. They
        # are the module's process-lifetime trampolines; kept here too so the
        # ownership is visible (and survives any future per-manager change).
        self._c_callbacks = (_ffi.EVENT_TRAMPOLINE, _ffi.HINT_TRAMPOLINE)
        self._participant_id = participant_id
        _check_fork()

        pid = _cstr(participant_id, "participant_id") if participant_id else None
        bits, values = (config or Config())._native()
        store_kind = _ffi.STORE_NONE
        path = ns = None
        if sqlite_path is not None:
            store_kind = _ffi.STORE_SQLITE
            path = os.fsencode(sqlite_path)
            if not path or b"\0" in path:
                raise InvalidArgumentError(ERR_INVALID_ARG, "sqlite_path must be a non-empty path without NUL bytes")
            if sqlite_namespace is not None:
                ns = _cstr(sqlite_namespace, "sqlite_namespace")
        elif sqlite_namespace is not None:
            raise InvalidArgumentError(ERR_INVALID_ARG, "sqlite_namespace needs sqlite_path")
        if isinstance(durability, bool) or not isinstance(durability, int):
            raise TypeError(f"durability must be a Durability, not {type(durability).__name__}")

        self._handle = _ffi.new_manager(pid, bits, values, store_kind, path, ns, int(durability))
        self._key = _ffi.register(self._targets)
        with _live_lock:
            _live[self._key] = weakref.ref(self)
        try:
            if on_event is not None:
                self.set_event_handler(on_event)
            if hint_provider is not None:
                self.set_hint_provider(hint_provider)
        except BaseException:
            self.close()
            raise

    # -- lifetime -----------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._handle == 0

    @property
    def participant_id(self) -> str | None:
        return self._participant_id

    def close(self) -> None:
        """Stops the periodic tasks, discards the events not yet delivered,
        closes the store (its data stays on disk) and releases the manager. No
        handler or provider of this manager runs after it returns. Safe to call
        twice. To have every event of earlier calls delivered first, wait for
        them: events are ordered, so a ``PERIODIC_SYNC`` event asked for with
        ``run_tasks(sync=True)`` arrives after all of them.

        Called from inside this manager's event handler, it returns once that
        handler is the last one running (the library's rule).

        Raises:
            ReentrantCallError: called from this manager's hint provider (the
                manager stays open).
            StoreError: closing the store failed (the manager is released anyway).
        """
        with self._lock:
            h, self._handle = self._handle, 0
        if not h:
            return
        if _ffi.forked():
            self._forget()  # the inherited library is unusable here: leak, don't hang
            return
        try:
            _ffi.free(h)
        except ReentrantCallError:
            with self._lock:
                self._handle = h
            raise
        except InvalidHandleError:
            pass  # already released (cannot happen through this class)
        finally:
            if self._handle == 0:
                self._forget()

    def _forget(self) -> None:
        _ffi.unregister(self._key)
        with _live_lock:
            _live.pop(self._key, None)

    def __enter__(self) -> ReliabilityManager:
        self._h()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_handle", 0):
            try:
                warnings.warn(f"unclosed {self!r}", ResourceWarning, source=self)
            except Exception:
                pass
            try:
                self.close()
            except Exception:
                pass

    def __repr__(self) -> str:
        state = "closed" if self._handle == 0 else f"handle={self._handle:#x}"
        return f"<sds.ReliabilityManager participant_id={self._participant_id!r} {state}>"

    def _h(self) -> int:
        _check_fork()
        h = self._handle
        if not h:
            raise ClosedError(ERR_CLOSED, "the manager is closed")
        return h

    def _call(self, fn: Callable[..., _R], *args: Any) -> _R:
        h = self._h()
        try:
            return fn(h, *args)
        except InvalidHandleError as e:
            if self._handle == 0:  # closed by another thread meanwhile
                raise ClosedError(ERR_CLOSED, "the manager is closed") from e
            raise

    # -- handlers -------------------------------------------------------------

    def set_event_handler(self, handler: EventHandler | None) -> None:
        """Installs (or with None removes) the event handler.

        The handler is called with each :class:`Event`, serially and in order,
        on a library thread (never the caller's). Everything it receives is
        already copied into Python objects. It may call any method of any
        manager, this one included. An exception it raises is passed to
        ``sys.unraisablehook`` (by default printed to stderr); delivery goes on.
        """
        if handler is not None and not callable(handler):
            raise TypeError("the event handler must be callable or None")
        self._set(_ffi.set_event_handler, "event_handler", handler)

    def set_hint_provider(self, provider: HintProvider | None) -> None:
        """Installs (or with None removes) the retrieval-hint provider.

        It is called with the id (bytes) of each message an outgoing message
        cites, and returns that message's retrieval hint (bytes, e.g. the
        transport's hash of it) or None. It runs synchronously inside wrap() (or
        a periodic task) with the manager's lock held: a call from it into the
        same manager raises :class:`ReentrantCallError`. An exception it raises
        goes to ``sys.unraisablehook`` and counts as "no hint".
        """
        if provider is not None and not callable(provider):
            raise TypeError("the hint provider must be callable or None")
        self._set(_ffi.set_hint_provider, "hint_provider", provider)

    def _set(self, install: Callable[[int, int | None], None], attr: str, fn: Any) -> None:
        # No Python lock is held across the C call (a lock there could deadlock
        # against a hint provider); concurrent setters converge instead.
        want = fn is not None
        self._call(install, self._key if want else None)
        setattr(self._targets, attr, fn)
        while (getattr(self._targets, attr) is not None) != want:
            want = not want
            self._call(install, self._key if want else None)

    # -- protocol ---------------------------------------------------------------

    def wrap(self, content: BytesLike, message_id: Id, channel_id: Id) -> bytes:
        """Wraps an outgoing payload with SDS metadata; broadcast the result.

        Args:
            content: 1 byte to 1 MiB.
            message_id: unique per message (str or bytes, no NUL byte; may be "").
            channel_id: non-empty (str or bytes, no NUL byte); created on first use.

        Returns:
            The wire message.

        Raises:
            InvalidArgumentError, MessageTooLargeError, TooManyChannelsError,
            StoreError, ClosedError.
        """
        return self._call(
            _ffi.wrap,
            _content(content, "content"),
            _cstr(message_id, "message_id"),
            _cstr(channel_id, "channel_id"),
        )

    def unwrap(self, data: BytesLike) -> Unwrapped:
        """Processes a received wire message (up to 16 MiB).

        Acknowledges our messages it confirms, handles repair requests, and
        delivers it (a MESSAGE_READY event with its content, before those of
        any waiting messages it releases: causal order) or reports what it
        waits for (``missing_deps`` and a MISSING_DEPENDENCIES event; its
        MESSAGE_READY, with the same ``message_id``, comes once they are met).

        Raises:
            DecodeError, MessageTooLargeError, TooManyChannelsError, StoreError,
            ClosedError.
        """
        return self._call(_ffi.unwrap, _content(data, "data"))

    def mark_dependencies_met(self, message_ids: Iterable[Id], channel_id: Id) -> None:
        """Tells the manager the application obtained these messages itself
        (e.g. through their retrieval hints), so messages waiting for them can
        be delivered. Ids may contain any byte (pass ``HistoryEntry.message_id``).

        Raises:
            UnknownChannelError, InvalidArgumentError, StoreError, ClosedError.
        """
        if isinstance(message_ids, (str, bytes, bytearray, memoryview)):
            raise TypeError("message_ids must be an iterable of ids, not a single id")
        ids = [encode_id(i, "message id") for i in message_ids]
        self._call(_ffi.mark_dependencies_met, ids, _cstr(channel_id, "channel_id"))

    def reset(self) -> None:
        """Forgets every channel, in memory and in the store. Handlers and
        periodic tasks are kept."""
        self._call(_ffi.reset)

    def remove_channel(self, channel_id: Id) -> None:
        """Forgets one channel, in memory and in the store (unknown: no error)."""
        self._call(_ffi.remove_channel, _cstr(channel_id, "channel_id"))

    def channels(self) -> list[bytes]:
        """Every channel the manager has, sorted: those in memory and those
        only in its store (loaded on first use), including channels set aside
        after a bad stored record. With remove_channel, how a host cleans up
        channels it no longer wants."""
        return self._call(_ffi.channels)

    def start(self) -> None:
        """Starts the periodic tasks (buffer sweep, sync, repair sweep); each
        runs once at once, then at its interval. Idempotent."""
        self._call(_ffi.start)

    def stop(self) -> None:
        """Stops the periodic tasks and waits for a running one. Idempotent."""
        self._call(_ffi.stop)

    def run_tasks(
        self,
        *,
        buffer_sweep: bool | None = None,
        sync: bool | None = None,
        repair_sweep: bool | None = None,
    ) -> None:
        """Runs periodic tasks once now (for hosts that drive their own timers).

        ``run_tasks()`` runs all three. Naming tasks with True runs only those
        (``run_tasks(repair_sweep=True)``); naming one with False runs all the
        others (``run_tasks(sync=False)``).
        """
        flags = {_ffi.TASK_BUFFER_SWEEP: buffer_sweep, _ffi.TASK_SYNC: sync, _ffi.TASK_REPAIR_SWEEP: repair_sweep}
        only = any(v is True for v in flags.values())
        mask = 0
        for bit, v in flags.items():
            if v is True or (v is None and not only):
                mask |= bit
        self._call(_ffi.run_tasks, mask)


def _check_fork() -> None:
    if _ffi.forked():
        raise RuntimeError(
            "libsds cannot be used in a process forked after it was loaded (the Go runtime's "
            "threads do not survive fork); use multiprocessing's 'spawn' start method"
        )
