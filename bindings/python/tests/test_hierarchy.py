"""salesplan.Hierarchy: building, reading, roll-ups, reconciliation, frozen views."""
import ctypes
import gc
from decimal import Decimal

import pytest

import salesplan as sp
from salesplan import _ffi
from salesplan._core import Handle
from salesplan._lib import lib

# The guide's hierarchy (docs/hierarchy.md): indexes 0..6 in this order.
IDS = ["CN", "East", "West", "E-01", "W-01", "rep-7", "rep-9"]
PARENTS = [None, "CN", "CN", "East", "West", "E-01", "W-01"]
LEVELS = ["company", "region", "grid", "rep"]


@pytest.fixture
def h(ctx):
    h = sp.Hierarchy(ctx=ctx)
    h.add_all(IDS, PARENTS)
    h.set_levels(LEVELS)
    h.validate()
    return h


def test_build_one_by_one_child_first(ctx):
    h = sp.Hierarchy(ctx=ctx)
    assert h.state == sp.HierarchyState.OPEN
    assert h.add("a1", "A") == 0          # the parent comes later
    assert h.add("A") == 1
    assert h.add("a0", parent="A") == 2
    h.validate()
    assert h.state == sp.HierarchyState.VALID
    assert h.root == 1
    # canonical order: a0 < a1 by bytes, whatever the order of addition
    assert h.children(1) == [2, 0]
    assert h.parent(1) is None and h.parent(0) == 1
    # adding after validation makes it OPEN again
    h.add("a2", "A")
    assert h.state == sp.HierarchyState.OPEN


def test_reading(h):
    assert len(h) == 7
    assert h.find("East") == 1 and "East" in h and "Nowhere" not in h and 3 not in h
    assert h.id(5) == "rep-7"
    assert h.ids() == IDS and list(h) == IDS
    assert h.root == 0
    assert [h.parent(i) for i in range(7)] == [None, 0, 0, 1, 2, 3, 4]
    assert h.children(0) == [1, 2] and h.children(5) == []
    assert [h.depth(i) for i in range(7)] == [0, 1, 1, 2, 2, 3, 3]
    # a node by its id, as the kernels and the target plans take nodes (IDS[1] is East)
    assert h.parent("East") == 0 and h.children("CN") == [1, 2] and h.depth("rep-7") == 3
    with pytest.raises(sp.NotFoundError):
        h.parent("Nowhere")
    # parents first, level by level, grouped by parent
    assert h.order() == [0, 1, 2, 3, 4, 5, 6]
    assert h.levels == LEVELS and h.level_find("grid") == 2 and h.level_count == 4


def test_order_is_canonical_not_insertion():
    h = sp.Hierarchy()
    h.add_all(["Z", "r2", "r10", "R1", "网格"], [None, "Z", "Z", "Z", "Z"])
    h.validate()
    # bytes: "R1" < "r10" < "r2" < "网格" (uppercase before lowercase, UTF-8 last)
    assert h.children(0) == [3, 2, 1, 4]
    assert h.order() == [0, 3, 2, 1, 4]
    assert h.id(4) == "网格"


def test_unicode_ids_and_lengths(ctx):
    h = sp.Hierarchy(ctx=ctx)
    # ASCII and non-ASCII mixed: packed offsets are byte offsets, not characters
    assert h.add_all(["总部", "华东", "r"], [None, "总部", "华东"]) == [0, 1, 2]
    h.validate()
    assert h.ids() == ["总部", "华东", "r"] and h.parent(2) == 1


def test_add_all_roots_and_empty(ctx):
    h = sp.Hierarchy(ctx=ctx)
    assert h.add_all([]) == []
    assert h.add_all(["a", "b"]) == [0, 1]      # parents=None: two root candidates
    with pytest.raises(sp.InvalidError, match="2 roots"):
        h.validate()
    assert h.state == sp.HierarchyState.OPEN


