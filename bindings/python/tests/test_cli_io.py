"""The shared layer of the salesplan command: CSV/JSON input, output, progress, exit codes.

Every error message is pinned exactly: the one line a user sees is the interface.
"""
import datetime
import io
import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest

from salesplan.cli import EXIT_INPUT, EXIT_STORAGE, EXIT_USAGE, main
from salesplan.cli import out, progress
from salesplan.cli.csvin import Col, CliInputError, read_csv
from salesplan.cli.errors import CliOutputError
from salesplan.cli.jsonin import read_json

NODES = [Col("id", "id", unique=True), Col("parent", "str"),
         Col("level", "str", required=False)]
FACTS = [Col("id", "int", required=False), Col("rep", "id"), Col("day", "date"),
         Col("amount", "money")]


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return str(p)


def err(tmp_path, name, data, cols, **kw):
    path = write(tmp_path, name, data)
    with pytest.raises(CliInputError) as e:
        read_csv(path, cols, **kw)
    return str(e.value).replace(str(tmp_path) + os.sep, "")


# ---- reading CSV: values ----

def test_reads_typed_columns(tmp_path):
    p = write(tmp_path, "f.csv",
              "id,rep,day,amount\n1,A1,2026-02-10,120000.00\n2, B1 ,2026-12-31,-0.5\n"
              "3,B2,2026-01-01,7\n")
    t = read_csv(p, FACTS)
    assert t.header == ["id", "rep", "day", "amount"]
    assert t["id"] == [1, 2, 3]
    assert t["rep"] == ["A1", " B1 ", "B2"]  # ids are taken as written
    assert t["day"] == [datetime.date(2026, 2, 10), datetime.date(2026, 12, 31),
                        datetime.date(2026, 1, 1)]
    assert t["amount"] == [Decimal("120000.00"), Decimal("-0.5"), Decimal("7")]
    assert all(type(a) is Decimal for a in t["amount"])
    assert t.lines == [2, 3, 4]
    assert len(t) == 3
    assert t.rows()[1] == {"id": 2, "rep": " B1 ", "day": datetime.date(2026, 12, 31),
                           "amount": Decimal("-0.5")}


def test_optional_column_absent_and_defaults(tmp_path):
    p = write(tmp_path, "n.csv", "parent,id\n,Co\nCo,A\n")
    t = read_csv(p, NODES)
    assert t["id"] == ["Co", "A"]
    assert t["parent"] == ["", "Co"]
    assert t["level"] == [None, None]
    assert t.field("id") == 2 and t.field("level") == 0
    cols = [Col("id", "id"), Col("n", "int", default=5)]
    p = write(tmp_path, "d.csv", "id,n\nA,\nB,7\n")
    assert read_csv(p, cols)["n"] == [5, 7]


def test_cp1252_input(tmp_path):
    # "Zürich" and an en dash in cp1252: 0xfc, 0x96
    data = "id,parent,level\nCo,,company\nZ\u00fcrich \u2013 Nord,Co,region\n" \
        .encode("cp1252")
    p = write(tmp_path, "n.csv", data)
    t = read_csv(p, NODES, encoding="cp1252")
    assert t["id"] == ["Co", "Z\u00fcrich \u2013 Nord"]
    # the same bytes read as UTF-8: 0xfc is no UTF-8 text; line 3, field 1
    assert err(tmp_path, "n.csv", data, NODES) == \
        "n.csv:3:1: expected text in utf-8, found byte 0xfc"


def test_decoding_error_position_in_later_field(tmp_path):
    data = b"id,parent\nCo,\nA,C\x81o\n"
    assert err(tmp_path, "n.csv", data, NODES, encoding="cp1252") == \
        "n.csv:3:2: expected text in cp1252, found byte 0x81"


def test_unknown_encoding(tmp_path):
    assert err(tmp_path, "n.csv", "id,parent\n", NODES, encoding="klingon") == \
        'n.csv: expected a known text encoding (--encoding), found "klingon"'


def test_bom_is_dropped(tmp_path):
    p = write(tmp_path, "n.csv", b"\xef\xbb\xbfid,parent\nCo,\n")
    t = read_csv(p, NODES)
    assert t.header == ["id", "parent"] and t["id"] == ["Co"]
    # UTF-16 with its byte order mark, declared
    p = write(tmp_path, "w.csv", "id,parent\nCo,\n".encode("utf-16"))
    assert read_csv(p, NODES, encoding="utf-16")["id"] == ["Co"]


