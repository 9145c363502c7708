"""Commission plans and runs (salesplan.commission over salesplan/commission.h).

The fixtures are tests/test_commission_api.c's, each value derived by hand there and again
here:

  MARGINAL: monthly tiers on the credited amount, 5 % up to 100.00 and 10 % above.
  A sells 60.00 (fact 1, Jan 5) then 70.00 (fact 2, Jan 20); B 50.00 (fact 3, Jan 9); X,
  no payee, 10.00 (fact 4); A 999.00 on Feb 1 (fact 5, outside January).
    A, line 0: 0 -> 60: 60 x 5 % = 3.00 (tier 0 -> 0).
    A, line 1: 60 -> 130: 40 x 5 % + 30 x 10 % = 2.00 + 3.00 = 5.00 (tier 0 -> 1).
    A: 8.00 = 100 x 5 % + 30 x 10 %, measure 130.00.   B: 50 x 5 % = 2.50.
  RETRO: retroactive on attainment, 2 % below 100 %, 4 % of the whole from 100 %; quotas
  100.00 each. A: line 0 at 60 %: 60 x 2 % = 1.20; line 1 reaches 130 %: 130 x 4 % =
  5.20, so 4.00 more: own 70 x 4 % = 2.80 and the true-up of line 0, 60 x (4 % - 2 %) =
  1.20. B at 50 %: 50 x 2 % = 1.00.
  SPLIT: MARGINAL with "splits": "facts"; fact 2 (70.00 of A) split 50/50 between A and
  B: A 60 + 35 = 95: 95 x 5 % = 4.75; B 50 + 35 = 85: 4.25.
"""
import ctypes
import datetime
import decimal
import json

import pytest

import salesplan as sp
from salesplan import _ffi, commission

D = decimal.Decimal
day = datetime.date

MARGINAL = ('{"plan": "AE", "name": "Account executives", '
            '"effective": {"from": "2027-01-01", "to": "2027-12-31"}, "currency": "USD", '
            '"components": [{"id": "sales", "measure": {"kind": "amount"}, '
            '"period": "month", "schedule": {"kind": "marginal", "tiers": '
            '[{"rate": "5%"}, {"from": 100, "rate": "10%"}]}}]}')

RETRO = ('{"plan": "R", "effective": {"from": "2027-01-01"}, "currency": "USD", '
         '"components": [{"id": "att", "measure": {"kind": "amount"}, '
         '"period": "month", "quota": {"given": true}, "schedule": {"kind": '
         '"retroactive", "on": "attainment", "tiers": [{"rate": "2%"}, '
         '{"from": "100%", "rate": "4%"}]}}]}')

SPLIT = ('{"plan": "S", "effective": {"from": "2027-01-01"}, "currency": "USD", '
         '"components": [{"id": "sales", "measure": {"kind": "amount"}, '
         '"period": "month", "schedule": {"kind": "marginal", "tiers": '
         '[{"rate": "5%"}, {"from": 100, "rate": "10%"}]}, '
         '"crediting": {"splits": "facts"}}]}')

A, B, X = 0, 1, 2


def facts():
    """test_commission_api.c's order lines, amounts in cents."""
    return {"id": [1, 2, 3, 4, 5],
            "day": [day(2027, 1, 5), day(2027, 1, 20), day(2027, 1, 9), day(2027, 1, 9),
                    day(2027, 2, 1)],
            "rep": [A, A, B, X, A], "amount": [6000, 7000, 5000, 1000, 99900]}


@pytest.fixture
def ids(ctx):
    return sp.Dictionary(["A", "B", "X"], ctx=ctx)


def january(doc, ctx, **kw):
    return sp.CommissionRun(sp.CommissionPlan(doc, ctx=ctx), fiscal_year=2027, **kw)


def computed(doc, ctx, ids, payees=("A", "B"), **kw):
    run = january(doc, ctx, **kw)
    run.set_payees(list(payees), ids)
    return run


# ---- plans ----

def test_plan_from_every_form_reads_the_same(ctx, tmp_path):
    p = sp.CommissionPlan(MARGINAL, ctx=ctx)
    canonical = p.document
    path = tmp_path / "plan.json"
    path.write_text(MARGINAL)
    as_dict = json.loads(MARGINAL)
    as_dict["components"][0]["schedule"]["tiers"] = [{"rate": D("0.05")},
                                                     {"from": D("100.00"), "rate": D("0.1")}]
    for form in (MARGINAL.encode(), path, as_dict, canonical):
        assert sp.CommissionPlan(form, ctx=ctx).document == canonical
    # the canonical form: rates as decimals, defaults written; reading it gives the same
    # bytes back
    assert '"rate":0.05' in canonical and '"basis":"booking"' in canonical
    d = p.as_dict()
    assert d["plan"] == "AE" and d["components"][0]["schedule"]["tiers"][0]["rate"] == \
        D("0.05")
    assert repr(p) == "<salesplan.CommissionPlan 'AE' USD 2027-01-01..2027-12-31, 1 component>"


def test_plan_info_and_components(ctx):
    p = sp.CommissionPlan(MARGINAL, ctx=ctx)
    i = p.info
    assert (i.id, i.name, i.currency, i.exponent) == ("AE", "Account executives", "USD", 2)
    assert (i.effective_from, i.effective_to) == (day(2027, 1, 1), day(2027, 12, 31))
    assert i.rounding is sp.Rounding.HALF_EVEN and i.policy is sp.CommissionPolicy.PER_TOTAL
    assert (i.revision, i.ncomponents) == (0, 1)
    # the plan's calendar ("civil" by default): twelve months from January
    months = i.calendar.periods(2027, "month")
    assert len(months) == 12 and months[0].first == day(2027, 1, 1)
    assert i.calendar.options is None
    assert p.components == [sp.CommissionComponent("sales", sp.CommissionMeasure.AMOUNT,
                                                   sp.Grain.MONTH, False)]
    r = sp.CommissionPlan(RETRO, ctx=ctx)
    assert r.info.effective_to is None and r.info.name is None
    assert r.components[0].on_attainment is True
    per_line = json.loads(RETRO)
    per_line["rounding"] = {"mode": "half_up", "policy": "per_line"}
    i = sp.CommissionPlan(per_line, ctx=ctx).info
    assert (i.rounding, i.policy) == (sp.Rounding.HALF_UP, sp.CommissionPolicy.PER_LINE)


def test_bad_documents_name_what_is_wrong(ctx, tmp_path):
    with pytest.raises(sp.InvalidError, match=r"commission plan: plan: expected a string, "
                                              r"found 1 \(line 1, column 10, byte 9\)"):
        sp.CommissionPlan('{"plan": 1}', ctx=ctx)
    bad = MARGINAL.replace('"tiers"', '"tier"')
    with pytest.raises(sp.InvalidError, match=r"components\[0\]\.schedule: unknown field "
                                              r"'tier'; did you mean 'tiers'\?"):
        sp.CommissionPlan(bad, ctx=ctx)
    with pytest.raises(sp.InvalidError, match=r"amount 10\.001 has more than 2 decimals"):
        sp.CommissionPlan(MARGINAL.replace('"from": 100', '"from": 10.001'), ctx=ctx)
    with pytest.raises(TypeError, match="document: expected a JSON str or bytes, a dict or a "
                                        "path, not int"):
        sp.CommissionPlan(42, ctx=ctx)
    with pytest.raises(TypeError, match="document: keys must be str, not int"):
        sp.CommissionPlan({1: "x"}, ctx=ctx)
    with pytest.raises(sp.InvalidError, match="document: not valid Unicode"):
        sp.CommissionPlan('{"plan": "\ud800"}', ctx=ctx)
    with pytest.raises(FileNotFoundError):
        sp.CommissionPlan(tmp_path / "absent.json", ctx=ctx)
    p = sp.CommissionPlan(MARGINAL, ctx=ctx)
    p.close()
    assert p.closed and repr(p) == "<salesplan.CommissionPlan closed>"
    with pytest.raises(ValueError, match="commission plan is closed"):
        p.document  # noqa: B018
    with pytest.raises(ValueError, match="commission plan is closed"):
        sp.CommissionRun(p, fiscal_year=2027)


# ---- runs ----

def test_a_marginal_run(ctx, ids):
    plan = sp.CommissionPlan(MARGINAL, ctx=ctx)
    run = sp.CommissionRun(plan, fiscal_year=2027, grain="month", index=0)
    plan.close()  # the run holds its own copy
    run.set_payees(["A", "B"], ids)
    assert run.payees == ["A", "B"]
    assert run.components[0].id == "sales"
    assert run.info.computed is False and run.info.first_day is None
    with pytest.raises(sp.InvalidError, match=r"commission run: not computed yet"):
        run.statement("A")
    run.compute(facts(), ids)
    i = run.info
    assert (i.computed, i.npayees, i.ncomponents, i.nlines) == (True, 2, 1, 3)
    assert (i.first_day, i.end_day) == (day(2027, 1, 1), day(2027, 2, 1))
    # four lines in January; X's is skipped and counted; A's February line not read
    assert (i.lines_read, i.refunds_read, i.not_payee, i.totals_path) == (4, 0, 1, False)

    s = run.statement("A")
    assert (s.payee, s.index, s.dictionary_index) == ("A", 0, A)
    assert s.total == D("8.00") and s.components == {"sales": D("8.00")}
    assert s.measures == {"sales": D("130.00")} and s.quotas is None
    assert (s.rounding, s.policy) == (sp.Rounding.HALF_EVEN, sp.CommissionPolicy.PER_TOTAL)
    assert len(s) == s.nlines == 2 and s.minor is False
    l0, l1 = s.lines
    assert l0 == sp.CommissionLine(1, "sales", sp.CommissionLineKind.ORDER, day(2027, 1, 5),
                                   D(1), D("60.00"), D("3.00"), D("3.00"), D(0), D("0.05"),
                                   0, 0)
    assert (l1.fact, l1.base, l1.earned, l1.own, l1.true_up) == (2, D(70), D(5), D(5), D(0))
    assert (l1.rate, l1.tier_before, l1.tier_after, l1.modifiers) == (D("0.1"), 0, 1, D(0))
    assert sum(l.earned for l in s.lines) == s.total
    assert repr(s) == "<salesplan.CommissionStatement 'A': total 8.00, 2 lines>"
    b = run.statement(1)
    assert (b.payee, b.total, b.nlines) == ("B", D("2.50"), 1)
    m = run.statement("A", minor=True)
    assert (m.total, m.components, m.measures) == (800, {"sales": 800}, {"sales": 13000})
    assert (m.lines[1].earned, m.lines[1].base, m.lines[1].rate) == (500, 7000, D("0.1"))
    assert run.totals() == {"A": D("8.00"), "B": D("2.50")}
    assert run.totals(minor=True) == {"A": 800, "B": 250}
    assert [st.total for st in run.statements()] == [D("8.00"), D("2.50")]
    assert repr(run) == "<salesplan.CommissionRun of 'AE' FY2027 month 0: 2 payees>"
    with pytest.raises(sp.InvalidError, match="payee: position 2 is beyond the run's 2 "
                                              "payees"):
        run.statement(2)
    with pytest.raises(sp.NotFoundError, match='payee: "X" is no payee of the run'):
        run.statement("X")


def test_explain(ctx, ids):
    run = computed(MARGINAL, ctx, ids)
    run.compute(facts(), ids)
    e = run.explain("A", 1)
    # the measure 60 -> 130, crossing into tiers[1] at 10 %: 40 x 5 % + 30 x 10 % = 5.00
    assert {k: e[k] for k in ("plan", "payee", "component", "path", "kind", "fact", "day",
                              "share", "base", "measure_before", "measure_after", "rate",
                              "earned", "own", "true_up", "modifiers")} == {
        "plan": "AE", "payee": "A", "component": "sales", "path": "components[0]",
        "kind": "order", "fact": 2, "day": "2027-01-20", "share": 1, "base": 70,
        "measure_before": 60, "measure_after": 130, "rate": D("0.1"), "earned": 5,
        "own": 5, "true_up": 0, "modifiers": 0}
    assert e["tier_after"] == {"index": 1, "path": "components[0].schedule.tiers[1]"}
    assert e["rounding"] == {"mode": "half_even", "policy": "per_total"}
    t = run.explain(0)
    assert t["total"] == 8 and t["components"][0]["measure"] == 130
    assert t["components"][0]["lines"] == 2 and t["components"][0]["tier"]["index"] == 1
    assert (t["components"][0]["from"], t["components"][0]["to"]) == ("2027-01-01",
                                                                     "2027-01-31")
    with pytest.raises(sp.InvalidError, match='explain: payee "B" has 1 lines, not 2'):
        run.explain("B", 1)
    with pytest.raises(sp.InvalidError, match="line: index -1 is outside"):
        run.explain("B", -1)


def test_explain_grows_its_buffer(ctx):
    # a payee id of 3000 bytes: the text is longer than the first buffer (2048)
    long_id = "P" * 3000
    ids = sp.Dictionary([long_id], ctx=ctx)
    run = january(MARGINAL, ctx)
    run.set_payees([long_id], ids)
    run.compute({"id": [1], "day": [day(2027, 1, 2)], "rep": [0], "amount": [100]}, ids)
    assert run.explain(long_id)["payee"] == long_id
    assert run.explain(long_id, 0)["payee"] == long_id


