"""Target (quota) plans: decomposition over a hierarchy and a calendar, target sets,
scenarios, re-plans and pacing (the C API of salesplan/target.h; docs/target.md is the
guide, docs/python-targets.md the Python tutorial).

Amounts: a money plan's amounts are decimal.Decimal in major units (12.34 yuan) at the
boundary, converted exactly with the plan's exponent; a quantity plan's are ints. Every
bulk result also has a `minor=True` form (ints of minor units) and a to_numpy() (int64,
always minor units, copies). Rates (growth, shares) are Decimal.

Lifetimes: a TargetSet owns what it reads (its hierarchy is shared with the plan by
reference count in C), so a plan can be closed while its sets live. A set is made within
its plan's context; every call on either takes that context's lock, which also guards the
shared hierarchy's count.
"""
import ctypes
import dataclasses
import datetime
import decimal
import json
import numbers
from collections import namedtuple
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple, Union

from . import _convert, _ffi
from ._core import (Context, Handle, cstr_in, enum_of, filled, progress_table, read_ids,
                    text_out)
from ._core import ENUMS
from ._lib import lib
from .storage import names_list
from .errors import InvalidError, NotFoundError

__all__ = ["TargetPlan", "TargetSet", "PlanInfo", "SetInfo", "HistoryReport", "Actuals",
           "Pacing", "TargetReconciliation", "Comparison", "TargetRow", "compare", "target_plans",
           "target_scenarios", "target_set_versions"]

Measure = ENUMS["sp_target_measure"]
Grain = ENUMS["sp_grain"]
DecompFlag = ENUMS["sp_decomp_flag"]
TimeWeighting = ENUMS["sp_time_weighting"]
PaceStatus = ENUMS["sp_pace_status"]
CompareFlag = ENUMS["sp_compare_flag"]

_NONE = _ffi.SP_NONE
_INT32_MIN = -2**31
_QUANTITY = int(Measure.QUANTITY)
Amount = Union[decimal.Decimal, int]
ProgressFn = Optional[Callable[[int, int], Any]]


# ---- helpers ----

class _Locks:
    """The locks of several contexts, taken in one global order (no deadlock)."""

    def __init__(self, *ctxs):
        seen = {}
        for c in ctxs:
            if c is not None:
                seen[id(c)] = c
        self._ctxs = [seen[k] for k in sorted(seen)]

    def __enter__(self):
        for c in self._ctxs:
            c._lock.acquire()

    def __exit__(self, *exc):
        for c in reversed(self._ctxs):
            c._lock.release()


def _storage(store, what="store"):
    """The sp_storage* of a store (a salesplan.Store: MemoryStore, FileStore, PythonStore)
    and the context whose lock guards it."""
    from .storage import Store
    if not isinstance(store, Store):
        raise TypeError(f"{what}: expected a salesplan store (MemoryStore, FileStore, "
                        f"PythonStore, ...), not {type(store).__name__}")
    return store._table, store._ctx


def _opt_text(value, what):
    return None if value is None else cstr_in(value, what)


def _none_if_empty(raw):
    s = text_out(raw)
    return s if s else None


def _hier_find(h, node_id):
    raw = cstr_in(node_id, "node")
    idx = ctypes.c_uint32()
    rc = lib.sp_hierarchy_find(h, raw, len(raw), ctypes.byref(idx))
    if rc < 0:
        return None
    return idx.value


def _node_of(h, count, node, what="node"):
    """node (an index or an id) as an index of hierarchy h."""
    if isinstance(node, str):
        idx = _hier_find(h, node)
        if idx is None:
            # worded as the library words a missing id (hierarchy: id "Z" not found)
            raise NotFoundError(f"{what}: id {json.dumps(node, ensure_ascii=False)} not found")
        return idx
    idx = _convert.index_in(node, what)
    if idx >= count:
        raise NotFoundError(f"{what}: node {idx} is beyond the {count} nodes")
    return idx


def _hier_columns(ctx, h, n):
    """ids, parents (index or None), depths and level names of hierarchy h."""
    ids = read_ids(ctx, lib.sp_hierarchy_ids_packed, h, n)
    parents, depths = [], []
    p = ctypes.c_uint32()
    d = ctypes.c_uint32()
    for i in range(n):
        lib.sp_hierarchy_parent(h, i, ctypes.byref(p))
        lib.sp_hierarchy_depth(h, i, ctypes.byref(d))
        parents.append(None if p.value == _NONE else p.value)
        depths.append(d.value)
    names = {}
    name = ctypes.c_char_p()
    for lv in set(depths):
        if lib.sp_hierarchy_level_name(h, lv, ctypes.byref(name)) == 0:
            names[lv] = text_out(name.value)
    return ids, parents, depths, [names.get(x) for x in depths]


def _hierarchy_view(ptr, owner):
    """A non-owning Hierarchy over a hierarchy C owns (a plan's or a set's copy), keeping
    `owner` alive."""
    from .hierarchy import Hierarchy
    return Hierarchy._borrowed(ptr, owner)


def _calendar_view(ptr, owner, options):
    from .calendar import Calendar
    return Calendar._borrowed(ptr, owner, options)


def _calendar_options(calendar):
    """The sp_calendar_options of a salesplan.Calendar (rebuilt from its options) and what
    keeps them alive during the call; C copies them."""
    from .calendar import Calendar
    if not isinstance(calendar, Calendar):
        raise TypeError(f"calendar: expected a salesplan.Calendar, not "
                        f"{type(calendar).__name__}")
    d = calendar.options
    if d is None:
        raise InvalidError("calendar: the calendar's rules are unknown (a view of a plan's "
                           "calendar loaded from a store): pass a Calendar you made")
    o = _ffi.sp_calendar_options()
    lib.sp_calendar_options_init(ctypes.byref(o), _ffi.SP_CALENDAR_OPTIONS_VERSION)
    o.kind = int(d["kind"])
    o.start_month = int(d["start_month"])
    o.label = int(d["label"] or 0)
    o.year_end_weekday = int(d["year_end_weekday"])
    o.year_end_rule = int(d["year_end_rule"] or 0)
    o.week53_month = int(d["week53_month"])
    o.weekend = int(d["weekend"])
    keep = [o]
    for field, key in (("holiday_ranges", "holidays"), ("workday_ranges", "workdays")):
        days = [_convert.day_of(x) for pair in d[key] for x in pair]
        if days:
            arr = (ctypes.c_int32 * len(days))(*days)
            keep.append(arr)
            setattr(o, field, ctypes.cast(arr, ctypes.POINTER(ctypes.c_int32)))
            setattr(o, "n" + field, len(days) // 2)
    return keep, d


class _Unit:
    """Amounts of a plan or set: Decimal major units for money, int for quantities."""

    __slots__ = ("measure", "exponent")

    def __init__(self, measure, exponent):
        self.measure = measure
        self.exponent = exponent

    def out(self, units, minor=False):
        if minor or self.measure == _QUANTITY:
            return int(units)
        return _convert.from_minor(units, self.exponent)

    def outs(self, values, minor=False):
        if minor or self.measure == _QUANTITY:
            return [int(v) for v in values]
        e = self.exponent
        return [_convert.from_minor(v, e) for v in values]

    def into(self, value, what, minor=False):
        if minor:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{what}: expected an int of minor units, not "
                                f"{type(value).__name__}")
            return int(value)
        if self.measure == _QUANTITY:
            if isinstance(value, bool) or not isinstance(value, (numbers.Integral, decimal.Decimal,
                                                                  str)):
                raise TypeError(f"{what}: expected an int quantity, not {type(value).__name__}")
            return _convert.to_minor(value, 0, what)
        return _convert.to_minor(value, self.exponent, what)

    def column(self, values, what, count, minor=False):
        """A column of `count` amounts as an int64 Column (major units unless minor)."""
        if minor:
            return _convert.column_in(values, "int64", what, count=count)
        if _convert.loaded("numpy") is not None and isinstance(values, _convert.loaded("numpy").ndarray):
            raise TypeError(f"{what}: a numpy column of amounts needs minor=True (ints of "
                            f"minor units)")
        try:
            seq = list(values)
        except TypeError:
            raise TypeError(f"{what}: expected a sequence of amounts, not "
                            f"{type(values).__name__}") from None
        if len(seq) != count:
            raise InvalidError(f"{what}: {len(seq)} values where {count} are needed")
        return _convert.column_in([self.into(v, f"{what}[{i}]") for i, v in enumerate(seq)],
                                  "int64", what, count=count)


