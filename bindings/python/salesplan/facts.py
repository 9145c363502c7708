"""Fact sources: bulk facts (order lines, payments, refunds, stage events, marketing
spend) handed to the library in columnar batches (salesplan/storage.h, docs/facts.md).

A batch is a set of parallel columns by name:

    column    C type    unit
    id, ref   uint64    the host's ids (ref: the order line a payment or refund is for)
    day       int32     the fact's day: datetime.date, numpy datetime64, or a day number
                        (days since 1970-01-01: 2026-01-01 is 20454)
    time      int64     seconds since the epoch
    rep, grid, product, customer, channel
              uint32    indices of the host's dictionary (sp_dict), NONE for no value
    stage     uint32    the funnel stage's index
    amount, cost
              int64     MINOR units (fen, cents): facts are bulk data, so amounts are
                        plain ints here, never Decimal (12.34 yuan is 1234)
    quantity  int64     whole units

docs/facts.md says which columns each kind requires or forbids; the library checks every
batch (InvalidError naming the kind, batch, column and row).

Columns are taken from numpy arrays (read in place, without a copy, when C-contiguous and
of the column's C type: uint64 for id, int32 for day, int64 for amounts...), pandas
Series, array.array or other buffers of the C type, or any sequence of ints (copied).

- FactBatch: one batch in Python (what read() gives, what a source may yield);
- FactSource: the base of every source, and the class a host subclasses to stream its
  own facts (override scan), or FactSource.from_batches(fn) for a generator function;
- MemoryFactSource: the library's own source holding appended batches.
"""
import ctypes
import datetime
import numbers
import weakref
from typing import NamedTuple, Optional

from . import _convert, _ffi
from ._convert import MAX_DAY, MIN_DAY, as_result, column_in, date_of, day_of
from ._core import (ENUMS, Context, Handle, callback, enum_of, raise_pending,
                    user_table_common)
from ._lib import lib
from .errors import CallbackError, InvalidError, error_class
from .storage import _status_of

__all__ = ["FactBatch", "FactQuery", "FactSource", "MemoryFactSource", "COLUMNS", "NONE",
           "as_source"]

FactKind = ENUMS["sp_fact_kind"]

# The columns of a batch and their C types, in the order of sp_fact_batch.
COLUMNS = {"id": "uint64", "ref": "uint64", "day": "int32", "time": "int64",
           "rep": "uint32", "grid": "uint32", "product": "uint32", "customer": "uint32",
           "channel": "uint32", "stage": "uint32", "amount": "int64", "quantity": "int64",
           "cost": "int64"}

# An index column's "no value" (SP_NONE).
NONE = _ffi.SP_NONE

_INT32_MIN, _INT32_MAX = -2**31, 2**31 - 1
_CT = {"uint64": ctypes.c_uint64, "int64": ctypes.c_int64, "int32": ctypes.c_int32,
       "uint32": ctypes.c_uint32}


def _names():
    return ", ".join(COLUMNS)


def _day_column(values, what):
    """A day column as a Column of int32 day numbers."""
    np, pd = _convert.loaded("numpy"), _convert.loaded("pandas")
    if pd is not None and isinstance(values, (pd.Series, pd.Index)):
        if values.dtype.kind == "M" or str(values.dtype).startswith("datetime64"):
            s = pd.Series(values)
            if s.dt.tz is not None:  # civil days in UTC, as the library counts them
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            values = s.to_numpy()
        else:
            values = values.to_numpy()
    if np is not None and isinstance(values, np.ndarray):
        if values.dtype.kind == "M":
            nat = np.isnat(values)
            if nat.any():
                raise InvalidError(f"{what}[{int(nat.argmax())}]: NaT is not a date")
            days = values.astype("datetime64[D]").astype("int64").reshape(-1)
            return _checked_days(column_in(days, "int64", what), days, what)
        if values.dtype.kind != "O":
            return column_in(values, "int32", what)
        values = values.tolist()
    if isinstance(values, (list, tuple)) or not _is_buffer(values):
        out = []
        for i, v in enumerate(values):
            if isinstance(v, numbers.Integral) and not isinstance(v, bool):
                out.append(int(v))
            else:
                out.append(day_of(v, f"{what}[{i}]"))
        return column_in(out, "int32", what)
    return column_in(values, "int32", what)


