"""salesplan commission ...: outputs computed by hand, errors as one line with their exit
codes.

The fixtures are tests/test_commission_api.c's (test_commission.py derives them too):
MARGINAL pays 5 % of a month's amount up to 100.00 and 10 % above. A sells 60.00 (fact 1)
and 70.00 (fact 2): 100 x 5 % + 30 x 10 % = 8.00 (line 1: 40 x 5 % + 30 x 10 % = 5.00);
B 50.00: 2.50; X 10.00: 0.50; A's 999.00 of February 1 is outside January.
"""
import io
import json
import os
import subprocess
import sys

import pytest

from salesplan.cli import main
from test_commission import MARGINAL, RETRO, SPLIT

LINES = ("id,rep,day,amount\n1,A,2027-01-05,60.00\n2,A,2027-01-20,70.00\n"
         "3,B,2027-01-09,50.00\n4,X,2027-01-09,10.00\n5,A,2027-02-01,999.00\n")

INVOICES = "id,rep,day,amount\n10,A,2027-01-12,100.00\n"
CREDIT_NOTES = "id,ref,day,amount\n11,10,2027-01-20,30.00\n"

RUN = ["commission", "run", "--plan", "plan.json", "--facts", "lines.csv",
       "--period", "2027-01"]
EXPLAIN = ["commission", "explain", "--plan", "plan.json", "--facts", "lines.csv",
           "--period", "2027-01"]


@pytest.fixture
def d(tmp_path, monkeypatch):
    (tmp_path / "plan.json").write_text(MARGINAL)
    (tmp_path / "lines.csv").write_text(LINES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*argv):
    o, e = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=o, stderr=e)
    return code, o.getvalue(), e.getvalue()


def snapshot(d):
    return {p.name: p.read_bytes() for p in d.iterdir()}


META = ("\nplan: AE\nperiod: FY2027-M01\nfrom: 2027-01-01\nto: 2027-01-31\ncurrency: USD\n"
        "rounding: half_even\npolicy: per_total\n")


def test_run_totals_table_csv_json(d):
    code, out, err = run(*RUN)
    assert (code, err) == (0, "")
    assert out == ("payee  sales.measure  sales.earned  total\n"
                   "-----  -------------  ------------  -----\n"
                   "A             130.00          8.00   8.00\n"
                   "B              50.00          2.50   2.50\n"
                   "X              10.00          0.50   0.50\n" + META +
                   "lines_read: 4\nrefunds_read: 0\npayments_read: 0\nnot_payee: 0\n"
                   "total: 11.00\n")
    code, out, err = run(*RUN, "--payee", "A", "--payee", "B", "--format", "csv")
    assert (code, err) == (0, "")
    assert out == "payee,sales.measure,sales.earned,total\nA,130.00,8.00,8.00\nB,50.00,2.50,2.50\n"
    code, out, err = run(*RUN, "--payee", "B", "--payee", "A", "--format", "json")
    doc = json.loads(out)
    assert (doc["not_payee"], doc["total"], doc["period"]) == (1, "10.50", "FY2027-M01")
    assert doc["rows"] == [{"payee": "B", "sales.measure": "50.00", "sales.earned": "2.50",
                            "total": "2.50"},
                           {"payee": "A", "sales.measure": "130.00", "sales.earned": "8.00",
                            "total": "8.00"}]


def test_run_lines(d):
    code, out, err = run(*RUN, "--lines", "--payee", "A", "--payee", "B", "--format", "csv")
    assert (code, err) == (0, "")
    assert out == ("payee,line,component,kind,fact,day,share,base,rate,tier_before,"
                   "tier_after,earned,own,true_up\n"
                   "A,0,sales,order,1,2027-01-05,1,60.00,0.05,0,0,3.00,3.00,0.00\n"
                   "A,1,sales,order,2,2027-01-20,1,70.00,0.1,0,1,5.00,5.00,0.00\n"
                   "B,0,sales,order,3,2027-01-09,1,50.00,0.05,0,0,2.50,2.50,0.00\n")


@pytest.mark.parametrize("period", [["--period", "FY2027-M01"],
                                    ["--year", "2027", "--index", "0"],
                                    ["--year", "2027", "--grain", "month", "--index", "0"]])
def test_the_period_in_every_form(d, period):
    argv = RUN[:-2] + period + ["--payee", "A", "--format", "csv"]
    code, out, err = run(*argv)
    assert (code, out, err) == (0, "payee,sales.measure,sales.earned,total\n"
                                   "A,130.00,8.00,8.00\n", "")


def test_a_quarterly_component(d):
    # due in the run of its quarter and in that of the quarter's last month, over the
    # whole quarter: 60 + 70 + 999 = 1129.00: 100 x 5 % + 1029 x 10 % = 5.00 + 102.90
    (d / "plan.json").write_text(MARGINAL.replace('"period": "month"', '"period": "quarter"'))
    for period in ("2027-Q1", "2027-03"):
        code, out, err = run(*RUN[:-1], period, "--payee", "A", "--format", "csv")
        assert (code, err) == (0, "")
        assert out == "payee,sales.measure,sales.earned,total\nA,1129.00,107.90,107.90\n"
    # January's run computes nothing for it: no days read
    code, out, err = run(*RUN, "--payee", "A")
    assert (code, err) == (0, "")
    assert out.splitlines()[2] == "A               0.00          0.00   0.00"
    assert "from:" not in out and "lines_read: 0" in out