def test_totals_only(ctx, ids):
    run = computed(MARGINAL, ctx, ids, payees=("B", "A"), totals_only=True)
    run.compute(facts(), ids)
    assert run.info.totals_path is True and run.info.nlines == 0
    assert run.totals() == {"B": D("2.50"), "A": D("8.00")}
    s = run.statement("A")
    assert (s.total, s.nlines, s.lines) == (D("8.00"), 0, [])
    with pytest.raises(sp.InvalidError, match="the run kept totals only"):
        run.explain("B", 0)
    t = run.explain("A")
    assert t["total"] == 8 and "lines" not in t["components"][0]


# ---- payees ----

def test_set_payees_by_id_index_or_numpy(ctx, ids):
    run = january(MARGINAL, ctx)
    run.set_payees([B, "A"], ids)
    assert run.payees == ["B", "A"]
    run.compute(facts(), ids)
    assert run.statement(0).total == D("2.50") and run.statement("A").index == 1
    np = pytest.importorskip("numpy")
    run.set_payees(np.array([A], dtype="int64"), ids)
    assert run.payees == ["A"] and run.info.computed is False  # results cleared


@pytest.mark.parametrize("payees,exc,message", [
    (["A", "Z"], sp.NotFoundError, r'payees\[1\]: id "Z" is not in the dictionary'),
    ([0, 3], sp.NotFoundError, r"payees\[1\]: index 3 is beyond the dictionary's 3 ids"),
    (["A", A], sp.InvalidError, r'payees\[1\]: "A" is already payees\[0\]'),
    ([1.0], TypeError, r"payees\[0\]: expected an id \(str\) or an index \(int\), not float"),
    ([-1], sp.InvalidError, r"payees\[0\]: index -1 is outside"),
    ("A", TypeError, "payees: expected a sequence of ids or indexes, not str"),
    (7, TypeError, "payees: expected a sequence of ids or indexes, not int"),
])
def test_bad_payees_change_nothing(ctx, ids, payees, exc, message):
    run = computed(MARGINAL, ctx, ids)
    run.compute(facts(), ids)
    with pytest.raises(exc, match=message):
        run.set_payees(payees, ids)
    assert run.payees == ["A", "B"] and run.totals() == {"A": D("8.00"), "B": D("2.50")}


def test_set_payees_needs_a_dictionary(ctx):
    run = january(MARGINAL, ctx)
    with pytest.raises(TypeError, match="dictionary: expected a salesplan.Dictionary, not "
                                        "dict"):
        run.set_payees(["A"], {"A": 0})


def test_computing_with_another_dictionary_names_its_ids(ctx, ids):
    # the run's payees are dictionary indexes: with a dictionary that holds B at 0 and A
    # at 1, payee 0 is B
    run = computed(MARGINAL, ctx, ids)
    other = sp.Dictionary(["B", "A", "X"], ctx=ctx)
    f = facts()
    f["rep"] = [1, 1, 0, 2, 1]
    run.compute(f, other)
    assert run.payees == ["B", "A"]
    assert run.totals() == {"B": D("2.50"), "A": D("8.00")}


# ---- quotas ----

@pytest.mark.parametrize("quotas,minor", [
    ({"A": 100, "B": D("100.00")}, False),
    ({"A": {"att": "100"}, 1: {"att": D(100)}}, False),
    ([[D(100)], [D(100)]], False),
    ([100, "100.00"], False),
    ({"A": 10000, "B": 10000}, True),
])
def test_quotas_in_every_form(ctx, ids, quotas, minor):
    run = computed(RETRO, ctx, ids)
    run.set_quotas(quotas, minor=minor)
    run.compute(facts(), ids)
    a = run.statement("A")
    assert a.total == D("5.20") and a.quotas == {"att": D("100.00")}
    assert [l.earned for l in a.lines] == [D("1.20"), D("4.00")]
    assert (a.lines[1].own, a.lines[1].true_up) == (D("2.80"), D("1.20"))
    assert run.statement("B").total == D("1.00")
    e = run.explain("A", 1)
    assert e["quota"] == 100 and e["true_up"] == D("1.2")


def test_quotas_from_numpy(ctx, ids):
    np = pytest.importorskip("numpy")
    run = computed(RETRO, ctx, ids)
    with pytest.raises(TypeError, match="quotas: a numpy array of money quotas needs "
                                        "minor=True"):
        run.set_quotas(np.array([[10000], [10000]]))
    with pytest.raises(sp.InvalidError, match=r"quotas: shape \(1, 2\) where \(2, 1\)"):
        run.set_quotas(np.array([[10000, 10000]]), minor=True)
    run.set_quotas(np.array([[10000], [10000]]), minor=True)
    run.compute(facts(), ids)
    assert run.totals(minor=True) == {"A": 520, "B": 100}
    assert run.to_numpy()["quotas"].tolist() == [[10000], [10000]]


@pytest.mark.parametrize("quotas,exc,message", [
    ({"A": 100}, sp.InvalidError, 'quotas: no quota for payee "B"'),
    ({"A": 100, "Z": 1}, sp.NotFoundError, r'quotas\["Z"\]: "Z" is no payee of the run'),
    ({"A": 100, 2: 1}, sp.InvalidError, r"quotas\[2\]: position 2 is beyond the run's 2"),
    ({"A": 100, 0: 1}, sp.InvalidError, r'quotas\[0\]: payee "A" is already given'),
    ({"A": {"x": 1}, "B": 1}, sp.InvalidError,
     r'quotas\["A"\]: "x" is no component of the plan \(att\)'),
    ({"A": {}, "B": 1}, sp.InvalidError,
     r'quotas\["A"\]: no quota for component "att" \(on attainment\)'),
    ({"A": 100.0, "B": 1}, TypeError, "money and rates never pass through floating point"),
    ({"A": "100.001", "B": 1}, sp.InvalidError,
     r'quotas\["A"\]\["att"\]: 100.001 has more decimal places than the currency has'),
    ([100], sp.InvalidError, "quotas: 1 rows where 2 payees are given"),
    ([[100, 1], [100]], sp.InvalidError,
     r"quotas\[0\]: 2 quotas where the plan has 1 components"),
    ({"A": -1, "B": 1}, sp.InvalidError,
     r'quotas\[0\] \(payee 0, components\[0\] \("att"\)\): -100 is negative'),
    ("100", TypeError, r"quotas: expected a sequence of rows \(or a mapping\), not str"),
])
def test_bad_quotas_change_nothing(ctx, ids, quotas, exc, message):
    run = computed(RETRO, ctx, ids)
    run.set_quotas([100, 100])
    run.compute(facts(), ids)
    with pytest.raises(exc, match=message):
        run.set_quotas(quotas)
    assert run.info.computed and run.totals() == {"A": D("5.20"), "B": D("1.00")}


def test_quotas_of_two_components(ctx, ids):
    # RETRO's "att" and a flat 1 % of the amount, "sales" (no quota): A 5.20 + 130 x 1 %
    # = 6.50; B 1.00 + 50 x 1 % = 1.50
    doc = json.loads(RETRO)
    doc["components"].append({"id": "sales", "measure": {"kind": "amount"},
                              "period": "month",
                              "schedule": {"kind": "flat", "tiers": [{"rate": "1%"}]}})
    run = sp.CommissionRun(sp.CommissionPlan(doc, ctx=ctx), fiscal_year=2027)
    run.set_payees(["A", "B"], ids)
    with pytest.raises(sp.InvalidError, match=r'quotas\["A"\]: the plan has 2 components: '
                                              r"give \{component id: quota\}"):
        run.set_quotas({"A": 100, "B": 100})
    with pytest.raises(TypeError, match=r"quotas\[0\]: expected a sequence of quotas, not "
                                        r"int"):
        run.set_quotas([7, [1, 2]])
    with pytest.raises(sp.InvalidError, match=r"quotas\[1\]: 1 quotas where the plan has 2 "
                                              r"components"):
        run.set_quotas([[100, 0], [100]])
    run.set_quotas([[100, 0], [100, 0]])
    run.compute(facts(), ids)
    assert run.totals() == {"A": D("6.50"), "B": D("1.50")}
    run.set_quotas({"A": {"att": 100}, "B": {"att": 100, "sales": 5}})
    run.compute(facts(), ids)
    b = run.statement("B")
    assert b.components == {"att": D("1.00"), "sales": D("0.50")}
    assert b.quotas == {"att": D("100.00"), "sales": D("5.00")}
    assert run.statement("A").quotas == {"att": D("100.00"), "sales": D("0.00")}


def test_minor_quotas_take_ints_only(ctx, ids):
    run = computed(RETRO, ctx, ids)
    with pytest.raises(TypeError, match=r'quotas\["A"\]\["att"\]: expected an int of minor '
                                        r'units, not Decimal'):
        run.set_quotas({"A": D(100), "B": 1}, minor=True)


def test_quotas_are_needed_and_cleared_by_new_payees(ctx, ids):
    run = computed(RETRO, ctx, ids)
    with pytest.raises(sp.InvalidError, match=r'components\[0\] \("att"\)\.schedule\.on: a '
                                              r"schedule on attainment needs the payees' "
                                              r"quotas"):
        run.compute(facts(), ids)
    run.set_quotas([100, 0])
    with pytest.raises(sp.InvalidError, match=r'payee "B": components\[0\] \("att"\): the '
                                              r"quota is 0"):
        run.compute(facts(), ids)
    run.set_quotas([100, 100])
    run.set_payees(["A"], ids)
    with pytest.raises(sp.InvalidError, match="needs the payees' quotas"):
        run.compute(facts(), ids)


def test_units_quotas_are_ints(ctx):
    units = json.loads(RETRO)
    units["components"][0]["measure"]["kind"] = "quantity"
    units["components"][0]["schedule"]["tiers"] = [{"per_unit": 1},
                                                    {"from": "100%", "per_unit": 2}]
    ids = sp.Dictionary(["A"], ctx=ctx)
    run = sp.CommissionRun(sp.CommissionPlan(units, ctx=ctx), fiscal_year=2027)
    run.set_payees(["A"], ids)
    with pytest.raises(TypeError, match=r'quotas\["A"\]\["att"\]: expected an int, not str'):
        run.set_quotas({"A": "10"})
    run.set_quotas({"A": 10})
    # 12 units against a quota of 10: 120 %, retroactive: 12 x 2.00 = 24.00
    run.compute({"id": [1], "day": [day(2027, 1, 3)], "rep": [0], "amount": [100],
                 "quantity": [12]}, ids)
    s = run.statement("A")
    assert (s.total, s.measures, s.quotas) == (D("24.00"), {"att": 12}, {"att": 10})
    assert s.lines[0].rate == D("2.00") and s.lines[0].base == 12


# ---- splits ----

def test_splits(ctx, ids):
    run = computed(SPLIT, ctx, ids)
    run.set_splits([2, 2], ["A", "B"], [D("0.5"), "0.5"])
    run.compute(facts(), ids)
    a, b = run.statement("A"), run.statement("B")
    assert (a.measures, a.total) == ({"sales": D("95.00")}, D("4.75"))
    assert (b.measures, b.total) == ({"sales": D("85.00")}, D("4.25"))
    assert b.nlines == 2 and b.lines[1].share == D("0.5") and b.lines[1].fact == 2
    # by position, and the same again with ints of billionths
    run.set_splits([2, 2], [0, 1], [D("0.5"), D("0.5")])
    run.compute(facts(), ids)
    assert run.totals() == {"A": D("4.75"), "B": D("4.25")}
    # no table: back to the reps
    run.set_splits([], [], [])
    run.compute(facts(), ids)
    assert run.totals() == {"A": D("8.00"), "B": D("2.50")}


def test_splits_from_numpy(ctx, ids):
    np = pytest.importorskip("numpy")
    run = computed(SPLIT, ctx, ids)
    with pytest.raises(TypeError, match="shares: a numpy array of shares needs "
                                        "billionths=True"):
        run.set_splits(np.array([2, 2]), np.array([0, 1]), np.array([5, 5]))
    run.set_splits(np.array([2, 2], dtype="uint64"), np.array([0, 1], dtype="uint32"),
                   np.array([500_000_000, 500_000_000]), billionths=True)
    run.compute(facts(), ids)
    assert run.totals(minor=True) == {"A": 475, "B": 425}


