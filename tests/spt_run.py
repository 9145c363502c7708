"""What the check scripts share (the Python side of tests/support): running the program
they check."""
import os
import shlex
import subprocess


def output_of(argv):
    """The standard output of `argv`, decoded as UTF-8; the program must exit with 0.
    Under `meson test --setup valgrind` it runs under memcheck: tests/valgrind.sh puts the
    command in SPT_EXEC_WRAPPER, and the program's stderr (valgrind's report) goes to the
    test log."""
    wrapper = shlex.split(os.environ.get("SPT_EXEC_WRAPPER", ""))
    return subprocess.run(wrapper + list(argv), check=True,
                          stdout=subprocess.PIPE).stdout.decode("utf-8")