def _checked_days(col64, days, what):
    bad = [i for i, d in enumerate(days.tolist()) if not _INT32_MIN <= d <= _INT32_MAX]
    if bad:
        raise InvalidError(f"{what}[{bad[0]}]: {days[bad[0]]} days is out of range")
    return column_in(days.astype("int32"), "int32", what)


def _is_buffer(values):
    try:
        memoryview(values)
        return True
    except TypeError:
        return False


def _columns_of(data, what):
    """A dict of columns from a dict, a FactBatch or a pandas DataFrame."""
    pd = _convert.loaded("pandas")
    if isinstance(data, FactBatch):
        return dict(data.columns)
    if pd is not None and isinstance(data, pd.DataFrame):
        return {str(c): data[c] for c in data.columns}
    if isinstance(data, dict):
        return data
    raise TypeError(f"{what}: expected a dict of columns, a FactBatch or a DataFrame, not "
                    f"{type(data).__name__}")


def _c_batch(kind, columns, what):
    """(sp_fact_batch, what must stay alive while C reads it) for columns by name."""
    k = enum_of("sp_fact_kind", kind, "kind")
    b = _ffi.sp_fact_batch()
    lib.sp_fact_batch_init(ctypes.byref(b), _ffi.SP_FACT_BATCH_VERSION)
    b.kind = k
    keep, count, first = [], None, None
    for name, values in columns.items():
        if name not in COLUMNS:
            raise InvalidError(f"{what}: unknown column {name!r} (the columns are "
                               f"{_names()})")
        if values is None:
            continue
        cwhat = f"{what}.{name}" if what else name
        col = (_day_column(values, cwhat) if name == "day"
               else column_in(values, COLUMNS[name], cwhat))
        if count is None:
            count, first = col.count, name
        elif col.count != count:
            raise InvalidError(f"{what or 'columns'}: {name} has {col.count} values, {first} "
                               f"has {count}")
        setattr(b, name, ctypes.cast(col.ptr, ctypes.POINTER(_CT[COLUMNS[name]])))
        keep.append(col)
    b.count = count or 0
    return b, keep


class FactBatch:
    """One batch of facts in Python: a kind and parallel columns by name (see the module's
    table of columns; amounts in minor units).

        FactBatch("order_lines", id=[1, 2], day=[date(2026, 1, 5)] * 2, rep=[0, 1],
                  amount=[250050, 99999])

    batch["amount"] gives a column, batch.count the rows, batch.to_frame() a DataFrame.
    Columns are kept as given (read() gives lists, with days as datetime.date, or numpy
    arrays with days as datetime64[D])."""

    __slots__ = ("kind", "columns")

    def __init__(self, kind: "FactKind | str | int", **columns):
        self.kind = FactKind(enum_of("sp_fact_kind", kind, "kind"))
        for name in columns:
            if name not in COLUMNS:
                raise InvalidError(f"unknown column {name!r} (the columns are {_names()})")
        self.columns = {n: v for n, v in columns.items() if v is not None}

    @property
    def count(self) -> int:
        """The number of rows (0 for a batch without columns)."""
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, name):
        return self.columns[name]

    def __contains__(self, name):
        return name in self.columns

    def to_frame(self) -> "pandas.DataFrame":
        """The batch as a pandas DataFrame, one column per fact column."""
        if _convert.pandas is None:
            raise ImportError("salesplan: pandas is not installed (Debian: python3-pandas)")
        return _convert.pandas.DataFrame(self.columns)

    def __eq__(self, other):
        if not isinstance(other, FactBatch):
            return NotImplemented
        return self.kind == other.kind and {n: list(v) for n, v in self.columns.items()} == \
            {n: list(v) for n, v in other.columns.items()}

    def __repr__(self):
        return f"<FactBatch {self.kind.name.lower()} {self.count} rows: " \
               f"{', '.join(self.columns)}>"


class FactQuery(NamedTuple):
    """What the library asks a source for: the facts of `kind` with from_day <= day <
    to_day (dates; None: no bound). A source may deliver rows outside the range (the
    library drops them)."""
    kind: "FactKind"
    from_day: Optional[datetime.date]
    to_day: Optional[datetime.date]


def _bound(day):
    return None if day <= MIN_DAY or day > MAX_DAY else date_of(day)


def _day_bound(value, what, default):
    if value is None:
        return default
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return day_of(value, what)


