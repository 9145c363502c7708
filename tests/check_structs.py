#!/usr/bin/env python3
"""Every public versioned struct has SP_X_VERSION, SP_X_INIT and an init function, and
tests/test_structs.c covers it.

usage: check_structs.py INCLUDE_DIR TEST_STRUCTS_C

A versioned struct is a `typedef struct sp_x { uint32_t version; ... } sp_x;` of a public
header. Its macros are SP_X_VERSION and SP_X_INIT (the type name upper-cased), its FFI
initialiser `SP_API int sp_x_init(sp_x *..., uint32_t version);` (SP_STATIC_API for the
structs outside the stable ABI).
"""
import pathlib
import re
import sys


def main():
    include, table = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(include.glob("*.h")))
    structs = re.findall(r"typedef struct (sp_\w+) \{\s*uint32_t version;", text)
    covered = set(re.findall(r"^\s*CASE\((sp_\w+),", table.read_text(encoding="utf-8"), re.M))
    problems = []
    for name in structs:
        up = name.upper()
        if not re.search(r"#define %s_VERSION \d+u" % up, text):
            problems.append("%s: no %s_VERSION" % (name, up))
        if not re.search(r"#define %s_INIT\b" % up, text):
            problems.append("%s: no %s_INIT" % (name, up))
        init = r"SP_(?:STATIC_)?API int %s_init\(%s \*\w+, uint32_t version\);" % (name, name)
        if not re.search(init, text):
            problems.append("%s: no SP_API int %s_init(%s *, uint32_t version)" %
                            (name, name, name))
        if name not in covered:
            problems.append("%s: not in the table of %s" % (name, table.name))
    for name in sorted(covered - set(structs)):
        problems.append("%s: in the table but not a versioned struct of the headers" % name)
    for p in problems:
        print(p)
    print("%d versioned structs, %d problems" % (len(structs), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
