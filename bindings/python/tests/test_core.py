"""The package's core: loading, versions, errors, contexts, callbacks, enums, conversions."""
import array
import ctypes
import ctypes.util
import decimal
import os
import subprocess
import sys
import threading
import traceback

import pytest

import salesplan as sp
from salesplan import _convert, _core, _lib
from salesplan._lib import lib

D = decimal.Decimal


# ---- loading and versions ----

def test_versions():
    assert sp.__version__ == "0.1.0"
    # the library's own report, read here without the package's wrappers
    v = lib.sp_version()
    assert sp.library_version == f"{v >> 16}.{(v >> 8) & 255}.{v & 255}"
    assert lib.sp_version_string().decode() == sp.library_version


class _FakeVersion:
    """A stand-in for a loaded library reporting version `v`."""

    def __init__(self, v):
        self.sp_version = lambda: v


@pytest.mark.parametrize("v, ok", [
    (0x000100, True),    # 0.1.0: this package's version
    (0x000107, True),    # 0.1.7: a later patch
    (0x000200, False),   # 0.2.0: before 1.0 a minor version may change the ABI
    (0x010100, False),   # 1.1.0: another major
    (0x000000, False),
])
def test_a_library_of_another_version_is_refused(v, ok):
    fake = _FakeVersion(v)
    if ok:
        assert _lib._check_version(fake, "/x/libsalesplan.so.1") == (v >> 16, (v >> 8) & 255,
                                                                      v & 255)
    else:
        with pytest.raises(sp.LibraryVersionError) as e:
            _lib._check_version(fake, "/x/libsalesplan.so.1")
        assert isinstance(e.value, ImportError)
        assert "/x/libsalesplan.so.1 is version %d.%d.%d" % (v >> 16, (v >> 8) & 255,
                                                             v & 255) in str(e.value)
        assert "written for 0.1.x" in str(e.value)


def _import_with(env_library):
    env = dict(os.environ, SALESPLAN_LIBRARY=env_library)
    return subprocess.run([sys.executable, "-c", "import salesplan"], env=env,
                          capture_output=True, text=True, check=False)


def test_a_missing_library_is_named():
    out = _import_with("/nonexistent/libsalesplan.so.1")
    assert out.returncode != 0
    assert "cannot load libsalesplan" in out.stderr
    assert "/nonexistent/libsalesplan.so.1 (SALESPLAN_LIBRARY): no such file" in out.stderr


def test_a_library_without_the_functions_is_refused():
    # libc loads, but exports none of the library's functions: refused before anything is
    # bound
    out = _import_with(ctypes.util.find_library("c"))
    assert out.returncode != 0
    assert "LibraryVersionError" in out.stderr
    assert "does not export sp_version: it is not libsalesplan" in out.stderr


def test_the_library_found_is_the_one_meson_built():
    if "SALESPLAN_LIBRARY" in os.environ:
        assert os.path.samefile(sp.library_path, os.environ["SALESPLAN_LIBRARY"])


# ---- errors ----

@pytest.mark.parametrize("cls, code, std", [
    (sp.InvalidError, -1, ValueError),
    (sp.NoMemoryError, -2, MemoryError),
    (sp.ExactOverflowError, -3, OverflowError),
    (sp.NotFoundError, -4, LookupError),
    (sp.ConflictError, -5, None),
    (sp.CorruptError, -6, ValueError),
    (sp.StorageError, -7, OSError),
    (sp.CallbackError, -8, None),
    (sp.CanceledError, -9, None),
    (sp.VersionError, -10, None),
    (sp.BufferTooSmallError, -11, BufferError),
    (sp.InternalError, -12, RuntimeError),
])
def test_one_class_per_status_code(cls, code, std):
    # the codes are core.h's, frozen
    assert cls.code == code
    assert sp.errors.error_class(code) is cls
    assert issubclass(cls, sp.SalesplanError)
    if std is not None:
        assert issubclass(cls, std)
    # the names agree with the generated enumeration
    assert sp.Status(code).name == "E" + {
        -1: "INVAL", -2: "NOMEM", -3: "OVERFLOW", -4: "NOTFOUND", -5: "CONFLICT",
        -6: "CORRUPT", -7: "STORAGE", -8: "USER", -9: "CANCELED", -10: "VERSION",
        -11: "BUFFER", -12: "INTERNAL"}[code]


def test_an_unknown_code_is_a_plain_salesplan_error():
    assert sp.errors.error_class(-99) is sp.SalesplanError