def test_quoted_field_with_newlines_keeps_line_numbers(tmp_path):
    data = ('id,parent,level\nCo,,company\n"A\nwith\nbreaks",Co,region\n'
            'B,Co,"two\r\nlines"\nC,,\nD,Co,rep\n')
    p = write(tmp_path, "n.csv", data)
    t = read_csv(p, NODES)
    assert t["id"] == ["Co", "A\nwith\nbreaks", "B", "C", "D"]
    assert t["level"][2] == "two\r\nlines"
    # records start on lines 2, 3 (to 5), 6 (to 7), 8, 9
    assert t.lines == [2, 3, 6, 8, 9]
    # an error after them is on the right physical line
    bad = data + "E,Co,rep,extra\n"
    assert err(tmp_path, "n.csv", bad, NODES) == \
        "n.csv:10:4: expected 3 fields as in the header, found 4 fields"
    # an error in a field after a field with a line break: the line the field starts on
    bad = 'id,amount,rep,day\n1,"x\ny",A,2026-13-01\n'
    cols = [Col("id", "int"), Col("amount", "str"), Col("rep", "id"), Col("day", "date")]
    assert err(tmp_path, "f.csv", bad, cols) == \
        'f.csv:3:4: expected day: a date as YYYY-MM-DD, found "2026-13-01"'


def test_dates_in_declared_format(tmp_path):
    p = write(tmp_path, "f.csv", "rep,day,amount\nA1,10/02/2026,1.00\nA2,31/12/2026,2\n")
    t = read_csv(p, FACTS, date_format="%d/%m/%Y")
    assert t["day"] == [datetime.date(2026, 2, 10), datetime.date(2026, 12, 31)]
    assert err(tmp_path, "f.csv", "rep,day,amount\nA1,2026-02-10,1\n", FACTS,
               date_format="%d/%m/%Y") == \
        'f.csv:2:2: expected day: a date as %d/%m/%Y, found "2026-02-10"'
    assert err(tmp_path, "f.csv", "rep,day,amount\nA1,31/02/2026,1\n", FACTS,
               date_format="%d/%m/%Y") == \
        'f.csv:2:2: expected day: a date as %d/%m/%Y, found "31/02/2026"'


def test_iso_dates_are_strict(tmp_path):
    for bad in ("20260210", "2026-2-10", "2026-02-30", "10/02/2026"):
        assert err(tmp_path, "f.csv", f"rep,day,amount\nA1,{bad},1\n", FACTS) == \
            f'f.csv:2:2: expected day: a date as YYYY-MM-DD, found "{bad}"'


def test_money_exact_and_checked(tmp_path):
    p = write(tmp_path, "f.csv", "rep,day,amount\nA,2026-01-01,0.10\nB,2026-01-01,.5\n"
              "C,2026-01-01,92233720368547758.07\n")
    assert read_csv(p, FACTS)["amount"] == [Decimal("0.10"), Decimal("0.5"),
                                            Decimal("92233720368547758.07")]
    for bad in ("12.345", "1e3", "1,000.00", "NaN", "12.3.4", "¥12"):
        assert err(tmp_path, "f.csv", f'rep,day,amount\nA,2026-01-01,"{bad}"\n', FACTS) == \
            f'f.csv:2:3: expected amount: a decimal amount with at most 2 decimal ' \
            f'places, found "{bad}"'
    # one fen beyond 64 bits
    assert err(tmp_path, "f.csv", "rep,day,amount\nA,2026-01-01,92233720368547758.08\n",
               FACTS) == 'f.csv:2:3: expected amount: a decimal amount with at most 2 ' \
        'decimal places, found "92233720368547758.08"'
    # exponent 0: whole amounts
    assert err(tmp_path, "f.csv", "rep,day,amount\nA,2026-01-01,5.5\n", FACTS,
               exponent=0) == \
        'f.csv:2:3: expected amount: a whole amount (no decimal places), found "5.5"'
    p = write(tmp_path, "j.csv", "rep,day,amount\nA,2026-01-01,5.0\n")
    assert read_csv(p, FACTS, exponent=1)["amount"] == [Decimal("5.0")]


