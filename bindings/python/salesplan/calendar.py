"""Fiscal calendars: civil months, 4-4-5 retail calendars, periods and working days
(salesplan/calendar.h; docs/calendar.md is the C guide).

Days are datetime.date in and out (an ISO "YYYY-MM-DD" string is accepted in). A period
is half-open: `first` is its first day, `end` the day after its last, as in C. Holiday
and make-up ranges are INCLUSIVE pairs of dates, as holiday notices are written.
"""
import ctypes
import datetime
import numbers
from collections import namedtuple

from . import _convert, _ffi
from ._core import ENUMS, Context, Handle, enum_of, text_out
from ._lib import lib
from .errors import InvalidError

__all__ = ["Calendar", "Period"]

CalendarKind = ENUMS["sp_calendar_kind"]
CalendarPreset = ENUMS["sp_calendar_preset"]
FiscalLabel = ENUMS["sp_fiscal_label"]
YearEndRule = ENUMS["sp_year_end_rule"]
Grain = ENUMS["sp_grain"]
WeekdayBits = ENUMS["sp_weekday_bits"]

Period = namedtuple("Period", "first end working_days label")
Period.__doc__ = """One period of a fiscal year: first (its first day, a date), end (the
day after its last: periods are half-open, as in C), working_days (an int) and label
("FY2026-M03")."""

_WEEKDAYS = {m.name.lower(): m for m in WeekdayBits}
_WEEKDAYS.update({name[:3]: m for name, m in list(_WEEKDAYS.items())})
_ISO = {m.name.lower(): i + 1 for i, m in enumerate(WeekdayBits)}
_ISO.update({name[:3]: i for name, i in list(_ISO.items())})


def _weekend(value):
    """WeekdayBits, an int of bits, or an iterable of weekday names / members."""
    if value is None:
        return 0
    if isinstance(value, WeekdayBits):
        return int(value)
    if isinstance(value, bool):
        raise TypeError("weekend: expected WeekdayBits or a set of weekday names, not bool")
    if isinstance(value, numbers.Integral):
        if not 0 <= value <= 127:
            raise InvalidError(f"weekend: {value} is not a set of weekday bits (0 to 127)")
        return int(value)
    if isinstance(value, str):
        value = [value]
    bits = 0
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"weekend: expected WeekdayBits or a set of weekday names, not "
                        f"{type(value).__name__}") from None
    for v in items:
        if isinstance(v, WeekdayBits):
            bits |= int(v)
        elif isinstance(v, str) and v.strip().lower() in _WEEKDAYS:
            bits |= int(_WEEKDAYS[v.strip().lower()])
        elif isinstance(v, str):
            raise InvalidError(f"weekend: {v!r} is not a weekday (monday .. sunday)")
        else:
            raise TypeError(f"weekend: expected weekday names, not {type(v).__name__}")
    return bits


def _weekday(value, what):
    """An ISO weekday 1..7 from an int or a name."""
    if isinstance(value, str):
        key = value.strip().lower()
        if key not in _ISO:
            raise InvalidError(f"{what}: {value!r} is not a weekday (monday .. sunday)")
        return _ISO[key]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what}: expected an ISO weekday (1 Monday .. 7 Sunday) or a name, "
                        f"not {type(value).__name__}")
    return int(value)  # C checks the range and names the field


def _month(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what}: expected an int month, not {type(value).__name__}")
    if not 0 <= value <= 12:
        raise InvalidError(f"{what}: {value} is not a month (1 to 12, or 0)")
    return int(value)


def _ranges(value, what):
    """[(first, last), ...] or single dates as inclusive ranges: a flat list of days."""
    if value is None:
        return []
    if isinstance(value, (str, datetime.date)):
        raise TypeError(f"{what}: expected a list of (first, last) date pairs or dates")
    flat = []
    for i, r in enumerate(value):
        if isinstance(r, (str, datetime.date)):
            d = _convert.day_of(r, f"{what}[{i}]")
            flat += [d, d]
        elif isinstance(r, (tuple, list)) and len(r) == 2:
            flat += [_convert.day_of(r[0], f"{what}[{i}][0]"),
                     _convert.day_of(r[1], f"{what}[{i}][1]")]
        else:
            raise TypeError(f"{what}[{i}]: expected a (first, last) pair of dates or a "
                            f"date, not {type(r).__name__}")
    return flat


