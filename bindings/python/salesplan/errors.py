"""The exceptions: one class per status code of the C library, under SalesplanError.

Each also derives from the standard exception that fits, so that code written for Python's
own classes catches them: invalid input is a ValueError, a missing id a LookupError, an
allocation failure a MemoryError, an I/O failure of the store an OSError.
"""

__all__ = [
    "SalesplanError", "InvalidError", "NoMemoryError", "ExactOverflowError", "NotFoundError",
    "ConflictError", "CorruptError", "StorageError", "CallbackError", "CanceledError",
    "VersionError", "BufferTooSmallError", "InternalError", "error_class",
]


class SalesplanError(Exception):
    """A call into salesplan failed.

    Attributes:
        code: the status code (a negative int, as sp_status in salesplan/core.h).
        message: the library's message, naming the offending input.
        user_code, user_message: for CallbackError, the host callback's own code and message.
    """

    code = None

    def __init__(self, message: "str", code: "int | None" = None, user_code: "int" = 0,
                 user_message: "str | None" = ""):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.user_code = user_code
        self.user_message = user_message


class InvalidError(SalesplanError, ValueError):
    """SP_EINVAL: an argument or an input document is invalid."""
    code = -1


class NoMemoryError(SalesplanError, MemoryError):
    """SP_ENOMEM: an allocation failed."""
    code = -2


class ExactOverflowError(SalesplanError, OverflowError):
    """SP_EOVERFLOW: an exact result does not fit its type."""
    code = -3


class NotFoundError(SalesplanError, LookupError):
    """SP_ENOTFOUND: an id, key or record does not exist."""
    code = -4


class ConflictError(SalesplanError):
    """SP_ECONFLICT: a duplicate id, an immutable object, a concurrent change."""
    code = -5


class CorruptError(SalesplanError, ValueError):
    """SP_ECORRUPT: stored bytes fail validation."""
    code = -6


class StorageError(SalesplanError, OSError):
    """SP_ESTORAGE: the storage backend failed (I/O)."""
    code = -7


class CallbackError(SalesplanError):
    """SP_EUSER: a host callback returned an error (user_code, user_message say which).

    A callback written in Python that raises does not give this: its own exception is
    raised again when the call returns."""
    code = -8


class CanceledError(SalesplanError):
    """SP_ECANCELED: the progress callback asked to stop."""
    code = -9


class VersionError(SalesplanError):
    """SP_EVERSION: an unsupported struct, record or file version."""
    code = -10


class BufferTooSmallError(SalesplanError, BufferError):
    """SP_EBUFFER: an output buffer is too small."""
    code = -11


class InternalError(SalesplanError, RuntimeError):
    """SP_EINTERNAL: an internal invariant failed (a bug in salesplan: please report it)."""
    code = -12


_BY_CODE = {c.code: c for c in (
    InvalidError, NoMemoryError, ExactOverflowError, NotFoundError, ConflictError,
    CorruptError, StorageError, CallbackError, CanceledError, VersionError,
    BufferTooSmallError, InternalError)}


def error_class(code):
    """The exception class of a status code (SalesplanError for a code this package does
    not know, from a newer library)."""
    return _BY_CODE.get(code, SalesplanError)