def _grid(unit, values, what, rows, cols, minor=False):
    """nodes x periods amounts as a flat int64 Column: per-row sequences (major units unless
    minor), an Actuals, or with minor=True a 2-D numpy array or a flat column."""
    if isinstance(values, Actuals):
        if len(values._minor) != rows * cols:
            raise InvalidError(f"{what}: the actuals have {len(values._minor)} cells, not "
                               f"{rows} x {cols}")
        return _convert.column_in(values._minor, "int64", what)
    np = _convert.loaded("numpy")
    if np is not None and isinstance(values, np.ndarray):
        if not minor:
            raise TypeError(f"{what}: a numpy array of amounts needs minor=True (ints of minor "
                            f"units)")
        if values.ndim == 2 and values.shape != (rows, cols):
            raise InvalidError(f"{what}: shape {values.shape} where ({rows}, {cols}) is needed")
        return _convert.column_in(values, "int64", what, count=rows * cols)
    try:
        seq = list(values)
    except TypeError:
        raise TypeError(f"{what}: expected per-node sequences of per-period amounts, not "
                        f"{type(values).__name__}") from None
    if minor and len(seq) == rows * cols and all(isinstance(v, numbers.Integral) for v in seq):
        return _convert.column_in(seq, "int64", what)
    if len(seq) != rows:
        raise InvalidError(f"{what}: {len(seq)} rows where {rows} nodes are needed")
    flat = []
    for i, row in enumerate(seq):
        try:
            r = list(row)
        except TypeError:
            raise TypeError(f"{what}[{i}]: expected a sequence of {cols} amounts, not "
                            f"{type(row).__name__}") from None
        if len(r) != cols:
            raise InvalidError(f"{what}[{i}]: {len(r)} periods where {cols} are needed")
        for p, v in enumerate(r):
            flat.append(unit.into(v, f"{what}[{i}][{p}]", minor))
    return _convert.column_in(flat, "int64", what)


def _day_opt(value, what):
    return _INT32_MIN if value is None else _convert.day_of(value, what)


def _read(ptr, n):
    """n values of a C array as a list (one copy at C speed)."""
    if not n:
        return []
    return ctypes.cast(ptr, ctypes.POINTER(ptr._type_ * n)).contents[:]


# ---- results ----

@dataclasses.dataclass(frozen=True)
class PlanInfo:
    """What a plan is (sp_target_plan_info).

    hierarchy and calendar are non-owning views of the plan's frozen copies; they keep
    the plan's C object alive while they live. name and currency are None when unset."""
    id: str
    name: Optional[str]
    measure: Any
    currency: Optional[str]
    exponent: int
    fiscal_year: int
    grain: Any
    nperiods: int
    revision: int
    nnodes: int
    hierarchy: Any = dataclasses.field(repr=False, compare=False)
    calendar: Any = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class SetInfo:
    """What a target set is (sp_target_set_info). total is the root's target (Decimal for
    money, int for quantities); based_on, scenario, version and saved_day are None until
    they apply. hierarchy is a non-owning view that keeps the set's C object alive."""
    plan_id: str
    plan_revision: int
    measure: Any
    currency: Optional[str]
    exponent: int
    fiscal_year: int
    grain: Any
    nperiods: int
    nnodes: int
    total: Amount
    based_on: Optional[int]
    closed: int
    scenario: Optional[str]
    version: Optional[int]
    note: str
    saved_day: Optional[datetime.date]
    hierarchy: Any = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class HistoryReport:
    """What a history or actuals scan found (sp_target_history_report): rows delivered,
    used, without key, with an id that is no node; unknown_amount their amounts (Decimal
    major units for money, int for quantities); unknown_ids the distinct such ids."""
    rows: int
    used: int
    no_key: int
    unknown: int
    unknown_amount: Amount
    unknown_ids: int


class Actuals:
    """Actuals of a plan's year per node and period, rolled up (TargetPlan.load_actuals).

    `periods` is a list per node of its period amounts (Decimal major units, or ints of
    minor units when loaded with minor=True); `report` the HistoryReport; `totals` each
    node's sum. Pass it as is to TargetPlan.replan and TargetPlan.pacing."""

    def __init__(self, minor_cells: "array.array", nnodes: "int", nperiods: "int", unit: "_Unit",
                 report: "HistoryReport", minor: "bool"):
        self._minor = minor_cells
        self._unit = unit
        self.nnodes, self.nperiods = nnodes, nperiods
        self.report = report
        self.minor = minor

    @property
    def periods(self) -> List[List[Amount]]:
        """Per node, its period amounts (Decimal major units, or ints of minor units when
        loaded with minor=True)."""
        P = self.nperiods
        return [self._unit.outs(self._minor[i * P:(i + 1) * P], self.minor)
                for i in range(self.nnodes)]

    @property
    def totals(self) -> List[Amount]:
        """Per node, the sum of its periods (in the units of `periods`)."""
        P = self.nperiods
        return self._unit.outs([sum(self._minor[i * P:(i + 1) * P]) for i in range(self.nnodes)],
                               self.minor)

    def to_numpy(self) -> "numpy.ndarray":
        """The cells as an int64 array (nodes x periods), minor units (a copy)."""
        np = _need_numpy()
        return np.frombuffer(self._minor, dtype="int64").reshape(self.nnodes,
                                                                 self.nperiods).copy()

    def __repr__(self):
        return f"<salesplan.Actuals {self.nnodes} nodes x {self.nperiods} periods>"


def _need_numpy():
    if _convert.numpy is None:
        raise ImportError("salesplan: numpy is not installed (Debian: python3-numpy)")
    return _convert.numpy


def _need_pandas():
    if _convert.pandas is None:
        raise ImportError("salesplan: pandas is not installed (Debian: python3-pandas)")
    return _convert.pandas


class _Columns:
    """Per-node columns of amounts held in minor units, with ids."""

    _amounts = ()

    def _col(self, name, minor):
        return self._unit.outs(self._data[name], minor)

    def to_numpy(self) -> Dict[str, Any]:
        """Every column as a numpy array (amounts int64 in minor units; copies)."""
        np = _need_numpy()
        out = {k: np.array(v, dtype="int64") for k, v in self._data.items()}
        out.update(self._extra_numpy(np))
        return out

    def column(self, name: str, *, minor: bool = False) -> List[Amount]:
        """The column `name` (one of the amount columns; see the class), in minor units
        with minor=True. InvalidError naming the columns for another name."""
        if name not in self._data:
            raise InvalidError(f"name: no {self._noun} column {name!r} "
                               f"({', '.join(self._data)})")
        return self._col(name, minor)

    def _extra_numpy(self, np):
        return {}

    def to_frame(self, *, minor: bool = False) -> "pandas.DataFrame":
        """A pandas DataFrame indexed by node id: Decimal columns (object dtype), or int64
        minor units with minor=True."""
        pd = _need_pandas()
        cols = {k: (self._data[k] if minor else self._col(k, False)) for k in self._data}
        cols.update(self._extra_frame())
        df = pd.DataFrame(cols, index=pd.Index(self.ids, name="node"))
        if minor:
            for k in self._data:
                df[k] = df[k].astype("int64")
        return df

    def _extra_frame(self):
        return {}


