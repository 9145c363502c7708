#!/usr/bin/env python3
"""Check that three lists of public functions agree: the symbols the shared library
exports, the global names of the linker version script, and the functions declared SP_API
in the public headers. Prints every difference and exits non-zero on any."""
import pathlib
import re
import subprocess
import sys


def exported(library):
    out = subprocess.run(["nm", "-D", "--defined-only", library], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[1] == "A":  # version nodes are absolute symbols
            continue
        names.add(parts[2].split("@")[0])
    return names


def version_script(path):
    text = re.sub(r"/\*.*?\*/", "", pathlib.Path(path).read_text(), flags=re.S)
    names = set()
    for block in re.findall(r"global:(.*?)(?:local:|\})", text, flags=re.S):
        names.update(n.strip() for n in block.split(";") if n.strip())
    return names


def declared(header_dir):
    names = set()
    for header in sorted(pathlib.Path(header_dir).glob("*.h")):
        text = re.sub(r"/\*.*?\*/", "", header.read_text(), flags=re.S)
        text = re.sub(r"^\s*#.*$", "", text, flags=re.M)  # the SP_API definitions
        for decl in re.findall(r"\bSP_API\b([^;{]*?)\(", text):
            names.add(re.findall(r"(\w+)\s*$", decl)[0])
    return names


def static_only(header_dir):
    """Functions declared SP_STATIC_API: outside the stable ABI, never exported."""
    names = set()
    for header in sorted(pathlib.Path(header_dir).glob("*.h")):
        text = re.sub(r"/\*.*?\*/", "", header.read_text(), flags=re.S)
        text = re.sub(r"^\s*#.*$", "", text, flags=re.M)
        for decl in re.findall(r"\bSP_STATIC_API\b([^;{]*?)\(", text):
            names.add(re.findall(r"(\w+)\s*$", decl)[0])
    return names


def main():
    library, script, headers = sys.argv[1:4]
    static = static_only(headers)
    sets = {
        "exported by the library": exported(library),
        "listed in the version script": version_script(script),
        "declared SP_API in the headers": declared(headers),
    }
    ok = True
    for name, names in sets.items():
        bad = sorted(n for n in names if not n.startswith("sp_"))
        if bad:
            ok = False
            print(f"{name}, but not named sp_*: {' '.join(bad)}")
    items = list(sets.items())
    for i, (a_name, a) in enumerate(items):
        for b_name, b in items[i + 1:]:
            for missing, where, other in ((a - b, a_name, b_name), (b - a, b_name, a_name)):
                if missing:
                    ok = False
                    print(f"{where} but not {other}: {' '.join(sorted(missing))}")
    for name, names in list(sets.items())[:2]:
        leaked = sorted(static & names)
        if leaked:
            ok = False
            print(f"{name}, but declared SP_STATIC_API (static library only): {' '.join(leaked)}")
    count = len(sets["exported by the library"])
    print(f"{count} symbols checked" if ok else "export lists disagree")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
