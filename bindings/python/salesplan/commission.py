"""Commission plans and runs: plans as JSON documents, runs of one period that turn facts
into statements whose every line traces to a fact, a component, a tier and a rate (the C
API of salesplan/commission.h; docs/commission.md is the guide, docs/python-commission.md
the Python tutorial).

Amounts: money is decimal.Decimal in major units of the plan's currency at the boundary
(12.34 dollars), converted exactly with the plan's exponent; the measures of units
(quantity, lines, deals) are ints. Every result also has a `minor=True` form (ints of
minor units) and the bulk ones a to_numpy(). Rates and shares are Decimal (0.05 for 5 %).
Fact columns are minor units, as for every fact source (salesplan.facts).

Lifetimes: a run copies its plan (the plan may be closed at once) and holds its results
until it is computed again; a CommissionStatement is a copy that outlives both.
"""
import ctypes
import dataclasses
import datetime
import decimal
import json
import numbers
import os
import struct
from typing import (Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple,
                    Union)

from . import _convert, _ffi
from ._core import ENUMS, Context, Handle, enum_of, progress_table, text_out
from ._lib import lib
from .errors import BufferTooSmallError, InvalidError, NotFoundError
from .targets import _calendar_view, _json_text, _Locks, _need_numpy, _need_pandas

__all__ = ["CommissionPlan", "CommissionPlanInfo", "CommissionComponent", "CommissionRun",
           "CommissionRunInfo", "CommissionStatement", "CommissionLine"]

CommissionMeasure = ENUMS["sp_commission_measure"]
CommissionPolicy = ENUMS["sp_commission_policy"]
CommissionLineKind = ENUMS["sp_commission_line_kind"]
CommissionUnknown = ENUMS["sp_commission_unknown"]
CommissionRunFlag = ENUMS["sp_commission_run_flag"]
Rounding = ENUMS["sp_rounding"]
Grain = ENUMS["sp_grain"]

Amount = Union[decimal.Decimal, int]
ProgressFn = Optional[Callable[[int, int], Any]]

_MONEY = frozenset((int(CommissionMeasure.AMOUNT), int(CommissionMeasure.MARGIN)))
_OPEN_END = 2**31 - 1          # effective_to of an open-ended version
_ALL = ctypes.c_size_t(-1).value  # explain's "the total" (SIZE_MAX)
_DEC = _convert.DEC_DIGITS

# ---- the 64-byte statement line, read in bulk ----

_LINE = _ffi.sp_commission_line
_CODES = {ctypes.c_uint64: "Q", ctypes.c_int64: "q", ctypes.c_int32: "i",
          ctypes.c_uint32: "I", ctypes.c_uint16: "H", ctypes.c_uint8: "B"}
_NUMPY = {"Q": "u8", "q": "i8", "i": "i4", "I": "u4", "H": "u2", "B": "u1"}
# (name, struct code, offset) of each member of sp_commission_line, from the generated
# declaration (test_ffi.py checks it against the C compiler's layout).
_LINE_FIELDS = tuple((name, _CODES[ct], getattr(_LINE, name).offset)
                     for name, ct in _LINE._fields_)
_LINE_STRUCT = struct.Struct("=" + "".join(code for _, code, _ in _LINE_FIELDS))
_LINE_SIZE = ctypes.sizeof(_LINE)
if _LINE_STRUCT.size != _LINE_SIZE:  # pragma: no cover - the layout is frozen (64 bytes)
    raise ImportError("salesplan: sp_commission_line has padding this module does not read")


def _line_dtype(np):
    """The numpy structured dtype of sp_commission_line (native byte order)."""
    return np.dtype({"names": [n for n, _, _ in _LINE_FIELDS],
                     "formats": ["=" + _NUMPY[c] for _, c, _ in _LINE_FIELDS],
                     "offsets": [o for _, _, o in _LINE_FIELDS],
                     "itemsize": _LINE_SIZE})


# ---- helpers ----

def _int_arg(value, what, lo, hi, span):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what}: expected an int, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise InvalidError(f"{what}: {value} is not {span}")
    return int(value)


def _listed(values, what, noun, count=None, needed=None):
    """values as a list: TypeError naming `what` for a str or anything not iterable
    ("expected a sequence of <noun>"); with count, InvalidError unless it has count items
    ("<n> values where <count> are needed", or `needed` in place of the end)."""
    if not isinstance(values, (str, bytes)):
        try:
            seq = list(values)
        except TypeError:
            seq = None
        if seq is not None:
            if count is not None and len(seq) != count:
                raise InvalidError(f"{what}: {len(seq)} "
                                   f"{needed or f'values where {count} are needed'}")
            return seq
    raise TypeError(f"{what}: expected a sequence of {noun}, not {type(values).__name__}")


def _id_text(value):
    return json.dumps(value, ensure_ascii=False)


def _document_bytes(document):
    """A plan document as UTF-8 bytes: JSON text (str or bytes), a dict, or a path."""
    if isinstance(document, str):
        try:
            return document.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidError(f"document: not valid Unicode ({e.reason})") from None
    if isinstance(document, (bytes, bytearray, memoryview)):
        return bytes(document)
    if isinstance(document, Mapping):
        return _json_text(document, "document").encode("utf-8")
    if isinstance(document, os.PathLike):
        with open(document, "rb") as f:
            return f.read()
    raise TypeError(f"document: expected a JSON str or bytes, a dict or a path, not "
                    f"{type(document).__name__}")


