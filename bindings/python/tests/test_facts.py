"""Fact sources: batches from Python data, the memory source, sources written in Python,
read by the library (sp_target_plan_load_actuals, through raw _ffi calls)."""
import array
import ctypes
import datetime
import traceback

import pytest

import salesplan as sp
from salesplan import _ffi, facts
from salesplan._lib import lib
from salesplan.storage import names_list

D = datetime.date


def lines(n=3):
    # order lines of 2026-01-05.., reps 0 and 1, amounts in fen
    return dict(id=list(range(1, n + 1)), day=[D(2026, 1, 5 + i) for i in range(n)],
                rep=[i % 2 for i in range(n)], amount=[1000 * (i + 1) for i in range(n)])


# ---- batches and the memory source ----

def test_append_and_read_back(ctx):
    f = sp.MemoryFactSource(ctx=ctx)
    f.append("order_lines", **lines())
    f.append(sp.FactKind.ORDER_LINES, id=[9], day=["2026-02-01"], rep=[1], amount=[-50])
    got = f.read("order_lines")
    # the memory source hands the rows out in order, 4096 a batch: one batch of four
    assert len(got) == 1 and got[0].kind == sp.FactKind.ORDER_LINES
    assert got[0].columns == {"id": [1, 2, 3, 9],
                              "day": [D(2026, 1, 5), D(2026, 1, 6), D(2026, 1, 7),
                                      D(2026, 2, 1)],
                              "rep": [0, 1, 0, 1], "amount": [1000, 2000, 3000, -50]}
    assert got[0].count == 4 and "amount" in got[0] and "cost" not in got[0]
    assert f.read("payments") == []
    f.close()
    with pytest.raises(ValueError, match="fact source is closed"):
        f.read("order_lines")


def test_day_columns_in_every_form(ctx):
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    want = [20454, 20455, 20486]  # 2026-01-01, 01-02, 02-02 (20454 + 31 + 1)
    forms = [
        [D(2026, 1, 1), D(2026, 1, 2), D(2026, 2, 2)],
        ["2026-01-01", "2026-01-02", "2026-02-02"],
        want,
        array.array("i", want),
        np.array(want, dtype=np.int32),
        np.array(["2026-01-01", "2026-01-02", "2026-02-02"], dtype="datetime64[D]"),
        np.array(["2026-01-01T23:59", "2026-01-02", "2026-02-02T00:01"],
                 dtype="datetime64[m]"),
        pd.Series(pd.to_datetime(["2026-01-01 10:00", "2026-01-02", "2026-02-02"])),
        # 2026-01-02 01:00 in Shanghai is 2026-01-01 17:00 UTC: the library's day is UTC
        pd.Series(pd.to_datetime(["2026-01-02 01:00", "2026-01-02 12:00",
                                  "2026-02-02 12:00"]).tz_localize("Asia/Shanghai")),
    ]
    for i, days in enumerate(forms):
        f = sp.MemoryFactSource(ctx=ctx)
        f.append("order_lines", id=[1, 2, 3], day=days, rep=[0, 0, 0], amount=[1, 2, 3])
        got = f.read("order_lines", form="numpy")[0]["day"].astype("int64").tolist()
        assert got == want, i


def test_numpy_columns_are_read_in_place(ctx):
    np = pytest.importorskip("numpy")
    amount = np.array([5, 6, 7], dtype=np.int64)
    ids = np.array([1, 2, 3], dtype=np.uint64)
    day = np.array([20454] * 3, dtype=np.int32)
    b, keep = facts._c_batch("order_lines", dict(id=ids, day=day, amount=amount), "")
    addr = ctypes.cast(b.amount, ctypes.c_void_p).value
    assert addr == amount.ctypes.data
    assert ctypes.cast(b.id, ctypes.c_void_p).value == ids.ctypes.data
    assert ctypes.cast(b.day, ctypes.c_void_p).value == day.ctypes.data
    # a strided view or another dtype is copied, with the same values
    wide = np.array([5, 0, 6, 0, 7, 0], dtype=np.int64)[::2]
    b2, keep2 = facts._c_batch("order_lines", dict(amount=wide), "")
    assert ctypes.cast(b2.amount, ctypes.c_void_p).value != wide.ctypes.data
    assert [b2.amount[i] for i in range(3)] == [5, 6, 7]


