"""Exact money: checked arithmetic, rounding, text and allocation (salesplan/money.h;
docs/money.md is the C guide).

Units at the boundary, the same in every function here:

- **Money** (amounts, totals, bounds, locked values, units of allocation, round_to's unit)
  is decimal.Decimal in MAJOR units (Decimal("12.34") yuan), with int and str accepted
  too; float is refused (TypeError). Each such function takes the currency's exponent as
  `exponent=` (default 2) or `currency=` (an ISO 4217 code, "JPY" -> 0). An amount with
  more decimals than the exponent allows is InvalidError (never rounded in passing), and
  one beyond int64 minor units ExactOverflowError. Results are Decimal with exactly
  `exponent` decimals. `allocate(..., minor=True)` takes and gives ints of minor units
  instead (and is then the way to pass numpy columns).
- **Rates, shares, weights as decimals** (sp_dec) are Decimal with at most 9 decimals.
- **muldiv and div_round** are the C rounding primitives on plain ints (any unit: minor
  units, counts), and give ints.

Rounding modes: salesplan.Rounding or its name ("half_even", the default, "half_up",
"half_down", "up", "down", "ceiling", "floor").
"""
import ctypes
import decimal
import numbers

from . import _convert, _ffi
from ._core import ENUMS, Context, call_pure, enum_of, text_in
from ._lib import lib
from .errors import ExactOverflowError, InvalidError

__all__ = ["currency_exponent", "add", "sub", "mul", "mul_rate", "dec_mul", "dec_div", "ratio",
           "muldiv", "div_round", "rescale", "round_to", "parse", "format", "parse_dec",
           "format_dec", "allocate"]

Rounding = ENUMS["sp_rounding"]
_INT64_MAX = _convert.INT64_MAX
_TEXT = _ffi.ENUMS["sp_text_flags"]


def currency_exponent(code: str) -> int:
    """The ISO 4217 minor-unit exponent of a currency code ("CNY" -> 2, "JPY" -> 0,
    "KWD" -> 3). NotFoundError for a code not in the library's table (codes are upper
    case; XAU and other codes without a minor unit are not in it)."""
    b = text_in(code, "currency")
    out = ctypes.c_int32()
    call_pure(lib.sp_currency_exponent, b, ctypes.byref(out), what=f"currency {code!r}")
    return out.value


def _exponent(exponent, currency):
    if currency is not None:
        if exponent is not None:
            raise InvalidError("exponent: give exponent or currency, not both")
        return currency_exponent(currency)
    if exponent is None:
        return 2
    if isinstance(exponent, bool) or not isinstance(exponent, numbers.Integral):
        raise TypeError(f"exponent: expected an int, not {type(exponent).__name__}")
    if not 0 <= exponent <= _ffi.SP_MONEY_MAX_EXPONENT:
        raise InvalidError(f"exponent: {exponent} is outside 0..{_ffi.SP_MONEY_MAX_EXPONENT}")
    return int(exponent)


def _rounding(mode):
    return enum_of("sp_rounding", mode, "rounding")


def _int64(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what}: expected an int, not {type(value).__name__}")
    value = int(value)
    if not _convert.INT64_MIN <= value <= _INT64_MAX:
        raise ExactOverflowError(f"{what}: {value} does not fit in int64")
    return value


def _binary(fn, a, b, what):
    out = ctypes.c_int64()
    call_pure(fn, a, b, ctypes.byref(out), what=what)
    return out.value


def add(a: "Decimal | int | str", b: "Decimal | int | str", *, exponent: "int | None" = None,
        currency: "str | None" = None) -> decimal.Decimal:
    """a + b, money in major units, exact: ExactOverflowError when the sum leaves int64
    minor units (which Decimal alone would not notice)."""
    e = _exponent(exponent, currency)
    r = _binary(lib.sp_money_add, _convert.to_minor(a, e, "a"), _convert.to_minor(b, e, "b"),
                "add")
    return _convert.from_minor(r, e)


