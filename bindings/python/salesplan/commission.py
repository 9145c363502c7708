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
until it is computed again; a CommissionStatement is a copy that outlives both. Plans are
stored in a store as revisions of effective-dated versions (CommissionPlan.save and
.load, commission_plan_versions, ...). Plug-in schedule kinds written in Python
(register_commission_kind) live as long as the context they are registered on.
"""
import ctypes
import dataclasses
import datetime
import decimal
import itertools
import json
import numbers
import os
import struct
from typing import (Any, Callable, Dict, Iterator, List, Mapping, NamedTuple, Optional,
                    Sequence, Tuple, Union)

from . import _convert, _ffi
from ._core import (ENUMS, Context, Handle, callback, cstr_in, enum_of, filled,
                    progress_table, recorded_callback, text_out)
from ._lib import lib
from .errors import BufferTooSmallError, ExactOverflowError, InvalidError, NotFoundError
from .storage import names_list
from .targets import _calendar_view, _json_text, _Locks, _need_numpy, _need_pandas, _storage

__all__ = ["CommissionPlan", "CommissionPlanInfo", "CommissionComponent", "CommissionRun",
           "CommissionRunInfo", "CommissionStatement", "CommissionLine", "CommissionCarry",
           "CommissionPlanVersions", "commission_plan_versions", "commission_plan_revisions",
           "commission_plans", "commission_plan_remove_version", "register_commission_kind",
           "CommissionPeriod", "CommissionPosted", "CommissionLedgerEntry",
           "CommissionStoredPart", "CommissionStoredStatement", "commission_close",
           "commission_ledger", "commission_statement"]

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
_NO_COMPONENT = _ffi.SP_COMMISSION_NO_COMPONENT  # the component of a draw's lines
# A SPIFF line's base is its units and its rate an amount per unit or line; a settlement
# line's (the cap's and the draw's, kinds 6 to 11) base an amount and its rate the cap or
# the draw (minor units); every other line's base is the credited measure and its rate the
# schedule's.
_SPIFF_KINDS = frozenset(int(k) for k in (CommissionLineKind.ORDER_SPIFF,
                                          CommissionLineKind.REFUND_SPIFF,
                                          CommissionLineKind.PAYMENT_SPIFF))
_FIRST_SETTLEMENT = int(CommissionLineKind.CAP_RELEASE)
_LAST_SETTLEMENT = int(CommissionLineKind.DRAW_FORGIVEN)
# The kinds by value (values need not be contiguous), and their names for a frame.
_KINDS = {int(k): k for k in CommissionLineKind}
_KIND_NAMES = [_KINDS[v].name.lower() if v in _KINDS else f"kind_{v}"
               for v in range(max(_KINDS) + 1)]
_U32 = 2**32 - 1
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
    (docs/commission.md, "Plan documents"). Immutable, but for the revision save() sets.

    CommissionPlan(document, *, ctx=None)

    document: the JSON text (str, or bytes of UTF-8), a dict (Decimal values written
    exactly), or a path-like object (pathlib.Path: the file is read; a str is always the
    text itself). InvalidError with the library's message naming the member, line and
    column (an unknown member gets a "did you mean"); TypeError for another type;
    OSError when the file cannot be read. A plan naming a plug-in kind is read in the
    context the kind is registered on (register_commission_kind).

    Stored plans: save(store, based_on) and CommissionPlan.load(store, plan_id, day).
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

    # -- in a store --

    def save(self, store: "Store", based_on: int) -> int:
        """Save this version into the plan's next revision in `store` (docs/commission.md,
        "Plans in a store"; one transaction): added to the versions of revision
        `based_on`, or in place of the version with the same effective_from. based_on is
        the revision the edit was made from (0: a new plan; a loaded plan's
        info.revision): ConflictError when the store holds another one (someone saved
        since: load again, edit, save). The whole set of versions is checked
        (InvalidError naming both versions: an overlap, a gap the later version does not
        declare with "gap": "allowed", another currency). Returns the new revision, which
        info.revision then gives too; nothing is written on error. Every revision stays
        readable."""
        based = _revision_arg(based_on, "based_on")
        sptr, sctx = _storage(store)
        rev = ctypes.c_uint32()
        with _Locks(self._ctx, sctx):
            self._ctx.call(lib.sp_commission_plan_save, self, sptr, based, ctypes.byref(rev))
        return rev.value

    @classmethod
    def load(cls, store: "Store", plan_id: str, day: "datetime.date | str",
             revision: int = 0, *, ctx: Optional[Context] = None) -> "CommissionPlan":
        """The version of plan `plan_id` in effect on `day` (a date or "YYYY-MM-DD") in
        revision `revision` (0: the latest) of `store`; its info.revision says which
        revision it came from, and so does every explain of a run of it. NotFoundError
        naming the plan, the revision and the day (and the versions there are)."""
        ctx = Context.of(ctx)
        pid = cstr_in(plan_id, "plan_id")
        d = _convert.day_of(day, "day")
        rev = _revision_arg(revision, "revision")
        sptr, sctx = _storage(store)
        ptr = ctypes.POINTER(_ffi.sp_commission_plan)()
        with _Locks(ctx, sctx):
            ctx.call(lib.sp_commission_plan_load, ctypes.byref(ptr), ctx, sptr, pid, d, rev)
            plan = cls.__new__(cls)
            plan._init_handle(ptr, ctx)
        return plan

    def __repr__(self):
        if self._ptr is None:
            return "<salesplan.CommissionPlan closed>"
        i = self.info
        to = "open" if i.effective_to is None else i.effective_to.isoformat()
        return (f"<salesplan.CommissionPlan {i.id!r} {i.currency} {i.effective_from}..{to}, "
                f"{i.ncomponents} component{'s' if i.ncomponents != 1 else ''}>")


# ---- plans in a store ----

def _revision_arg(value, what):
    return _int_arg(value, what, 0, _U32, "a revision (0 or more)")


class CommissionPlanVersions(NamedTuple):
    """A stored revision's versions: versions, a list of (effective_from, effective_to)
    dates in ascending order (effective_to None when open-ended), and revision, the
    revision read."""
    versions: List[Tuple[datetime.date, Optional[datetime.date]]]
    revision: int


def commission_plan_versions(store: "Store", plan_id: str, revision: int = 0, *,
                             ctx: Optional[Context] = None) -> CommissionPlanVersions:
    """The versions of revision `revision` (0: the latest) of plan `plan_id` in `store`:
    (versions, the revision read), versions a list of (first day, last day or None when
    open-ended). NotFoundError naming a plan or revision the store lacks."""
    ctx = Context.of(ctx)
    pid = cstr_in(plan_id, "plan_id")
    rev = _revision_arg(revision, "revision")
    sptr, sctx = _storage(store)

    def versions(cap, count):
        frm, to, loaded = (ctypes.c_int32 * cap)(), (ctypes.c_int32 * cap)(), ctypes.c_uint32()
        with _Locks(ctx, sctx):
            ctx.call(lib.sp_commission_plan_versions, ctx, sptr, pid, rev, frm, to, cap,
                     ctypes.byref(count), ctypes.byref(loaded))
        return CommissionPlanVersions(
            [(_convert.date_of(frm[k]), None if to[k] == _OPEN_END else _convert.date_of(to[k]))
             for k in range(count.value)], loaded.value)

    return filled(versions)


def commission_plan_revisions(store: "Store", plan_id: str, *,
                              ctx: Optional[Context] = None) -> List[int]:
    """The stored revisions of plan `plan_id`, ascending ([] for a plan never saved)."""
    ctx = Context.of(ctx)
    pid = cstr_in(plan_id, "plan_id")
    sptr, sctx = _storage(store)

    def revisions(cap, count):
        buf = (ctypes.c_uint32 * cap)()
        with _Locks(ctx, sctx):
            ctx.call(lib.sp_commission_plan_revisions, ctx, sptr, pid, buf, cap,
                     ctypes.byref(count))
        return list(buf[:count.value])

    return filled(revisions)


def commission_plans(store: "Store", *, ctx: Optional[Context] = None) -> List[str]:
    """The ids of the commission plans stored in `store`, in byte order."""
    ctx = Context.of(ctx)
    sptr, sctx = _storage(store)
    out = ctypes.POINTER(_ffi.sp_names)()
    with _Locks(ctx, sctx):
        ctx.call(lib.sp_commission_plans, ctypes.byref(out), ctx, sptr)
    return names_list(out)


def commission_plan_remove_version(store: "Store", plan_id: str,
                                   from_day: "datetime.date | str", based_on: int, *,
                                   ctx: Optional[Context] = None) -> int:
    """Remove the version of plan `plan_id` that starts on `from_day` as the plan's next
    revision (one transaction), the edit made from revision `based_on` (ConflictError
    when the store holds another). The rest is checked as CommissionPlan.save checks it;
    a plan keeps at least one version (InvalidError). Returns the new revision; the
    earlier revisions keep the version. NotFoundError for a plan or version the store
    lacks."""
    ctx = Context.of(ctx)
    pid = cstr_in(plan_id, "plan_id")
    d = _convert.day_of(from_day, "from_day")
    based = _revision_arg(based_on, "based_on")
    sptr, sctx = _storage(store)
    rev = ctypes.c_uint32()
    with _Locks(ctx, sctx):
        ctx.call(lib.sp_commission_plan_remove_version, ctx, sptr, pid, d, based,
                 ctypes.byref(rev))
    return rev.value


# ---- plug-in schedule kinds ----

def register_commission_kind(name: str, *, prepare: Callable[[Any], Any],
                             payout: Callable[[Any, int, int], int],
                             ctx: Optional[Context] = None) -> None:
    """Register a schedule kind written in Python on `ctx` (None: the thread's context;
    docs/commission.md, "Plug-in kinds"): a payout function P(x) of the payee's
    period-to-date measure, which plan documents read in that context name with
    "schedule": {"kind": "plugin", "name": name, "params": ...}.

    prepare(params) -> state: called once per plan read (and per run made of it) with the
    component's "params" parsed (JSON: dict, list, str, int, Decimal for numbers with a
    fraction, bool, None when absent); whatever it returns is handed to payout.
    payout(state, measure, quota) -> int: P(measure) in minor units of the plan's
    currency, for the period-to-date measure (an int: minor units of a money measure,
    else units; negative after refunds) and the payee's quota (0 unless the schedule is
    "on": "attainment"); a function of its arguments (the engine calls it at each line's
    measure before and after). The states are dropped with their plans; the callables
    live as long as the context.

    An exception raised in prepare or payout stops the library's call (the plan is
    refused, the run keeps its earlier results) and comes out of it unchanged, with the
    library's message noted on it (naming the params' path, or the payee, component and
    fact). A payout that is no int (TypeError) or does not fit int64 (ExactOverflowError)
    is such an exception. Registering: InvalidError for a bad name (1 to 255 bytes of
    UTF-8), ConflictError when the context has a kind of that name; TypeError for a
    prepare or payout that is not callable."""
    ctx = Context.of(ctx)
    raw = cstr_in(name, "name")
    if not callable(prepare):
        raise TypeError(f"prepare: expected a callable(params) -> state, not "
                        f"{type(prepare).__name__}")
    if not callable(payout):
        raise TypeError(f"payout: expected a callable(state, measure, quota) -> int, not "
                        f"{type(payout).__name__}")
    states = {}                  # handle (the void* C holds) -> the state prepare made
    handles = itertools.count(1)  # never 0: C releases no NULL state
    last = {"err": None, "msg": None}

    def c_prepare(_user, params, length, out):
        value = json.loads(params[:length].decode("utf-8"), parse_float=decimal.Decimal)
        state = prepare(value)
        h = next(handles)
        states[h] = state
        out[0] = h
        return 0

    def c_payout(_user, handle, measure, quota, out):
        v = payout(states[handle], measure, quota)
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"payout of kind {name!r}: expected an int of minor units, not "
                            f"{type(v).__name__}")
        if not -2**63 <= v < 2**63:
            raise ExactOverflowError(f"payout of kind {name!r}: {v} does not fit int64_t "
                                     f"(minor units)")
        out[0] = int(v)
        return 0

    def c_release(_user, handle):
        states.pop(handle, None)

    def c_errmsg(_user):
        e = last["err"]
        if e is None:
            return None
        text = f"{type(e).__name__}: {e}".encode("utf-8", "replace")[:1000]
        buf = last["msg"] = ctypes.create_string_buffer(text)
        return ctypes.addressof(buf)

    def c_destroy(_user):
        states.clear()

    f = dict(_ffi.sp_commission_kind._fields_)
    fns = {"prepare": f["prepare"](recorded_callback(c_prepare, last)),
           "payout": f["payout"](recorded_callback(c_payout, last)),
           "release": f["release"](callback(c_release, failed=None)),
           "errmsg": f["errmsg"](callback(c_errmsg, failed=None)),
           "destroy": f["destroy"](callback(c_destroy, failed=None))}
    table = _ffi.sp_commission_kind()
    lib.sp_commission_kind_init(ctypes.byref(table), _ffi.SP_COMMISSION_KIND_VERSION)
    table.name = raw
    for n, fn in fns.items():
        setattr(table, n, fn)
    with ctx._lock:
        ctx.call(lib.sp_commission_register_kind, ctx, ctypes.byref(table))
        ctx._retain((fns, states, last))  # C calls them until the context is freed


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

    def money_in(self, value, what, minor):
        """An amount of money from Python (a carry): Decimal major units, or with minor
        an int of minor units."""
        if minor:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{what}: expected an int of minor units, not "
                                f"{type(value).__name__}")
            return int(value)
        return _convert.to_minor(value, self.exponent, what)


# ---- statements ----

@dataclasses.dataclass(frozen=True)
class CommissionLine:
    """One statement line (sp_commission_line): the fact (the id of an order or invoice
    line, a refund or credit note, or a payment; 0 for the settlement's lines), the
    component's id (None for a draw's lines, which belong to no component), its kind
    (CommissionLineKind), the day (the fact's; a settlement line's is the last of its
    period), the payee's share of the fact (Decimal, 1 = 100 %), base (the payee's
    credited part of the measure: Decimal for a money measure, int units otherwise; a
    SPIFF line: its units, or 1 per line; a settlement line: an amount, Decimal: what was
    carried in, the excess carried or lost, the earnings a draw tops up, the draw's
    balance), earned = own + true_up + what the gate, accelerators, cap and bonuses add
    (modifiers), rate (Decimal: for a money measure the rate after the line, 0.1 for 10 %;
    for a measure of units the amount per unit; for a SPIFF its amount per unit or per
    line; for a settlement line the cap or the draw, an amount), and the tiers at the
    measure before and after the line. Amounts are Decimal in major units, or ints (and
    amounts per unit Decimal) in minor units for a statement made with minor=True."""
    fact: int
    component: Optional[str]
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
    kinds = _KINDS
    amount = int if minor else (lambda v: _convert.from_minor(v, e))
    days, shares, rates = {}, {}, {}
    out = []
    for (fact, base, earned, own, true_up, rate, day, share, tb, ta, comp, kind,
         _) in _LINE_STRUCT.iter_unpack(raw):
        settle = _FIRST_SETTLEMENT <= kind <= _LAST_SETTLEMENT
        spiff = kind in _SPIFF_KINDS
        if comp == _NO_COMPONENT:
            cid, money = None, True
        else:
            cid, money = units.ids[comp], units.money[comp]
        per = spiff or settle  # the rate is an amount
        key = (rate, per, money)
        r = rates.get(key)
        if r is None:
            r = rates[key] = (_convert.from_minor(rate, e) if per else
                              _convert.from_minor(rate, _DEC) if money else
                              _per_unit(rate, e))
        d = days.get(day)
        if d is None:
            d = days[day] = _convert.date_of(day)
        sh = shares.get(share)
        if sh is None:
            sh = shares[share] = _convert.from_minor(share, _DEC)
        out.append(CommissionLine(
            fact, cid, kinds[kind], d, sh,
            amount(base) if settle or (money and not spiff) else base, amount(earned),
            amount(own), amount(true_up), r, tb, ta))
    return out


def _lines_frame(arr, units, minor, np, pd, payees=None):
    """A DataFrame of the structured line array `arr`; payees: (ids, codes) for a
    leading payee column."""
    cols = {}
    if payees is not None:
        cols["payee"] = pd.Categorical.from_codes(payees[1], categories=payees[0])
    cols["line"] = payees[2] if payees is not None else np.arange(len(arr), dtype="int64")
    comp = arr["component"].astype("int64")
    none = comp == _NO_COMPONENT  # a draw's lines: no component (NaN in the categorical)
    cols["component"] = pd.Categorical.from_codes(np.where(none, -1, comp),
                                                  categories=units.ids)
    cols["kind"] = pd.Categorical.from_codes(
        arr["kind"].astype("int64"), categories=_KIND_NAMES)
    cols["fact"] = arr["fact"].copy()
    cols["day"] = arr["day"].astype("datetime64[D]")
    if minor:
        for name in ("share", "base", "rate"):
            cols[name] = arr[name].astype("int64")
    else:
        e = units.exponent
        settle = (arr["kind"] >= _FIRST_SETTLEMENT) & (arr["kind"] <= _LAST_SETTLEMENT)
        spiff = np.isin(arr["kind"], sorted(_SPIFF_KINDS))
        per = spiff | settle  # rates that are amounts
        money = np.array(units.money + [True], dtype=bool)[np.where(none, len(units.money),
                                                                    comp)]
        cols["share"] = _decimals(arr["share"].astype("int64"), _DEC, np)
        base = arr["base"].astype(object)
        mask = settle | (money & ~spiff)
        base[mask] = _decimals(arr["base"][mask], e, np)
        cols["base"] = base
        rate = np.empty(len(arr), dtype=object)
        rate[per] = _decimals(arr["rate"][per], e, np)
        rate[money & ~per] = _decimals(arr["rate"][money & ~per], _DEC, np)
        rate[~money & ~per] = _decimals(arr["rate"][~money & ~per], 0, np,
                                        lambda v: _per_unit(v, e))
        cols["rate"] = rate
    cols["tier_before"] = arr["tier_before"].astype("int64")
    cols["tier_after"] = arr["tier_after"].astype("int64")
    for name in ("earned", "own", "true_up"):
        cols[name] = arr[name].copy() if minor else _decimals(arr[name], units.exponent, np)
    return pd.DataFrame(cols, copy=False)  # the columns are fresh arrays


@dataclasses.dataclass(frozen=True)
class CommissionCarry:
    """A payee's carry state (docs/commission.md, "Caps carried forward and draws"): what
    one period's run leaves for the next (CommissionStatement.carry, CommissionRun.carry)
    and what CommissionRun.set_carry takes. draw_balance: the recoverable draw advanced
    and not yet recovered; caps: {component id: the cap's excess carried forward} (every
    component of the plan, 0 where nothing is carried). Every value is 0 or more: Decimal
    in major units of the plan's currency, or ints of minor units when `minor`."""
    draw_balance: Amount
    caps: Dict[str, Amount]
    minor: bool = False


