"""Stores: where the library keeps its records (salesplan/storage.h, docs/storage.md).

The library persists nothing on its own: every plan, target set or statement is saved
through a store, an sp_storage callback table. This module gives

- Store: what every store has in common; its get, put, remove, scan and transaction()
  call the table's callbacks, so they work the same on every store, C or Python;
- MemoryStore and FileStore: the two stores built into the library;
- PythonStore: the base class for a store written in Python (subclass it and override
  get, put, remove, scan, begin, commit, rollback);
- SQLiteStore: a ready PythonStore over the standard sqlite3 module;
- StoreView: any store seen through its C table only (to test a PythonStore as the
  library sees it);
- names_list: a C list of names (sp_names) as a Python list.

Records live in namespaces (str of 1 to 32 characters of [a-z0-9_.]); keys are bytes of
1 to 1024 bytes, ordered bytewise like memcmp (a prefix before its extensions); values are
bytes of 0 to 10^9 bytes.
"""
import contextlib
import ctypes
import os
import re
import sqlite3
import weakref

from . import _ffi
from ._core import (CALLBACK_RAISED, Context, Handle, callback, raise_pending,
                    recorded_callback, user_table_common)
from ._lib import lib
from .errors import CallbackError, InvalidError, SalesplanError, error_class

__all__ = ["Store", "MemoryStore", "FileStore", "PythonStore", "SQLiteStore", "StoreView",
           "names_list", "SCAN_CHUNK"]

_OK = 0
_NOTFOUND = _ffi.ENUMS["sp_status"]["SP_ENOTFOUND"]
_EUSER = _ffi.ENUMS["sp_status"]["SP_EUSER"]
_SCAN_STOP = _ffi.SP_SCAN_STOP
_KEY_MAX = 1024
_VALUE_MAX = 10**9
_NS_RE = re.compile(r"[a-z0-9_.]{1,32}\Z")
_F = dict(_ffi.sp_storage._fields_)
_u8p = ctypes.POINTER(ctypes.c_uint8)

# Records a Python-level scan reads from the table per C scan call (see Store.scan).
SCAN_CHUNK = 256


def names_list(ptr):
    """The names of an sp_names* as a list of str, then free the C list.

    For the modules whose C functions return sp_names (target_plans, target_scenarios):
    pass the pointer they filled (NULL gives []). The list is freed even when reading it
    fails."""
    if not ptr:
        return []
    try:
        n = lib.sp_names_count(ptr)
        return [lib.sp_names_at(ptr, k).decode("utf-8") for k in range(n)]
    finally:
        lib.sp_names_free(ptr)


def _ns_in(ns):
    if not isinstance(ns, str):
        raise TypeError(f"ns: expected str, not {type(ns).__name__}")
    if not _NS_RE.match(ns):
        raise InvalidError(f"ns: invalid namespace {ns!r} (1 to 32 characters of [a-z0-9_.])")
    return ns.encode("ascii")


def _bytes_in(value, what, lo, hi):
    if isinstance(value, str) or not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what}: expected bytes, not {type(value).__name__}")
    b = bytes(value)
    if not lo <= len(b) <= hi:
        raise InvalidError(f"{what}: {len(b)} bytes ({what.split('[')[0]}s are {lo} to {hi} "
                           f"bytes)")
    return b


def _buf(b):
    """A ctypes array holding a copy of b (never NULL, even for b"")."""
    return (ctypes.c_uint8 * max(len(b), 1)).from_buffer_copy(b.ljust(1, b"\0"))


def _status_of(e):
    """What a Python store's callback returns to C for the exception e."""
    code = getattr(e, "code", None) if isinstance(e, SalesplanError) else None
    if isinstance(code, int) and -12 <= code < 0 and code not in (_NOTFOUND, _EUSER):
        return code  # a salesplan status: the library acts on it (ECONFLICT: retry)
    return CALLBACK_RAISED


