"""Exceptions of the sds package: one class per libsds status code.

Every native call that fails returns a negative ``libsds_status``; the bridge
raises the matching :class:`SdsError` subclass with the text of
``libsds_last_error()`` read on the same thread, right after the call.

Some classes also derive from a built-in exception so that generic code can
catch them the usual way: argument problems (:class:`InvalidArgumentError`,
:class:`MessageTooLargeError`, :class:`DecodeError`) and use after close
(:class:`ClosedError`, like I/O on a closed file) are :class:`ValueError` too.
"""

from __future__ import annotations

from typing import NoReturn

__all__ = [
    "SdsError",
    "UnspecifiedError",
    "InvalidHandleError",
    "InvalidArgumentError",
    "MessageTooLargeError",
    "DecodeError",
    "UnknownChannelError",
    "TooManyChannelsError",
    "StoreError",
    "UnsupportedError",
    "ReentrantCallError",
    "ClosedError",
    "InternalError",
    "UserError",
    "raise_for_status",
    "error_for_status",
]

# The libsds_status values of include/sds.h.
OK = 0
ERR = -1
ERR_BAD_HANDLE = -2
ERR_INVALID_ARG = -3
ERR_TOO_LARGE = -4
ERR_DECODE = -5
ERR_UNKNOWN_CHANNEL = -6
ERR_TOO_MANY_CHANNELS = -7
ERR_STORE = -8
ERR_UNSUPPORTED = -9
ERR_REENTRANT = -10
ERR_CLOSED = -11
ERR_INTERNAL = -12
ERR_USER = -13


class SdsError(Exception):
    """A libsds call failed.

    Attributes:
        status: the negative ``libsds_status`` code (``LIBSDS_ERR_*``).
        message: what failed, from ``libsds_last_error()`` (or the bridge).
    """

    #: The status this class stands for (None for the base class).
    STATUS: int | None = None

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return self.message or f"libsds status {self.status}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class UnspecifiedError(SdsError):
    """LIBSDS_ERR: an unspecified failure."""

    STATUS = ERR


class InvalidHandleError(SdsError):
    """LIBSDS_ERR_BAD_HANDLE: a 0, freed, stale or garbage handle."""

    STATUS = ERR_BAD_HANDLE


class InvalidArgumentError(SdsError, ValueError):
    """LIBSDS_ERR_INVALID_ARG: empty content, a bad option, a missing value, ..."""

    STATUS = ERR_INVALID_ARG


class MessageTooLargeError(SdsError, ValueError):
    """LIBSDS_ERR_TOO_LARGE: content over 1 MiB, input over 16 MiB, or an id or entry over its budget."""

    STATUS = ERR_TOO_LARGE


class DecodeError(SdsError, ValueError):
    """LIBSDS_ERR_DECODE: the bytes are not a valid SDS message."""

    STATUS = ERR_DECODE


class UnknownChannelError(SdsError):
    """LIBSDS_ERR_UNKNOWN_CHANNEL: the manager has no such channel."""

    STATUS = ERR_UNKNOWN_CHANNEL


class TooManyChannelsError(SdsError):
    """LIBSDS_ERR_TOO_MANY_CHANNELS: the operation would exceed the channel limit."""

    STATUS = ERR_TOO_MANY_CHANNELS


class StoreError(SdsError):
    """LIBSDS_ERR_STORE: persistence failed (the store could not be opened, read or written)."""

    STATUS = ERR_STORE


class UnsupportedError(SdsError):
    """LIBSDS_ERR_UNSUPPORTED: not available in this build (e.g. SQLite left out)."""

    STATUS = ERR_UNSUPPORTED


class ReentrantCallError(SdsError):
    """LIBSDS_ERR_REENTRANT: called from a hint provider of the same manager."""

    STATUS = ERR_REENTRANT


class ClosedError(SdsError, ValueError):
    """LIBSDS_ERR_CLOSED, or any call on a manager after close()."""

    STATUS = ERR_CLOSED


class InternalError(SdsError):
    """LIBSDS_ERR_INTERNAL: a bug in libsds (reported, never a crash)."""

    STATUS = ERR_INTERNAL


class UserError(SdsError):
    """LIBSDS_ERR_USER: reserved for host persistence methods ("my store failed")."""

    STATUS = ERR_USER


_BY_STATUS: dict[int, type[SdsError]] = {
    cls.STATUS: cls
    for cls in (
        UnspecifiedError,
        InvalidHandleError,
        InvalidArgumentError,
        MessageTooLargeError,
        DecodeError,
        UnknownChannelError,
        TooManyChannelsError,
        StoreError,
        UnsupportedError,
        ReentrantCallError,
        ClosedError,
        InternalError,
        UserError,
    )
    if cls.STATUS is not None
}


def error_for_status(status: int, message: str = "") -> SdsError:
    """Returns (does not raise) the exception for a non-zero status.

    Unknown negative codes (from a newer library) give a plain SdsError.
    """
    cls = _BY_STATUS.get(status, SdsError)
    return cls(status, message)


def raise_for_status(status: int, message: str = "") -> None:
    """Raises the SdsError subclass for ``status``; does nothing for LIBSDS_OK (0)."""
    if status == OK:
        return
    _raise(error_for_status(status, message))


def _raise(exc: SdsError) -> NoReturn:
    raise exc
