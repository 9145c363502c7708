#!/usr/bin/env python3
"""examples/fact_source.c prints the January 2026 totals per rep worked out by hand:
January is days [20454, 20485) (2026-01-01 is day 20454; January has 31 days).
  王伟 2,500.50 (01-05) + 1,000.00 (01-01, the first day: included) = 3,500.50
  李娜 1,200.00 (01-02) +   300.00 (01-31, the last day)            = 1,500.00
  张敏   999.99 (01-15) +    50.01 (01-20)                           = 1,050.00
  2025-12-30 (800.00) and 2026-02-01 (4,000.00, `to` excluded) are left out;
  total 6,050.50 in 6 of 8 lines; 8 lines in batches of 3 are 3 batches.
Reps are numbered in order of first appearance (王伟, 李娜, 张敏), and a batch without
its amount column is refused with the library's message."""
import sys

from spt_run import output_of

EXPECTED = """source checked: 8 order lines, 3 reps
refused: order lines batch: required column amount is NULL (count 3)
January 2026 (days 20454 to 20484), 6 lines in 3 batches:
  王伟 3,500.50
  李娜 1,500.00
  张敏 1,050.00
  total 6,050.50
"""


def main():
    out = output_of([sys.argv[1]])
    if out != EXPECTED:
        print(f"fact_source printed:\n{out}expected:\n{EXPECTED}")
        return 1
    print("fact_source prints the totals worked out by hand")
    return 0


if __name__ == "__main__":
    sys.exit(main())