def test_int_column(tmp_path):
    cols = [Col("id", "id"), Col("n", "int")]
    assert err(tmp_path, "d.csv", "id,n\nA,1.0\n", cols) == \
        'd.csv:2:2: expected n: an integer, found "1.0"'
    assert err(tmp_path, "d.csv", "id,n\nA,9223372036854775808\n", cols) == \
        'd.csv:2:2: expected n: an integer, found "9223372036854775808"'
    p = write(tmp_path, "d.csv", "id,n\nA,-9223372036854775808\nB, +7 \n")
    assert read_csv(p, cols)["n"] == [-2**63, 7]


def test_extra_columns(tmp_path):
    cols = [Col("id", "id", unique=True)]
    p = write(tmp_path, "d.csv", "id,prior_year,headcount\nA,100,3\nB,200,4\n")
    t = read_csv(p, cols, extra="int")
    assert t.extra == ["prior_year", "headcount"]
    assert t["prior_year"] == [100, 200] and t["headcount"] == [3, 4]
    assert err(tmp_path, "d.csv", "id,prior_year\nA,x\n", cols, extra="int") == \
        'd.csv:2:2: expected prior_year: an integer, found "x"'


# ---- reading CSV: the header and the shape ----

def test_empty_file(tmp_path):
    assert err(tmp_path, "n.csv", "", NODES) == \
        "n.csv:1:1: expected a header row, found an empty file"
    assert err(tmp_path, "n.csv", "\n\n", NODES) == \
        "n.csv:1:1: expected a header row, found an empty file"


def test_missing_required_column_names_it(tmp_path):
    assert err(tmp_path, "n.csv", "id,level\nCo,company\n", NODES) == \
        'n.csv:1:1: expected a column named "parent" in the header, found id,level'


def test_unknown_column_names_it(tmp_path):
    assert err(tmp_path, "n.csv", "id,parent,levle\nCo,,x\n", NODES) == \
        'n.csv:1:3: expected one of the columns id, parent, level, found "levle"'


def test_repeated_and_empty_header_names(tmp_path):
    assert err(tmp_path, "n.csv", "id,parent,id\n", NODES) == \
        'n.csv:1:3: expected a column name not already in the header (field 1), found "id"'
    assert err(tmp_path, "n.csv", "id,,parent\n", NODES) == \
        "n.csv:1:2: expected a column name, found an empty field"


def test_duplicate_ids(tmp_path):
    assert err(tmp_path, "n.csv", "id,parent\nCo,\nA,Co\nB,Co\nA,Co\n", NODES) == \
        'n.csv:5:1: expected id: a value not already on line 3, found "A"'


def test_ragged_rows(tmp_path):
    assert err(tmp_path, "n.csv", "id,parent,level\nCo,,company\nA,Co\n", NODES) == \
        "n.csv:3:3: expected 3 fields as in the header, found 2 fields"
    assert err(tmp_path, "n.csv", "id,parent\nCo,,x,y\n", NODES) == \
        "n.csv:2:3: expected 2 fields as in the header, found 4 fields"
    assert err(tmp_path, "n.csv", "id,parent\nCo\n", NODES) == \
        "n.csv:2:2: expected 2 fields as in the header, found 1 field"


def test_empty_required_field(tmp_path):
    assert err(tmp_path, "n.csv", "id,parent\nCo,\n,Co\n", NODES) == \
        "n.csv:3:1: expected id: an id (not empty), found an empty field"


def test_blank_lines_skipped_and_counted(tmp_path):
    p = write(tmp_path, "n.csv", "id,parent\n\nCo,\n\n\nA,Co\n")
    t = read_csv(p, NODES)
    assert t["id"] == ["Co", "A"] and t.lines == [3, 6]


def test_malformed_quotes(tmp_path):
    assert err(tmp_path, "n.csv", 'id,parent\nCo,\n"A"x,Co\n', NODES) == \
        "n.csv:3:1: expected a record of CSV fields, found ',' expected after '\"'"
    assert err(tmp_path, "n.csv", 'id,parent\nCo,\n"A,Co\n', NODES) == \
        "n.csv:3:1: expected a record of CSV fields, found unexpected end of data"


def test_min_rows(tmp_path):
    assert err(tmp_path, "n.csv", "id,parent\n", NODES, min_rows=1) == \
        "n.csv:2:1: expected at least 1 record, found end of file"


