#!/usr/bin/env python3
"""The C example in README.md is examples/quickstart.c, byte for byte, and the built
program prints the split computed by hand:
  1,000,000.00 by 420,000 : 310,000 : 150,000 (sum 880,000), in cents:
  100000000 * 42/88 = 47727272.72..., * 31/88 = 35227272.72..., * 15/88 = 17045454.54...
  floors sum to 99999998; the two cents left go to the two largest remainders (.72, .72)."""
import pathlib
import re
import sys

from spt_run import output_of

EXPECTED = "region 1: 477,272.73\nregion 2: 352,272.73\nregion 3: 170,454.54\n"


def main():
    readme, source, program = sys.argv[1:4]
    blocks = re.findall(r"```c\n(.*?)```", pathlib.Path(readme).read_text(), flags=re.S)
    code = pathlib.Path(source).read_text()
    if code not in blocks:
        print("README.md has no ```c block equal to examples/quickstart.c")
        return 1
    lines = code.count("\n")
    if lines > 25:
        print(f"the README example has {lines} lines; keep it short")
        return 1
    out = output_of([program])
    if out != EXPECTED:
        print(f"quickstart printed:\n{out}expected:\n{EXPECTED}")
        return 1
    print("README example matches examples/quickstart.c and prints the expected split")
    return 0


if __name__ == "__main__":
    sys.exit(main())