class Store(Handle):
    """A store: a table of callbacks the library keeps its records through.

    Every store (MemoryStore, FileStore, PythonStore, ...) can be passed wherever the
    library saves or loads. Its methods get, put, remove, scan and transaction() call the
    table's callbacks (through ctypes), exactly as the library does; writes happen inside
    transaction() only, as the library's do.

    Errors: InvalidError (a bad namespace, key or value, a write outside a transaction),
    StorageError (I/O), CorruptError, ConflictError, ... with the store's own message
    (a FileStore's names its path); a status the library does not know is CallbackError
    with `user_code`. An exception a Python store raised comes out as itself.
    """

    _free = "sp_storage_free"
    _what = "store"

    @property
    def _table(self):
        """The sp_storage* of the store (for the modules that pass it to C)."""
        return self._as_parameter_

    def _t(self):
        return self._as_parameter_.contents

    def _fail(self, t, rc, what):
        if rc == _OK:
            return
        msg = None
        if t.errmsg:
            raw = t.errmsg(t.user)
            raise_pending()
            msg = ctypes.string_at(raw).decode("utf-8", "replace") if raw else None
        if -12 <= rc < 0:
            if not msg:
                msg = lib.sp_strerror(rc).decode()
            raise error_class(rc)(f"{what}: {msg}", rc)
        text = msg or f"host error {rc}"
        raise CallbackError(f"{what}: host error {rc}: {text}", _EUSER, rc, msg or "")

    def get(self, ns: str, key: bytes) -> "bytes | None":
        """The value of `key` in namespace `ns`, or None when there is none."""
        nsb = _ns_in(ns)
        k = _bytes_in(key, "key", 1, _KEY_MAX)
        kb = _buf(k)
        value, length = _u8p(), ctypes.c_size_t()
        with self._ctx._lock:
            t = self._t()
            rc = t.get(t.user, nsb, kb, len(k), ctypes.byref(value), ctypes.byref(length))
            raise_pending()
            if rc == _NOTFOUND:
                return None
            self._fail(t, rc, f"get {ns!r} {k!r}")
            return ctypes.string_at(value, length.value) if length.value else b""

    def put(self, ns: str, key: bytes, value: bytes) -> None:
        """Insert or replace the record `key` of `ns` (inside transaction() only)."""
        nsb = _ns_in(ns)
        k = _bytes_in(key, "key", 1, _KEY_MAX)
        v = _bytes_in(value, "value", 0, _VALUE_MAX)
        kb, vb = _buf(k), _buf(v)
        with self._ctx._lock:
            t = self._t()
            rc = t.put(t.user, nsb, kb, len(k), vb, len(v))
            raise_pending()
            self._fail(t, rc, f"put {ns!r} {k!r}")

    def remove(self, ns: str, key: bytes) -> None:
        """Delete the record `key` of `ns` (a missing one is no error; inside transaction()
        only)."""
        nsb = _ns_in(ns)
        k = _bytes_in(key, "key", 1, _KEY_MAX)
        kb = _buf(k)
        with self._ctx._lock:
            t = self._t()
            rc = t.remove(t.user, nsb, kb, len(k))
            raise_pending()
            self._fail(t, rc, f"remove {ns!r} {k!r}")

    def _visit(self, ns, start, stop, visit):
        """Call visit(key, value) for the records of ns with start <= key < stop, in key
        order, in one C scan; visit returns True to stop."""
        nsb = _ns_in(ns)
        lo = None if start is None else _bytes_in(start, "start", 0, _KEY_MAX)
        hi = None if stop is None else _bytes_in(stop, "stop", 0, _KEY_MAX)

        def on_record(_arg, key, key_len, value, value_len):
            k = ctypes.string_at(key, key_len)
            v = ctypes.string_at(value, value_len) if value_len else b""
            return _SCAN_STOP if visit(k, v) else 0

        fn = _ffi.sp_storage_visit_fn(callback(on_record))
        lob = _buf(lo) if lo else None
        hib = _buf(hi) if hi is not None else None
        with self._ctx._lock:
            t = self._t()
            rc = t.scan(t.user, nsb, lob, len(lo or b""), hib, len(hi or b""), fn, None)
            raise_pending()
            self._fail(t, rc, f"scan {ns!r}")

    def scan(self, ns: str, start: "bytes | None" = None,
             stop: "bytes | None" = None) -> "Iterator[tuple[bytes, bytes]]":
        """An iterator of (key, value) over the records of `ns` with start <= key < stop,
        in ascending key order (bytewise); start None: from the first key, stop None: to
        the last.

        The records are read SCAN_CHUNK at a time, each chunk by one scan of the table
        (the next one starts after the last key read): memory stays bounded, and a write
        between two chunks is seen by the later ones."""
        _ns_in(ns)
        if start is not None:
            start = _bytes_in(start, "start", 0, _KEY_MAX)
        if stop is not None:
            stop = _bytes_in(stop, "stop", 0, _KEY_MAX)
        return self._chunks(ns, start, stop)

    def _chunks(self, ns, start, stop):
        lo = start
        while True:
            items = []

            def take(k, v, items=items):
                items.append((k, v))
                return len(items) >= SCAN_CHUNK

            self._visit(ns, lo, stop, take)
            yield from items
            if len(items) < SCAN_CHUNK:
                return
            lo = items[-1][0] + b"\0"  # the next key after the last one read
            if len(lo) > _KEY_MAX:  # only extensions of a 1024-byte key follow: none
                return

    def _tx(self, name):
        with self._ctx._lock:
            t = self._t()
            rc = getattr(t, name)(t.user)
            raise_pending()
            self._fail(t, rc, name)

    @contextlib.contextmanager
    def transaction(self) -> "ContextManager[None]":
        """A with block run as one transaction: begin, then commit when the block ends, or
        rollback when it raises (the block's exception goes on) or when commit fails.

            with store.transaction():
                store.put("app.data", b"k", b"v")
        """
        self._tx("begin")
        try:
            yield self
        except BaseException as e:
            try:
                self._tx("rollback")
            except Exception as r:  # the first error wins; the rollback's is noted
                e.add_note(f"rollback failed too: {type(r).__name__}: {r}")
            raise
        try:
            self._tx("commit")
        except BaseException as e:
            try:
                self._tx("rollback")
            except Exception as r:
                e.add_note(f"rollback failed too: {type(r).__name__}: {r}")
            raise

    def __repr__(self):
        state = " closed" if self.closed else ""
        return f"<salesplan.{type(self).__name__}{state}>"


