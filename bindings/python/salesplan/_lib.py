"""Finding, checking and binding libsalesplan.

The library is looked for, in order: the path in the environment variable
SALESPLAN_LIBRARY; the path meson wrote into _config.py (the build tree's library for the
copy of the package in the build directory, the installed one for the installed package);
a libsalesplan.so.1 beside this file; the system loader. The first that exists is loaded,
and refused (LibraryVersionError) unless its version is one this package was written for.
"""
import ctypes
import ctypes.util
import os

from . import _ffi

__all__ = ["lib", "LibraryVersionError", "library_path", "PACKAGE_VERSION"]

# The library version this package was written for: the same major and minor (before 1.0
# a minor version may change the ABI, docs/abi.md), any patch.
PACKAGE_VERSION = (0, 1, 0)


class LibraryVersionError(ImportError):
    """The library found is not a version this package can call."""


def _candidates():
    env = os.environ.get("SALESPLAN_LIBRARY")
    if env:
        yield env, "SALESPLAN_LIBRARY"
        return
    try:
        from . import _config  # written by meson; absent in the source tree
        yield _config.LIBRARY, "the path meson recorded (_config.py)"
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ("libsalesplan.so.1", "libsalesplan.dylib", "salesplan.dll"):
        yield os.path.join(here, name), "the package's directory"
    found = ctypes.util.find_library("salesplan")
    if found:
        yield found, "the system loader"
    yield "libsalesplan.so.1", "the system loader"


def _load():
    tried = []
    for path, how in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(f"{path} ({how}): no such file")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append(f"{path} ({how}): {e}")
    raise ImportError("salesplan: cannot load libsalesplan; tried:\n  " + "\n  ".join(tried) +
                      "\nset SALESPLAN_LIBRARY to the library's path")


def _bind(dll, path):
    for name, (restype, argtypes) in _ffi.FUNCTIONS.items():
        try:
            fn = getattr(dll, name)
        except AttributeError:
            raise LibraryVersionError(f"salesplan: {path} does not export {name}: it is not the "
                                      f"library this package was written for") from None
        fn.restype = restype
        fn.argtypes = argtypes


def _check_version(dll, path):
    try:
        fn = dll.sp_version
    except AttributeError:
        raise LibraryVersionError(f"salesplan: {path} does not export sp_version: it is not "
                                  f"libsalesplan") from None
    fn.restype = ctypes.c_uint32
    fn.argtypes = []
    v = fn()
    got = (v >> 16, (v >> 8) & 0xFF, v & 0xFF)
    want = PACKAGE_VERSION
    if got[:2] != want[:2]:
        raise LibraryVersionError(
            "salesplan: %s is version %d.%d.%d; this package was written for %d.%d.x" %
            (path, *got, *want[:2]))
    return got


lib, library_path = _load()
LIBRARY_VERSION = _check_version(lib, library_path)
_bind(lib, library_path)
