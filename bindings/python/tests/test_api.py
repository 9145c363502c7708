"""Every public name of the package has a docstring, and every public function and method
type hints (PYAPI conventions; docs/python.md: help() gives the reference).

Public: the names in salesplan.__all__, salesplan.money.__all__ and
salesplan.kernels.__all__; of each class, the methods and properties defined in the
package (not those inherited from Python's own classes). A function is annotated when its
return and each of its parameters (but self/cls, *args and **kwargs) have a hint;
__init__ needs no return hint, and a class's constructor is checked through __init__.
"""
import enum
import inspect
import types

import pytest

import salesplan as sp
import salesplan.kernels
import salesplan.money

MODULES = (sp, sp.money, sp.kernels)


def _ours(obj):
    return (getattr(obj, "__module__", None) or "").startswith("salesplan")


def _public():
    """(qualified name, object) for every public name, its classes' members included."""
    seen = set()
    for mod in MODULES:
        for name in mod.__all__:
            obj = getattr(mod, name)
            if isinstance(obj, (str, types.ModuleType)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            qual = f"{mod.__name__}.{name}"
            yield qual, obj
            if inspect.isclass(obj) and not issubclass(obj, enum.Enum):
                yield from _members(qual, obj)


def _members(qual, cls):
    done = set()
    for klass in cls.__mro__:
        if not _ours(klass):
            continue
        for name, attr in vars(klass).items():
            if name in done or (name.startswith("_") and name != "__init__"):
                continue
            done.add(name)
            if isinstance(attr, (staticmethod, classmethod)):
                attr = attr.__func__
            if isinstance(attr, property) or inspect.isfunction(attr):
                yield f"{qual}.{name}", attr


PUBLIC = list(_public())


def test_walk_finds_the_package():
    # a walk that found nothing would pass everything: a few names it must reach
    names = {q for q, _ in PUBLIC}
    for q in ("salesplan.Hierarchy", "salesplan.Hierarchy.parent", "salesplan.TargetSet.annual",
              "salesplan.money.allocate", "salesplan.timesplit",
              "salesplan.Rounding", "salesplan.Context.call"):
        assert q in names, q
    assert len(PUBLIC) > 200


def test_the_checks_catch_omissions():
    def bare(self, a, b: int = 0, *rest, c=None, **kw):
        pass

    def hinted(a: int, *, c: "str | None" = None) -> None:
        pass

    assert _missing_hints(bare) == ["a", "c", "return"]
    assert _missing_hints(hinted) == []


@pytest.mark.parametrize("qual,obj", PUBLIC, ids=[q for q, _ in PUBLIC])
def test_docstring(qual, obj):
    if qual.endswith(".__init__"):
        return  # documented by its class
    doc = obj.__doc__ if isinstance(obj, property) else inspect.getdoc(obj)
    assert doc and doc.strip(), f"{qual} has no docstring"


def _missing_hints(func):
    sig = inspect.signature(func)
    missing = [p.name for p in sig.parameters.values()
               if p.annotation is inspect.Parameter.empty and p.name not in ("self", "cls")
               and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if sig.return_annotation is inspect.Signature.empty and func.__name__ != "__init__":
        missing.append("return")
    return missing


@pytest.mark.parametrize("qual,obj", PUBLIC, ids=[q for q, _ in PUBLIC])
def test_type_hints(qual, obj):
    if isinstance(obj, property):
        obj = obj.fget
    elif inspect.isclass(obj):
        return  # its __init__ is walked as a member
    if not inspect.isfunction(obj):
        return
    missing = _missing_hints(obj)
    assert not missing, f"{qual}: no type hint for {', '.join(missing)}"
