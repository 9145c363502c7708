"""Callbacks written in Python, and the lifetimes of what C borrows: every callback kind's
exception comes back from the C call with its traceback; a raise never becomes success;
the collector running inside a callback breaks nothing; stores and sources do not leak."""
import ctypes
import gc
import os
import traceback
import weakref

import pytest

import salesplan as sp
from salesplan import _core, _ffi
from salesplan._lib import lib
from salesplan.storage import names_list
from test_facts import JAN_MAR, WANT, Plan
from test_storage import DictStore


class Boom(Exception):
    pass


def failing(kind):
    """A DictStore whose method `kind` raises Boom from a function named raise_in_<kind>."""
    def raise_in(self, *args):
        raise Boom(f"{kind} failed")
    raise_in.__code__ = raise_in.__code__.replace(co_name=f"raise_in_{kind}")
    return type(f"Failing_{kind}", (DictStore,), {kind: raise_in})


def assert_came_back(excinfo, kind):
    assert type(excinfo.value) is Boom
    tb = "".join(traceback.format_tb(excinfo.value.__traceback__))
    assert f"raise_in_{kind}" in tb


@pytest.fixture
def plan(ctx):
    p = Plan(ctx)
    yield p
    p.close()


def plans_of(ctx, store):
    names = ctypes.POINTER(_ffi.sp_names)()
    ctx.call(lib.sp_target_plans, ctypes.byref(names), ctx, store)
    return names_list(names)


@pytest.mark.parametrize("kind", ["begin", "get", "put", "commit"])
def test_a_store_callback_raising_during_a_library_save(kind, ctx, plan):
    store = failing(kind)(ctx=ctx)
    with pytest.raises(Boom, match=f"{kind} failed") as e:
        ctx.call(lib.sp_target_plan_save, plan.plan, store)
    assert_came_back(e, kind)
    assert not store.in_transaction  # rolled back (or never begun)
    assert store.data.get("target.plan", {}) == {}  # nothing was kept
    assert lib.sp_ctx_errmsg(ctx) in (None, b"")  # the context's error was cleared
    # and what the library made of it is noted on the exception
    assert any(n.startswith("salesplan: storage: ") and "host error -1000" in n
               for n in e.value.__notes__)


def test_scan_raising_during_a_library_listing(ctx, plan):
    store = failing("scan")(ctx=ctx)
    with pytest.raises(Boom) as e:
        plans_of(ctx, store)
    assert_came_back(e, "scan")


def test_rollback_raising_after_put_raised_keeps_the_first_and_notes_the_second(ctx, plan):
    class Both(DictStore):
        def put(self, ns, key, value):
            raise Boom("put failed")

        def rollback(self):
            DictStore.rollback(self)
            raise KeyError("rollback failed")

    store = Both(ctx=ctx)
    with pytest.raises(Boom, match="put failed") as e:
        ctx.call(lib.sp_target_plan_save, plan.plan, store)
    assert any("KeyError" in n and "rollback" in n for n in e.value.__notes__)


def test_rollback_raising_alone(ctx):
    store = failing("rollback")(ctx=ctx)
    with pytest.raises(ZeroDivisionError) as e:
        with store.transaction():
            1 / 0
    assert any("rollback failed too" in n and "Boom" in n for n in e.value.__notes__)
    # through the table directly: the rollback's own exception comes back
    view = sp.StoreView(store)
    view._tx("begin")
    with pytest.raises(Boom) as e:
        view._tx("rollback")
    assert_came_back(e, "rollback")


def test_remove_raising(ctx):
    view = sp.StoreView(failing("remove")(ctx=ctx))
    with pytest.raises(Boom) as e:
        with view.transaction():
            view.remove("t", b"k")
    assert_came_back(e, "remove")


def test_errmsg_raising(ctx, plan):
    class BadMessage(DictStore):
        def put(self, ns, key, value):
            raise Boom("put failed")

        def errmsg(self):
            raise_in_errmsg()

    def raise_in_errmsg():
        raise Boom("errmsg failed")

    store = BadMessage(ctx=ctx)
    with pytest.raises(Boom, match="put failed") as e:
        ctx.call(lib.sp_target_plan_save, plan.plan, store)
    assert any("errmsg failed" in n for n in e.value.__notes__)
    # called alone (through the table): its own exception comes back
    t = store._as_parameter_.contents
    assert t.errmsg(t.user) is None
    with pytest.raises(Boom, match="errmsg failed") as e:
        _core.raise_pending()
    assert_came_back(e, "errmsg")


def test_destroy_raising(ctx):
    store = failing("destroy")(ctx=ctx)
    with pytest.raises(Boom) as e:
        store.close()
    assert_came_back(e, "destroy")
    assert store.closed
    store.close()  # idempotent, raises nothing more

    class Src(sp.FactSource):
        def destroy(self):
            raise_in_destroy()

    def raise_in_destroy():
        raise Boom("source destroy")

    with pytest.raises(Boom, match="source destroy") as e:
        Src(ctx=ctx).close()
    assert_came_back(e, "destroy")


def test_visit_raising_during_a_scan_of_every_store(ctx, tmp_path):
    stores = [sp.MemoryStore(ctx=ctx), sp.FileStore(tmp_path / "v", sync=False, ctx=ctx),
              sp.StoreView(DictStore(ctx=ctx)), sp.StoreView(sp.SQLiteStore(":memory:", ctx=ctx))]
    for s in stores:
        with s.transaction():
            s.put("t", b"a", b"1")
            s.put("t", b"b", b"2")
        seen = []

        def raise_in_visit(k, v):
            seen.append(k)
            raise Boom("visit failed")

        with pytest.raises(Boom) as e:
            s._visit("t", None, None, raise_in_visit)
        assert_came_back(e, "visit")
        assert seen == [b"a"]  # the scan stopped at once
        assert list(s.scan("t")) == [(b"a", b"1"), (b"b", b"2")]  # and the store works