@dataclasses.dataclass(frozen=True)
class CommissionPaid:
    """A line paid to a payee in an earlier period, whose refunds a run claws back
    (docs/commission.md, "Clawbacks"; CommissionRun.set_paid). fact: the order (or
    invoice) line's id; payee: the payee's id or position in the run; component: its id or
    index; day: the line's date; amount: the line's whole amount (money); base: the payee's
    credited part of the line's measure (money for an amount or margin measure, else an
    int of units); earned: what the line earned the payee; rate: the rate it was paid at
    (Decimal fraction, as the earlier statement's line says); refunded: of the line's
    amount, what was refunded before this run's days. Money is Decimal in major units (int
    and str too), or ints of minor units when `minor`."""
    fact: int
    payee: "str | int"
    component: "str | int"
    day: "datetime.date | str"
    amount: Amount
    base: Amount
    earned: Amount
    rate: "Decimal | int | str"
    refunded: Amount = 0
    minor: bool = False


class CommissionStatement:
    """A payee's statement, copied out of the run (it outlives the run and later
    computations).

    payee: the payee's id; index: its position among the run's payees; dictionary_index:
    its index in the dictionary the run was computed with. total: the sum of the lines,
    and of the components plus draw_paid less draw_recovered. components: {component id:
    earnings} (a cap's release included); measures: {component id: the credited measure}
    (Decimal for money, int for units); quotas: {component id: quota} or None when the
    run had none. The draw (docs/commission.md, "Caps carried forward and draws"):
    draw_paid (its top-up this period), draw_recovered (recovered from this period's
    earnings), draw_forgiven (the balance forgiven at this period's close), draw_balance
    (the recoverable draw's balance after the period); carry: the CommissionCarry the next
    period's run takes (set_carry). rounding (Rounding) and policy (CommissionPolicy): the
    plan's. lines: the CommissionLine records, by component, then day, kind and fact id,
    the draw's last ([] when the run kept totals only). Amounts are Decimal in major
    units, or ints of minor units when `minor` (statement(..., minor=True)).
    """

    def __init__(self, payee: str, index: int, dictionary_index: int, total: Amount,
                 components: Dict[str, Amount], measures: Dict[str, Amount],
                 quotas: Optional[Dict[str, Amount]], rounding: "Rounding",
                 policy: "CommissionPolicy", raw_lines: bytes, units: "_Units",
                 minor: bool, *, draw_paid: Amount = 0, draw_recovered: Amount = 0,
                 draw_forgiven: Amount = 0, draw_balance: Amount = 0,
                 carry: Optional[CommissionCarry] = None):
        self.payee, self.index, self.dictionary_index = payee, index, dictionary_index
        self.total, self.components, self.measures = total, components, measures
        self.quotas, self.rounding, self.policy = quotas, rounding, policy
        self.draw_paid, self.draw_recovered = draw_paid, draw_recovered
        self.draw_forgiven, self.draw_balance = draw_forgiven, draw_balance
        self.carry = carry
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

