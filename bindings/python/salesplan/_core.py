"""Contexts, calls into C, handles, and callbacks that raise.

Every call into the library goes through Context.call (functions that record errors in a
context) or call_pure (arithmetic without one). Both raise the exception of the status
code with the library's message, and first re-raise any exception a Python callback
raised during the call: a callback that raises returns an error to C (a ctypes callback
that raised would return 0, which C reads as success), and the exception is kept in a
thread-local slot until the call returns.
"""
import ctypes
import enum
import threading
import weakref

from . import _ffi
from ._lib import lib
from .errors import BufferTooSmallError, InvalidError, error_class

__all__ = ["Context", "Handle", "call_pure", "read_ids", "user_table_common", "callback",
           "recorded_callback", "raise_pending", "progress_table", "enum_of", "text_in",
           "cstr_in", "text_out", "filled"]

_tls = threading.local()

# What a Python callback returns to C when it raised: a code of the host's own, which the
# library reports as SP_EUSER (sp_ctx_user_errcode gives it back).
CALLBACK_RAISED = -1000


def callback(fn, failed=CALLBACK_RAISED):
    """Wrap fn for C: an exception is kept for raise_pending and `failed` returned.

    `failed` may also be a callable of the exception giving the value to return (a store
    returns the status of a SalesplanError, so that the library acts on it)."""
    def wrapper(*args):
        try:
            return fn(*args)
        except BaseException as e:  # noqa: B902 - KeyboardInterrupt too: kept, re-raised
            first = getattr(_tls, "pending", None)
            if first is None:
                _tls.pending = e
            elif first is not e and hasattr(first, "add_note"):
                # a second callback raised during the same C call (an errmsg or a destroy
                # after the failure): the first exception wins, the second is noted on it
                first.add_note(f"then {wrapper.__name__} raised {type(e).__name__}: {e}")
            return failed(e) if callable(failed) else failed
    wrapper.__name__ = getattr(fn, "__name__", "callback")
    wrapper.__doc__ = fn.__doc__
    return wrapper


def recorded_callback(fn, state, failed=CALLBACK_RAISED):
    """callback(fn, failed) that also keeps the exception in state["err"], for the table's
    errmsg callback to report (stores, plug-in kinds)."""
    def run(*args):
        try:
            return fn(*args)
        except BaseException as e:
            state["err"] = e
            raise
    run.__name__ = getattr(fn, "__name__", "callback")
    return callback(run, failed=failed)


def filled(call, cap=16):
    """The result of call(cap, count), a C call that fills buffers of `cap` items and
    writes the number of items into `count` (a ctypes.c_size_t), raising
    BufferTooSmallError when cap is too small: made again with the room needed until it
    fits (sp_target_set_versions, sp_commission_plan_versions, ...)."""
    while True:
        count = ctypes.c_size_t()
        try:
            return call(cap, count)
        except BufferTooSmallError:
            cap = max(count.value, cap * 2)


def raise_pending():
    """Raise the exception a callback raised during the last call on this thread, if any."""
    e = getattr(_tls, "pending", None)
    if e is not None:
        _tls.pending = None
        raise e


def text_in(value, what):
    """A str argument (an id, a name, a text) as UTF-8 bytes for C.

    TypeError for anything not a str (ids and names are str throughout the package),
    InvalidError for a str that is not valid Unicode (a lone surrogate)."""
    if not isinstance(value, str):
        raise TypeError(f"{what}: expected str, not {type(value).__name__}")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidError(f"{what}: {value!r} is not valid Unicode ({e.reason})") from None


def cstr_in(value, what):
    """text_in for a NUL-terminated C string (a name, a reason, a plan id): a NUL inside
    is InvalidError, as C would cut the text there."""
    b = text_in(value, what)
    if b"\0" in b:
        raise InvalidError(f"{what}: {value!r} contains a NUL character")
    return b


def text_out(raw, length=None):
    """Bytes (or a char pointer and its length) from C as str."""
    if raw is None:
        return ""
    if length is not None:
        raw = ctypes.string_at(raw, length)
    return raw.decode("utf-8")