def test_unreadable_file(tmp_path):
    with pytest.raises(CliInputError) as e:
        read_csv(str(tmp_path / "absent.csv"), NODES)
    assert str(e.value) == str(tmp_path / "absent.csv") + \
        ": expected a readable file, found no such file or directory"
    assert e.value.line is None


def test_table_error_for_later_checks(tmp_path):
    p = write(tmp_path, "n.csv", 'id,parent\nCo,\n"A\nB",Co\nC,X\n')
    t = read_csv(p, NODES)
    e = t.error(2, "parent", "the id of a node in the file", '"X"')
    assert str(e).endswith('n.csv:5:2: expected parent: the id of a node in the file, '
                           'found "X"')
    assert (e.line, e.column) == (5, 2)


def test_cli_input_error_fields():
    e = CliInputError("a.csv", 3, 2, "x", "y")
    assert (e.path, e.line, e.column, e.expected, e.found) == ("a.csv", 3, 2, "x", "y")
    assert str(e) == "a.csv:3:2: expected x, found y"


def test_message_is_one_line_even_for_odd_values(tmp_path):
    msg = err(tmp_path, "f.csv", 'rep,day,amount\nA,2026-01-01,"1\n2"\n', FACTS)
    assert msg == 'f.csv:2:3: expected amount: a decimal amount with at most 2 decimal ' \
        'places, found "1\\n2"'
    long = "9" * 100
    msg = err(tmp_path, "f.csv", f"rep,day,amount\nA,2026-01-01,{long}x\n", FACTS)
    assert msg.endswith('found "' + "9" * 57 + '..."')


# ---- reading JSON ----

def test_read_json(tmp_path):
    p = write(tmp_path, "s.json", '{"a": 0.05, "b": [1, "x"]}')
    value, text = read_json(p)
    assert value == {"a": Decimal("0.05"), "b": [1, "x"]}
    assert type(value["a"]) is Decimal and text == '{"a": 0.05, "b": [1, "x"]}'
    p = write(tmp_path, "c.json", '{"name": "Z\u00fcrich"}'.encode("cp1252"))
    assert read_json(p, encoding="cp1252")[0] == {"name": "Z\u00fcrich"}


@pytest.mark.parametrize("text,message", [
    # the position is that of the character found: the '"' opening "c"
    ('{"a": 1,\n "b": 2\n "c": 3}', "s.json:3:2: expected ',' delimiter, found \"\\\"\""),
    ('{"a": }', 's.json:1:7: expected value, found "}"'),
    ('{"a": 1} x', 's.json:1:10: expected end of file after the JSON value, found "x"'),
    ('{"a": ', "s.json:1:7: expected value, found end of file"),
    ('', "s.json:1:1: expected a JSON value, found an empty file"),
    ('{"a": NaN}', 's.json:1:7: expected a JSON number, found "NaN"'),
])
def test_json_errors(tmp_path, text, message):
    p = write(tmp_path, "s.json", text)
    with pytest.raises(CliInputError) as e:
        read_json(p)
    assert str(e.value).replace(str(tmp_path) + os.sep, "") == message


def test_json_decoding_error_column(tmp_path):
    # line 2: two spaces, "name": (7), a space, the quote: the byte is character 13
    p = write(tmp_path, "s.json", b'{\n  "name": "Z\xfcrich"}')
    with pytest.raises(CliInputError) as e:
        read_json(p)
    assert str(e.value).endswith("s.json:2:13: expected text in utf-8, found byte 0xfc")


# ---- output ----

RESULT = out.Result(["node", "level", "annual", "Q1"],
                    [["Co", "company", Decimal("1234567.89"), Decimal("-0.01")],
                     ["Z\u00fcrich", None, Decimal("5.00"), 7]],
                    meta={"plan": "FY2027", "version": 1})


def test_render_table_aligned():
    assert out.render(RESULT, "table") == (
        "node    level        annual     Q1\n"
        "------  -------  ----------  -----\n"
        "Co      company  1234567.89  -0.01\n"
        "Z\u00fcrich                 5.00      7\n"
        "\n"
        "plan: FY2027\n"
        "version: 1\n")