_DRAW_FIGURES = ("draw_paid", "draw_recovered", "draw_forgiven", "draw_balance")


class _Grid(NamedTuple):
    total: list
    components: list
    measures: list
    quotas: Optional[list]
    draw: list
    carry: list


@dataclasses.dataclass(frozen=True)
class CommissionRunInfo:
    """What a run holds (sp_commission_run_info): computed, its payees and components, the
    statement lines of all payees (0: totals only), the days read [first_day, end_day)
    (dates; None before it is computed or when no component is due), the order (or
    invoice) lines, refunds (or credit notes) and payments read in those days (the payment
    basis reads from its lookback day on), the rows of reps that are no payee (skipped),
    and whether the totals were summed without lines (the totals path); the refunds of
    lines paid earlier clawed back, refunded after the window, or under a component without
    a clawback rule (docs/commission.md, "Clawbacks")."""
    computed: bool
    npayees: int
    ncomponents: int
    nlines: int
    first_day: Optional[datetime.date]
    end_day: Optional[datetime.date]
    lines_read: int
    refunds_read: int
    payments_read: int
    not_payee: int
    totals_path: bool
    clawbacks: int = 0
    clawbacks_expired: int = 0
    refunds_not_clawed: int = 0
    overrides_not_payee: int = 0
    not_assigned: int = 0


