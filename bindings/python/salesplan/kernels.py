"""The kernels under target plans (salesplan/target_kernels.h, the stable part): the
decomposition of a total down a hierarchy, seasonality profiles, and the split of annual
amounts over periods. docs/target.md is the C guide.

Amounts here (totals, driver values, bounds, locks, units, annual amounts, history) are
plain ints, as in C: minor units of money (12.34 yuan is 1234) or quantities, the same
unit throughout one call.
Rates and shares (growth limits, blend weights, profile shares, the results of the
season functions) are Decimal with at most 9 decimals.
"""
import ctypes
import decimal
import numbers
from collections import namedtuple
from dataclasses import dataclass, field

from . import _convert, _ffi
from ._core import ENUMS, Context, Handle, cstr_in, enum_of, text_out
from ._lib import lib
from .calendar import Calendar, _year
from .errors import InvalidError
from .hierarchy import Hierarchy

__all__ = ["Rule", "Decomposition", "Decomposed", "Lock", "season_shares",
           "season_average_share", "season_ratio_to_ma", "timesplit"]

DecompFlag = ENUMS["sp_decomp_flag"]

Lock = namedtuple("Lock", "node value reason")
Lock.__doc__ = "A locked node of a Decomposition: its index, its value (an int), the reason."

Decomposed = namedtuple("Decomposed", "target flags growth common_growth")
Decomposed.__doc__ = """The result of Decomposition.run, one entry per node: target (ints
summing down exactly), flags (DecompFlag per node: LOCKED, AT_MIN, AT_MAX, AT_FLOOR,
AT_CAP, FALLBACK, GROWTH, COMMON_GROWTH), growth (Decimal target / baseline - 1 of nodes
split by GROWTH, else 0) and common_growth (Decimal, at parents split by GROWTH)."""


@dataclass
class Rule:
    """How one sibling group is split (sp_decomp_rule).

    method: DecompMethod or "even", "driver", "blend", "growth".
    driver: the driver column (its int number or its name) for "driver", the baseline for
      "growth".
    null_policy: DecompNullPolicy, "error" (a null driver value fails) or "even" (the node
      counts with its siblings' mean).
    blend: for "blend", [(driver, weight), ...] with weights as Decimal (>= 0, not all 0).
    growth_floor / growth_cap: for "growth", Decimal rates (floor >= -1), None for none.
    unit: an int > 1 makes the children's targets multiples of it (None: minor units).
    """

    method: object = "even"
    driver: "int | str | None" = None
    null_policy: object = "error"
    blend: list = field(default_factory=list)
    growth_floor: "decimal.Decimal | None" = None
    growth_cap: "decimal.Decimal | None" = None
    unit: "int | None" = None


def _int(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what}: expected an int, not {type(value).__name__}")
    value = int(value)
    if not _convert.INT64_MIN <= value <= _convert.INT64_MAX:
        raise _convert.ExactOverflowError(f"{what}: {value} does not fit in int64")
    return value


