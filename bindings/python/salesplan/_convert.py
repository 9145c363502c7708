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
import importlib
import datetime
import decimal
import itertools
import numbers
import sys

from . import _ffi
from .errors import ExactOverflowError, InvalidError

__all__ = ["to_minor", "from_minor", "to_dec", "from_dec", "Column", "column_in",
           "column_out", "as_result", "loaded", "DEC_DIGITS", "Packed", "pack_strings",
           "day_of", "date_of", "index_in", "index_out", "NONE", "check_form", "bools_in"]

DEC_DIGITS = _ffi.SP_DEC_DIGITS
INT64_MIN, INT64_MAX = -2**63, 2**63 - 1



def loaded(name):
    """The module `name` ("numpy", "pandas") if the program imported it, else None. A
    value of its types can only come from a program that did, so type checks of the
    caller's values use this and never import them (pandas alone takes 0.4 s to import,
    the command-line tool's whole budget for small inputs)."""
    return sys.modules.get(name)


def __getattr__(name):
    """_convert.numpy, _convert.pandas: the module, imported on first use, or None when
    it is not installed (for results made as numpy arrays or DataFrames)."""
    if name not in ("numpy", "pandas"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(name)
    except ImportError:
        module = None
    globals()[name] = module
    return module


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


# Enough digits for any int64 (19) at any exponent: scaleb in it is exact, and the
# caller's decimal context (its precision, its traps) plays no part.
_EXACT = decimal.Context(prec=40, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def from_minor(units, exponent):
    """Minor units as a Decimal in major units (exact, whatever the decimal context):
    1234 at exponent 2 is Decimal("12.34"), 1200 is Decimal("12.00")."""
    return decimal.Decimal(int(units)).scaleb(-exponent, _EXACT)


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
    pd, np = loaded("pandas"), loaded("numpy")
    if pd is not None and isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy()
    if np is not None and isinstance(values, np.ndarray):
        if values.ndim != 1:
            values = values.reshape(-1) if values.flags.c_contiguous else None
            if values is None:
                raise InvalidError(f"{what}: a numpy array must be C-contiguous")
        want = np.dtype(kind)
        if values.dtype != want:
            if values.dtype.kind not in "iub":
                raise TypeError(f"{what}: expected integers, found numpy dtype {values.dtype}")
            converted = values.astype(want)
            if not np.array_equal(converted, values):
                raise ExactOverflowError(f"{what}: a value does not fit in {kind}")
            values = converted
        values = np.ascontiguousarray(values)
        ptr = values.ctypes.data_as(ctypes.POINTER(ct))
        col = Column(ptr, len(values), values)
    else:
        col = _buffer_column(values, ct, kind, what)
        if col is None:
            col = _sequence_column(values, ct, kind, what)
    if count is not None and col.count != count:
        raise InvalidError(f"{what}: {col.count} values where {count} are needed")
    return col


def _buffer_column(values, ct, kind, what):
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
        return _sequence_column(mv.tolist(), ct, kind, what)
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


def bools_in(values, what, count=None):
    """A column of flags as a uint8 Column for C (1 true, 0 false): a sequence of bools
    (or the ints 0 and 1), a numpy bool array (or an integer one of 0s and 1s), a pandas
    Series of them. TypeError naming the item for anything else ("valid[2]: expected a
    bool, not str")."""
    if values is None:
        return None
    pd, np = loaded("pandas"), loaded("numpy")
    if pd is not None and isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy()
    if np is not None and isinstance(values, np.ndarray):
        if values.dtype.kind == "b":
            return column_in(values.astype(np.uint8), "uint8", what, count=count)
        if values.dtype.kind in "iu":
            flat = values.reshape(-1)
            bad = np.flatnonzero((flat != 0) & (flat != 1))
            if bad.size:
                i = int(bad[0])
                raise TypeError(f"{what}[{i}]: expected a bool, not {flat[i]}")
            return column_in(flat.astype(np.uint8), "uint8", what, count=count)
        values = values.tolist()
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{what}: expected a sequence of bools, not {type(values).__name__}")
    try:
        seq = list(values)
    except TypeError:
        raise TypeError(f"{what}: expected a sequence of bools, not "
                        f"{type(values).__name__}") from None
    flags = bytearray(len(seq))
    for i, v in enumerate(seq):
        if v is True or v is False or (np is not None and isinstance(v, np.bool_)):
            flags[i] = 1 if v else 0
        elif isinstance(v, numbers.Integral) and not isinstance(v, bool) and v in (0, 1):
            flags[i] = int(v)
        else:
            raise TypeError(f"{what}[{i}]: expected a bool, not {type(v).__name__}")
    return column_in(flags, "uint8", what, count=count)


FORMS = ("list", "numpy", "array")


def check_form(form, forms=FORMS):
    """InvalidError unless `form` (the form= of a bulk result) is one of `forms`."""
    if not isinstance(form, str) or form not in forms:
        names = " or ".join([", ".join(repr(f) for f in forms[:-1]), repr(forms[-1])]) \
            if len(forms) > 1 else repr(forms[0])
        raise InvalidError(f"form: expected {names}, not {form!r}")


def column_out(kind, count):
    """A fresh zeroed column of `count` values for C to write: (ctypes array, pointer)."""
    ct = _CTYPES[kind]
    arr = (ct * max(count, 1))()
    return arr, ctypes.cast(arr, ctypes.POINTER(ct))


def as_result(arr, count, kind, form="list"):
    """A column C wrote, as a list, an array.array or (form "numpy") a numpy array."""
    if form == "numpy":
        np = __getattr__("numpy")
        if np is None:
            raise ImportError("salesplan: numpy is not installed (Debian: python3-numpy)")
        return np.frombuffer(arr, dtype=kind, count=count).copy()
    a = array.array(_TYPECODES[kind])
    a.frombytes(memoryview(arr).cast("B")[:count * ctypes.sizeof(_CTYPES[kind])])
    return a if form == "array" else a.tolist()


# ---- strings packed for C (Arrow's layout) ----

class Packed:
    """Strings packed for C: `data` (bytes), `offsets` (n + 1 uint64, an array.array), and
    ctypes pointers to both (`data_ptr`, `offsets_ptr`) valid while this object lives."""

    __slots__ = ("data", "offsets", "count", "data_ptr", "offsets_ptr", "_arr")

    def __init__(self, data, offsets):
        self.data = data
        self.offsets = offsets
        self.count = len(offsets) - 1
        self.data_ptr = ctypes.c_char_p(data)
        self._arr = (ctypes.c_uint64 * len(offsets)).from_buffer(offsets)
        self.offsets_ptr = ctypes.cast(self._arr, ctypes.POINTER(ctypes.c_uint64))


def _as_str_list(values, what):
    pd, np = loaded("pandas"), loaded("numpy")
    if pd is not None and isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy()
    if np is not None and isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise InvalidError(f"{what}: expected a one-dimensional column, not "
                               f"{values.ndim} dimensions")
        if values.dtype.kind not in "UO":
            raise TypeError(f"{what}: expected strings, found numpy dtype {values.dtype}")
        return values.tolist()
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{what}: expected a sequence of str, not a single "
                        f"{type(values).__name__}")
    try:
        return values if isinstance(values, list) else list(values)
    except TypeError:
        raise TypeError(f"{what}: expected a sequence of str, not "
                        f"{type(values).__name__}") from None


def _bad_item(seq, what, none_ok):
    for i, v in enumerate(seq):
        if not isinstance(v, str) and not (none_ok and v is None):
            raise TypeError(f"{what}[{i}]: expected str, not {type(v).__name__}")
    for i, v in enumerate(seq):  # str, but not encodable (a lone surrogate)
        try:
            if v is not None:
                v.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidError(f"{what}[{i}]: {v!r} is not valid Unicode ({e.reason})") \
                from None
    raise AssertionError("unreachable")  # pragma: no cover


def pack_strings(values, what, none_as_empty=False):
    """A sequence of str (list, tuple, numpy or pandas string column) packed for C.

    none_as_empty: None items become empty strings (a root's parent). Wrong types raise
    TypeError naming the item ("ids[3]: expected str, not int")."""
    seq = _as_str_list(values, what)
    if none_as_empty and None in seq:
        nones = seq.count(None)
        if nones <= 16:  # typically one root: find them at C speed
            seq, at = list(seq), -1
            for _ in range(nones):
                at = seq.index(None, at + 1)
                seq[at] = ""
        else:
            seq = ["" if v is None else v for v in seq]
    try:
        joined = "".join(seq)
        data = joined.encode("utf-8")
    except (TypeError, UnicodeEncodeError):
        _bad_item(seq, what, False)
    offsets = array.array("Q", [0])
    if len(data) == len(joined):  # ASCII only: a character is a byte
        offsets.extend(itertools.accumulate(map(len, seq)))
    else:
        offsets.extend(itertools.accumulate(len(s.encode("utf-8")) for s in seq))
    return Packed(data, offsets)


# ---- node and dictionary indexes ----

NONE = _ffi.SP_NONE


def index_in(value, what):
    """A node or dictionary index (an int >= 0) for C."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what}: expected an int index, not {type(value).__name__}")
    value = int(value)
    if not 0 <= value < NONE:
        raise InvalidError(f"{what}: index {value} is outside 0..{NONE - 1}")
    return value


def index_out(value):
    """An index from C as an int, or None for SP_NONE."""
    value = int(value)
    return None if value == NONE else value


# ---- days ----

_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
MIN_DAY = datetime.date(1, 1, 1).toordinal() - _EPOCH_ORDINAL
MAX_DAY = datetime.date(9999, 12, 31).toordinal() - _EPOCH_ORDINAL


def day_of(value: "datetime.date | str", what: "str" = "day") -> "int":
    """A datetime.date (or an ISO "YYYY-MM-DD" string, or a numpy datetime64) as the
    library's day number: days since 1970-01-01 (2026-01-01 is 20454). A datetime is
    refused (TypeError): its time of day would be dropped silently, and which day it falls
    on depends on a time zone; pass .date()."""
    if isinstance(value, str):
        try:
            text = value.strip()
            if len(text) != 10 or text[4] != "-" or text[7] != "-":
                raise ValueError
            value = datetime.date.fromisoformat(text)
        except ValueError:
            raise InvalidError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None
    elif loaded("numpy") is not None and isinstance(value, loaded("numpy").datetime64):
        if loaded("numpy").isnat(value):
            raise InvalidError(f"{what}: NaT is not a date")
        return int(value.astype("datetime64[D]").astype("int64"))
    elif isinstance(value, datetime.datetime):
        raise TypeError(f"{what}: expected a date, not datetime (take its .date() in the "
                        f"time zone you mean)")
    elif not isinstance(value, datetime.date):
        raise TypeError(f"{what}: expected a datetime.date or an ISO date string, not "
                        f"{type(value).__name__}")
    return value.toordinal() - _EPOCH_ORDINAL


def date_of(day: "int") -> "datetime.date":
    """The datetime.date of a day number (days since 1970-01-01); years 1 to 9999."""
    if isinstance(day, bool) or not isinstance(day, numbers.Integral):
        raise TypeError(f"day: expected an int day number, not {type(day).__name__}")
    day = int(day)
    if not MIN_DAY <= day <= MAX_DAY:
        raise InvalidError(f"day: {day} is outside the years 1 to 9999 "
                           f"({MIN_DAY}..{MAX_DAY})")
    return datetime.date.fromordinal(day + _EPOCH_ORDINAL)