class Pacing(_Columns):
    """Pacing of every node (TargetPlan.pacing): `actual` (rolled up), `expected` to date,
    `projection` at year end (Decimal major units, ints for quantities; the same with
    minor units through column(name, minor=True) or to_numpy()), `status` (PaceStatus)."""

    _noun = "pacing"

    def __init__(self, ids: "List[str]", unit: "_Unit", actual: "List[int]", expected: "List[int]",
                 projection: "List[int]", status: "List[int]"):
        self.ids = ids
        self._unit = unit
        self._data = {"actual": actual, "expected": expected, "projection": projection}
        self.status = [PaceStatus(s) for s in status]

    @property
    def actual(self) -> List[Amount]:
        """Actuals to date, rolled up."""
        return self._col("actual", False)

    @property
    def expected(self) -> List[Amount]:
        """Expected to date."""
        return self._col("expected", False)

    @property
    def projection(self) -> List[Amount]:
        """Year-end projection."""
        return self._col("projection", False)

    def _extra_numpy(self, np):
        return {"status": np.array([int(s) for s in self.status], dtype="int32")}

    def _extra_frame(self):
        return {"status": [s.name.lower() for s in self.status]}

    def __repr__(self):
        return f"<salesplan.Pacing of {len(self.ids)} nodes>"


class TargetReconciliation(_Columns):
    """TargetSet.reconcile's result per node: `bottom_up` (the commitments rolled up),
    `gap` (bottom_up - top-down), `result` (the reconciled targets)."""

    _noun = "reconciliation"

    def __init__(self, ids: "List[str]", unit: "_Unit", bottom_up: "List[int]", gap: "List[int]",
                 result: "List[int]"):
        self.ids = ids
        self._unit = unit
        self._data = {"bottom_up": bottom_up, "gap": gap, "result": result}

    @property
    def bottom_up(self) -> List[Amount]:
        """The leaves' commitments rolled up."""
        return self._col("bottom_up", False)

    @property
    def gap(self) -> List[Amount]:
        """bottom_up - top-down target."""
        return self._col("gap", False)

    @property
    def result(self) -> List[Amount]:
        """The reconciled targets."""
        return self._col("result", False)

    def __repr__(self):
        return f"<salesplan.TargetReconciliation of {len(self.ids)} nodes>"


TargetRow = namedtuple("TargetRow", "index id parent depth level annual periods flags")
TargetRow.__doc__ = """One node of a target set (TargetSet.rows()): its index, id, parent id
(None for the root), depth (0 at the root), level name (None when levels are unnamed),
annual target, periods (a tuple) and DecompFlag."""


# ---- plans ----

