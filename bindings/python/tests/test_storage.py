"""The storage contract (docs/storage.md) against every store, through the table's callbacks.

One suite, run against MemoryStore, FileStore, a dict-backed PythonStore written here and
SQLiteStore (the Python stores through a StoreView: the path the library takes). What must
hold is what tests/support/spt_storage_contract.c checks for the C stores.
"""
import ctypes
import os
import random
import sqlite3
import struct

import pytest

import salesplan as sp
from salesplan import _ffi, storage
from salesplan._lib import lib


class DictStore(sp.PythonStore):
    """The simplest store: a dict per namespace, a copy of everything as the undo log."""

    def __init__(self, *, ctx=None):
        super().__init__(ctx=ctx)
        self.data = {}
        self.saved = None

    def get(self, ns, key):
        return self.data.get(ns, {}).get(key)

    def put(self, ns, key, value):
        self.data.setdefault(ns, {})[key] = value

    def remove(self, ns, key):
        self.data.get(ns, {}).pop(key, None)

    def scan(self, ns, start=None, stop=None):
        for k in sorted(self.data.get(ns, {})):
            if (start is None or k >= start) and (stop is None or k < stop):
                yield k, self.data[ns][k]

    def begin(self):
        self.saved = {ns: dict(d) for ns, d in self.data.items()}

    def commit(self):
        self.saved = None

    def rollback(self):
        self.data, self.saved = self.saved, None


KINDS = ["memory", "file", "dict", "sqlite"]


def make(kind, tmp_path, ctx, name="s"):
    """(store to test, reopen function or None, what to close)."""
    if kind == "memory":
        s = sp.MemoryStore(ctx=ctx)
        return s, None, [s]
    if kind == "file":
        path = tmp_path / f"{name}.spstore"
        s = sp.FileStore(path, sync=False, ctx=ctx)
        return s, lambda: sp.FileStore(path, sync=False, ctx=ctx), [s]
    if kind == "dict":
        d = DictStore(ctx=ctx)
        return sp.StoreView(d), None, [d]
    if kind == "sqlite":
        path = tmp_path / f"{name}.db"
        q = sp.SQLiteStore(path, ctx=ctx)
        return sp.StoreView(q), lambda: sp.StoreView(sp.SQLiteStore(path, ctx=ctx)), [q]
    raise AssertionError(kind)


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


@pytest.fixture
def store(kind, tmp_path, ctx):
    s, _, owned = make(kind, tmp_path, ctx)
    yield s
    for o in owned:
        o.close()


def snapshot(s, namespaces=("t", "t.x", "u")):
    return {ns: list(s.scan(ns)) for ns in namespaces}


def fill(s, ns, pairs):
    with s.transaction():
        for k, v in pairs:
            s.put(ns, k, v)


# The order of docs/storage.md, "Order", written out by hand.
ORDERED = [b"a", b"a\0", b"a\x01", b"ab", b"b", b"\x7f", b"\x80", b"\xff", b"\xff\x00"]


def test_scan_order_is_bytewise_a_prefix_first(store):
    shuffled = ORDERED[:]
    random.Random(7).shuffle(shuffled)
    fill(store, "t", [(k, b"v" + k) for k in shuffled])
    assert [k for k, _ in store.scan("t")] == ORDERED
    assert [v for _, v in store.scan("t")] == [b"v" + k for k in ORDERED]


def test_get_put_replace_remove(store):
    assert store.get("t", b"k") is None
    fill(store, "t", [(b"k", b"one"), (b"e", b"")])
    assert store.get("t", b"k") == b"one"
    assert store.get("t", b"e") == b""  # an empty value is a record
    fill(store, "t", [(b"k", b"two")])
    assert store.get("t", b"k") == b"two"
    with store.transaction():
        store.remove("t", b"k")
        store.remove("t", b"missing")  # no error
    assert store.get("t", b"k") is None
    assert list(store.scan("t")) == [(b"e", b"")]