def _reraise_closed(args):
    """ctypes wraps the ValueError of a closed object's _as_parameter_ in ArgumentError:
    raise the ValueError itself, as the conventions promise."""
    for a in args:
        if hasattr(type(a), "_as_parameter_"):
            a._as_parameter_  # raises ValueError when closed  # noqa: B018


def user_table_common(target, me, state):
    """The callbacks every table of Python callbacks has (stores, fact sources) and its
    error text: (c_errmsg, c_destroy, last_error). target() is the Python object (its
    errmsg() gives str or None), me() the same or None once collected; state["err"] is the
    exception kept, state["msg"] the buffer of the message C reads (kept until the next)."""
    def c_errmsg(_user):
        text = target().errmsg()
        if text is None:
            return None
        if not isinstance(text, str):
            raise TypeError(f"errmsg: expected str or None, not {type(text).__name__}")
        buf = state["msg"] = ctypes.create_string_buffer(text.encode("utf-8", "replace")[:1000])
        return ctypes.addressof(buf)

    def c_destroy(_user):
        s = me()
        if s is not None:
            s.destroy()

    def last_error():
        e = state["err"]
        return None if e is None else f"{type(e).__name__}: {e}"

    return c_errmsg, c_destroy, last_error


def read_ids(ctx, fn, handle, count):
    """The ids 0..count-1 of `handle` read with `fn` (sp_hierarchy_ids_packed,
    sp_dict_ids_packed), as str in index order: one C call for their size, one for the ids
    packed into a buffer, then one decode (a million ids in about 0.35 s, against 1.3 s
    one C call per id). A failure raises
    as Context.call does."""
    if count == 0:
        return []
    ptr = getattr(handle, "_as_parameter_", handle)  # a Handle (ValueError when closed) or a
    # borrowed pointer (a set's hierarchy)
    need = ctypes.c_size_t()
    offsets = (ctypes.c_uint64 * (count + 1))()
    with ctx._lock:
        rc = fn(ptr, 0, count, None, 0, None, ctypes.byref(need))
        if rc < 0:
            raise ctx.error(rc)
        data = ctypes.create_string_buffer(max(need.value, 1))
        rc = fn(ptr, 0, count, data, need.value, offsets, ctypes.byref(need))
        if rc < 0:
            raise ctx.error(rc)
    raw = data.raw[:need.value]
    text = raw.decode("utf-8")
    off = memoryview(offsets).cast("B").cast("Q").tolist()
    if len(text) == len(raw):  # ASCII: byte offsets are character offsets
        return [text[off[i]:off[i + 1]] for i in range(count)]
    return [raw[off[i]:off[i + 1]].decode("utf-8") for i in range(count)]


def call_pure(fn, *args, what):
    """Call a function that takes no context; a failure raises with `what` and the status."""
    try:
        rc = fn(*args)
    except ctypes.ArgumentError:
        _reraise_closed(args)
        raise
    raise_pending()
    if rc < 0:
        msg = lib.sp_strerror(rc).decode()
        raise error_class(rc)(f"{what}: {msg}", rc)
    return rc