def sub(a: "Decimal | int | str", b: "Decimal | int | str", *, exponent: "int | None" = None,
        currency: "str | None" = None) -> decimal.Decimal:
    """a - b, money in major units, exact (ExactOverflowError beyond int64 minor units)."""
    e = _exponent(exponent, currency)
    r = _binary(lib.sp_money_sub, _convert.to_minor(a, e, "a"), _convert.to_minor(b, e, "b"),
                "sub")
    return _convert.from_minor(r, e)


def mul(amount: "Decimal | int | str", n: int, *, exponent: "int | None" = None,
        currency: "str | None" = None) -> decimal.Decimal:
    """amount * n for an int n (a quantity), exact (ExactOverflowError beyond int64 minor
    units). To multiply by a rate use mul_rate."""
    e = _exponent(exponent, currency)
    r = _binary(lib.sp_money_mul, _convert.to_minor(amount, e, "amount"), _int64(n, "n"), "mul")
    return _convert.from_minor(r, e)


def mul_rate(amount: "Decimal | int | str", rate: "Decimal | int | str",
             rounding: "Rounding | str | int" = "half_even", *, exponent: "int | None" = None,
             currency: "str | None" = None) -> decimal.Decimal:
    """Money times a rate (a Decimal of at most 9 decimals), rounded once to the currency's
    minor unit: mul_rate("200.00", "0.035") is 7.00 (a 3.5 % commission)."""
    e = _exponent(exponent, currency)
    out = ctypes.c_int64()
    call_pure(lib.sp_money_mul_dec, _convert.to_minor(amount, e, "amount"),
              _convert.to_dec(rate, "rate"), _rounding(rounding), ctypes.byref(out),
              what="mul_rate")
    return _convert.from_minor(out.value, e)


def dec_mul(a: "Decimal | int | str", b: "Decimal | int | str",
            rounding: "Rounding | str | int" = "half_even") -> decimal.Decimal:
    """a * b of two decimals (at most 9 decimals each), rounded to 9 decimals."""
    out = ctypes.c_int64()
    call_pure(lib.sp_dec_mul, _convert.to_dec(a, "a"), _convert.to_dec(b, "b"),
              _rounding(rounding), ctypes.byref(out), what="dec_mul")
    return _convert.from_dec(out.value)


def dec_div(a: "Decimal | int | str", b: "Decimal | int | str",
            rounding: "Rounding | str | int" = "half_even") -> decimal.Decimal:
    """a / b of two decimals (at most 9 decimals each), rounded to 9 decimals.
    InvalidError for b = 0."""
    out = ctypes.c_int64()
    call_pure(lib.sp_dec_div, _convert.to_dec(a, "a"), _convert.to_dec(b, "b"),
              _rounding(rounding), ctypes.byref(out), what="dec_div")
    return _convert.from_dec(out.value)


def ratio(a: "Decimal | int | str", b: "Decimal | int | str",
          rounding: "Rounding | str | int" = "half_even", *, exponent: "int | None" = None,
          currency: "str | None" = None) -> decimal.Decimal:
    """a / b of two money amounts as a decimal of 9 places (attainment = actual /
    target). InvalidError for b = 0."""
    e = _exponent(exponent, currency)
    out = ctypes.c_int64()
    call_pure(lib.sp_dec_div, _convert.to_minor(a, e, "a"), _convert.to_minor(b, e, "b"),
              _rounding(rounding), ctypes.byref(out), what="ratio")
    return _convert.from_dec(out.value)


def muldiv(a: int, b: int, c: int, rounding: "Rounding | str | int" = "half_even") -> int:
    """round(a * b / c) of ints (any unit), with an exact 128-bit intermediate.
    InvalidError for c = 0; ExactOverflowError when the result leaves int64."""
    out = ctypes.c_int64()
    call_pure(lib.sp_muldiv, _int64(a, "a"), _int64(b, "b"), _int64(c, "c"),
              _rounding(rounding), ctypes.byref(out), what="muldiv")
    return out.value