class CommissionRun(Handle):
    """A run of one period of a plan version for a set of payees (sp_commission_run): set
    its payees, quotas and splits, compute it over facts, then read its statements. A run
    writes nothing; computing it again replaces its results.

    CommissionRun(plan, *, fiscal_year, grain="month", index=0, unknown="skip",
    totals_only=False, lookback_from=None)

    plan: a CommissionPlan (copied: it may be closed afterwards). The period: fiscal_year
    of the plan's calendar (1 to 9999), grain (Grain: month, quarter or year) and index
    (0-based period of the year at that grain; a period the year does not have is an
    error when computing). unknown (CommissionUnknown): a fact of a rep who is no payee is
    skipped and counted ("skip") or an error naming the fact ("error"). totals_only: keep
    the totals without the lines (faster; explain then explains totals only).
    lookback_from (the payment basis): the day (a date or "YYYY-MM-DD") from which the
    lines and their payments are read, to know what was paid of a line before the period
    (the period's first day when that is earlier); None: the plan version's first day.
    Made within the plan's context. InvalidError naming the option, TypeError for a wrong
    type.
    """

    _free = "sp_commission_run_free"
    _what = "commission run"

    def __init__(self, plan: CommissionPlan, *, fiscal_year: int,
                 grain: "Grain | str | int" = "month", index: int = 0,
                 unknown: "CommissionUnknown | str | int" = "skip", totals_only: bool = False,
                 lookback_from: "datetime.date | str | None" = None):
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
        if lookback_from is not None:
            o.lookback_from = _convert.day_of(lookback_from, "lookback_from")
            if o.lookback_from == 0:  # C's "none": the version's first day
                raise InvalidError("lookback_from: 1970-01-01 is the library's 'not set'; "
                                   "give None for the plan version's first day")
        ctx = plan._ctx
        ptr = ctypes.POINTER(_ffi.sp_commission_run)()
        with ctx._lock:
            info = plan._raw_info()
            components = plan.components
            has_draw = "draw" in plan.as_dict()
            ctx.call(lib.sp_commission_run_new, ctypes.byref(ptr), plan, ctypes.byref(o))
        self._init_handle(ptr, ctx)
        self._plan_id = text_out(info.id)
        self._components = components
        self._has_draw = has_draw
        self._lookback = None if lookback_from is None else _convert.date_of(o.lookback_from)
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
    def lookback_from(self) -> Optional[datetime.date]:
        """The payment basis's lookback day given (None: the plan version's first day)."""
        return self._lookback

    @property
    def has_draw(self) -> bool:
        """Whether the plan has a draw (its statements' draw_* figures can be other than
        0)."""
        return self._has_draw

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
            refunds_read=i.refunds_read, payments_read=i.payments_read,
            not_payee=i.not_payee, totals_path=bool(i.totals_path), clawbacks=i.clawbacks,
            clawbacks_expired=i.clawbacks_expired, refunds_not_clawed=i.refunds_not_clawed,
            overrides_not_payee=i.overrides_not_payee, not_assigned=i.not_assigned)

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
        clears the quotas, the splits, the carry and the results. NotFoundError naming an
        id the dictionary lacks or an index beyond it; InvalidError for a payee given
        twice."""
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

    def _by_payee(self, mapping, name):
        """(position, what, value) of each item of a mapping {payee (an id or a position):
        value}, `what` naming the item (quotas["A"]); a payee given twice is
        InvalidError."""
        given = {}
        for key, value in mapping.items():
            what = f"{name}[{_id_text(key) if isinstance(key, str) else key}]"
            k = self._position(key, what)
            if k in given:
                raise InvalidError(f"{what}: payee {_id_text(self._ids[k])} is already "
                                   f"given as {name}[{given[k]!r}]")
            given[k] = key
            yield k, what, value

    def _quota_map(self, quotas, minor):
        n, nc, units = len(self._payees), len(self._components), self._units
        index = {c.id: j for j, c in enumerate(self._components)}
        flat, given = [0] * (n * nc), set()
        for k, what, value in self._by_payee(quotas, "quotas"):
            given.add(k)
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

    def _component(self, component, what="component"):
        """A component (its id, or its index) as its index."""
        if isinstance(component, str):
            for k, c in enumerate(self._components):
                if c.id == component:
                    return k
            raise NotFoundError(f"{what}: {_id_text(component)} is no component of the plan "
                                f"({', '.join(c.id for c in self._components)})")
        k = _convert.index_in(component, what)
        if k >= len(self._components):
            raise InvalidError(f"{what}: index {k} is beyond the plan's "
                               f"{len(self._components)} components")
        return k

    def quotas_from_set(self, component: "str | int", target_plan: "TargetPlan",
                        target_set: "TargetSet", dictionary: "Dictionary") -> None:
        """The quotas of `component` (its id or index) from a target set
        (docs/commission.md, "Quotas from target sets"): each payee's quota is the target
        of the set's node whose id is the payee's id (looked up in `dictionary`, the one
        the payees index), summed over the set's periods that make up the component's
        period in this run; those periods come from `target_plan`'s calendar, and the
        component's days must be exactly a run of them. A money measure needs a set of
        money in the plan's currency and exponent, a measure of units a set of
        quantities. Sets the component's column of the quotas (the others 0 when none
        were set) and counts it as loaded; a component not due in the run takes 0.
        Clears the results. InvalidError with the library's message naming the payee, the
        period or the mismatch (nothing changes); NotFoundError for an id that is no
        component."""
        from .dictionary import Dictionary
        from .targets import TargetPlan, TargetSet
        k = self._component(component)
        for value, cls, what in ((target_plan, TargetPlan, "target_plan"),
                                 (target_set, TargetSet, "target_set"),
                                 (dictionary, Dictionary, "dictionary")):
            if not isinstance(value, cls):
                raise TypeError(f"{what}: expected a salesplan.{cls.__name__}, not "
                                f"{type(value).__name__}")
        with _Locks(self._ctx, target_plan._ctx, target_set._ctx, dictionary._ctx):
            self._ctx.call(lib.sp_commission_run_quotas_from_set, self, k, target_plan,
                           target_set, dictionary)

    def load_quotas(self, store: "Store", dictionary: "Dictionary") -> None:
        """The quotas of every component whose document names a target set ("quota":
        {"target_set": {"plan": ..., "scenario": ..., "version": ...}}), loaded from
        `store`: the target plan and the set of its scenario and version (absent: the
        latest), each as quotas_from_set takes them. `dictionary`: the one the payees
        index. NotFoundError naming a plan or set the store lacks; InvalidError as
        quotas_from_set; nothing changes on error. Clears the results."""
        from .dictionary import Dictionary
        sptr, sctx = _storage(store)
        if not isinstance(dictionary, Dictionary):
            raise TypeError(f"dictionary: expected a salesplan.Dictionary, not "
                            f"{type(dictionary).__name__}")
        with _Locks(self._ctx, sctx, dictionary._ctx):
            self._ctx.call(lib.sp_commission_run_load_quotas, self, sptr, dictionary)

    def set_carry(self, carry: "Mapping | Sequence | numpy.ndarray | None", *,
                  minor: bool = False) -> None:
        """The carry state before the run (docs/commission.md, "Caps carried forward and
        draws"): per payee the recoverable draw's balance and each component's cap excess
        carried forward, as the previous period's run left them:

        - a mapping {payee (id or position): row}, such as the previous run's carry():
          payees not given carry nothing (zeros); a payee that is no payee of this run is
          an error (NotFoundError), so that no balance is dropped unnoticed;
        - one row per payee, in payee order;
        - None (or an empty mapping): no carry (zeros);
        - a numpy array, payees x (1 + components) (or flat), of ints of minor units
          (minor=True only).

        A row is a CommissionCarry (its own `minor` says its units; its caps by component
        id, a component it lacks carrying 0, one this plan does not have refused unless
        its value is 0, as when a component left the plan) or a sequence of 1 +
        components amounts: the draw's balance, then each component's excess in the
        plan's order. Amounts are Decimal in major units (int and str too; float refused)
        or, with minor=True, ints of minor units. Values below 0, a balance without a
        recoverable draw and an excess the component does not carry forward are the
        library's errors when the run is computed (InvalidError naming the payee and the
        component). Replaces the carry; clears the results."""
        n, nc, units = len(self._payees), len(self._components), self._units
        width = 1 + nc
        np = _convert.loaded("numpy")
        if carry is None or (isinstance(carry, Mapping) and not carry):
            flat = []
        elif isinstance(carry, Mapping):
            flat = [0] * (n * width)
            for k, what, row in self._by_payee(carry, "carry"):
                flat[k * width:(k + 1) * width] = self._carry_row(row, what, minor)
        elif np is not None and isinstance(carry, np.ndarray):
            if not minor:
                raise TypeError("carry: a numpy array needs minor=True (ints of minor units)")
            if carry.ndim == 2 and carry.shape != (n, width):
                raise InvalidError(f"carry: shape {carry.shape} where ({n}, {width}) "
                                   f"(payees x (1 + components)) is needed")
            col = _convert.column_in(carry, "int64", "carry", count=n * width)
            flat = None
        else:
            rows = _listed(carry, "carry", "rows (or a mapping)", n,
                           f"rows where {n} payees are given")
            flat = []
            for k, row in enumerate(rows):
                flat += self._carry_row(row, f"carry[{k}]", minor)
        if flat is not None:
            col = _convert.column_in(flat, "int64", "carry")
        with self._ctx._lock:
            self._ctx.call(lib.sp_commission_run_set_carry, self, col.ptr, col.count)

    def _carry_row(self, row, what, minor):
        """One payee's carry row (1 + components ints of minor units)."""
        nc, units = len(self._components), self._units
        if isinstance(row, CommissionCarry):
            m = row.minor
            out = [units.money_in(row.draw_balance, f"{what}.draw_balance", m)]
            caps = [0] * nc
            index = {c.id: j for j, c in enumerate(self._components)}
            if not isinstance(row.caps, Mapping):
                raise TypeError(f"{what}.caps: expected a mapping {{component id: excess}}, "
                                f"not {type(row.caps).__name__}")
            for cid, v in row.caps.items():
                cw = f"{what}.caps[{_id_text(cid)}]"
                units_v = units.money_in(v, cw, m)
                j = index.get(cid)
                if j is None:
                    if units_v != 0:
                        raise InvalidError(f"{cw}: {_id_text(cid)} is no component of the "
                                           f"plan ({', '.join(index)}): its excess "
                                           f"{v} would be lost")
                    continue
                caps[j] = units_v
            return out + caps
        vals = _listed(row, what, "amounts (or a CommissionCarry)", 1 + nc,
                       f"values where 1 + {nc} components are needed (the draw's balance, "
                       f"then each component's cap excess)")
        return [units.money_in(v, f"{what}[{j}]", minor) for j, v in enumerate(vals)]

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

    def set_assignments(self, assignments: "Mapping[str | int, Tuple[Any, Any]] | None") -> None:
        """The days each payee is on this plan version within the run (docs/commission.md,
        "Assignments"): {payee (id or position): (first, last)}, dates (or ISO strings),
        inclusive, None for no bound; payees not given are on every day. A payee is
        credited with a line only when its days hold the line's day; its quotas and draw
        are prorated by its days on the version. None or an empty mapping clears them.
        InvalidError when first is after last (naming the payee). Clears the results."""
        n = len(self._payees)
        if not assignments:
            with self._ctx._lock:
                self._ctx.call(lib.sp_commission_run_set_assignments, self, None, None, 0)
            return
        if not isinstance(assignments, Mapping):
            raise TypeError(f"assignments: expected a mapping {{payee: (first, last)}}, not "
                            f"{type(assignments).__name__}")
        first, last = [-2**31] * n, [2**31 - 1] * n
        for k, what, span in self._by_payee(assignments, "assignments"):
            if not isinstance(span, (tuple, list)) or len(span) != 2:
                raise TypeError(f"{what}: expected (first, last), not {span!r}")
            if span[0] is not None:
                first[k] = _convert.day_of(span[0], f"{what}[0]")
            if span[1] is not None:
                last[k] = _convert.day_of(span[1], f"{what}[1]")
        fcol = _convert.column_in(first, "int32", "first")
        lcol = _convert.column_in(last, "int32", "last")
        with self._ctx._lock:
            self._ctx.call(lib.sp_commission_run_set_assignments, self, fcol.ptr, lcol.ptr, n)

    def add_adjustment(self, id: int, payee: "str | int", component: "str | int",
                       amount: "Amount", reason: str, *, minor: bool = False) -> None:
        """A manual adjustment of a payee's component by `amount` (Decimal in major units, int
        and str too; ints of minor units with minor=True), with its reason (required, 1 to
        1000 bytes): a statement line of kind ADJUSTMENT on the last day of the component's
        period, in the component's total before the caps and the draw are settled
        (docs/commission.md, "Adjustments"). `id` (the host's) is its fact id, distinct per
        payee and component. InvalidError for a missing reason or an id given twice; the
        component must be computed in the run (checked by compute). Clears the results."""
        k = self._position(payee, "payee")
        c = self._component(component, "component")
        fact = _int_arg(id, "id", 0, 2**64 - 1, "0 to 2**64 - 1")
        value = self._units.money_in(amount, "amount", minor)
        if not isinstance(reason, str):
            raise TypeError(f"reason: expected a str, not {type(reason).__name__}")
        with self._ctx._lock:
            self._ctx.call(lib.sp_commission_run_add_adjustment, self, fact, k, c, value,
                           reason.encode("utf-8"))

    def clear_adjustments(self) -> None:
        """Remove every manual adjustment. Clears the results."""
        with self._ctx._lock:
            self._ctx.call(lib.sp_commission_run_clear_adjustments, self)

    def adjustment_reason(self, payee: "str | int", id: int) -> Optional[str]:
        """The reason of a payee's adjustment `id`, or None when it has none."""
        k = self._position(payee, "payee")
        with self._ctx._lock:
            r = lib.sp_commission_run_adjustment_reason(self, k, int(id))
        return r.decode("utf-8") if r is not None else None

    def set_hierarchy(self, hierarchy: "Hierarchy | None") -> None:
        """The payees' hierarchy for the roll-ups to managers (docs/commission.md, "Roll-ups
        to managers"): a validated salesplan.Hierarchy whose node ids are the payees' ids
        and whose level names are those the plan's crediting.rollup.levels name; copied.
        None removes it. InvalidError for a hierarchy that is not validated; TypeError for
        another object. Clears the results."""
        if hierarchy is not None and not hasattr(hierarchy, "_as_parameter_"):
            raise TypeError(f"hierarchy: expected a salesplan.Hierarchy, not "
                            f"{type(hierarchy).__name__}")
        with _Locks(self._ctx, getattr(hierarchy, "_ctx", None)):
            self._ctx.call(lib.sp_commission_run_set_hierarchy, self, hierarchy)

    def set_paid(self, paid: "Sequence[CommissionPaid]") -> None:
        """The lines paid in earlier periods whose refunds this run claws back, at the rate
        they were paid, within the component's window (docs/commission.md, "Clawbacks"):
        CommissionPaid entries, one per (line, payee, component). An empty sequence clears
        them. InvalidError naming the entry (a payee or component that is not the run's, an
        amount of 0, a refunded amount beyond it, an entry given twice); TypeError for an
        entry that is no CommissionPaid. Clears the results."""
        entries = _listed(paid, "paid", "CommissionPaid entries")
        units = self._units
        arr = (_ffi.sp_commission_paid * max(len(entries), 1))()
        for i, e in enumerate(entries):
            what = f"paid[{i}]"
            if not isinstance(e, CommissionPaid):
                raise TypeError(f"{what}: expected a CommissionPaid, not {type(e).__name__}")
            c = self._component(e.component, f"{what}.component")
            fact = _int_arg(e.fact, f"{what}.fact", 0, 2**64 - 1, "0 to 2**64 - 1")
            arr[i].fact = fact
            arr[i].payee = self._position(e.payee, f"{what}.payee")
            arr[i].component = c
            arr[i].day = _convert.day_of(e.day, f"{what}.day")
            arr[i].amount = units.money_in(e.amount, f"{what}.amount", e.minor)
            arr[i].base = units.measure_in(c, e.base, f"{what}.base", e.minor)
            arr[i].earned = units.money_in(e.earned, f"{what}.earned", e.minor)
            arr[i].rate = _convert.to_dec(e.rate, f"{what}.rate")
            arr[i].refunded = units.money_in(e.refunded, f"{what}.refunded", e.minor)
        with self._ctx._lock:
            self._ctx.call(lib.sp_commission_run_set_paid, self, arr, len(entries))

    # -- computing --

    def compute(self, facts: Any, dictionary: "Dictionary", *, invoices: Any = None,
                progress: ProgressFn = None) -> None:
        """Compute the statements (docs/commission.md, "The engine").

        facts: the order lines and their refunds (the booking basis) and, when there are
        no `invoices`, the payments against the order lines (the payment basis): a
        FactSource, or anything salesplan.facts.as_source takes (FactBatch(es), a dict of
        columns or a DataFrame of order lines, {kind: data} such as {"order_lines": ...,
        "refunds": ..., "payments": ...}); amounts in minor units. invoices (optional): a
        second source of the same forms: invoice lines as order lines ("order_lines",
        each with its invoice's day), credit notes and reversals as refunds ("refunds",
        ref = the invoice line), and the payments against invoice lines ("payments"), for
        the invoice and payment bases. A plan with a component on the invoice basis needs
        it. The index columns (rep, product, customer, grid) of both index `dictionary`,
        which holds the payees and every id a filter or SPIFF names.

        On error (InvalidError naming the plan path, payee, component or fact by kind,
        batch, row and id; ExactOverflowError; a source's or a plug-in kind's own
        exception) the run keeps its earlier results, if any. progress(done, total) is
        called now and then; returning True cancels (CanceledError)."""
        from .dictionary import Dictionary
        from .facts import as_source
        if not isinstance(dictionary, Dictionary):
            raise TypeError(f"dictionary: expected a salesplan.Dictionary, not "
                            f"{type(dictionary).__name__}")
        src = as_source(facts, "facts", ctx=self._ctx)
        inv = None
        try:
            if invoices is not None:
                inv = as_source(invoices, "invoices", ctx=self._ctx)
            prog, keep = progress_table(progress)
            with _Locks(self._ctx, src._ctx, inv._ctx if inv is not None else None,
                        dictionary._ctx):
                self._ctx.call(lib.sp_commission_run_compute, self, src, inv, dictionary,
                               prog)
                if dictionary is not self._dict:  # the indexes now name its ids
                    self._ids = [dictionary.id(at) for at in self._payees]
                    self._at = {p: k for k, p in enumerate(self._ids)}
                    self._dict = dictionary
            del keep
        finally:
            if src is not facts:
                src.close()
            if inv is not None and inv is not invoices:
                inv.close()

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
            carry = st.carry[:1 + nc]
            raw = ctypes.string_at(st.lines, st.nlines * _LINE_SIZE) if st.nlines else b""
        ids = units.ids
        amount = units.amount
        return CommissionStatement(
            self._ids[k], k, st.payee, amount(st.total, minor),
            {ids[c]: amount(v, minor) for c, v in enumerate(comps)},
            {ids[c]: units.measure(c, v, minor) for c, v in enumerate(meas)},
            None if quotas is None else {ids[c]: units.measure(c, v, minor)
                                         for c, v in enumerate(quotas)},
            Rounding(st.rounding), CommissionPolicy(st.policy), raw, units, minor,
            draw_paid=amount(st.draw_paid, minor),
            draw_recovered=amount(st.draw_recovered, minor),
            draw_forgiven=amount(st.draw_forgiven, minor),
            draw_balance=amount(st.draw_balance, minor),
            carry=self._carry_of(carry, minor))

    def _carry_of(self, row, minor):
        u = self._units
        return CommissionCarry(u.amount(row[0], minor),
                               {cid: u.amount(v, minor) for cid, v in zip(u.ids, row[1:])},
                               minor)

    def carry(self, *, minor: bool = False) -> Dict[str, CommissionCarry]:
        """{payee id: CommissionCarry}: the carry state after the run, in payee order,
        which the next period's run takes (set_carry(previous.carry())). InvalidError
        before the run is computed."""
        return {p: self._carry_of(row, minor) for p, row in zip(self._ids, self._grid().carry)}

    def statements(self, *, minor: bool = False) -> Iterator[CommissionStatement]:
        """Every payee's statement, in payee order."""
        for k in range(len(self._payees)):
            yield self.statement(k, minor=minor)

    def _grid(self):
        """Every payee's figures in minor units, in payee order: .total, .components,
        .measures, .quotas (None without quotas), .draw (paid, recovered, forgiven,
        balance) and .carry (1 + components)."""
        nc = len(self._components)
        g = _Grid([], [], [], [], [], [])
        with self._ctx._lock:
            for k in range(len(self._payees)):
                st = self._raw_statement(k)
                g.total.append(st.total)
                g.components.append(st.components[:nc])
                g.measures.append(st.measures[:nc])
                g.quotas.append(st.quotas[:nc] if st.quotas else None)
                g.draw.append((st.draw_paid, st.draw_recovered, st.draw_forgiven,
                               st.draw_balance))
                g.carry.append(st.carry[:1 + nc])
        if not g.quotas or g.quotas[0] is None:
            g = g._replace(quotas=None)
        return g

    def totals(self, *, minor: bool = False) -> Dict[str, Amount]:
        """{payee id: total}, in payee order (Decimal, or ints of minor units)."""
        return {p: self._units.amount(t, minor) for p, t in zip(self._ids, self._grid().total)}

    def to_numpy(self) -> Dict[str, Any]:
        """numpy copies in minor units (units for measures of units): "total" (payees),
        "components", "measures" and, when quotas were set, "quotas" (payees x
        components); "draw_paid", "draw_recovered", "draw_forgiven", "draw_balance"
        (payees); "carry" (payees x (1 + components): each payee's carry row, as set_carry
        takes it with minor=True). All int64."""
        np = _need_numpy()
        g = self._grid()
        nc = len(self._components)
        out = {"total": np.array(g.total, dtype="int64"),
               "components": np.array(g.components, dtype="int64").reshape(-1, nc),
               "measures": np.array(g.measures, dtype="int64").reshape(-1, nc)}
        if g.quotas is not None:
            out["quotas"] = np.array(g.quotas, dtype="int64").reshape(-1, nc)
        draw = np.array(g.draw, dtype="int64").reshape(-1, 4)
        for j, name in enumerate(_DRAW_FIGURES):
            out[name] = draw[:, j].copy()
        out["carry"] = np.array(g.carry, dtype="int64").reshape(-1, 1 + nc)
        return out

    def to_frame(self, *, minor: bool = False) -> "pandas.DataFrame":
        """A pandas DataFrame indexed by payee id ("payee"): one column per component (its
        earnings), then, when the plan has a draw, "draw_paid", "draw_recovered",
        "draw_forgiven" and "draw_balance", then "total". Amounts Decimal (object) or
        int64 minor units."""
        pd = _need_pandas()
        g = self._grid()
        u = self._units
        cols = {cid: [u.amount(row[c], minor) for row in g.components]
                for c, cid in enumerate(u.ids)}
        if self._has_draw:
            for j, name in enumerate(_DRAW_FIGURES):
                cols[name] = [u.amount(row[j], minor) for row in g.draw]
        cols["total"] = [u.amount(t, minor) for t in g.total]
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

    # -- the ledger --

    def post(self, store: "Store", *, into: "CommissionPeriod | Tuple[int, Any, int] | None"
             = None, minor: bool = False) -> "CommissionPosted":
        """Post the computed run's statements, with their lines, to its plan's ledger in
        `store` (docs/commission.md, "Statements and the ledger"; one transaction): an open
        period (or one never posted) takes them as its statements, replacing an earlier
        draft (into None or the run's period). A closed period is refused (ConflictError)
        unless `into` names a period that is not closed (a CommissionPeriod or (fiscal_year,
        grain, index)), which then receives the corrections: the lines by which this run
        differs from all the ledger holds for the closed period (posted plus every
        correction always equals the latest truth; the same truth posted again replaces,
        not adds). Returns what was written (CommissionPosted; its total Decimal, or an int
        of minor units with minor=True). InvalidError for a run not computed or kept as
        totals only; nothing is written on error. A what-if run is simply not posted."""
        sptr, sctx = _storage(store)
        per = None if into is None else _period_in(into, "into")
        if not isinstance(minor, bool):
            raise TypeError(f"minor: expected a bool, not {type(minor).__name__}")
        out = _ffi.sp_commission_posted()
        lib.sp_commission_posted_init(ctypes.byref(out), _ffi.SP_COMMISSION_POSTED_VERSION)
        with _Locks(self._ctx, sctx):
            self._ctx.call(lib.sp_commission_run_post, self, sptr,
                           None if per is None else ctypes.byref(per), ctypes.byref(out))
        return CommissionPosted(
            _period_out(out.period), _period_out(out.corrected) if out.corrects else None,
            bool(out.written), bool(out.removed), out.revision, out.npayees, out.nlines,
            self._units.amount(out.total, minor))

    def __repr__(self):
        if self._ptr is None:
            return "<salesplan.CommissionRun closed>"
        y, g, i = self._period
        return (f"<salesplan.CommissionRun of {self._plan_id!r} FY{y} {g.name.lower()} {i}: "
                f"{len(self._payees)} payees>")