class MemoryStore(Store):
    """An in-memory store (sp_storage_memory_new): ordered, transactional, gone when
    closed. For tests, caches and scratch work.

        with sp.MemoryStore() as store:
            with store.transaction():
                store.put("app.data", b"k", b"v")
            assert store.get("app.data", b"k") == b"v"

    Raises NoMemoryError when memory runs out."""

    def __init__(self, *, ctx: "Context | None" = None):
        ctx = Context.of(ctx)
        ptr = ctypes.POINTER(_ffi.sp_storage)()
        ctx.call(lib.sp_storage_memory_new, ctypes.byref(ptr), ctx)
        self._init_handle(ptr, ctx)


class FileStore(Store):
    """A store in one file (sp_storage_file_new): an append-only log of commits, fsynced
    at each commit, which opens after a crash with the state before or after the last
    commit (docs/storage.md, "File"). The records are held in memory while it is open.

    path: str or os.PathLike. create: make the file when it does not exist (else a
    missing file is NotFoundError). readonly: open for reading (every write raises
    InvalidError; several read-only stores may share a file). sync: fsync each commit
    (False: faster, not crash-safe — tests and throw-away data).

    Errors name the path: NotFoundError (missing file), CorruptError (damaged contents,
    naming the offset), VersionError (another format version), ConflictError (the file is
    open elsewhere), StorageError (I/O).

        with sp.FileStore("plans.spstore") as store:
            ...
    """

    def __init__(self, path: "str | os.PathLike", *, create: bool = True,
                 readonly: bool = False, sync: bool = True, ctx: "Context | None" = None):
        ctx = Context.of(ctx)
        if isinstance(path, (bytes, bytearray)) or not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path: expected str or os.PathLike, not {type(path).__name__}")
        path = os.fspath(path)
        if not isinstance(path, str):
            raise TypeError(f"path: expected a path of str, not {type(path).__name__}")
        if "\0" in path:
            raise InvalidError(f"path: {path!r} contains a NUL character")
        for name, flag in (("create", create), ("readonly", readonly), ("sync", sync)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name}: expected a bool, not {type(flag).__name__}")
        opts = _ffi.sp_file_store_options()
        lib.sp_file_store_options_init(ctypes.byref(opts), _ffi.SP_FILE_STORE_OPTIONS_VERSION)
        opts.flags = ((1 if create else 0) | (2 if readonly else 0) | (0 if sync else 4))
        ptr = ctypes.POINTER(_ffi.sp_storage)()
        ctx.call(lib.sp_storage_file_new, ctypes.byref(ptr), ctx, os.fsencode(path),
                 ctypes.byref(opts))
        self._init_handle(ptr, ctx)
        self.path = path
        self.readonly = readonly

    def __repr__(self):
        state = " closed" if self.closed else ""
        return f"<salesplan.FileStore {self.path!r}{' readonly' if self.readonly else ''}{state}>"