def test_a_python_source_hands_numpy_arrays_to_c_without_a_copy(ctx):
    # Through a scan of the source's C table: the sink sees the numpy arrays' memory.
    np = pytest.importorskip("numpy")
    amount = np.arange(10, 20, dtype=np.int64)
    ids = np.arange(1, 11, dtype=np.uint64)
    day = np.full(10, 20454, dtype=np.int32)
    rep = np.zeros(10, dtype=np.uint32)

    def gen(kind, from_day, to_day):
        yield dict(id=ids, day=day, rep=rep, amount=amount)

    src = sp.FactSource.from_batches(gen, ctx=ctx)
    seen = []

    def sink(_arg, bp):
        b = bp.contents
        seen.append((ctypes.cast(b.amount, ctypes.c_void_p).value,
                     ctypes.cast(b.id, ctypes.c_void_p).value, b.amount[9], b.count))
        return 0

    t = src._as_parameter_.contents
    q = _ffi.sp_fact_query(1, 1, -2**31, 2**31 - 1)
    fn = _ffi.sp_fact_sink_fn(sink)
    assert t.scan(t.user, ctypes.byref(q), fn, None) == 0
    assert seen == [(amount.ctypes.data, ids.ctypes.data, 19, 10)]
    # and read() gives the same values back
    assert src.read("order_lines")[0]["amount"] == list(range(10, 20))


def test_buffers_series_and_frames(ctx):
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    f = sp.MemoryFactSource(ctx=ctx)
    f.append("order_lines", id=array.array("Q", [1, 2]), day=pd.Series([20454, 20455]),
             rep=bytearray(b"\x00\x00\x00\x00\x01\x00\x00\x00") and array.array("I", [0, 1]),
             amount=pd.Series([100, 200], dtype="int64"))
    df = pd.DataFrame({"order": [3, 4], "booked": pd.to_datetime(["2026-01-03", "2026-01-04"]),
                       "who": np.array([1, 0], dtype=np.uint32), "fen": [300, 400],
                       "note": ["x", "y"]})
    f.append_frame("order_lines", df, {"order": "id", "booked": "day", "who": "rep",
                                       "fen": "amount"})
    same = pd.DataFrame({"id": [5], "day": ["2026-01-05"], "rep": [1], "amount": [500]})
    f.append_frame("order_lines", same)
    got = f.read("order_lines")[0]
    assert got["id"] == [1, 2, 3, 4, 5]
    assert got["day"] == [D(2026, 1, d) for d in range(1, 6)]
    assert got["rep"] == [0, 1, 1, 0, 1]
    assert got["amount"] == [100, 200, 300, 400, 500]
    frame = got.to_frame()
    assert list(frame.columns) == ["id", "day", "rep", "amount"] and len(frame) == 5


def test_bad_batches_name_what_is_wrong_and_change_nothing(ctx):
    pd = pytest.importorskip("pandas")
    f = sp.MemoryFactSource(ctx=ctx)
    f.append("order_lines", **lines(2))
    before = f.read("order_lines")
    cases = [
        (dict(lines(2), colour=[1, 2]), sp.InvalidError, "unknown column 'colour'"),
        (dict(lines(2), amount=[1]), sp.InvalidError, "amount has 1 values, id has 2"),
        (dict(lines(2), amount=[1.5, 2]), TypeError, r"amount\[0\]: expected an int, not float"),
        (dict(lines(2), day=[datetime.datetime(2026, 1, 1), D(2026, 1, 2)]), TypeError,
         r"day\[0\]: expected a date, not datetime"),
        (dict(lines(2), day=["2026-13-01", "2026-01-01"]), sp.InvalidError,
         r"day\[0\]: '2026-13-01' is not a date"),
        (dict(lines(2), id=[-1, 2]), sp.ExactOverflowError, r"id\[0\]: -1 does not fit"),
        (dict(lines(2), rep=None), sp.InvalidError, "required column rep is NULL"),
        (dict(lines(2), stage=[0, 0]), sp.InvalidError, "stage"),
    ]
    for columns, cls, text in cases:
        with pytest.raises(cls, match=text):
            f.append("order_lines", **columns)
    with pytest.raises(ValueError, match="unknown FactKind 'orders'"):
        f.append("orders", **lines(2))
    with pytest.raises(sp.InvalidError, match="no column 'nope'"):
        f.append_frame("order_lines", pd.DataFrame(lines(2)), {"nope": "id"})
    with pytest.raises(sp.InvalidError, match="unknown fact column 'note'"):
        f.append_frame("order_lines", pd.DataFrame(dict(lines(2), note=["a", "b"])))
    with pytest.raises(TypeError, match="df: expected a pandas DataFrame, not dict"):
        f.append_frame("order_lines", lines(2))
    with pytest.raises(sp.InvalidError, match="form: expected 'list' or 'numpy'"):
        f.read("order_lines", form="rows")
    assert f.read("order_lines") == before