@pytest.mark.parametrize("args,exc,message", [
    (([2, 2], ["A", "B"], ["0.5", "0.4999999999"]), sp.InvalidError,
     r"shares\[1\]: 0.4999999999 has more decimal places than an sp_dec holds"),
    (([2, 2], ["A", "B"], ["0.5", "0.499999999"]), sp.InvalidError,
     r"commission splits: fact 2: shares sum to 99.9999999%, not 100%"),
    (([2, 2], ["A", "B"], ["50%", "50%"]), sp.InvalidError,
     r"shares\[0\]: '50%' is a percentage: give the share as a decimal fraction"),
    (([2, 2], ["A", "B"], [0.5, 0.5]), TypeError, r"shares\[0\]: expected a Decimal"),
    (([2, 2], ["A", "Z"], ["0.5", "0.5"]), sp.NotFoundError,
     r'payees\[1\]: "Z" is no payee of the run'),
    (([2, 2], [0, 2], ["0.5", "0.5"]), sp.InvalidError,
     r"payees\[1\]: position 2 is beyond the run's 2 payees"),
    (([2, 2], ["A"], ["0.5", "0.5"]), sp.InvalidError, "payees: 1 values where 2 are needed"),
    (([2, 2], ["A", "B"], ["1"]), sp.InvalidError, "shares: 1 values where 2 are needed"),
    (([2, -2], ["A", "B"], ["1"]), sp.ExactOverflowError, r"fact_ids\[1\]: -2 does not fit"),
    (([2, 2], "AB", ["1"]), TypeError, "payees: expected a sequence of payees, not str"),
])
def test_bad_splits_change_nothing(ctx, ids, args, exc, message):
    run = computed(SPLIT, ctx, ids)
    run.set_splits([2, 2], ["A", "B"], ["0.5", "0.5"])
    run.compute(facts(), ids)
    with pytest.raises(exc, match=message):
        run.set_splits(*args)
    assert run.info.computed and run.totals() == {"A": D("4.75"), "B": D("4.25")}


# ---- facts, options, errors ----

def test_compute_reads_every_form_of_facts(ctx, ids):
    run = computed(MARGINAL, ctx, ids)
    mem = sp.MemoryFactSource(ctx=ctx)
    mem.append("order_lines", **facts())

    def gen(kind, first, end):
        if kind == sp.FactKind.ORDER_LINES:
            f = facts()
            yield {k: v[:2] for k, v in f.items()}
            yield {k: v[2:] for k, v in f.items()}

    forms = [mem, sp.FactBatch("order_lines", **facts()), [sp.FactBatch("order_lines",
                                                                        **facts())],
             {"order_lines": facts(), "refunds": []}, sp.FactSource.from_batches(gen, ctx=ctx)]
    for form in forms:
        run.compute(form, ids)
        assert run.totals() == {"A": D("8.00"), "B": D("2.50")}, form
    assert not mem.closed  # a source given is the caller's
    pd = pytest.importorskip("pandas")
    run.compute(pd.DataFrame(facts()), ids)
    assert run.totals(minor=True) == {"A": 800, "B": 250}


def test_refunds_and_spiffs_on_a_measure_of_units(ctx):
    """Units: marginal 12.50 per unit up to 10 units, 15.00 from 10; a SPIFF of 2.00 per
    unit of P9; a flat 1 % of the amount. A: line 1, 8 units of P9, 100.00; line 2, 4
    units, 50.00; refund 7 of line 1: 4 units, 50.00.
      units: 0 -> 8: 8 x 12.50 = 100.00; 8 -> 12: 2 x 12.50 + 2 x 15 = 55.00; SPIFF 8 x
      2.00 = 16.00; refund 12 -> 8: -55.00; its SPIFF -4 x 2.00 = -8.00; total 108.00.
      sales: 100 + 50 - 50 = 100.00 x 1 % = 1.00.  A: 109.00."""
    plan = {"plan": "U", "effective": {"from": "2027-01-01"}, "currency": "USD",
            "components": [
                {"id": "units", "measure": {"kind": "quantity"}, "period": "month",
                 "schedule": {"kind": "marginal", "tiers": [{"per_unit": D("12.5")},
                                                            {"from": 10, "per_unit": 15}]},
                 "spiffs": [{"product": "P9", "per_unit": 2}]},
                {"id": "sales", "measure": {"kind": "amount"}, "period": "month",
                 "schedule": {"kind": "flat", "tiers": [{"rate": "1%"}]}}]}
    ids = sp.Dictionary(["A", "P9"], ctx=ctx)
    run = sp.CommissionRun(sp.CommissionPlan(plan, ctx=ctx), fiscal_year=2027)
    run.set_payees(["A"], ids)
    run.compute({"order_lines": {"id": [1, 2], "day": [day(2027, 1, 5)] * 2, "rep": [0, 0],
                                 "amount": [10000, 5000], "quantity": [8, 4],
                                 "product": [1, sp.facts.NONE]},
                 "refunds": {"id": [7], "ref": [1], "day": [day(2027, 1, 6)],
                             "amount": [5000], "quantity": [4]}}, ids)
    assert run.info.refunds_read == 1
    s = run.statement("A")
    assert s.components == {"units": D("108.00"), "sales": D("1.00")}
    assert s.measures == {"units": 8, "sales": D("100.00")} and s.total == D("109.00")
    K = sp.CommissionLineKind
    got = [(l.component, l.kind, l.fact, l.base, l.earned, l.rate) for l in s.lines]
    assert got == [
        ("units", K.ORDER, 1, 8, D("100.00"), D("12.50")),
        ("units", K.ORDER, 2, 4, D("55.00"), D(15)),
        ("units", K.ORDER_SPIFF, 1, 8, D("16.00"), D(2)),
        ("units", K.REFUND, 7, -4, D("-55.00"), D("12.50")),
        ("units", K.REFUND_SPIFF, 7, -4, D("-8.00"), D(2)),
        ("sales", K.ORDER, 1, D("100.00"), D("1.00"), D("0.01")),
        ("sales", K.ORDER, 2, D("50.00"), D("0.50"), D("0.01")),
        ("sales", K.REFUND, 7, D("-50.00"), D("-0.50"), D("0.01"))]
    m = run.statement("A", minor=True)
    assert [(l.base, l.earned, l.rate) for l in m.lines[:3]] == [(8, 10000, D(1250)),
                                                                 (4, 5500, D(1500)),
                                                                 (8, 1600, D(200))]
    assert run.explain("A", 2)["rule"] == "components[0].spiffs[0]"


def test_unknown_reps_an_error_or_skipped(ctx, ids):
    run = computed(MARGINAL, ctx, ids, payees=("A",), unknown="error")
    with pytest.raises(sp.InvalidError, match=r"commission run: order lines batch 1 row 2: "
                                              r"fact 3: rep B is no payee of the run"):
        run.compute(facts(), ids)
    assert run.info.computed is False
    run = computed(MARGINAL, ctx, ids, payees=("A",), unknown=sp.CommissionUnknown.SKIP)
    run.compute(facts(), ids)
    assert run.info.not_payee == 2


def test_a_failed_compute_keeps_the_results(ctx, ids):
    run = computed(MARGINAL, ctx, ids)
    run.compute(facts(), ids)

    class Broken(Exception):
        pass

    def failing(kind, first, end):
        raise Broken("the database is down")
        yield  # pragma: no cover

    with pytest.raises(Broken, match="the database is down"):
        run.compute(sp.FactSource.from_batches(failing, ctx=ctx), ids)
    assert run.totals() == {"A": D("8.00"), "B": D("2.50")}
    # a progress callback is called, and returning True cancels, keeping the results
    seen = []
    run.compute(facts(), ids, progress=lambda done, total: seen.append(done))
    assert seen
    with pytest.raises(sp.CanceledError):
        run.compute(facts(), ids, progress=lambda done, total: True)
    assert run.totals() == {"A": D("8.00"), "B": D("2.50")}
    with pytest.raises(TypeError, match="dictionary: expected a salesplan.Dictionary"):
        run.compute(facts(), None)
    with pytest.raises(TypeError, match="facts: expected a FactSource"):
        run.compute(42, ids)


@pytest.mark.parametrize("kw,exc,message", [
    (dict(grain="week"), sp.InvalidError,
     r"commission run: options.grain: 4 is not month \(3\), quarter \(2\) or year \(0\)"),
    (dict(grain="fortnight"), sp.InvalidError, "grain: unknown Grain 'fortnight'"),
    (dict(fiscal_year=0), sp.InvalidError, "options.fiscal_year: 0 is not 1 to 9999"),
    (dict(fiscal_year=2**40), sp.InvalidError, "fiscal_year: 1099511627776 is not 1 to 9999"),
    (dict(fiscal_year="2027"), TypeError, "fiscal_year: expected an int, not str"),
    (dict(index=-1), sp.InvalidError, "index: -1 is not a period index"),
    (dict(unknown="maybe"), sp.InvalidError, "unknown: unknown CommissionUnknown 'maybe'"),
    (dict(totals_only=1), TypeError, "totals_only: expected a bool, not int"),
])
def test_bad_run_options(ctx, kw, exc, message):
    plan = sp.CommissionPlan(MARGINAL, ctx=ctx)
    args = dict(fiscal_year=2027)
    args.update(kw)
    with pytest.raises(exc, match=message):
        sp.CommissionRun(plan, **args)
    with pytest.raises(TypeError, match="plan: expected a CommissionPlan, not str"):
        sp.CommissionRun(MARGINAL, fiscal_year=2027)


def test_periods_are_checked_when_computing(ctx, ids):
    run = computed(MARGINAL, ctx, ids, index=12)
    with pytest.raises(sp.InvalidError, match="FY2027 has 12 periods of a month, not 13"):
        run.compute(facts(), ids)
    run = computed(MARGINAL, ctx, ids, grain=sp.Grain.QUARTER)
    with pytest.raises(sp.InvalidError, match=r"a month component in a quarter run"):
        run.compute(facts(), ids)


def test_statements_outlive_the_run_and_closed_runs_refuse(ctx, ids):
    with computed(MARGINAL, ctx, ids) as run:
        run.compute(facts(), ids)
        s = run.statement("A")
        run.set_payees(["B"], ids)
    assert run.closed and repr(run) == "<salesplan.CommissionRun closed>"
    assert s.total == D("8.00") and s.lines[1].earned == D("5.00")
    with pytest.raises(ValueError, match="commission run is closed"):
        run.statement(0)
    with pytest.raises(ValueError, match="commission run is closed"):
        run.info  # noqa: B018


def test_enumerations():
    assert [m.name for m in sp.CommissionMeasure] == ["AMOUNT", "QUANTITY", "MARGIN",
                                                      "LINES", "DEALS"]
    assert [m.name for m in sp.CommissionPolicy] == ["PER_TOTAL", "PER_LINE"]
    assert [m.name for m in sp.CommissionLineKind] == [
        "ORDER", "ORDER_SPIFF", "REFUND", "REFUND_SPIFF", "PAYMENT", "PAYMENT_SPIFF",
        "CAP_RELEASE", "CAP_CARRY", "CAP_LOST", "DRAW", "DRAW_RECOVERY", "DRAW_FORGIVEN",
        "OVERRIDE", "CLAWBACK", "ADJUSTMENT"]
    assert [int(m) for m in sp.CommissionLineKind] == list(range(15))
    assert [m.name for m in sp.CommissionUnknown] == ["SKIP", "ERROR"]
    assert int(sp.CommissionRunFlag.TOTALS_ONLY) == 1


# ---- bulk: numpy and pandas ----

def test_the_line_layout_is_the_c_structs(ctx):
    np = pytest.importorskip("numpy")
    dt = commission._line_dtype(np)
    # 64 bytes, the fields where ctypes (checked against the C compiler by test_ffi.py)
    # puts them
    assert dt.itemsize == ctypes.sizeof(_ffi.sp_commission_line) == 64
    for name, ctype in _ffi.sp_commission_line._fields_:
        assert dt.fields[name][1] == getattr(_ffi.sp_commission_line, name).offset
        assert dt.fields[name][0].itemsize == ctypes.sizeof(ctype)
    assert commission._LINE_STRUCT.size == 64
    # a line written by ctypes reads back through the dtype and the struct
    line = _ffi.sp_commission_line(fact=7, base=-5, earned=9, own=8, true_up=1, rate=3,
                                   day=20454, share=500000000, tier_before=1, tier_after=2,
                                   component=0, kind=2)
    raw = bytes(line)
    arr = np.frombuffer(raw, dtype=dt)
    assert arr[0]["fact"] == 7 and arr[0]["share"] == 500000000 and arr[0]["kind"] == 2
    assert commission._LINE_STRUCT.unpack(raw)[:8] == (7, -5, 9, 8, 1, 3, 20454, 500000000)


