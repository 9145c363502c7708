"""Fixtures of the python suite. Run by meson (meson test --suite python), which sets
PYTHONPATH to the build tree's copy of the package and SALESPLAN_LIBRARY to the library
just built; by hand:

    PYTHONPATH=build/bindings/python /usr/bin/python3 -m pytest bindings/python/tests
"""
import os

import pytest

import salesplan as sp

SOURCE_ROOT = os.environ.get("SALESPLAN_SOURCE_ROOT",
                             os.path.join(os.path.dirname(__file__), "..", "..", ".."))


@pytest.fixture
def ctx():
    """A context of the test's own, closed after it."""
    with sp.Context() as c:
        yield c