# ---- the ledger ----

@dataclasses.dataclass(frozen=True)
class CommissionPeriod:
    """A fiscal period of a plan's calendar (sp_commission_period): fiscal_year, grain
    (Grain: month, quarter or year; its name or int accepted, a Grain kept) and index (the
    0-based period of the year at that grain: January is ("month", 0)). Wherever a period
    is taken a tuple (fiscal_year, grain, index) is accepted too. TypeError for a
    fiscal_year or index that is no int, InvalidError for one out of range or an unknown
    grain; a grain the ledger does not keep (week) is the library's InvalidError when
    used."""
    fiscal_year: int
    grain: Any
    index: int

    def __post_init__(self):
        object.__setattr__(self, "fiscal_year", _int_arg(
            self.fiscal_year, "fiscal_year", -2**31, 2**31 - 1, "1 to 9999"))
        object.__setattr__(self, "grain", Grain(enum_of("sp_grain", self.grain, "grain")))
        object.__setattr__(self, "index", _int_arg(
            self.index, "index", 0, _U32, "a period index (0 or more)"))

    def __str__(self):
        """As the library's messages name it: 2027-M01, 2027-Q2, 2027."""
        g = self.grain
        if g == Grain.YEAR:
            return f"{self.fiscal_year}"
        letter = {Grain.MONTH: "M", Grain.QUARTER: "Q"}.get(g, g.name[0])
        return f"{self.fiscal_year}-{letter}{self.index + 1:02d}" if letter == "M" else \
            f"{self.fiscal_year}-{letter}{self.index + 1}"


