"""Plain Python value types of the sds package (no ctypes here).

Ids (message, channel and sender ids) come back from the library as ``bytes``:
they travel on the wire as raw bytes and may hold any byte, including NUL and
invalid UTF-8. Each id field has a ``*_str`` companion property that decodes it
as UTF-8 with the ``surrogateescape`` error handler, so that every id turns into
a ``str`` without loss; every method of the package that takes an id accepts
``str`` (encoded back with UTF-8 + ``surrogateescape``) or ``bytes``, so either
form can be passed straight back.
"""

from __future__ import annotations

import datetime
import enum
import math
from dataclasses import dataclass, field, fields
from typing import Union

from ._errors import ERR_INVALID_ARG, InvalidArgumentError

__all__ = [
    "EventType",
    "Durability",
    "HistoryEntry",
    "Event",
    "Unwrapped",
    "Config",
    "Duration",
    "decode_id",
    "encode_id",
]

#: A duration: seconds (int or float), or a datetime.timedelta.
Duration = Union[float, int, datetime.timedelta]

_UINT32_MAX = 2**32 - 1
_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1


def decode_id(raw: bytes) -> str:
    """Decodes a wire id to str without loss (UTF-8, surrogateescape)."""
    return raw.decode("utf-8", "surrogateescape")


def encode_id(value: str | bytes | bytearray | memoryview, what: str = "id") -> bytes:
    """Encodes an id given as str (UTF-8, surrogateescape) or bytes-like."""
    if isinstance(value, str):
        try:
            return value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError as e:  # lone surrogates that are not escapes
            raise InvalidArgumentError(ERR_INVALID_ARG, f"{what} cannot be encoded: {e}") from None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")


class EventType(enum.IntEnum):
    """Mirrors ``libsds_event_type``."""

    MESSAGE_READY = 1
    """A received message is delivered, in causal order."""
    MESSAGE_ACKNOWLEDGED = 2
    """A peer has seen one of our messages."""
    MESSAGE_GIVEN_UP = 3
    """One of ours ran out of resend attempts (or buffer room) unacknowledged."""
    MISSING_DEPENDENCIES = 4
    """A received message waits for ``missing_deps``."""
    PERIODIC_SYNC = 5
    """Time to send something so peers learn what we have."""
    REPAIR_READY = 6
    """SDS-R: rebroadcast ``message``."""
    INCOMING_DROPPED = 7
    """A waiting message was discarded: the channel's buffer (count or bytes) was full."""
    STORE_FAILED = 8
    """A store without transactions failed a write; ``error`` says which."""
    REPAIR_DROPPED = 9
    """SDS-R: a pending repair request or response for ``message_id`` was
    discarded because the channel's repair budget was full."""


class Durability(enum.IntEnum):
    """Mirrors ``libsds_durability`` (SQLite store only)."""

    NORMAL = 0
    """WAL + synchronous=NORMAL: survives a process crash (default)."""
    FULL = 1
    """WAL + synchronous=FULL: also survives power loss."""


class WireGeneration(enum.IntEnum):
    """Mirrors ``libsds_wire_generation``: the layout a manager writes. Every
    manager reads both."""

    V03 = 0
    """nim-sds 0.3's layout (default: deployed networks speak it)."""
    V04 = 1
    """nim-sds 0.4's layout."""


@dataclass(frozen=True)
class HistoryEntry:
    """One causal-history entry: a message another message depends on."""

    message_id: bytes
    retrieval_hint: bytes = b""
    """The sender's hint for fetching the message; b"" when it gave none."""
    sender_id: bytes = b""
    """The original sender (SDS-R); b"" if unknown."""

    @property
    def message_id_str(self) -> str:
        return decode_id(self.message_id)

    @property
    def sender_id_str(self) -> str:
        return decode_id(self.sender_id)


