"""Values across the boundary: exact decimals and columns of numbers.

Money in the Python API is decimal.Decimal in major units (12.34 yuan), converted to the
library's minor units (1234 fen) exactly: a value with more digits than the exponent
allows is an error, never rounded in passing. sp_dec values (rates, shares, weights) are
Decimal with up to 9 decimal places. float is refused wherever money or sp_dec is taken:
money never touches floating point.

Columns (arrays of int64, uint32, ...) are taken from any of: a numpy array of the right
dtype, C-contiguous (no copy: C reads the array's memory during the call), an array.array
or other buffer of the right item size (no copy when writable), or any sequence of ints
(copied). The result keeps whatever must stay alive while C reads it.
"""
import array
import ctypes
import datetime
import decimal
import numbers
import sys

from . import _ffi
from .errors import ExactOverflowError, InvalidError

__all__ = ["to_minor", "from_minor", "to_dec", "from_dec", "Column", "column_in",
           "column_out", "numpy", "pandas", "DEC_DIGITS", "day_of", "date_of"]

DEC_DIGITS = _ffi.SP_DEC_DIGITS
INT64_MIN, INT64_MAX = -2**63, 2**63 - 1

try:  # optional: used when present
    import numpy
except ImportError:  # pragma: no cover - depends on the machine
    numpy = None
try:
    import pandas
except ImportError:  # pragma: no cover
    pandas = None


def _decimal(value, what):
    if isinstance(value, bool):
        raise TypeError(f"{what}: expected a Decimal, int or str, not bool")
    if isinstance(value, decimal.Decimal):
        d = value
    elif isinstance(value, int):
        return decimal.Decimal(value)
    elif isinstance(value, str):
        try:
            d = decimal.Decimal(value.strip())
        except decimal.InvalidOperation:
            raise InvalidError(f"{what}: {value!r} is not a decimal number") from None
    elif isinstance(value, numbers.Integral):  # numpy integers
        return decimal.Decimal(int(value))
    else:
        raise TypeError(f"{what}: expected a Decimal, int or str, not {type(value).__name__} "
                        f"(money and rates never pass through floating point)")
    if not d.is_finite():
        raise InvalidError(f"{what}: {value!r} is not a finite number")
    return d


def _scaled(value, exponent, what, noun):
    d = _decimal(value, what)
    sign, digits, exp = d.as_tuple()
    n = int("".join(map(str, digits)) or "0")
    shift = exp + exponent
    if shift >= 0:
        n *= 10 ** shift
    else:
        q, r = divmod(n, 10 ** -shift)
        if r:
            raise InvalidError(f"{what}: {value} has more decimal places than {noun} "
                               f"({exponent})")
        n = q
    n = -n if sign else n
    if not INT64_MIN <= n <= INT64_MAX:
        raise ExactOverflowError(f"{what}: {value} does not fit in 64 bits at {exponent} "
                                 f"decimal places")
    return n


def to_minor(value, exponent, what="amount"):
    """Major units (Decimal, int, str) as an int of minor units, exactly."""
    return _scaled(value, exponent, what, "the currency has")


def from_minor(units, exponent):
    """Minor units as a Decimal in major units (exact, whatever the decimal context)."""
    units = int(units)
    sign = 1 if units < 0 else 0
    return decimal.Decimal((sign, tuple(map(int, str(abs(units)))), -exponent))


def to_dec(value, what="value"):
    """A Decimal (or int, str) as sp_dec: an int of billionths, exactly."""
    return _scaled(value, DEC_DIGITS, what, "an sp_dec holds")


def from_dec(value):
    """An sp_dec as a Decimal."""
    return from_minor(value, DEC_DIGITS)


_CTYPES = {"int64": ctypes.c_int64, "uint64": ctypes.c_uint64, "int32": ctypes.c_int32,
           "uint32": ctypes.c_uint32, "uint8": ctypes.c_uint8}
_TYPECODES = {"int64": "q", "uint64": "Q", "int32": "i", "uint32": "I", "uint8": "B"}


class Column:
    """A column C can read: .ptr (a typed pointer), .count, and what keeps its memory."""

    __slots__ = ("ptr", "count", "keep")

    def __init__(self, ptr, count, keep):
        self.ptr, self.count, self.keep = ptr, count, keep