class StoreView(Store):
    """Any store seen through its C table alone: get, put, remove, scan and transaction()
    go through the table's callbacks, as the library's calls do.

    Made from a Store (kept alive by the view) or a raw sp_storage pointer (with `owner`,
    an object to keep alive). Closing the view frees nothing. Useful to check a
    PythonStore subclass against the contract as C sees it (the view enforces what the
    table does: writes inside a transaction, scan order)."""

    def __init__(self, store: "Store", *, owner: "object" = None, ctx: "Context | None" = None):
        if isinstance(store, Store):
            ptr = ctypes.cast(store._as_parameter_, ctypes.POINTER(_ffi.sp_storage))
            ctx = store._ctx if ctx is None else Context.of(ctx)
            keep = (store, owner)
        elif isinstance(store, ctypes.POINTER(_ffi.sp_storage)):
            if not store:
                raise InvalidError("store: a NULL sp_storage pointer")
            ptr, ctx, keep = store, Context.of(ctx), (owner,)
        else:
            raise TypeError(f"store: expected a Store or an sp_storage pointer, not "
                            f"{type(store).__name__}")
        # a view: close() forgets the table, the store itself stays open
        self._init_handle(ptr, ctx, keep, owns=False)


class PythonStore(Store):
    """The base class of a store written in Python: subclass it and override get, put,
    remove, scan, begin, commit and rollback (and optionally errmsg and destroy). The
    class builds the C table whose callbacks call those methods, so an instance can be
    passed wherever the library takes a store. Call super().__init__() (with ctx= when
    the store belongs to a context of your own) from your __init__.

    The contract (docs/storage.md, "The contract"), in Python terms:

    - get(ns, key) -> bytes | None: the value, or None when there is no record. ns is a
      str ("target.plan"), key bytes (1 to 1024 bytes). Any bytes-like value is taken
      (copied; C may read it until the next call on the store).
    - put(ns, key, value): insert or replace; remove(ns, key): delete, a missing key is
      no error. Both are called inside a transaction only.
    - scan(ns, start, stop) -> iterable of (key, value): the records of ns with
      start <= key < stop, in ascending order of the key's bytes (bytewise, unsigned, a
      prefix first: b"a" < b"a\\0" < b"ab" < b"b" < b"\\x80" — what sorted() does to bytes
      and SQLite to BLOBs); start None: from the first key, stop None: no upper end. A
      generator is fine: it is closed when the library stops early. While the library
      consumes it, it may call get (never a write). A key out of order or out of range
      raises InvalidError.
    - begin(), commit(), rollback(): the one transaction. Reads inside it see its
      writes; rollback restores the state from before begin; a commit that raises must
      not have taken effect (the library then calls rollback). Never nested: the class
      refuses a second begin, and writes outside a transaction, with InvalidError.
    - errmsg() -> str | None: the text for the last error (default: the last exception a
      method raised). destroy(): called once when the store is closed.

    Errors: raise any exception; it stops the library's operation (rolled back) and comes
    out of the library call unchanged, with its traceback. A SalesplanError (ConflictError
    for a lock conflict, StorageError for I/O) also tells the library its status. An
    exception raised after another one in the same call is noted on the first.

    A store is used by one thread at a time (its context's).
    """

    def __init__(self, *, ctx: "Context | None" = None):
        ctx = Context.of(ctx)
        me = weakref.ref(self)
        state = {"tx": False, "get": None, "err": None, "msg": None}

        def recorded(fn):
            return recorded_callback(fn, state, failed=_status_of)

        def store():
            s = me()
            if s is None:
                raise InvalidError("store: the PythonStore is gone")
            return s

        def c_get(_user, ns, key, key_len, value, value_len):
            v = store().get(ns.decode(), ctypes.string_at(key, key_len))
            if v is None:
                return _NOTFOUND
            if isinstance(v, str) or not isinstance(v, (bytes, bytearray, memoryview)):
                raise TypeError(f"get: expected bytes or None from {type(store()).__name__}"
                                f".get, not {type(v).__name__}")
            v = bytes(v)
            buf = state["get"] = _buf(v)  # valid until the next call on the table
            value[0] = ctypes.cast(buf, _u8p)
            value_len[0] = len(v)
            return _OK

        def c_put(_user, ns, key, key_len, value, value_len):
            if not state["tx"]:
                raise InvalidError(f"put {ns.decode()!r}: outside a transaction")
            store().put(ns.decode(), ctypes.string_at(key, key_len),
                        ctypes.string_at(value, value_len) if value_len else b"")
            return _OK

        def c_remove(_user, ns, key, key_len):
            if not state["tx"]:
                raise InvalidError(f"remove {ns.decode()!r}: outside a transaction")
            store().remove(ns.decode(), ctypes.string_at(key, key_len))
            return _OK

        def c_scan(_user, ns, frm, frm_len, to, to_len, visit, arg):
            name = ns.decode()
            lo = ctypes.string_at(frm, frm_len) if frm and frm_len else None
            hi = ctypes.string_at(to, to_len) if to else None
            if hi is not None and (not hi or (lo is not None and lo >= hi)):
                return _OK  # an empty range
            s = store()
            items = iter(s.scan(name, lo, hi))
            try:
                prev = None
                for i, item in enumerate(items):
                    try:
                        k, v = item
                    except (TypeError, ValueError):
                        raise TypeError(f"scan {name!r}: item {i} of {type(s).__name__}.scan "
                                        f"is not a (key, value) pair") from None
                    k = _bytes_in(k, f"scan {name!r}: key[{i}]", 1, _KEY_MAX)
                    v = _bytes_in(v, f"scan {name!r}: value[{i}]", 0, _VALUE_MAX)
                    if prev is not None and k <= prev:
                        raise InvalidError(f"scan {name!r}: key {k!r} after {prev!r}: keys "
                                           f"must come in ascending byte order")
                    if (lo is not None and k < lo) or (hi is not None and k >= hi):
                        raise InvalidError(f"scan {name!r}: key {k!r} is outside the range "
                                           f"[{lo!r}, {hi!r})")
                    prev = k
                    kb, vb = _buf(k), _buf(v)
                    rc = visit(arg, kb, len(k), vb, len(v))
                    if rc == _SCAN_STOP:
                        return _OK
                    if rc != _OK:
                        return rc  # the visitor's status, unchanged
                return _OK
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()

        def c_begin(_user):
            if state["tx"]:
                raise InvalidError("begin: a transaction is already open")
            store().begin()
            state["tx"] = True
            return _OK

        def c_commit(_user):
            if not state["tx"]:
                raise InvalidError("commit: no transaction is open")
            store().commit()
            state["tx"] = False
            return _OK

        def c_rollback(_user):
            if not state["tx"]:
                raise InvalidError("rollback: no transaction is open")
            state["tx"] = False
            store().rollback()
            return _OK

        c_errmsg, c_destroy, last_error = user_table_common(store, me, state)

        fns = {
            "get": _F["get"](recorded(c_get)),
            "put": _F["put"](recorded(c_put)),
            "remove": _F["remove"](recorded(c_remove)),
            "scan": _F["scan"](recorded(c_scan)),
            "begin": _F["begin"](recorded(c_begin)),
            "commit": _F["commit"](recorded(c_commit)),
            "rollback": _F["rollback"](recorded(c_rollback)),
            "errmsg": _F["errmsg"](callback(c_errmsg, failed=None)),
            "destroy": _F["destroy"](callback(c_destroy, failed=None)),
        }
        table = _ffi.sp_storage()
        lib.sp_storage_init(ctypes.byref(table), _ffi.SP_STORAGE_VERSION)
        for name, fn in fns.items():
            setattr(table, name, fn)
        self._last_error = last_error
        self._state = state
        self._init_handle(ctypes.pointer(table), ctx, (table, fns))

    @property
    def _as_parameter_(self):
        if "_ctx" not in self.__dict__:
            raise InvalidError(f"{type(self).__name__}: PythonStore.__init__ was not called "
                               f"(call super().__init__() from your __init__)")
        return Store._as_parameter_.fget(self)

    @property
    def in_transaction(self) -> bool:
        """True between a begin and its commit or rollback made through the table."""
        return self._state["tx"] if "_state" in self.__dict__ else False

    # What a subclass overrides ---------------------------------------------------------

    def get(self, ns: str, key: bytes) -> "bytes | None":
        """Override: the value of key in ns, or None."""
        raise NotImplementedError(f"{type(self).__name__}.get is not written")

    def put(self, ns: str, key: bytes, value: bytes) -> None:
        """Override: insert or replace (inside a transaction)."""
        raise NotImplementedError(f"{type(self).__name__}.put is not written")

    def remove(self, ns: str, key: bytes) -> None:
        """Override: delete; a missing key is no error (inside a transaction)."""
        raise NotImplementedError(f"{type(self).__name__}.remove is not written")

    def scan(self, ns: str, start: "bytes | None" = None,
             stop: "bytes | None" = None) -> "Iterable[tuple[bytes, bytes]]":
        """Override: the (key, value) pairs of ns with start <= key < stop, in ascending
        byte order of the keys."""
        raise NotImplementedError(f"{type(self).__name__}.scan is not written")

    def begin(self) -> None:
        """Override: open the transaction."""
        raise NotImplementedError(f"{type(self).__name__}.begin is not written")

    def commit(self) -> None:
        """Override: make the transaction's writes permanent (all or none)."""
        raise NotImplementedError(f"{type(self).__name__}.commit is not written")

    def rollback(self) -> None:
        """Override: discard the transaction's writes."""
        raise NotImplementedError(f"{type(self).__name__}.rollback is not written")

    def errmsg(self) -> "str | None":
        """May override: the text of the last error (default: the last exception one of
        the methods above raised, as "Class: message")."""
        return self._last_error()

    def destroy(self) -> None:
        """May override: release what the store holds; called once, by close()."""


