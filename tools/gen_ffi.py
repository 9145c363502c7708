#!/usr/bin/env python3
"""The Python package's ctypes declarations, generated from the public headers.

    gen_ffi.py INCLUDE_DIR --write OUT.py    write bindings/python/salesplan/_ffi.py
    gen_ffi.py INCLUDE_DIR --check OUT.py    fail when OUT.py differs from what would be written
    gen_ffi.py INCLUDE_DIR --layout-c OUT.c  a C program printing every struct's size and
                                             each member's offset, which the layout test
                                             compares with ctypes' idea of them

Reads the headers' declarations as written there (docs/conventions.md): `SP_API` functions,
`typedef struct` (opaque or with members), `typedef enum`, function-pointer typedefs and the
integer `#define`s. What sits in `#ifdef SP_STATIC_LINKING_ONLY` is left out: the shared
library, which the package loads, does not export it. An unknown type is an error, so a
header change the generator does not understand stops the build rather than binding
something wrong.
"""
import os
import re
import sys

HEADERS = ["core.h", "money.h", "storage.h", "hierarchy.h", "calendar.h", "target.h", "commission.h",
           "target_kernels.h"]

SCALARS = {
    "int": "c_int", "unsigned": "c_uint", "uint8_t": "c_uint8", "int32_t": "c_int32",
    "uint16_t": "c_uint16", "uint32_t": "c_uint32", "int64_t": "c_int64", "uint64_t": "c_uint64", "size_t": "c_size_t",
    "char": "c_char", "sp_dec": "c_int64", "void": None,
}

INT_CONSTANTS = {"UINT32_MAX": 2**32 - 1, "INT64_MIN": -2**63, "INT64_MAX": 2**63 - 1,
                 "INT32_MIN": -2**31, "INT32_MAX": 2**31 - 1}


class Header:
    def __init__(self):
        self.opaque = []       # handle types
        self.structs = []      # (name, [(field, ctype text)])
        self.enums = []        # (name, [(member, value)])
        self.callbacks = []    # (name, ctype text)
        self.functions = []    # (name, restype text, [argtype text])
        self.constants = []    # (name, value)
        self.known = set(SCALARS)


