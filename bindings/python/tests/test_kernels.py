"""salesplan.Decomposition, the season functions and timesplit."""
from decimal import Decimal as D

import pytest

import salesplan as sp

LY = [1000, 600, 400, 400, 200, 400]   # Co East West r1 r2 r3: last year, rolled up


@pytest.fixture
def h(ctx):
    h = sp.Hierarchy(ctx=ctx)
    h.add_all(["Co", "East", "West", "r1", "r2", "r3"], [None, "Co", "Co", "East", "East", "West"])
    h.set_levels(["company", "region", "rep"])
    h.validate()
    return h


def test_even_and_driver(h):
    d = sp.Decomposition(h)
    assert d.hierarchy is h and d.context is h.context
    # no rules: even splits: 1001 -> East 501, West 500 (the unit to the lower index);
    # East 501 -> r1 251, r2 250
    assert d.run(1001).target == [1001, 501, 500, 251, 250, 500]
    assert d.add_driver("ly", LY) == 0 and d.find_driver("ly") == 0
    d.set_level_rule("region", sp.Rule("driver", driver="ly"))
    d.set_level_rule(2, sp.Rule(sp.DecompMethod.DRIVER, driver=0))
    # 1100 by 600:400 -> 660, 440; 660 by 400:200 -> 440, 220
    r = d.run(1100)
    assert r.target == [1100, 660, 440, 440, 220, 440]
    assert r.flags == [sp.DecompFlag(0)] * 6
    # a node rule overrides the level's: East's children evenly
    d.set_node_rule("East", sp.Rule("even"))
    assert d.run(1100).target == [1100, 660, 440, 330, 330, 440]
    d.set_node_rule(1, None)
    assert d.run(1100).target[3:5] == [440, 220]


def test_locks_and_bounds(h):
    d = sp.Decomposition(h)
    d.add_driver("ly", LY)
    d.set_level_rule(1, sp.Rule("driver", driver="ly"))
    d.set_level_rule(2, sp.Rule("driver", driver="ly"))
    d.lock("r1", 500, "promised to the board")
    assert d.locks() == [sp.Lock(3, 500, "promised to the board")]
    # East 600: r1 locked at 500, r2 takes the 100 left
    r = d.run(1000)
    assert r.target == [1000, 600, 400, 500, 100, 400]
    assert sp.DecompFlag.LOCKED in r.flags[3]
    d.unlock(3)
    assert d.locks() == []
    with pytest.raises(sp.NotFoundError):
        d.unlock(3)
    # West at most 300: East takes the rest
    d.set_bounds("West", 0, 300)
    r = d.run(1000)
    assert r.target[1:3] == [700, 300] and sp.DecompFlag.AT_MAX in r.flags[2]
    d.set_bounds_all(min=[0] * 6, max=None)
    assert d.run(1000).target[1:3] == [600, 400]
    with pytest.raises(sp.InvalidError, match="max: 5 values where 6"):
        d.set_bounds_all(max=[1] * 5)


def test_growth(h):
    d = sp.Decomposition(h)
    d.add_driver("ly", LY)
    d.set_level_rule(1, sp.Rule("growth", driver="ly"))
    d.set_level_rule(2, sp.Rule("growth", driver="ly"))
    r = d.run(1100)
    assert r.target == [1100, 660, 440, 440, 220, 440]
    assert r.growth[1:] == [D("0.1")] * 5 and r.common_growth[0] == D("0.1")
    # East capped at 5 %: East 630, West takes 570 (growth 0.425)
    d.set_growth_limits("East", cap=D("0.05"))
    r = d.run(1200)
    assert r.target[1:3] == [630, 570]
    assert r.growth[1] == D("0.05") and r.growth[2] == D("0.425")
    assert sp.DecompFlag.AT_CAP in r.flags[1]


def test_decomposition_errors(h):
    d = sp.Decomposition(h)
    with pytest.raises(sp.InvalidError, match="values: 5 values where 6"):
        d.add_driver("x", [1] * 5)
    d.add_driver("ly", LY, valid=[True, True, True, True, False, True])
    with pytest.raises(sp.ConflictError):
        d.add_driver("ly", LY)
    with pytest.raises(sp.NotFoundError):
        d.find_driver("nope")
    d.set_level_rule(2, sp.Rule("driver", driver="ly"))
    # r2's value is null: the split fails naming it ...
    with pytest.raises(sp.InvalidError, match="r2"):
        d.run(1000)
    # ... unless nulls count as their siblings' mean
    d.set_level_rule(2, sp.Rule("driver", driver="ly", null_policy="even"))
    assert d.run(1000).target[3:5] == [250, 250]
    with pytest.raises(sp.InvalidError, match="rule.method: unknown DecompMethod 'magic'"):
        d.set_level_rule(1, sp.Rule("magic"))
    with pytest.raises(TypeError, match="rule: expected a salesplan.Rule"):
        d.set_level_rule(1, {"method": "even"})
    with pytest.raises(TypeError, match="rule.growth_cap: expected a Decimal"):
        d.set_level_rule(1, sp.Rule("growth", driver=0, growth_cap=0.1))
    with pytest.raises(sp.InvalidError, match="root"):
        d.lock("Co", 5, "x")
    with pytest.raises(sp.InvalidError, match="reason"):
        d.lock("r1", 5, "")
    with pytest.raises(TypeError, match="total: expected an int, not Decimal"):
        d.run(D(1))
    with pytest.raises(sp.NotFoundError):
        d.lock("nobody", 1, "x")
    assert d.locks() == []
    with pytest.raises(TypeError, match="hierarchy: expected a salesplan.Hierarchy"):
        sp.Decomposition("h")