def test_frames(ctx, ids):
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    run = computed(MARGINAL, ctx, ids)
    run.compute(facts(), ids)
    df = run.to_frame()
    assert list(df.columns) == ["sales", "total"] and df.index.name == "payee"
    assert df.loc["A", "total"] == D("8.00") and df.loc["B", "sales"] == D("2.50")
    dm = run.to_frame(minor=True)
    assert dm["total"].dtype == "int64" and dm.loc["A", "sales"] == 800
    n = run.to_numpy()
    assert n["total"].tolist() == [800, 250] and n["measures"].tolist() == [[13000], [5000]]
    assert "quotas" not in n
    lines = run.lines_frame()
    assert list(lines.columns) == ["payee", "line", "component", "kind", "fact", "day",
                                   "share", "base", "rate", "tier_before", "tier_after",
                                   "earned", "own", "true_up"]
    assert lines["payee"].tolist() == ["A", "A", "B"] and lines["line"].tolist() == [0, 1, 0]
    assert lines["earned"].tolist() == [D("3.00"), D("5.00"), D("2.50")]
    assert lines["rate"].tolist() == [D("0.05"), D("0.1"), D("0.05")]
    assert lines["kind"].tolist() == ["order"] * 3
    assert lines["day"].tolist() == [pd.Timestamp("2027-01-05"), pd.Timestamp("2027-01-20"),
                                     pd.Timestamp("2027-01-09")]
    raw = run.lines_frame(minor=True)
    assert raw["earned"].tolist() == [300, 500, 250] and raw["share"].dtype == "int64"
    assert raw["rate"].tolist() == [50_000_000, 100_000_000, 50_000_000]
    s = run.statement("A")
    assert s.to_frame()["base"].tolist() == [D("60.00"), D("70.00")]
    assert s.lines_frame(minor=True)["base"].tolist() == [6000, 7000]
    arr = s.to_numpy()
    assert arr["earned"].tolist() == [300, 500] and arr.dtype.itemsize == 64
    arr[0]["earned"] = 0  # a copy
    assert s.lines[0].earned == D("3.00")
    totals_only = computed(MARGINAL, ctx, ids, totals_only=True)
    totals_only.compute(facts(), ids)
    assert len(totals_only.lines_frame()) == 0
    assert len(totals_only.statement(0).to_numpy()) == 0
    assert isinstance(arr, np.ndarray)


# ---- the guide ----

def test_python_commission_md_runs():
    # The code blocks of docs/python-commission.md, in order, in one namespace; the
    # values the page states (derived by hand at the top of this file).
    import os
    import re
    from conftest import SOURCE_ROOT
    with open(os.path.join(SOURCE_ROOT, "docs", "python-commission.md"),
              encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)
    assert len(blocks) == 9
    ns = {}
    exec(compile(blocks[0], "python-commission.md", "exec"), ns)
    assert ns["totals"] == {"A": D("8.00"), "B": D("2.50")}
    second = ns["second"]
    assert (second.earned, second.tier_after, second.rate) == (D("5.00"), 1, D("0.1"))
    assert ns["why"]["measure_before"] == 60
    exec(compile(blocks[1], "python-commission.md", "exec"), ns)
    assert ns["parts"] == [(D("1.20"), D("1.20"), D(0)), (D("4.00"), D("2.80"), D("1.20"))]
    assert ns["split_totals"] == {"A": D("4.75"), "B": D("4.25")}
    pytest.importorskip("pandas")
    exec(compile(blocks[2], "python-commission.md", "exec"), ns)
    assert ns["frame"]["total"].tolist() == [D("4.75"), D("4.25")]
    assert len(ns["every_line"]) == 4 and ns["numeric"]["earned"].sum() == 900
    # invoices: 100.00 - 30.00 = 70.00 x 10 % = 7.00; paid 30.00 of line 1: 3.00
    exec(compile(blocks[3], "python-commission.md", "exec"), ns)
    assert ns["invoiced"] == {"A": D("7.00"), "B": D(0)}
    assert ns["cash"] == {"A": D("3.00"), "B": D(0)}
    # the draw: B 5.00 topped up 5.00 in January; nothing earned in February: both
    # topped up 10.00, B's balance 5.00 + 10.00, A's 0 + 10.00
    exec(compile(blocks[4], "python-commission.md", "exec"), ns)
    b = ns["topped_up"]
    assert (b.draw_paid, b.draw_balance, b.total) == (D("5.00"), D("5.00"), D("10.00"))
    assert b.lines[-1].component is None
    assert ns["balances"] == {"A": D("10.00"), "B": D("15.00")}
    # quotas from the set: 2,400.00 / 2 payees / 12 months = 100.00
    exec(compile(blocks[5], "python-commission.md", "exec"), ns)
    assert ns["set_quotas"] == {"att": D("100.00")}
    assert ns["from_store"] == {"A": D("5.20"), "B": D("1.00")}
    exec(compile(blocks[6], "python-commission.md", "exec"), ns)
    assert (ns["first"], ns["second"], ns["revision"]) == (1, 2, 2)
    assert ns["versions"] == [(day(2027, 1, 1), day(2027, 12, 31)), (day(2028, 1, 1), None)]
    assert ns["in_2028"].info.revision == 2
    # the step kind: A 60.00 -> 3.00, 130.00 -> 6.50; B 50.00 -> 2.50
    exec(compile(blocks[7], "python-commission.md", "exec"), ns)
    assert ns["step_totals"] == {"A": D("6.50"), "B": D("2.50")}
    ns["kinds"].close()
    # the ledger: January 10.50 posted and closed; B's late 50.00 makes B's January 5.00:
    # +2.50 posted into February as a correction of January, in one line (fact 6)
    exec(compile(blocks[8], "python-commission.md", "exec"), ns)
    assert (ns["posted"].total, ns["posted"].nlines) == (D("10.50"), 3)
    fix = ns["fix"]
    assert (fix.total, fix.nlines, fix.corrects) == (D("2.50"), 1,
                                                     sp.CommissionPeriod(2027, "month", 0))
    assert [(e.corrects is None, e.closed, e.total) for e in ns["entries"]] == \
        [(True, True, D("10.50")), (False, False, D("2.50"))]
    assert ns["b_feb"].parts[0].lines[0].fact == 6 and ns["b_feb"].total == D("2.50")


def test_period_property(ctx):
    run = sp.CommissionRun(sp.CommissionPlan(MARGINAL, ctx=ctx), fiscal_year=2027,
                           grain="quarter", index=1)
    assert run.period == (2027, sp.Grain.QUARTER, 1)


# ---- the invoice and payment bases (test_commission_api.c's test_bases) ----

def flat_on(basis, rate="10%"):
    return {"plan": "I", "effective": {"from": "2027-01-01"}, "currency": "USD",
            "components": [{"id": "c", "measure": {"kind": "amount", "basis": basis},
                            "period": "month",
                            "schedule": {"kind": "flat", "tiers": [{"rate": rate}]}}]}


# A's invoice line 10 of 100.00 on Jan 12 and a credit note 11 of 30.00 against it on
# Jan 20.
INVOICES = {"order_lines": {"id": [10], "day": [day(2027, 1, 12)], "rep": [A],
                            "amount": [10000]},
            "refunds": {"id": [11], "ref": [10], "day": [day(2027, 1, 20)],
                        "amount": [3000]}}


def test_the_invoice_basis(ctx, ids):
    # 100.00 invoiced less the 30.00 credited: 70.00 x 10 % = 7.00 (never 13.00: a credit
    # note subtracts); the order lines (facts) are not this basis's. B has no invoice: 0.
    run = computed(flat_on("invoice"), ctx, ids)
    with pytest.raises(sp.InvalidError, match=r"components\[0\]\.measure\.basis: the invoice "
                                              r"basis reads the run's invoice lines, and the "
                                              r"run has none \(no invoice source\)"):
        run.compute(facts(), ids)
    assert run.info.computed is False
    run.compute(facts(), ids, invoices=INVOICES)
    a = run.statement("A")
    assert (a.measures, a.total) == ({"c": D("70.00")}, D("7.00"))
    K = sp.CommissionLineKind
    assert [(l.kind, l.fact, l.base, l.earned) for l in a.lines] == [
        (K.ORDER, 10, D("100.00"), D("10.00")), (K.REFUND, 11, D("-30.00"), D("-3.00"))]
    assert run.statement("B").total == D(0)
    i = run.info
    assert (i.lines_read, i.refunds_read, i.payments_read) == (1, 1, 0)
    # a FactSource, a MemoryFactSource of the caller's, is taken as it is and left open
    mem = sp.MemoryFactSource(ctx=ctx)
    for kind, cols in INVOICES.items():
        mem.append(kind, **cols)
    run.compute(facts(), ids, invoices=mem)
    assert run.totals() == {"A": D("7.00"), "B": D(0)} and not mem.closed
    with pytest.raises(TypeError, match="invoices: expected a FactSource"):
        run.compute(facts(), ids, invoices=42)
    assert run.totals() == {"A": D("7.00"), "B": D(0)}  # kept


def payments(*rows):
    """Payments (id, ref, day, amount in cents)."""
    return {"id": [r[0] for r in rows], "ref": [r[1] for r in rows],
            "day": [r[2] for r in rows], "amount": [r[3] for r in rows]}


def test_the_payment_basis(ctx, ids):
    # A's line 1 (60.00) paid 30.00 on Jan 25: 30.00 credited x 10 % = 3.00, on a payment
    # line (fact: the payment's id); B's line 3, unpaid, earns nothing.
    plan = sp.CommissionPlan(flat_on("payment"), ctx=ctx)
    run = sp.CommissionRun(plan, fiscal_year=2027)
    run.set_payees(["A", "B"], ids)
    run.compute({"order_lines": facts(), "payments": payments((20, 1, day(2027, 1, 25), 3000))},
                ids)
    assert run.info.payments_read == 1 and run.totals() == {"A": D("3.00"), "B": D(0)}
    (line,) = run.statement("A").lines
    assert (line.kind, line.fact, line.base, line.earned) == (
        sp.CommissionLineKind.PAYMENT, 20, D("30.00"), D("3.00"))
    assert run.explain("A", 0)["kind"] == "payment"
    # payments against invoice lines come with the invoices: invoice line 10 (100.00, less
    # no credit note on this basis) paid 50.00 on Jan 28: 5.00
    inv = {"order_lines": INVOICES["order_lines"],
           "payments": payments((30, 10, day(2027, 1, 28), 5000))}
    run.compute(facts(), ids, invoices=inv)
    assert run.totals() == {"A": D("5.00"), "B": D(0)}


def test_a_spiff_paid_with_its_line(ctx):
    # The payment basis with a SPIFF of 50.00 per unit of P: line 1, 4 units, 100.00, paid
    # a quarter (25.00) on Jan 10. The payment credits 25.00 x 10 % = 2.50 (a payment
    # line) and a quarter of the SPIFF's 4 x 50.00: R(4 x 25/100) = 1 unit, 50.00 (a
    # payment_spiff line: base the units, rate the amount per unit).
    doc = flat_on("payment")
    doc["components"][0]["spiffs"] = [{"product": "P", "per_unit": 50}]
    ids = sp.Dictionary(["A", "P"], ctx=ctx)
    run = sp.CommissionRun(sp.CommissionPlan(doc, ctx=ctx), fiscal_year=2027)
    run.set_payees(["A"], ids)
    run.compute({"order_lines": {"id": [1], "day": [day(2027, 1, 5)], "rep": [0],
                                 "amount": [10000], "quantity": [4], "product": [1]},
                 "payments": payments((20, 1, day(2027, 1, 10), 2500))}, ids)
    K = sp.CommissionLineKind
    got = [(l.kind, l.fact, l.base, l.rate, l.earned) for l in run.statement("A").lines]
    assert got == [(K.PAYMENT, 20, D("25.00"), D("0.1"), D("2.50")),
                   (K.PAYMENT_SPIFF, 20, 1, D("50.00"), D("50.00"))]
    assert run.totals() == {"A": D("52.50")}
    pytest.importorskip("pandas")
    frame = run.lines_frame()
    assert frame["kind"].tolist() == ["payment", "payment_spiff"]
    assert frame["base"].tolist() == [D("25.00"), 1] and frame["rate"].tolist()[1] == D(50)


def test_the_payment_basis_looks_back(ctx, ids):
    # February: line 1 (60.00, Jan 5) was paid 30.00 on Jan 25 and 30.00 more on Feb 3.
    # The run reads the lines and payments from the lookback day on: by default the
    # version's first day (Jan 1), so the January payment only moves the paid amount
    # (30 -> 60) and February credits 60 - 30 = 30.00: 3.00. From Jan 10 on, line 1 is
    # not read and its payment is an error naming both.
    plan = sp.CommissionPlan(flat_on("payment"), ctx=ctx)
    paid = {"order_lines": facts(),
            "payments": payments((20, 1, day(2027, 1, 25), 3000),
                                 (21, 1, day(2027, 2, 3), 3000))}
    run = sp.CommissionRun(plan, fiscal_year=2027, index=1)
    assert run.lookback_from is None
    run.set_payees(["A", "B"], ids)
    run.compute(paid, ids)
    assert run.totals() == {"A": D("3.00"), "B": D(0)} and run.info.payments_read == 2
    late = sp.CommissionRun(plan, fiscal_year=2027, index=1, lookback_from="2027-01-10")
    assert late.lookback_from == day(2027, 1, 10)
    late.set_payees(["A", "B"], ids)
    with pytest.raises(sp.InvalidError, match=r"payments batch 1 row 0: payment 20 references "
                                              r"line 1, which is no order line from "
                                              r"2027-01-10 on"):
        late.compute(paid, ids)
    with pytest.raises(sp.InvalidError, match="lookback_from: 'soon' is not a date"):
        sp.CommissionRun(plan, fiscal_year=2027, lookback_from="soon")
    with pytest.raises(TypeError, match="lookback_from: expected a datetime.date"):
        sp.CommissionRun(plan, fiscal_year=2027, lookback_from=20454)
    with pytest.raises(sp.InvalidError, match="lookback_from: 1970-01-01 is the library's "
                                              "'not set'"):
        sp.CommissionRun(plan, fiscal_year=2027, lookback_from=day(1970, 1, 1))