@dataclass(frozen=True)
class Event:
    """An event of a manager, delivered to its handler on a library thread.

    ``type`` is an :class:`EventType` (a plain int for a type this bridge does
    not know, from a newer library). Fields a type does not use are empty:
    ``channel_id`` is b"" for PERIODIC_SYNC; ``message_id`` is b"" for
    PERIODIC_SYNC, REPAIR_READY and STORE_FAILED; ``missing_deps`` is only filled
    for MISSING_DEPENDENCIES; ``message`` (the wire bytes to rebroadcast) only for
    REPAIR_READY; ``error`` only for STORE_FAILED; ``content`` only for
    MESSAGE_READY.

    MESSAGE_READY events come in causal order: a message's event after those of
    the messages it depends on, within one call and across calls. Each carries
    the delivered message's ``content``, so a chat view can append on
    MESSAGE_READY — also for a message that waited for its dependencies.
    """

    type: EventType | int
    channel_id: bytes = b""
    message_id: bytes = b""
    missing_deps: list[HistoryEntry] = field(default_factory=list)
    message: bytes | None = None
    error: str | None = None
    content: bytes | None = None
    """MESSAGE_READY: the delivered message's payload; else None."""

    @property
    def channel_id_str(self) -> str:
        return decode_id(self.channel_id)

    @property
    def message_id_str(self) -> str:
        return decode_id(self.message_id)


@dataclass(frozen=True)
class Unwrapped:
    """The result of :meth:`ReliabilityManager.unwrap`.

    ``content`` is returned even for duplicates and for messages that wait for
    dependencies; a non-empty ``missing_deps`` means the message waits (its
    MESSAGE_READY event, with the same ``message_id`` and the content, comes
    once they are met).
    """

    content: bytes
    channel_id: bytes
    missing_deps: list[HistoryEntry] = field(default_factory=list)
    message_id: bytes = b""
    """The message's id, as its MESSAGE_READY event carries it."""

    @property
    def channel_id_str(self) -> str:
        return decode_id(self.channel_id)

    @property
    def message_id_str(self) -> str:
        return decode_id(self.message_id)


# (field name, LIBSDS_CFG_* bit, kind): kind is "u32", "u64", "f64", "ms" or "bool".
_CONFIG_FIELDS: tuple[tuple[str, int, str], ...] = (
    ("bloom_capacity", 1 << 0, "u32"),
    ("bloom_error_rate", 1 << 1, "f64"),
    ("max_message_history", 1 << 2, "u32"),
    ("max_causal_history", 1 << 3, "u32"),
    ("resend_interval", 1 << 4, "ms"),
    ("max_resend_attempts", 1 << 5, "u32"),
    ("sync_interval", 1 << 6, "ms"),
    ("buffer_sweep_interval", 1 << 7, "ms"),
    ("repair_t_min", 1 << 8, "ms"),
    ("repair_t_max", 1 << 9, "ms"),
    ("num_response_groups", 1 << 10, "u32"),
    ("max_repair_requests", 1 << 11, "u32"),
    ("repair_sweep_interval", 1 << 12, "ms"),
    ("max_channels", 1 << 13, "u32"),
    ("max_incoming_buffer", 1 << 14, "u32"),
    ("max_outgoing_buffer", 1 << 15, "u32"),
    ("rerequest_repairs", 1 << 16, "bool"),
    ("wire_generation", 1 << 17, "u32"),
    # Hostile-peer budgets (docs/limits.md).
    ("max_id_length", 1 << 18, "u32"),
    ("max_channel_id_length", 1 << 19, "u32"),
    ("max_hint_length", 1 << 20, "u32"),
    ("max_causal_entries", 1 << 21, "u32"),
    ("max_repair_entries", 1 << 22, "u32"),
    ("max_causal_history_bytes", 1 << 23, "u32"),
    ("max_pending_repairs", 1 << 24, "u32"),
    ("max_incoming_bytes", 1 << 25, "u64"),
    ("max_history_bytes", 1 << 26, "u64"),
    ("max_repair_bytes", 1 << 27, "u64"),
)


def _to_ms(name: str, value: Duration) -> int:
    """Seconds (or a timedelta) to whole milliseconds, rounded to nearest; a
    positive duration under half a millisecond becomes 1 ms, never 0."""
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise TypeError(f"Config.{name} must be seconds (int or float) or a timedelta, not {type(value).__name__}")
    if not math.isfinite(seconds):
        raise InvalidArgumentError(ERR_INVALID_ARG, f"Config.{name} must be finite, got {value!r}")
    ms = round(seconds * 1000.0)
    if ms == 0 and seconds > 0:
        ms = 1
    if abs(ms) > _INT64_MAX:
        raise InvalidArgumentError(ERR_INVALID_ARG, f"Config.{name} is out of range: {value!r}")
    return int(ms)