def test_add_errors_change_nothing(h):
    with pytest.raises(sp.ConflictError, match='"West" is already present'):
        h.add("West", "CN")
    with pytest.raises(sp.InvalidError, match="id is empty"):
        h.add("", "CN")
    with pytest.raises(TypeError, match="id: expected str, not int"):
        h.add(5)
    with pytest.raises(TypeError, match="parent: expected str"):
        h.add("x", 3)
    with pytest.raises(sp.InvalidError, match="id: .* not valid Unicode"):
        h.add("a\ud800")
    with pytest.raises(sp.ConflictError, match=r'ids\[1\]: id "A" repeats ids\[0\]'):
        h.add_all(["A", "A"], ["CN", "CN"])
    with pytest.raises(sp.InvalidError, match=r"ids\[1\]: id is empty"):
        h.add_all(["A", ""], ["CN", "CN"])
    with pytest.raises(TypeError, match=r"ids\[1\]: expected str, not int"):
        h.add_all(["A", 1], ["CN", "CN"])
    with pytest.raises(TypeError, match=r"parents\[0\]: expected str, not float"):
        h.add_all(["A"], [1.5])
    with pytest.raises(sp.InvalidError, match=r"parents\[1\]: the parent id is empty"):
        h.add_all(["A", "B"], ["CN", ""])
    with pytest.raises(sp.InvalidError, match="parents: 1 parents for 2 ids"):
        h.add_all(["A", "B"], ["CN"])
    with pytest.raises(TypeError, match="ids: expected a sequence of str, not a single str"):
        h.add_all("AB")
    # nothing was added, and the hierarchy is still valid
    assert len(h) == 7 and h.state == sp.HierarchyState.VALID and h.ids() == IDS


def test_validate_errors(ctx):
    h = sp.Hierarchy(ctx=ctx)
    with pytest.raises(sp.InvalidError, match="hierarchy: no nodes"):
        h.validate()
    h.add_all(["Co", "r1"], [None, "E9"])
    with pytest.raises(sp.InvalidError, match='node "r1" has parent "E9", which is not a node'):
        h.validate()
    h2 = sp.Hierarchy(ctx=ctx)
    h2.add_all(["A", "B", "C"], ["C", "A", "B"])
    with pytest.raises(sp.InvalidError, match='cycle of parents: "A" -> "C" -> "B" -> "A"'):
        h2.validate()
    assert h2.state == sp.HierarchyState.OPEN
    with pytest.raises(sp.InvalidError, match="not validated"):
        h2.root


def test_levels_errors(h):
    with pytest.raises(sp.InvalidError, match='level names 1 and 2 are both "rep"'):
        h.set_levels(["company", "rep", "rep", "x"])
    with pytest.raises(sp.InvalidError, match='is at level 3, but only 3 level names'):
        h.set_levels(["company", "region", "grid"])
    with pytest.raises(sp.InvalidError, match=r"names\[1\]: .* contains a NUL"):
        h.set_levels(["a", "b\0c"])
    with pytest.raises(TypeError, match="names: expected a sequence of str"):
        h.set_levels("company")
    assert h.levels == LEVELS
    with pytest.raises(sp.NotFoundError):
        h.level_find("product")
    h.set_levels([])
    assert h.levels == []


def test_index_errors(h):
    with pytest.raises(sp.NotFoundError, match="node index 99 is beyond the 7 nodes"):
        h.children(99)
    with pytest.raises(sp.NotFoundError):
        h.id(7)
    with pytest.raises(sp.NotFoundError, match='"zz" not found'):
        h.find("zz")
    with pytest.raises(sp.InvalidError, match="node: index -1 is outside"):
        h.parent(-1)
    with pytest.raises(sp.NotFoundError, match='"1" not found'):
        h.depth("1")  # a str is an id, as everywhere nodes are taken
    with pytest.raises(TypeError, match="node: expected an int index, not float"):
        h.depth(1.0)
    with pytest.raises(TypeError, match="node: expected an int index, not bool"):
        h.depth(True)


ACTUAL = [0, 0, 50, 0, 0, 500, 300]   # CN East West E-01 W-01 rep-7 rep-9


def test_rollup_and_level_totals(h):
    # by hand (the guide): leaves only: CN 800, East 500, West 300, grids as their reps
    assert h.rollup(ACTUAL) == [800, 500, 300, 500, 300, 500, 300]
    # own: West's house account 50 counts: CN 850, West 350
    assert h.rollup(ACTUAL, own=True) == [850, 500, 350, 500, 300, 500, 300]
    assert h.level_totals(ACTUAL) == [0, 50, 0, 800]
    import array
    assert h.rollup(array.array("q", ACTUAL)) == [800, 500, 300, 500, 300, 500, 300]


def test_rollup_errors(h):
    with pytest.raises(sp.InvalidError, match="values: 6 values where 7 are needed"):
        h.rollup(ACTUAL[:6])
    with pytest.raises(TypeError, match=r"values\[2\]: expected an int, not Decimal"):
        h.rollup([0, 0, Decimal(1), 0, 0, 0, 0])
    big = [0, 0, 0, 0, 0, 2**62, 2**62]
    with pytest.raises(sp.ExactOverflowError, match='the sum at node "CN" overflows'):
        h.rollup(big)
    with pytest.raises(sp.InvalidError, match="form"):
        h.rollup(ACTUAL, form="pandas")
    with pytest.raises(sp.InvalidError, match="not validated"):
        o = sp.Hierarchy()
        o.add("x")
        o.rollup([1])


