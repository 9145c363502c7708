"""salesplan.Dictionary: ids <-> dense indexes."""
import pytest

import salesplan as sp


def test_add_intern_find(ctx):
    d = sp.Dictionary(ctx=ctx)
    assert len(d) == 0 and d.ids() == []
    assert d.add("rep-7") == 0
    assert d.intern("rep-9") == 1 and d.intern("rep-7") == 0
    assert d.find("rep-9") == 1 and d.id(0) == "rep-7"
    assert "rep-7" in d and "rep-8" not in d and 7 not in d
    assert list(d) == ["rep-7", "rep-9"] and len(d) == 2


def test_batches(ctx):
    d = sp.Dictionary(["a", "网格"], ctx=ctx)
    assert d.ids() == ["a", "网格"]
    assert d.add_all(["b", "c"]) == [2, 3]
    # a repeat within the batch gets its first occurrence's index; known ids theirs
    assert d.intern_all(["c", "d", "d", "a"]) == [3, 4, 4, 0]
    assert d.find_all(["d", "zz", "网格", "yy"]) == ([4, None, 1, None], 2)
    assert d.find_all([]) == ([], 0)
    assert d.add_all([]) == []


def test_errors_change_nothing(ctx):
    d = sp.Dictionary(["a", "b"], ctx=ctx)
    with pytest.raises(sp.ConflictError):
        d.add("a")
    with pytest.raises(sp.InvalidError, match="empty"):
        d.add("")
    with pytest.raises(TypeError, match="id: expected str, not int"):
        d.intern(3)
    with pytest.raises(sp.ConflictError):
        d.add_all(["c", "a"])
    with pytest.raises(sp.ConflictError):
        d.add_all(["c", "c"])
    with pytest.raises(sp.InvalidError, match=r"ids\[1\]"):
        d.intern_all(["c", ""])
    with pytest.raises(TypeError, match=r"ids\[2\]: expected str, not NoneType"):
        d.intern_all(["c", "d", None])
    with pytest.raises(sp.InvalidError, match=r"ids\[0\]: .* not valid Unicode"):
        d.add_all(["\udcff"])
    with pytest.raises(sp.NotFoundError):
        d.find("c")
    with pytest.raises(sp.NotFoundError):
        d.id(2)
    with pytest.raises(sp.InvalidError, match="index: index -1"):
        d.id(-1)
    with pytest.raises(sp.ConflictError):
        sp.Dictionary(["x", "x"], ctx=ctx)
    assert d.ids() == ["a", "b"]


def test_numpy_pandas(ctx):
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    d = sp.Dictionary(ctx=ctx)
    idx = d.intern_all(pd.Series(["x", "y", "x"]), form="numpy")
    assert idx.dtype == np.uint32 and idx.tolist() == [0, 1, 0]
    found, missing = d.find_all(np.array(["y", "q"]), form="numpy")
    assert found.tolist() == [1, 2**32 - 1] and missing == 1


def test_closed(ctx):
    d = sp.Dictionary(ctx=ctx)
    d.close()
    with pytest.raises(ValueError, match="the dictionary is closed"):
        d.add("a")
    with pytest.raises(ValueError, match="the dictionary is closed"):
        len(d)


def test_ids_read_in_one_call_keep_their_order_and_text(ctx):
    # sp_dict_ids_packed gives the bytes of all ids at once; ASCII and non-ASCII ids are
    # cut at their byte offsets ("网格" is 6 bytes, 2 characters)
    d = sp.Dictionary(ctx=ctx)
    d.add_all(["b", "网格", "a"])
    assert d.ids() == ["b", "网格", "a"]
    ascii_only = sp.Dictionary(ctx=ctx)
    ascii_only.add_all(["x1", "y", "z22"])
    assert ascii_only.ids() == ["x1", "y", "z22"]
    assert sp.Dictionary(ctx=ctx).ids() == []