def test_a_failing_call_raises_the_librarys_message(ctx):
    out = ctypes.c_int64(7)
    with pytest.raises(sp.InvalidError) as e:
        ctx.call(lib.sp_money_parse, ctx, b"12.345", 2, 0, 0, ctypes.byref(out))
    assert e.value.code == -1
    assert '"12.345" has more than 2 fractional digits' in e.value.message
    assert str(e.value) == e.value.message
    assert out.value == 7  # output written only on success
    # the message was taken: the context holds no error afterwards
    assert lib.sp_ctx_errcode(ctx) == 0
    assert ctx.call(lib.sp_money_parse, ctx, b"12.34", 2, 0, 0, ctypes.byref(out)) == 0
    assert out.value == 1234


def test_a_pure_call_names_what_failed():
    out = ctypes.c_int64()
    with pytest.raises(sp.ExactOverflowError) as e:
        _core.call_pure(lib.sp_money_add, 2**63 - 1, 1, ctypes.byref(out), what="add")
    assert str(e.value).startswith("add: ")


# ---- contexts ----

def test_each_thread_has_its_own_implicit_context():
    mine = sp.Context.current()
    assert sp.Context.current() is mine
    assert sp.Context.of(None) is mine
    seen = []
    t = threading.Thread(target=lambda: seen.append(sp.Context.current()))
    t.start()
    t.join()
    assert seen[0] is not mine and not seen[0].closed


def test_what_a_context_retains_lives_until_its_c_context_is_freed():
    import gc
    import weakref

    class Table:
        pass

    c = sp.Context()
    d = sp.Dictionary(["A"], ctx=c)
    t = Table()
    c._retain(t)
    seen = weakref.ref(t)
    del t
    gc.collect()
    assert seen() is not None
    # the context is closed while an object made in it lives on: the C context (and what
    # it retains) outlives that object
    c._ptr = None
    gc.collect()
    assert seen() is not None and c._cptr is not None
    d.close()
    gc.collect()
    assert seen() is None and c._cptr is None


def test_filled_grows_the_buffers_to_the_count_needed():
    caps = []

    def call(cap, count):
        caps.append(cap)
        count.value = 40
        if cap < 40:
            raise sp.BufferTooSmallError("too small")
        return list(range(count.value))

    assert _core.filled(call) == list(range(40)) and caps == [16, 40]
    # a count below double the room: the room doubles
    caps.clear()
    assert len(_core.filled(call, cap=30)) == 40 and caps == [30, 60]


def test_context_of_refuses_other_types():
    with pytest.raises(TypeError, match="ctx: expected a salesplan.Context, not int"):
        sp.Context.of(3)


def test_closing_a_context_closes_what_was_made_in_it():
    c = sp.Context()
    freed = []

    class Probe(_core.Handle):
        _what = "probe"

        def close(self):
            freed.append(self)
            self._ptr = None

    p = Probe()
    p._init_handle(object(), c)
    c.close()
    assert freed == [p] and p.closed and c.closed
    with pytest.raises(ValueError, match="the context is closed"):
        c._as_parameter_
    with pytest.raises(ValueError, match="the probe is closed"):
        p._as_parameter_
    c.close()  # idempotent
    assert repr(c) == "<salesplan.Context closed>"


def test_a_closed_current_context_is_replaced():
    c = sp.Context.current()
    c.close()
    assert sp.Context.current() is not c and not sp.Context.current().closed


# ---- callbacks ----

def _raiser():
    raise KeyError("from the callback")


def test_a_callback_that_raises_returns_failure_and_the_exception_comes_back():
    wrapped = _core.callback(lambda: _raiser(), failed=-5)
    assert wrapped() == -5  # what C sees: a failure, never 0
    with pytest.raises(KeyError) as e:
        _core.raise_pending()
    # the original exception, with the traceback of where it was raised
    assert "_raiser" in "".join(traceback.format_tb(e.value.__traceback__))
    _core.raise_pending()  # raised once only


def test_the_first_exception_of_a_call_is_the_one_kept():
    a = _core.callback(lambda: (_ for _ in ()).throw(ValueError("first")))
    b = _core.callback(lambda: (_ for _ in ()).throw(TypeError("second")))
    assert a() == _core.CALLBACK_RAISED and b() == _core.CALLBACK_RAISED
    with pytest.raises(ValueError, match="first"):
        _core.raise_pending()