class TargetPlan(Handle):
    """A target plan (sp_target_plan): a copy of a hierarchy, a calendar, the fiscal year
    and grain, drivers, history and settings; decompose() turns it into a TargetSet.

    TargetPlan(id, hierarchy, *, fiscal_year, name=None, measure="money", currency=None,
    exponent=None, calendar=None, grain="month", ctx=None)

    id: 1 to 512 bytes of UTF-8. hierarchy: a validated salesplan.Hierarchy (copied; node
    indexes stay the same). measure: "money" (amounts in minor units of `currency`, an ISO
    4217 code, or of `exponent`, default 2) or "quantity" (whole units). calendar: a
    salesplan.Calendar whose options are copied (None: civil months from January). grain:
    a Grain. Errors: InvalidError naming the option, TypeError for a wrong type.
    """

    _free = "sp_target_plan_free"
    _what = "target plan"

    def __init__(self, id: str, hierarchy: "Hierarchy", *, fiscal_year: int,
                 name: Optional[str] = None, measure: "TargetMeasure | str | int" = "money",
                 currency: Optional[str] = None, exponent: Optional[int] = None,
                 calendar: "Calendar | None" = None, grain: "Grain | str | int" = "month",
                 ctx: Optional[Context] = None):
        ctx = Context.of(ctx)
        raw_id = cstr_in(id, "id")
        o = _ffi.sp_target_plan_options()
        lib.sp_target_plan_options_init(ctypes.byref(o), _ffi.SP_TARGET_PLAN_OPTIONS_VERSION)
        o.name = _opt_text(name, "name")
        o.measure = enum_of("sp_target_measure", measure, "measure")
        if currency is not None:
            if exponent is not None:
                raise InvalidError("exponent: give a currency or an exponent, not both (the "
                                   "currency gives the exponent)")
            o.currency = cstr_in(currency, "currency")
        if exponent is not None:
            if isinstance(exponent, bool) or not isinstance(exponent, numbers.Integral):
                raise TypeError(f"exponent: expected an int, not {type(exponent).__name__}")
            if o.measure == _QUANTITY:
                raise InvalidError("exponent: a plan of quantities has no exponent")
            if not -2**31 <= exponent < 2**31:
                raise InvalidError(f"exponent: {exponent} is outside 0..18")
            o.exponent = int(exponent)
        if isinstance(fiscal_year, bool) or not isinstance(fiscal_year, numbers.Integral):
            raise TypeError(f"fiscal_year: expected an int, not {type(fiscal_year).__name__}")
        if not -2**31 <= fiscal_year < 2**31:
            raise InvalidError(f"fiscal_year: {fiscal_year} is outside 1..9999")
        o.fiscal_year = int(fiscal_year)
        o.grain = enum_of("sp_grain", grain, "grain")
        cal_keep = None
        cal_opts = None
        if calendar is not None:
            cal_keep, cal_opts = _calendar_options(calendar)
            o.calendar = ctypes.pointer(cal_keep[0])
        if hierarchy is None or not hasattr(hierarchy, "_as_parameter_"):
            raise TypeError(f"hierarchy: expected a salesplan.Hierarchy, not "
                            f"{type(hierarchy).__name__}")
        ptr = ctypes.POINTER(_ffi.sp_target_plan)()
        with _Locks(ctx, getattr(hierarchy, "_ctx", None)):
            ctx.call(lib.sp_target_plan_new, ctypes.byref(ptr), ctx, raw_id, hierarchy,
                     ctypes.byref(o))
        self._init_handle(ptr, ctx)
        self._unit_cache = None
        self._calendar_options = cal_opts

    @classmethod
    def _wrap(cls, ptr, ctx):
        self = cls.__new__(cls)
        self._init_handle(ptr, ctx)
        self._unit_cache = None
        self._calendar_options = None
        return self

    def _raw_info(self):
        i = _ffi.sp_target_plan_info()
        lib.sp_target_plan_info_init(ctypes.byref(i), _ffi.SP_TARGET_PLAN_INFO_VERSION)
        self._ctx.call(lib.sp_target_plan_get_info, self, ctypes.byref(i))
        return i

    @property
    def _unit(self):
        if self._unit_cache is None:
            i = self._raw_info()
            self._unit_cache = (_Unit(i.measure, i.exponent), i.nperiods, i.nnodes)
        return self._unit_cache[0]

    @property
    def _shape(self):
        self._unit  # noqa: B018 - fills the cache
        return self._unit_cache[1], self._unit_cache[2]

    @property
    def info(self) -> PlanInfo:
        """What the plan is (PlanInfo); revision changes when the plan is saved."""
        with self._ctx._lock:
            i = self._raw_info()
            return PlanInfo(
                id=text_out(i.id), name=_none_if_empty(i.name), measure=Measure(i.measure),
                currency=_none_if_empty(i.currency), exponent=i.exponent,
                fiscal_year=i.fiscal_year, grain=Grain(i.grain), nperiods=i.nperiods,
                revision=i.revision, nnodes=i.nnodes,
                hierarchy=_hierarchy_view(i.hierarchy, self),
                calendar=_calendar_view(i.calendar, self, self._calendar_options))

    @property
    def id(self) -> str:
        """The plan's id."""
        return text_out(self._raw_info().id)

    def _hier(self):
        return self._raw_info().hierarchy

    def node(self, node_id: str) -> int:
        """The index of the node with id `node_id` (NotFoundError naming it when none)."""
        with self._ctx._lock:
            return _node_of(self._hier(), self._shape[1], node_id)

    # -- drivers --

    def set_driver(self, name: str, values: "Sequence[int | None] | numpy.ndarray",
                   valid: "Sequence[bool] | numpy.ndarray | None" = None) -> None:
        """Add or replace the driver `name`: one int per node (a sequence, numpy or buffer
        column). Nulls: `valid`, a bool column (False: null), or None items in a list of
        values when valid is None. "prior_year" and "trailing_12m" are built in
        (ConflictError); a wrong length is InvalidError with the library's message."""
        raw = cstr_in(name, "name")
        if valid is None and isinstance(values, (list, tuple)) and any(v is None for v in values):
            valid = [v is not None for v in values]
            values = [0 if v is None else v for v in values]
        col = _convert.column_in(values, "int64", "values")
        vcol = None
        if valid is not None:
            vcol = _convert.bools_in(valid, "valid", col.count)
        with self._ctx._lock:
            self._ctx.call(lib.sp_target_plan_set_driver, self, raw, col.ptr,
                           vcol.ptr if vcol is not None else None, col.count)

    @property
    def drivers(self) -> Dict[str, List[Optional[int]]]:
        """The drivers by name (a new dict): each a list of one int per node, None for a
        null."""
        out = {}
        with self._ctx._lock:
            n = lib.sp_target_plan_driver_count(self)
            nnodes = self._shape[1]
            name = ctypes.c_char_p()
            vals = ctypes.POINTER(ctypes.c_int64)()
            valid = ctypes.POINTER(ctypes.c_uint8)()
            for k in range(n):
                self._ctx.call(lib.sp_target_plan_driver_at, self, k, ctypes.byref(name),
                               ctypes.byref(vals), ctypes.byref(valid))
                v = _read(vals, nnodes)
                if valid:
                    v = [x if valid[i] else None for i, x in enumerate(v)]
                out[text_out(name.value)] = v
        return out

    # -- settings --

    @property
    def settings(self) -> Dict[str, Any]:
        """The settings document in canonical form, parsed (numbers as int or Decimal).
        Set a dict or a JSON str; a bad document raises InvalidError with the library's
        message (naming the member, line and column) and changes nothing."""
        p = ctypes.c_char_p()
        n = ctypes.c_size_t()
        with self._ctx._lock:
            self._ctx.call(lib.sp_target_plan_get_settings, self, ctypes.byref(p),
                           ctypes.byref(n))
            text = ctypes.string_at(p, n.value).decode("utf-8")
        return json.loads(text, parse_float=decimal.Decimal)

    @settings.setter
    def settings(self, document: Union[str, Mapping[str, Any]]) -> None:
        if isinstance(document, (str, bytes)):
            try:
                raw = document.encode("utf-8") if isinstance(document, str) else document
            except UnicodeEncodeError as e:
                raise InvalidError(f"settings: not valid Unicode ({e.reason})") from None
        elif isinstance(document, Mapping):
            raw = _json_text(document, "settings").encode("utf-8")
        else:
            raise TypeError(f"settings: expected a dict or a JSON str, not "
                            f"{type(document).__name__}")
        with self._ctx._lock:
            self._ctx.call(lib.sp_target_plan_set_settings, self, raw, len(raw))

    @property
    def settings_json(self) -> str:
        """The settings in canonical form, as the library writes them (JSON text)."""
        p = ctypes.c_char_p()
        n = ctypes.c_size_t()
        with self._ctx._lock:
            self._ctx.call(lib.sp_target_plan_get_settings, self, ctypes.byref(p),
                           ctypes.byref(n))
            return ctypes.string_at(p, n.value).decode("utf-8")

    # -- history and actuals --

    def _history_options(self, key, years, net_refunds, strict_ids, as_of):
        o = _ffi.sp_target_history_options()
        lib.sp_target_history_options_init(ctypes.byref(o), _ffi.SP_TARGET_HISTORY_OPTIONS_VERSION)
        o.key = enum_of("sp_target_key", key, "key")
        if isinstance(years, bool) or not isinstance(years, numbers.Integral):
            raise TypeError(f"years: expected an int, not {type(years).__name__}")
        if not 0 <= years < 2**32:
            raise InvalidError(f"years: {years} is outside 1..20")
        o.years = int(years)
        o.flags = ((_ffi.ENUMS["sp_target_history_flags"]["SP_TARGET_HISTORY_NET_REFUNDS"]
                    if net_refunds else 0) |
                   (_ffi.ENUMS["sp_target_history_flags"]["SP_TARGET_HISTORY_STRICT_IDS"]
                    if strict_ids else 0))
        o.as_of = _day_opt(as_of, "as_of")
        return o

    def _report(self, r):
        return HistoryReport(rows=r.rows, used=r.used, no_key=r.no_key, unknown=r.unknown,
                             unknown_amount=self._unit.out(r.unknown_amount),
                             unknown_ids=r.unknown_ids)

    @staticmethod
    def _source_args(source, dictionary):
        for obj, what in ((source, "source"), (dictionary, "dictionary")):
            if obj is None or not hasattr(obj, "_as_parameter_"):
                raise TypeError(f"{what}: expected a salesplan "
                                f"{'FactSource' if what == 'source' else 'Dictionary'}, not "
                                f"{type(obj).__name__}")

    def load_history(self, source: "FactSource", dictionary: "Dictionary", *,
                     key: "TargetKey | str | int" = "rep", years: int = 3,
                     net_refunds: bool = False, strict_ids: bool = False,
                     as_of: "datetime.date | str | None" = None,
                     progress: ProgressFn = None) -> HistoryReport:
        """Read the order lines of the `years` fiscal years before the plan's (and refunds,
        net_refunds) from `source` (a FactSource whose key columns index `dictionary`),
        keyed by `key` (a TargetKey: rep, grid, product, customer); sets the drivers
        "prior_year" and "trailing_12m" (the twelve months before `as_of`, a date; None:
        the plan year's first day) and the history. strict_ids: an id that is no node is
        an error. All or nothing. Progress in rows; returning True cancels
        (CanceledError)."""
        self._source_args(source, dictionary)
        o = self._history_options(key, years, net_refunds, strict_ids, as_of)
        r = _ffi.sp_target_history_report()
        lib.sp_target_history_report_init(ctypes.byref(r), _ffi.SP_TARGET_HISTORY_REPORT_VERSION)
        prog, keep = progress_table(progress)
        with _Locks(self._ctx, getattr(source, "_ctx", None), getattr(dictionary, "_ctx", None)):
            self._ctx.call(lib.sp_target_plan_load_history, self, source, dictionary,
                           ctypes.byref(o), prog, ctypes.byref(r))
        del keep
        return self._report(r)

    def history(self, node: "int | str") -> Tuple[int, List[List[Amount]]]:
        """The history of a node (index or id): (first fiscal year, one list of period
        amounts per year, oldest first). NotFoundError when the plan holds none."""
        vals = ctypes.POINTER(ctypes.c_int64)()
        years = ctypes.c_size_t()
        first = ctypes.c_int32()
        with self._ctx._lock:
            P, n = self._shape
            idx = _node_of(self._hier(), n, node)
            self._ctx.call(lib.sp_target_plan_history, self, idx, ctypes.byref(vals),
                           ctypes.byref(years), ctypes.byref(first))
            cells = _read(vals, years.value * P)
        u = self._unit
        return first.value, [u.outs(cells[y * P:(y + 1) * P]) for y in range(years.value)]

    def load_actuals(self, source: "FactSource", dictionary: "Dictionary", *,
                     key: "TargetKey | str | int" = "rep", net_refunds: bool = False,
                     strict_ids: bool = False, as_of: "datetime.date | str | None" = None,
                     progress: ProgressFn = None, minor: bool = False) -> Actuals:
        """The actuals of the plan's year per node and period, rolled up, from facts
        before `as_of` (a date; None: the whole year). Returns an Actuals (amounts Decimal,
        or ints of minor units with minor=True; .report is the HistoryReport)."""
        self._source_args(source, dictionary)
        o = self._history_options(key, 3, net_refunds, strict_ids, as_of)
        r = _ffi.sp_target_history_report()
        lib.sp_target_history_report_init(ctypes.byref(r), _ffi.SP_TARGET_HISTORY_REPORT_VERSION)
        P, n = self._shape
        arr, ptr = _convert.column_out("int64", n * P)
        prog, keep = progress_table(progress)
        with _Locks(self._ctx, getattr(source, "_ctx", None), getattr(dictionary, "_ctx", None)):
            self._ctx.call(lib.sp_target_plan_load_actuals, self, source, dictionary,
                           ctypes.byref(o), prog, ptr, ctypes.byref(r))
        del keep
        # an array.array, turned into Python ints only when read (.periods, .totals)
        cells = _convert.as_result(arr, n * P, "int64", "array")
        return Actuals(cells, n, P, self._unit, self._report(r), minor)

    # -- decomposition and living with the plan --

    def decompose(self, total: Amount, *, progress: ProgressFn = None) -> "TargetSet":
        """Decompose `total` (Decimal major units for money plans, int for quantity plans;
        >= 0) by the settings into a new TargetSet. Progress in nodes (three passes);
        returning True cancels (CanceledError), an exception raised in it comes out here."""
        units = self._unit.into(total, "total")
        prog, keep = progress_table(progress)
        out = ctypes.POINTER(_ffi.sp_target_set)()
        with self._ctx._lock:
            self._ctx.call(lib.sp_target_plan_decompose, ctypes.byref(out), self, units, prog)
            result = TargetSet._wrap(out, self._ctx)
        del keep
        return result

    def replan(self, base: "TargetSet",
               actual: "Actuals | Sequence[Sequence[Decimal | int | str]] | numpy.ndarray",
               closed: int, *, overshoot: "OvershootPolicy | str | int" = "zero",
               minor: bool = False) -> "TargetSet":
        """A re-plan of `base` (a set of this plan's year and grain): periods 0..closed-1 of
        every leaf become its actuals and the rest of its target is spread over the open
        periods. actual: an Actuals, or one sequence of period amounts per node (read at the
        leaves; Decimal major units, or ints of minor units / a 2-D int64 numpy array with
        minor=True). overshoot: OvershootPolicy ("zero" or "keep_plan")."""
        if not isinstance(base, TargetSet):
            raise TypeError(f"base: expected a TargetSet, not {type(base).__name__}")
        if isinstance(closed, bool) or not isinstance(closed, numbers.Integral):
            raise TypeError(f"closed: expected an int, not {type(closed).__name__}")
        if closed < 0:
            raise InvalidError(f"closed: {closed} is negative")
        o = _ffi.sp_target_replan_options()
        lib.sp_target_replan_options_init(ctypes.byref(o), _ffi.SP_TARGET_REPLAN_OPTIONS_VERSION)
        o.overshoot = enum_of("sp_overshoot_policy", overshoot, "overshoot")
        P, n = self._shape
        col = _grid(self._unit, actual, "actual", n, P, minor)
        out = ctypes.POINTER(_ffi.sp_target_set)()
        with _Locks(self._ctx, base._ctx):
            self._ctx.call(lib.sp_target_plan_replan, ctypes.byref(out), self, base, col.ptr,
                           closed, ctypes.byref(o))
            result = TargetSet._wrap(out, self._ctx)
        return result

    def pacing(self, target_set: "TargetSet", elapsed_end: "datetime.date | str",
               actual: "Actuals | Sequence[Decimal | int | str] | numpy.ndarray", *,
               rolled_up: "bool | None" = None, elapsed: "ElapsedMeasure | str | int" = "days",
               projection: "ProjectionMethod | str | int" = "profile",
               threshold: "Decimal | int | str" = decimal.Decimal("0.05"),
               rounding: "Rounding | str | int" = "half_even", minor: bool = False) -> Pacing:
        """Pacing of every node of `target_set` on the days before `elapsed_end` (a date):
        actual is each node's actual to date (Decimal major units, or ints of minor units
        with minor=True), its own bookings (rolled up here) unless rolled_up=True, or an
        Actuals (rolled up already: its totals are used, rolled_up None means True).
        elapsed: ElapsedMeasure; projection: ProjectionMethod; threshold: a Decimal rate
        (0.05 for +-5 %); rounding: a Rounding. Returns a Pacing."""
        if not isinstance(target_set, TargetSet):
            raise TypeError(f"target_set: expected a TargetSet, not "
                            f"{type(target_set).__name__}")
        P, n = self._shape
        o = _ffi.sp_target_pacing_options()
        lib.sp_target_pacing_options_init(ctypes.byref(o), _ffi.SP_TARGET_PACING_OPTIONS_VERSION)
        if isinstance(actual, Actuals):
            if rolled_up is None:
                rolled_up = True
            if actual.nnodes != n:
                raise InvalidError(f"actual: {actual.nnodes} nodes where {n} are needed")
            col = _convert.column_in([sum(actual._minor[i * actual.nperiods:
                                                        (i + 1) * actual.nperiods])
                                      for i in range(n)], "int64", "actual")
        else:
            col = self._unit.column(actual, "actual", n, minor)
        o.rolled_up = 1 if rolled_up else 0
        o.elapsed = enum_of("sp_elapsed_measure", elapsed, "elapsed")
        o.projection = enum_of("sp_projection_method", projection, "projection")
        o.threshold = _convert.to_dec(threshold, "threshold")
        o.rounding = enum_of("sp_rounding", rounding, "rounding")
        end = _convert.day_of(elapsed_end, "elapsed_end")
        cols = [_convert.column_out("int64", n) for _ in range(3)]
        st_arr, st_ptr = _convert.column_out("int32", n)
        out = _ffi.sp_target_pacing_output(_ffi.SP_TARGET_PACING_OUTPUT_VERSION, cols[0][1],
                                           cols[1][1], cols[2][1], st_ptr)
        with _Locks(self._ctx, target_set._ctx):
            self._ctx.call(lib.sp_target_plan_pacing, self, target_set, end, col.ptr,
                           ctypes.byref(o), ctypes.byref(out))
            ids = target_set._ids()
        return Pacing(ids, self._unit, *[_convert.as_result(a, n, "int64") for a, _ in cols],
                      _convert.as_result(st_arr, n, "int32"))

    # -- storage --

    def save(self, store: "Store") -> int:
        """Save the plan in `store` (one transaction); returns the new revision.
        ConflictError when the store holds another revision (load the plan again)."""
        sptr, sctx = _storage(store)
        with _Locks(self._ctx, sctx):
            self._ctx.call(lib.sp_target_plan_save, self, sptr)
            return self._raw_info().revision

    @classmethod
    def load(cls, store: "Store", plan_id: str, *, ctx: Optional[Context] = None) -> "TargetPlan":
        """The plan `plan_id` from `store` (NotFoundError naming it when absent)."""
        ctx = Context.of(ctx)
        raw = cstr_in(plan_id, "plan_id")
        sptr, sctx = _storage(store)
        out = ctypes.POINTER(_ffi.sp_target_plan)()
        with _Locks(ctx, sctx):
            ctx.call(lib.sp_target_plan_load, ctypes.byref(out), ctx, sptr, raw)
            return cls._wrap(out, ctx)

    def __repr__(self):
        if self._ptr is None:
            return "<salesplan.TargetPlan closed>"
        i = self._raw_info()
        return (f"<salesplan.TargetPlan {text_out(i.id)!r} FY{i.fiscal_year} "
                f"{Grain(i.grain).name.lower()} x {i.nperiods}, {i.nnodes} nodes, "
                f"revision {i.revision}>")


