#!/usr/bin/env python3
"""ABI baseline of libsalesplan: `check` compares the built library with the checked-in
baseline and fails on any change to existing symbols and their types; `update` rewrites the baseline (only on
purpose before 1.0, with a changelog entry). Uses abidw/abidiff from abigail-tools."""
import subprocess
import sys

# abidiff's exit status is a bit mask (libabigail's abidiff documentation).
ABIDIFF_ERROR = 1
ABIDIFF_USAGE_ERROR = 2
ABIDIFF_ABI_CHANGE = 4
ABIDIFF_ABI_INCOMPATIBLE_CHANGE = 8


def update(abidw, library, headers, baseline):
    subprocess.run([abidw, "--no-corpus-path", "--no-comp-dir-path", "--drop-private-types",
                    "--headers-dir", headers, "--out-file", baseline, library], check=True)
    print(f"wrote {baseline}")
    return 0


def check(abidiff, library, headers, baseline):
    proc = subprocess.run([abidiff, "--no-added-syms", "--drop-private-types",
                           "--headers-dir2", headers, baseline, library],
                          capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode & (ABIDIFF_ERROR | ABIDIFF_USAGE_ERROR):
        print("abidiff could not compare the library with the baseline")
        return 1
    # abidiff sets the "incompatible" bit only for removed symbols; a changed struct size
    # or field type is a plain "ABI change". Added symbols are not reported at all
    # (--no-added-syms), so any report left is a change to what exists: fail on it.
    if proc.returncode & (ABIDIFF_ABI_CHANGE | ABIDIFF_ABI_INCOMPATIBLE_CHANGE):
        print("the ABI of existing symbols changed against abi/libsalesplan.abi; if on purpose "
              "(before 1.0, or a compatible extension), run `ninja abi-update` and say so in "
              "CHANGELOG.md")
        return 1
    print("ABI matches the baseline (added symbols are allowed)")
    return 0


def main():
    action, tool, library, headers, baseline = sys.argv[1:6]
    return (update if action == "update" else check)(tool, library, headers, baseline)


if __name__ == "__main__":
    sys.exit(main())