def test_namespaces_are_separate_even_when_their_names_prefix_each_other(store):
    fill(store, "t", [(b"k", b"t")])
    fill(store, "t.x", [(b"k", b"t.x"), (b"j", b"j")])
    assert store.get("t", b"k") == b"t"
    assert store.get("t.x", b"k") == b"t.x"
    assert store.get("u", b"k") is None
    assert list(store.scan("t")) == [(b"k", b"t")]
    assert list(store.scan("t.x")) == [(b"j", b"j"), (b"k", b"t.x")]
    assert list(store.scan("u")) == []


def test_scan_ranges(store):
    keys = [b"a", b"ab", b"abc", b"abd", b"b", b"ba", b"c"]
    fill(store, "t", [(k, k.upper()) for k in keys])

    def ks(start=None, stop=None):
        return [k for k, _ in store.scan("t", start, stop)]

    assert ks() == keys
    assert ks(b"ab") == [b"ab", b"abc", b"abd", b"b", b"ba", b"c"]  # start included
    assert ks(None, b"b") == [b"a", b"ab", b"abc", b"abd"]  # stop excluded
    assert ks(b"ab", b"ac") == [b"ab", b"abc", b"abd"]  # the prefix "ab" and its successor
    assert ks(b"aa", b"abd") == [b"ab", b"abc"]  # bounds that are no keys
    assert ks(b"", b"b") == [b"a", b"ab", b"abc", b"abd"]  # an empty start: the first key
    assert ks(None, b"") == []  # an empty stop: an empty range
    assert ks(b"b", b"b") == [] and ks(b"c", b"a") == []
    assert ks(b"d") == []


def test_a_scan_longer_than_one_chunk_keeps_every_record_in_order(store):
    rnd = random.Random(11)
    keys = {bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 6))) for _ in range(900)}
    fill(store, "t", [(k, k * 2) for k in keys])
    got = list(store.scan("t"))
    assert len(keys) > 2 * storage.SCAN_CHUNK
    assert got == [(k, k * 2) for k in sorted(keys)]  # sorted() orders bytes like memcmp