def _json_text(obj, what):
    """A settings dict as JSON text; Decimal written as its exact digits."""
    if isinstance(obj, Mapping):
        parts = []
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"{what}: keys must be str, not {type(k).__name__}")
            parts.append(json.dumps(k) + ":" + _json_text(v, f"{what}.{k}"))
        return "{" + ",".join(parts) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(_json_text(v, f"{what}[{i}]") for i, v in enumerate(obj)) + "]"
    if isinstance(obj, decimal.Decimal):
        if not obj.is_finite():
            raise InvalidError(f"{what}: {obj} is not a finite number")
        return str(obj)
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return json.dumps(obj, allow_nan=False)
    raise TypeError(f"{what}: {type(obj).__name__} is not a JSON value")


# ---- target sets ----

class TargetSet(Handle):
    """A target set (sp_target_set, immutable): every node's annual target and its
    periods, flags, growth, the profiles of the split. Made by TargetPlan.decompose,
    TargetPlan.replan or TargetSet.load; saved as a version of a scenario.

    Nodes are the indexes of the set's hierarchy (the plan's); methods that take a node
    take its index or its id. Amounts are Decimal major units (ints for quantities), or
    ints of minor units with minor=True."""

    _free = "sp_target_set_free"
    _what = "target set"

    def __init__(self, *args, **kwargs):
        raise TypeError("TargetSet objects come from TargetPlan.decompose, TargetPlan.replan "
                        "or TargetSet.load")

    @classmethod
    def _wrap(cls, ptr, ctx):
        self = cls.__new__(cls)
        self._init_handle(ptr, ctx)
        d = _ffi.sp_target_set_data()
        lib.sp_target_set_data_init(ctypes.byref(d), _ffi.SP_TARGET_SET_DATA_VERSION)
        ctx.call(lib.sp_target_set_get_data, self, ctypes.byref(d))
        i = self._raw_info()
        self._d = d
        self._unit = _Unit(i.measure, i.exponent)
        self._n, self._P = d.nnodes, d.nperiods
        self._ids_cache = None
        return self

    def _raw_info(self):
        i = _ffi.sp_target_set_info()
        lib.sp_target_set_info_init(ctypes.byref(i), _ffi.SP_TARGET_SET_INFO_VERSION)
        self._ctx.call(lib.sp_target_set_get_info, self, ctypes.byref(i))
        return i

    def _data(self):
        self._as_parameter_  # noqa: B018 - ValueError when closed
        return self._d

    @property
    def info(self) -> SetInfo:
        """What the set is (SetInfo)."""
        with self._ctx._lock:
            i = self._raw_info()
            return SetInfo(
                plan_id=text_out(i.plan_id), plan_revision=i.plan_revision,
                measure=Measure(i.measure), currency=_none_if_empty(i.currency),
                exponent=i.exponent, fiscal_year=i.fiscal_year, grain=Grain(i.grain),
                nperiods=i.nperiods, nnodes=i.nnodes, total=self._unit.out(i.total),
                based_on=i.based_on or None, closed=i.closed,
                scenario=_none_if_empty(i.scenario), version=i.set_version or None,
                note=text_out(i.note),
                saved_day=None if i.saved_day == _INT32_MIN else _convert.date_of(i.saved_day),
                hierarchy=_hierarchy_view(i.hierarchy, self))

    @property
    def nnodes(self) -> int:
        """The number of nodes."""
        return self._n

    @property
    def nperiods(self) -> int:
        """The number of periods per node."""
        return self._P

    def __len__(self):
        return self._n

    def _hier(self):
        return self._raw_info().hierarchy

    def _ids(self):
        if self._ids_cache is None:
            with self._ctx._lock:
                self._ids_cache = read_ids(self._ctx, lib.sp_hierarchy_ids_packed, self._hier(),
                                           self._n)
        return self._ids_cache

    @property
    def ids(self) -> List[str]:
        """The node ids, by index."""
        self._data()
        return list(self._ids())

    def find(self, node_id: str) -> int:
        """The index of the node with id `node_id`; NotFoundError naming it when none (as
        Hierarchy.find and Dictionary.find)."""
        raw = cstr_in(node_id, "node_id")
        idx = ctypes.c_uint32()
        with self._ctx._lock:
            rc = lib.sp_target_set_find(self, raw, len(raw), ctypes.byref(idx))
            if rc < 0:  # the library's message: target set: id "Z" not found
                raise self._ctx.error(rc)
        return idx.value

    def node(self, node_id: str) -> int:
        """The index of the node with id `node_id`; NotFoundError naming it when none (the
        same as find, and as TargetPlan.node)."""
        return self.find(node_id)

    def _index(self, node, what="node"):
        if isinstance(node, str):
            return self.node(node)
        idx = _convert.index_in(node, what)
        if idx >= self._n:
            raise NotFoundError(f"{what}: node {idx} is beyond the {self._n} nodes")
        return idx

    def annual_minor(self) -> List[int]:
        """The annual targets in minor units (ints), by node index."""
        return _read(self._data().annual, self._n)

    def annual_of(self, node: "int | str", *, minor: bool = False) -> Amount:
        """The annual target of one node (index or id)."""
        i = self._index(node)
        return self._unit.out(self._data().annual[i], minor)

    @property
    def annual(self) -> List[Amount]:
        """The annual targets by node index (Decimal major units; ints for quantities);
        annual_minor() gives minor units."""
        return self._unit.outs(self.annual_minor())

    def periods_of(self, node: "int | str", *, minor: bool = False) -> List[Amount]:
        """The period targets of one node (index or id)."""
        i = self._index(node)
        P = self._P
        d = self._data()
        return self._unit.outs([d.periods[i * P + p] for p in range(P)], minor)

    def periods_minor(self) -> List[List[int]]:
        """Per node, its period targets in minor units."""
        P = self._P
        flat = _read(self._data().periods, self._n * P)
        return [flat[i * P:(i + 1) * P] for i in range(self._n)]

    @property
    def periods(self) -> List[List[Amount]]:
        """Per node (by index) the list of its period targets."""
        u = self._unit
        return [u.outs(row) for row in self.periods_minor()]

    @property
    def flags(self) -> List[Any]:
        """Per node its DecompFlag (LOCKED, AT_MIN, AT_MAX, AT_FLOOR, AT_CAP, FALLBACK,
        GROWTH, COMMON_GROWTH)."""
        return [DecompFlag(f) for f in _read(self._data().flags, self._n)]

    def _rates(self, ptr, bit):
        d = self._data()
        return [_convert.from_dec(ptr[i]) if d.flags[i] & bit else None for i in range(self._n)]

    @property
    def growth(self) -> List[Optional[decimal.Decimal]]:
        """Per node its growth over the baseline (Decimal rate), None where not GROWTH."""
        return self._rates(self._data().growth, int(DecompFlag.GROWTH))

    @property
    def common_growth(self) -> List[Optional[decimal.Decimal]]:
        """Per node the common growth of its children, None where not COMMON_GROWTH."""
        return self._rates(self._data().common_growth, int(DecompFlag.COMMON_GROWTH))

    @property
    def profiles(self) -> List[List[decimal.Decimal]]:
        """The seasonal profiles the split used (profile 0 is even): per profile its period
        weights as Decimal."""
        d = self._data()
        P = self._P
        flat = _read(d.profiles, d.nprofiles * P)
        return [[_convert.from_dec(v) for v in flat[k * P:(k + 1) * P]]
                for k in range(d.nprofiles)]

    @property
    def profile_of(self) -> List[int]:
        """Per node the index (into profiles) of the profile it was split by."""
        return _read(self._data().profile_of, self._n)

    @property
    def weighting(self) -> "TimeWeighting":
        """The TimeWeighting of the split."""
        return TimeWeighting(self._data().weighting)

    def lock_reason(self, node: "int | str") -> Optional[str]:
        """The lock reason of a node (index or id), None when it was not locked."""
        i = self._index(node)
        with self._ctx._lock:
            r = lib.sp_target_set_lock_reason(self, i)
        return None if r is None else r.decode("utf-8")

    def rows(self, *, minor: bool = False) -> Iterator[TargetRow]:
        """The nodes as TargetRow records, in index order."""
        with self._ctx._lock:
            ids, parents, depths, levels = _hier_columns(self._ctx, self._hier(), self._n)
        annual = self._unit.outs(self.annual_minor(), minor)
        periods = self.periods_minor()
        flags = self.flags
        for i in range(self._n):
            yield TargetRow(i, ids[i], None if parents[i] is None else ids[parents[i]],
                            depths[i], levels[i], annual[i],
                            tuple(self._unit.outs(periods[i], minor)), flags[i])

    def to_numpy(self) -> Dict[str, Any]:
        """numpy copies: "annual" (int64, minor units), "periods" (int64, nodes x periods),
        "flags" (uint32), "profile_of" (uint32), "growth" and "common_growth" (int64
        billionths, 0 where the flag is not set)."""
        np = _need_numpy()
        d = self._data()
        n, P = self._n, self._P

        def arr(ptr, count, dtype):
            if count == 0:
                return np.zeros(0, dtype=dtype)
            return np.ctypeslib.as_array(ptr, shape=(count,)).astype(dtype, copy=True)

        out = {"annual": arr(d.annual, n, "int64"),
               "periods": arr(d.periods, n * P, "int64").reshape(n, P),
               "flags": arr(d.flags, n, "uint32"),
               "profile_of": arr(d.profile_of, n, "uint32")}
        fl = out["flags"]
        out["growth"] = np.where(fl & int(DecompFlag.GROWTH), arr(d.growth, n, "int64"), 0)
        out["common_growth"] = np.where(fl & int(DecompFlag.COMMON_GROWTH),
                                        arr(d.common_growth, n, "int64"), 0)
        return out

    def to_frame(self, *, minor: bool = False) -> "pandas.DataFrame":
        """A pandas DataFrame indexed by node id ("node"): parent, depth, level, annual,
        p1..pN (the periods) and flags (int). Amounts Decimal (object dtype) or int64
        minor units with minor=True."""
        pd = _need_pandas()
        rows = list(self.rows(minor=minor))
        cols = {"parent": [r.parent for r in rows], "depth": [r.depth for r in rows],
                "level": [r.level for r in rows], "annual": [r.annual for r in rows]}
        for p in range(self._P):
            cols[f"p{p + 1}"] = [r.periods[p] for r in rows]
        cols["flags"] = [int(r.flags) for r in rows]
        df = pd.DataFrame(cols, index=pd.Index([r.id for r in rows], name="node"))
        if minor:
            for c in ["annual"] + [f"p{p + 1}" for p in range(self._P)]:
                df[c] = df[c].astype("int64")
        return df

    # -- storage --

    def save(self, store: "Store", scenario: str, *, note: str = "",
             day: "datetime.date | str | None" = None) -> int:
        """Save the set as the next version of `scenario` (1 to 255 bytes) of its plan in
        `store`, with a note and the day it is saved (a date; None: today). Returns the
        version. The plan must be in the store (NotFoundError); a set is saved once
        (ConflictError after)."""
        sc = cstr_in(scenario, "scenario")
        nt = cstr_in(note, "note") if note is not None else None
        if day is None:
            day = datetime.date.today()
        d = _convert.day_of(day, "day")
        sptr, sctx = _storage(store)
        v = ctypes.c_uint32()
        with _Locks(self._ctx, sctx):
            self._ctx.call(lib.sp_target_set_save, self, sptr, sc, nt, d, ctypes.byref(v))
        return v.value

    @classmethod
    def load(cls, store: "Store", plan_id: str, scenario: str, version: Optional[int] = None, *,
             ctx: Optional[Context] = None) -> "TargetSet":
        """A saved set: `version` of `scenario` of plan `plan_id` (None or 0: the latest).
        NotFoundError naming the plan, scenario and version when absent."""
        ctx = Context.of(ctx)
        pid = cstr_in(plan_id, "plan_id")
        sc = cstr_in(scenario, "scenario")
        if version is None:
            version = 0
        if isinstance(version, bool) or not isinstance(version, numbers.Integral):
            raise TypeError(f"version: expected an int, not {type(version).__name__}")
        if not 0 <= version < 2**32:
            raise InvalidError(f"version: {version} is not a version number")
        sptr, sctx = _storage(store)
        out = ctypes.POINTER(_ffi.sp_target_set)()
        with _Locks(ctx, sctx):
            ctx.call(lib.sp_target_set_load, ctypes.byref(out), ctx, sptr, pid, sc, int(version))
            return cls._wrap(out, ctx)

    # -- bottom-up --

    def reconcile(self, commitments: "Sequence[Decimal | int | str] | numpy.ndarray", *,
                  mode: "ReconcileMode | str | int" = "top_down",
                  bottom_up_weight: "Decimal | int | str" = decimal.Decimal(0),
                  committed: "Sequence[bool] | numpy.ndarray | None" = None,
                  minor: bool = False) -> TargetReconciliation:
        """The leaves' commitments (one amount per node, read at the leaves; Decimal major
        units or ints of minor units with minor=True) against the set's annual targets:
        mode a ReconcileMode (top_down, bottom_up, blend with bottom_up_weight, a Decimal in
        [0, 1]); committed: a bool column (False: the leaf gave none), None: every leaf.
        Returns a TargetReconciliation."""
        n = self._n
        col = self._unit.column(commitments, "commitments", n, minor)
        o = _ffi.sp_reconcile_options()
        lib.sp_reconcile_options_init(ctypes.byref(o), _ffi.SP_RECONCILE_OPTIONS_VERSION)
        o.mode = enum_of("sp_reconcile_mode", mode, "mode")
        o.bottom_up_weight = _convert.to_dec(bottom_up_weight, "bottom_up_weight")
        ccol = None
        if committed is not None:
            ccol = _convert.bools_in(committed, "committed", n)
            o.committed = ccol.ptr
        cols = [_convert.column_out("int64", n) for _ in range(3)]
        out = _ffi.sp_reconcile_output(_ffi.SP_RECONCILE_OUTPUT_VERSION, cols[0][1], cols[1][1],
                                       cols[2][1])
        with self._ctx._lock:
            self._ctx.call(lib.sp_target_set_reconcile, self, col.ptr, ctypes.byref(o),
                           ctypes.byref(out))
        return TargetReconciliation(self._ids(), self._unit,
                              *[_convert.as_result(a, n, "int64") for a, _ in cols])

    def compare(self, other: "TargetSet") -> "Comparison":
        """compare(self, other): other against this set."""
        return compare(self, other)

    def __repr__(self):
        if self._ptr is None:
            return "<salesplan.TargetSet closed>"
        i = self._raw_info()
        saved = (f" {text_out(i.scenario)!r} v{i.set_version}" if i.set_version else "")
        return (f"<salesplan.TargetSet of {text_out(i.plan_id)!r}{saved}: {self._n} nodes x "
                f"{self._P} periods, total {self._unit.out(i.total)}>")