def _period_of(value, what):
    """A CommissionPeriod of a CommissionPeriod or a tuple (fiscal_year, grain, index)."""
    if isinstance(value, CommissionPeriod):
        return value
    if isinstance(value, tuple) and len(value) == 3:
        try:
            return CommissionPeriod(*value)
        except (TypeError, InvalidError) as e:
            raise type(e)(f"{what}.{e}") from None
    shown = repr(value) if isinstance(value, tuple) else type(value).__name__
    raise TypeError(f"{what}: expected a CommissionPeriod or (fiscal_year, grain, index), "
                    f"not {shown}")


def _period_in(value, what):
    """A period from Python as a C sp_commission_period."""
    p = _period_of(value, what)
    return _ffi.sp_commission_period(p.fiscal_year, int(p.grain), p.index)


def _period_out(c):
    return CommissionPeriod(c.fiscal_year, Grain(c.grain), c.index)


@dataclasses.dataclass(frozen=True)
class CommissionPosted:
    """What CommissionRun.post wrote (sp_commission_posted): period, the period written
    into; corrects, the closed period these lines correct (None: the period's own
    statements); written, False when a correction found nothing to change; removed, True
    when earlier corrections were withdrawn (the truth is what the rest of the ledger
    holds); revision, the ledger's revision after the post; npayees and nlines written;
    total, the sum of the lines written (Decimal in major units of the plan's currency, or
    an int of minor units with minor=True)."""
    period: CommissionPeriod
    corrects: Optional[CommissionPeriod]
    written: bool
    removed: bool
    revision: int
    npayees: int
    nlines: int
    total: Amount


