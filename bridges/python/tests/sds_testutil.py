"""Helpers shared by the tests: an event recorder, an unraisable-hook catcher,
and a minimal protobuf reader/writer for SDS wire messages (nim-sds's field
numbers: 1 id, 2 lamport, 3 causal history, 4 channel, 5 content, 6 bloom
filter, 7 sender, 13 repair requests; history entry: 1 id, 2 hint, 3 sender)."""

from __future__ import annotations

import sys
import threading
import time
import unittest
from typing import Any, Callable, Iterator

import sds

TIMEOUT = 5.0


class Recorder:
    """An event handler that records (event, thread id) and can be waited on."""

    def __init__(self, action: Callable[[sds.Event], None] | None = None) -> None:
        self.cv = threading.Condition()
        self.events: list[sds.Event] = []
        self.threads: list[int] = []
        self.action = action

    def __call__(self, event: sds.Event) -> None:
        with self.cv:
            self.events.append(event)
            self.threads.append(threading.get_ident())
            self.cv.notify_all()
        if self.action is not None:
            self.action(event)

    def wait(self, n: int, timeout: float = TIMEOUT) -> list[sds.Event]:
        """Waits until at least n events arrived; fails the test otherwise."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while len(self.events) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for event {n}; have {self.summary()}")
                self.cv.wait(left)
            return list(self.events)

    def wait_for(self, pred: Callable[[sds.Event], bool], timeout: float = TIMEOUT) -> sds.Event:
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for e in self.events:
                    if pred(e):
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for a matching event; have {self.summary()}")
                self.cv.wait(left)

    def of_type(self, t: sds.EventType) -> list[sds.Event]:
        with self.cv:
            return [e for e in self.events if e.type == t]

    def count(self) -> int:
        with self.cv:
            return len(self.events)

    def fence(self, manager: sds.ReliabilityManager, timeout: float = TIMEOUT) -> int:
        """Returns the number of events once every event manager queued before
        the call has arrived (this recorder must be its handler). One manager's
        events are delivered in order, so the PERIODIC_SYNC that run_tasks
        queues comes after all of them; it is then taken out of the record. No
        periodic task of manager may fire meanwhile. A negative check ("nothing
        else happened") is assertEqual(r.fence(m), n)."""
        with self.cv:
            syncs = sum(1 for e in self.events if e.type is sds.EventType.PERIODIC_SYNC)
        manager.run_tasks(sync=True)
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                at = [i for i, e in enumerate(self.events) if e.type is sds.EventType.PERIODIC_SYNC]
                if len(at) > syncs:
                    del self.events[at[syncs]]
                    del self.threads[at[syncs]]
                    return len(self.events)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the fence's PERIODIC_SYNC did not arrive; have {self.summary()}")
                self.cv.wait(left)

    def summary(self) -> list[tuple[str, bytes]]:
        return [(getattr(e.type, "name", str(e.type)), e.message_id) for e in self.events]


class UnraisableCatcher:
    """Replaces sys.unraisablehook while active; records what reaches it."""

    def __init__(self) -> None:
        self.cv = threading.Condition()
        self.seen: list[Any] = []

    def hook(self, args: Any) -> None:
        with self.cv:
            self.seen.append((args.exc_type, args.exc_value, args.err_msg, args.object, threading.get_ident()))
            self.cv.notify_all()

    def __enter__(self) -> "UnraisableCatcher":
        self.saved = sys.unraisablehook
        sys.unraisablehook = self.hook
        return self

    def __exit__(self, *exc: object) -> None:
        sys.unraisablehook = self.saved

    def wait(self, n: int = 1, timeout: float = TIMEOUT) -> list[Any]:
        deadline = time.monotonic() + timeout
        with self.cv:
            while len(self.seen) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no exception reached sys.unraisablehook (have {len(self.seen)})")
                self.cv.wait(left)
            return list(self.seen)


class ManagerTest(unittest.TestCase):
    """Creates managers that are closed after the test."""

    def manager(self, *args: Any, **kwargs: Any) -> sds.ReliabilityManager:
        m = sds.ReliabilityManager(*args, **kwargs)
        self.addCleanup(m.close)
        return m


def sleep_ms(ms: float) -> None:
    """Lets time pass on the clock: for protocol time (T_req, resend
    intervals), never as synchronisation (use Recorder.fence)."""
    time.sleep(ms / 1000.0)


# ---- protobuf ----------------------------------------------------------------


def _varint(b: bytes, i: int) -> tuple[int, int]:
    v = shift = 0
    while True:
        if i >= len(b):
            raise ValueError("truncated varint")
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, i
        shift += 7


def fields(b: bytes) -> Iterator[tuple[int, int, Any, int, int]]:
    """Yields (number, wire type, value, start, end) for each top-level field."""
    i = 0
    while i < len(b):
        start = i
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        v: int | bytes
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i : i + n], i + n
        elif wt == 1:
            v, i = b[i : i + 8], i + 8
        elif wt == 5:
            v, i = b[i : i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt}")
        yield num, wt, v, start, i


def get(b: bytes, num: int) -> Any:
    out = None
    for n, _, v, _, _ in fields(b):
        if n == num:
            out = v
    return out


def get_all(b: bytes, num: int) -> list[Any]:
    return [v for n, _, v, _, _ in fields(b) if n == num]


def history_ids(b: bytes, num: int = 3) -> list[bytes]:
    """The ids of the causal history (3) or repair requests (13) of a message."""
    return [get(e, 1) for e in get_all(b, num)]


def history_hints(b: bytes) -> list[bytes | None]:
    return [get(e, 2) for e in get_all(b, 3)]


def lamport(b: bytes) -> int:
    return int(get(b, 2))


def strip(b: bytes, num: int) -> bytes:
    """The message without its top-level fields numbered num."""
    return b"".join(b[s:e] for n, _, _, s, e in fields(b) if n != num)


def _put_varint(v: int) -> bytes:
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        out.append(c | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _put_bytes(num: int, data: bytes) -> bytes:
    return _put_varint(num << 3 | 2) + _put_varint(len(data)) + data


def craft(message_id: bytes, deps: list[bytes], channel: bytes, content: bytes = b"x", lamport: int = 5) -> bytes:
    """A hand-written SDS message (no bloom filter)."""
    out = _put_bytes(1, message_id) + _put_varint(2 << 3) + _put_varint(lamport)
    for d in deps:
        out += _put_bytes(3, _put_bytes(1, d))
    return out + _put_bytes(4, channel) + _put_bytes(5, content)