def test_quotas(d):
    (d / "plan.json").write_text(RETRO)
    (d / "quotas.csv").write_text("payee,att\nA,100.00\nB,100\n")
    code, out, err = run(*RUN, "--payee", "A", "--payee", "B", "--quotas", "quotas.csv",
                         "--format", "csv")
    # A: 130 % of 100.00 at 4 % of the whole: 5.20; B at 50 %: 50 x 2 % = 1.00
    assert (code, err) == (0, "")
    assert out == ("payee,att.measure,att.quota,att.earned,total\n"
                   "A,130.00,100.00,5.20,5.20\nB,50.00,100.00,1.00,1.00\n")
    # B's row is not needed in a run of A alone
    code, out, err = run(*RUN, "--payee", "A", "--quotas", "quotas.csv", "--lines",
                         "--format", "csv")
    # line 1: own 70 x 4 % = 2.80, the true-up of line 0 60 x (4 % - 2 %) = 1.20
    assert out.splitlines()[1:] == ["A,0,att,order,1,2027-01-05,1,60.00,0.02,0,0,1.20,1.20,0.00",
                                    "A,1,att,order,2,2027-01-20,1,70.00,0.04,0,1,4.00,2.80,1.20"]
    # a plan of one component also takes a column named quota
    (d / "quotas.csv").write_text("payee,quota\nA,100\n")
    code, out, err = run(*RUN, "--payee", "A", "--quotas", "quotas.csv", "--format", "csv")
    assert (code, out.splitlines()[1]) == (0, "A,130.00,100.00,5.20,5.20")


def test_two_components(d):
    # RETRO's "att" and a flat 1 % "sales": A 5.20 + 1.30 = 6.50, B 1.00 + 0.50 = 1.50
    doc = json.loads(RETRO)
    doc["components"].append({"id": "sales", "measure": {"kind": "amount"},
                              "period": "month",
                              "schedule": {"kind": "flat", "tiers": [{"rate": "1%"}]}})
    (d / "plan.json").write_text(json.dumps(doc))
    (d / "quotas.csv").write_text("payee,att\nA,100\nB,100\n")
    code, out, err = run(*RUN, "--payee", "A", "--payee", "B", "--quotas", "quotas.csv",
                         "--format", "csv")
    assert (code, err) == (0, "")
    assert out == ("payee,att.measure,att.quota,att.earned,sales.measure,sales.earned,total\n"
                   "A,130.00,100.00,5.20,130.00,1.30,6.50\n"
                   "B,50.00,100.00,1.00,50.00,0.50,1.50\n")


def test_splits(d):
    (d / "plan.json").write_text(SPLIT)
    (d / "splits.csv").write_text("fact,payee,share\n2,A,50%\n2,B,0.5\n")
    code, out, err = run(*RUN, "--payee", "A", "--payee", "B", "--splits", "splits.csv",
                         "--format", "csv")
    # fact 2's 70.00 half each: A 95.00 -> 4.75, B 85.00 -> 4.25
    assert (code, err) == (0, "")
    assert out == ("payee,sales.measure,sales.earned,total\n"
                   "A,95.00,4.75,4.75\nB,85.00,4.25,4.25\n")


def test_refunds(d):
    # refund 9 gives back 20.00 of line 2 on Jan 25: A's measure 130 -> 110, V(110) =
    # 5.00 + 1.00 = 6.00, so the refund line earns 6.00 - 8.00 = -2.00 (tiers 1 -> 1)
    (d / "refunds.csv").write_text("id,ref,day,amount\n9,2,2027-01-25,20.00\n")
    code, out, err = run(*RUN, "--payee", "A", "--refunds", "refunds.csv", "--lines",
                         "--format", "csv")
    assert (code, err) == (0, "")
    assert out.splitlines()[1:] == [
        "A,0,sales,order,1,2027-01-05,1,60.00,0.05,0,0,3.00,3.00,0.00",
        "A,1,sales,order,2,2027-01-20,1,70.00,0.1,0,1,5.00,5.00,0.00",
        "A,2,sales,refund,9,2027-01-25,1,-20.00,0.1,1,1,-2.00,-2.00,0.00"]
    code, out, err = run(*RUN, "--payee", "A", "--refunds", "refunds.csv", "--format", "json")
    doc = json.loads(out)
    assert (doc["refunds_read"], doc["rows"][0]["total"]) == (1, "6.00")