@dataclasses.dataclass(frozen=True)
class CommissionLedgerEntry:
    """One statements object of a plan's ledger (sp_commission_ledger_entry): period, the
    period that holds it; corrects, the closed period it corrects (None: the period's own
    statements); closed, whether `period` is closed; revision, the object's; npayees and
    nlines, its payees and their lines; total_minor, the sum of its lines in minor units
    of the plan's currency (the ledger's entries do not record the currency's exponent);
    total, the same as a Decimal in major units when commission_ledger was given the
    exponent, else None."""
    period: CommissionPeriod
    corrects: Optional[CommissionPeriod]
    closed: bool
    revision: int
    npayees: int
    nlines: int
    total_minor: int
    total: Optional[decimal.Decimal] = None


@dataclasses.dataclass(frozen=True)
class CommissionStoredPart:
    """One part of a stored statement (sp_commission_stored_part): corrects, the closed
    period whose corrections this part holds (None: the period's own statement); closed,
    whether the statement's period is closed; currency and exponent, the plan's; rounding
    (Rounding) and policy (CommissionPolicy), as computed; plan_from, the plan version's
    first day, and plan_revision, its stored revision (0: a plan not stored); components,
    the plan's component ids when posted; totals, {component id: the sum of the part's
    lines}; total, the part's total; lines, the payee's CommissionLine records, by
    component, then day, kind and fact id.

    A stored part does not record its components' measures. `measures_known` says whether
    they came from a plan given to commission_statement (plan=...): then a line's base and
    rate read as in a run's statement. Otherwise every component is read as a money measure
    (amount, margin): base is Decimal in major units and rate a fraction; for a component
    measured in units (quantity, lines, deals) base then reads as the units divided by
    10^exponent (4 units: 0.04) and rate as the amount per unit in minor units (1.25 a
    unit: 125). Amounts are Decimal in major units,
    or ints of minor units with minor=True."""
    corrects: Optional[CommissionPeriod]
    closed: bool
    currency: str
    exponent: int
    rounding: Any
    policy: Any
    plan_from: datetime.date
    plan_revision: int
    components: List[str]
    totals: Dict[str, Amount]
    total: Amount
    lines: List[CommissionLine] = dataclasses.field(repr=False)
    measures_known: bool = False


