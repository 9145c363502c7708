#!/usr/bin/env python3
"""Build examples/subproject_host against this source tree as a meson subproject, in a
temporary directory, and run the host program."""
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import tempfile


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
        # Under `meson test --setup valgrind` the host runs under memcheck
        # (tests/valgrind.sh); its stderr goes to the test log.
        wrapper = shlex.split(os.environ.get("SPT_EXEC_WRAPPER", ""))
        out = subprocess.run(wrapper + [str(build / "host")], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
    print(out, end="")
    if "commission 432.10" not in out:
        print("unexpected output from the subproject host")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