class Decomposition(Handle):
    """A decomposition of a validated Hierarchy: driver columns, split rules per level or
    node, bounds, growth limits and locks; run(total) splits a total down the tree, each
    sibling group exactly (children always sum to their parent).

        d = Decomposition(h)
        d.add_driver("ly", [0, 0, 0, 400, 200, 400])
        d.set_level_rule(1, Rule("driver", driver="ly"))
        d.run(1000).target

    The hierarchy must not change while the decomposition is used (run raises
    InvalidError when it did); the decomposition keeps it alive. Nodes are given by index
    or by id; levels by number or name.
    """

    _free = "sp_decomp_free"
    _what = "decomposition"

    def __init__(self, hierarchy: Hierarchy):
        """A decomposition of `hierarchy` (validated), made within its context."""
        if not isinstance(hierarchy, Hierarchy):
            raise TypeError(f"hierarchy: expected a salesplan.Hierarchy, not "
                            f"{type(hierarchy).__name__}")
        ctx = hierarchy.context
        ptr = ctypes.POINTER(_ffi.sp_decomp)()
        ctx.call(lib.sp_decomp_new, ctypes.byref(ptr), hierarchy)
        self._h = hierarchy
        self._init_handle(ptr, ctx, keep=(hierarchy,))

    @property
    def hierarchy(self) -> Hierarchy:
        """The hierarchy decomposed."""
        return self._h

    def _node(self, node, what="node"):
        if isinstance(node, str):
            return self._h.find(node)
        return _convert.index_in(node, what)

    def _driver(self, driver, what):
        if isinstance(driver, str):
            return self.find_driver(driver)
        return _convert.index_in(driver, what)

    def add_driver(self, name: str, values: "Sequence[int] | numpy.ndarray",
                   valid: "Sequence[bool] | numpy.ndarray | None" = None) -> int:
        """Add a driver column: one int per node (last year's actuals, potential,
        headcount, ...), copied; valid: None, or a bool per node, False marking a null
        (absent, not zero). Returns the column number. ConflictError for a name already
        used; InvalidError for a count that is not the node count."""
        nb = cstr_in(name, "name")
        n = len(self._h)
        col = _convert.column_in(values, "int64", "values", count=n)
        v = _convert.bools_in(valid, "valid", n) if valid is not None else None
        out = ctypes.c_uint32()
        self._ctx.call(lib.sp_decomp_add_driver, self, nb, col.ptr, v.ptr if v else None, n,
                       ctypes.byref(out))
        return out.value

    def find_driver(self, name: str) -> int:
        """The column number of driver `name`; NotFoundError when absent."""
        out = ctypes.c_uint32()
        self._ctx.call(lib.sp_decomp_find_driver, self, cstr_in(name, "name"),
                       ctypes.byref(out))
        return out.value

    def _rule(self, rule):
        if rule is None:
            return None, ()
        if not isinstance(rule, Rule):
            raise TypeError(f"rule: expected a salesplan.Rule or None, not "
                            f"{type(rule).__name__}")
        r = _ffi.sp_decomp_rule()
        lib.sp_decomp_rule_init(ctypes.byref(r), _ffi.SP_DECOMP_RULE_VERSION)
        r.method = enum_of("sp_decomp_method", rule.method, "rule.method")
        if rule.driver is not None:
            r.driver = self._driver(rule.driver, "rule.driver")
        r.null_policy = enum_of("sp_decomp_null_policy", rule.null_policy, "rule.null_policy")
        keep = ()
        if rule.blend:
            drivers, weights = [], []
            for i, pair in enumerate(rule.blend):
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    raise TypeError(f"rule.blend[{i}]: expected a (driver, weight) pair")
                drivers.append(self._driver(pair[0], f"rule.blend[{i}]"))
                weights.append(_convert.to_dec(pair[1], f"rule.blend[{i}] weight"))
            dcol = _convert.column_in(drivers, "uint32", "rule.blend")
            wcol = _convert.column_in(weights, "int64", "rule.blend")
            r.blend_drivers, r.blend_weights, r.blend_count = dcol.ptr, wcol.ptr, len(drivers)
            keep = (dcol, wcol)
        r.growth_floor = _ffi.SP_DECOMP_NO_FLOOR if rule.growth_floor is None else \
            _convert.to_dec(rule.growth_floor, "rule.growth_floor")
        r.growth_cap = _ffi.SP_DECOMP_NO_CAP if rule.growth_cap is None else \
            _convert.to_dec(rule.growth_cap, "rule.growth_cap")
        r.unit = 0 if rule.unit is None else _int(rule.unit, "rule.unit")
        return ctypes.byref(r), (r, keep)

    def set_level_rule(self, level: "int | str", rule: "Rule | None") -> None:
        """The rule splitting nodes of level - 1 into children of `level` (>= 1; an int or
        a level name); None clears it (an even split)."""
        if isinstance(level, str):
            level = self._h.level_find(level)
        lv = _convert.index_in(level, "level")
        ref, _keep = self._rule(rule)
        self._ctx.call(lib.sp_decomp_set_level_rule, self, lv, ref)

    def set_node_rule(self, node: "int | str", rule: "Rule | None") -> None:
        """The rule splitting `node`'s children (index or id), over its level's; None
        clears it."""
        nd = self._node(node)
        ref, _keep = self._rule(rule)
        self._ctx.call(lib.sp_decomp_set_node_rule, self, nd, ref)

    def set_bounds(self, node: "int | str", min: int = 0, max: "int | None" = None) -> None:
        """Bounds of a node's target: 0 <= min <= max (None: no max)."""
        self._ctx.call(lib.sp_decomp_set_bounds, self, self._node(node), _int(min, "min"),
                       _convert.INT64_MAX if max is None else _int(max, "max"))

    def set_bounds_all(self, min: "Sequence[int] | numpy.ndarray | None" = None,
                       max: "Sequence[int | None] | numpy.ndarray | None" = None) -> None:
        """Bounds of every node at once (a column of ints per node each; None: no bound),
        all or nothing."""
        n = len(self._h)
        lo = _convert.column_in(min, "int64", "min", count=n)
        hi = _convert.column_in(max, "int64", "max", count=n)
        self._ctx.call(lib.sp_decomp_set_bounds_all, self, lo.ptr if lo else None,
                       hi.ptr if hi else None, n)

    def set_growth_limits(self, node: "int | str", floor: "Decimal | int | str | None" = None,
                          cap: "Decimal | int | str | None" = None) -> None:
        """Growth limits of one node under a GROWTH split (Decimal rates; None: none),
        over its group rule's."""
        f = _ffi.SP_DECOMP_NO_FLOOR if floor is None else _convert.to_dec(floor, "floor")
        c = _ffi.SP_DECOMP_NO_CAP if cap is None else _convert.to_dec(cap, "cap")
        self._ctx.call(lib.sp_decomp_set_growth_limits, self, self._node(node), f, c)

    def lock(self, node: "int | str", value: int, reason: str) -> None:
        """Lock a node's target at `value` (>= 0) with a reason kept for audit (non-empty);
        its siblings share what is left. The root cannot be locked. Locking again
        replaces the value and reason."""
        self._ctx.call(lib.sp_decomp_lock, self, self._node(node), _int(value, "value"),
                       cstr_in(reason, "reason"))

    def unlock(self, node: "int | str") -> None:
        """Unlock a node; NotFoundError when it is not locked."""
        self._ctx.call(lib.sp_decomp_unlock, self, self._node(node))

    def locks(self) -> "list[Lock]":
        """The locks in node order: Lock(node, value, reason)."""
        n = self._ctx.call(lib.sp_decomp_lock_count, self)
        out = []
        node, value, reason = ctypes.c_uint32(), ctypes.c_int64(), ctypes.c_char_p()
        for k in range(n):
            self._ctx.call(lib.sp_decomp_lock_at, self, k, ctypes.byref(node),
                           ctypes.byref(value), ctypes.byref(reason))
            out.append(Lock(node.value, value.value, text_out(reason.value)))
        return out

    def run(self, total: int, *, form: str = "list") -> Decomposed:
        """Split `total` (an int >= 0: the root's target) down the hierarchy. Returns
        Decomposed(target, flags, growth, common_growth); with form="numpy" the columns
        are numpy arrays (growth and common_growth then as int64 sp_dec, value x 10^9).
        InvalidError / ExactOverflowError naming the node, group and driver."""
        _convert.check_form(form)
        n = len(self._h)
        t, tp = _convert.column_out("int64", n)
        f, fp = _convert.column_out("uint32", n)
        g, gp = _convert.column_out("int64", n)
        c, cp = _convert.column_out("int64", n)
        out = _ffi.sp_decomp_output()
        lib.sp_decomp_output_init(ctypes.byref(out), _ffi.SP_DECOMP_OUTPUT_VERSION)
        out.target, out.flags, out.growth, out.common_growth = tp, fp, gp, cp
        self._ctx.call(lib.sp_decomp_run, self, _int(total, "total"), ctypes.byref(out))
        if form != "list":
            return Decomposed(*(_convert.as_result(a, n, k, form) for a, k in
                                ((t, "int64"), (f, "uint32"), (g, "int64"), (c, "int64"))))
        return Decomposed(_convert.as_result(t, n, "int64"),
                          [DecompFlag(v) for v in f[:n]],
                          [_convert.from_dec(v) for v in g[:n]],
                          [_convert.from_dec(v) for v in c[:n]])

    def __repr__(self):
        if self._ptr is None:
            return "<salesplan.Decomposition closed>"
        return f"<salesplan.Decomposition of {len(self._h)} nodes>"