def test_factbatch():
    b = sp.FactBatch("payments", id=[1], ref=[7], day=[20454], amount=[10], cost=None)
    assert b.kind == sp.FactKind.PAYMENTS and b.count == 1 and "cost" not in b
    assert repr(b) == "<FactBatch payments 1 rows: id, ref, day, amount>"
    with pytest.raises(sp.InvalidError, match="unknown column 'x'"):
        sp.FactBatch("payments", x=[1])
    assert sp.FactBatch("refunds").count == 0


def test_as_source_takes_every_form(ctx):
    mem = sp.MemoryFactSource(ctx=ctx)
    assert facts.as_source(mem) is mem
    refund = dict(id=[50], ref=[1], day=[D(2026, 1, 9)], amount=[400])
    want_lines = {"id": [1, 2, 3], "day": [D(2026, 1, 5), D(2026, 1, 6), D(2026, 1, 7)],
                  "rep": [0, 1, 0], "amount": [1000, 2000, 3000]}
    forms = [(lines(), False), (sp.FactBatch("order_lines", **lines()), False),
             ([sp.FactBatch("order_lines", **lines()), sp.FactBatch("refunds", **refund)],
              True),
             ({"order_lines": lines(), sp.FactKind.REFUNDS: [refund]}, True)]
    for form, refunds in forms:
        src = facts.as_source(form, ctx=ctx)
        assert isinstance(src, sp.MemoryFactSource) and src is not form
        assert src.context is ctx
        assert src.read("order_lines")[0].columns == want_lines
        got = src.read("refunds")
        assert (got[0].columns if got else None) == (
            {"id": [50], "ref": [1], "day": [D(2026, 1, 9)], "amount": [400]} if refunds
            else None)
        src.close()


def test_as_source_takes_a_frame(ctx):
    pd = pytest.importorskip("pandas")
    src = facts.as_source(pd.DataFrame(lines()), ctx=ctx)
    assert src.read("order_lines")[0].columns["amount"] == [1000, 2000, 3000]
    src.close()


def test_as_source_refuses_what_it_cannot_read(ctx):
    with pytest.raises(TypeError, match="facts: expected a FactSource, FactBatch"):
        facts.as_source(42)
    with pytest.raises(sp.InvalidError, match=r"facts: kind: unknown FactKind 'orders'"):
        facts.as_source({"orders": lines()}, ctx=ctx)
    with pytest.raises(TypeError, match=r"facts\[1\]: expected a dict of columns"):
        facts.as_source([lines(), 7], ctx=ctx)
    # a bad batch: the library's message, and the source made for it is closed
    with pytest.raises(sp.InvalidError, match="required column"):
        facts.as_source({"refunds": dict(id=[1], day=[D(2026, 1, 1)], amount=[1])}, ctx=ctx)


def test_read_bounds_and_a_sources_query(ctx):
    queries = []

    def gen(kind, from_day, to_day):
        queries.append((kind, from_day, to_day))
        return []

    src = sp.FactSource.from_batches(gen, ctx=ctx)
    assert src.read("payments") == []
    assert src.read(2, "2026-01-01", D(2026, 2, 1)) == []
    assert src.read(2, 20454, None) == []
    assert queries == [(sp.FactKind.PAYMENTS, None, None),
                       (sp.FactKind.PAYMENTS, D(2026, 1, 1), D(2026, 2, 1)),
                       (sp.FactKind.PAYMENTS, D(2026, 1, 1), None)]
    with pytest.raises(TypeError, match=r"fn: expected a callable"):
        sp.FactSource.from_batches(3)


