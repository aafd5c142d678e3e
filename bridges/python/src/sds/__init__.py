"""Python bridge of libsds: Scalable Data Sync (SDS) with the SDS-R repair extension.

End-to-end reliability for group messaging over an unreliable transport: wrap
each outgoing payload, unwrap each received message, and the manager reports
through events when messages are ready to deliver (in causal order),
acknowledged, missing, or in need of a rebroadcast.

    >>> import sds
    >>> with sds.ReliabilityManager("alice", on_event=print) as alice:
    ...     wire = alice.wrap(b"hello", "msg-1", "general")

The library is found through ``$SDS_LIBRARY_PATH``, then next to this package,
then by the system linker. Do not ``fork()`` after importing (use the
``spawn`` start method of multiprocessing).
"""

from __future__ import annotations

from . import _ffi
from ._errors import (
    ClosedError,
    DecodeError,
    InternalError,
    InvalidArgumentError,
    InvalidHandleError,
    MessageTooLargeError,
    ReentrantCallError,
    SdsError,
    StoreError,
    TooManyChannelsError,
    UnknownChannelError,
    UnspecifiedError,
    UnsupportedError,
    UserError,
    error_for_status,
    raise_for_status,
)
from ._manager import EventHandler, HintProvider, ReliabilityManager
from ._types import Config, Durability, Event, EventType, HistoryEntry, Unwrapped, WireGeneration, decode_id

#: The library's version string (libsds_version()), e.g. "0.1.0".
__version__: str = _ffi.version
#: The library's LIBSDS_VERSION_NUMBER (MAJOR * 10000 + MINOR * 100 + PATCH).
VERSION_NUMBER: int = _ffi.version_number
#: The ABI version (soname major) this bridge requires and the loaded library has.
ABI_VERSION: int = _ffi.EXPECTED_ABI_VERSION
#: The file the library was loaded from.
LIBRARY_PATH: str = _ffi.library_path
#: The largest content wrap() accepts (1 MiB).
MAX_CONTENT_SIZE = 1 << 20
#: The largest input unwrap() accepts (16 MiB).
MAX_WIRE_SIZE = 16 << 20


def status_str(status: int) -> str:
    """A static, human-readable name for a libsds status code."""
    return _ffi.status_str(status)


__all__ = [
    "ABI_VERSION",
    "LIBRARY_PATH",
    "MAX_CONTENT_SIZE",
    "MAX_WIRE_SIZE",
    "VERSION_NUMBER",
    "__version__",
    "ClosedError",
    "Config",
    "DecodeError",
    "Durability",
    "Event",
    "EventHandler",
    "EventType",
    "HintProvider",
    "HistoryEntry",
    "InternalError",
    "InvalidArgumentError",
    "InvalidHandleError",
    "MessageTooLargeError",
    "ReentrantCallError",
    "ReliabilityManager",
    "SdsError",
    "StoreError",
    "TooManyChannelsError",
    "UnknownChannelError",
    "UnspecifiedError",
    "UnsupportedError",
    "Unwrapped",
    "UserError",
    "WireGeneration",
    "decode_id",
    "error_for_status",
    "raise_for_status",
    "status_str",
]
