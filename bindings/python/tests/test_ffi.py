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