class FactSource(Handle):
    """A fact source: the library reads facts from it (target history, actuals, ...).

    Subclass it to stream facts from anywhere: override scan(query) to return an
    iterable of batches for query.kind — each a dict of columns, a FactBatch or a pandas
    DataFrame (columns by name) — and call super().__init__() (with ctx= when the source
    belongs to a context of your own) from your __init__. Batches may have any size
    (16K to 64K rows is good) and rows in any order; the columns of each batch are read in
    place while the library takes the batch (numpy arrays of the C type are not copied),
    then released. A generator is fine: it is closed when the library stops early.

    Or give a generator function to FactSource.from_batches.

    Errors: an exception raised by scan (or while converting a batch) stops the
    library's operation and comes out of the library call unchanged, with its traceback.

    Optional overrides: errmsg() -> str | None (default: the last exception), destroy()
    (called once by close()). Pass a source where a fact source is asked for; its
    _as_parameter_ is the sp_fact_source*.
    """

    _free = "sp_fact_source_free"
    _what = "fact source"

    def __init__(self, *, ctx: "Context | None" = None):
        ctx = Context.of(ctx)
        me = weakref.ref(self)
        state = {"err": None, "msg": None}
        fields = dict(_ffi.sp_fact_source._fields_)

        def source():
            s = me()
            if s is None:
                raise InvalidError("fact source: the FactSource is gone")
            return s

        def c_scan(_user, query, sink, arg):
            try:
                q = query.contents
                src = source()
                fq = FactQuery(FactKind(q.kind), _bound(q.from_day), _bound(q.to_day))
                batches = iter(src.scan(fq))
                try:
                    for i, data in enumerate(batches):
                        what = f"{fq.kind.name.lower()} batch {i + 1}"
                        kind = data.kind if isinstance(data, FactBatch) else fq.kind
                        b, keep = _c_batch(kind, _columns_of(data, what), what)
                        rc = sink(arg, ctypes.byref(b))
                        del keep  # the arrays lived through the sink call
                        if rc != 0:
                            return rc  # the sink's status, unchanged
                    return 0
                finally:
                    close = getattr(batches, "close", None)
                    if close is not None:
                        close()
            except BaseException as e:
                state["err"] = e
                raise

        c_errmsg, c_destroy, last_error = user_table_common(source, me, state)

        fns = {"scan": fields["scan"](callback(c_scan, failed=_status_of)),
               "errmsg": fields["errmsg"](callback(c_errmsg, failed=None)),
               "destroy": fields["destroy"](callback(c_destroy, failed=None))}
        table = _ffi.sp_fact_source()
        lib.sp_fact_source_init(ctypes.byref(table), _ffi.SP_FACT_SOURCE_VERSION)
        for name, fn in fns.items():
            setattr(table, name, fn)
        self._last_error = last_error
        self._init_handle(ctypes.pointer(table), ctx, (table, fns))

    @property
    def _as_parameter_(self):
        if "_ctx" not in self.__dict__:
            raise InvalidError(f"{type(self).__name__}: FactSource.__init__ was not called "
                               f"(call super().__init__() from your __init__)")
        return Handle._as_parameter_.fget(self)

    @classmethod
    def from_batches(cls, fn: "Callable[[FactQuery], Iterable[FactBatch]]", *,
                     ctx: "Context | None" = None) -> "FactSource":
        """A source whose scan calls fn(kind, from_day, to_day) — a FactKind and two
        dates or None — and takes the batches it yields (dicts of columns, FactBatch,
        DataFrames).

            def order_lines(kind, from_day, to_day):
                if kind == sp.FactKind.ORDER_LINES:
                    for chunk in pandas.read_sql(SQL, conn, chunksize=50_000):
                        yield chunk
            source = sp.FactSource.from_batches(order_lines)
        """
        if not callable(fn):
            raise TypeError(f"fn: expected a callable(kind, from_day, to_day), not "
                            f"{type(fn).__name__}")
        return _GeneratorSource(fn, ctx=ctx)

    def scan(self, query: FactQuery) -> "Iterable[FactBatch]":
        """Override: an iterable of the batches of query.kind (see the class)."""
        raise NotImplementedError(f"{type(self).__name__}.scan is not written")

    def errmsg(self) -> "str | None":
        """May override: the text of the last error (default: the last exception)."""
        return self._last_error()

    def destroy(self) -> None:
        """May override: release what the source holds; called once, by close()."""

    def read(self, kind: "FactKind | str | int", from_day: "datetime.date | str | None" = None,
             to_day: "datetime.date | str | None" = None, *, form: str = "list") -> list:
        """The batches the source delivers for `kind` and the days [from_day, to_day)
        (dates, ISO strings or day numbers; None: no bound), read through its C table as
        the library reads them, as a list of FactBatch. A source may include rows outside
        the range. form "list": columns as lists, days as datetime.date; "numpy": numpy
        arrays, days as datetime64[D]. Amounts in minor units."""
        _convert.check_form(form, ("list", "numpy"))
        if form == "numpy" and _convert.numpy is None:
            raise ImportError("salesplan: numpy is not installed (Debian: python3-numpy)")
        k = enum_of("sp_fact_kind", kind, "kind")
        q = _ffi.sp_fact_query(_ffi.SP_FACT_QUERY_VERSION, k,
                               _day_bound(from_day, "from_day", _INT32_MIN),
                               _day_bound(to_day, "to_day", _INT32_MAX))
        out = []

        def sink(_arg, bp):
            b = bp.contents
            cols = {}
            for name, ctype in COLUMNS.items():
                ptr = getattr(b, name)
                if not ptr:
                    continue
                arr = ctypes.cast(ptr, ctypes.POINTER(_CT[ctype] * b.count)).contents \
                    if b.count else (_CT[ctype] * 1)()
                col = as_result(arr, b.count, ctype, form)
                if name == "day":
                    col = col.astype("datetime64[D]") if form == "numpy" else \
                        [date_of(d) for d in col]
                cols[name] = col
            out.append(FactBatch(b.kind, **cols))
            return 0

        fn = _ffi.sp_fact_sink_fn(callback(sink))
        ctx = self._ctx
        with ctx._lock:
            t = self._as_parameter_.contents
            rc = t.scan(t.user, ctypes.byref(q), fn, None)
            raise_pending()
            if rc != 0:
                msg = None
                if t.errmsg:
                    raw = t.errmsg(t.user)
                    raise_pending()
                    msg = ctypes.string_at(raw).decode("utf-8", "replace") if raw else None
                if -12 <= rc < 0:
                    if not msg:
                        msg = text_or_strerror(ctx, rc)
                    raise error_class(rc)(f"fact source: scan: {msg}", rc)
                raise CallbackError(f"fact source: scan: host error {rc}: {msg or ''}", -8,
                                    rc, msg or "")
        return out

    def __repr__(self):
        return f"<salesplan.{type(self).__name__}{' closed' if self.closed else ''}>"