class _Closing:
    """close() by a with block and by the collector (whose errors at interpreter shutdown,
    when the library may be gone, are dropped)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Context(_Closing):
    """An sp_ctx: the allocator and the last error of the calls made within it.

    Objects are made within a context (the `ctx=` argument of every constructor); without
    one they use the calling thread's own context (Context.current()). A context is used by
    one thread at a time: calls through one context from several threads take turns (a
    lock), and calls through distinct contexts run in parallel (ctypes releases the GIL).
    """

    def __init__(self):
        ptr = ctypes.POINTER(_ffi.sp_ctx)()
        rc = lib.sp_ctx_new(ctypes.byref(ptr), None)
        if rc < 0:
            raise error_class(rc)("context: " + lib.sp_strerror(rc).decode(), rc)
        self._ptr = ptr       # None once closed: no new calls through the context
        self._cptr = ptr      # freed when closed and no object made within it is left
        self._live = 0        # objects made within it, not yet closed
        self._lock = threading.RLock()
        self._objects = weakref.WeakSet()
        self._retained = []   # what C holds for the context's lifetime (see _retain)

    @classmethod
    def current(cls) -> "Context":
        """The calling thread's implicit context, made on first use."""
        ctx = getattr(_tls, "ctx", None)
        if ctx is None or ctx._ptr is None:
            ctx = _tls.ctx = cls()
        return ctx

    @classmethod
    def of(cls, ctx: "Context | None") -> "Context":
        """ctx, or the calling thread's context when ctx is None."""
        if ctx is None:
            return cls.current()
        if not isinstance(ctx, Context):
            raise TypeError(f"ctx: expected a salesplan.Context, not {type(ctx).__name__}")
        return ctx

    @property
    def _as_parameter_(self):
        if self._ptr is None:
            raise ValueError("salesplan: the context is closed")
        return self._ptr

    @property
    def closed(self) -> "bool":
        """Whether close() was called (a closed context raises ValueError when used)."""
        return self._ptr is None

    def _hold(self, obj):
        """obj was made within this context: close() closes it first, and the C context
        outlives it."""
        self._objects.add(obj)
        self._live += 1

    def _release(self):
        """An object made within the context was closed."""
        self._live -= 1
        if self._live == 0 and self._ptr is None:
            self._free_c()

    def _retain(self, obj):
        """Keep obj alive as long as the C context: for what C holds until sp_ctx_free
        (callback tables registered on the context, such as a commission plug-in kind's,
        whose destroy callback sp_ctx_free calls). Let go after the context is freed."""
        self._retained.append(obj)

    def _free_c(self):
        ptr, self._cptr = self._cptr, None
        if ptr is not None:
            try:
                lib.sp_ctx_free(ptr)
            finally:
                self._retained = []
            raise_pending()  # a callback run by sp_ctx_free (a destroy) that raised

    def call(self, fn: "ctypes._CFuncPtr", *args) -> "int":
        """Call fn (which records its errors in this context); raise on failure.

        Also fine for functions that return a count or a state (never negative). A closed
        object among the arguments raises ValueError (not ctypes.ArgumentError)."""
        with self._lock:
            try:
                rc = fn(*args)
            except ctypes.ArgumentError:
                _reraise_closed(args)
                raise
            e = getattr(_tls, "pending", None)
            if e is not None:
                _tls.pending = None
                if isinstance(rc, int) and rc < 0:
                    # what the library made of the callback's failure, noted on it; the
                    # context's error is cleared as for any other failure
                    msg = text_out(lib.sp_ctx_errmsg(self))
                    lib.sp_ctx_clear_error(self)
                    if msg and hasattr(e, "add_note"):
                        e.add_note(f"salesplan: {msg}")
                raise e
            if isinstance(rc, int) and rc < 0:
                raise self.error(rc)
        return rc

    def error(self, rc: "int") -> "SalesplanError":
        """The exception of status rc with the message this context holds."""
        msg = text_out(lib.sp_ctx_errmsg(self))
        if not msg:
            msg = lib.sp_strerror(rc).decode()
        user_code = lib.sp_ctx_user_errcode(self)
        user_msg = text_out(lib.sp_ctx_user_errmsg(self))
        lib.sp_ctx_clear_error(self)
        return error_class(rc)(msg, rc, user_code, user_msg)

    def close(self) -> "None":
        """Close every object made within the context, then the context. Idempotent.

        The collector may finalize objects in any order: one it is about to finalize is no
        longer in the weak set close() walks, so the C context is freed only when the last
        object made within it is closed (each frees itself through the context's
        allocator)."""
        if self._ptr is None:
            return
        for obj in list(self._objects):
            obj.close()
        self._ptr = None
        if self._live == 0:
            self._free_c()

    def __repr__(self):
        return f"<salesplan.Context{' closed' if self._ptr is None else ''}>"