def test_render_table_wide_characters():
    r = out.Result(["id", "n"], [["\u534e\u4e1c", 1], ["A", 22]])
    assert out.render(r, "table") == ("id     n\n----  --\n\u534e\u4e1c   1\nA     22\n")


def test_render_csv():
    assert out.render(RESULT, "csv") == (
        "node,level,annual,Q1\nCo,company,1234567.89,-0.01\nZ\u00fcrich,,5.00,7\n")
    r = out.Result(["a"], [['x,"y"'], ["l1\nl2"]])
    assert out.render(r, "csv") == 'a\n"x,""y"""\n"l1\nl2"\n'


def test_render_json_exact():
    doc = json.loads(out.render(RESULT, "json"))
    assert doc == {"plan": "FY2027", "version": 1,
                   "columns": ["node", "level", "annual", "Q1"],
                   "rows": [{"node": "Co", "level": "company", "annual": "1234567.89",
                             "Q1": "-0.01"},
                            {"node": "Z\u00fcrich", "level": None, "annual": "5.00",
                             "Q1": 7}]}


def test_decimal_never_in_exponent_notation():
    assert out.fmt_value(Decimal("1E+3")) == "1000"
    assert out.fmt_value(Decimal("0E-2")) == "0.00"
    assert out.fmt_value(datetime.date(2027, 1, 5)) == "2027-01-05"
    with pytest.raises(TypeError):
        out.fmt_value(1.5)


def test_render_unknown_format():
    with pytest.raises(ValueError, match="xml"):
        out.render(RESULT, "xml")


def test_output_to_stdout():
    buf = io.StringIO()
    out.emit(RESULT, "csv", None, stdout=buf)
    assert buf.getvalue().startswith("node,level,annual,Q1\n")


def test_output_file_atomic(tmp_path):
    target = tmp_path / "r.csv"
    target.write_text("old\n")
    o = out.Output(str(target))
    o.prepare("new\n")
    assert target.read_text() == "old\n"          # nothing visible before commit
    assert len(list(tmp_path.iterdir())) == 2     # the target and the temporary
    o.commit()
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]
    # a failure between prepare and commit: the target as it was, no temporary left
    with pytest.raises(RuntimeError):
        with out.Output(str(target)) as o:
            o.prepare("newer\n")
            raise RuntimeError("the store failed")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_output_file_errors(tmp_path):
    with pytest.raises(CliOutputError) as e:
        out.emit(RESULT, "csv", str(tmp_path / "nodir" / "r.csv"))
    assert str(e.value) == str(tmp_path / "nodir" / "r.csv") + \
        ": cannot write: no such file or directory"
    with pytest.raises(CliOutputError) as e:
        out.emit(RESULT, "csv", str(tmp_path))
    assert str(e.value) == str(tmp_path) + ": cannot write: is a directory"


def test_output_keeps_permissions(tmp_path):
    target = tmp_path / "r.csv"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    out.emit(RESULT, "csv", str(target))
    assert os.stat(target).st_mode & 0o777 == 0o640


# ---- progress ----

