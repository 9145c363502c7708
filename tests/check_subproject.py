#!/usr/bin/env python3
"""Build examples/subproject_host against this source tree as a meson subproject, in a
temporary directory, and run the host program."""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from spt_run import output_of


def main():
    meson, source_root, host_dir = sys.argv[1:4]
    with tempfile.TemporaryDirectory(prefix="salesplan-host-") as tmp:
        host = pathlib.Path(tmp) / "host"
        shutil.copytree(host_dir, host)
        (host / "subprojects").mkdir()
        os.symlink(os.path.abspath(source_root), host / "subprojects" / "salesplan")
        build = host / "build"
        subprocess.run([meson, "setup", "--force-fallback-for=salesplan", str(build), str(host)],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([meson, "compile", "-C", str(build)], check=True,
                       stdout=subprocess.DEVNULL)
        out = output_of([str(build / "host")])
    print(out, end="")
    if "commission 432.10" not in out:
        print("unexpected output from the subproject host")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