# ---- draws and caps carried forward (test_commission_api.c's test_draw_carry) ----

DRAW = {"plan": "D", "effective": {"from": "2027-01-01"}, "currency": "USD",
        "components": [{"id": "c", "measure": {"kind": "amount"}, "period": "month",
                        "schedule": {"kind": "flat", "tiers": [{"rate": "10%"}]}}],
        "draw": {"kind": "recoverable", "amount": 10, "period": "month"}}


def month_run(doc, ctx, ids, index, payees=("A", "B")):
    run = sp.CommissionRun(sp.CommissionPlan(doc, ctx=ctx), fiscal_year=2027, index=index)
    run.set_payees(list(payees), ids)
    return run


def test_a_recoverable_draw_carried_from_month_to_month(ctx, ids):
    # Flat 10 % and a recoverable draw of 10.00 a month. January: A earns 130 x 10 % =
    # 13.00, above the draw, nothing to recover. B earns 5.00: topped up by 10 - 5 =
    # 5.00, paid 10.00, balance 5.00; the top-up line (fact 0, no component, Jan 31) has
    # base the earnings 5.00 and rate the draw 10.00.
    jan = month_run(DRAW, ctx, ids, 0)
    jan.compute(facts(), ids)
    assert jan.has_draw is True
    a, b = jan.statement("A"), jan.statement("B")
    assert (a.total, a.draw_paid, a.draw_recovered, a.draw_balance) == (D("13.00"), 0, 0, 0)
    assert (b.components, b.draw_paid, b.draw_balance, b.total) == (
        {"c": D("5.00")}, D("5.00"), D("5.00"), D("10.00"))
    assert b.draw_forgiven == 0 and b.total == sum(l.earned for l in b.lines)
    draw = b.lines[1]
    assert draw == sp.CommissionLine(0, None, sp.CommissionLineKind.DRAW, day(2027, 1, 31),
                                     D(1), D("5.00"), D("5.00"), D("5.00"), D(0), D("10.00"),
                                     0, 0)
    assert b.carry == sp.CommissionCarry(D("5.00"), {"c": D("0.00")})
    assert jan.carry() == {"A": sp.CommissionCarry(D(0), {"c": D(0)}), "B": b.carry}
    assert jan.carry(minor=True)["B"] == sp.CommissionCarry(500, {"c": 0}, minor=True)
    assert jan.statement("B", minor=True).draw_paid == 500
    e = jan.explain("B", 1)
    assert (e["kind"], e["rule"], e["draw"], e["base"], e["earned"]) == ("draw", "draw", 10,
                                                                        5, 5)
    assert jan.explain("B")["draw"] == {"earned": 5, "paid": 5, "recovered": 0,
                                        "forgiven": 0, "balance": 5}

    # February, from January's carry: A earns 999.00 x 10 % = 99.90 with no balance to
    # recover; B earns 0: topped up by 10.00, balance 5.00 + 10.00 = 15.00.
    feb = month_run(DRAW, ctx, ids, 1)
    for carry, minor in ((jan.carry(), False), (jan.carry(minor=True), False),
                         ({"B": [D("5.00"), 0]}, False), ([[0, 0], [500, 0]], True),
                         ({1: b.carry}, False)):
        feb.set_carry(carry, minor=minor)
        assert feb.info.computed is False  # cleared
        feb.compute(facts(), ids)
        fb = feb.statement("B")
        assert (feb.statement("A").total, fb.total, fb.draw_paid, fb.draw_balance) == (
            D("99.90"), D("10.00"), D("10.00"), D("15.00")), carry
    # no carry: B's balance starts again from 0
    feb.set_carry(None)
    feb.compute(facts(), ids)
    assert feb.statement("B").draw_balance == D("10.00")
    feb.set_carry(jan.carry())
    feb.set_payees(["A", "B"], ids)  # new payees clear the carry too
    feb.compute(facts(), ids)
    assert feb.statement("B").draw_balance == D("10.00")


CLAW = ('{{"plan": "C", "effective": {{"from": "2024-04-01"}}, "currency": "USD", '
        '"components": [{{"id": "c", "measure": {{"kind": "amount"}}, "period": "month", '
        '"schedule": {{"kind": "flat", "tiers": [{{"rate": "6%"}}]}}, '
        '"clawback": {{"window_days": 90, "limit": "{}"}}}}]}}')


def test_clawbacks_at_the_rate_paid(ctx):
    # Example 5.2: line 1 of 12,345.67 on 2024-02-10 paid 617.28 at 5 % (version 1); in
    # April, under version 2's 6 %, a refund of 2,000.00 reverses R(61,728 x 200,000 /
    # 1,234,567) = 10,000 cents, at 5 %. Line 2 of 0.90 paid 0.04, refunded in three parts
    # of 0.30: cumulative R(4 x 30/90) = 1, R(4 x 60/90) = 3, 4: -0.01, -0.02, -0.01; without
    # the limit each part R(30 x 5 %) = R(1.5) = 2 cents: -0.06 in all.
    ids = sp.Dictionary(["A"], ctx=ctx)
    refunds = {"refunds": {"id": [11, 21, 22, 23], "ref": [1, 2, 2, 2],
                           "day": [day(2024, 4, 15), day(2024, 4, 2), day(2024, 4, 3),
                                   day(2024, 4, 4)],
                           "amount": [200000, 30, 30, 30]}}
    paid = [sp.CommissionPaid(1, "A", "c", "2024-02-10", D("12345.67"), D("12345.67"),
                              D("617.28"), D("0.05")),
            sp.CommissionPaid(2, 0, 0, day(2024, 2, 12), 90, 90, 4, D("0.05"), minor=True)]
    for limit, total, parts in (("paid", D("-100.04"), [D("-0.01"), D("-0.02"), D("-0.01")]),
                                ("none", D("-100.06"), [D("-0.02")] * 3)):
        run = sp.CommissionRun(sp.CommissionPlan(CLAW.format(limit), ctx=ctx),
                               fiscal_year=2024, index=3)
        run.set_payees(["A"], ids)
        run.set_paid(paid)
        run.compute(refunds, ids)
        st = run.statement("A")
        assert st.total == total
        assert [l.kind for l in st.lines] == [sp.CommissionLineKind.CLAWBACK] * 4
        assert [l.fact for l in st.lines] == [21, 22, 23, 11]
        assert [l.earned for l in st.lines[:3]] == parts
        assert st.lines[3].earned == D("-100.00") and st.lines[3].rate == D("0.05")
        assert run.info.clawbacks == 4
    with pytest.raises(sp.InvalidError, match=r"paid\[0\] \(line 2, payee 0, component 0\) "
                                              r"has a refunded amount outside"):
        run.set_paid([sp.CommissionPaid(2, 0, 0, day(2024, 2, 12), 90, 90, 4, D("0.05"),
                                        refunded=91, minor=True)])
    with pytest.raises(TypeError, match=r"paid\[0\]: expected a CommissionPaid"):
        run.set_paid([(2, 0, 0)])
    with pytest.raises(sp.NotFoundError, match=r'paid\[0\].payee: "Z" is no payee'):
        run.set_paid([sp.CommissionPaid(2, "Z", 0, day(2024, 2, 12), 90, 90, 4, 0,
                                        minor=True)])
    run.set_paid([])
    with pytest.raises(sp.InvalidError, match="no line paid earlier"):
        run.compute(refunds, ids)


ROLLUP = ('{"plan": "RU", "effective": {"from": "2027-01-01"}, "currency": "USD", '
          '"components": [{"id": "sales", "measure": {"kind": "amount"}, "period": "month", '
          '"schedule": {"kind": "flat", "tiers": [{"rate": "5%"}]}, "crediting": {"rollup": '
          '{"levels": {"manager": {"rate": "2%"}}}}}]}')


def test_a_manager_override_through_the_hierarchy(ctx):
    # M manages A and B: A's 130.00 and B's 50.00 earn them 6.50 and 2.50 at 5 %; M earns
    # no sales of its own and an override of 2 % on each of its team's lines: 60.00 x 2 %
    # = 1.20, 70.00 x 2 % = 1.40, 50.00 x 2 % = 1.00, 3.60 in all.
    ids = sp.Dictionary(["A", "B", "X", "M"], ctx=ctx)
    h = sp.Hierarchy(ctx=ctx)
    h.add_all(["M", "A", "B"], parents=[None, "M", "M"])
    h.set_levels(["manager", "rep"])
    h.validate()
    run = sp.CommissionRun(sp.CommissionPlan(ROLLUP, ctx=ctx), fiscal_year=2027)
    run.set_payees(["A", "B", "M"], ids)
    with pytest.raises(sp.InvalidError, match="hierarchy"):
        run.compute(facts(), ids)
    with pytest.raises(TypeError, match="hierarchy: expected a salesplan.Hierarchy"):
        run.set_hierarchy("M")
    run.set_hierarchy(h)
    run.compute(facts(), ids)
    assert run.totals() == {"A": D("6.50"), "B": D("2.50"), "M": D("3.60")}
    m = run.statement("M")
    assert [l.kind for l in m.lines] == [sp.CommissionLineKind.OVERRIDE] * 3
    assert [l.earned for l in m.lines] == [D("1.20"), D("1.00"), D("1.40")]
    run.set_hierarchy(None)
    with pytest.raises(sp.InvalidError, match="hierarchy"):
        run.compute(facts(), ids)


def test_assignments_prorate_the_quota(ctx, ids):
    # RETRO with a quota of 100.00; A on the plan from January 16: 16 of 31 days, quota
    # R(10,000 x 16 / 31) = 5,161 cents; its January 20 line (70.00) is 135 % of it: 70 x
    # 4 % = 2.80; its January 5 line is not credited here.
    run = january(RETRO, ctx)
    run.set_payees(["A"], ids)
    run.set_quotas({"A": D(100)})
    run.set_assignments({"A": ("2027-01-16", None)})
    run.compute(facts(), ids)
    st = run.statement("A")
    assert st.total == D("2.80") and st.quotas == {"att": D("51.61")}
    assert run.info.not_assigned == 1
    with pytest.raises(sp.InvalidError, match="is after"):
        run.set_assignments({"A": ("2027-01-16", "2027-01-15")})
    run.set_assignments(None)
    run.compute(facts(), ids)
    assert run.statement("A").total == D("5.20")


def test_manual_adjustments(ctx, ids):
    # A's January under MARGINAL (8.00) adjusted by +1.50 with its reason: 9.50, the
    # adjustment a line of its own on January 31.
    run = computed(MARGINAL, ctx, ids)
    with pytest.raises(sp.InvalidError, match="a reason of 1 to 1000 bytes is required"):
        run.add_adjustment(77, "A", "sales", D("1.50"), "")
    run.add_adjustment(77, "A", "sales", D("1.50"), "spiff missed in the CRM")
    run.compute(facts(), ids)
    st = run.statement("A")
    assert st.total == D("9.50")
    line = st.lines[-1]
    assert (line.kind, line.fact, line.earned, line.day) == (
        sp.CommissionLineKind.ADJUSTMENT, 77, D("1.50"), day(2027, 1, 31))
    assert run.adjustment_reason("A", 77) == "spiff missed in the CRM"
    assert run.adjustment_reason("B", 77) is None
    assert run.explain("A", 2)["reason"] == "spiff missed in the CRM"
    run.clear_adjustments()
    run.compute(facts(), ids)
    assert run.statement("A").total == D("8.00")


def test_a_draw_recovered_and_forgiven(ctx, ids):
    # February, A carries a balance of 20.00 in: it earns 99.90, 89.90 above the draw, so
    # min(20.00, 89.90) = 20.00 is recovered: total 99.90 - 20.00 = 79.90, balance 0; the
    # recovery line's base is the balance before (20.00), its earned -20.00.
    feb = month_run(DRAW, ctx, ids, 1)
    feb.set_carry({"A": sp.CommissionCarry(D("20.00"), {"c": 0})})
    feb.compute(facts(), ids)
    a = feb.statement("A")
    assert (a.total, a.draw_recovered, a.draw_paid, a.draw_balance) == (
        D("79.90"), D("20.00"), 0, 0)
    rec = a.lines[-1]
    assert (rec.kind, rec.component, rec.base, rec.earned) == (
        sp.CommissionLineKind.DRAW_RECOVERY, None, D("20.00"), D("-20.00"))
    # The same plan forgiving the balance at February's close: B carries 5.00 in, is
    # topped up 10.00 (15.00), then forgiven 15.00 (a line that pays nothing), balance 0.
    forgiving = json.loads(json.dumps(DRAW))
    forgiving["draw"]["forgive_on"] = "2027-02-28"
    feb = month_run(forgiving, ctx, ids, 1)
    feb.set_carry({"B": [5, 0]})
    feb.compute(facts(), ids)
    b = feb.statement("B")
    assert (b.total, b.draw_paid, b.draw_forgiven, b.draw_balance) == (
        D("10.00"), D("10.00"), D("15.00"), 0)
    assert [(l.kind, l.base, l.earned) for l in b.lines] == [
        (sp.CommissionLineKind.DRAW, D(0), D("10.00")),
        (sp.CommissionLineKind.DRAW_FORGIVEN, D("15.00"), D(0))]
    assert b.carry == sp.CommissionCarry(D(0), {"c": D(0)})