def column_in(values, kind, what, count=None):
    """values as a Column of C type `kind` ("int64", "uint32", ...), or None for None.

    count, when given, is the length the column must have."""
    if values is None:
        return None
    ct = _CTYPES[kind]
    if pandas is not None and isinstance(values, (pandas.Series, pandas.Index)):
        values = values.to_numpy()
    if numpy is not None and isinstance(values, numpy.ndarray):
        if values.ndim != 1:
            values = values.reshape(-1) if values.flags.c_contiguous else None
            if values is None:
                raise InvalidError(f"{what}: a numpy array must be C-contiguous")
        want = numpy.dtype(kind)
        if values.dtype != want:
            if values.dtype.kind not in "iub":
                raise TypeError(f"{what}: expected integers, found numpy dtype {values.dtype}")
            converted = values.astype(want)
            if not numpy.array_equal(converted, values):
                raise ExactOverflowError(f"{what}: a value does not fit in {kind}")
            values = converted
        values = numpy.ascontiguousarray(values)
        ptr = values.ctypes.data_as(ctypes.POINTER(ct))
        col = Column(ptr, len(values), values)
    else:
        col = _buffer_column(values, ct, kind)
        if col is None:
            col = _sequence_column(values, ct, kind, what)
    if count is not None and col.count != count:
        raise InvalidError(f"{what}: {col.count} values where {count} are needed")
    return col


def _buffer_column(values, ct, kind):
    if isinstance(values, (list, tuple, range, str)):
        return None
    try:
        mv = memoryview(values)
    except TypeError:
        return None
    if mv.itemsize != ctypes.sizeof(ct) or mv.format.lstrip("@=<") not in (
            _TYPECODES[kind], _TYPECODES[kind].replace("q", "l").replace("Q", "L")) or \
            not mv.c_contiguous or (mv.format[:1] in "<=" and sys.byteorder != "little"):
        # a buffer of another type: read it as a sequence (copied and checked)
        return _sequence_column(mv.tolist(), ct, kind, "values")
    n = mv.nbytes // mv.itemsize
    if mv.readonly:
        arr = (ct * n).from_buffer_copy(mv)
        return Column(ctypes.cast(arr, ctypes.POINTER(ct)), n, arr)
    arr = (ct * n).from_buffer(mv)
    return Column(ctypes.cast(arr, ctypes.POINTER(ct)), n, (arr, values))


def _sequence_column(values, ct, kind, what):
    try:
        seq = list(values)
    except TypeError:
        raise TypeError(f"{what}: expected a sequence of integers, not "
                        f"{type(values).__name__}") from None
    a = array.array(_TYPECODES[kind])
    try:
        for i, v in enumerate(seq):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise TypeError(f"{what}[{i}]: expected an int, not {type(v).__name__}")
            a.append(int(v))
    except OverflowError:
        raise ExactOverflowError(f"{what}[{i}]: {seq[i]} does not fit in {kind}") from None
    n = len(a)
    if n == 0:
        arr = (ct * 1)()
        return Column(ctypes.cast(arr, ctypes.POINTER(ct)), 0, arr)
    arr = (ct * n).from_buffer(a)
    return Column(ctypes.cast(arr, ctypes.POINTER(ct)), n, (arr, a))


def column_out(kind, count):
    """A fresh zeroed column of `count` values for C to write: (ctypes array, pointer)."""
    ct = _CTYPES[kind]
    arr = (ct * max(count, 1))()
    return arr, ctypes.cast(arr, ctypes.POINTER(ct))


def as_result(arr, count, kind, form="list"):
    """A column C wrote, as a list, an array.array or (form "numpy") a numpy array."""
    if form == "numpy":
        if numpy is None:
            raise ImportError("salesplan: numpy is not installed (Debian: python3-numpy)")
        return numpy.frombuffer(arr, dtype=kind, count=count).copy()
    a = array.array(_TYPECODES[kind])
    a.frombytes(memoryview(arr).cast("B")[:count * ctypes.sizeof(_CTYPES[kind])])
    return a if form == "array" else a.tolist()


# ---- days ----

EPOCH = datetime.date(1970, 1, 1)
DAY_MIN = (datetime.date.min - EPOCH).days  # 0001-01-01: -719162
DAY_MAX = (datetime.date.max - EPOCH).days  # 9999-12-31: 2932896


def day_of(value, what="day"):
    """A datetime.date (or an ISO "YYYY-MM-DD" string, or a numpy datetime64) as the C
    day number: days since 1970-01-01. A datetime is refused (TypeError): which day it
    falls on depends on a time zone."""
    if isinstance(value, datetime.datetime):
        raise TypeError(f"{what}: expected a date, not datetime (take its .date() in the "
                        f"time zone you mean)")
    if isinstance(value, datetime.date):
        return (value - EPOCH).days
    if isinstance(value, str):
        try:
            if len(value) != 10:
                raise ValueError
            return (datetime.date.fromisoformat(value) - EPOCH).days
        except ValueError:
            raise InvalidError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None
    if numpy is not None and isinstance(value, numpy.datetime64):
        if numpy.isnat(value):
            raise InvalidError(f"{what}: NaT is not a date")
        return int(value.astype("datetime64[D]").astype("int64"))
    raise TypeError(f"{what}: expected a date, not {type(value).__name__}")


def date_of(day):
    """The C day number `day` (days since 1970-01-01) as a datetime.date."""
    return EPOCH + datetime.timedelta(days=int(day))