def test_a_fact_source_raising_inside_the_library(ctx, plan):
    class Src(sp.FactSource):
        def scan(self, query):
            raise_in_scan()

    def raise_in_scan():
        raise Boom("scan failed")

    with pytest.raises(Boom) as e:
        plan.actuals(Src(ctx=ctx))
    assert_came_back(e, "scan")


def test_progress_raising(ctx, plan):
    f = sp.MemoryFactSource(ctx=ctx)
    f.append("order_lines", **JAN_MAR)

    def raise_in_progress(done, total):
        raise Boom("progress failed")

    table, keep = _core.progress_table(raise_in_progress)
    opts = _ffi.sp_target_history_options()
    lib.sp_target_history_options_init(ctypes.byref(opts), 1)
    out = (ctypes.c_int64 * 36)()
    with pytest.raises(Boom) as e:
        ctx.call(lib.sp_target_plan_load_actuals, plan.plan, f, plan.dict, ctypes.byref(opts),
                 table, out, None)
    assert_came_back(e, "progress")
    assert list(out) == [0] * 36  # written only on success


def test_a_raise_never_becomes_success(ctx, plan):
    # The C function returns 0 although a callback raised: the call still raises.
    def raise_in_cb():
        raise Boom("swallowed by C?")

    cb = ctypes.CFUNCTYPE(ctypes.c_int)(_core.callback(raise_in_cb))
    c_function_ignoring_the_error = ctypes.CFUNCTYPE(ctypes.c_int)(lambda: (cb(), 0)[1])
    with pytest.raises(Boom) as e:
        ctx.call(c_function_ignoring_the_error)
    assert_came_back(e, "cb")

    # A commit that raises is never a commit: the library rolls back, nothing is listed.
    store = failing("commit")(ctx=ctx)
    with pytest.raises(Boom):
        ctx.call(lib.sp_target_plan_save, plan.plan, store)
    assert plans_of(ctx, store) == []
    # and the exception slot is empty again: the next call succeeds
    ok = DictStore(ctx=ctx)
    ctx.call(lib.sp_target_plan_save, plan.plan, ok)
    assert plans_of(ctx, ok) == ["p2026"]


def test_the_collector_inside_callbacks_breaks_nothing(ctx, plan):
    class Collecting(DictStore):
        pass

    for m in ("get", "put", "scan", "begin", "commit"):
        def run(self, *a, _m=m):
            gc.collect()
            return getattr(DictStore, _m)(self, *a)
        setattr(Collecting, m, run)

    store = Collecting(ctx=ctx)
    ctx.call(lib.sp_target_plan_save, plan.plan, store)
    assert plans_of(ctx, store) == ["p2026"]
    loaded = ctypes.POINTER(_ffi.sp_target_plan)()
    ctx.call(lib.sp_target_plan_load, ctypes.byref(loaded), ctx, store, b"p2026")
    lib.sp_target_plan_free(loaded)

    # A source whose batches exist only in the generator's frame, with the collector run
    # between batches and from the progress callback while the library works on them.
    def gen(kind, from_day, to_day):
        for i in range(5):
            gc.collect()
            yield {name: [JAN_MAR[name][i]] for name in JAN_MAR}

    src = sp.FactSource.from_batches(gen, ctx=ctx)
    table, keep = _core.progress_table(lambda done, total: gc.collect() and False)
    opts = _ffi.sp_target_history_options()
    lib.sp_target_history_options_init(ctypes.byref(opts), 1)
    out = (ctypes.c_int64 * 36)()
    ctx.call(lib.sp_target_plan_load_actuals, plan.plan, src, plan.dict, ctypes.byref(opts),
             table, out, None)
    assert list(out[plan.index["all"] * 12:plan.index["all"] * 12 + 12]) == WANT["all"]


def test_objects_are_freed_when_their_last_reference_goes(ctx):
    # No reference cycle through the callbacks: a PythonStore or a FactSource goes as soon
    # as it is dropped, without the collector, and its destroy runs.
    destroyed = []

    class S(DictStore):
        def destroy(self):
            destroyed.append("store")

    class F(sp.FactSource):
        def destroy(self):
            destroyed.append("source")

    gc.disable()
    try:
        s, f = S(ctx=ctx), F(ctx=ctx)
        refs = [weakref.ref(s), weakref.ref(f)]
        del s, f
        assert [r() for r in refs] == [None, None]
        assert destroyed == ["store", "source"]
    finally:
        gc.enable()


def rss_pages():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1])


def test_ten_thousand_stores_and_sources_leak_nothing(ctx, tmp_path):
    def one_round():
        with sp.MemoryStore(ctx=ctx) as m:
            with m.transaction():
                m.put("t", b"k", b"v" * 100)
        with DictStore(ctx=ctx) as d:
            with d.transaction():
                sp.StoreView(d).put("t", b"k", b"v")
        with sp.MemoryFactSource(ctx=ctx) as f:
            f.append("order_lines", id=[1], day=[20454], rep=[0], amount=[1])
        with sp.FactSource.from_batches(lambda k, a, b: [], ctx=ctx) as g:
            g.read("order_lines")

    for _ in range(1000):  # warm up: caches, arenas
        one_round()
    gc.collect()
    before = rss_pages()
    for _ in range(10000):
        one_round()
    gc.collect()
    grown = (rss_pages() - before) * os.sysconf("SC_PAGE_SIZE")
    # a leak of even one small allocation a round would be 10,000 x it; a generous bound
    assert grown < 8 * 1024 * 1024, grown
    # and the context holds none of them any more
    assert len(ctx._objects) == 0