def div_round(a: int, b: int, rounding: "Rounding | str | int" = "half_even") -> int:
    """round(a / b) of ints (any unit). InvalidError for b = 0."""
    out = ctypes.c_int64()
    call_pure(lib.sp_div_round, _int64(a, "a"), _int64(b, "b"), _rounding(rounding),
              ctypes.byref(out), what="div_round")
    return out.value


def rescale(amount: "Decimal | int | str", from_exponent: int, to_exponent: int,
            rounding: "Rounding | str | int" = "half_even") -> decimal.Decimal:
    """An amount in major units with at most `from_exponent` decimals, rounded to
    `to_exponent` decimals: rescale("12.345", 3, 2) is 12.34 (half even)."""
    fe = _exponent(from_exponent, None)
    te = _exponent(to_exponent, None)
    out = ctypes.c_int64()
    call_pure(lib.sp_money_rescale, _convert.to_minor(amount, fe, "amount"), fe, te,
              _rounding(rounding), ctypes.byref(out), what="rescale")
    return _convert.from_minor(out.value, te)


def round_to(amount: "Decimal | int | str", unit: "Decimal | int | str",
             rounding: "Rounding | str | int" = "half_even", *, exponent: "int | None" = None,
             currency: "str | None" = None) -> decimal.Decimal:
    """amount rounded to a multiple of `unit` (money, > 0): round_to("1234.56", 100,
    "half_up") is 1200.00."""
    e = _exponent(exponent, currency)
    u = _convert.to_minor(unit, e, "unit")
    if u <= 0:
        raise InvalidError(f"unit: {unit} is not above zero")
    out = ctypes.c_int64()
    call_pure(lib.sp_money_round_to, _convert.to_minor(amount, e, "amount"), u,
              _rounding(rounding), ctypes.byref(out), what="round_to")
    return _convert.from_minor(out.value, e)


def _parse_flags(grouping, rounding):
    flags = _TEXT["SP_TEXT_GROUPING"] if grouping else 0
    mode = 0
    if rounding is not None:
        flags |= _TEXT["SP_TEXT_ROUND"]
        mode = _rounding(rounding)
    return flags, mode


def parse(text: str, *, exponent: "int | None" = None, currency: "str | None" = None,
          grouping: bool = False, rounding: "Rounding | str | int | None" = None,
          ctx: "Context | None" = None) -> decimal.Decimal:
    """Money text ("1234.56", "-0.05", with grouping=True also "1,234.56") as a Decimal
    in major units. Digits beyond the exponent must be zeros unless `rounding` is given
    (then rounded once by it). InvalidError naming the text and the byte offset,
    ExactOverflowError beyond int64 minor units."""
    e = _exponent(exponent, currency)
    flags, mode = _parse_flags(grouping, rounding)
    ctx = Context.of(ctx)
    out = ctypes.c_int64()
    ctx.call(lib.sp_money_parse, ctx, text_in(text, "text"), e, flags, mode, ctypes.byref(out))
    return _convert.from_minor(out.value, e)


def parse_dec(text: str, *, percent: bool = False, grouping: bool = False,
              rounding: "Rounding | str | int | None" = None,
              ctx: "Context | None" = None) -> decimal.Decimal:
    """Decimal text (at most 9 decimals) as a Decimal; percent=True reads a percentage
    ("3.5" or "3.5%" is 0.035). rounding as for parse."""
    flags, mode = _parse_flags(grouping, rounding)
    if percent:
        flags |= _TEXT["SP_TEXT_PERCENT"]
    ctx = Context.of(ctx)
    out = ctypes.c_int64()
    ctx.call(lib.sp_dec_parse, ctx, text_in(text, "text"), flags, mode, ctypes.byref(out))
    return _convert.from_dec(out.value)


