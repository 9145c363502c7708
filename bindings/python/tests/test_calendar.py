"""salesplan.Calendar and the day helpers."""
import ctypes
import datetime as dt

import pytest

import salesplan as sp
from salesplan._lib import lib

D = dt.date


def test_day_helpers_against_datetime_and_c():
    assert sp.day_of(D(1970, 1, 1)) == 0
    assert sp.day_of("2026-01-01") == 20454          # calendar.h's example
    assert sp.date_of(20454) == D(2026, 1, 1)
    # against the C conversion, over a spread of days across the supported years
    for d in (D(1, 1, 1), D(1600, 2, 29), D(1969, 12, 31), D(2000, 2, 29), D(2024, 12, 31),
              D(9999, 12, 31)):
        out = ctypes.c_int32()
        assert lib.sp_calendar_day_from_civil(d.year, d.month, d.day, ctypes.byref(out)) == 0
        assert sp.day_of(d) == out.value == (d - D(1970, 1, 1)).days
        y, m, md = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int32()
        assert lib.sp_calendar_civil_from_day(out.value, ctypes.byref(y), ctypes.byref(m),
                                              ctypes.byref(md)) == 0
        assert sp.date_of(out.value) == D(y.value, m.value, md.value) == d


def test_day_helper_errors():
    with pytest.raises(sp.InvalidError, match="day: '2026-02-30' is not a date"):
        sp.day_of("2026-02-30")
    with pytest.raises(sp.InvalidError, match="not a date"):
        sp.day_of("20260101")
    with pytest.raises(TypeError, match="day: expected a datetime.date .* not datetime"):
        sp.day_of(dt.datetime(2026, 1, 1, 12))
    with pytest.raises(TypeError, match="not int"):
        sp.day_of(20454)
    with pytest.raises(sp.InvalidError, match="outside the years 1 to 9999"):
        sp.date_of(3000000)
    with pytest.raises(TypeError, match="expected an int day number"):
        sp.date_of("20454")