def test_encoding_date_format_and_output_file(d):
    (d / "lines.csv").write_bytes("rep,day,amount,product\nZ\u00fcrich,05/01/2027,60.00,\n"
                                  "Z\u00fcrich,20/01/2027,70.00,P1\n".encode("cp1252"))
    code, out, err = run(*RUN, "--encoding", "cp1252", "--date-format", "%d/%m/%Y",
                         "--format", "csv", "-o", "out.csv")
    assert (code, out, err) == (0, "", "")
    assert (d / "out.csv").read_text(encoding="utf-8") == (
        "payee,sales.measure,sales.earned,total\nZ\u00fcrich,130.00,8.00,8.00\n")


def test_explain(d):
    code, out, err = run(*EXPLAIN, "--payee", "A", "--line", "1")
    assert (code, err) == (0, "")
    assert out.startswith('{\n  "plan": "AE",\n  "revision": 0,\n  "payee": "A",\n')
    doc = json.loads(out)
    assert (doc["base"], doc["measure_before"], doc["measure_after"]) == (70, 60, 130)
    assert doc["rate"] == 0.1 and doc["earned"] == 5 and '"rate": 0.1,' in out
    assert doc["tier_after"] == {"index": 1, "path": "components[0].schedule.tiers[1]"}
    code, out, err = run(*EXPLAIN, "--payee", "B", "-o", "why.json")
    assert (code, out, err) == (0, "", "")
    doc = json.loads((d / "why.json").read_text())
    assert doc["total"] == 2.5 and doc["components"][0]["measure"] == 50
    # a payee without facts is explained too (its total: 0)
    code, out, err = run(*EXPLAIN, "--payee", "Q")
    assert code == 0 and json.loads(out)["total"] == 0


def test_help_has_examples(capsys):
    assert main(["commission", "run", "--help"]) == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "salesplan commission run --plan plan.json" in text
    assert "--quotas" in text and "0.5 or 50%" in text
    assert main(["commission", "explain", "--help"]) == 0
    assert "--line N" in capsys.readouterr().out
    assert main(["commission", "--help"]) == 0
    text = capsys.readouterr().out
    assert "run" in text and "explain" in text
    assert main(["--help"]) == 0
    assert "commission" in capsys.readouterr().out