def test_subclassed_source(ctx):
    class Rows(sp.FactSource):
        def __init__(self, rows):
            super().__init__(ctx=ctx)
            self.rows = rows

        def scan(self, query):
            if query.kind != sp.FactKind.ORDER_LINES:
                return
            for start in range(0, len(self.rows), 2):  # batches of two rows
                part = self.rows[start:start + 2]
                yield sp.FactBatch(query.kind, id=[r[0] for r in part],
                                   day=[r[1] for r in part], rep=[0] * len(part),
                                   amount=[r[2] for r in part])

    rows = [(1, D(2026, 1, 1), 10), (2, D(2026, 1, 2), 20), (3, D(2026, 1, 3), 30)]
    got = Rows(rows).read("order_lines")
    assert [b.count for b in got] == [2, 1]
    assert [a for b in got for a in b["amount"]] == [10, 20, 30]
    assert Rows(rows).read("refunds") == []

    class Bare(sp.FactSource):
        pass

    with pytest.raises(NotImplementedError, match="Bare.scan is not written"):
        Bare(ctx=ctx).read("order_lines")


# ---- read by the library: sp_target_plan_load_actuals ----

class Plan:
    """A plan of 2026 over the hierarchy all -> (r1, r2) made through raw _ffi calls, with
    a dictionary where r1 is 0 and r2 is 1 (the targets module's classes are not used)."""

    def __init__(self, ctx):
        self.ctx = ctx
        h = ctypes.POINTER(_ffi.sp_hierarchy)()
        ctx.call(lib.sp_hierarchy_new, ctypes.byref(h), ctx)
        for node, parent in ((b"all", None), (b"r1", b"all"), (b"r2", b"all")):
            ctx.call(lib.sp_hierarchy_add, h, node, len(node), parent,
                     len(parent or b""), None)
        ctx.call(lib.sp_hierarchy_validate, h)
        opts = _ffi.sp_target_plan_options()
        lib.sp_target_plan_options_init(ctypes.byref(opts), 1)
        opts.fiscal_year = 2026
        opts.currency = b"CNY"
        self.plan = ctypes.POINTER(_ffi.sp_target_plan)()
        ctx.call(lib.sp_target_plan_new, ctypes.byref(self.plan), ctx, b"p2026", h,
                 ctypes.byref(opts))
        lib.sp_hierarchy_free(h)
        self.dict = ctypes.POINTER(_ffi.sp_dict)()
        ctx.call(lib.sp_dict_new, ctypes.byref(self.dict), ctx)
        for rep in (b"r1", b"r2"):
            ctx.call(lib.sp_dict_intern, self.dict, rep, len(rep), None)
        self.index = {}
        for node in (b"all", b"r1", b"r2"):
            i = ctypes.c_uint32()
            ctx.call(lib.sp_hierarchy_find, self.info().hierarchy, node, len(node),
                     ctypes.byref(i))
            self.index[node.decode()] = i.value

    def info(self):
        info = _ffi.sp_target_plan_info()
        lib.sp_target_plan_info_init(ctypes.byref(info), 1)
        self.ctx.call(lib.sp_target_plan_get_info, self.plan, ctypes.byref(info))
        return info

    def actuals(self, source):
        opts = _ffi.sp_target_history_options()
        lib.sp_target_history_options_init(ctypes.byref(opts), 1)
        n = 3 * 12
        out = (ctypes.c_int64 * n)()
        self.ctx.call(lib.sp_target_plan_load_actuals, self.plan, source, self.dict,
                      ctypes.byref(opts), None, out, None)
        return {node: list(out[i * 12:(i + 1) * 12]) for node, i in self.index.items()}

    def close(self):
        lib.sp_target_plan_free(self.plan)
        lib.sp_dict_free(self.dict)


@pytest.fixture
def plan(ctx):
    p = Plan(ctx)
    yield p
    p.close()


# By hand: r1 (index 0) books 1000 + 3000 in January and 500 in March; r2 (index 1) books
# 2000 in January; 2025-12-31 is outside the plan's year. all = r1 + r2.
JAN_MAR = dict(id=[1, 2, 3, 4, 5], rep=[0, 1, 0, 0, 1],
               day=[D(2026, 1, 5), D(2026, 1, 6), D(2026, 1, 31), D(2026, 3, 1),
                    D(2025, 12, 31)],
               amount=[1000, 2000, 3000, 500, 7777])
WANT = {"r1": [4000, 0, 500] + [0] * 9, "r2": [2000] + [0] * 11,
        "all": [6000, 0, 500] + [0] * 9}


def test_the_library_reads_a_memory_source(ctx, plan):
    f = sp.MemoryFactSource(ctx=ctx)
    f.append("order_lines", **JAN_MAR)
    assert plan.actuals(f) == WANT