class SQLiteStore(PythonStore):
    """A store in an SQLite database, through the standard sqlite3 module.

    path_or_connection: a file name (str or os.PathLike; ":memory:" for a database in
    memory), or an open sqlite3.Connection (used as it is and not closed by close();
    it must not be inside a transaction of its own when the library writes). The
    records go to one table, sp_records (ns TEXT, key BLOB, value BLOB, primary key
    (ns, key)), made when missing; SQLite compares BLOBs like memcmp, the library's order.
    Transactions are BEGIN IMMEDIATE (the write lock is taken at once), COMMIT, ROLLBACK.
    sqlite3 errors come out as themselves (sqlite3.OperationalError, ...).

        with sp.SQLiteStore("plans.db") as store:
            ...
    """

    def __init__(self, path_or_connection: "str | os.PathLike | sqlite3.Connection", *,
                 ctx: "Context | None" = None):
        if isinstance(path_or_connection, sqlite3.Connection):
            conn, self._own = path_or_connection, False
        elif isinstance(path_or_connection, (str, os.PathLike)) and \
                not isinstance(path_or_connection, bytes):
            conn = sqlite3.connect(os.fspath(path_or_connection), isolation_level=None)
            self._own = True
        else:
            raise TypeError(f"path_or_connection: expected a path or an sqlite3.Connection, "
                            f"not {type(path_or_connection).__name__}")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS sp_records (ns TEXT NOT NULL, "
                         "key BLOB NOT NULL, value BLOB NOT NULL, PRIMARY KEY (ns, key)) "
                         "WITHOUT ROWID")
            if conn.in_transaction:  # a connection in sqlite3's default (legacy) mode
                conn.commit()
        except BaseException:
            if self._own:
                conn.close()
            raise
        self.connection = conn
        super().__init__(ctx=ctx)

    def get(self, ns: "str", key: "bytes") -> "bytes | None":
        row = self.connection.execute("SELECT value FROM sp_records WHERE ns = ? AND key = ?",
                                      (ns, key)).fetchone()
        return None if row is None else row[0]

    def put(self, ns: "str", key: "bytes", value: "bytes") -> "None":
        self.connection.execute("INSERT OR REPLACE INTO sp_records (ns, key, value) "
                                "VALUES (?, ?, ?)", (ns, key, value))

    def remove(self, ns: "str", key: "bytes") -> "None":
        self.connection.execute("DELETE FROM sp_records WHERE ns = ? AND key = ?", (ns, key))

    def scan(self, ns: "str", start: "bytes | None" = None,
             stop: "bytes | None" = None) -> "Iterable[tuple[bytes, bytes]]":
        sql, args = "SELECT key, value FROM sp_records WHERE ns = ?", [ns]
        if start is not None:
            sql += " AND key >= ?"
            args.append(start)
        if stop is not None:
            sql += " AND key < ?"
            args.append(stop)
        cur = self.connection.execute(sql + " ORDER BY key", args)
        try:
            yield from cur
        finally:
            cur.close()

    def begin(self) -> "None":
        self.connection.execute("BEGIN IMMEDIATE")

    def commit(self) -> "None":
        self.connection.execute("COMMIT")

    def rollback(self) -> "None":
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")

    def destroy(self) -> "None":
        if self._own:
            self.connection.close()