CAP = {"plan": "C", "effective": {"from": "2027-01-01"}, "currency": "USD",
       "components": [{"id": "c", "measure": {"kind": "amount"}, "period": "month",
                       "schedule": {"kind": "flat", "tiers": [{"rate": "10%"}]},
                       "cap": {"amount": 10, "carry_forward": True}}]}


def test_a_cap_carried_forward(ctx, ids):
    # A cap of 10.00 a month carried forward. January: A earns 13.00, is paid 10.00 and
    # carries 3.00 (a cap_carry line: base 3.00, earned 0, rate the cap 10.00; the 3.00
    # comes off line 2's earning, 7.00 -> 4.00, as modifiers). February: B carries 3.00
    # in and earns 0: the room is the whole cap, so the 3.00 is released (base 3.00,
    # earned 3.00).
    K = sp.CommissionLineKind
    jan = month_run(CAP, ctx, ids, 0)
    jan.compute(facts(), ids)
    a = jan.statement("A")
    assert (a.total, a.carry) == (D("10.00"), sp.CommissionCarry(D(0), {"c": D("3.00")}))
    assert [(l.kind, l.base, l.earned, l.rate) for l in a.lines[1:]] == [
        (K.ORDER, D("70.00"), D("4.00"), D("0.1")), (K.CAP_CARRY, D("3.00"), D(0), D(10))]
    assert a.lines[1].modifiers == D("-3.00")
    feb = month_run(CAP, ctx, ids, 1)
    feb.set_carry({"B": sp.CommissionCarry(D(0), {"c": D("3.00")})})
    feb.compute(facts(), ids)
    b = feb.statement("B")
    assert (b.total, b.components) == (D("3.00"), {"c": D("3.00")})
    (rel,) = b.lines
    assert (rel.kind, rel.component, rel.base, rel.earned, rel.fact) == (
        K.CAP_RELEASE, "c", D("3.00"), D("3.00"), 0)
    # without carry_forward the excess is lost: a cap_lost line, and a carry-in refused
    lost = json.loads(json.dumps(CAP))
    lost["components"][0]["cap"]["carry_forward"] = False
    jan = month_run(lost, ctx, ids, 0)
    jan.compute(facts(), ids)
    assert [(l.kind, l.base) for l in jan.statement("A").lines[2:]] == [(K.CAP_LOST, D("3.00"))]
    jan.set_carry({"A": [0, 1]})
    with pytest.raises(sp.InvalidError, match=r'payee "A": components\[0\] \("c"\): carry-in: '
                                              r"a cap excess of 100, but the component carries "
                                              r"none forward"):
        jan.compute(facts(), ids)


def test_carry_frames_and_numpy(ctx, ids):
    pytest.importorskip("pandas")
    jan = month_run(DRAW, ctx, ids, 0)
    jan.compute(facts(), ids)
    n = jan.to_numpy()
    assert n["carry"].tolist() == [[0, 0], [500, 0]]
    assert (n["draw_paid"].tolist(), n["draw_balance"].tolist()) == ([0, 500], [0, 500])
    df = jan.to_frame()
    assert list(df.columns) == ["c", "draw_paid", "draw_recovered", "draw_forgiven",
                                "draw_balance", "total"]
    assert df.loc["B"].tolist() == [D("5.00"), D("5.00"), 0, 0, D("5.00"), D("10.00")]
    lines = jan.lines_frame()
    last = lines.iloc[-1]
    assert (last["payee"], last["kind"], last["base"], last["rate"]) == (
        "B", "draw", D("5.00"), D("10.00"))
    assert lines["component"].isna().tolist() == [False, False, False, True]
    assert jan.lines_frame(minor=True)["rate"].tolist()[-1] == 1000
    # numpy carry in minor units goes back in as it came
    feb = month_run(DRAW, ctx, ids, 1)
    feb.set_carry(n["carry"], minor=True)
    feb.compute(facts(), ids)
    assert feb.statement("B").draw_balance == D("15.00")


@pytest.mark.parametrize("carry,minor,exc,message", [
    ([[0, 0]], False, sp.InvalidError, "carry: 1 rows where 2 payees are given"),
    ([[0], [0, 0]], False, sp.InvalidError,
     r"carry\[0\]: 1 values where 1 \+ 1 components are needed"),
    ({"Z": [0, 0]}, False, sp.NotFoundError, r'carry\["Z"\]: "Z" is no payee of the run'),
    ({"A": [0, 0], 0: [0, 0]}, False, sp.InvalidError,
     r'carry\[0\]: payee "A" is already given'),
    ({"A": [0.5, 0]}, False, TypeError, "money and rates never pass through floating point"),
    ({"A": [D("0.001"), 0]}, False, sp.InvalidError,
     r"carry\[\"A\"\]\[0\]: 0.001 has more decimal places"),
    ({"A": [D("5.00"), 0]}, True, TypeError,
     r'carry\["A"\]\[0\]: expected an int of minor units, not Decimal'),
    ({"A": sp.CommissionCarry(D(1), {"x": D(1)})}, False, sp.InvalidError,
     r'carry\["A"\]\.caps\["x"\]: "x" is no component of the plan \(c\): its excess 1 '
     r"would be lost"),
    ({"A": sp.CommissionCarry(D(1), [1])}, False, TypeError,
     r'carry\["A"\]\.caps: expected a mapping'),
    ("0,0", False, TypeError, r"carry: expected a sequence of rows \(or a mapping\), not str"),
])
def test_bad_carry_changes_nothing(ctx, ids, carry, minor, exc, message):
    feb = month_run(DRAW, ctx, ids, 1)
    feb.set_carry({"B": [5, 0]})
    feb.compute(facts(), ids)
    with pytest.raises(exc, match=message):
        feb.set_carry(carry, minor=minor)
    assert feb.info.computed and feb.statement("B").draw_balance == D("15.00")


def test_carry_the_library_refuses_when_computing(ctx, ids):
    np = pytest.importorskip("numpy")
    feb = month_run(DRAW, ctx, ids, 1)
    with pytest.raises(TypeError, match="carry: a numpy array needs minor=True"):
        feb.set_carry(np.zeros((2, 2), dtype="int64"))
    with pytest.raises(sp.InvalidError, match=r"carry: shape \(2, 3\) where \(2, 2\)"):
        feb.set_carry(np.zeros((2, 3), dtype="int64"), minor=True)
    feb.set_carry({"A": ["-0.01", 0]})
    with pytest.raises(sp.InvalidError, match='payee "A": carry-in: the draw balance -1 is '
                                              'negative'):
        feb.compute(facts(), ids)
    # a balance carried into a plan without a recoverable draw
    run = computed(MARGINAL, ctx, ids)
    run.set_carry({"B": [D("0.05"), 0]})
    with pytest.raises(sp.InvalidError, match='payee "B": carry-in: a draw balance of 5, but '
                                              'the plan has no recoverable draw'):
        run.compute(facts(), ids)
    assert run.has_draw is False


# ---- quotas from target sets (test_commission_api.c's test_quotas_from_set) ----

RETRO_SET = {"plan": "R", "effective": {"from": "2027-01-01"}, "currency": "USD",
             "components": [
                 {"id": "att", "measure": {"kind": "amount"}, "period": "month",
                  "quota": {"target_set": {"plan": "FY27", "scenario": "base"}},
                  "schedule": {"kind": "retroactive", "on": "attainment",
                               "tiers": [{"rate": "2%"}, {"from": "100%", "rate": "4%"}]}},
                 {"id": "qtr", "measure": {"kind": "amount"}, "period": "quarter",
                  "quota": {"target_set": {"plan": "FY27", "scenario": "base"}},
                  "schedule": {"kind": "flat", "on": "attainment",
                               "tiers": [{"rate": "1%"}]}}]}


def target_of(ctx, grain="month", currency="USD", plan_id="FY27", measure="money"):
    """Target plan FY27 over Co -> A, B: 2,400.00 decomposed evenly (the default
    settings): A and B 1,200.00 each, 100.00 a month, 300.00 a quarter."""
    h = sp.Hierarchy(ctx=ctx)
    h.add_all(["Co", "A", "B"], [None, "Co", "Co"])
    h.validate()
    kw = {"currency": currency} if measure == "money" else {}
    tp = sp.TargetPlan(plan_id, h, fiscal_year=2027, grain=grain, measure=measure, ctx=ctx,
                       **kw)
    return tp, tp.decompose(2400 if measure == "money" else 240000)


def test_quotas_from_a_target_set(ctx, ids):
    tp, ts = target_of(ctx)
    assert ts.periods_of("A")[0] == D("100.00")  # the month the quota takes
    run = computed(RETRO_SET, ctx, ids)
    with pytest.raises(sp.InvalidError, match=r'components\[0\] \("att"\)\.quota\.target_set: '
                                              r'the quotas of target set of plan "FY27", '
                                              r'scenario "base" are not loaded'):
        run.compute(facts(), ids)
    run.quotas_from_set("att", tp, ts, ids)
    run.quotas_from_set(1, tp, ts, ids)  # not due in January: 0, and loaded
    run.compute(facts(), ids)
    # January: A's quota 100.00, 130 %: 130 x 4 % = 5.20; B at 50 %: 50 x 2 % = 1.00
    a = run.statement("A")
    assert a.quotas == {"att": D("100.00"), "qtr": D(0)}
    assert a.components == {"att": D("5.20"), "qtr": D(0)}
    assert run.statement("B").total == D("1.00")
    # March: both due; the quarter's quota is 300.00 (three months) and A's quarter is 60
    # + 70 + 999 = 1,129.00 at a flat 1 %: 11.29; no March facts for "att"
    mar = sp.CommissionRun(sp.CommissionPlan(RETRO_SET, ctx=ctx), fiscal_year=2027, index=2)
    mar.set_payees(["A", "B"], ids)
    mar.quotas_from_set("att", tp, ts, ids)
    mar.quotas_from_set("qtr", tp, ts, ids)
    mar.compute(facts(), ids)
    a = mar.statement("A")
    assert a.quotas == {"att": D("100.00"), "qtr": D("300.00")}
    assert (a.measures["qtr"], a.components) == (D("1129.00"), {"att": D(0), "qtr": D("11.29")})


def test_bad_quotas_from_a_set_change_nothing(ctx, ids):
    tp, ts = target_of(ctx)
    run = computed(RETRO_SET, ctx, ids)
    run.quotas_from_set("att", tp, ts, ids)
    run.quotas_from_set("qtr", tp, ts, ids)
    run.compute(facts(), ids)
    tq, tsq = target_of(ctx, grain="quarter")
    with pytest.raises(sp.InvalidError, match=r"the component's period 2027-01-01 \.\. "
                                              r"2027-01-31 is not made of the set's quarter "
                                              r"periods of FY2027"):
        run.quotas_from_set("att", tq, tsq, ids)
    for kw, message in ((dict(currency="EUR"), "the set is in EUR, the plan in USD"),
                        (dict(currency="JPY"), "the set's amounts have 0 decimals, the "
                                               "plan's currency USD has 2"),
                        (dict(measure="quantity"), "the set holds quantities, the component "
                                                   "measures amount")):
        up, us = target_of(ctx, **kw)
        with pytest.raises(sp.InvalidError, match=message):
            run.quotas_from_set("att", up, us, ids)
    with pytest.raises(sp.NotFoundError, match=r'component: "x" is no component of the plan '
                                               r'\(att, qtr\)'):
        run.quotas_from_set("x", tp, ts, ids)
    with pytest.raises(sp.InvalidError, match="component: index 2 is beyond the plan's 2 "
                                              "components"):
        run.quotas_from_set(2, tp, ts, ids)
    with pytest.raises(TypeError, match="target_set: expected a salesplan.TargetSet, not "
                                        "TargetPlan"):
        run.quotas_from_set("att", tp, tp, ids)
    with pytest.raises(TypeError, match="dictionary: expected a salesplan.Dictionary"):
        run.quotas_from_set("att", tp, ts, None)
    assert run.info.computed and run.totals() == {"A": D("5.20"), "B": D("1.00")}
    x = computed(RETRO_SET, ctx, ids, payees=("A", "X"))
    with pytest.raises(sp.InvalidError, match=r'quotas from an unsaved target set of plan '
                                              r'"FY27": payee "X" is no node of the set'):
        x.quotas_from_set("att", tp, ts, ids)