def test_the_library_reads_a_generator_source_in_batches(ctx, plan):
    np = pytest.importorskip("numpy")
    calls = []

    def gen(kind, from_day, to_day):
        calls.append((kind, from_day, to_day))
        if kind != sp.FactKind.ORDER_LINES:
            return
        for i in range(5):  # one row a batch, numpy and list columns mixed
            yield {"id": np.array([JAN_MAR["id"][i]], dtype=np.uint64),
                   "rep": [JAN_MAR["rep"][i]], "day": [JAN_MAR["day"][i]],
                   "amount": np.array([JAN_MAR["amount"][i]])}

    src = sp.FactSource.from_batches(gen, ctx=ctx)
    assert plan.actuals(src) == WANT
    assert calls and calls[0][0] == sp.FactKind.ORDER_LINES


def test_an_exception_in_the_generator_comes_out_of_the_library_call(ctx, plan):
    state = {"closed": False}

    def failing_generator(kind, from_day, to_day):
        try:
            yield dict(id=[1], rep=[0], day=[D(2026, 1, 5)], amount=[1])
            raise ConnectionError("the ERP database went away")
        finally:
            state["closed"] = True

    src = sp.FactSource.from_batches(failing_generator, ctx=ctx)
    with pytest.raises(ConnectionError, match="went away") as e:
        plan.actuals(src)
    assert "failing_generator" in "".join(traceback.format_tb(e.value.__traceback__))
    assert state["closed"]
    # the context holds no error afterwards and the plan is usable
    f = sp.MemoryFactSource(ctx=ctx)
    f.append("order_lines", **JAN_MAR)
    assert plan.actuals(f) == WANT


def test_a_bad_batch_from_a_generator_names_the_batch(ctx, plan):
    def gen(kind, from_day, to_day):
        yield dict(id=[1], rep=[0], day=[D(2026, 1, 5)], amount=[1])
        yield dict(id=[2], rep=[0], day=[D(2026, 1, 5)], amount=[1], colour=[3])

    with pytest.raises(sp.InvalidError, match="order_lines batch 2: unknown column 'colour'"):
        plan.actuals(sp.FactSource.from_batches(gen, ctx=ctx))

    def bad_index(kind, from_day, to_day):
        yield dict(id=[1], rep=[9], day=[D(2026, 1, 5)], amount=[1])

    # the library's own check of the batch: rep 9 is beyond the dictionary's 2 ids
    with pytest.raises(sp.InvalidError, match=r"rep\[0\] = 9 is not a known index"):
        plan.actuals(sp.FactSource.from_batches(bad_index, ctx=ctx))


def test_the_generator_is_closed_when_the_library_stops_early(ctx, plan):
    state = {"closed": False, "after": 0}

    def gen(kind, from_day, to_day):
        try:
            yield dict(id=[1], rep=[7], day=[D(2026, 1, 5)], amount=[1])  # refused
            state["after"] += 1
            yield dict(id=[2], rep=[0], day=[D(2026, 1, 5)], amount=[1])
        finally:
            state["closed"] = True

    with pytest.raises(sp.InvalidError, match="not a known index"):
        plan.actuals(sp.FactSource.from_batches(gen, ctx=ctx))
    assert state == {"closed": True, "after": 0}


# ---- names lists, from a C function that returns sp_names, over every store ----

@pytest.mark.parametrize("kind", ["memory", "file", "sqlite"])
def test_names_list_of_saved_plans(kind, ctx, plan, tmp_path):
    store = {"memory": lambda: sp.MemoryStore(ctx=ctx),
             "file": lambda: sp.FileStore(tmp_path / "p.spstore", sync=False, ctx=ctx),
             "sqlite": lambda: sp.SQLiteStore(tmp_path / "p.db", ctx=ctx)}[kind]()
    ctx.call(lib.sp_target_plan_save, plan.plan, store)
    names = ctypes.POINTER(_ffi.sp_names)()
    ctx.call(lib.sp_target_plans, ctypes.byref(names), ctx, store)
    assert names_list(names) == ["p2026"]
    loaded = ctypes.POINTER(_ffi.sp_target_plan)()
    ctx.call(lib.sp_target_plan_load, ctypes.byref(loaded), ctx, store, b"p2026")
    lib.sp_target_plan_free(loaded)
    with pytest.raises(sp.NotFoundError):
        ctx.call(lib.sp_target_plan_load, ctypes.byref(loaded), ctx, store, b"nope")
    store.close()