# ---- seasonality ----

def _decs(values, what):
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{what}: expected a sequence of Decimal")
    return _convert.column_in([_convert.to_dec(v, f"{what}[{i}]") for i, v in
                               enumerate(values)], "int64", what)


def _dec_result(arr, n):
    return [_convert.from_dec(v) for v in arr[:n]]


def season_shares(profile: "Sequence[Decimal | int | str]",
                  policy: "ProfilePolicy | str | int" = "reject", *,
                  ctx: "Context | None" = None) -> list:
    """Check a profile (a Decimal share per period) and return shares summing to exactly
    1: a copy under policy "reject" (InvalidError showing the sum when it is not 100 %),
    the proportional shares rounded by largest remainder under "normalise"."""
    ctx = Context.of(ctx)
    col = _decs(profile, "profile")
    out, optr = _convert.column_out("int64", col.count)
    ctx.call(lib.sp_season_shares, ctx, col.ptr, col.count,
             enum_of("sp_profile_policy", policy, "policy"), optr)
    return _dec_result(out, col.count)


def _season(fn, history, nperiods, zero_policy, average, missing, ctx):
    ctx = Context.of(ctx)
    col = _convert.column_in(history, "int64", "history")
    np_ = _convert.index_in(nperiods, "nperiods")
    opts = _ffi.sp_season_options()
    lib.sp_season_options_init(ctypes.byref(opts), _ffi.SP_SEASON_OPTIONS_VERSION)
    opts.zero_policy = enum_of("sp_season_zero_policy", zero_policy, "zero_policy")
    opts.average = enum_of("sp_season_average", average, "average")
    miss = None
    if missing is not None:
        miss = _convert.bools_in(missing, "missing", col.count)
        opts.missing = miss.ptr
    out, optr = _convert.column_out("int64", max(np_, 1))
    ctx.call(fn, ctx, col.ptr, col.count, np_, ctypes.byref(opts), optr)
    return _dec_result(out, np_)