@pytest.mark.parametrize("files,argv,message", [
    ({"plan.json": '{"plan": "AE",}'}, [],
     'plan.json:1:15: expected property name enclosed in double quotes, found "}"'),
    ({"lines.csv": "id,rep,day,amount\n1,A,2027-01-05,12.345\n"}, [],
     'lines.csv:2:4: expected amount: a decimal amount with at most 2 decimal places, found '
     '"12.345"'),
    ({"lines.csv": "id,rep,day\n1,A,2027-01-05\n"}, [],
     'lines.csv:1:1: expected a column named "amount" in the header, found id,rep,day'),
    ({"lines.csv": "id,rep,day,amount\n1,A,2027-01-05,1\n1,B,2027-01-06,1\n"}, [],
     'lines.csv:3:1: expected id: a value not already on line 2, found "1"'),
    ({"lines.csv": "id,rep,day,amount,channel\n1,A,2027-01-05,1,web\n"}, [],
     'lines.csv:1:5: expected one of the columns id, day, amount, quantity, cost, rep, '
     'product, customer, grid, found "channel"'),
    ({"refunds.csv": "ref,day,amount\n99,2027-01-25,1.00\n"}, ["--refunds", "refunds.csv"],
     'refunds.csv:2:1: expected ref: the id of an order line of lines.csv, found "99"'),
    ({"refunds.csv": "ref,day,amount\n2,2027-01-25,-1.00\n"}, ["--refunds", "refunds.csv"],
     'refunds.csv:2:3: expected amount: the money returned, 0 or more, found "-1.00"'),
    ({"payees.csv": "payee\nA\nA\n"}, ["--payees", "payees.csv"],
     'payees.csv:3:1: expected payee: a value not already on line 2, found "A"'),
    ({"plan.json": RETRO, "quotas.csv": "payee,sales\nA,1\n"}, ["--quotas", "quotas.csv"],
     'quotas.csv:1:2: expected payee or a column named by a component of the plan (att, '
     'quota), found "sales"'),
    ({"plan.json": RETRO, "quotas.csv": "payee,att\nA,1\n"}, ["--quotas", "quotas.csv"],
     'quotas.csv: expected a row for payee "B" (its quota of component "att", on '
     'attainment), found none'),
    ({"plan.json": RETRO, "quotas.csv": "payee\nA\n"}, ["--quotas", "quotas.csv"],
     'quotas.csv:1:1: expected a column named "att" (the component is on attainment), '
     'found payee'),
    ({"plan.json": RETRO, "quotas.csv": "payee,att\nA,1.001\n"}, ["--quotas", "quotas.csv"],
     'quotas.csv:2:2: expected att: a decimal amount with at most 2 decimal places, found '
     '"1.001"'),
    ({"plan.json": SPLIT, "splits.csv": "fact,payee,share\n2,A,50%\n2,B,49%\n"},
     ["--splits", "splits.csv"],
     'splits.csv:2:3: expected share: the shares of fact 2 summing to 100%, found a sum of '
     '99.00%'),
    ({"plan.json": SPLIT, "splits.csv": "fact,payee,share\n2,A,half\n"},
     ["--splits", "splits.csv"],
     'splits.csv:2:3: expected share: a share: 0.5 or 50%, found "half"'),
    ({"plan.json": SPLIT, "splits.csv": "fact,payee,share\n2,A,150%\n"},
     ["--splits", "splits.csv"],
     'splits.csv:2:3: expected share: a share from 0 to 100% with at most 9 decimal places '
     '(7 as a percentage), found "150%"'),
    ({"plan.json": SPLIT, "splits.csv": "fact,payee,share\n7,A,1\n"},
     ["--splits", "splits.csv"],
     'splits.csv:2:1: expected fact: the id of an order line of lines.csv, found "7"'),
    ({"plan.json": SPLIT, "splits.csv": "fact,payee,share\n2,Q,1\n"},
     ["--splits", "splits.csv"],
     'splits.csv:2:2: expected payee: a payee of the run, found "Q"'),
    ({}, ["--payee", "A", "--unknown", "error"],
     'lines.csv:4:2: expected rep: a payee of the run (--unknown error), found "B"'),
    ({}, ["--payees", "nope.csv"],
     "nope.csv: expected a readable file, found no such file or directory"),
    ({"pay.csv": "id,ref,day,amount\n20,99,2027-01-25,1.00\n"}, ["--payments", "pay.csv"],
     'pay.csv:2:2: expected ref: the id of an order line of lines.csv, found "99"'),
    ({"pay.csv": "id,ref,day,amount\n20,1,2027-01-25,1.00\n", "inv.csv": INVOICES},
     ["--invoices", "inv.csv", "--payments", "pay.csv"],
     'pay.csv:2:2: expected ref: the id of an invoice line of inv.csv, found "1"'),
    ({"pay.csv": "id,ref,day,amount\n20,1,2027-01-25,1.001\n"}, ["--payments", "pay.csv"],
     'pay.csv:2:4: expected amount: a decimal amount with at most 2 decimal places, found '
     '"1.001"'),
    ({"cn.csv": "ref,day,amount\n2,2027-01-20,1.00\n", "inv.csv": INVOICES},
     ["--invoices", "inv.csv", "--invoice-refunds", "cn.csv"],
     'cn.csv:2:1: expected ref: the id of an invoice line of inv.csv, found "2"'),
    ({"inv.csv": "id,rep,day,amount\n10,A,2027-01-12,1.00\n10,B,2027-01-12,1.00\n"},
     ["--invoices", "inv.csv"],
     'inv.csv:3:1: expected id: a value not already on line 2, found "10"'),
    ({"plan.json": SPLIT, "inv.csv": INVOICES, "splits.csv": "fact,payee,share\n11,A,1\n"},
     ["--invoices", "inv.csv", "--splits", "splits.csv"],
     'splits.csv:2:1: expected fact: the id of an order or invoice line of lines.csv or '
     'inv.csv, found "11"'),
])
def test_bad_input_files_exit_3_and_write_nothing(d, files, argv, message):
    for name, text in files.items():
        (d / name).write_text(text)
    before = snapshot(d)
    code, out, err = run(*RUN, *argv, "-o", "out.csv")
    assert (code, out, err) == (3, "", f"salesplan: {message}\n")
    assert snapshot(d) == before


@pytest.mark.parametrize("argv,message", [
    (RUN + ["--year", "2027"], "commission run: argument --period: not allowed with --year, "
                               "--grain or --index"),
    (RUN[:-2], "commission run: the period is required: --period or --year"),
    (RUN[:-2] + ["--year", "2027", "--grain", "quarter"],
     "commission run: argument --index: required with --grain quarter"),
    (RUN[:-2] + ["--year", "2027", "--index", "-1"],
     "commission run: argument --index: expected 0 or more, found -1"),
    (RUN[:-1] + ["2027-Q5"], "commission run: argument --period: expected YYYY, YYYY-Qn or "
                             "YYYY-MM (a fiscal year, quarter or month: 2027-03), found "
                             "'2027-Q5'"),
    (RUN[:-1] + ["2027-1"], "commission run: argument --period: expected YYYY, YYYY-Qn or "
                            "YYYY-MM (a fiscal year, quarter or month: 2027-03), found "
                            "'2027-1'"),
    (RUN + ["--payees", "p.csv", "--payee", "A"],
     "commission run: argument --payee: not allowed with --payees"),
    (EXPLAIN, "commission explain: the following arguments are required: --payee"),
    (EXPLAIN + ["--payee", "A", "--line", "-1"],
     "commission explain: argument --line: expected 0 or more, found -1"),
])
def test_usage_errors_exit_2(d, argv, message):
    (d / "p.csv").write_text("payee\nB\n")
    code, out, err = run(*argv)
    assert (code, out) == (2, "") and err.startswith(f"salesplan: {message}")
    assert err.count("\n") == 1