def test_a_pending_exception_is_raised_by_the_next_call_even_on_success(ctx):
    _core.callback(_raiser)()
    out = ctypes.c_int64()
    with pytest.raises(KeyError):
        ctx.call(lib.sp_money_parse, ctx, b"1", 2, 0, 0, ctypes.byref(out))


def test_progress_tables():
    assert _core.progress_table(None) == (None, None)
    with pytest.raises(TypeError, match="progress: expected a callable"):
        _core.progress_table(5)
    calls = []
    ref, keep = _core.progress_table(lambda d, t: calls.append((d, t)) or d >= 2)
    table = keep[0]
    assert table.version == 1
    assert table.report(None, 1, 4) == 0 and table.report(None, 2, 4) == 1
    assert calls == [(1, 4), (2, 4)]


# ---- enumerations ----

def test_enumerations_take_python_names():
    assert sp.Rounding.HALF_EVEN == 0 and sp.Rounding.FLOOR == 6
    assert sp.Grain.MONTH == 3
    assert sp.CalendarPreset.NRF_454 == 2
    assert sp.DecompFlag.LOCKED | sp.DecompFlag.AT_CAP == 17
    assert isinstance(sp.DecompFlag(17), sp.DecompFlag)
    assert sp.WeekdayBits.SATURDAY == 32
    # prefixes given where the common one would take a word of the names
    assert [m.name for m in sp.CommissionPolicy] == ["PER_TOTAL", "PER_LINE"]
    assert [m.name for m in sp.CommissionRunFlag] == ["TOTALS_ONLY"]
    assert _core.enum_of("sp_commission_policy", "per_line", "policy") == 1


@pytest.mark.parametrize("value, want", [
    (sp.Rounding.HALF_UP, 1), ("half_up", 1), ("HALF-UP", 1), ("Floor", 6), (4, 4)])
def test_enum_arguments(value, want):
    assert _core.enum_of("sp_rounding", value, "rounding") == want


def test_enum_arguments_refused():
    with pytest.raises(ValueError, match=r"rounding: unknown Rounding 'nearest' \(one of "
                                         r"half_even, half_up"):
        _core.enum_of("sp_rounding", "nearest", "rounding")
    with pytest.raises(TypeError, match="rounding: expected a Rounding, not bool"):
        _core.enum_of("sp_rounding", True, "rounding")
    with pytest.raises(TypeError, match="expected a Rounding, not float"):
        _core.enum_of("sp_rounding", 1.0, "rounding")


# ---- exact decimals ----

@pytest.mark.parametrize("value, exponent, units", [
    (D("12.34"), 2, 1234), ("12.3", 2, 1230), (12, 2, 1200), (D("-0.05"), 2, -5),
    (D("1E+3"), 0, 1000), ("  7.500 ", 2, 750), (D("92233720368547758.07"), 2, 2**63 - 1),
    (D("-92233720368547758.08"), 2, -2**63), (5, 0, 5), (D("0.000000001"), 9, 1)])
def test_major_to_minor_units(value, exponent, units):
    assert _convert.to_minor(value, exponent) == units


def test_minor_to_major_is_exact_whatever_the_decimal_context():
    with decimal.localcontext() as c:
        c.prec = 3
        assert _convert.from_minor(2**63 - 1, 2) == D("92233720368547758.07")
        assert str(_convert.from_minor(-5, 2)) == "-0.05"
        assert str(_convert.from_minor(1200, 2)) == "12.00"
        assert str(_convert.from_dec(35000000)) == "0.035000000"


def test_money_is_never_rounded_in_passing():
    with pytest.raises(sp.InvalidError, match=r"total: 12.345 has more decimal places than "
                                              r"the currency has \(2\)"):
        _convert.to_minor(D("12.345"), 2, "total")
    with pytest.raises(sp.ExactOverflowError, match="total: 92233720368547758.08 does not fit"):
        _convert.to_minor(D("92233720368547758.08"), 2, "total")
    with pytest.raises(TypeError, match="never pass through floating point"):
        _convert.to_minor(12.5, 2, "total")
    with pytest.raises(TypeError, match="not bool"):
        _convert.to_minor(True, 2, "total")
    with pytest.raises(sp.InvalidError, match="'12,5' is not a decimal number"):
        _convert.to_minor("12,5", 2, "total")
    with pytest.raises(sp.InvalidError, match="is not a finite number"):
        _convert.to_minor(D("NaN"), 2, "total")
    with pytest.raises(sp.InvalidError, match="more decimal places than an sp_dec holds"):
        _convert.to_dec(D("0.0000000001"), "rate")
    assert _convert.to_dec("0.035") == 35000000