def test_blend_and_numpy(h):
    np = pytest.importorskip("numpy")
    d = sp.Decomposition(h)
    d.add_driver("ly", np.array(LY, dtype=np.int64))
    d.add_driver("pot", [1000, 500, 500, 250, 250, 500])
    # half last year's shares (0.6, 0.4) and half potential's (0.5, 0.5): 0.55, 0.45
    d.set_level_rule(1, sp.Rule("blend", blend=[("ly", D("0.5")), ("pot", "0.5")]))
    r = d.run(1000, form="numpy")
    assert r.target.tolist()[1:3] == [550, 450]


def test_changed_hierarchy_and_closed(h):
    d = sp.Decomposition(h)
    h.add("r4", "West")
    with pytest.raises(sp.InvalidError, match="changed"):
        d.run(1)
    d.close()
    with pytest.raises(ValueError, match="the decomposition is closed"):
        d.locks()


def test_season_shares(ctx):
    assert sp.season_shares(["0.5", "0.25", "0.25"], ctx=ctx) == [D("0.5"), D("0.25"),
                                                                   D("0.25")]
    # 1:1:1 normalised: 1/3 each, the last 1e-9 to the first (largest remainder, ties low)
    assert sp.season_shares([1, 1, 1], "normalise") == [D("0.333333334"), D("0.333333333"),
                                                        D("0.333333333")]
    with pytest.raises(sp.InvalidError, match="sum to 99.5%, not 100%"):
        sp.season_shares(["0.5", "0.495"])
    with pytest.raises(TypeError, match=r"profile\[0\]: expected a Decimal"):
        sp.season_shares([0.5, 0.5])


def test_season_history():
    # years (10, 30) and (20, 20): shares 0.25/0.75 and 0.5/0.5, averaged 0.375/0.625
    assert sp.season_average_share([10, 30, 20, 20], 2) == [D("0.375"), D("0.625")]
    # two equal years 10 20 30 40: centred 2x4 moving averages are all 25, so the ratios
    # are 30/25, 40/25 (year 1) and 10/25, 20/25 (year 2): 0.4 0.8 1.2 1.6
    assert sp.season_ratio_to_ma([10, 20, 30, 40] * 2, 4) == [D("0.4"), D("0.8"), D("1.2"),
                                                             D("1.6")]
    assert sp.season_ratio_to_ma([10, 20, 30, 40] * 2, 4, average="median") == \
        [D("0.4"), D("0.8"), D("1.2"), D("1.6")]
    with pytest.raises(sp.InvalidError):
        sp.season_average_share([0, 0, 20, 20], 2)
    assert sp.season_average_share([0, 0, 20, 20], 2, zero_policy="even") == [D("0.5"),
                                                                                D("0.5")]
    with pytest.raises(sp.InvalidError):
        sp.season_average_share([10, 30, 20, 20], 2, missing=[False, True, False, False])
    with pytest.raises(sp.InvalidError, match="zero_policy: unknown"):
        sp.season_average_share([1, 1], 2, zero_policy="zero")


def test_timesplit():
    # 7 over 0.5/0.25/0.25 = 3.5, 1.75, 1.75: floors 3 1 1, two units to the .75s
    assert sp.timesplit([100, 7], [[D("0.5"), D("0.25"), D("0.25")]]) == [[50, 25, 25],
                                                                           [3, 2, 2]]
    # two profiles, chosen per node
    assert sp.timesplit([10, 10], [["1", "0"], ["0", "1"]], profile_of=[1, 0]) == [[0, 10],
                                                                                    [10, 0]]
    # period 0 held at 10: 90 over the other two
    assert sp.timesplit([100], [["0.5", "0.25", "0.25"]], held=[[True, False, False]],
                        held_value=[[10, 0, 0]]) == [[10, 45, 45]]
    assert sp.timesplit([1000], [["0.5", "0.5"]], unit=100) == [[500, 500]]
    assert sp.timesplit([1000], [["0.5", "0.5"]], policy="normalise") == [[500, 500]]


def test_timesplit_calendar():
    cal = sp.Calendar(weekend={"sat", "sun"})
    # working days of 2026's quarters (Monday to Friday): 64 65 66 66; even shares weighted
    # by them: 1000 x 64/261 = 245.2, 249.0, 252.9, 252.9 -> 245 249 253 253
    assert [p.working_days for p in cal.periods(2026, "quarter")] == [64, 65, 66, 66]
    assert sp.timesplit([1000], [["0.25"] * 4], calendar=cal, fiscal_year=2026,
                        grain="quarter", weighting="working_days") == [[245, 249, 253, 253]]
    with pytest.raises(sp.InvalidError):
        sp.timesplit([1000], [["0.5", "0.5"]], calendar=cal, fiscal_year=2026, grain="month")
    with pytest.raises(sp.InvalidError, match="fiscal_year: required"):
        sp.timesplit([1000], [["1"]], calendar=cal)


def test_timesplit_errors_and_numpy():
    np = pytest.importorskip("numpy")
    out = sp.timesplit(np.array([100, 7]), [["0.5", "0.25", "0.25"]], form="numpy")
    assert out.shape == (2, 3) and out.tolist() == [[50, 25, 25], [3, 2, 2]]
    with pytest.raises(sp.InvalidError, match=r"profiles\[1\]: 1 shares where the first has 2"):
        sp.timesplit([1], [["0.5", "0.5"], ["1"]])
    with pytest.raises(sp.InvalidError, match="held: 1 rows where 2 nodes"):
        sp.timesplit([1, 1], [["1"]], held=[[True]], held_value=[[1]])
    with pytest.raises(sp.InvalidError, match="held_value: required"):
        sp.timesplit([1], [["1"]], held=[[True]])
    with pytest.raises(sp.InvalidError):
        sp.timesplit([1], [["0.5", "0.4"]])