def text_or_strerror(ctx, rc):
    """The context's message for a failure of a C source, else the status's text."""
    from ._core import text_out
    msg = text_out(lib.sp_ctx_errmsg(ctx))
    lib.sp_ctx_clear_error(ctx)
    return msg or lib.sp_strerror(rc).decode()


def as_source(facts, what: str = "facts", *, ctx: "Context | None" = None) -> "FactSource":
    """facts as a FactSource, for functions that read facts (the one conversion every
    module uses):

    - a FactSource (MemoryFactSource, a subclass, FactSource.from_batches): as it is;
    - a FactBatch, or a list or tuple of them;
    - order lines as one batch: a dict of columns by name or a pandas DataFrame whose
      columns are named as fact columns;
    - facts of several kinds: a dict {kind: data}, kind a FactKind or its name
      ("order_lines", "refunds"), data a dict of columns, a DataFrame, a FactBatch or a
      list of them.

    Anything but a FactSource is copied into a new MemoryFactSource made within ctx
    (None: the thread's context), which the caller closes when done (it is not `facts`).
    Columns as FactBatch takes them; amounts in minor units. TypeError naming `what` for
    anything else; InvalidError naming the kind, batch, column and row for a bad batch."""
    if isinstance(facts, FactSource):
        return facts
    pd = _convert.loaded("pandas")
    if isinstance(facts, FactBatch) or (pd is not None and isinstance(facts, pd.DataFrame)):
        facts = [facts]
    elif isinstance(facts, dict) and facts and all(isinstance(k, str) and k in COLUMNS
                                                   for k in facts):
        facts = [facts]
    if isinstance(facts, dict):
        parts = []
        for kind, data in facts.items():
            k = FactKind(enum_of("sp_fact_kind", kind, f"{what}: kind"))
            items = data if isinstance(data, (list, tuple)) else [data]
            parts += [(k, item, f"{what}[{kind!r}]") for item in items]
    elif isinstance(facts, (list, tuple)):
        parts = [(FactKind.ORDER_LINES, item, f"{what}[{i}]") for i, item in enumerate(facts)]
    else:
        raise TypeError(f"{what}: expected a FactSource, FactBatch(es), a dict of columns, a "
                        f"DataFrame or a dict of them by kind, not {type(facts).__name__}")
    source = MemoryFactSource(ctx=ctx)
    try:
        for kind, item, iwhat in parts:
            if isinstance(item, FactBatch):
                kind = item.kind
            source.append(kind, **_columns_of(item, iwhat))
    except BaseException:
        source.close()
        raise
    return source