def _format(fn, args, flags, what):
    buf = ctypes.create_string_buffer(_ffi.SP_TEXT_MAX)
    n = ctypes.c_size_t()
    call_pure(fn, *args, flags, buf, len(buf), ctypes.byref(n), what=what)
    return buf.raw[:n.value].decode("ascii")


def format(amount: "Decimal | int | str", *, exponent: "int | None" = None,
           currency: "str | None" = None, grouping: bool = False) -> str:
    """Money as text with exactly `exponent` decimals ("-1234.50"; grouping=True:
    "-1,234.50"). The amount must be exact at that exponent (InvalidError)."""
    e = _exponent(exponent, currency)
    return _format(lib.sp_money_format, (_convert.to_minor(amount, e, "amount"), e),
                   _TEXT["SP_TEXT_GROUPING"] if grouping else 0, "format")


def format_dec(value: "Decimal | int | str", *, percent: bool = False,
               grouping: bool = False) -> str:
    """A decimal as text without trailing zeros ("0.035", "12"); percent=True: "3.5%"."""
    flags = (_TEXT["SP_TEXT_GROUPING"] if grouping else 0) | \
        (_TEXT["SP_TEXT_PERCENT"] if percent else 0)
    return _format(lib.sp_dec_format, (_convert.to_dec(value, "value"),), flags, "format_dec")


# ---- allocation ----

def _weights(weights, n_hint):
    """Weights as an int64 Column: ints as they are (numpy columns without a copy); when
    any is a Decimal (or str), all are scaled by the same power of ten to exact ints."""
    if weights is None:
        return None
    np = _convert.loaded("numpy")
    if (np is not None and isinstance(weights, np.ndarray)) or not hasattr(weights, "__len__") \
            or isinstance(weights, (bytes, bytearray, memoryview)):
        return _convert.column_in(weights, "int64", "weights")
    seq = list(weights)
    if all(isinstance(w, numbers.Integral) and not isinstance(w, bool) for w in seq):
        return _convert.column_in(seq, "int64", "weights")
    ds = [_convert._decimal(w, f"weights[{i}]") for i, w in enumerate(seq)]
    places = max(0, *(-d.as_tuple().exponent for d in ds)) if ds else 0
    return _convert.column_in([_convert._scaled(d, places, f"weights[{i}]", "the weights")
                               for i, d in enumerate(ds)], "int64", "weights")


def _amounts(values, e, minor, what, count):
    """A column of money (major units; minor=True: ints of minor units), None items
    allowed (returned as a list of the positions that were None)."""
    if values is None:
        return None, []
    np = _convert.loaded("numpy")
    if minor and np is not None and isinstance(values, np.ndarray):
        return _convert.column_in(values, "int64", what, count=count), []
    seq = list(values)
    if len(seq) != count:
        raise InvalidError(f"{what}: {len(seq)} values where {count} are needed")
    nones = [i for i, v in enumerate(seq) if v is None]
    ints = []
    for i, v in enumerate(seq):
        if v is None:
            ints.append(0)
        elif minor:
            ints.append(_int64(v, f"{what}[{i}]"))
        else:
            ints.append(_convert.to_minor(v, e, f"{what}[{i}]"))
    return ints, nones