def test_explain_a_payee_of_no_run_is_a_usage_error(d):
    (d / "p.csv").write_text("payee\nB\n")
    code, out, err = run(*EXPLAIN, "--payees", "p.csv", "--payee", "A")
    assert (code, out) == (2, "")
    assert err.startswith("salesplan: commission explain: argument --payee: 'A' is none of "
                          "the payees of p.csv")


@pytest.mark.parametrize("files,argv,message", [
    ({"plan.json": MARGINAL.replace('"tiers"', '"tier"')}, RUN,
     "plan.json: commission plan: components[0].schedule: unknown field 'tier'; did you "
     "mean 'tiers'? (line 1, column "),
    ({}, RUN[:-2] + ["--year", "2027", "--index", "12"],
     "commission run: FY2027 has 12 periods of a month, not 13"),
    ({}, EXPLAIN + ["--payee", "A", "--line", "5"],
     'commission run: explain: payee "A" has 2 lines, not 6'),
])
def test_the_library_refuses_exit_1(d, files, argv, message):
    for name, text in files.items():
        (d / name).write_text(text)
    before = snapshot(d)
    code, out, err = run(*argv, "-o", "out.json")
    assert (code, out) == (1, "") and err.startswith(f"salesplan: {message}")
    assert err.count("\n") == 1 and snapshot(d) == before


def test_an_output_that_cannot_be_written_exits_4(d):
    code, out, err = run(*RUN, "-o", "nodir/out.csv")
    assert (code, out) == (4, "")
    assert err == "salesplan: nodir/out.csv: cannot write: no such file or directory\n"