class _GeneratorSource(FactSource):
    def __init__(self, fn, *, ctx=None):
        self._fn = fn
        super().__init__(ctx=ctx)

    def scan(self, query):
        return self._fn(query.kind, query.from_day, query.to_day)

    def __repr__(self):
        name = getattr(self._fn, "__qualname__", type(self._fn).__name__)
        return f"<salesplan.FactSource from {name}{' closed' if self.closed else ''}>"


class MemoryFactSource(FactSource):
    """The library's memory fact source (sp_fact_source_memory_new): append batches, then
    pass it wherever a fact source is asked for. Each append is checked as the library
    checks every batch (required and forbidden columns of the kind, day range, ...;
    InvalidError naming the column and row) and copied by the library, so the arrays may
    be reused afterwards. Every batch of a kind must bring the same columns. Scans hand
    the rows out in order, 4096 rows a batch.

        facts = sp.MemoryFactSource()
        facts.append("order_lines", id=[1, 2], day=["2026-01-05", "2026-01-06"],
                     rep=[0, 1], amount=[250050, 99999])    # amounts in fen
    """

    def __init__(self, *, ctx: "Context | None" = None):
        ctx = Context.of(ctx)
        ptr = ctypes.POINTER(_ffi.sp_fact_source)()
        ctx.call(lib.sp_fact_source_memory_new, ctypes.byref(ptr), ctx)
        self._init_handle(ptr, ctx)

    def scan(self, query: FactQuery) -> "Iterable[FactBatch]":
        """The batches of query (through the C table; see read)."""
        return self.read(query.kind, query.from_day, query.to_day)

    def append(self, kind: "FactKind | str | int", **columns) -> None:
        """Append one batch of `kind` (a FactKind, its name or number) with the columns
        given by name; each a sequence of ints, an array.array or buffer, a numpy array
        (read in place, not copied on the Python side, when C-contiguous and of the
        column's C type) or a pandas Series. Days: dates, ISO strings, datetime64 or day
        numbers. Amounts: ints of minor units. A failed append changes nothing."""
        b, keep = _c_batch(kind, columns, "")
        self._ctx.call(lib.sp_fact_source_memory_append, self, ctypes.byref(b))
        del keep

    def append_frame(self, kind: "FactKind | str | int", df: "pandas.DataFrame",
                     columns: "dict | None" = None) -> None:
        """Append the rows of a pandas DataFrame as one batch. columns maps DataFrame
        column names to fact column names ({"order_id": "id", "booked": "day"}); only the
        columns it names are read. Without it every DataFrame column must be named as a
        fact column."""
        pd = _convert.pandas
        if pd is None:
            raise ImportError("salesplan: pandas is not installed (Debian: python3-pandas)")
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"df: expected a pandas DataFrame, not {type(df).__name__}")
        if columns is None:
            mapping = {c: str(c) for c in df.columns}
        elif isinstance(columns, dict):
            mapping = dict(columns)
        else:
            raise TypeError(f"columns: expected a dict of DataFrame column -> fact column, "
                            f"not {type(columns).__name__}")
        data = {}
        for src, dst in mapping.items():
            if src not in df.columns:
                raise InvalidError(f"columns: the DataFrame has no column {src!r}")
            if dst not in COLUMNS:
                raise InvalidError(f"columns: {src!r} -> unknown fact column {dst!r} (the "
                                   f"columns are {_names()}; map the DataFrame's columns "
                                   f"with columns=)")
            if dst in data:
                raise InvalidError(f"columns: two DataFrame columns map to {dst!r}")
            data[dst] = df[src]
        self.append(kind, **data)
