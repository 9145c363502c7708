"""salesplan target ...: the commands run as a subprocess, outputs computed by hand.

The plan of every test: Co with regions A and B, split by a driver "potential" A 1 : B 3,
by quarters, each node's year split evenly over its quarters (no seasonality given).
Total CNY 1000.01 = 100001 fen:
  A = 100001 x 1/4 = 25000.25 fen -> 25000; B = 75000.75 -> 75000; the fen left goes to
  the larger remainder (.75): B = 75001. So A 250.00, B 750.01.
  A's quarters: 25000 / 4 = 6250 each: 62.50 x 4.
  B's quarters: 75001 / 4 = 18750.25: 18750 each, the fen left to the earliest: Q1
  187.51, then 187.50 x 3.
  Co = A + B per quarter: 250.01, 250.00, 250.00, 250.00; annual 1000.01.
"""
import json
import os
import subprocess
import sys

import pytest

NODES = "id,parent,level\nCo,,company\nA,Co,region\nB,Co,region\n"
DRIVERS = "id,potential\nA,1\nB,3\n"
SETTINGS = '{"levels": {"region": {"method": "driver", "driver": "potential"}}}'

CSV_V1 = ("node,level,annual,Q1,Q2,Q3,Q4\n"
          "Co,company,1000.01,250.01,250.00,250.00,250.00\n"
          "A,region,250.00,62.50,62.50,62.50,62.50\n"
          "B,region,750.01,187.51,187.50,187.50,187.50\n")


def _env():
    """The test's environment, with PYTHONPATH made absolute (the commands run in a
    directory of their own)."""
    env = dict(os.environ)
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p)
                                            for p in env["PYTHONPATH"].split(os.pathsep))
    return env