def test_nrf_454():
    nrf = sp.Calendar("nrf_454")
    # NRF: FY2024 is 2024-02-04 .. 2025-02-01 (end exclusive: 2025-02-02), 52 weeks
    year = nrf.periods(2024, "year")
    assert year == [sp.Period(D(2024, 2, 4), D(2025, 2, 2), 364, "FY2024")]
    months = nrf.periods(2024, sp.Grain.MONTH)
    # 4-5-4 weeks per quarter
    assert [(p.end - p.first).days // 7 for p in months] == [4, 5, 4] * 4
    assert months[1].label == "FY2024-M02" and months[0].first == D(2024, 2, 4)
    # FY2023 has 53 weeks and ends 2024-02-03; the 53rd week is in the last month
    assert len(nrf.periods(2023, "week")) == 53
    assert nrf.periods(2023, "month")[-1].end == D(2024, 2, 4)
    assert (nrf.periods(2023, "month")[-1].end - nrf.periods(2023, "month")[-1].first).days \
        == 35
    o = nrf.options
    assert o["kind"] == sp.CalendarKind.RETAIL_454 and o["start_month"] == 2
    assert o["label"] == sp.FiscalLabel.START and o["year_end_weekday"] == 6
    assert o["year_end_rule"] == sp.YearEndRule.NEAREST


def test_presets_and_explicit_fields():
    civil = sp.Calendar()
    assert civil.periods(2026, "quarter")[3] == sp.Period(D(2026, 10, 1), D(2027, 1, 1), 92,
                                                          "FY2026-Q4")
    assert civil.options["label"] is None and civil.options["kind"] == sp.CalendarKind.MONTHS
    # US federal: FY2026 = 2025-10-01 .. 2026-09-30
    fed = sp.Calendar(sp.CalendarPreset.OCTOBER_END)
    assert fed.periods(2026, "year")[0][:2] == (D(2025, 10, 1), D(2026, 10, 1))
    # the same by hand
    own = sp.Calendar(start_month=10, label="end")
    assert own.periods(2026, "year")[0][:2] == (D(2025, 10, 1), D(2026, 10, 1))
    # NRF with months of 4-4-5 by overriding the kind
    r445 = sp.Calendar("nrf_454", kind="retail_445")
    assert [(p.end - p.first).days // 7 for p in r445.periods(2024, "month")[:3]] == [4, 4, 5]
    # a retail calendar from fields alone, equal to the NRF preset
    own_nrf = sp.Calendar(kind="retail_454", start_month=2, label="start",
                          year_end_weekday="saturday", year_end_rule="nearest")
    assert own_nrf.periods(2024, "year") == sp.Calendar("nrf_454").periods(2024, "year")


def test_working_days_china_2025():
    # docs/calendar.md: China's 2025 schedule, 248 working days
    off = [("2025-01-01", "2025-01-01"), ("2025-01-28", "2025-02-04"),
           ("2025-04-04", "2025-04-06"), ("2025-05-01", "2025-05-05"),
           ("2025-05-31", "2025-06-02"), ("2025-10-01", "2025-10-08")]
    work = ["2025-01-26", D(2025, 2, 8), "2025-04-27", "2025-09-28", ("2025-10-11",
                                                                       "2025-10-11")]
    cn = sp.Calendar(weekend={"saturday", "sun"}, holidays=off, workdays=work)
    months = cn.periods(2025, "month")
    assert [p.working_days for p in months] == [19, 19, 21, 22, 19, 20, 23, 21, 23, 18, 20, 23]
    assert cn.working_days("2025-01-01", "2026-01-01") == 248
    # by hand: 2025-01-27 (Mon) is a working day, 01-28 .. 02-04 off: Jan 27 to Feb 5
    # (exclusive) has Jan 27 only, plus nothing else
    assert cn.working_days(D(2025, 1, 27), D(2025, 2, 5)) == 1
    assert cn.working_days("2025-02-05", "2025-02-01") == 0
    o = cn.options
    assert o["weekend"] == sp.WeekdayBits.SATURDAY | sp.WeekdayBits.SUNDAY
    assert o["holidays"][1] == (D(2025, 1, 28), D(2025, 2, 4))
    assert o["workdays"][1] == (D(2025, 2, 8), D(2025, 2, 8))
    # the options are a copy
    o["holidays"].clear()
    assert len(cn.options["holidays"]) == 6


def test_locate_parent_label():
    civil = sp.Calendar(weekend=sp.WeekdayBits.SATURDAY | sp.WeekdayBits.SUNDAY)
    assert civil.locate("2026-05-17", "month") == (2026, 4)
    assert civil.locate(D(2026, 5, 17), "quarter") == (2026, 1)
    # ISO weeks: 2021-01-03 is in FY2020-W53 (calendar.h)
    assert civil.locate("2021-01-03", "week") == (2020, 52)
    assert civil.parent(2026, "month", 4, "quarter") == 1
    assert civil.parent(2026, "month", 11, "half") == 1
    assert civil.label(2026, "month", 2) == "FY2026-M03"
    assert civil.label(2026, "half", 0) == "FY2026-H1"
    assert civil.label(2026, "week", 4) == "FY2026-W05"


def test_locate_many():
    civil = sp.Calendar()
    ys, ix = civil.locate_many(["2026-01-01", D(2025, 12, 31)], "month")
    assert ys == [2026, 2025] and ix == [0, 11]
    assert civil.locate_many([], "month") == ([], [])
    with pytest.raises(sp.InvalidError, match=r"dates\[1\]: 'x' is not a date"):
        civil.locate_many(["2026-01-01", "x"])
    with pytest.raises(TypeError, match="dates: expected a column of dates, not a single"):
        civil.locate_many("2026-01-01")


def test_locate_many_numpy_pandas():
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    nrf = sp.Calendar("nrf_454")
    days = np.array(["2024-02-03", "2024-02-04", "2025-02-01"], dtype="datetime64[D]")
    ys, ix = nrf.locate_many(days, "month", form="numpy")
    # 2024-02-03 is FY2023's last day (its month 12, index 11)
    assert ys.tolist() == [2023, 2024, 2024] and ix.tolist() == [11, 0, 11]
    # datetime64 of another unit, and a pandas column
    ys, ix = nrf.locate_many(pd.Series(pd.to_datetime(["2024-02-04 13:00"])), "year")
    assert (ys, ix) == ([2024], [0])
    with pytest.raises(sp.InvalidError, match=r"dates\[1\]: not a date \(NaT\)"):
        nrf.locate_many(np.array(["2024-02-04", "NaT"], dtype="datetime64[D]"))


def test_errors():
    with pytest.raises(sp.InvalidError, match="preset: unknown CalendarPreset 'nrf'"):
        sp.Calendar("nrf")
    with pytest.raises(sp.InvalidError, match="calendar: label is not set"):
        sp.Calendar(start_month=4)
    with pytest.raises(sp.InvalidError, match="start_month: 13 is not a month"):
        sp.Calendar(start_month=13)
    with pytest.raises(sp.InvalidError, match="year_end_weekday is 6, but a months calendar"):
        sp.Calendar(year_end_weekday=6)
    with pytest.raises(sp.InvalidError, match="year_end_rule is not set"):
        sp.Calendar(kind="retail_454", start_month=2, label="start", year_end_weekday=6)
    with pytest.raises(sp.InvalidError, match=r"holiday_ranges\[0\] = \(2025-02-04, 2025-01-28\)"
                                              r" is reversed"):
        sp.Calendar(holidays=[("2025-02-04", "2025-01-28")])
    with pytest.raises(sp.InvalidError, match="2026-01-05 is a Monday, not a weekend day"):
        sp.Calendar(weekend={"saturday", "sunday"}, workdays=[("2026-01-03", "2026-01-05")])
    with pytest.raises(sp.InvalidError, match="weekend: 'caturday' is not a weekday"):
        sp.Calendar(weekend={"caturday"})
    with pytest.raises(TypeError, match=r"holidays\[0\]: expected a \(first, last\) pair"):
        sp.Calendar(holidays=[("2025-01-01", "2025-01-02", "2025-01-03")])
    with pytest.raises(sp.InvalidError, match=r"holidays\[0\]\[1\]: 'x' is not a date"):
        sp.Calendar(holidays=[("2025-01-01", "x")])
    with pytest.raises(TypeError, match="year_end_weekday: expected an ISO weekday"):
        sp.Calendar("nrf_454", year_end_weekday=6.0)
    nrf = sp.Calendar("nrf_454")
    with pytest.raises(sp.InvalidError, match="FY2025 has 52 weeks, no index 52"):
        nrf.label(2025, "week", 52)
    with pytest.raises(sp.InvalidError, match="grain: unknown Grain 'fortnight'"):
        nrf.periods(2024, "fortnight")
    with pytest.raises(sp.InvalidError, match="grain: 9 is no Grain"):
        nrf.periods(2024, 9)
    with pytest.raises(sp.InvalidError, match="fiscal_year: 10000 is outside"):
        nrf.periods(10000)
    with pytest.raises(TypeError, match="fiscal_year: expected an int year"):
        nrf.periods("2024")
    with pytest.raises(sp.InvalidError):
        nrf.parent(2024, "quarter", 0, "month")   # a month is not coarser than a quarter


def test_closed(ctx):
    c = sp.Calendar(ctx=ctx)
    assert c.context is ctx
    c.close()
    with pytest.raises(ValueError, match="the calendar is closed"):
        c.periods(2026)
