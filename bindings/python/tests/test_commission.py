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
    assert [m.name for m in sp.CommissionLineKind] == ["ORDER", "ORDER_SPIFF", "REFUND",
                                                       "REFUND_SPIFF"]
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
    assert np is not None


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
    assert len(blocks) == 3
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


def test_period_property(ctx):
    run = sp.CommissionRun(sp.CommissionPlan(MARGINAL, ctx=ctx), fiscal_year=2027,
                           grain="quarter", index=1)
    assert run.period == (2027, sp.Grain.QUARTER, 1)