def season_average_share(history: "Sequence[Sequence[int]]", nperiods: int, *,
                         zero_policy: "SeasonZeroPolicy | str | int" = "error",
                         missing: "Sequence[Sequence[bool]] | None" = None,
                         ctx: "Context | None" = None) -> list:
    """Seasonal shares from history: whole years of `nperiods` ints (>= 0), oldest first;
    each year's share of each period, averaged over the years. Returns nperiods Decimal
    shares summing to exactly 1. zero_policy "error" (a year of zero total fails) or
    "even" (left out); missing: a bool per value, True marking a missing one (an error
    naming it)."""
    return _season(lib.sp_season_average_share, history, nperiods, zero_policy, "mean",
                   missing, ctx)


def season_ratio_to_ma(history: "Sequence[Sequence[int]]", nperiods: int, *,
                       zero_policy: "SeasonZeroPolicy | str | int" = "error",
                       average: "SeasonAverage | str | int" = "mean",
                       missing: "Sequence[Sequence[bool]] | None" = None,
                       ctx: "Context | None" = None) -> list:
    """Ratio-to-moving-average seasonal indices from at least two years of history: the
    nperiods Decimal indices sum to exactly nperiods (1 is an average period). average:
    "mean" or "median" of each period's ratios."""
    return _season(lib.sp_season_ratio_to_ma, history, nperiods, zero_policy, average,
                   missing, ctx)


# ---- splitting over time ----

