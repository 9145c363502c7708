"""Input files of the salesplan command: CSV read into typed columns, exactly.

A CSV file has a header row naming its columns, then one record per row. Each column the
command knows is described by a `Col` (name, kind, whether the header must have it, the
value of an empty field, whether its values must be unique); `read_csv` checks the header
against them and converts every field, and the first thing wrong raises a `CliInputError`
whose text is one line:

    nodes.csv:4:2: expected parent: the id of a node on an earlier row, found "X"

Positions: the line is the physical line of the file (1 is the header) on which the
offending field starts, counted correctly across quoted fields that hold line breaks; the
column is the field's 1-based number in its record (the header row's field number for
header errors, 1 for the record or header as a whole). The expected text starts with the
column's header name.

Kinds of column (`Col.kind`):
    "str"    any text, "" for an empty field
    "id"     a non-empty text (an id of a node, a rep, a plan)
    "int"    an integer, optional sign, decimal digits only
    "money"  a decimal amount in major units ("1234.56", "-3", "+0.5") with at most
             `exponent` decimal places, as a decimal.Decimal, exactly (no float, no
             rounding, no exponent notation, no thousands separators); its minor units
             must fit in 64 bits
    "date"   a date: ISO "YYYY-MM-DD", or the strftime format given as date_format
             ("%d/%m/%Y"), as a datetime.date

Encodings: the file is read as bytes and decoded with the declared encoding (any Python
codec name, "utf-8" by default, where a leading byte order mark is dropped); bytes that are
not text in that encoding raise a CliInputError at their line and field.
"""
import codecs
import csv
import datetime
import decimal
import io
import re

from .errors import CliInputError

__all__ = ["Col", "Table", "read_csv", "read_bytes", "decode", "CliInputError", "KINDS"]

KINDS = ("str", "id", "int", "money", "date")

_MISSING = object()
_INT = re.compile(r"[+-]?[0-9]+\Z")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_INT64 = 2**63 - 1


class Col:
    """One column a CSV file may have.

    name: the header name (matched exactly, after stripping spaces around it).
    kind: one of KINDS ("str", "id", "int", "money", "date").
    required: the header must have the column (when False and the column is absent,
        every row gets `default`, or None without one).
    default: the value of an empty field; without one an empty field is an error, except
        for "str" columns, where it is "".
    unique: no two rows may have the same value (ids of nodes, of reps).
    what: the expected value in words, for messages (a default text fits each kind).
    """

    __slots__ = ("name", "kind", "required", "default", "unique", "what")

    def __init__(self, name: str, kind: str = "str", *, required: bool = True,
                 default=_MISSING, unique: bool = False, what: str = None):
        if kind not in KINDS:
            raise ValueError(f"Col {name!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
        self.name, self.kind, self.required = name, kind, required
        self.default, self.unique, self.what = default, unique, what

    def __repr__(self):
        return f"Col({self.name!r}, {self.kind!r})"


class Table:
    """The records of a CSV file, by column.

    path: the file's name as given (used in messages).
    header: the header's column names, in the file's order.
    columns: {name: list of values}, one entry per known column (absent optional columns
        too) and per extra column when extras were allowed.
    extra: the names of the extra columns (those no Col describes), in the file's order.
    lines: the line on which each record starts.
    """

    def __init__(self, path, header, columns, extra, lines, field_lines):
        self.path, self.header, self.columns = path, header, columns
        self.extra, self.lines = extra, lines
        self._field_lines = field_lines

    def __len__(self):
        return len(self.lines)

    def __getitem__(self, name):
        return self.columns[name]

    def field(self, name: str) -> int:
        """The 1-based field number of column `name` (0 when the file lacks it)."""
        try:
            return self.header.index(name) + 1
        except ValueError:
            return 0

    def error(self, row: int, name: str, expected: str, found: str) -> CliInputError:
        """A CliInputError at record `row` (0-based), column `name`: for checks made after
        reading (an unknown parent, a cycle), positioned like the reader's own."""
        field = self.field(name)
        line = self._field_lines[row][field - 1] if field else self.lines[row]
        return CliInputError(self.path, line, field or 1, f"{name}: {expected}", found)

    def rows(self):
        """The records as dicts {name: value}."""
        names = list(self.columns)
        return [dict(zip(names, vals)) for vals in zip(*(self.columns[n] for n in names))]


def quote(text: str) -> str:
    """text as it appears in messages: in double quotes, control characters escaped,
    long texts cut (a message stays one line)."""
    if len(text) > 60:
        text = text[:57] + "..."
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in out)
    return f'"{out}"'