def _year(value, what="fiscal_year"):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what}: expected an int year, not {type(value).__name__}")
    value = int(value)
    if not _ffi.SP_CALENDAR_MIN_YEAR <= value <= _ffi.SP_CALENDAR_MAX_YEAR:
        raise InvalidError(f"{what}: {value} is outside the years 1 to 9999")
    return value


def _grain(value, what="grain"):
    return enum_of("sp_grain", value, what)


def _dates_in(dates, what):
    """A column of dates as an int32 Column of day numbers (numpy datetime64 without a
    Python loop)."""
    np = _convert.loaded("numpy")
    pd = _convert.loaded("pandas")
    if pd is not None and isinstance(dates, (pd.Series, pd.Index, pd.DatetimeIndex)):
        if pd.api.types.is_datetime64_any_dtype(dates.dtype):
            if getattr(dates.dtype, "tz", None) is not None:
                raise InvalidError(f"{what}: dates with a time zone; convert to naive dates")
            dates = dates.to_numpy()
    if np is not None and isinstance(dates, np.ndarray) and dates.dtype.kind == "M":
        if dates.ndim != 1:
            raise InvalidError(f"{what}: expected a one-dimensional column")
        if np.isnat(dates).any():
            i = int(np.flatnonzero(np.isnat(dates))[0])
            raise InvalidError(f"{what}[{i}]: not a date (NaT)")
        days = dates.astype("datetime64[D]").astype(np.int64)
        if days.size and (days.min() < _convert.MIN_DAY or days.max() > _convert.MAX_DAY):
            bad = int(np.flatnonzero((days < _convert.MIN_DAY) | (days > _convert.MAX_DAY))[0])
            raise InvalidError(f"{what}[{bad}]: outside the years 1 to 9999")
        return _convert.column_in(days.astype(np.int32), "int32", what)
    if isinstance(dates, (str, datetime.date)):
        raise TypeError(f"{what}: expected a column of dates, not a single date")
    try:
        seq = list(dates)
    except TypeError:
        raise TypeError(f"{what}: expected a column of dates, not "
                        f"{type(dates).__name__}") from None
    return _convert.column_in([_convert.day_of(d, f"{what}[{i}]") for i, d in enumerate(seq)],
                              "int32", what)