def timesplit(annual: "Sequence[int] | numpy.ndarray",
              profiles: "Sequence[Sequence[Decimal | int | str]]", *,
              policy: "ProfilePolicy | str | int" = "reject",
              profile_of: "Sequence[int] | None" = None, calendar: "Calendar | None" = None,
              fiscal_year: "int | None" = None, grain: "Grain | str | int" = "month",
              weighting: "TimeWeighting | str | int" = "profile", unit: "int | None" = None,
              held: "Sequence[Sequence[bool]] | None" = None,
              held_value: "Sequence[Sequence[int]] | None" = None, form: str = "list",
              ctx: "Context | None" = None) -> "list | numpy.ndarray":
    """Split each node's annual amount (ints) over the periods by its profile, each row
    summing exactly to its annual amount (largest remainder, ties to the earlier period).

    profiles: a list of profiles, each a list of Decimal shares per period (all of the
    same length, the number of periods). policy: "reject" (shares must sum to 1) or
    "normalise". profile_of: a profile number per node (None: profile 0 for all).
    calendar, fiscal_year, grain: the periods are that calendar's (their count must
    match); weighting "working_days" then weights each share by the period's working
    days. unit: an int > 1 makes parts multiples of it. held / held_value: per node a row
    per period (bools / ints), holding a period at a value, the rest spread over the
    others. Returns a list of rows (form="numpy": a 2-D int64 array)."""
    _convert.check_form(form, ("list", "numpy"))
    ctx = Context.of(ctx)
    a = _convert.column_in(annual, "int64", "annual")
    nnodes = a.count
    if isinstance(profiles, (str, bytes)) or not len(profiles):
        raise InvalidError("profiles: expected at least one profile (a list of shares)")
    rows = [list(p) for p in profiles]
    nperiods = len(rows[0])
    flat = []
    for k, row in enumerate(rows):
        if len(row) != nperiods:
            raise InvalidError(f"profiles[{k}]: {len(row)} shares where the first has "
                               f"{nperiods}")
        flat += [_convert.to_dec(v, f"profiles[{k}][{p}]") for p, v in enumerate(row)]
    pcol = _convert.column_in(flat, "int64", "profiles")
    opts = _ffi.sp_timesplit_options()
    lib.sp_timesplit_options_init(ctypes.byref(opts), _ffi.SP_TIMESPLIT_OPTIONS_VERSION)
    opts.policy = enum_of("sp_profile_policy", policy, "policy")
    keep = [pcol, a]
    if profile_of is not None:
        po = _convert.column_in(profile_of, "uint32", "profile_of", count=nnodes)
        opts.profile_of = po.ptr
        keep.append(po)
    if calendar is not None:
        if not isinstance(calendar, Calendar):
            raise TypeError(f"calendar: expected a salesplan.Calendar, not "
                            f"{type(calendar).__name__}")
        if fiscal_year is None:
            raise InvalidError("fiscal_year: required with a calendar")
        opts.calendar = calendar._as_parameter_
        opts.fiscal_year = _year(fiscal_year)
        opts.grain = enum_of("sp_grain", grain, "grain")
        keep.append(calendar)
    opts.weighting = enum_of("sp_time_weighting", weighting, "weighting")
    opts.unit = 0 if unit is None else _int(unit, "unit")
    if held is not None:
        hflat = _flat_rows(held, nnodes, nperiods, "held")
        hcol = _convert.bools_in(hflat, "held", nnodes * nperiods)
        opts.held = hcol.ptr
        keep.append(hcol)
        if held_value is None:
            raise InvalidError("held_value: required with held")
    if held_value is not None:
        vcol = _convert.column_in(_flat_rows(held_value, nnodes, nperiods, "held_value"),
                                  "int64", "held_value", count=nnodes * nperiods)
        opts.held_value = vcol.ptr
        keep.append(vcol)
    n = nnodes * nperiods
    out, optr = _convert.column_out("int64", n)
    ctx.call(lib.sp_timesplit, ctx, a.ptr, nnodes, pcol.ptr, len(rows), nperiods,
             ctypes.byref(opts), optr)
    if form == "numpy":
        return _convert.as_result(out, n, "int64", "numpy").reshape(nnodes, nperiods)
    flat_out = _convert.as_result(out, n, "int64")
    return [flat_out[i * nperiods:(i + 1) * nperiods] for i in range(nnodes)]


def _flat_rows(rows, nnodes, nperiods, what):
    """nnodes rows of nperiods values (or a flat column, or a 2-D numpy array) as one
    flat list or array."""
    np = _convert.loaded("numpy")
    if np is not None and isinstance(rows, np.ndarray):
        if rows.size != nnodes * nperiods:
            raise InvalidError(f"{what}: {rows.size} values where {nnodes} x {nperiods} are "
                               f"needed")
        return np.ascontiguousarray(rows).reshape(-1)
    rows = list(rows)
    if len(rows) != nnodes:
        raise InvalidError(f"{what}: {len(rows)} rows where {nnodes} nodes are given")
    flat = []
    for i, r in enumerate(rows):
        r = list(r)
        if len(r) != nperiods:
            raise InvalidError(f"{what}[{i}]: {len(r)} values where {nperiods} periods are "
                               f"given")
        flat += r
    return flat