def test_visitor_stops_early_and_may_get(store):
    fill(store, "t", [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")])
    seen = []

    def visit(k, v):
        seen.append((k, v, store.get("t", b"c")))  # get during a scan
        return k == b"b"

    store._visit("t", None, None, visit)
    assert seen == [(b"a", b"1", b"3"), (b"b", b"2", b"3")]


def test_large_and_binary_values(store):
    big = bytes(range(256)) * 8192  # 2 MiB, every byte value
    fill(store, "t", [(b"\x00", big), (b"\xff" * 1024, b"\x00")])
    assert store.get("t", b"\x00") == big
    assert store.get("t", b"\xff" * 1024) == b"\x00"


def test_reads_inside_a_transaction_see_its_writes(store):
    fill(store, "t", [(b"old", b"1"), (b"gone", b"2")])
    with store.transaction():
        store.put("t", b"new", b"3")
        store.put("t", b"old", b"4")
        store.remove("t", b"gone")
        assert store.get("t", b"new") == b"3"
        assert store.get("t", b"old") == b"4"
        assert store.get("t", b"gone") is None
        assert list(store.scan("t")) == [(b"new", b"3"), (b"old", b"4")]


def test_rollback_restores_the_exact_state(store):
    fill(store, "t", [(b"a", b"1"), (b"b", b"2")])
    fill(store, "u", [(b"a", b"u")])
    before = snapshot(store)

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with store.transaction():
            store.put("t", b"a", b"changed")
            store.remove("t", b"b")
            store.put("t", b"c", b"added")
            store.put("t.x", b"c", b"new namespace")
            store.remove("u", b"a")
            raise Boom()
    assert snapshot(store) == before
    # and the store takes the next transaction
    fill(store, "t", [(b"z", b"26")])
    assert store.get("t", b"z") == b"26"


def test_commit_keeps_every_write(store):
    with store.transaction():
        for i in range(50):
            store.put("t", struct.pack(">I", i), str(i).encode())
        store.remove("t", struct.pack(">I", 7))
    want = [(struct.pack(">I", i), str(i).encode()) for i in range(50) if i != 7]
    assert list(store.scan("t")) == want


def test_writes_outside_a_transaction_and_nested_begin_are_refused(store):
    before = snapshot(store)
    with pytest.raises(sp.InvalidError, match="outside a transaction"):
        store.put("t", b"k", b"v")
    with pytest.raises(sp.InvalidError, match="outside a transaction"):
        store.remove("t", b"k")
    with store.transaction():
        with pytest.raises(sp.InvalidError, match="already open"):
            store._tx("begin")
        store.put("t", b"k", b"v")
    assert store.get("t", b"k") == b"v"
    assert before == {"t": [], "t.x": [], "u": []}


def test_bad_arguments_name_themselves_and_change_nothing(store):
    fill(store, "t", [(b"k", b"v")])
    before = snapshot(store)
    with pytest.raises(sp.InvalidError, match="ns: invalid namespace 'Bad'"):
        store.get("Bad", b"k")
    with pytest.raises(sp.InvalidError, match="ns: invalid namespace"):
        store.scan("x" * 33)
    with pytest.raises(TypeError, match="ns: expected str, not bytes"):
        store.get(b"t", b"k")
    with pytest.raises(TypeError, match="key: expected bytes, not str"):
        store.get("t", "k")
    with store.transaction():
        with pytest.raises(sp.InvalidError, match=r"key: 0 bytes \(keys are 1 to 1024"):
            store.put("t", b"", b"v")
        with pytest.raises(sp.InvalidError, match="key: 1025 bytes"):
            store.put("t", b"k" * 1025, b"v")
        with pytest.raises(TypeError, match="value: expected bytes, not int"):
            store.put("t", b"k", 5)
    with pytest.raises(TypeError, match="start: expected bytes, not str"):
        store.scan("t", "a")
    assert snapshot(store) == before


def test_closed_store_raises_value_error(kind, tmp_path, ctx):
    s, _, owned = make(kind, tmp_path, ctx)
    for o in owned:
        o.close()
    s.close()
    with pytest.raises(ValueError, match="closed"):
        s.get("t", b"k")


@pytest.mark.parametrize("pkind", ["file", "sqlite"])
def test_reopen_keeps_committed_data_only(pkind, tmp_path, ctx):
    s, reopen, owned = make(pkind, tmp_path, ctx)
    fill(s, "t", [(k, k) for k in ORDERED])
    with pytest.raises(KeyError):
        with s.transaction():
            s.put("t", b"uncommitted", b"x")
            raise KeyError("x")
    for o in owned:
        o.close()
    again = reopen()
    try:
        assert list(again.scan("t")) == [(k, k) for k in ORDERED]
    finally:
        again.close()
        for o in again._keep:
            if isinstance(o, sp.Store):
                o.close()


# ---- FileStore ----

def test_filestore_readonly_refuses_writes_naming_the_path(tmp_path, ctx):
    path = tmp_path / "ro.spstore"
    with sp.FileStore(path, sync=False, ctx=ctx) as w:
        fill(w, "t", [(b"k", b"v")])
    with sp.FileStore(path, readonly=True, ctx=ctx) as r:
        assert r.get("t", b"k") == b"v"
        with pytest.raises(sp.InvalidError, match="read-only") as e:
            with r.transaction():
                pass
        assert str(path) in str(e.value)
        assert r.get("t", b"k") == b"v"
        # two read-only stores share the file
        with sp.FileStore(str(path), readonly=True, ctx=ctx) as r2:
            assert list(r2.scan("t")) == [(b"k", b"v")]


def test_filestore_missing_without_create(tmp_path, ctx):
    path = tmp_path / "none.spstore"
    with pytest.raises(sp.NotFoundError, match="no such file") as e:
        sp.FileStore(path, create=False, ctx=ctx)
    assert str(path) in str(e.value)
    assert not path.exists()


def test_filestore_corrupt_file_names_the_path(tmp_path, ctx):
    path = tmp_path / "bad.spstore"
    path.write_bytes(b"this is not a store file at all, not a header" * 2)
    with pytest.raises(sp.CorruptError, match="not a salesplan store file") as e:
        sp.FileStore(path, ctx=ctx)
    assert str(path) in str(e.value)
    # a crafted header: the right magic and version, a checksum that does not hold
    head = b"\x89SPSTOR\n" + struct.pack("<IIQII", 1, 0, 1, 0, 0xDEADBEEF)
    path.write_bytes(head)
    with pytest.raises(sp.CorruptError, match="checksum mismatch") as e:
        sp.FileStore(path, ctx=ctx)
    assert str(path) in str(e.value)
    # another format version
    path.write_bytes(b"\x89SPSTOR\n" + struct.pack("<IIQII", 2, 0, 1, 0, 0))
    with pytest.raises(sp.VersionError, match="version 2 is not supported"):
        sp.FileStore(path, ctx=ctx)
    assert path.read_bytes()[:12] == b"\x89SPSTOR\n" + struct.pack("<I", 2)  # untouched


def test_filestore_a_second_writer_conflicts(tmp_path, ctx):
    path = tmp_path / "busy.spstore"
    with sp.FileStore(path, sync=False, ctx=ctx):
        with pytest.raises(sp.ConflictError, match="in use by another store"):
            sp.FileStore(path, ctx=ctx)


def test_filestore_arguments(tmp_path, ctx):
    with pytest.raises(TypeError, match="path: expected str or os.PathLike, not int"):
        sp.FileStore(3, ctx=ctx)
    with pytest.raises(TypeError, match="readonly: expected a bool, not int"):
        sp.FileStore(tmp_path / "x", readonly=1, ctx=ctx)
    with pytest.raises(sp.InvalidError, match="path is empty"):
        sp.FileStore("", ctx=ctx)
    assert not (tmp_path / "x").exists()
    with sp.FileStore(os.fspath(tmp_path / "s"), sync=False, ctx=ctx) as s:
        assert "s" in repr(s) and s.path == os.fspath(tmp_path / "s")


# ---- PythonStore and SQLiteStore themselves ----

def test_pythonstore_direct_methods_are_the_subclass_own(ctx):
    d = DictStore(ctx=ctx)
    d.put("t", b"k", b"v")  # the subclass's own put: no table in between
    assert d.get("t", b"k") == b"v"
    assert list(d.scan("t")) == [(b"k", b"v")]
    with d.transaction():  # through the table: begin and commit of the subclass
        assert d.in_transaction
        d.put("t", b"k2", b"v2")
    assert not d.in_transaction and d.data["t"] == {b"k": b"v", b"k2": b"v2"}
    d.close()


def test_pythonstore_without_overrides_says_what_is_missing(ctx):
    class Empty(sp.PythonStore):
        pass

    e = Empty(ctx=ctx)
    with pytest.raises(NotImplementedError, match="Empty.get is not written"):
        sp.StoreView(e).get("t", b"k")
    with pytest.raises(NotImplementedError, match="Empty.begin is not written"):
        with e.transaction():
            pass
    assert not e.in_transaction

    class NoInit(sp.PythonStore):
        def __init__(self):
            pass

    with pytest.raises(sp.InvalidError, match=r"call super\(\).__init__\(\)"):
        sp.StoreView(NoInit())


def test_pythonstore_scan_out_of_order_or_range_is_refused(ctx):
    class Unsorted(DictStore):
        def scan(self, ns, start=None, stop=None):
            return [(b"b", b""), (b"a", b"")]

    class Outside(DictStore):
        def scan(self, ns, start=None, stop=None):
            return [(b"z", b"")]

    class NotPairs(DictStore):
        def scan(self, ns, start=None, stop=None):
            return [5]

    with pytest.raises(sp.InvalidError, match=r"key b'a' after b'b'"):
        list(sp.StoreView(Unsorted(ctx=ctx)).scan("t"))
    with pytest.raises(sp.InvalidError, match="outside the range"):
        list(sp.StoreView(Outside(ctx=ctx)).scan("t", None, b"m"))
    with pytest.raises(TypeError, match="item 0 of NotPairs.scan is not a"):
        list(sp.StoreView(NotPairs(ctx=ctx)).scan("t"))


def test_pythonstore_get_must_return_bytes(ctx):
    class Texts(DictStore):
        def get(self, ns, key):
            return "text"

    with pytest.raises(TypeError, match="expected bytes or None from Texts.get, not str"):
        sp.StoreView(Texts(ctx=ctx)).get("t", b"k")


def test_pythonstore_get_value_stays_valid_until_the_next_call(ctx):
    # The pointer get hands to C points into a buffer the store keeps: read it after the
    # Python value is gone.
    class Fresh(DictStore):
        def get(self, ns, key):
            return bytearray(b"fresh value " + key)  # a new object, dropped at once

    f = Fresh(ctx=ctx)
    t = f._as_parameter_.contents
    value, length = ctypes.POINTER(ctypes.c_uint8)(), ctypes.c_size_t()
    key = (ctypes.c_uint8 * 3).from_buffer_copy(b"abc")
    assert t.get(t.user, b"t", key, 3, ctypes.byref(value), ctypes.byref(length)) == 0
    import gc
    gc.collect()
    assert ctypes.string_at(value, length.value) == b"fresh value abc"


def test_salesplan_errors_from_a_pythonstore_reach_c_as_their_status(ctx):
    class Locked(DictStore):
        def begin(self):
            raise sp.ConflictError("locked by another writer")

    store = Locked(ctx=ctx)
    t = store._as_parameter_.contents
    assert t.begin(t.user) == -5  # SP_ECONFLICT: the library passes it on
    with pytest.raises(sp.ConflictError, match="locked by another writer"):
        storage.raise_pending()
    assert t.errmsg(t.user) is not None
    assert ctypes.string_at(t.errmsg(t.user)) == b"ConflictError: locked by another writer"


def test_sqlitestore_on_a_connection_of_the_host(tmp_path, ctx):
    conn = sqlite3.connect(tmp_path / "host.db")  # sqlite3's default (legacy) mode
    conn.execute("CREATE TABLE mine (x)")
    conn.commit()
    q = sp.SQLiteStore(conn, ctx=ctx)
    v = sp.StoreView(q)
    fill(v, "t", [(b"k", b"v")])
    q.close()  # the host's connection stays open
    assert conn.execute("SELECT ns, key, value FROM sp_records").fetchall() == \
        [("t", b"k", b"v")]
    conn.close()
    with pytest.raises(TypeError, match="path_or_connection: expected a path or an "
                                        "sqlite3.Connection, not int"):
        sp.SQLiteStore(3, ctx=ctx)


def test_sqlitestore_keys_are_blobs_compared_like_memcmp(tmp_path, ctx):
    with sp.SQLiteStore(":memory:", ctx=ctx) as q:
        fill(q, "t", [(k, b"") for k in reversed(ORDERED)])
        assert [k for k, _ in q.scan("t")] == ORDERED
        assert q.connection.execute(
            "SELECT count(*) FROM sp_records WHERE typeof(key) = 'blob'").fetchone() == (9,)


def test_names_list_of_null_is_empty():
    assert storage.names_list(ctypes.POINTER(_ffi.sp_names)()) == []
    assert lib.sp_names_count(None) == 0