def test_rollup_numpy(h):
    np = pytest.importorskip("numpy")
    out = h.rollup(np.array(ACTUAL, dtype=np.int64), form="numpy")
    assert out.dtype == np.int64 and out.tolist() == [800, 500, 300, 500, 300, 500, 300]
    # int32 is converted exactly
    assert h.level_totals(np.array(ACTUAL, dtype=np.int32)) == [0, 50, 0, 800]


def _guide_tree(ctx):
    # docs/hierarchy.md's worked example: Co with East (r1, r2) and West (r3)
    h = sp.Hierarchy(ctx=ctx)
    h.add_all(["Co", "East", "West", "r1", "r2", "r3"],
              [None, "Co", "Co", "East", "East", "West"])
    h.validate()
    return h


TD = [1000, 600, 400, 400, 200, 400]
CM = [0, 0, 0, 450, 150, 500]


def test_reconcile_by_hand(ctx):
    h = _guide_tree(ctx)
    r = h.reconcile(TD, CM)
    assert r.bottom_up == [1100, 600, 500, 450, 150, 500]
    assert r.gap == [100, 0, 100, 50, -50, 100]
    assert r.result == TD
    assert h.reconcile(TD, CM, mode="bottom_up").result == [1100, 600, 500, 450, 150, 500]
    # w = 0.3: weight 3 BU + 7 TD, all integral: Co 10300 / 10 = 1030 ...
    r = h.reconcile(TD, CM, mode=sp.ReconcileMode.BLEND, bottom_up_weight=Decimal("0.3"))
    assert r.result == [1030, 600, 430, 415, 185, 430]
    # w = 0.333333333 (worked in the guide): 1033; East 600, West 433; r1 417, r2 183
    r = h.reconcile(TD, CM, mode="blend", bottom_up_weight="0.333333333")
    assert r.result == [1033, 600, 433, 417, 183, 433]
    # r2 gave no commitment: counts with its 200 (BU of East 650, of Co 1150)
    r = h.reconcile(TD, CM, committed=[True, True, True, True, False, True])
    assert r.bottom_up[:2] == [1150, 650]


def test_reconcile_errors(ctx):
    h = _guide_tree(ctx)
    with pytest.raises(sp.InvalidError, match='children of node "East" sum to 590'):
        h.reconcile([1000, 600, 400, 390, 200, 400], CM)
    with pytest.raises(sp.InvalidError, match="bottom-up weight 1.5 is outside"):
        h.reconcile(TD, CM, mode="blend", bottom_up_weight=Decimal("1.5"))
    with pytest.raises(TypeError, match="bottom_up_weight: expected a Decimal"):
        h.reconcile(TD, CM, mode="blend", bottom_up_weight=0.3)
    with pytest.raises(sp.InvalidError, match="bottom_up_weight: .* more decimal places"):
        h.reconcile(TD, CM, mode="blend", bottom_up_weight=Decimal("0.1234567891"))
    with pytest.raises(sp.InvalidError, match="mode: unknown ReconcileMode 'sideways'"):
        h.reconcile(TD, CM, mode="sideways")
    with pytest.raises(TypeError, match=r"committed\[1\]: expected a bool, not str"):
        h.reconcile(TD, CM, committed=[1, "no", 1, 1, 1, 1])
    with pytest.raises(sp.InvalidError, match="commitments: 5 values"):
        h.reconcile(TD, CM[:5])


def test_reconcile_numpy(ctx):
    np = pytest.importorskip("numpy")
    h = _guide_tree(ctx)
    r = h.reconcile(np.array(TD), np.array(CM), committed=np.array([1, 1, 1, 1, 0, 1],
                                                                   dtype=bool), form="numpy")
    assert r.bottom_up.tolist()[:2] == [1150, 650]


def test_numpy_and_pandas_ids(ctx):
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    h = sp.Hierarchy(ctx=ctx)
    # a missing parent in a pandas column (NaN, None, pd.NA) marks the root
    assert h.add_all(np.array(["Co", "A", "B"]), pd.Series([np.nan, "Co", "Co"])) == [0, 1, 2]
    h.add_all(pd.Series(["a1", "b1"]), pd.Series(["A", "B"], dtype="string"))
    h.add_all(pd.Index(["c1"]), np.array(["B"], dtype=object))
    h.validate()
    assert h.children(2) == [4, 5]
    with pytest.raises(TypeError, match="ids: expected strings, found numpy dtype int64"):
        h.add_all(np.array([1, 2]))
    h2 = sp.Hierarchy(ctx=ctx)
    h2.add_all(pd.Series(["R", "x"]), pd.Series([pd.NA, "R"], dtype="string"))
    h2.validate()
    assert h2.root == 0