# ---- comparing ----

class Comparison:
    """Set b against set a, node by node (matched by id): a's nodes in a's order, then those
    only in b. Copied out of C when made (it does not refer to the sets afterwards).

    ids; flags (CompareFlag: IN_A, IN_B, NO_BASE); a, b, diff (amounts: Decimal, ints for
    quantities, or minor units through column(name, minor=True)); relative ((b - a) / a as
    Decimal, 0 with NO_BASE); period_a, period_b, period_diff, period_relative, period_flags
    (per node a list per period; empty lists when the sets' periods differ); only_in_a,
    only_in_b."""

    def __init__(self, d: "dict", unit: "_Unit"):
        n, P = d.count, d.nperiods
        self.ids = [d.ids[i].decode("utf-8") for i in range(n)]
        self.nperiods = P
        self.only_in_a, self.only_in_b = d.only_in_a, d.only_in_b
        self.flags = [CompareFlag(f) for f in _read(d.flags, n)]
        self._unit = unit
        self._m = {k: _read(getattr(d, k), n) for k in ("a", "b", "diff")}
        self.relative = [_convert.from_dec(v) for v in _read(d.relative, n)]
        self._pm = {k: _read(getattr(d, k), n * P) for k in ("period_a", "period_b",
                                                             "period_diff")}
        self._prel = [_convert.from_dec(v) for v in _read(d.period_relative, n * P)]
        self._pflags = _read(d.period_flags, n * P)

    def _rows(self, flat, conv):
        P = self.nperiods
        return [conv(flat[i * P:(i + 1) * P]) for i in range(len(self.ids))]

    def column(self, name: str, *, minor: bool = False) -> List[Amount]:
        """The amounts column `name` ("a", "b", "diff"), minor units if minor."""
        if name not in self._m:
            raise InvalidError(f"name: no comparison column {name!r} (a, b, diff)")
        return self._unit.outs(self._m[name], minor)

    @property
    def a(self) -> List[Amount]:
        """Set a's annual target per row."""
        return self.column("a")

    @property
    def b(self) -> List[Amount]:
        """Set b's annual target per row."""
        return self.column("b")

    @property
    def diff(self) -> List[Amount]:
        """b - a per row."""
        return self.column("diff")

    @property
    def period_a(self) -> List[List[Amount]]:
        """Per row a's period targets."""
        return self._rows(self._pm["period_a"], self._unit.outs)

    @property
    def period_b(self) -> List[List[Amount]]:
        """Per row b's period targets."""
        return self._rows(self._pm["period_b"], self._unit.outs)

    @property
    def period_diff(self) -> List[List[Amount]]:
        """Per row b - a per period."""
        return self._rows(self._pm["period_diff"], self._unit.outs)

    @property
    def period_relative(self) -> List[List[decimal.Decimal]]:
        """Per row the relative change per period (Decimal)."""
        return self._rows(self._prel, list)

    @property
    def period_flags(self) -> "List[List[CompareFlag]]":
        """Per row the CompareFlag per period (NO_BASE only)."""
        return self._rows(self._pflags, lambda r: [CompareFlag(f) for f in r])

    def __len__(self):
        return len(self.ids)

    def rows(self) -> Iterator[Tuple]:
        """(id, a, b, diff, relative, flags) per row."""
        return iter(zip(self.ids, self.a, self.b, self.diff, self.relative, self.flags))

    def to_numpy(self) -> Dict[str, Any]:
        """numpy copies: a, b, diff (int64 minor units), relative (int64 billionths), flags
        (uint32), and period_* 2-D (rows x periods)."""
        np = _need_numpy()
        n, P = len(self.ids), self.nperiods
        out = {k: np.array(v, dtype="int64") for k, v in self._m.items()}
        out["relative"] = np.array([_convert.to_dec(v) for v in self.relative], dtype="int64")
        out["flags"] = np.array([int(f) for f in self.flags], dtype="uint32")
        for k, v in self._pm.items():
            out[k] = np.array(v, dtype="int64").reshape(n, P)
        out["period_relative"] = np.array([_convert.to_dec(v) for v in self._prel],
                                          dtype="int64").reshape(n, P)
        out["period_flags"] = np.array(self._pflags, dtype="uint32").reshape(n, P)
        return out

    def to_frame(self, *, minor: bool = False) -> "pandas.DataFrame":
        """A pandas DataFrame indexed by node id: a, b, diff, relative, in_a, in_b (bool)."""
        pd = _need_pandas()
        cols = {k: self.column(k, minor=minor) for k in ("a", "b", "diff")}
        cols["relative"] = self.relative
        cols["in_a"] = [bool(f & CompareFlag.IN_A) for f in self.flags]
        cols["in_b"] = [bool(f & CompareFlag.IN_B) for f in self.flags]
        df = pd.DataFrame(cols, index=pd.Index(self.ids, name="node"))
        if minor:
            for k in ("a", "b", "diff"):
                df[k] = df[k].astype("int64")
        return df

    def __repr__(self):
        return (f"<salesplan.Comparison of {len(self.ids)} nodes ({self.only_in_a} only in a, "
                f"{self.only_in_b} only in b)>")