def test_load_quotas_from_a_store(ctx, ids):
    # the document names the set: the latest version of "base" (the monthly set, saved
    # after a quarterly one)
    tp, ts = target_of(ctx)
    _, tsq = target_of(ctx, grain="quarter")
    store = sp.MemoryStore(ctx=ctx)
    run = computed(RETRO_SET, ctx, ids)
    with pytest.raises(sp.NotFoundError, match=r'components\[0\]\.quota\.target_set: target '
                                               r'plan "FY27" is not in the store'):
        run.load_quotas(store, ids)
    tp.save(store)
    assert tsq.save(store, "base") == 1 and ts.save(store, "base") == 2
    run.load_quotas(store, ids)
    run.compute(facts(), ids)
    assert run.statement("A").quotas["att"] == D("100.00")
    assert run.totals() == {"A": D("5.20"), "B": D("1.00")}
    with pytest.raises(TypeError, match="store: expected a salesplan store"):
        run.load_quotas("plans.db", ids)


# ---- plans in a store (test_commission_api.c's test_plan_store) ----

def version_of(ctx, first, last=None, rate="5%"):
    eff = {"from": first} if last is None else {"from": first, "to": last}
    return sp.CommissionPlan({"plan": "AE", "effective": eff, "currency": "USD",
                              "components": [{"id": "sales", "measure": {"kind": "amount"},
                                              "period": "month",
                                              "schedule": {"kind": "flat",
                                                           "tiers": [{"rate": rate}]}}]},
                             ctx=ctx)


@pytest.mark.parametrize("make", ["memory", "python"])
def test_plans_in_a_store(ctx, ids, make):
    from test_storage import DictStore  # a store written in Python
    store = sp.MemoryStore(ctx=ctx) if make == "memory" else DictStore(ctx=ctx)
    v2027 = version_of(ctx, "2027-01-01", "2027-12-31")
    assert v2027.save(store, 0) == 1 and v2027.info.revision == 1
    v2028 = version_of(ctx, "2028-01-01")
    with pytest.raises(sp.ConflictError):
        v2028.save(store, 0)  # made from revision 0, but the store holds 1
    assert v2028.save(store, 1) == 2
    with pytest.raises(sp.InvalidError, match="overlaps"):
        version_of(ctx, "2027-07-01", "2027-09-30").save(store, 2)
    assert sp.commission_plan_versions(store, "AE") == (
        [(day(2027, 1, 1), day(2027, 12, 31)), (day(2028, 1, 1), None)], 2)
    assert sp.commission_plan_versions(store, "AE", 1).versions == [(day(2027, 1, 1),
                                                                      day(2027, 12, 31))]
    assert sp.commission_plan_revisions(store, "AE") == [1, 2]
    assert sp.commission_plan_revisions(store, "none") == []
    assert sp.commission_plans(store) == ["AE"]
    # loaded by day: the version in effect then, with the revision it came from
    p = sp.CommissionPlan.load(store, "AE", day(2027, 6, 1), ctx=ctx)
    assert (p.info.revision, p.info.effective_to) == (2, day(2027, 12, 31))
    with pytest.raises(sp.NotFoundError, match='commission plan "AE" revision 2 has no '
                                               'version in effect on 2026-12-31'):
        sp.CommissionPlan.load(store, "AE", "2026-12-31", ctx=ctx)
    # removing 2028's version makes revision 3; revision 2 still has it
    assert sp.commission_plan_remove_version(store, "AE", "2028-01-01", 2) == 3
    with pytest.raises(sp.NotFoundError):
        sp.CommissionPlan.load(store, "AE", day(2030, 1, 1), ctx=ctx)
    old = sp.CommissionPlan.load(store, "AE", day(2030, 1, 1), 2, ctx=ctx)
    assert (old.info.effective_from, old.info.revision) == (day(2028, 1, 1), 2)
    # a run of a stored plan names its revision in every explanation
    run = sp.CommissionRun(old, fiscal_year=2030)
    run.set_payees(["A"], ids)
    run.compute({"id": [1], "day": [day(2030, 1, 2)], "rep": [A], "amount": [2000]}, ids)
    assert run.explain("A")["revision"] == 2 and run.totals() == {"A": D("1.00")}
    with pytest.raises(sp.InvalidError, match=r"version 2027-01-01 \.\. 2027-12-31 is its only "
                                              r"version \(a plan keeps at least one\)"):
        sp.commission_plan_remove_version(store, "AE", "2027-01-01", 3)
    assert sp.commission_plan_revisions(store, "AE") == [1, 2, 3]


def test_plans_in_a_file_store_and_bad_arguments(ctx, tmp_path):
    path = tmp_path / "plans.spstore"
    with sp.FileStore(path, sync=False, ctx=ctx) as store:
        assert version_of(ctx, "2027-01-01").save(store, 0) == 1
    with sp.FileStore(path, readonly=True, ctx=ctx) as store:
        p = sp.CommissionPlan.load(store, "AE", "2027-03-01", ctx=ctx)
        assert p.info.revision == 1 and p.components[0].id == "sales"
        with pytest.raises(sp.InvalidError):
            version_of(ctx, "2028-01-01").save(store, 1)  # a read-only store
        with pytest.raises(sp.NotFoundError, match="revision 4 is not in the store"):
            sp.commission_plan_versions(store, "AE", 4)
    store = sp.MemoryStore(ctx=ctx)
    plan = version_of(ctx, "2027-01-01")
    with pytest.raises(sp.InvalidError, match="based_on: -1 is not a revision"):
        plan.save(store, -1)
    with pytest.raises(TypeError, match="based_on: expected an int, not str"):
        plan.save(store, "1")
    with pytest.raises(TypeError, match="store: expected a salesplan store"):
        plan.save(None, 0)
    with pytest.raises(TypeError, match="plan_id: expected str, not int"):
        sp.CommissionPlan.load(store, 7, "2027-01-01")
    with pytest.raises(sp.InvalidError, match="day: '2027-13-01' is not a date"):
        sp.CommissionPlan.load(store, "AE", "2027-13-01")
    with pytest.raises(sp.InvalidError, match="revision: 4294967296 is not a revision"):
        sp.commission_plan_versions(store, "AE", 2**32)
    with pytest.raises(sp.InvalidError, match="commission plan: id is empty"):
        sp.commission_plan_revisions(store, "")
    assert sp.commission_plans(store) == [] and plan.info.revision == 0