class FakeTty(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_progress_only_on_a_terminal():
    assert progress.bar("x", FakeTty(False)) is None
    assert progress.bar("x", FakeTty(False), enabled=True) is not None
    assert progress.bar("x", FakeTty(True), enabled=False) is None
    tty = FakeTty(True)
    b = progress.bar("decompose", tty)
    assert b is not None
    assert b(0, 4) is None
    b(2, 4)
    b(2, 4)          # unchanged: not drawn again
    b(4, 4)
    b(9, 4)          # clamped: same as done
    progress.finish(b)
    progress.finish(None)
    bar0 = "decompose [" + " " * 24 + "]   0% 0/4"
    bar2 = "decompose [" + "#" * 12 + " " * 12 + "]  50% 2/4"
    bar4 = "decompose [" + "#" * 24 + "] 100% 4/4"
    assert tty.getvalue() == (f"\r{bar0}\x1b[K\r{bar2}\x1b[K\r{bar4}\x1b[K\r\x1b[K")


def test_progress_unknown_total():
    tty = FakeTty(True)
    b = progress.Bar("scan", tty)
    b(10, 0)
    assert tty.getvalue() == "\rscan 10\x1b[K"


# ---- the command: usage, exit codes, one-line errors ----

def run(argv):
    o, e = io.StringIO(), io.StringIO()
    code = main(argv, stdout=o, stderr=e)
    return code, o.getvalue(), e.getvalue()


def test_usage_errors_exit_2_one_line():
    code, o, e = run([])
    assert (code, o) == (EXIT_USAGE, "")
    assert e == "salesplan: the following arguments are required: <module> " \
        "(see 'salesplan --help')\n"
    code, o, e = run(["target", "show", "--store", "s"])
    assert code == EXIT_USAGE
    assert e == "salesplan: target show: the following arguments are required: --plan " \
        "(see 'salesplan target show --help')\n"
    code, o, e = run(["target", "decompose", "--store", "s", "--plan", "P", "--hierarchy",
                      "n.csv", "--settings", "s.json", "--fiscal-year", "2027",
                      "--currency", "CNY", "--total", "1,200,000"])
    assert code == EXIT_USAGE
    assert e == "salesplan: target decompose: argument --total: expected a decimal amount " \
        "such as 1200000.00, found '1,200,000' (see 'salesplan target decompose --help')\n"


def test_help_has_examples(capsys):
    assert main(["target", "decompose", "--help"]) == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "salesplan target decompose --store plans" in text
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "exit codes:" in text and "target" in text
    assert main(["target", "--help"]) == 0
    text = capsys.readouterr().out
    for cmd in ("decompose", "show", "compare", "replan", "pace"):
        assert cmd in text


def _env():
    return dict(os.environ)


def test_module_runs_and_version():
    r = subprocess.run([sys.executable, "-m", "salesplan", "--version"], env=_env(),
                       capture_output=True, text=True)
    import salesplan
    assert r.returncode == 0
    assert r.stdout == f"salesplan {salesplan.__version__} (library " \
        f"{salesplan.library_version})\n"
    r = subprocess.run([sys.executable, "-m", "salesplan", "target", "nope"], env=_env(),
                       capture_output=True, text=True)
    assert r.returncode == EXIT_USAGE and r.stdout == ""
    assert r.stderr.startswith("salesplan: target: argument <command>: invalid choice: "
                               "'nope'")
    assert r.stderr.count("\n") == 1


def test_build_tree_script_runs():
    root = os.environ.get("SALESPLAN_BUILD_ROOT")
    if not root:
        pytest.skip("not run by meson")
    script = os.path.join(root, "bindings", "salesplan")
    r = subprocess.run([script, "target", "--help"], env=_env(), capture_output=True,
                       text=True)
    assert r.returncode == 0 and "decompose" in r.stdout


def test_exit_codes_of_each_error_class(monkeypatch):
    """main maps each error class to its documented code and one line on stderr."""
    import salesplan.cli as cli
    from salesplan import errors
    cases = [
        (CliInputError("n.csv", 2, 1, "x", "y"), EXIT_INPUT,
         "salesplan: n.csv:2:1: expected x, found y\n"),
        (CliOutputError("o.csv", "permission denied"), EXIT_STORAGE,
         "salesplan: o.csv: cannot write: permission denied\n"),
        (errors.StorageError("file store: disk full"), EXIT_STORAGE,
         "salesplan: file store: disk full\n"),
        (errors.CorruptError("file store: bad record\nsecond line"), EXIT_STORAGE,
         "salesplan: file store: bad record second line\n"),
        (errors.InvalidError("decompose: total is negative"), cli.EXIT_LIBRARY,
         "salesplan: decompose: total is negative\n"),
        (errors.NotFoundError("target set: no plan \"P\""), cli.EXIT_LIBRARY,
         "salesplan: target set: no plan \"P\"\n"),
        (KeyboardInterrupt(), cli.EXIT_INTERRUPTED, "salesplan: interrupted\n"),
    ]
    import salesplan.cli.target as target
    for exc, code, line in cases:
        def boom(args, env, exc=exc):
            raise exc
        monkeypatch.setattr(target, "show", boom)
        assert run(["target", "show", "--store", "s", "--plan", "P"]) == (code, "", line)


def test_exit_code_values():
    import salesplan.cli as cli
    assert (cli.EXIT_OK, cli.EXIT_LIBRARY, cli.EXIT_USAGE, cli.EXIT_INPUT, cli.EXIT_STORAGE,
            cli.EXIT_INTERRUPTED) == (0, 1, 2, 3, 4, 130)