# ---- columns ----

def _read(col, kind):
    """What C would read through the column's pointer."""
    return [col.ptr[i] for i in range(col.count)]


def test_columns_from_sequences_and_buffers():
    assert _read(_convert.column_in([1, -2, 3], "int64", "v"), "int64") == [1, -2, 3]
    assert _read(_convert.column_in(range(3), "uint32", "v"), "uint32") == [0, 1, 2]
    a = array.array("q", [5, 6])
    col = _convert.column_in(a, "int64", "v")
    a[0] = 9  # no copy: C reads the array's own memory
    assert _read(col, "int64") == [9, 6]
    ro = memoryview(array.array("q", [4, 5]).tobytes()).cast("q")
    assert _read(_convert.column_in(ro, "int64", "v"), "int64") == [4, 5]
    # a buffer of another item type is read value by value
    assert _read(_convert.column_in(array.array("i", [7, 8]), "int64", "v"), "int64") == [7, 8]
    assert _convert.column_in(None, "int64", "v") is None
    assert _convert.column_in([], "int64", "v").count == 0


def test_columns_refused():
    with pytest.raises(TypeError, match=r"v\[1\]: expected an int, not float"):
        _convert.column_in([1, 2.0], "int64", "v")
    with pytest.raises(sp.ExactOverflowError, match=r"v\[0\]: -1 does not fit in uint32"):
        _convert.column_in([-1], "uint32", "v")
    with pytest.raises(sp.InvalidError, match="v: 2 values where 3 are needed"):
        _convert.column_in([1, 2], "int64", "v", count=3)
    with pytest.raises(TypeError, match="v: expected a sequence of integers, not int"):
        _convert.column_in(5, "int64", "v")


def test_numpy_columns_without_a_copy():
    np = pytest.importorskip("numpy")
    a = np.array([3, 4, 5], dtype=np.int64)
    col = _convert.column_in(a, "int64", "v")
    assert ctypes.addressof(col.ptr.contents) == a.ctypes.data
    assert _read(col, "int64") == [3, 4, 5]
    # another integer dtype is converted, exactly
    assert _read(_convert.column_in(np.array([1, 2], dtype=np.int32), "int64", "v"),
                 "int64") == [1, 2]
    with pytest.raises(sp.ExactOverflowError, match="v: a value does not fit in uint32"):
        _convert.column_in(np.array([-1], dtype=np.int64), "uint32", "v")
    with pytest.raises(TypeError, match="v: expected integers, found numpy dtype float64"):
        _convert.column_in(np.array([1.0]), "int64", "v")
    # a strided view is copied into contiguous memory, never read with the wrong stride
    s = np.arange(6, dtype=np.int64)[::2]
    assert _read(_convert.column_in(s, "int64", "v"), "int64") == [0, 2, 4]
    pd = pytest.importorskip("pandas")
    assert _read(_convert.column_in(pd.Series([7, 8]), "int64", "v"), "int64") == [7, 8]


def test_results_as_lists_arrays_and_numpy():
    arr, ptr = _convert.column_out("int64", 3)
    ptr[0], ptr[1], ptr[2] = -1, 2**40, 3
    assert _convert.as_result(arr, 3, "int64") == [-1, 2**40, 3]
    assert _convert.as_result(arr, 2, "int64", "array") == array.array("q", [-1, 2**40])
    np = pytest.importorskip("numpy")
    got = _convert.as_result(arr, 3, "int64", "numpy")
    ptr[0] = 0  # a copy: later writes do not show
    assert got.tolist() == [-1, 2**40, 3] and got.dtype == np.int64


# ---- lifetimes at collection ----

def test_the_c_context_outlives_the_objects_the_collector_has_not_finalized_yet():
    # The collector clears weak references before it runs finalizers, so a context
    # finalized before an object made within it does not see that object: its C context
    # must stay until the object has freed itself through it.
    c = sp.Context()
    h = sp.Hierarchy(ctx=c)
    h.add("root")
    c._objects.discard(h)  # as the collector leaves it
    c.close()
    assert c.closed and c._cptr is not None  # closed for calls, the C context kept
    h.close()  # frees the hierarchy through the context's allocator
    assert c._cptr is None


