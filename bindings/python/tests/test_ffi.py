"""The ctypes declarations against the headers and the C compiler."""
import ctypes
import os
import subprocess
import sys

import pytest

from salesplan import _ffi
from conftest import SOURCE_ROOT


def test_declarations_are_current():
    # _ffi.py is what tools/gen_ffi.py makes of the headers today.
    gen = os.path.join(SOURCE_ROOT, "tools", "gen_ffi.py")
    out = subprocess.run([sys.executable, gen, os.path.join(SOURCE_ROOT, "include"), "--check",
                          os.path.join(SOURCE_ROOT, "bindings", "python", "salesplan", "_ffi.py")],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif("SALESPLAN_FFI_LAYOUT" not in os.environ,
                    reason="the layout program is built by meson (SALESPLAN_FFI_LAYOUT)")
def test_struct_layouts_match_the_c_compiler():
    # Sizes and offsets as the C compiler lays the structs out, from a program compiled
    # against the headers, against ctypes' layout of the generated declarations.
    text = subprocess.run([os.environ["SALESPLAN_FFI_LAYOUT"]], capture_output=True, text=True,
                          check=True).stdout
    seen = 0
    for line in text.splitlines():
        name, value = line.split()
        if "." in name:
            struct, member = name.split(".")
            got = getattr(_ffi.STRUCTS[struct], member).offset
        else:
            got = ctypes.sizeof(_ffi.STRUCTS[name])
        assert got == int(value), name
        seen += 1
    # every struct and member was compared
    assert seen == sum(1 + len(s._fields_) for s in _ffi.STRUCTS.values())


# The C functions the package does not call, each for a reason: every other exported
# function is reached from the Python API, and a function added to the headers fails this
# test until it is bound or listed here.
NOT_CALLED = {
    "sp_version_string": "salesplan.library_version is made from sp_version",
    "sp_ctx_options_init": "contexts use the C library's allocator: Python has no hooks "
                           "to give",
    "sp_ctx_errcode": "the status comes from the failing call itself",
    "sp_ctx_errmsg_copy": "sp_ctx_errmsg is read right after the call, under the "
                          "context's lock",
    "sp_progress_init": "the progress table is built with its version",
    "sp_target_pacing_output_init": "the output struct is built with its version",
    "sp_fact_query_init": "queries are made by the library; Python only reads them",
    "sp_dict_add_all": "sp_dict_add_packed: one buffer, half the time from Python",
    "sp_hierarchy_add_all": "sp_hierarchy_add_packed, for the same reason",
    "sp_calendar_day_from_civil": "datetime.date does this arithmetic (test_calendar.py "
                                  "checks the two agree)",
    "sp_calendar_civil_from_day": "the same",
}


def test_every_c_function_is_reached_from_python():
    import re
    package = os.path.dirname(_ffi.__file__)
    source = ""
    for root, _, files in os.walk(package):
        for name in files:
            if name.endswith(".py") and name != "_ffi.py":
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    source += f.read()
    called = {n for n in _ffi.FUNCTIONS if re.search(r"\b%s\b" % n, source)}
    assert sorted(set(_ffi.FUNCTIONS) - called) == sorted(NOT_CALLED)
    assert not called & set(NOT_CALLED)