@dataclass
class Config:
    """Tunables of a manager. Every field is optional: None keeps the library
    default (shown in brackets); a set field is passed with its ``config_set``
    bit, so 0 can be asked for where it means something (e.g.
    ``max_causal_history=0`` sends no causal history).

    Durations are in **seconds** (int or float, or a ``datetime.timedelta``);
    the library counts whole milliseconds, so they are rounded to the nearest
    millisecond (a positive value below 0.5 ms becomes 1 ms). The library checks
    the ranges (e.g. ``bloom_error_rate`` in (0, 1), ``repair_t_max >=
    repair_t_min``) and answers :class:`InvalidArgumentError` naming the field;
    the bridge itself rejects values that do not fit the C field (a negative
    count, a non-finite duration) with the same exception.
    """

    bloom_capacity: int | None = None  #: [10000]
    bloom_error_rate: float | None = None  #: [0.001]
    max_message_history: int | None = None  #: [1000]
    max_causal_history: int | None = None  #: [10]
    resend_interval: Duration | None = None  #: [60 s]
    max_resend_attempts: int | None = None  #: [5]
    sync_interval: Duration | None = None  #: [30 s]
    buffer_sweep_interval: Duration | None = None  #: [60 s]
    repair_t_min: Duration | None = None  #: [30 s]
    repair_t_max: Duration | None = None  #: [300 s]
    num_response_groups: int | None = None  #: [1]
    max_repair_requests: int | None = None  #: [3]
    repair_sweep_interval: Duration | None = None  #: [5 s]
    max_channels: int | None = None  #: [10000]
    max_incoming_buffer: int | None = None  #: [10000 per channel]
    max_outgoing_buffer: int | None = None  #: [10000 per channel]
    rerequest_repairs: bool | None = None  #: [False: nim-sds asks once]
    wire_generation: WireGeneration | int | None = None  #: [WireGeneration.V03; unwrap reads both]
    # Hostile-peer budgets: what any peer can make the manager hold or compute
    # (docs/limits.md). An incoming message over a per-message budget raises
    # TooLargeError; a buffer over its byte budget evicts its oldest entries,
    # each reported by an event.
    max_id_length: int | None = None  #: [1024 bytes: message and sender ids, in and out]
    max_channel_id_length: int | None = None  #: [1024 bytes]
    max_hint_length: int | None = None  #: [4096 bytes]
    max_causal_entries: int | None = None  #: [1000 per incoming message]
    max_repair_entries: int | None = None  #: [100 per incoming message]
    max_causal_history_bytes: int | None = None  #: [65536 per outgoing message]
    max_pending_repairs: int | None = None  #: [1000 per channel and queue]
    max_incoming_bytes: int | None = None  #: [8 MiB per channel]
    max_history_bytes: int | None = None  #: [16 MiB per channel]
    max_repair_bytes: int | None = None  #: [16 MiB per channel]

    def _native(self) -> tuple[int, dict[str, int | float]]:
        """Returns (config_set bits, {C field name: value}) for libsds_options."""
        known = {f.name for f in fields(self)}
        assert known == {name for name, _, _ in _CONFIG_FIELDS}
        bits = 0
        values: dict[str, int | float] = {}
        for name, bit, kind in _CONFIG_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            bits |= bit
            if kind in ("u32", "u64"):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise TypeError(f"Config.{name} must be an int, not {type(value).__name__}")
                limit = _UINT32_MAX if kind == "u32" else _UINT64_MAX
                if not 0 <= value <= limit:
                    raise InvalidArgumentError(
                        ERR_INVALID_ARG, f"Config.{name} must be between 0 and {limit}, got {value}"
                    )
                values[name] = value
            elif kind == "f64":
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise TypeError(f"Config.{name} must be a float, not {type(value).__name__}")
                values[name] = float(value)
            elif kind == "ms":
                values[name + "_ms"] = _to_ms(name, value)
            else:  # bool
                values[name] = 1 if value else 0
        return bits, values