def strip(text):
    """Comments out, the static-only section out, line continuations joined."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"#ifdef SP_STATIC_LINKING_ONLY.*?#endif", " ", text, flags=re.S)
    return text.replace("\\\n", " ")


def parse_int(expr):
    expr = expr.strip()
    expr = re.sub(r"INT64_C\((.*)\)", r"\1", expr)
    if expr in INT_CONSTANTS:
        return INT_CONSTANTS[expr]
    m = re.fullmatch(r"(-?(?:0x[0-9a-fA-F]+|\d+))[uUlL]*", expr)
    return int(m.group(1), 0) if m else None


def ctype(h, decl, where):
    """The ctypes expression of a C type written as in a declaration (name removed)."""
    decl = " ".join(decl.replace("*", " * ").split())
    words = [w for w in decl.split() if w != "const"]
    stars = words.count("*")
    base = [w for w in words if w != "*"]
    if len(base) != 1:
        raise SystemExit(f"gen_ffi: {where}: cannot read the type '{decl}'")
    base = base[0]
    if base not in h.known:
        raise SystemExit(f"gen_ffi: {where}: unknown type '{base}'")
    if base in SCALARS:
        t = SCALARS[base]
        if base == "char" and stars >= 1:
            t, stars = "c_char_p", stars - 1
        elif base == "void" and stars >= 1:
            t, stars = "c_void_p", stars - 1
        elif t is None:
            return "None"
    else:
        t = base
    for _ in range(stars):
        t = f"POINTER({t})"
    return t


def split_decl(d):
    """'const int64_t *values' -> ('const int64_t *', 'values')."""
    m = re.fullmatch(r"(.*?)([A-Za-z_]\w*)\s*", d.strip(), flags=re.S)
    if not m:
        raise SystemExit(f"gen_ffi: cannot read the declaration '{d}'")
    return m.group(1), m.group(2)


def params(h, text, where):
    text = text.strip()
    if text in ("void", ""):
        return []
    out = []
    for p in text.split(","):
        t, _ = split_decl(p)
        out.append(ctype(h, t, where))
    return out


FNPTR = re.compile(r"^(.*?)\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)$", re.S)


def fnptr(h, ret, args, where):
    # A callback written in Python cannot return a char * that outlives it: it returns the
    # address of a buffer its owner keeps.
    r = ctype(h, ret, where)
    r = "c_void_p" if r == "c_char_p" else r
    return f"CFUNCTYPE({r}, {', '.join(params(h, args, where))})"


def parse(h, text, name):
    text = strip(text)
    for m in re.finditer(r"#define\s+(SP_\w+)\s+(.+)", text):
        v = parse_int(m.group(2))
        if v is not None:
            h.constants.append((m.group(1), v))
    text = re.sub(r"#[^\n]*", " ", text)
    text = re.sub(r'extern\s+"C"\s*\{|^\s*\}\s*$', " ", text, flags=re.M)
    for stmt in statements(text):
        stmt = " ".join(stmt.split())
        where = f"{name}: {stmt[:60]}"
        m = re.fullmatch(r"typedef struct (\w+) (\w+)", stmt)
        if m:
            h.opaque.append(m.group(2))
            h.known.add(m.group(2))
            continue
        m = re.fullmatch(r"typedef struct (\w+) \{(.*)\} (\w+)", stmt)
        if m:
            h.known.add(m.group(3))
            fields = []
            for f in m.group(2).split(";"):
                f = f.strip()
                if not f:
                    continue
                fm = FNPTR.match(f)
                if fm:
                    fields.append((fm.group(2), fnptr(h, fm.group(1), fm.group(3), where)))
                    continue
                first, *more = f.split(",")
                t, n = split_decl(first)
                base = t.replace("*", "")
                fields.append((n, ctype(h, t, where)))
                for extra in more:
                    et, en = split_decl(extra)
                    fields.append((en, ctype(h, base + et, where)))
            h.structs.append((m.group(3), fields))
            continue
        m = re.fullmatch(r"typedef enum (\w+) \{(.*)\} (\w+)", stmt)
        if m:
            members, value = [], -1
            for e in m.group(2).split(","):
                e = e.strip()
                if not e:
                    continue
                if "=" in e:
                    k, v = e.split("=")
                    value = parse_int(v)
                    if value is None:
                        raise SystemExit(f"gen_ffi: {where}: cannot read the value of {k}")
                    e = k.strip()
                else:
                    value += 1
                members.append((e, value))
            h.enums.append((m.group(3), members))
            continue
        m = re.fullmatch(r"typedef (\w+) (\w+)", stmt)
        if m and m.group(2) in SCALARS:
            continue
        m = re.fullmatch(r"typedef (.*?)\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)", stmt)
        if m:
            h.callbacks.append((m.group(2), fnptr(h, m.group(1), m.group(3), where)))
            h.known.add(m.group(2))
            continue
        m = re.fullmatch(r"SP_API (.*?)(\w+)\s*\((.*)\)", stmt)
        if m:
            h.functions.append((m.group(2), ctype(h, m.group(1), where),
                                params(h, m.group(3), where)))
            continue
        raise SystemExit(f"gen_ffi: {where}: a declaration the generator does not know")


def statements(text):
    """Top-level statements, split at ';' outside braces."""
    depth, cur = 0, []
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == ";" and depth == 0:
            s = "".join(cur).strip()
            if s:
                yield s
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        raise SystemExit(f"gen_ffi: text after the last declaration: {''.join(cur).strip()[:60]}")


def read(include):
    h = Header()
    for name in HEADERS:
        with open(os.path.join(include, "salesplan", name), encoding="utf-8") as f:
            parse(h, f.read(), name)
    return h


def python(h):
    out = ['"""ctypes declarations of libsalesplan, generated by tools/gen_ffi.py from',
           'include/salesplan/*.h: do not edit (meson test --suite python checks it is current)."""',
           "# pylint: skip-file",
           "from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_int, c_int32,",
           "                    c_int64, c_size_t, c_uint, c_uint8, c_uint16, c_uint32, c_uint64, c_void_p)",
           "", "# Integer constants of the headers.", ""]
    for n, v in h.constants:
        out.append(f"{n} = {v}")
    out += ["", "# Enumerations: C name -> {member: value}.", "ENUMS = {"]
    for n, members in h.enums:
        out.append(f"    {n!r}: {{")
        for k, v in members:
            out.append(f"        {k!r}: {v},")
        out.append("    },")
    out += ["}", "", "", "# Handles (opaque) and structs, declared first: members refer to each other."]
    for n in h.opaque:
        out += ["", "", f"class {n}(Structure):", "    pass"]
    for n, _ in h.structs:
        out += ["", "", f"class {n}(Structure):", "    pass"]
    out += ["", ""]
    for n, t in h.callbacks:
        out.append(f"{n} = {t}")
    for n, fields in h.structs:
        out.append(f"{n}._fields_ = [")
        for fn, ft in fields:
            out.append(f"    ({fn!r}, {ft}),")
        out.append("]")
    out += ["", "# Functions: name -> (restype, argtypes).", "FUNCTIONS = {"]
    for n, r, a in h.functions:
        out.append(f"    {n!r}: ({r}, [{', '.join(a)}]),")
    out += ["}", "", "# Structs by name, for the layout check.",
            "STRUCTS = {" + ", ".join(f"{n!r}: {n}" for n, _ in h.structs) + "}", ""]
    return "\n".join(out)


def layout_c(h):
    out = ["/* Generated by tools/gen_ffi.py: every public struct's size and members' offsets,",
           " * as the C compiler lays them out, for the Python package's layout test. */",
           "#include <stddef.h>", "#include <stdio.h>", "#include <salesplan/salesplan.h>",
           "#include <salesplan/target_kernels.h>", "", "int main(void)", "{"]
    for n, fields in h.structs:
        out.append(f'    printf("{n} %zu\\n", sizeof({n}));')
        for fn, _ in fields:
            out.append(f'    printf("{n}.{fn} %zu\\n", offsetof({n}, {fn}));')
    out += ["    return 0;", "}", ""]
    return "\n".join(out)


def main(argv):
    if len(argv) != 4 or argv[2] not in ("--write", "--check", "--layout-c"):
        sys.stderr.write(__doc__)
        return 2
    h = read(argv[1])
    text = layout_c(h) if argv[2] == "--layout-c" else python(h)
    if argv[2] == "--check":
        try:
            with open(argv[3], encoding="utf-8") as f:
                current = f.read()
        except OSError as e:
            print(f"gen_ffi: {e}")
            return 1
        if current != text:
            print(f"gen_ffi: {argv[3]} is not what the headers give: run "
                  f"'python3 tools/gen_ffi.py include --write {argv[3]}'")
            return 1
        print(f"gen_ffi: {argv[3]} matches the headers ({len(h.functions)} functions, "
              f"{len(h.structs)} structs, {len(h.enums)} enumerations)")
        return 0
    with open(argv[3], "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