class Calendar(Handle):
    """A fiscal calendar: civil months from any month, or a 4-4-5 / 4-5-4 / 5-4-4 retail
    calendar of 52/53 weeks, with working days (weekend, holidays, make-up days).

        nrf = Calendar("nrf_454")
        nrf.periods(2024, "year")[0]        # Period(2024-02-04, 2025-02-02, 364, "FY2024")
        cn = Calendar(weekend={"saturday", "sunday"},
                      holidays=[("2025-01-28", "2025-02-04")], workdays=["2025-01-26"])
    """

    _free = "sp_calendar_free"
    _what = "calendar"
    _owner = None

    def __init__(self, preset: "CalendarPreset | str | int | None" = None, *,
                 kind: "CalendarKind | str | int | None" = None, start_month: "int | None" = None,
                 label: "FiscalLabel | str | int | None" = None,
                 year_end_weekday: "str | int | None" = None,
                 year_end_rule: "YearEndRule | str | int | None" = None,
                 week53_month: "int | None" = None,
                 weekend: "Iterable[str | int] | WeekdayBits | None" = None,
                 holidays: "Iterable[datetime.date | str] | None" = None,
                 workdays: "Iterable[datetime.date | str] | None" = None,
                 ctx: "Context | None" = None):
        """A calendar from a preset (CalendarPreset, or its name: "civil", "nrf_454",
        "retail_445", "retail_544", "april_start", "april_end", "july_end",
        "october_end"; None: civil from January) and/or explicit fields, which override
        the preset's:

        kind: CalendarKind ("months", "retail_445", "retail_454", "retail_544");
        start_month: 1..12 (0 = January in a months calendar); label: FiscalLabel
        ("end": FY2026 ends in 2026, "start": it starts in 2026; required unless the year
        starts in January); year_end_weekday (retail: ISO 1..7 or a name, "saturday");
        year_end_rule (retail: "last" or "nearest"); week53_month (retail: 1..12, 0 the
        last); weekend: WeekdayBits or a set of weekday names ({"saturday", "sunday"});
        holidays / workdays: lists of INCLUSIVE (first, last) date pairs, or single dates,
        days off and make-up working days (weekend days).

        InvalidError naming the field, range or day when C refuses the rules (a field a
        kind needs that is not set, one it does not use that is set, a reversed range,
        a make-up day that is no weekend day, ...)."""
        ctx = Context.of(ctx)
        opts = _ffi.sp_calendar_options()
        if preset is None:
            lib.sp_calendar_options_init(ctypes.byref(opts), _ffi.SP_CALENDAR_OPTIONS_VERSION)
        else:
            p = enum_of("sp_calendar_preset", preset, "preset")
            rc = lib.sp_calendar_options_preset(ctypes.byref(opts),
                                                _ffi.SP_CALENDAR_OPTIONS_VERSION, p)
            if rc < 0:
                raise InvalidError(f"preset: {preset!r} is no calendar preset", rc)
        if kind is not None:
            opts.kind = enum_of("sp_calendar_kind", kind, "kind")
        if start_month is not None:
            opts.start_month = _month(start_month, "start_month")
        if label is not None:
            opts.label = 0 if label == 0 else enum_of("sp_fiscal_label", label, "label")
        if year_end_weekday is not None:
            opts.year_end_weekday = _weekday(year_end_weekday, "year_end_weekday")
        if year_end_rule is not None:
            opts.year_end_rule = 0 if year_end_rule == 0 else \
                enum_of("sp_year_end_rule", year_end_rule, "year_end_rule")
        if week53_month is not None:
            opts.week53_month = _month(week53_month, "week53_month")
        opts.weekend = _weekend(weekend)
        hol = _ranges(holidays, "holidays")
        work = _ranges(workdays, "workdays")
        hol_arr = (ctypes.c_int32 * max(len(hol), 1))(*hol)
        work_arr = (ctypes.c_int32 * max(len(work), 1))(*work)
        if hol:
            opts.holiday_ranges, opts.nholiday_ranges = hol_arr, len(hol) // 2
        if work:
            opts.workday_ranges, opts.nworkday_ranges = work_arr, len(work) // 2
        ptr = ctypes.POINTER(_ffi.sp_calendar)()
        ctx.call(lib.sp_calendar_new, ctypes.byref(ptr), ctx, ctypes.byref(opts))
        self._options = {
            "kind": CalendarKind(opts.kind),
            "start_month": opts.start_month,
            "label": FiscalLabel(opts.label) if opts.label else None,
            "year_end_weekday": opts.year_end_weekday,
            "year_end_rule": YearEndRule(opts.year_end_rule) if opts.year_end_rule else None,
            "week53_month": opts.week53_month,
            "weekend": WeekdayBits(opts.weekend),
            "holidays": [(_convert.date_of(hol[i]), _convert.date_of(hol[i + 1]))
                         for i in range(0, len(hol), 2)],
            "workdays": [(_convert.date_of(work[i]), _convert.date_of(work[i + 1]))
                         for i in range(0, len(work), 2)],
        }
        self._init_handle(ptr, ctx)

    @classmethod
    def _borrowed(cls, ptr, owner: Handle, options: "dict | None" = None) -> "Calendar":
        """A non-owning view of a calendar `owner` (a target plan) holds: keeps `owner`
        alive, never frees the pointer, unusable once `owner` is closed. For the package's
        own modules; `options` is what .options gives (None: unknown)."""
        if not ptr:
            raise ValueError("salesplan: no calendar (NULL pointer)")
        self = cls.__new__(cls)
        self._owner = owner
        self._options = options
        self._init_handle(ptr, owner.context, keep=(owner,), owns=False)
        return self

    @property
    def _as_parameter_(self):
        if self._ptr is None:
            raise ValueError("salesplan: the calendar is closed")
        if self._owner is not None and self._owner.closed:
            raise ValueError(f"salesplan: the calendar's holder ({self._owner._what}) is "
                             f"closed")
        return self._ptr


    @property
    def options(self) -> "dict | None":
        """The rules as a dict (a copy): kind, start_month, label (None when 0),
        year_end_weekday, year_end_rule (None when 0), week53_month, weekend
        (WeekdayBits), holidays and workdays (lists of inclusive (first, last) dates)."""
        if self._options is None:
            return None
        d = dict(self._options)
        d["holidays"] = list(d["holidays"])
        d["workdays"] = list(d["workdays"])
        return d

    def periods(self, fiscal_year: int, grain: "Grain | str | int" = "month") -> "list[Period]":
        """The periods of a fiscal year at `grain` (Grain or "year", "half", "quarter",
        "month", "week"): 1, 2, 4, 12, or 52/53 Periods (first, end exclusive,
        working_days, label)."""
        y, g = _year(fiscal_year), _grain(grain)
        cap = _ffi.SP_CALENDAR_MAX_PERIODS
        first, end, wd = ((ctypes.c_int32 * cap)() for _ in range(3))
        n = ctypes.c_size_t()
        self._ctx.call(lib.sp_calendar_periods, self, y, g, first, end, wd, cap,
                       ctypes.byref(n))
        return [Period(_convert.date_of(first[i]), _convert.date_of(end[i]), wd[i],
                       self._label(y, g, i)) for i in range(n.value)]

    def _label(self, y, g, index):
        buf = ctypes.create_string_buffer(_ffi.SP_CALENDAR_LABEL_MAX)
        n = ctypes.c_size_t()
        self._ctx.call(lib.sp_calendar_label, self, y, g, index, buf, len(buf), ctypes.byref(n))
        return text_out(buf.raw[:n.value])

    def label(self, fiscal_year: int, grain: "Grain | str | int", index: int) -> str:
        """The label of period `index` (0-based): "FY2026", "FY2026-H1", "FY2026-Q1",
        "FY2026-M03", "FY2026-W05". InvalidError for an index beyond the year."""
        return self._label(_year(fiscal_year), _grain(grain),
                           _convert.index_in(index, "index"))

    def locate(self, day: "datetime.date | str",
               grain: "Grain | str | int" = "month") -> "tuple[int, int]":
        """(fiscal_year, index) of the period holding `day` (a date or ISO string) at
        `grain`; for ISO weeks the fiscal year of the week's Thursday."""
        d, g = _convert.day_of(day), _grain(grain)
        y, i = ctypes.c_int32(), ctypes.c_uint32()
        self._ctx.call(lib.sp_calendar_locate, self, d, g, ctypes.byref(y), ctypes.byref(i))
        return y.value, i.value

    def locate_many(self, dates: "Sequence[datetime.date | str] | numpy.ndarray",
                    grain: "Grain | str | int" = "month", *, form: str = "list") -> "tuple":
        """(fiscal_years, indexes): locate() for a column of dates (dates or ISO strings;
        a numpy datetime64 array or pandas datetime column is converted without a Python
        loop). Lists, or numpy int32/uint32 arrays with form="numpy"."""
        _convert.check_form(form)
        g = _grain(grain)
        col = _dates_in(dates, "dates")
        n = col.count
        ys, yptr = _convert.column_out("int32", n)
        ix, iptr = _convert.column_out("uint32", n)
        self._ctx.call(lib.sp_calendar_locate_many, self, col.ptr, n, g, yptr, iptr)
        return (_convert.as_result(ys, n, "int32", form),
                _convert.as_result(ix, n, "uint32", form))

    def parent(self, fiscal_year: int, grain: "Grain | str | int", index: int,
               parent_grain: "Grain | str | int") -> int:
        """The index of the period at the coarser `parent_grain` holding period `index` of
        `grain` in the same year (the quarter of a month; an ISO week belongs to the
        month of its Thursday)."""
        out = ctypes.c_uint32()
        self._ctx.call(lib.sp_calendar_parent, self, _year(fiscal_year), _grain(grain),
                       _convert.index_in(index, "index"), _grain(parent_grain, "parent_grain"),
                       ctypes.byref(out))
        return out.value

    def working_days(self, first: "datetime.date | str", end: "datetime.date | str") -> int:
        """The working days in [first, end) (end exclusive; 0 when end <= first)."""
        a, b = _convert.day_of(first, "first"), _convert.day_of(end, "end")
        out = ctypes.c_int32()
        self._ctx.call(lib.sp_calendar_working_days, self, a, b, ctypes.byref(out))
        return out.value

    def __repr__(self):
        if self._ptr is None:
            return "<salesplan.Calendar closed>"
        if self._options is None:
            return "<salesplan.Calendar borrowed>"
        o = self._options
        return f"<salesplan.Calendar {o['kind'].name.lower()} from month " \
               f"{o['start_month'] or 1}>"