def test_packed_fast_path_many_ids(ctx):
    # 100000 nodes: a root and ten children each (the shape of the timing done by hand)
    n = 100000
    ids = [f"n{i}" for i in range(n)]
    parents = [None] + [f"n{(i - 1) // 10}" for i in range(1, n)]
    h = sp.Hierarchy(ctx=ctx)
    assert h.add_all(ids, parents)[-1] == n - 1
    h.validate()
    assert h.children(0) == [h.find(f"n{i}") for i in sorted(range(1, 11), key=str)]
    assert h.depth(n - 1) == 5   # n99999 -> 9999 -> 999 -> 99 -> 9 -> 0


def test_closed(ctx):
    h = sp.Hierarchy(ctx=ctx)
    h.add("x")
    h.close()
    h.close()   # idempotent
    with pytest.raises(ValueError, match="the hierarchy is closed"):
        len(h)
    with pytest.raises(ValueError, match="the hierarchy is closed"):
        h.add("y")
    with pytest.raises(ValueError, match="the hierarchy is closed"):
        h.ids()
    with sp.Hierarchy(ctx=ctx) as h2:
        h2.add("z")
    assert h2.closed
    assert "closed" in repr(h2)


def test_context_argument():
    with pytest.raises(TypeError, match="ctx: expected a salesplan.Context"):
        sp.Hierarchy(ctx="nope")
    c = sp.Context()
    h = sp.Hierarchy(ctx=c)
    assert h.context is c
    c.close()
    assert h.closed


# ---- a frozen hierarchy held by a target plan, seen through a borrowed view ----

class _Plan(Handle):
    _free = "sp_target_plan_free"
    _what = "target plan"


def _plan_of(h, ctx):
    opts = _ffi.sp_target_plan_options()
    lib.sp_target_plan_options_init(ctypes.byref(opts), _ffi.SP_TARGET_PLAN_OPTIONS_VERSION)
    opts.fiscal_year = 2026
    opts.currency = b"CNY"
    ptr = ctypes.POINTER(_ffi.sp_target_plan)()
    ctx.call(lib.sp_target_plan_new, ctypes.byref(ptr), ctx, b"P", h, ctypes.byref(opts))
    plan = _Plan()
    plan._init_handle(ptr, ctx)
    info = _ffi.sp_target_plan_info()
    lib.sp_target_plan_info_init(ctypes.byref(info), _ffi.SP_TARGET_PLAN_INFO_VERSION)
    ctx.call(lib.sp_target_plan_get_info, plan, ctypes.byref(info))
    return plan, sp.Hierarchy._borrowed(info.hierarchy, plan)


def test_frozen_view(h, ctx):
    plan, view = _plan_of(h, ctx)
    assert view.borrowed and not h.borrowed
    assert view.state == sp.HierarchyState.FROZEN
    assert h.state == sp.HierarchyState.VALID   # the caller's own is not held
    assert view.ids() == IDS and view.levels == LEVELS
    assert view.rollup(ACTUAL) == [800, 500, 300, 500, 300, 500, 300]
    view.validate()   # succeeds and changes nothing
    with pytest.raises(sp.ConflictError, match="hierarchy: add: the hierarchy is frozen"):
        view.add("x", "CN")
    with pytest.raises(sp.ConflictError, match="frozen"):
        view.add_all(["x"], ["CN"])
    with pytest.raises(sp.ConflictError, match="frozen"):
        view.set_levels(["a", "b", "c", "d"])
    assert len(view) == 7
    # closing the view does not free the plan's hierarchy
    view.close()
    assert not plan.closed


def test_view_keeps_the_plan_alive(h, ctx):
    plan, view = _plan_of(h, ctx)
    h.close()
    del plan, h
    gc.collect()
    # the plan object lives on inside the view: its hierarchy is still readable
    assert view.find("rep-9") == 6 and view.children(0) == [1, 2]
    owner = view._keep[0]
    assert not owner.closed


def test_view_after_the_holder_is_closed(h, ctx):
    plan, view = _plan_of(h, ctx)
    plan.close()
    with pytest.raises(ValueError, match=r"holder \(target plan\) is closed"):
        len(view)
