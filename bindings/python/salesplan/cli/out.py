"""Output of the salesplan command: CSV, JSON or an aligned table, written atomically.

A result is a `Result`: named columns, rows of values, and optional facts about the whole
(`meta`: the plan, the version saved, ...). Values are str, int, decimal.Decimal (money and
rates, written exactly in fixed-point notation: never a float, never "1E+3"),
datetime.date (ISO), bool, or None (empty).

Formats (`--format`):
    table  columns aligned under a header, numbers right-aligned, text left-aligned; the
           meta lines ("key: value") follow after a blank line
    csv    a header row and one row per record (RFC 4180 quoting, \\n line ends); meta is
           not written
    json   one object: the meta keys, then "columns" (the names) and "rows" (one object
           per row); Decimal values as strings ("1234.56", exact), ints as numbers, dates
           as "YYYY-MM-DD", None as null

Writing (`emit`/`Output`): the whole text is rendered first; to a file it goes through a
temporary file in the same directory, renamed over the target only when complete, so a
failure at any point leaves the target as it was (and no temporary behind).
"""
import csv
import datetime
import decimal
import io
import json
import os
import sys
import tempfile

from .errors import CliOutputError

__all__ = ["Result", "FORMATS", "render", "Output", "emit", "fmt_value"]

FORMATS = ("table", "csv", "json")


class Result:
    """What a command prints: columns (names), rows (sequences of values, one per column),
    meta (a dict of facts about the whole, or None)."""

    def __init__(self, columns, rows, meta=None):
        self.columns = list(columns)
        self.rows = [list(r) for r in rows]
        self.meta = dict(meta or {})
        for i, r in enumerate(self.rows):
            if len(r) != len(self.columns):
                raise ValueError(f"row {i}: {len(r)} values for {len(self.columns)} columns")


def fmt_value(v) -> str:
    """A value as text: Decimal in fixed-point notation, exactly; date ISO; None empty."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    if isinstance(v, float):
        raise TypeError("salesplan output: a float reached the output (money is Decimal)")
    if isinstance(v, datetime.date):
        return v.isoformat()
    return str(v)


def _json_value(v):
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    return fmt_value(v)


def _numeric(v) -> bool:
    return isinstance(v, (int, decimal.Decimal)) and not isinstance(v, bool)


def render(result: Result, fmt: str = "table") -> str:
    """The text of `result` in format `fmt` ("table", "csv" or "json"), ending in a newline."""
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(result.columns)
        for r in result.rows:
            w.writerow([fmt_value(v) for v in r])
        return buf.getvalue()
    if fmt == "json":
        doc = {str(k): _json_value(v) for k, v in result.meta.items()}
        doc["columns"] = list(result.columns)
        doc["rows"] = [{c: _json_value(v) for c, v in zip(result.columns, r)}
                       for r in result.rows]
        return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if fmt == "table":
        return _table(result)
    raise ValueError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")


def _width(text: str) -> int:
    """Display width: East Asian wide characters take two cells."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else
               0 if unicodedata.combining(c) else 1 for c in text)


def _table(result: Result) -> str:
    cells = [[fmt_value(v) for v in r] for r in result.rows]
    # a column is right-aligned when every non-empty value in it is a number
    right = [all(_numeric(r[i]) for r in result.rows if r[i] is not None) and
             any(r[i] is not None for r in result.rows)
             for i in range(len(result.columns))]
    widths = [max([_width(c)] + [_width(r[i]) for r in cells])
              for i, c in enumerate(result.columns)]

    def line(values):
        parts = []
        for i, v in enumerate(values):
            pad = " " * (widths[i] - _width(v))
            parts.append(pad + v if right[i] else v + pad)
        return "  ".join(parts).rstrip() + "\n"

    out = [line(result.columns), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    if result.meta:
        out.append("\n")
        out += [f"{k}: {fmt_value(v)}\n" for k, v in result.meta.items()]
    return "".join(out)


class Output:
    """Where the command's text goes: a file (`path`, written atomically) or stdout
    (`path` None or "-").

    prepare(text) writes the text to a temporary file beside the target (nothing visible
    yet); commit() renames it over the target (or, for stdout, prints the text); abort()
    removes the temporary. A command prepares its output before it changes a store and
    commits after, so a failure anywhere leaves no output file and no partial one.
    Used as a context manager, an exception inside the block aborts.
    """

    def __init__(self, path=None, stdout=None):
        self.path = None if path in (None, "-") else os.fspath(path)
        self.stdout = stdout
        self._tmp = None
        self._text = None

    def reserve(self):
        """Make the temporary file now (empty), so that a directory that cannot take the
        output fails before the command changes its store (CliOutputError)."""
        if self.path is None or self._tmp is not None:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        if os.path.isdir(self.path):
            raise CliOutputError(self.path, "is a directory")
        try:
            fd, tmp = tempfile.mkstemp(dir=directory,
                                       prefix="." + os.path.basename(self.path) + ".",
                                       suffix=".tmp")
            os.close(fd)
        except OSError as e:
            raise CliOutputError(self.path, _reason(e)) from None
        self._tmp = tmp

    def prepare(self, text: str):
        """Write `text` where commit() will publish it (CliOutputError if the directory
        cannot take it: nothing is left behind)."""
        self._text = text
        if self.path is None:
            return
        self.reserve()
        tmp = self._tmp
        try:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            if os.path.exists(self.path):   # keep the target's permission bits
                try:
                    os.chmod(tmp, os.stat(self.path).st_mode & 0o7777)
                except OSError:
                    pass
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(tmp, 0o666 & ~umask)
        except OSError as e:
            self.abort()
            raise CliOutputError(self.path, _reason(e)) from None
        except BaseException:
            self.abort()
            raise

    def commit(self):
        """Publish the prepared text."""
        if self.path is None:
            if self._text is not None:
                stream = self.stdout or sys.stdout
                stream.write(self._text)
                stream.flush()
            return
        if self._tmp is not None:
            tmp, self._tmp = self._tmp, None
            try:
                os.replace(tmp, self.path)
            except OSError as e:
                _unlink(tmp)
                raise CliOutputError(self.path, _reason(e)) from None
            except BaseException:
                _unlink(tmp)
                raise

    def abort(self):
        """Drop the prepared text (idempotent)."""
        self._text = None
        if self._tmp is not None:
            tmp, self._tmp = self._tmp, None
            _unlink(tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *rest):
        if exc_type is not None:
            self.abort()
        return False


def _reason(e: OSError) -> str:
    return (e.strerror or str(e)).lower()


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def emit(result: Result, fmt: str = "table", path=None, stdout=None):
    """Render `result` and write it to `path` (atomically) or stdout."""
    text = render(result, fmt)
    out = Output(path, stdout)
    with out:
        out.prepare(text)
        out.commit()