def run(*argv, cwd):
    r = subprocess.run([sys.executable, "-m", "salesplan", *argv], cwd=cwd,
                       env=_env(), capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


@pytest.fixture
def d(tmp_path):
    (tmp_path / "nodes.csv").write_text(NODES)
    (tmp_path / "drivers.csv").write_text(DRIVERS)
    (tmp_path / "settings.json").write_text(SETTINGS)
    return tmp_path


DECOMPOSE = ["target", "decompose", "--store", "st", "--plan", "FY2027",
             "--hierarchy", "nodes.csv", "--drivers", "drivers.csv",
             "--settings", "settings.json", "--fiscal-year", "2027", "--currency", "CNY",
             "--grain", "quarter", "--total", "1000.01"]


def decomposed(d):
    code, out, err = run(*DECOMPOSE, "--format", "csv", cwd=d)
    assert (code, err) == (0, "")
    return out


def test_decompose_csv_and_show(d):
    assert decomposed(d) == CSV_V1
    assert (d / "st").exists()
    code, out, err = run("target", "show", "--store", "st", "--plan", "FY2027",
                         "--format", "csv", cwd=d)
    assert (code, out, err) == (0, CSV_V1, "")


def test_decompose_table_and_json(d):
    code, out, err = run(*DECOMPOSE, "--note", "first", cwd=d)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["node", "level", "annual", "Q1", "Q2", "Q3", "Q4"]
    assert lines[2] == "Co    company  1000.01  250.01  250.00  250.00  250.00"
    assert lines[3] == "A     region    250.00   62.50   62.50   62.50   62.50"
    assert lines[4] == "B     region    750.01  187.51  187.50  187.50  187.50"
    assert "plan: FY2027" in lines and "scenario: base" in lines and "version: 1" in lines
    assert "note: first" in lines
    code, out, err = run("target", "show", "--store", "st", "--plan", "FY2027",
                         "--format", "json", cwd=d)
    doc = json.loads(out)
    assert doc["plan"] == "FY2027" and doc["version"] == 1 and doc["note"] == "first"
    assert doc["rows"][2] == {"node": "B", "level": "region", "annual": "750.01",
                              "Q1": "187.51", "Q2": "187.50", "Q3": "187.50",
                              "Q4": "187.50"}


def test_decompose_cp1252_and_output_file(d):
    (d / "nodes.csv").write_bytes("id,parent\nCo,,\nZ\u00fcrich,Co\nB,Co\n"
                                  .replace(",,\n", ",\n").encode("cp1252"))
    (d / "drivers.csv").write_bytes("id,potential\nZ\u00fcrich,1\nB,3\n".encode("cp1252"))
    (d / "settings.json").write_text('{"nodes": {"Co": {"method": "driver", '
                                     '"driver": "potential"}}}')
    argv = [a.replace("quarter", "year") for a in DECOMPOSE]
    code, out, err = run(*argv, "--encoding", "cp1252", "--format", "csv",
                         "-o", "out.csv", cwd=d)
    assert (code, out, err) == (0, "", "")
    # one period: the year; Zürich 250.00, B 750.01 as above; siblings in canonical
    # order (by id: "B" before "Z")
    assert (d / "out.csv").read_text(encoding="utf-8") == (
        "node,level,annual,Y\nCo,,1000.01,1000.01\nB,,750.01,750.01\n"
        "Z\u00fcrich,,250.00,250.00\n")


def snapshot(d):
    return {p.name: p.read_bytes() for p in d.iterdir()}


@pytest.mark.parametrize("nodes,message", [
    ("id,parent,level\nCo,,company\nA,Co,region\nB,X,region\n",
     'nodes.csv:4:2: expected parent: the id of a node in the file, found "X"'),
    ("id,parent,level\nCo,,company\nA,,region\n",
     'nodes.csv:3:2: expected parent: the id of the parent (the root is "Co", on line 2), '
     'found an empty field'),
    ("id,parent,level\nCo,,company\nA,B,region\nB,A,region\n",
     'nodes.csv:3:2: expected parent: a chain of parents up to the root, found a cycle '
     'through "A"'),
    ("id,parent,level\nCo,,company\nA,Co,region\nB,Co,rep\n",
     'nodes.csv:4:3: expected level: "region" as the other nodes at depth 1 (line 3), '
     'found "rep"'),
    ("id,parent,levels\nCo,,company\n",
     'nodes.csv:1:3: expected one of the columns id, parent, level, found "levels"'),
    ("id,parent\nCo,\nA,Co\nA,Co\n",
     'nodes.csv:4:1: expected id: a value not already on line 3, found "A"'),
])
def test_decompose_bad_hierarchy(d, nodes, message):
    (d / "nodes.csv").write_text(nodes)
    before = snapshot(d)
    code, out, err = run(*DECOMPOSE, "-o", "out.csv", cwd=d)
    assert (code, out, err) == (3, "", f"salesplan: {message}\n")
    assert snapshot(d) == before          # no store, no output, no temporary


def test_decompose_bad_drivers_and_settings(d):
    before = snapshot(d)
    (d / "drivers.csv").write_text("id,potential\nA,1\nC,3\n")
    code, out, err = run(*DECOMPOSE, cwd=d)
    assert (code, err) == (3, 'salesplan: drivers.csv:3:1: expected id: the id of a node of '
                              'the hierarchy, found "C"\n')
    (d / "drivers.csv").write_text("id,potential\nA,1.5\nB,3\n")
    code, out, err = run(*DECOMPOSE, cwd=d)
    assert (code, err) == (3, 'salesplan: drivers.csv:2:2: expected potential: an integer, '
                              'found "1.5"\n')
    (d / "drivers.csv").write_text(DRIVERS)
    (d / "settings.json").write_text('{"levels": {"region": }}')
    code, out, err = run(*DECOMPOSE, cwd=d)
    assert (code, err) == (3, 'salesplan: settings.json:1:23: expected value, found "}"\n')
    # the library refuses the settings: exit 1, its message
    (d / "settings.json").write_text('{"levels": {"region": {"method": "driver"}}}')
    code, out, err = run(*DECOMPOSE, cwd=d)
    assert code == 1 and out == "" and err.startswith("salesplan: ")
    assert err.count("\n") == 1
    (d / "settings.json").write_text(SETTINGS)
    after = snapshot(d)
    assert set(after) == set(before)


def test_decompose_existing_plan_is_refused_store_unchanged(d):
    decomposed(d)
    before = snapshot(d)
    code, out, err = run(*DECOMPOSE, cwd=d)
    assert code == 1 and out == ""
    assert err == "salesplan: target plan: plan 'FY2027' is already in st (decompose " \
        "makes a new plan: choose another id)\n"
    assert snapshot(d) == before


def test_decompose_output_dir_missing_store_untouched(d):
    code, out, err = run(*DECOMPOSE, "-o", "nodir/out.csv", cwd=d)
    assert (code, out) == (4, "")
    assert err == "salesplan: nodir/out.csv: cannot write: no such file or directory\n"
    assert not (d / "st").exists()


def test_decompose_total_with_too_many_places(d):
    argv = [a.replace("1000.01", "1000.001") for a in DECOMPOSE]
    code, out, err = run(*argv, cwd=d)
    assert code == 1 and err.startswith("salesplan: total: 1000.001 has more decimal places")
    assert not (d / "st").exists()


FACTS = "rep,day,amount\nA,15/01/2027,30.00\nA,10/03/2027,40.00\nB,01/02/2027,100.00\n"


def test_replan(d):
    decomposed(d)
    (d / "facts.csv").write_text(FACTS)
    code, out, err = run("target", "replan", "--store", "st", "--plan", "FY2027",
                         "--actuals", "facts.csv", "--date-format", "%d/%m/%Y",
                         "--closed", "1", "--format", "csv", cwd=d)
    assert (code, err) == (0, "")
    # Q1 closed at the actuals: A 70.00, B 100.00. The rest over Q2..Q4 evenly:
    # A 250.00 - 70.00 = 180.00 -> 60.00 x 3; B 750.01 - 100.00 = 650.01 -> 216.67 x 3.
    assert out == ("node,level,annual,Q1,Q2,Q3,Q4\n"
                   "Co,company,1000.01,170.00,276.67,276.67,276.67\n"
                   "A,region,250.00,70.00,60.00,60.00,60.00\n"
                   "B,region,750.01,100.00,216.67,216.67,216.67\n")
    code, out, err = run("target", "show", "--store", "st", "--plan", "FY2027",
                         "--format", "json", cwd=d)
    doc = json.loads(out)
    assert doc["version"] == 2 and doc["based_on"] == 1 and doc["closed"] == 1


def test_replan_bad_facts_store_unchanged(d):
    decomposed(d)
    (d / "facts.csv").write_text(FACTS + "Z,01/02/2027,5.00\n")
    before = snapshot(d)
    code, out, err = run("target", "replan", "--store", "st", "--plan", "FY2027",
                         "--actuals", "facts.csv", "--date-format", "%d/%m/%Y",
                         "--closed", "1", cwd=d)
    assert (code, out) == (3, "")
    assert err == 'salesplan: facts.csv:5:1: expected rep: the id of a node of plan ' \
        '"FY2027", found "Z"\n'
    assert snapshot(d) == before
    (d / "facts.csv").write_text(FACTS)      # dates not in the declared format
    code, out, err = run("target", "replan", "--store", "st", "--plan", "FY2027",
                         "--actuals", "facts.csv", "--closed", "1", cwd=d)
    assert code == 3
    assert err == 'salesplan: facts.csv:2:2: expected day: a date as YYYY-MM-DD, found ' \
        '"15/01/2027"\n'
    assert (d / "st").read_bytes() == before["st"]


def test_compare(d):
    decomposed(d)
    # B books 800.00 in Q1, more than its year: the open quarters get 0 (overshoot zero),
    # so B's year is 800.00 in version 2: diff 49.99; A's year stays 250.00 (diff 0)
    (d / "facts.csv").write_text("rep,day,amount\nA,2027-01-15,70.00\nB,2027-02-01,800.00\n")
    code, _, err = run("target", "replan", "--store", "st", "--plan", "FY2027",
                       "--actuals", "facts.csv", "--closed", "1", cwd=d)
    assert (code, err) == (0, "")
    code, out, err = run("target", "compare", "--store", "st", "--plan", "FY2027",
                         "base:1", "base", "--format", "json", cwd=d)
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["a"] == "base:1" and doc["b"] == "base:2"
    rows = {r["node"]: r for r in doc["rows"]}
    assert rows["A"]["a"] == "250.00" and rows["A"]["b"] == "250.00"
    assert rows["A"]["diff"] == "0.00" and rows["A"]["relative"] == "0"
    assert (rows["B"]["a"], rows["B"]["b"], rows["B"]["diff"]) == ("750.01", "800.00",
                                                                  "49.99")
    assert (rows["Co"]["a"], rows["Co"]["b"], rows["Co"]["diff"]) == ("1000.01", "1050.00",
                                                                     "49.99")
    code, out, err = run("target", "compare", "--store", "st", "--plan", "FY2027",
                         "base:x", "base", cwd=d)
    assert code == 2 and err == "salesplan: target compare: argument A: expected SCENARIO " \
        "or SCENARIO:VERSION, found 'base:x' (see 'salesplan target compare --help')\n"
    code, out, err = run("target", "compare", "--store", "st", "--plan", "FY2027",
                         "base:1", "base:9", cwd=d)
    assert code == 1 and err.startswith("salesplan: ") and err.count("\n") == 1


def test_pace(d):
    decomposed(d)
    (d / "facts.csv").write_text("rep,day,amount\nA,2027-01-15,70.00\nB,2027-02-01,100.00\n"
                                 "B,2027-04-01,999.00\n")
    code, out, err = run("target", "pace", "--store", "st", "--plan", "FY2027",
                         "--actuals", "facts.csv", "--as-of", "2027-04-01",
                         "--threshold", "5%", "--format", "csv", cwd=d)
    assert (code, err) == (0, "")
    rows = [line.split(",") for line in out.splitlines()]
    assert rows[0] == ["node", "target", "expected", "actual", "projection", "status"]
    # Q1 has elapsed: expected = Q1's target; the line of 2027-04-01 is not before as_of.
    # A: 70.00 against 62.50, off by 7.50 > 5 % of 62.50 (3.125): ahead; projection
    # 70.00 / (62.50 / 250.00) = 280.00. B: 100.00 against 187.51: behind. Co: 170.00
    # against 250.01: behind.
    by = {r[0]: r for r in rows[1:]}
    assert by["A"][1:4] == ["250.00", "62.50", "70.00"] and by["A"][4:] == ["280.00", "ahead"]
    assert by["B"][1:4] == ["750.01", "187.51", "100.00"] and by["B"][5] == "behind"
    assert by["Co"][1:4] == ["1000.01", "250.01", "170.00"] and by["Co"][5] == "behind"


def test_missing_store(d):
    code, out, err = run("target", "show", "--store", "nope", "--plan", "FY2027", cwd=d)
    assert (code, out) == (3, "")
    assert err == "salesplan: nope: expected a store (made by target decompose), found no " \
        "such file\n"


def test_corrupt_store_exit_4(d):
    code, out, err = run("target", "show", "--store", "nodes.csv", "--plan", "FY2027", cwd=d)
    assert (code, out) == (4, "")
    assert err.startswith("salesplan: file store: ") and err.count("\n") == 1


def test_unknown_plan_exit_1(d):
    decomposed(d)
    code, out, err = run("target", "show", "--store", "st", "--plan", "FY2028", cwd=d)
    assert (code, out) == (1, "")
    assert err.startswith("salesplan: ") and "FY2028" in err and err.count("\n") == 1