class Handle(_Closing):
    """A C object owned by Python: closed by close(), a with block, or the collector.

    `_keep` holds what C borrows from Python (tables, callbacks, buffers) for as long as
    the C object lives. Subclasses set `_free` to the name of the C destructor and `_what`
    to the noun used in messages.
    """

    _free = None
    _what = "object"
    _ptr = None

    def _init_handle(self, ptr, ctx, keep=(), owns=True):
        """Take ptr, made within ctx. owns=False: a view of a C object another object frees
        (that object goes in keep, so it outlives the view); close() only lets go."""
        self._ptr = ptr
        self._ctx = ctx
        self._keep = list(keep)
        self._owns = owns
        ctx._hold(self)

    @property
    def _as_parameter_(self):
        if self._ptr is None:
            raise ValueError(f"salesplan: the {self._what} is closed")
        return self._ptr

    @property
    def closed(self) -> "bool":
        """Whether the object was closed (by close(), a with block, or its context's
        close()); a closed object raises ValueError when used."""
        return self._ptr is None

    @property
    def context(self) -> "Context":
        """The Context the object was made within."""
        return self._ctx

    def close(self) -> "None":
        """Free the C object (idempotent; a view only lets go of its holder); using it
        afterwards raises ValueError."""
        ptr, self._ptr = self._ptr, None
        if ptr is not None:
            ctx = self._ctx
            with ctx._lock:
                try:
                    if self._owns:
                        getattr(lib, self._free)(ptr)
                    self._keep = []
                finally:
                    ctx._release()
                raise_pending()


def progress_table(progress):
    """An sp_progress pointer for `progress` (None: no reports) and what must stay alive.

    progress(done, total) is called now and then during long work; returning True asks the
    operation to stop (it raises CanceledError and changes nothing); raising stops it too,
    and the exception comes out of the call."""
    if progress is None:
        return None, None
    if not callable(progress):
        raise TypeError("progress: expected a callable(done, total)")

    def report(_user, done, total):
        return 1 if progress(done, total) else 0

    fn = _ffi.sp_progress._fields_[2][1](callback(report, failed=1))
    table = _ffi.sp_progress(_ffi.SP_PROGRESS_VERSION, None, fn)
    return ctypes.byref(table), (table, fn)


# ---- enumerations ----

_FLAG_ENUMS = ("_flags", "_flag", "_bits")


def _py_name(c_name):
    return "".join(p.capitalize() for p in c_name[3:].split("_"))


# The prefix to strip where the common prefix of the members' names would take a word
# that belongs to the names (SP_COMMISSION_PER_TOTAL and SP_COMMISSION_PER_LINE share
# PER_, which the plan documents write: "per_total") or where an enumeration has one
# member (whose own words would otherwise keep the module's: COMMISSION_TOTALS_ONLY).
_PREFIXES = {"sp_commission_policy": "SP_COMMISSION_",
             "sp_commission_run_flag": "SP_COMMISSION_"}


def _strip(members, prefix=None):
    names = list(members)
    if prefix is None:
        prefix = names[0]
        for n in names[1:]:
            while not n.startswith(prefix):
                prefix = prefix[:-1]
        prefix = prefix[:prefix.rfind("_") + 1] if len(names) > 1 else "SP_"
    out = {}
    for n, v in members.items():
        short = n[len(prefix):]
        out["_" + short if short[0].isdigit() else short] = v
    return out


ENUMS = {}
for _c, _members in _ffi.ENUMS.items():
    _base = enum.IntFlag if _c.endswith(_FLAG_ENUMS) else enum.IntEnum
    ENUMS[_c] = _base(_py_name(_c), _strip(_members, _PREFIXES.get(_c)), module="salesplan")


def enum_of(c_name, value, what):
    """value (a member, its name in any case, or its number) as the C enumeration's int."""
    cls = ENUMS[c_name]
    if isinstance(value, str):
        try:
            return int(cls[value.upper().replace("-", "_")])
        except KeyError:
            names = ", ".join(m.name.lower() for m in cls)
            raise InvalidError(f"{what}: unknown {cls.__name__} {value!r} (one of {names})") \
                from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what}: expected a {cls.__name__}, not {type(value).__name__}")
    if value not in cls._value2member_map_ and not issubclass(cls, enum.IntFlag):
        names = ", ".join(m.name.lower() for m in cls)
        raise InvalidError(f"{what}: {value} is no {cls.__name__} (one of {names})")
    return int(value)