@dataclasses.dataclass(frozen=True)
class CommissionStoredStatement:
    """A payee's statement for a period as the ledger holds it (commission_statement): plan
    (its id), period, payee; closed, whether the period is closed; parts, the period's own
    statement first (when it has one for the payee), then the corrections of earlier closed
    periods the period holds for the payee (CommissionStoredPart); total, the sum of every
    part (Decimal in major units, or an int of minor units with minor=True)."""
    plan: str
    period: CommissionPeriod
    payee: str
    closed: bool
    total: Amount
    parts: List[CommissionStoredPart]


def commission_close(store: "Store", plan_id: str,
                     period: "CommissionPeriod | Tuple[int, Any, int]", *,
                     ctx: Optional[Context] = None) -> None:
    """Close a posted period of plan `plan_id` in `store` (docs/commission.md, "Closing and
    reading"; one transaction): frozen from then on; a later run of it is posted as
    corrections into an open period (CommissionRun.post(store, into=...)). NotFoundError
    when the period was never posted, ConflictError when it is closed already, InvalidError
    for a period the ledger does not keep (a week), TypeError for a wrong type."""
    ctx = Context.of(ctx)
    pid = cstr_in(plan_id, "plan_id")
    per = _period_in(period, "period")
    sptr, sctx = _storage(store)
    with _Locks(ctx, sctx):
        ctx.call(lib.sp_commission_period_close, ctx, sptr, pid, ctypes.byref(per))


def commission_ledger(store: "Store", plan_id: str, *, exponent: Optional[int] = None,
                      ctx: Optional[Context] = None) -> List[CommissionLedgerEntry]:
    """The entries of plan `plan_id`'s ledger in `store`, by period: each period's own
    statements and the corrections of closed periods it holds (CommissionLedgerEntry).
    The entries give totals in minor units (total_minor); with `exponent` (the plan's
    currency's decimals, plan.info.exponent) each entry's total is also a Decimal in major
    units. NotFoundError when nothing of the plan was posted."""
    ctx = Context.of(ctx)
    pid = cstr_in(plan_id, "plan_id")
    if exponent is not None:
        exponent = _int_arg(exponent, "exponent", 0, 18, "0 to 18")
    sptr, sctx = _storage(store)

    def entries(cap, count):
        buf = (_ffi.sp_commission_ledger_entry * cap)()
        with _Locks(ctx, sctx):
            ctx.call(lib.sp_commission_ledger_entries, ctx, sptr, pid, buf, cap,
                     ctypes.byref(count))
        return [CommissionLedgerEntry(
            _period_out(e.period), _period_out(e.corrected) if e.corrects else None,
            bool(e.closed), e.revision, e.npayees, e.nlines, e.total,
            None if exponent is None else _convert.from_minor(e.total, exponent))
            for e in buf[:count.value]]

    return filled(entries, cap=8)


def _stored_units(exponent, ids, plan):
    """A _Units of a stored part: its component ids and exponent; the measures' money-ness
    from `plan` (by component id) when given, else every component as money."""
    units = _Units.__new__(_Units)
    units.exponent, units.ids = exponent, list(ids)
    measures = {c.id: int(c.measure) in _MONEY for c in plan.components} if plan else {}
    units.money = [measures.get(cid, True) for cid in ids]
    return units


def commission_statement(store: "Store", plan_id: str,
                         period: "CommissionPeriod | Tuple[int, Any, int]", payee: str, *,
                         plan: Optional[CommissionPlan] = None, minor: bool = False,
                         ctx: Optional[Context] = None) -> CommissionStoredStatement:
    """Payee `payee`'s statement for `period` as plan `plan_id`'s ledger in `store` holds
    it (docs/commission.md, "Closing and reading"; only the records it is in are read):
    its parts, the period's own statement and the corrections of closed periods the period
    holds for the payee (CommissionStoredStatement). plan (optional): a version of the
    plan, whose components' measures say how each line's base and rate read
    (CommissionStoredPart.measures_known). Amounts Decimal in major units, or ints of minor
    units with minor=True. NotFoundError when the period was never posted or holds nothing
    for the payee (naming both); InvalidError for a bad period; TypeError for a wrong
    type."""
    ctx = Context.of(ctx)
    pid = cstr_in(plan_id, "plan_id")
    per = _period_in(period, "period")
    who = cstr_in(payee, "payee")
    if plan is not None and not isinstance(plan, CommissionPlan):
        raise TypeError(f"plan: expected a CommissionPlan or None, not {type(plan).__name__}")
    if not isinstance(minor, bool):
        raise TypeError(f"minor: expected a bool, not {type(minor).__name__}")
    sptr, sctx = _storage(store)
    ptr = ctypes.POINTER(_ffi.sp_commission_stored)()
    raw_parts = []
    with _Locks(ctx, sctx):
        ctx.call(lib.sp_commission_stored_load, ctypes.byref(ptr), ctx, sptr, pid,
                 ctypes.byref(per), who)
        try:
            total = lib.sp_commission_stored_total(ptr)
            for k in range(lib.sp_commission_stored_count(ptr)):
                part = _ffi.sp_commission_stored_part()
                lib.sp_commission_stored_part_init(ctypes.byref(part),
                                                   _ffi.SP_COMMISSION_STORED_PART_VERSION)
                ctx.call(lib.sp_commission_stored_get_part, ptr, k, ctypes.byref(part))
                nc = part.ncomponents
                raw_parts.append((
                    _period_out(part.corrected) if part.corrects else None,
                    bool(part.closed), text_out(part.currency), part.exponent,
                    Rounding(part.rounding), CommissionPolicy(part.policy),
                    _convert.date_of(part.plan_from), part.plan_revision,
                    [text_out(part.components[c]) for c in range(nc)], part.totals[:nc],
                    part.total,
                    ctypes.string_at(part.lines, part.nlines * _LINE_SIZE)
                    if part.nlines else b""))
        finally:
            lib.sp_commission_stored_free(ptr)
    parts = []
    for (corrects, closed, currency, exp, rounding, policy, plan_from, plan_rev, ids,
         totals, ptotal, raw) in raw_parts:
        units = _stored_units(exp, ids, plan)
        parts.append(CommissionStoredPart(
            corrects, closed, currency, exp, rounding, policy, plan_from, plan_rev, ids,
            {cid: units.amount(v, minor) for cid, v in zip(ids, totals)},
            units.amount(ptotal, minor), _lines_of(raw, units, minor),
            measures_known=plan is not None))
    exponent = parts[0].exponent if parts else 0
    return CommissionStoredStatement(
        plan_id, _period_out(per), payee, parts[0].closed if parts else False,
        int(total) if minor else _convert.from_minor(total, exponent), parts)