def allocate(total: "Decimal | int | str",
             weights: "Sequence[int | Decimal] | numpy.ndarray | None" = None, *,
             min: "Sequence[Decimal | int | str | None] | None" = None,
             max: "Sequence[Decimal | int | str | None] | None" = None,
             locked: "Sequence[Decimal | int | str | None] | Mapping[int, Decimal] | None" = None,
             unit: "Decimal | int | str | None" = None, minor: bool = False,
             exponent: "int | None" = None, currency: "str | None" = None,
             count: "int | None" = None, ctx: "Context | None" = None) -> list:
    """Split `total` into parts proportional to `weights`, exactly: the parts always sum
    to the total (sp_allocate; docs/money.md has the rule).

    total: money (major units, or with minor=True an int of minor units). weights: ints
    >= 0 (a list, array.array or numpy int column, used as they are) or Decimals (all
    scaled by the same power of ten to exact ints: ratios are kept exactly); None: equal
    weights, `count` parts. Shares are floored and the units left over go one each to
    the largest remainders, ties to the lowest index: 100.00 over 1:1:1 is 33.34, 33.33,
    33.33.

    min / max: a bound per part (money like total), None for a part without a bound (or
    min=None / max=None for none at all). locked: a value per part (None: not locked) or
    a dict {index: value}; locked parts keep their value and the rest is spread over the
    others. unit: money (> 0): unlocked parts are multiples of it, the remainder going to
    the largest part of positive weight. Returns a list of Decimals (minor=True: ints of
    minor units).

    InvalidError for infeasible input (bounds that cannot be met, a negative weight, ...:
    the message names the part), ExactOverflowError beyond int64."""
    e = _exponent(exponent, currency)
    t = _int64(total, "total") if minor else _convert.to_minor(total, e, "total")
    w = _weights(weights, count)
    if w is None:
        if count is None:
            raise InvalidError("count: give weights, or count for equal weights")
        n = _int64(count, "count")
        if n < 0:
            raise InvalidError(f"count: {count} is negative")
    else:
        n = w.count
        if count is not None and count != n:
            raise InvalidError(f"count: {count} parts, but {n} weights")
    opts = _ffi.sp_alloc_options()
    lib.sp_alloc_options_init(ctypes.byref(opts), _ffi.SP_ALLOC_OPTIONS_VERSION)
    keep = [w]
    if min is not None:
        mins, nones = _amounts(min, e, minor, "min", n)
        if nones:
            for i in nones:
                mins[i] = 0 if t >= 0 else -_INT64_MAX
        col = _convert.column_in(mins, "int64", "min") if isinstance(mins, list) else mins
        opts.min = col.ptr
        keep.append(col)
    if max is not None:
        maxs, nones = _amounts(max, e, minor, "max", n)
        if nones:
            for i in nones:
                maxs[i] = _INT64_MAX if t >= 0 else 0
        col = _convert.column_in(maxs, "int64", "max") if isinstance(maxs, list) else maxs
        opts.max = col.ptr
        keep.append(col)
    if locked is not None:
        if isinstance(locked, dict):
            seq = [None] * n
            for k, v in locked.items():
                i = _convert.index_in(k, "locked")
                if i >= n:
                    raise InvalidError(f"locked: part {i} is beyond the {n} parts")
                seq[i] = v
        else:
            seq = locked
        vals, nones = _amounts(seq, e, minor, "locked", n)
        if isinstance(vals, _convert.Column):
            raise TypeError("locked: expected a sequence with None for unlocked parts, or a "
                            "dict {index: value}")
        flags = [1] * n
        for i in nones:
            flags[i] = 0
        fcol = _convert.column_in(flags, "uint8", "locked")
        vcol = _convert.column_in(vals, "int64", "locked")
        opts.locked, opts.locked_value = fcol.ptr, vcol.ptr
        keep += [fcol, vcol]
    if unit is not None:
        u = _int64(unit, "unit") if minor else _convert.to_minor(unit, e, "unit")
        if u <= 0:
            raise InvalidError(f"unit: {unit} is not above zero")
        opts.unit = u
    ctx = Context.of(ctx)
    out, optr = _convert.column_out("int64", n)
    ctx.call(lib.sp_allocate, ctx, t, w.ptr if w is not None else None, n, ctypes.byref(opts),
             optr)
    parts = _convert.as_result(out, n, "int64")
    return parts if minor else [_convert.from_minor(p, e) for p in parts]