def test_the_installed_command_runs(d):
    env = dict(os.environ)
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p)
                                            for p in env["PYTHONPATH"].split(os.pathsep))
    r = subprocess.run([sys.executable, "-m", "salesplan", *RUN, "--payee", "B",
                        "--format", "csv"], cwd=d, env=env, capture_output=True, text=True)
    assert (r.returncode, r.stdout, r.stderr) == (
        0, "payee,sales.measure,sales.earned,total\nB,50.00,2.50,2.50\n", "")
    r = subprocess.run([sys.executable, "-m", "salesplan", *RUN[:-1], "2027-00"], cwd=d,
                       env=env, capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1


# ---- the invoice and payment bases, draws (test_commission.py derives the same) ----

def flat_on(basis):
    return json.dumps({"plan": "I", "effective": {"from": "2027-01-01"}, "currency": "USD",
                       "components": [{"id": "c", "measure": {"kind": "amount",
                                                              "basis": basis},
                                       "period": "month",
                                       "schedule": {"kind": "flat",
                                                    "tiers": [{"rate": "10%"}]}}]})


RUN_INVOICES = ["commission", "run", "--plan", "plan.json", "--invoices", "inv.csv",
                "--period", "2027-01"]


def test_invoices_and_credit_notes(d):
    # invoice line 10 of 100.00 less its credit note 11 of 30.00: 70.00 x 10 % = 7.00;
    # without --facts the payees are the invoices' reps
    (d / "plan.json").write_text(flat_on("invoice"))
    (d / "inv.csv").write_text(INVOICES)
    (d / "cn.csv").write_text(CREDIT_NOTES)
    code, out, err = run(*RUN_INVOICES, "--invoice-refunds", "cn.csv", "--format", "csv")
    assert (code, out, err) == (0, "payee,c.measure,c.earned,total\nA,70.00,7.00,7.00\n", "")
    code, out, err = run(*RUN_INVOICES, "--invoice-refunds", "cn.csv", "--lines",
                         "--format", "csv")
    assert out.splitlines()[1:] == [
        "A,0,c,order,10,2027-01-12,1,100.00,0.1,0,0,10.00,10.00,0.00",
        "A,1,c,refund,11,2027-01-20,1,-30.00,0.1,0,0,-3.00,-3.00,0.00"]
    # the order lines are not the invoice basis's: A, B and X earn nothing from them
    code, out, err = run(*RUN_INVOICES, "--facts", "lines.csv", "--format", "json")
    doc = json.loads(out)
    assert (code, doc["lines_read"], doc["total"]) == (0, 1, "10.00")
    assert [r["payee"] for r in doc["rows"]] == ["A", "B", "X"]
    # the invoice basis with no invoices: the library's message (exit 1)
    code, out, err = run(*RUN)
    assert (code, out) == (1, "") and err == (
        "salesplan: commission run: components[0].measure.basis: the invoice basis reads "
        "the run's invoice lines, and the run has none (no invoice source)\n")


def test_payments(d):
    # A's line 1 (60.00) paid 30.00 on Jan 25: 30.00 x 10 % = 3.00 on a payment line
    (d / "plan.json").write_text(flat_on("payment"))
    (d / "pay.csv").write_text("id,ref,day,amount\n20,1,2027-01-25,30.00\n")
    code, out, err = run(*RUN, "--payments", "pay.csv", "--payee", "A", "--payee", "B",
                         "--format", "json")
    doc = json.loads(out)
    assert (code, err, doc["payments_read"], doc["total"]) == (0, "", 1, "3.00")
    code, out, err = run(*RUN, "--payments", "pay.csv", "--payee", "A", "--lines",
                         "--format", "csv")
    assert out.splitlines()[1:] == [
        "A,0,c,payment,20,2027-01-25,1,30.00,0.1,0,0,3.00,3.00,0.00"]
    # February: 30.00 more on Feb 3: the January payment is read from the lookback day
    # (the version's first, Jan 1) and February credits 60 - 30 = 30.00: 3.00. From Jan
    # 10 on, line 1 is not read: the library refuses its payment (exit 1).
    (d / "pay.csv").write_text("id,ref,day,amount\n20,1,2027-01-25,30.00\n"
                               "21,1,2027-02-03,30.00\n")
    feb = RUN[:-1] + ["2027-02", "--payments", "pay.csv", "--payee", "A", "--format", "csv"]
    code, out, err = run(*feb)
    assert (code, out) == (0, "payee,c.measure,c.earned,total\nA,30.00,3.00,3.00\n")
    code, out, err = run(*feb, "--lookback-from", "2027-01-10")
    assert (code, out) == (1, "") and err == (
        "salesplan: commission run: payments batch 1 row 0: payment 20 references line 1, "
        "which is no order line from 2027-01-10 on\n")
    # payments of invoice lines: invoice line 10 (100.00) paid 50.00: 5.00
    (d / "inv.csv").write_text(INVOICES)
    (d / "pay.csv").write_text("ref,day,amount\n10,2027-01-28,50.00\n")
    code, out, err = run(*RUN_INVOICES, "--payments", "pay.csv", "--format", "csv")
    assert (code, out) == (0, "payee,c.measure,c.earned,total\nA,50.00,5.00,5.00\n")


def test_a_draw(d):
    # flat 10 % and a recoverable draw of 10.00 a month: A earns 13.00; B 5.00, topped up
    # 5.00 (balance 5.00), paid 10.00; the top-up line has no component, base the
    # earnings 5.00 and rate the draw 10.00
    doc = json.loads(flat_on("booking"))
    doc["draw"] = {"kind": "recoverable", "amount": 10, "period": "month"}
    (d / "plan.json").write_text(json.dumps(doc))
    code, out, err = run(*RUN, "--payee", "A", "--payee", "B", "--format", "csv")
    assert (code, err) == (0, "")
    assert out == ("payee,c.measure,c.earned,draw.paid,draw.recovered,draw.forgiven,"
                   "draw.balance,total\n"
                   "A,130.00,13.00,0.00,0.00,0.00,0.00,13.00\n"
                   "B,50.00,5.00,5.00,0.00,0.00,5.00,10.00\n")
    code, out, err = run(*RUN, "--payee", "B", "--lines", "--format", "csv")
    assert out.splitlines()[1:] == [
        "B,0,c,order,3,2027-01-09,1,50.00,0.1,0,0,5.00,5.00,0.00",
        "B,1,,draw,0,2027-01-31,1,5.00,10.00,0,0,5.00,5.00,0.00"]
    code, out, err = run(*EXPLAIN, "--payee", "B", "--line", "1")
    assert code == 0 and json.loads(out)["rule"] == "draw"


@pytest.mark.parametrize("argv,message", [
    (["commission", "run", "--plan", "plan.json", "--period", "2027-01"],
     "commission run: --facts or --invoices is required"),
    (["commission", "run", "--plan", "plan.json", "--invoices", "lines.csv", "--refunds",
      "lines.csv", "--period", "2027-01"],
     "commission run: argument --refunds: needs --facts"),
    (RUN + ["--invoice-refunds", "lines.csv"],
     "commission run: argument --invoice-refunds: needs --invoices"),
    (RUN + ["--lookback-from", "2027-1-10"],
     "commission run: argument --lookback-from: expected a date as YYYY-MM-DD, found "
     "'2027-1-10'"),
])
def test_fact_usage_errors_exit_2(d, argv, message):
    code, out, err = run(*argv)
    assert (code, out) == (2, "") and err.startswith(f"salesplan: {message}")


# ---- plans in a store ----

def version_doc(first, last=None, rate="5%"):
    eff = {"from": first} if last is None else {"from": first, "to": last}
    return json.dumps({"plan": "AE", "effective": eff, "currency": "USD",
                       "components": [{"id": "sales", "measure": {"kind": "amount"},
                                       "period": "month",
                                       "schedule": {"kind": "flat",
                                                    "tiers": [{"rate": rate}]}}]})


SAVE = ["commission", "plan", "save", "--store", "plans.spstore"]


def test_plan_save_versions_show(d):
    (d / "ae27.json").write_text(version_doc("2027-01-01", "2027-12-31"))
    (d / "ae28.json").write_text(version_doc("2028-01-01"))
    (d / "ae28b.json").write_text(version_doc("2028-01-01", rate="6%"))
    code, out, err = run(*SAVE, "--plan", "ae27.json", "--format", "csv")
    assert (code, out, err) == (0, "from,to\n2027-01-01,2027-12-31\n", "")
    # saved from revision 0 while the store holds 1: refused (exit 1), the store unchanged
    before = (d / "plans.spstore").read_bytes()
    code, out, err = run(*SAVE, "--plan", "ae28.json")
    assert (code, out) == (1, "") and err == (
        'salesplan: commission plan "AE": revision 1 is stored, the save was based on '
        'revision 0 (a new plan)\n')
    assert (d / "plans.spstore").read_bytes() == before
    code, out, err = run(*SAVE, "--plan", "ae28.json", "--based-on", "1", "--format", "json")
    doc = json.loads(out)
    assert (code, doc["plan"], doc["revision"]) == (0, "AE", 2)
    assert doc["rows"] == [{"from": "2027-01-01", "to": "2027-12-31"},
                           {"from": "2028-01-01", "to": None}]
    # the version of 2028 replaced in revision 3 (same first day)
    code, out, err = run(*SAVE, "--plan", "ae28b.json", "--based-on", "2")
    assert (code, err) == (0, "") and "revision: 3" in out
    versions = ["commission", "plan", "versions", "--store", "plans.spstore", "--id", "AE"]
    code, out, err = run(*versions)
    assert (code, out) == (0, "from        to\n----------  ----------\n"
                              "2027-01-01  2027-12-31\n2028-01-01\n\nplan: AE\nrevision: 3\n")
    code, out, err = run(*versions, "--revision", "1", "--format", "csv")
    assert (code, out) == (0, "from,to\n2027-01-01,2027-12-31\n")
    show = ["commission", "plan", "show", "--store", "plans.spstore", "--id", "AE"]
    code, out, err = run(*show, "--day", "2028-06-01")
    assert code == 0 and json.loads(out)["components"][0]["schedule"]["tiers"] == [
        {"rate": 0.06}]
    code, out, err = run(*show, "--day", "2028-06-01", "--revision", "2", "-o", "old.json")
    assert (code, out, err) == (0, "", "")
    old = json.loads((d / "old.json").read_text())
    assert old["effective"]["from"] == "2028-01-01" and "to" not in old["effective"]
    assert old["components"][0]["schedule"]["tiers"] == [{"rate": 0.05}]
    # what show prints, save takes back: the same version, a revision more
    code, out, err = run(*SAVE, "--plan", "old.json", "--based-on", "3", "--format", "csv")
    assert (code, out) == (0, "from,to\n2027-01-01,2027-12-31\n2028-01-01,\n")


@pytest.mark.parametrize("argv,code,message", [
    (["commission", "plan", "show", "--store", "plans.spstore", "--id", "AE", "--day",
      "2026-12-31"], 1,
     'commission plan "AE" revision 1 has no version in effect on 2026-12-31; its '
     'versions: 2027-01-01 .. 2027-12-31'),
    (["commission", "plan", "versions", "--store", "plans.spstore", "--id", "AE",
      "--revision", "4"], 1, 'commission plan "AE": revision 4 is not in the store'),
    (["commission", "plan", "versions", "--store", "nope.spstore", "--id", "AE"], 3,
     "nope.spstore: expected a store (made by commission plan save), found no such file"),
    (["commission", "plan", "versions", "--store", "plans.spstore", "--id", "AE",
      "--revision", "-1"], 2,
     "commission plan versions: argument --revision: expected a revision, 0 or more, found "
     "-1"),
    (["commission", "plan", "show", "--store", "plans.spstore", "--id", "AE"], 2,
     "commission plan show: the following arguments are required: --day"),
    (["commission", "plan"], 2, "commission plan: the following arguments are required: "
                                "<command>"),
    (SAVE + ["--plan", "overlap.json", "--based-on", "1"], 1,
     'commission plan "AE": version 2027-01-01 .. 2027-12-31 overlaps version '
     '2027-07-01 .. 2027-09-30'),
    (SAVE + ["--plan", "bad.json", "--based-on", "1"], 3,
     'bad.json:1:2: expected property name enclosed in double quotes'),
])
def test_plan_store_errors_change_nothing(d, argv, code, message):
    (d / "ae27.json").write_text(version_doc("2027-01-01", "2027-12-31"))
    (d / "overlap.json").write_text(version_doc("2027-07-01", "2027-09-30"))
    (d / "bad.json").write_text("{,}")
    assert run(*SAVE, "--plan", "ae27.json")[0] == 0
    before = snapshot(d)
    got, out, err = run(*argv)
    assert (got, out) == (code, "") and err.startswith(f"salesplan: {message}"), err
    assert snapshot(d) == before


def test_plan_save_leaves_no_new_store_behind(d):
    # a new store whose first save fails (based on a revision it does not hold) is removed
    (d / "ae27.json").write_text(version_doc("2027-01-01"))
    code, out, err = run(*SAVE, "--plan", "ae27.json", "--based-on", "5")
    assert (code, out) == (1, "") and "based on revision 5" in err
    assert not (d / "plans.spstore").exists()
    code, out, err = run(*SAVE, "--plan", "ae27.json", "-o", "nodir/out.csv")
    assert code == 4 and not (d / "plans.spstore").exists()


# ---- the ledger: run --post, close, statement, ledger ----
#
# January posted: A 8.00, B 2.50, X 0.50 = 11.00 in 4 lines. Closed; a late B line (fact 6,
# 50.00 on Jan 25) makes B's January 100.00 x 5 % = 5.00: posted into February as the
# correction +2.50 (one line, fact 6); A's and X's statements are unchanged.

LATE = LINES + "6,B,2027-01-25,50.00\n"
POST = RUN + ["--post", "--store", "ledger.spstore"]
LEDGER = ["--store", "ledger.spstore", "--plan", "AE"]


def test_post_close_statement_ledger(d):
    code, out, err = run(*POST, "--format", "csv")
    assert (code, err) == (0, "")
    assert out == ("period,corrects,written,removed,revision,payees,lines,total\n"
                   "2027-01,,true,false,1,3,4,11.00\n")
    code, out, err = run("commission", "close", *LEDGER, "--period", "2027-01")
    assert (code, err) == (0, "")
    assert out == ("plan  period   closed\n----  -------  ------\nAE    2027-01  true\n")
    (d / "lines.csv").write_text(LATE)
    code, out, err = run(*POST, "--into", "2027-02", "--format", "json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert (doc["plan"], doc["currency"]) == ("AE", "USD")
    assert doc["rows"] == [{"period": "2027-02", "corrects": "2027-01", "written": True,
                            "removed": False, "revision": 3, "payees": 1, "lines": 1,
                            "total": "2.50"}]
    code, out, err = run("commission", "ledger", *LEDGER, "--format", "csv")
    assert (code, err) == (0, "")
    assert out == ("period,corrects,closed,revision,payees,lines,total_minor\n"
                   "2027-01,,true,1,3,4,1100\n2027-02,2027-01,false,1,1,1,250\n")
    code, out, err = run("commission", "statement", *LEDGER, "--period", "2027-02",
                         "--payee", "B")
    assert (code, err) == (0, "")
    assert out.splitlines()[2].split() == ["0", "2027-01", "0", "sales", "order", "6",
                                           "2027-01-25", "1", "50.00", "0.1", "0", "1",
                                           "2.50", "2.50", "0.00"]
    assert out.endswith("\nplan: AE\nperiod: 2027-02\npayee: B\nclosed: false\n"
                        "currency: USD\npart 0: corrections of 2027-01\npart 0 total: 2.50\n"
                        "total: 2.50\n")
    code, out, err = run("commission", "statement", *LEDGER, "--period", "2027-01",
                         "--payee", "A", "--format", "json")
    doc = json.loads(out)
    assert (doc["closed"], doc["total"]) == (True, "8.00")
    assert [(r["fact"], r["earned"]) for r in doc["rows"]] == [(1, "3.00"), (2, "5.00")]


@pytest.mark.parametrize("argv, code, message", [
    (POST[:-2], 2, "commission run: argument --post: requires --store FILE"),
    (RUN + ["--into", "2027-02"], 2, "commission run: argument --into: only with --post"),
    (RUN + ["--store", "x.spstore"], 2, "commission run: argument --store: only with --post"),
    (POST, 1, 'commission ledger "AE": 2027-M01 is closed; post its corrections into an '
              'open period'),
    (POST + ["--into", "2027-13"], 2,
     "commission run: argument --into: expected YYYY, YYYY-Qn or YYYY-MM"),
    (["commission", "close"] + LEDGER + ["--period", "2027-01"], 1,
     'commission ledger "AE": 2027-M01 is already closed'),
    (["commission", "close"] + LEDGER + ["--period", "2027-03"], 1,
     'commission ledger "AE": 2027-M03 was never posted'),
    (["commission", "close", "--store", "nope.spstore", "--plan", "AE", "--period",
      "2027-01"], 3, "nope.spstore: expected a store (made by commission run --post), found "
                     "no such file"),
    (["commission", "statement"] + LEDGER + ["--period", "2027-02", "--payee", "A"], 1,
     'commission ledger "AE": 2027-M02 was never posted'),
    (["commission", "statement"] + LEDGER + ["--period", "2027-01", "--payee", "Z"], 1,
     'commission ledger "AE": payee "Z" has no statement in 2027-M01'),
    (["commission", "statement"] + LEDGER + ["--period", "2027-01"], 2,
     "commission statement: the following arguments are required: --payee"),
    (["commission", "ledger", "--store", "ledger.spstore", "--plan", "XX"], 1,
     'commission ledger "XX": nothing was posted'),
])
def test_ledger_errors_change_nothing(d, argv, code, message):
    assert run(*POST)[0] == 0
    assert run("commission", "close", *LEDGER, "--period", "2027-01")[0] == 0
    before = snapshot(d)
    got, out, err = run(*argv)
    assert (got, out) == (code, "") and err.startswith(f"salesplan: {message}"), err
    assert snapshot(d) == before