def test_objects_left_to_the_collector_at_exit_free_cleanly(tmp_path):
    # Globals of a script, a fact source whose callbacks were called and an exception
    # kept in its state: all left to the interpreter's shutdown, in whatever order it
    # finalizes them (this crashed before the C context was counted).
    script = tmp_path / "leave.py"
    script.write_text(
        "import salesplan as sp\n"
        "ctx = sp.Context()\n"
        "reps = ['r%d' % i for i in range(10)]\n"
        "h = sp.Hierarchy(ctx=ctx)\n"
        "h.add_all(['all'] + reps, [None] + ['all'] * 10)\n"
        "h.validate()\n"
        "plan = sp.TargetPlan('p', h, fiscal_year=2026, currency='CNY', ctx=ctx)\n"
        "view = plan.info.hierarchy\n"
        "d = sp.Dictionary(ctx=ctx)\n"
        "d.add_all(reps)\n"
        "def gen(kind, a, b):\n"
        "    yield dict(id=[1], day=['2026-01-05'], rep=[0], amount=[5])\n"
        "src = sp.FactSource.from_batches(gen, ctx=ctx)\n"
        "actuals = plan.load_actuals(src, d, minor=True)\n"
        "targets = plan.decompose(100)\n"
        "print(actuals.totals[0])\n")
    out = subprocess.run([sys.executable, "-X", "faulthandler", str(script)],
                         capture_output=True, text=True, check=False)
    assert (out.returncode, out.stdout, out.stderr) == (0, "5\n", "")


# ---- shared argument helpers (one rule for every module) ----

def test_text_arguments_are_str_only_and_checked():
    h = sp.Hierarchy()
    d = sp.Dictionary()
    # bytes were taken by Hierarchy and Dictionary but refused by TargetPlan: ids are str
    for call, what in ((lambda: h.add(b"x"), "id"), (lambda: d.add(b"x"), "id"),
                       (lambda: sp.money.currency_exponent(b"CNY"), "currency")):
        with pytest.raises(TypeError, match=f"^{what}: expected str, not bytes"):
            call()
    assert len(h) == 0 and len(d) == 0
    # a lone surrogate: the documented InvalidError naming the argument, not a raw
    # UnicodeEncodeError (money.parse let that escape)
    with pytest.raises(sp.InvalidError, match=r"^text: .*not valid Unicode"):
        sp.money.parse("1\ud800")
    with pytest.raises(sp.InvalidError, match=r"^name: .*contains a NUL"):
        h.level_find("a\0b")


def test_buffer_of_another_type_names_the_argument():
    h = sp.Hierarchy()
    h.add_all(["r", "a"], [None, "r"])
    h.validate()
    # a float buffer is read item by item; the message named "values" whatever the argument
    with pytest.raises(TypeError, match=r"^top_down\[0\]: expected an int, not float"):
        h.reconcile(array.array("d", [1.0, 1.0]), [0, 0])


def test_bool_columns_are_checked_alike_everywhere():
    np = pytest.importorskip("numpy")
    assert list(_convert.bools_in([True, False, 1, 0, np.bool_(True)], "f").keep[1]) == \
        [1, 0, 1, 0, 1]
    assert _convert.bools_in(np.array([1, 0, 1], dtype="uint8"), "f", count=3).count == 3
    # an int array with a 2 passed to C unchecked through targets' own helper
    with pytest.raises(TypeError, match=r"^committed\[1\]: expected a bool, not 2"):
        _convert.bools_in(np.array([0, 2], dtype="uint8"), "committed")
    with pytest.raises(TypeError, match=r"^valid\[2\]: expected a bool, not str"):
        _convert.bools_in([True, False, "yes"], "valid")
    with pytest.raises(sp.InvalidError, match="^valid: 2 values where 3 are needed"):
        _convert.bools_in([True, False], "valid", count=3)


def test_form_is_checked_alike_everywhere():
    _convert.check_form("array")
    with pytest.raises(sp.InvalidError, match="^form: expected 'list', 'numpy' or 'array', "
                                              "not 'pandas'"):
        _convert.check_form("pandas")
    with pytest.raises(sp.InvalidError, match="^form: expected 'list' or 'numpy', not 'array'"):
        _convert.check_form("array", ("list", "numpy"))
    # timesplit took form="array" and gave lists all the same
    with pytest.raises(sp.InvalidError, match="^form: expected 'list' or 'numpy'"):
        sp.timesplit([100], [[D("0.5"), D("0.5")]], form="array")