def compare(a: TargetSet, b: TargetSet) -> Comparison:
    """Compare set b against set a node by node (sp_target_compare). Sets of different
    units compare their minor units; the Comparison's amounts use a's unit."""
    for s, what in ((a, "a"), (b, "b")):
        if not isinstance(s, TargetSet):
            raise TypeError(f"{what}: expected a TargetSet, not {type(s).__name__}")
    out = ctypes.POINTER(_ffi.sp_target_comparison)()
    with _Locks(a._ctx, b._ctx):
        a._ctx.call(lib.sp_target_compare, ctypes.byref(out), a, b)
        try:
            d = _ffi.sp_target_comparison_data()
            lib.sp_target_comparison_data_init(ctypes.byref(d),
                                               _ffi.SP_TARGET_COMPARISON_DATA_VERSION)
            a._ctx.call(lib.sp_target_comparison_get_data, out, ctypes.byref(d))
            return Comparison(d, a._unit)
        finally:
            lib.sp_target_comparison_free(out)


# ---- listing what a store holds ----

def target_plans(store: "Store", *, ctx: Optional[Context] = None) -> List[str]:
    """The ids of the plans saved in `store`, in byte order."""
    ctx = Context.of(ctx)
    sptr, sctx = _storage(store)
    out = ctypes.POINTER(_ffi.sp_names)()
    with _Locks(ctx, sctx):
        ctx.call(lib.sp_target_plans, ctypes.byref(out), ctx, sptr)
    return names_list(out)


def target_scenarios(store: "Store", plan_id: str, *, ctx: Optional[Context] = None) -> List[str]:
    """The scenarios of plan `plan_id` that have saved sets, in byte order."""
    ctx = Context.of(ctx)
    pid = cstr_in(plan_id, "plan_id")
    sptr, sctx = _storage(store)
    out = ctypes.POINTER(_ffi.sp_names)()
    with _Locks(ctx, sctx):
        ctx.call(lib.sp_target_scenarios, ctypes.byref(out), ctx, sptr, pid)
    return names_list(out)


def target_set_versions(store: "Store", plan_id: str, scenario: str, *,
                        ctx: Optional[Context] = None) -> List[int]:
    """The saved versions of `scenario` of plan `plan_id`, ascending ([] when none)."""
    ctx = Context.of(ctx)
    pid = cstr_in(plan_id, "plan_id")
    sc = cstr_in(scenario, "scenario")
    sptr, sctx = _storage(store)

    def versions(cap, count):
        buf = (ctypes.c_uint32 * cap)()
        with _Locks(ctx, sctx):
            ctx.call(lib.sp_target_set_versions, ctx, sptr, pid, sc, buf, cap,
                     ctypes.byref(count))
        return list(buf[:count.value])

    return filled(versions)