def _decimals(values, exponent, np, conv=None):
    """An int64 numpy column as an object column of Decimal (value x 10^-exponent, or
    conv(value)), converting each distinct value once."""
    if len(values) == 0:
        return np.empty(0, dtype=object)
    uniq, inverse = np.unique(values, return_inverse=True)
    dec = np.empty(len(uniq), dtype=object)
    dec[:] = [conv(v) if conv else _convert.from_minor(v, exponent) for v in uniq.tolist()]
    return dec[inverse]


def _per_unit(rate, exponent):
    """A schedule's rate on a measure of units (sp_dec of minor units per unit) as an
    amount per unit: major units at `exponent` (12.50), more places only when it has
    them."""
    if rate % _ffi.SP_DEC_ONE == 0:
        return _convert.from_minor(rate // _ffi.SP_DEC_ONE, exponent)
    return _convert.from_minor(rate, _DEC + exponent)


# ---- plans ----

@dataclasses.dataclass(frozen=True)
class CommissionComponent:
    """A component of a plan (sp_commission_component_info): its id, the measure it pays
    on (CommissionMeasure), its period's Grain (month, quarter or year), and whether its
    thresholds are attainments (each payee then needs a quota)."""
    id: str
    measure: Any
    grain: Any
    on_attainment: bool


@dataclasses.dataclass(frozen=True)
class CommissionPlanInfo:
    """What a plan version is (sp_commission_plan_info). name is None when the document
    has none; effective_to is None for an open-ended version; revision is 0 for a plan
    not loaded from a store. calendar is a non-owning view of the plan's calendar (its
    options are None: the document gives them); it keeps the plan alive."""
    id: str
    name: Optional[str]
    currency: str
    exponent: int
    effective_from: datetime.date
    effective_to: Optional[datetime.date]
    rounding: Any
    policy: Any
    revision: int
    ncomponents: int
    calendar: Any = dataclasses.field(repr=False, compare=False)


class CommissionPlan(Handle):
    """One effective-dated version of a commission plan, read from its JSON document
    (docs/commission.md, "Plan documents"). Immutable.

    CommissionPlan(document, *, ctx=None)

    document: the JSON text (str, or bytes of UTF-8), a dict (Decimal values written
    exactly), or a path-like object (pathlib.Path: the file is read; a str is always the
    text itself). InvalidError with the library's message naming the member, line and
    column (an unknown member gets a "did you mean"); TypeError for another type;
    OSError when the file cannot be read.
    """

    _free = "sp_commission_plan_free"
    _what = "commission plan"

    def __init__(self, document: "str | bytes | Mapping[str, Any] | os.PathLike", *,
                 ctx: Optional[Context] = None):
        ctx = Context.of(ctx)
        raw = _document_bytes(document)
        ptr = ctypes.POINTER(_ffi.sp_commission_plan)()
        ctx.call(lib.sp_commission_plan_new, ctypes.byref(ptr), ctx, raw, len(raw))
        self._init_handle(ptr, ctx)

    def _raw_info(self):
        i = _ffi.sp_commission_plan_info()
        lib.sp_commission_plan_info_init(ctypes.byref(i), _ffi.SP_COMMISSION_PLAN_INFO_VERSION)
        self._ctx.call(lib.sp_commission_plan_get_info, self, ctypes.byref(i))
        return i

    @property
    def info(self) -> CommissionPlanInfo:
        """What the plan version is (CommissionPlanInfo)."""
        with self._ctx._lock:
            i = self._raw_info()
            return CommissionPlanInfo(
                id=text_out(i.id), name=text_out(i.name) or None,
                currency=text_out(i.currency), exponent=i.exponent,
                effective_from=_convert.date_of(i.effective_from),
                effective_to=(None if i.effective_to == _OPEN_END
                              else _convert.date_of(i.effective_to)),
                rounding=Rounding(i.rounding), policy=CommissionPolicy(i.policy),
                revision=i.revision, ncomponents=i.ncomponents,
                calendar=_calendar_view(i.calendar, self, None))

    @property
    def components(self) -> List[CommissionComponent]:
        """The components, in the document's order (a new list)."""
        out = []
        with self._ctx._lock:
            n = self._raw_info().ncomponents
            ci = _ffi.sp_commission_component_info()
            for k in range(n):
                lib.sp_commission_component_info_init(
                    ctypes.byref(ci), _ffi.SP_COMMISSION_COMPONENT_INFO_VERSION)
                self._ctx.call(lib.sp_commission_plan_component, self, k, ctypes.byref(ci))
                out.append(CommissionComponent(text_out(ci.id), CommissionMeasure(ci.measure),
                                               Grain(ci.grain), bool(ci.on_attainment)))
        return out

    @property
    def document(self) -> str:
        """The document in canonical form (members in schema order, defaults written):
        reading it gives the same plan and the same text."""
        p = ctypes.c_char_p()
        n = ctypes.c_size_t()
        with self._ctx._lock:
            self._ctx.call(lib.sp_commission_plan_get_document, self, ctypes.byref(p),
                           ctypes.byref(n))
            return ctypes.string_at(p, n.value).decode("utf-8")

    def as_dict(self) -> Dict[str, Any]:
        """The canonical document parsed (a new dict; numbers with a fraction Decimal)."""
        return json.loads(self.document, parse_float=decimal.Decimal)

    def __repr__(self):
        if self._ptr is None:
            return "<salesplan.CommissionPlan closed>"
        i = self.info
        to = "open" if i.effective_to is None else i.effective_to.isoformat()
        return (f"<salesplan.CommissionPlan {i.id!r} {i.currency} {i.effective_from}..{to}, "
                f"{i.ncomponents} component{'s' if i.ncomponents != 1 else ''}>")


# ---- amounts of a plan ----

class _Units:
    """How a plan's values cross the boundary: money (amount, margin) as Decimal in major
    units at the plan's exponent, the measures of units as ints."""

    __slots__ = ("exponent", "money", "ids")

    def __init__(self, exponent, components):
        self.exponent = exponent
        self.money = [int(c.measure) in _MONEY for c in components]
        self.ids = [c.id for c in components]

    def amount(self, units, minor):
        return int(units) if minor else _convert.from_minor(units, self.exponent)

    def measure(self, c, units, minor):
        """A value of component c's measure."""
        return self.amount(units, minor) if self.money[c] else int(units)

    def measure_in(self, c, value, what, minor):
        """A value of component c's measure from Python (a quota)."""
        if minor or not self.money[c]:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                unit = "an int of minor units" if minor and self.money[c] else "an int"
                raise TypeError(f"{what}: expected {unit}, not {type(value).__name__}")
            return int(value)
        return _convert.to_minor(value, self.exponent, what)


# ---- statements ----

@dataclasses.dataclass(frozen=True)
class CommissionLine:
    """One statement line (sp_commission_line): the fact (an order line's or a refund's
    id), the component's id, its kind (CommissionLineKind), the fact's day, the payee's
    share of the fact (Decimal, 1 = 100 %), base (the payee's credited part of the
    measure: Decimal for a money measure, int units otherwise; a SPIFF line: its units,
    or 1 per line), earned = own + true_up + what the gate, accelerators, cap and bonuses
    add (modifiers), rate (Decimal: for a money measure the rate after the line, 0.1 for
    10 %; for a measure of units the amount per unit; for a SPIFF its amount per unit or
    per line), and the tiers at the measure before and after the line. Amounts are
    Decimal in major units, or ints (and amounts per unit Decimal) in minor units for a
    statement made with minor=True."""
    fact: int
    component: str
    kind: Any
    day: datetime.date
    share: decimal.Decimal
    base: Amount
    earned: Amount
    own: Amount
    true_up: Amount
    rate: decimal.Decimal
    tier_before: int
    tier_after: int

    @property
    def modifiers(self) -> Amount:
        """What the gate, accelerators, cap and bonuses made of the line: earned - own -
        true_up."""
        return self.earned - self.own - self.true_up


def _lines_of(raw, units, minor):
    """The lines packed in `raw` (64 bytes each) as CommissionLine records. Days, shares
    and rates repeat: each distinct one is converted once."""
    e = 0 if minor else units.exponent
    kinds = list(CommissionLineKind)
    amount = int if minor else (lambda v: _convert.from_minor(v, e))
    days, shares, rates = {}, {}, {}
    out = []
    for (fact, base, earned, own, true_up, rate, day, share, tb, ta, comp, kind,
         _) in _LINE_STRUCT.iter_unpack(raw):
        spiff = kind & 1
        money = units.money[comp]
        key = (rate, spiff, money)
        r = rates.get(key)
        if r is None:
            r = rates[key] = (_convert.from_minor(rate, e) if spiff else
                              _convert.from_minor(rate, _DEC) if money else
                              _per_unit(rate, e))
        d = days.get(day)
        if d is None:
            d = days[day] = _convert.date_of(day)
        sh = shares.get(share)
        if sh is None:
            sh = shares[share] = _convert.from_minor(share, _DEC)
        out.append(CommissionLine(
            fact, units.ids[comp], kinds[kind], d, sh,
            amount(base) if money and not spiff else base, amount(earned), amount(own),
            amount(true_up), r, tb, ta))
    return out


def _lines_frame(arr, units, minor, np, pd, payees=None):
    """A DataFrame of the structured line array `arr`; payees: (ids, codes) for a
    leading payee column."""
    cols = {}
    if payees is not None:
        cols["payee"] = pd.Categorical.from_codes(payees[1], categories=payees[0])
    cols["line"] = payees[2] if payees is not None else np.arange(len(arr), dtype="int64")
    comp = arr["component"].astype("int64")
    cols["component"] = pd.Categorical.from_codes(comp, categories=units.ids)
    cols["kind"] = pd.Categorical.from_codes(
        arr["kind"].astype("int64"), categories=[k.name.lower() for k in CommissionLineKind])
    cols["fact"] = arr["fact"].copy()
    cols["day"] = arr["day"].astype("datetime64[D]")
    if minor:
        for name in ("share", "base", "rate"):
            cols[name] = arr[name].astype("int64")
    else:
        e = units.exponent
        spiff = (arr["kind"] & 1).astype(bool)
        money = np.array(units.money, dtype=bool)[comp]
        cols["share"] = _decimals(arr["share"].astype("int64"), _DEC, np)
        base = arr["base"].astype(object)
        mask = money & ~spiff
        base[mask] = _decimals(arr["base"][mask], e, np)
        cols["base"] = base
        rate = np.empty(len(arr), dtype=object)
        rate[spiff] = _decimals(arr["rate"][spiff], e, np)
        rate[money & ~spiff] = _decimals(arr["rate"][money & ~spiff], _DEC, np)
        rate[~money & ~spiff] = _decimals(arr["rate"][~money & ~spiff], 0, np,
                                          lambda v: _per_unit(v, e))
        cols["rate"] = rate
    cols["tier_before"] = arr["tier_before"].astype("int64")
    cols["tier_after"] = arr["tier_after"].astype("int64")
    for name in ("earned", "own", "true_up"):
        cols[name] = arr[name].copy() if minor else _decimals(arr[name], units.exponent, np)
    return pd.DataFrame(cols, copy=False)  # the columns are fresh arrays


class CommissionStatement:
    """A payee's statement, copied out of the run (it outlives the run and later
    computations).

    payee: the payee's id; index: its position among the run's payees; dictionary_index:
    its index in the dictionary the run was computed with. total: the sum of the lines
    and of the components. components: {component id: earnings}; measures: {component
    id: the credited measure} (Decimal for money, int for units); quotas: {component id:
    quota} or None when the run had none. rounding (Rounding) and policy
    (CommissionPolicy): the plan's. lines: the CommissionLine records, by component, then
    day, kind and fact id ([] when the run kept totals only). Amounts are Decimal in major
    units, or ints of minor units when `minor` (statement(..., minor=True)).
    """

    def __init__(self, payee: str, index: int, dictionary_index: int, total: Amount,
                 components: Dict[str, Amount], measures: Dict[str, Amount],
                 quotas: Optional[Dict[str, Amount]], rounding: "Rounding",
                 policy: "CommissionPolicy", raw_lines: bytes, units: "_Units",
                 minor: bool):
        self.payee, self.index, self.dictionary_index = payee, index, dictionary_index
        self.total, self.components, self.measures = total, components, measures
        self.quotas, self.rounding, self.policy = quotas, rounding, policy
        self.minor = minor
        self._raw, self._units, self._lines = raw_lines, units, None

    @property
    def nlines(self) -> int:
        """The number of lines (0 when the run kept totals only)."""
        return len(self._raw) // _LINE_SIZE

    def __len__(self):
        return self.nlines

    @property
    def lines(self) -> List[CommissionLine]:
        """The lines as CommissionLine records (made on first use; a new list)."""
        if self._lines is None:
            self._lines = _lines_of(self._raw, self._units, self.minor)
        return list(self._lines)

    def to_numpy(self) -> "numpy.ndarray":
        """The lines as a numpy structured array of sp_commission_line's fields, as the
        library holds them (a copy): fact, base, earned, own, true_up (int64 minor units,
        base in units of the measure), rate (int64: billionths, sp_dec; a SPIFF's amount
        in minor units), day (int32 days since 1970-01-01), share (uint32 billionths),
        tier_before, tier_after, component (uint16 indexes), kind (uint8), reserved."""
        np = _need_numpy()
        return np.frombuffer(self._raw, dtype=_line_dtype(np)).copy()

    def lines_frame(self, *, minor: Optional[bool] = None) -> "pandas.DataFrame":
        """The lines as a pandas DataFrame, read in bulk: line (its index, as explain takes
        it), component and kind (categoricals of the ids and kind names), fact, day,
        share, base, rate, tier_before, tier_after, earned, own, true_up. minor (None: the
        statement's): amounts Decimal (object columns) or, with minor=True, every column
        numeric as the library holds it (amounts int64 minor units, share and rate int64
        as to_numpy() gives them)."""
        np, pd = _need_numpy(), _need_pandas()
        arr = np.frombuffer(self._raw, dtype=_line_dtype(np))
        return _lines_frame(arr, self._units, self.minor if minor is None else minor, np, pd)

    def to_frame(self, *, minor: Optional[bool] = None) -> "pandas.DataFrame":
        """lines_frame(): the statement's lines as a DataFrame."""
        return self.lines_frame(minor=minor)

    def __repr__(self):
        return (f"<salesplan.CommissionStatement {self.payee!r}: total {self.total}, "
                f"{self.nlines} lines>")


# ---- runs ----

@dataclasses.dataclass(frozen=True)
class CommissionRunInfo:
    """What a run holds (sp_commission_run_info): computed, its payees and components, the
    statement lines of all payees (0: totals only), the days read [first_day, end_day)
    (dates; None before it is computed or when no component is due), the order lines and
    refunds read in those days, the rows of reps that are no payee (skipped), and whether
    the totals were summed without lines (the totals path)."""
    computed: bool
    npayees: int
    ncomponents: int
    nlines: int
    first_day: Optional[datetime.date]
    end_day: Optional[datetime.date]
    lines_read: int
    refunds_read: int
    not_payee: int
    totals_path: bool


class CommissionRun(Handle):
    """A run of one period of a plan version for a set of payees (sp_commission_run): set
    its payees, quotas and splits, compute it over facts, then read its statements. A run
    writes nothing; computing it again replaces its results.

    CommissionRun(plan, *, fiscal_year, grain="month", index=0, unknown="skip",
    totals_only=False)

    plan: a CommissionPlan (copied: it may be closed afterwards). The period: fiscal_year
    of the plan's calendar (1 to 9999), grain (Grain: month, quarter or year) and index
    (0-based period of the year at that grain; a period the year does not have is an
    error when computing). unknown (CommissionUnknown): a fact of a rep who is no payee is
    skipped and counted ("skip") or an error naming the fact ("error"). totals_only: keep
    the totals without the lines (faster; explain then explains totals only). Made within
    the plan's context. InvalidError naming the option, TypeError for a wrong type.
    """

    _free = "sp_commission_run_free"
    _what = "commission run"

    def __init__(self, plan: CommissionPlan, *, fiscal_year: int,
                 grain: "Grain | str | int" = "month", index: int = 0,
                 unknown: "CommissionUnknown | str | int" = "skip", totals_only: bool = False):
        if not isinstance(plan, CommissionPlan):
            raise TypeError(f"plan: expected a CommissionPlan, not {type(plan).__name__}")
        o = _ffi.sp_commission_run_options()
        lib.sp_commission_run_options_init(ctypes.byref(o),
                                           _ffi.SP_COMMISSION_RUN_OPTIONS_VERSION)
        o.fiscal_year = _int_arg(fiscal_year, "fiscal_year", -2**31, 2**31 - 1, "1 to 9999")
        o.grain = enum_of("sp_grain", grain, "grain")
        o.index = _int_arg(index, "index", 0, 2**32 - 1, "a period index (0 or more)")
        o.unknown = enum_of("sp_commission_unknown", unknown, "unknown")
        if not isinstance(totals_only, bool):
            raise TypeError(f"totals_only: expected a bool, not {type(totals_only).__name__}")
        o.flags = int(CommissionRunFlag.TOTALS_ONLY) if totals_only else 0
        ctx = plan._ctx
        ptr = ctypes.POINTER(_ffi.sp_commission_run)()
        with ctx._lock:
            info = plan._raw_info()
            components = plan.components
            ctx.call(lib.sp_commission_run_new, ctypes.byref(ptr), plan, ctypes.byref(o))
        self._init_handle(ptr, ctx)
        self._plan_id = text_out(info.id)
        self._components = components
        self._units = _Units(info.exponent, components)
        self._rounding, self._policy = Rounding(info.rounding), CommissionPolicy(info.policy)
        self._period = (o.fiscal_year, Grain(o.grain), o.index)
        self._payees = []      # dictionary indexes, in payee order
        self._ids = []         # the payees' ids
        self._at = {}          # id -> position
        self._dict = None      # the dictionary the ids were read from

    # -- what it is --

    @property
    def components(self) -> List[CommissionComponent]:
        """The plan's components (a new list)."""
        return list(self._components)

    @property
    def period(self) -> "Tuple[int, Grain, int]":
        """The run's period: (fiscal_year, grain (a Grain), index (0-based))."""
        return self._period

    @property
    def payees(self) -> List[str]:
        """The payees' ids, in payee order (a new list)."""
        return list(self._ids)

    @property
    def info(self) -> CommissionRunInfo:
        """What the run holds (CommissionRunInfo)."""
        i = _ffi.sp_commission_run_info()
        lib.sp_commission_run_info_init(ctypes.byref(i), _ffi.SP_COMMISSION_RUN_INFO_VERSION)
        with self._ctx._lock:
            self._ctx.call(lib.sp_commission_run_get_info, self, ctypes.byref(i))
        days = i.computed and i.first_day < i.end_day
        return CommissionRunInfo(
            computed=bool(i.computed), npayees=i.npayees, ncomponents=i.ncomponents,
            nlines=i.nlines, first_day=_convert.date_of(i.first_day) if days else None,
            end_day=_convert.date_of(i.end_day) if days else None, lines_read=i.lines_read,
            refunds_read=i.refunds_read, not_payee=i.not_payee,
            totals_path=bool(i.totals_path))

    def _position(self, payee, what):
        """A payee (its id, or its position) as its position among the run's payees."""
        if isinstance(payee, str):
            k = self._at.get(payee)
            if k is None:
                raise NotFoundError(f"{what}: {_id_text(payee)} is no payee of the run")
            return k
        k = _convert.index_in(payee, what)
        if k >= len(self._payees):
            raise InvalidError(f"{what}: position {k} is beyond the run's "
                               f"{len(self._payees)} payees")
        return k

    # -- inputs --

    def set_payees(self, payees: "Sequence[str | int] | numpy.ndarray",
                   dictionary: "Dictionary") -> None:
        """The payees: their ids (str, found in `dictionary`) or dictionary indexes (ints;
        a numpy array of them), distinct; payee k is the k-th. Replaces the payees and
        clears the quotas, the splits and the results. NotFoundError naming an id the
        dictionary lacks or an index beyond it; InvalidError for a payee given twice."""
        from .dictionary import Dictionary
        if not isinstance(dictionary, Dictionary):
            raise TypeError(f"dictionary: expected a salesplan.Dictionary, not "
                            f"{type(dictionary).__name__}")
        np = _convert.loaded("numpy")
        if np is not None and isinstance(payees, np.ndarray):
            if payees.dtype.kind not in "iu":
                raise TypeError(f"payees: expected dictionary indexes, found numpy dtype "
                                f"{payees.dtype}")
            payees = payees.reshape(-1).tolist()
        seq = _listed(payees, "payees", "ids or indexes")
        with _Locks(self._ctx, dictionary._ctx):
            count = len(dictionary)
            strs = [(i, p) for i, p in enumerate(seq) if isinstance(p, str)]
            found = dictionary.find_all([p for _, p in strs])[0] if strs else []
            idx, ids = [None] * len(seq), [None] * len(seq)
            for (i, p), at in zip(strs, found):
                if at is None:
                    raise NotFoundError(f"payees[{i}]: id {_id_text(p)} is not in the "
                                        f"dictionary")
                idx[i], ids[i] = at, p
            for i, p in enumerate(seq):
                if idx[i] is None:
                    if not isinstance(p, numbers.Integral) or isinstance(p, bool):
                        raise TypeError(f"payees[{i}]: expected an id (str) or an index "
                                        f"(int), not {type(p).__name__}")
                    at = _convert.index_in(p, f"payees[{i}]")
                    if at >= count:
                        raise NotFoundError(f"payees[{i}]: index {at} is beyond the "
                                            f"dictionary's {count} ids")
                    idx[i], ids[i] = at, dictionary.id(at)
            first = {}
            for i, at in enumerate(idx):
                j = first.setdefault(at, i)
                if j != i:
                    raise InvalidError(f"payees[{i}]: {_id_text(ids[i])} is already "
                                       f"payees[{j}]")
            col = _convert.column_in(idx, "uint32", "payees")
            self._ctx.call(lib.sp_commission_run_set_payees, self, col.ptr, col.count)
        self._payees, self._ids, self._dict = idx, ids, dictionary
        self._at = {p: k for k, p in enumerate(ids)}

    def set_quotas(self, quotas: "Mapping | Sequence[Sequence] | numpy.ndarray", *,
                   minor: bool = False) -> None:
        """The payees' quotas, used by the components on attainment (required before
        computing a plan with one; each above 0):

        - a mapping {payee: {component id: quota}} (payee an id or a position): every
          payee, and each component on attainment, must be given (the others default to
          0); {payee: quota} when the plan has a single component;
        - one row per payee (in payee order) of one quota per component (in the plan's
          order), or one quota per payee when the plan has a single component;
        - a numpy array (payees x components, or flat) of ints; with a money component
          only with minor=True.

        A quota of a money measure (amount, margin) is Decimal in major units (int and str
        too; float refused), of a measure of units an int; minor=True: ints of minor
        units. Replaces the quotas; clears the results. InvalidError naming the payee and
        component (InvalidError for a negative quota, with the library's message)."""
        n, nc, units = len(self._payees), len(self._components), self._units
        np = _convert.loaded("numpy")
        if isinstance(quotas, Mapping):
            flat = self._quota_map(quotas, minor)
            col = _convert.column_in(flat, "int64", "quotas")
        elif np is not None and isinstance(quotas, np.ndarray):
            if not minor and any(units.money):
                raise TypeError("quotas: a numpy array of money quotas needs minor=True (ints "
                                "of minor units)")
            if quotas.ndim == 2 and quotas.shape != (n, nc):
                raise InvalidError(f"quotas: shape {quotas.shape} where ({n}, {nc}) "
                                   f"(payees x components) is needed")
            col = _convert.column_in(quotas, "int64", "quotas", count=n * nc)
        else:
            rows = _listed(quotas, "quotas", "rows (or a mapping)", n,
                           f"rows where {n} payees are given")
            flat = []
            for k, row in enumerate(rows):
                what = f"quotas[{k}]"
                if nc == 1 and not isinstance(row, (list, tuple)):
                    row = [row]
                vals = _listed(row, what, "quotas", nc,
                               f"quotas where the plan has {nc} components")
                flat += [units.measure_in(c, v, f"{what}[{c}]", minor)
                         for c, v in enumerate(vals)]
            col = _convert.column_in(flat, "int64", "quotas")
        with self._ctx._lock:
            self._ctx.call(lib.sp_commission_run_set_quotas, self, col.ptr, col.count)

    def _quota_map(self, quotas, minor):
        n, nc, units = len(self._payees), len(self._components), self._units
        index = {c.id: j for j, c in enumerate(self._components)}
        flat, given = [0] * (n * nc), {}
        for key, value in quotas.items():
            what = f"quotas[{_id_text(key) if isinstance(key, str) else key}]"
            k = self._position(key, what)
            if k in given:
                raise InvalidError(f"{what}: payee {_id_text(self._ids[k])} is already "
                                   f"given as quotas[{given[k]!r}]")
            given[k] = key
            if isinstance(value, Mapping):
                items = value.items()
            elif nc == 1:
                items = [(self._components[0].id, value)]
            else:
                raise InvalidError(f"{what}: the plan has {nc} components: give "
                                   f"{{component id: quota}}")
            seen = set()
            for cid, v in items:
                j = index.get(cid)
                if j is None:
                    raise InvalidError(f"{what}: {_id_text(cid)} is no component of the plan "
                                       f"({', '.join(c.id for c in self._components)})")
                flat[k * nc + j] = units.measure_in(j, v, f"{what}[{_id_text(cid)}]", minor)
                seen.add(j)
            for j, c in enumerate(self._components):
                if c.on_attainment and j not in seen:
                    raise InvalidError(f"{what}: no quota for component {_id_text(c.id)} (on "
                                       f"attainment)")
        if any(c.on_attainment for c in self._components):
            for k in range(n):
                if k not in given:
                    raise InvalidError(f"quotas: no quota for payee {_id_text(self._ids[k])}")
        return flat

    def set_splits(self, fact_ids: "Sequence[int] | numpy.ndarray",
                   payees: "Sequence[str | int] | numpy.ndarray",
                   shares: "Sequence[Decimal | int | str] | numpy.ndarray", *,
                   billionths: bool = False) -> None:
        """The split table (docs/commission.md, "Splits"): entry i gives fact fact_ids[i]
        (an order line's id) to payees[i] (a payee's id or position) with shares[i] of it;
        the shares of a fact sum to exactly 100 %. Only components with "crediting":
        {"splits": "facts"} use it. Empty sequences remove the table.

        shares: Decimal fractions (Decimal("0.5"); int and str such as "0.5" too; float
        refused; a percentage string such as "50%" is refused: give 0.5), or with
        billionths=True ints of billionths (sp_dec: 500000000 is 50 %), the only way to
        pass a numpy array. Checked at once: InvalidError with the library's message
        naming the fact and the entry ("commission splits: fact 2: shares sum to
        99.9999999%, not 100%"). Clears the results."""
        fcol = _convert.column_in(fact_ids, "uint64", "fact_ids")
        n = fcol.count
        np = _convert.loaded("numpy")
        if np is not None and isinstance(payees, np.ndarray):
            pcol = _convert.column_in(payees, "uint32", "payees", count=n)
        else:
            seq = _listed(payees, "payees", "payees", n)
            pcol = _convert.column_in([self._position(p, f"payees[{i}]")
                                       for i, p in enumerate(seq)], "uint32", "payees")
        if billionths:
            scol = _convert.column_in(shares, "int64", "shares", count=n)
        else:
            if np is not None and isinstance(shares, np.ndarray):
                raise TypeError("shares: a numpy array of shares needs billionths=True (ints "
                                "of billionths: 500000000 is 50 %)")
            seq = _listed(shares, "shares", "shares", n)
            vals = []
            for i, v in enumerate(seq):
                if isinstance(v, str) and v.strip().endswith("%"):
                    raise InvalidError(f"shares[{i}]: {v!r} is a percentage: give the share "
                                       f"as a decimal fraction (Decimal('0.5') for 50 %)")
                vals.append(_convert.to_dec(v, f"shares[{i}]"))
            scol = _convert.column_in(vals, "int64", "shares")
        with self._ctx._lock:
            self._ctx.call(lib.sp_commission_run_set_splits, self, fcol.ptr, pcol.ptr,
                           scol.ptr, n)

    # -- computing --

    def compute(self, facts: Any, dictionary: "Dictionary", *,
                progress: ProgressFn = None) -> None:
        """Compute the statements from `facts` (order lines and refunds of the period's
        days: a FactSource, or anything salesplan.facts.as_source takes: FactBatch(es), a
        dict of columns or a DataFrame of order lines, {kind: data}; amounts in minor
        units) whose index columns (rep, product, customer, grid) index `dictionary`,
        which holds the payees and every id a filter names. On error (InvalidError naming
        the plan path, payee, component or fact; ExactOverflowError; the source's own
        exception) the run keeps its earlier results, if any. progress(done, total) is
        called now and then; returning True cancels (CanceledError)."""
        from .dictionary import Dictionary
        from .facts import as_source
        if not isinstance(dictionary, Dictionary):
            raise TypeError(f"dictionary: expected a salesplan.Dictionary, not "
                            f"{type(dictionary).__name__}")
        src = as_source(facts, "facts", ctx=self._ctx)
        prog, keep = progress_table(progress)
        try:
            with _Locks(self._ctx, src._ctx, dictionary._ctx):
                self._ctx.call(lib.sp_commission_run_compute, self, src, dictionary, prog)
                if dictionary is not self._dict:  # the indexes now name its ids
                    self._ids = [dictionary.id(at) for at in self._payees]
                    self._at = {p: k for k, p in enumerate(self._ids)}
                    self._dict = dictionary
        finally:
            del keep
            if src is not facts:
                src.close()

    # -- results --

    def _raw_statement(self, k):
        st = _ffi.sp_commission_statement()
        lib.sp_commission_statement_init(ctypes.byref(st), _ffi.SP_COMMISSION_STATEMENT_VERSION)
        self._ctx.call(lib.sp_commission_run_statement, self, k, ctypes.byref(st))
        return st

    def statement(self, payee: "str | int", *, minor: bool = False) -> CommissionStatement:
        """The statement of `payee` (its id or its position), copied (CommissionStatement).
        InvalidError before the run is computed; NotFoundError for an id that is no
        payee."""
        units, nc = self._units, len(self._components)
        with self._ctx._lock:
            k = self._position(payee, "payee")
            st = self._raw_statement(k)
            comps, meas = st.components[:nc], st.measures[:nc]
            quotas = st.quotas[:nc] if st.quotas else None
            raw = ctypes.string_at(st.lines, st.nlines * _LINE_SIZE) if st.nlines else b""
        ids = units.ids
        return CommissionStatement(
            self._ids[k], k, st.payee, units.amount(st.total, minor),
            {ids[c]: units.amount(v, minor) for c, v in enumerate(comps)},
            {ids[c]: units.measure(c, v, minor) for c, v in enumerate(meas)},
            None if quotas is None else {ids[c]: units.measure(c, v, minor)
                                         for c, v in enumerate(quotas)},
            Rounding(st.rounding), CommissionPolicy(st.policy), raw, units, minor)

    def statements(self, *, minor: bool = False) -> Iterator[CommissionStatement]:
        """Every payee's statement, in payee order."""
        for k in range(len(self._payees)):
            yield self.statement(k, minor=minor)

    def _grid(self):
        """(totals, components, measures, quotas or None) in minor units, by payee."""
        nc = len(self._components)
        totals, comps, meas, quotas = [], [], [], []
        with self._ctx._lock:
            for k in range(len(self._payees)):
                st = self._raw_statement(k)
                totals.append(st.total)
                comps.append(st.components[:nc])
                meas.append(st.measures[:nc])
                quotas.append(st.quotas[:nc] if st.quotas else None)
        return totals, comps, meas, (None if not quotas or quotas[0] is None else quotas)

    def totals(self, *, minor: bool = False) -> Dict[str, Amount]:
        """{payee id: total}, in payee order (Decimal, or ints of minor units)."""
        totals = self._grid()[0]
        return {p: self._units.amount(t, minor) for p, t in zip(self._ids, totals)}

    def to_numpy(self) -> Dict[str, Any]:
        """numpy copies in minor units (units for measures of units): "total" (payees),
        "components", "measures" and, when quotas were set, "quotas" (payees x
        components, int64)."""
        np = _need_numpy()
        totals, comps, meas, quotas = self._grid()
        nc = len(self._components)
        out = {"total": np.array(totals, dtype="int64"),
               "components": np.array(comps, dtype="int64").reshape(-1, nc),
               "measures": np.array(meas, dtype="int64").reshape(-1, nc)}
        if quotas is not None:
            out["quotas"] = np.array(quotas, dtype="int64").reshape(-1, nc)
        return out

    def to_frame(self, *, minor: bool = False) -> "pandas.DataFrame":
        """A pandas DataFrame indexed by payee id ("payee"): one column per component (its
        earnings) and "total". Amounts Decimal (object) or int64 minor units."""
        pd = _need_pandas()
        totals, comps, _, _ = self._grid()
        u = self._units
        cols = {cid: [u.amount(row[c], minor) for row in comps]
                for c, cid in enumerate(u.ids)}
        cols["total"] = [u.amount(t, minor) for t in totals]
        df = pd.DataFrame(cols, index=pd.Index(list(self._ids), name="payee"))
        if minor:
            df = df.astype("int64")
        return df

    def lines_frame(self, *, minor: bool = False) -> "pandas.DataFrame":
        """Every payee's lines as one DataFrame: payee (a categorical of the ids), then the
        columns of CommissionStatement.lines_frame (line: the index within its statement). Read in
        bulk (one copy of the 64-byte lines); minor=True keeps every column numeric."""
        np, pd = _need_numpy(), _need_pandas()
        with self._ctx._lock:
            stats = [self._raw_statement(k) for k in range(len(self._payees))]
            counts = [st.nlines for st in stats]
            arr = np.empty(sum(counts), dtype=_line_dtype(np))  # one copy of the lines
            at = arr.ctypes.data
            for st in stats:
                size = st.nlines * _LINE_SIZE
                if size:
                    ctypes.memmove(at, st.lines, size)
                at += size
        codes = np.repeat(np.arange(len(counts), dtype="int64"), counts)
        line = (np.arange(len(arr), dtype="int64") -
                np.repeat(np.cumsum([0] + counts[:-1], dtype="int64"), counts))
        return _lines_frame(arr, self._units, minor, np, pd,
                            (list(self._ids), codes, line))

    def explain(self, payee: "str | int", line: Optional[int] = None) -> Dict[str, Any]:
        """Trace line `line` (its index in the payee's statement) of `payee` (an id or a
        position) to its rule and sources, or with line=None the statement's total
        (docs/commission.md, "Explain"): the library's JSON object parsed (numbers with a
        fraction Decimal; amounts in major units). InvalidError for a line beyond the
        statement or, for a run kept as totals only, for any line."""
        return json.loads(self._explain_text(payee, line), parse_float=decimal.Decimal)

    def _explain_text(self, payee, line):
        ln = _ALL if line is None else _convert.index_in(line, "line")
        with self._ctx._lock:
            k = self._position(payee, "payee")
            cap = 2048
            while True:
                buf = ctypes.create_string_buffer(cap)
                n = ctypes.c_size_t()
                try:
                    self._ctx.call(lib.sp_commission_run_explain, self, k, ln, buf, cap,
                                   ctypes.byref(n))
                except BufferTooSmallError:
                    cap = max(n.value + 1, 2 * cap)
                    continue
                return buf.raw[:n.value].decode("utf-8")

    def __repr__(self):
        if self._ptr is None:
            return "<salesplan.CommissionRun closed>"
        y, g, i = self._period
        return (f"<salesplan.CommissionRun of {self._plan_id!r} FY{y} {g.name.lower()} {i}: "
                f"{len(self._payees)} payees>")