def read_bytes(path):
    """The bytes of a file; an unreadable file raises CliInputError (no line)."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CliInputError(path, None, None, "a readable file",
                            (e.strerror or str(e)).lower()) from None


def decode(path, data: bytes, encoding: str = "utf-8", *, fields: bool = True) -> str:
    """data decoded with `encoding` (a UTF-8 byte order mark dropped for UTF-8).

    A byte that is not text in the encoding raises CliInputError at its line and (fields
    True, for CSV) field number, or (fields False, for JSON) character column."""
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise CliInputError(path, None, None, "a known text encoding (--encoding)",
                            quote(encoding)) from None
    name = codec.name
    if name == "utf-8":
        name = "utf-8-sig"
    try:
        return data.decode(name)
    except UnicodeDecodeError as e:
        prefix = data[:e.start].decode(name, errors="replace")
        line = prefix.count("\n") + 1
        start = prefix.rfind("\n") + 1
        if fields:
            column = _field_at(prefix)
        else:
            column = len(prefix) - start + 1
        bad = " ".join(f"0x{b:02x}" for b in data[e.start:min(e.end, e.start + 4)])
        raise CliInputError(path, line, column, f"text in {codec.name}",
                            f"byte {bad}" if e.end - e.start == 1 else f"bytes {bad}") \
            from None


def _field_at(prefix: str) -> int:
    """The 1-based number of the field in which the text after `prefix` lies."""
    if not prefix or prefix.endswith(("\n", "\r")) and not _in_quotes(prefix):
        return 1
    try:
        rows = list(csv.reader(io.StringIO(prefix, newline="")))
    except csv.Error:
        return 1
    return len(rows[-1]) if rows and rows[-1] else 1


def _in_quotes(text: str) -> bool:
    return text.count('"') % 2 == 1


def _describe(col: Col, exponent: int, date_format) -> str:
    if col.what:
        return col.what
    if col.kind == "id":
        return "an id (not empty)"
    if col.kind == "int":
        return "an integer"
    if col.kind == "money":
        if exponent == 0:
            return "a whole amount (no decimal places)"
        return f"a decimal amount with at most {exponent} decimal places"
    if col.kind == "date":
        return f"a date as {date_format}" if date_format else "a date as YYYY-MM-DD"
    return "a text"


def _convert(col, text, exponent, date_format):
    """The value of one field, or raise ValueError (the caller makes the message)."""
    kind = col.kind
    if kind in ("str", "id"):
        return text
    s = text.strip()
    if kind == "int":
        if not _INT.match(s):
            raise ValueError
        v = int(s)
        if not -_INT64 - 1 <= v <= _INT64:
            raise ValueError
        return v
    if kind == "money":
        if not _DECIMAL.match(s):
            raise ValueError
        d = decimal.Decimal(s)
        exp = d.as_tuple().exponent
        if -exp > exponent:
            raise ValueError
        if abs(d.scaleb(exponent)) > _INT64:
            raise ValueError
        return d
    if kind == "date":
        if date_format:
            return datetime.datetime.strptime(s, date_format).date()
        if not _ISO_DATE.match(s):
            raise ValueError
        return datetime.date.fromisoformat(s)
    raise AssertionError(kind)


def read_csv(path, cols, *, encoding: str = "utf-8", date_format: str = None,
             exponent: int = 2, extra: str = None, min_rows: int = 0,
             data: bytes = None) -> Table:
    """Read the CSV file at `path` into a Table of typed columns.

    cols: the Col of every column the file may have.
    encoding: the file's text encoding (a Python codec name: "utf-8", "cp1252", ...).
    date_format: a strftime format for "date" columns (None: ISO YYYY-MM-DD).
    exponent: decimal places allowed in "money" columns (2 for CNY, 0 for JPY).
    extra: the kind of the header's other columns (each becomes a column of the table,
        listed in Table.extra), or None: a column no Col names is an error.
    min_rows: the fewest records the file must have.
    data: the file's bytes when already read (path then only names it in messages).

    Raises CliInputError (one line: file:line:column: expected ..., found ...) for an
    unreadable or empty file, a header without a required column or with an unknown or
    repeated one, a record with too many or too few fields, a field that is not a value
    of its column's kind, a repeated value in a unique column, too few records.
    """
    if data is None:
        data = read_bytes(path)
    text = decode(path, data, encoding)
    if not text.strip():
        raise CliInputError(path, 1, 1, "a header row", "an empty file")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    by_name = {c.name: c for c in cols}
    try:
        header = next(reader)
    except csv.Error as e:
        raise CliInputError(path, reader.line_num, 1, "a header row of CSV fields",
                            _csv_found(e)) from None
    names = [h.strip() for h in header]
    if len(names) == 1 and names[0] == "":
        raise CliInputError(path, 1, 1, "a header row", "an empty line")
    seen = {}
    extras = []
    for i, n in enumerate(names):
        if n == "":
            raise CliInputError(path, 1, i + 1, "a column name", "an empty field")
        if n in seen:
            raise CliInputError(path, 1, i + 1,
                                f"a column name not already in the header (field {seen[n]})",
                                quote(n))
        seen[n] = i + 1
        if n not in by_name:
            if extra is None:
                known = ", ".join(c.name for c in cols)
                raise CliInputError(path, 1, i + 1, f"one of the columns {known}", quote(n))
            extras.append(n)
    for c in cols:
        if c.required and c.name not in seen:
            raise CliInputError(path, 1, 1, f"a column named {quote(c.name)} in the header",
                                ",".join(names))
    extra_col = {n: Col(n, extra) for n in extras}
    spec = [by_name.get(n) or extra_col[n] for n in names]
    columns = {c.name: [] for c in cols}
    for n in extras:
        columns[n] = []
    absent = [c for c in cols if c.name not in seen]
    lines, field_lines = [], []
    firsts = {c.name: {} for c in spec if c.unique}
    prev = reader.line_num
    nfields = len(names)
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise CliInputError(path, prev + 1, 1, "a record of CSV fields",
                                _csv_found(e)) from None
        start = prev + 1
        prev = reader.line_num
        if not record:
            continue  # a blank line
        # the line on which each field starts: fields in quotes may hold line breaks
        at, starts = start, []
        for f in record:
            starts.append(at)
            at += f.count("\n") + f.count("\r") - f.count("\r\n")
        if len(record) != nfields:
            if len(record) > nfields:   # at the first field too many
                where, line = nfields + 1, starts[nfields]
            else:                       # where the first missing field should be
                where, line = len(record) + 1, at
            raise CliInputError(path, line, where,
                                f"{_fields(nfields)} as in the header",
                                _fields(len(record)))
        for i, (c, raw) in enumerate(zip(spec, record)):
            if raw.strip() == "" and c.kind != "str":
                if c.default is _MISSING:
                    raise CliInputError(path, starts[i], i + 1,
                                        f"{c.name}: {_describe(c, exponent, date_format)}",
                                        "an empty field")
                value = c.default
            elif raw == "" and c.kind == "str" and c.default is not _MISSING:
                value = c.default
            else:
                try:
                    value = _convert(c, raw, exponent, date_format)
                except (ValueError, ArithmeticError):
                    raise CliInputError(path, starts[i], i + 1,
                                        f"{c.name}: {_describe(c, exponent, date_format)}",
                                        quote(raw)) from None
            if c.unique:
                first = firsts[c.name].get(value)
                if first is not None:
                    raise CliInputError(path, starts[i], i + 1,
                                        f"{c.name}: a value not already on line {first}",
                                        quote(raw))
                firsts[c.name][value] = starts[i]
            columns[c.name].append(value)
        lines.append(start)
        field_lines.append(starts)
    for c in absent:
        columns[c.name] = [None if c.default is _MISSING else c.default] * len(lines)
    if len(lines) < min_rows:
        raise CliInputError(path, prev + 1, 1,
                            f"at least {min_rows} record{'s' if min_rows > 1 else ''}",
                            "end of file")
    return Table(path, names, columns, extras, lines, field_lines)


def _fields(n: int) -> str:
    return f"{n} field{'' if n == 1 else 's'}"


def _csv_found(err) -> str:
    msg = str(err)
    return msg[:1].lower() + msg[1:] if msg else "a malformed record"