def test_many_versions_grow_the_buffers(ctx):
    # twenty monthly versions of 2027-2028 (one revision each): more than the first
    # buffer of 16 the listings start with
    store = sp.MemoryStore(ctx=ctx)
    firsts = [day(2027 + m // 12, m % 12 + 1, 1) for m in range(20)]
    for k, first in enumerate(firsts):
        last = None if k == 19 else firsts[k + 1] - datetime.timedelta(days=1)
        version_of(ctx, first.isoformat(), last and last.isoformat()).save(store, k)
    got = sp.commission_plan_versions(store, "AE")
    assert got.revision == 20 and [v[0] for v in got.versions] == firsts
    assert got.versions[-1][1] is None and got.versions[0][1] == day(2027, 1, 31)
    assert sp.commission_plan_revisions(store, "AE") == list(range(1, 21))


# ---- plug-in schedule kinds (test_commission_api.c's test_plugin) ----

STEP = {"plan": "P", "effective": {"from": "2027-01-01"}, "currency": "USD",
        "components": [{"id": "c", "measure": {"kind": "amount"}, "period": "month",
                        "schedule": {"kind": "plugin", "name": "step",
                                     "params": {"per": 1000, "pay": 50}}}]}


class StepState:
    def __init__(self, per, pay):
        self.per, self.pay = per, pay


def step_prepare(params):
    if not isinstance(params, dict) or not isinstance(params.get("per"), int) or \
            params["per"] <= 0:
        raise ValueError("per must be a whole number above 0")
    return StepState(params["per"], params["pay"])


def step_payout(state, measure, quota):
    # P(x) = floor(x / per) x pay for x >= 0, 0 below
    return 0 if measure < 0 else measure // state.per * state.pay


def test_a_plugin_kind(ctx, ids):
    # "step" pays 0.50 for every whole 10.00 of the period's measure. A: 60.00 -> 6 x 50 =
    # 3.00; then 130.00 -> 13 x 50 = 6.50, so line 2 earns 3.50; B: 50.00 -> 2.50.
    with pytest.raises(sp.InvalidError, match=r"components\[0\]\.schedule\.name: no plug-in "
                                              r"kind 'step' is registered on this context"):
        sp.CommissionPlan(STEP, ctx=ctx)
    seen = []

    def prepare(params):
        seen.append(params)
        return step_prepare(params)

    sp.register_commission_kind("step", prepare=prepare, payout=step_payout, ctx=ctx)
    plan = sp.CommissionPlan(STEP, ctx=ctx)
    assert seen == [{"per": 1000, "pay": 50}]
    assert '"name":"step","params":{"per":1000,"pay":50}' in plan.document
    for totals_only in (False, True):
        run = sp.CommissionRun(plan, fiscal_year=2027, totals_only=totals_only)
        run.set_payees(["A", "B"], ids)
        run.compute(facts(), ids)
        assert run.totals() == {"A": D("6.50"), "B": D("2.50")}
        if not totals_only:
            assert [l.earned for l in run.statement("A").lines] == [D("3.00"), D("3.50")]
            e = run.explain("A", 1)
            assert (e["schedule"], e["earned"]) == ("plugin", D("3.5"))
    assert len(seen) == 3  # the plan, and each run's copy of it


def test_plugin_exceptions_come_back_as_they_were(ctx, ids):
    class RateServiceDown(Exception):
        pass

    state = {"fail": None}

    def payout(st, measure, quota):
        if state["fail"] is not None:
            raise state["fail"]
        return step_payout(st, measure, quota)

    sp.register_commission_kind("step", prepare=step_prepare, payout=payout, ctx=ctx)
    run = sp.CommissionRun(sp.CommissionPlan(STEP, ctx=ctx), fiscal_year=2027)
    run.set_payees(["A", "B"], ids)
    run.compute(facts(), ids)
    state["fail"] = RateServiceDown("the rate service is down")
    with pytest.raises(RateServiceDown, match="the rate service is down") as e:
        run.compute(facts(), ids)
    notes = " ".join(getattr(e.value, "__notes__", []))
    if hasattr(e.value, "add_note"):
        assert 'commission run: payee "A": components[0] ("c"): fact ' in notes
        assert "plug-in kind 'step'" in notes and "RateServiceDown" in notes
    assert run.totals() == {"A": D("6.50"), "B": D("2.50")}  # the earlier results kept
    state["fail"] = None
    # a payout that is no int, or too large: a TypeError / ExactOverflowError out of it
    sp.register_commission_kind("float", prepare=lambda p: None,
                                payout=lambda s, m, q: 0.5, ctx=ctx)
    sp.register_commission_kind("huge", prepare=lambda p: None,
                                payout=lambda s, m, q: 2**63, ctx=ctx)
    for name, exc, message in (("float", TypeError, "payout of kind 'float': expected an int "
                                                    "of minor units, not float"),
                               ("huge", sp.ExactOverflowError, "payout of kind 'huge': "
                                                               "9223372036854775808 does not "
                                                               "fit int64_t")):
        doc = json.loads(json.dumps(STEP))
        doc["components"][0]["schedule"]["name"] = name
        r = sp.CommissionRun(sp.CommissionPlan(doc, ctx=ctx), fiscal_year=2027)
        r.set_payees(["A"], ids)
        with pytest.raises(exc, match=message):
            r.compute(facts(), ids)
        assert r.info.computed is False
    # params the kind refuses: the plan is refused with prepare's own exception
    bad = json.loads(json.dumps(STEP))
    bad["components"][0]["schedule"]["params"] = {"per": 0, "pay": 50}
    with pytest.raises(ValueError, match="per must be a whole number above 0") as e:
        sp.CommissionPlan(bad, ctx=ctx)
    if hasattr(e.value, "add_note"):
        assert "components[0].schedule.params: the plug-in kind 'step' refuses its params" in \
            " ".join(e.value.__notes__)
    # the next call is not disturbed by what failed before
    assert sp.CommissionPlan(STEP, ctx=ctx).info.id == "P"


def test_plugin_on_attainment_and_lifetimes(ctx, ids):
    # "bonus" pays 10.00 once the measure reaches the quota (100.00): A reaches it on its
    # second line (130.00), B (50.00) never.
    import gc
    import weakref
    states = []

    def prepare(params):
        s = StepState(1, params["pay"])
        states.append(weakref.ref(s))
        return s

    sp.register_commission_kind(
        "bonus", prepare=prepare, ctx=ctx,
        payout=lambda s, measure, quota: s.pay if measure >= quota else 0)
    del prepare
    gc.collect()  # the callables live as long as the context
    doc = {"plan": "P", "effective": {"from": "2027-01-01"}, "currency": "USD",
           "components": [{"id": "c", "measure": {"kind": "amount"}, "period": "month",
                           "quota": {"given": True},
                           "schedule": {"kind": "plugin", "on": "attainment",
                                        "name": "bonus", "params": {"pay": 1000}}}]}
    plan = sp.CommissionPlan(doc, ctx=ctx)
    run = sp.CommissionRun(plan, fiscal_year=2027)
    run.set_payees(["A", "B"], ids)
    run.set_quotas([100, 100])
    run.compute(facts(), ids)
    assert [l.earned for l in run.statement("A").lines] == [D(0), D("10.00")]
    assert run.totals() == {"A": D("10.00"), "B": D(0)}
    # each state is dropped with its plan (the run holds a copy of its own)
    assert len(states) == 2 and all(r() is not None for r in states)
    plan.close()
    run.close()
    gc.collect()
    assert all(r() is None for r in states)


def test_registering_bad_kinds(ctx):
    sp.register_commission_kind("step", prepare=step_prepare, payout=step_payout, ctx=ctx)
    with pytest.raises(sp.ConflictError, match="commission kind 'step' is already registered"):
        sp.register_commission_kind("step", prepare=step_prepare, payout=step_payout, ctx=ctx)
    with pytest.raises(sp.InvalidError, match="commission kind: name is empty"):
        sp.register_commission_kind("", prepare=step_prepare, payout=step_payout, ctx=ctx)
    with pytest.raises(sp.InvalidError, match=r"is 256 bytes long \(at most 255\)"):
        sp.register_commission_kind("k" * 256, prepare=step_prepare, payout=step_payout,
                                    ctx=ctx)
    with pytest.raises(TypeError, match="prepare: expected a callable"):
        sp.register_commission_kind("x", prepare=None, payout=step_payout, ctx=ctx)
    with pytest.raises(TypeError, match="payout: expected a callable"):
        sp.register_commission_kind("x", prepare=step_prepare, payout=3, ctx=ctx)
    with pytest.raises(TypeError, match="name: expected str, not bytes"):
        sp.register_commission_kind(b"x", prepare=step_prepare, payout=step_payout, ctx=ctx)
    # a kind belongs to its context: another context's plans do not know it
    with sp.Context() as other:
        with pytest.raises(sp.InvalidError, match="no plug-in kind 'step'"):
            sp.CommissionPlan(STEP, ctx=other)


# ---- the ledger (test_commission_api.c's test_ledger) ----
#
# January under MARGINAL posted: A 8.00 (3.00 + 5.00), B 2.50: 10.50 in 3 lines. January
# closed; a late B line (fact 6, 50.00 on Jan 25) makes January's truth B 100.00 x 5 % =
# 5.00: posted into February as the correction +2.50 (B's measure 50 -> 100 at 5 %), one
# line; A's unchanged statement gives none. January's 2.50 + 2.50 = the truth, 5.00.

JAN, FEB, MAR = (2027, "month", 0), (2027, "month", 1), (2027, "month", 2)


def late_facts():
    f = facts()
    for k, v in (("id", 6), ("day", day(2027, 1, 25)), ("rep", B), ("amount", 5000)):
        f[k].append(v)
    return f


def posted_january(ctx, ids, store):
    run = computed(MARGINAL, ctx, ids)
    run.compute(facts(), ids)
    return run, run.post(store)


@pytest.mark.parametrize("make", ["memory", "python"])
def test_the_ledger(ctx, ids, make):
    from test_storage import DictStore
    store = sp.MemoryStore(ctx=ctx) if make == "memory" else DictStore(ctx=ctx)
    run, p = posted_january(ctx, ids, store)
    jan = sp.CommissionPeriod(2027, "month", 0)
    assert p == sp.CommissionPosted(jan, None, True, False, p.revision, 2, 3, D("10.50"))
    assert p.period.grain is sp.Grain.MONTH and str(p.period) == "2027-M01"
    with pytest.raises(sp.NotFoundError, match='commission ledger "AE": 2027-M03 was never '
                                               'posted'):
        sp.commission_close(store, "AE", MAR, ctx=ctx)
    sp.commission_close(store, "AE", jan, ctx=ctx)
    with pytest.raises(sp.ConflictError, match='"AE": 2027-M01 is already closed'):
        sp.commission_close(store, "AE", JAN, ctx=ctx)
    run.compute(late_facts(), ids)
    before = sp.commission_ledger(store, "AE", ctx=ctx)
    with pytest.raises(sp.ConflictError, match=r'2027-M01 is closed; post its corrections '
                                               r'into an open period'):
        run.post(store)
    assert sp.commission_ledger(store, "AE", ctx=ctx) == before  # nothing written
    fix = run.post(store, into=FEB)
    feb = sp.CommissionPeriod(2027, sp.Grain.MONTH, 1)
    assert (fix.period, fix.corrects, fix.written, fix.npayees, fix.nlines, fix.total) == \
        (feb, jan, True, 1, 1, D("2.50"))
    # the same truth again: February's corrections replaced by the same, not added to
    again = run.post(store, into=feb, minor=True)
    assert (again.total, again.nlines) == (250, 1) and again.revision > fix.revision
    entries = sp.commission_ledger(store, "AE", ctx=ctx)
    assert [(e.period, e.corrects, e.closed, e.npayees, e.nlines, e.total_minor, e.total)
            for e in entries] == [(jan, None, True, 2, 3, 1050, None),
                                  (feb, jan, False, 1, 1, 250, None)]
    assert [e.total for e in sp.commission_ledger(store, "AE", exponent=2, ctx=ctx)] == \
        [D("10.50"), D("2.50")]
    # B's statements read back: January's own (fact 3: 2.50), February's correction of
    # January (fact 6: 2.50)
    s = sp.commission_statement(store, "AE", JAN, "B", ctx=ctx)
    assert (s.plan, s.period, s.payee, s.closed, s.total) == ("AE", jan, "B", True, D("2.50"))
    [part] = s.parts
    assert (part.corrects, part.closed, part.currency, part.exponent, part.components,
            part.totals, part.total) == (None, True, "USD", 2, ["sales"],
                                         {"sales": D("2.50")}, D("2.50"))
    assert (part.rounding, part.policy, part.plan_from, part.plan_revision) == \
        (sp.Rounding.HALF_EVEN, sp.CommissionPolicy.PER_TOTAL, day(2027, 1, 1), 0)
    assert part.lines == [commission.CommissionLine(
        3, "sales", sp.CommissionLineKind.ORDER, day(2027, 1, 9), D(1), D("50.00"),
        D("2.50"), D("2.50"), D(0), D("0.05"), 0, 0)]
    s = sp.commission_statement(store, "AE", FEB, "B", minor=True, ctx=ctx)
    assert (s.closed, s.total, len(s.parts)) == (False, 250, 1)
    part = s.parts[0]
    assert (part.corrects, part.total, part.totals) == (jan, 250, {"sales": 250})
    assert [(l.fact, l.day, l.base, l.earned) for l in part.lines] == \
        [(6, day(2027, 1, 25), 5000, 250)]
    # A: January's two lines, 3.00 and 5.00 (60 -> 130 crossing 100.00 at line 1)
    a = sp.commission_statement(store, "AE", JAN, "A", ctx=ctx)
    assert a.total == D("8.00")
    assert [(l.fact, l.earned, l.tier_after) for l in a.parts[0].lines] == \
        [(1, D("3.00"), 0), (2, D("5.00"), 1)]
    with pytest.raises(sp.NotFoundError, match='commission ledger "AE": payee "A" has no '
                                               'statement in 2027-M02'):
        sp.commission_statement(store, "AE", FEB, "A", ctx=ctx)


def test_a_stored_statement_read_with_its_plan(ctx):
    # a component measured in units: 4 units at 1.25 each = 5.00; without the plan the
    # stored part's base reads as money (4 units / 10^2 = 0.04), with it as 4 units
    doc = {"plan": "U", "effective": {"from": "2027-01-01"}, "currency": "USD",
           "components": [{"id": "qty", "measure": {"kind": "quantity"}, "period": "month",
                           "schedule": {"kind": "flat", "tiers": [{"per_unit": D("1.25")}]}}]}
    plan = sp.CommissionPlan(doc, ctx=ctx)
    reps = sp.Dictionary(["A"], ctx=ctx)
    run = sp.CommissionRun(plan, fiscal_year=2027)
    run.set_payees(["A"], reps)
    run.compute({"id": [1], "day": [day(2027, 1, 3)], "rep": [0], "amount": [10000],
                 "quantity": [4]}, reps)
    store = sp.MemoryStore(ctx=ctx)
    assert run.post(store).total == D("5.00")
    known = sp.commission_statement(store, "U", JAN, "A", plan=plan, ctx=ctx).parts[0]
    assert known.measures_known and known.total == D("5.00")
    assert (known.lines[0].base, known.lines[0].rate) == (4, D("1.25"))
    guessed = sp.commission_statement(store, "U", JAN, "A", ctx=ctx).parts[0]
    assert not guessed.measures_known and guessed.lines[0].base == D("0.04")


@pytest.mark.parametrize("period, exc, message", [
    ("2027-01", TypeError, r"period: expected a CommissionPeriod or \(fiscal_year, grain, "
                           r"index\), not str"),
    ((2027, "month"), TypeError, r"period: expected a CommissionPeriod .* not \(2027, "
                                 r"'month'\)"),
    ((2027.0, "month", 0), TypeError, "period.fiscal_year: expected an int, not float"),
    ((2027, "fortnight", 0), sp.InvalidError, "period.grain"),
    ((2027, "month", -1), sp.InvalidError, "period.index: -1 is not a period index"),
    ((2027, "week", 0), sp.InvalidError, r"commission ledger: period.grain: 4 is not month "
                                         r"\(3\), quarter \(2\) or year \(0\)"),
])
def test_bad_periods(ctx, ids, period, exc, message):
    store = sp.MemoryStore(ctx=ctx)
    posted_january(ctx, ids, store)
    with pytest.raises(exc, match=message):
        sp.commission_close(store, "AE", period, ctx=ctx)
    assert not sp.commission_ledger(store, "AE", ctx=ctx)[0].closed  # nothing changed


def test_bad_posts_write_nothing(ctx, ids):
    store = sp.MemoryStore(ctx=ctx)
    run = computed(MARGINAL, ctx, ids)
    with pytest.raises(sp.InvalidError, match="commission ledger: the run is not computed"):
        run.post(store)
    with pytest.raises(sp.NotFoundError, match='commission ledger "AE": nothing was posted'):
        sp.commission_ledger(store, "AE", ctx=ctx)
    totals = computed(MARGINAL, ctx, ids, totals_only=True)
    totals.compute(facts(), ids)
    with pytest.raises(sp.InvalidError, match="the run is of totals only"):
        totals.post(store)
    run.compute(facts(), ids)
    with pytest.raises(TypeError, match="store: expected a salesplan store"):
        run.post(None)
    with pytest.raises(TypeError, match="into: expected a CommissionPeriod"):
        run.post(store, into="2027-02")
    with pytest.raises(TypeError, match="minor: expected a bool, not int"):
        run.post(store, minor=1)
    with pytest.raises(sp.NotFoundError):
        sp.commission_ledger(store, "AE", ctx=ctx)
    run.post(store)
    with pytest.raises(sp.InvalidError, match="exponent: -1 is not 0 to 18"):
        sp.commission_ledger(store, "AE", exponent=-1, ctx=ctx)
    with pytest.raises(TypeError, match="plan_id: expected str, not int"):
        sp.commission_ledger(store, 7, ctx=ctx)
    with pytest.raises(TypeError, match="payee: expected str, not int"):
        sp.commission_statement(store, "AE", JAN, 0, ctx=ctx)
    with pytest.raises(TypeError, match="plan: expected a CommissionPlan or None, not str"):
        sp.commission_statement(store, "AE", JAN, "A", plan="AE", ctx=ctx)
    with pytest.raises(sp.NotFoundError, match='commission ledger "AE": 2027-M02 was never '
                                               'posted'):
        sp.commission_statement(store, "AE", FEB, "A", ctx=ctx)
    run.close()
    with pytest.raises(ValueError, match="closed"):
        run.post(store)


def test_ledger_entries_grow_the_buffer(ctx, ids):
    # twelve months posted: more than the 8 entries the first buffer holds
    store = sp.MemoryStore(ctx=ctx)
    plan = sp.CommissionPlan(MARGINAL, ctx=ctx)
    for m in range(12):
        run = sp.CommissionRun(plan, fiscal_year=2027, index=m)
        run.set_payees(["A"], ids)
        run.compute({"id": [m + 1], "day": [day(2027, m + 1, 2)], "rep": [A],
                     "amount": [500 * (m + 1)]}, ids)
        run.post(store)
    entries = sp.commission_ledger(store, "AE", exponent=2, ctx=ctx)
    # month m: 5.00 x (m + 1) (60.00 at most: below 100.00) x 5 % = 0.25 x (m + 1)
    assert [e.period.index for e in entries] == list(range(12))
    assert [e.total for e in entries] == [D("0.25") * (m + 1) for m in range(12)]


def test_commission_period(ctx):
    p = sp.CommissionPeriod(2027, "QUARTER", 1)
    assert p.grain is sp.Grain.QUARTER and str(p) == "2027-Q2"
    assert str(sp.CommissionPeriod(2027, 0, 0)) == "2027" and p == (
        sp.CommissionPeriod(2027, sp.Grain.QUARTER, 1))
    with pytest.raises(TypeError, match="index: expected an int, not str"):
        sp.CommissionPeriod(2027, "month", "0")
