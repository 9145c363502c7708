#!/usr/bin/env python3
"""examples/target_plan.c prints the target set worked out by hand (the derivation is at
the top of the example): CNY 1,234,567.89 split by last year's sales (A1 300,000.00,
A2 100,000.00, B1 200,000.00, B2 400,000.00; the 2027 line is not history), each rep's
target over the quarters by 20 / 25 / 25 / 30 %, exact shares floored to the fen and the
fen left over to the largest remainders (ties to the earlier part). Per rep, in fen:
  A1 37,037,037: 7,407,407.4 9,259,259.25 9,259,259.25 11,111,111.1 -> +1 to Q1
  A2 12,345,679: 2,469,135.8 3,086,419.75 3,086,419.75 3,703,703.7 -> +1 to Q1, Q2, Q3
  B1 24,691,358: 4,938,271.6 6,172,839.5 6,172,839.5 7,407,407.4 -> +1 to Q1, Q2
  B2 49,382,715: 9,876,543 12,345,678.75 12,345,678.75 14,814,814.5 -> +1 to Q2, Q3
and regions and the company are the sums of their children in every quarter."""
import sys

from spt_run import output_of

EXPECTED = """node,level,annual,Q1,Q2,Q3,Q4
Co,company,1234567.89,246913.59,308641.98,308641.97,370370.35
A,region,493827.16,98765.44,123456.79,123456.79,148148.14
B,region,740740.73,148148.15,185185.19,185185.18,222222.21
A1,rep,370370.37,74074.08,92592.59,92592.59,111111.11
A2,rep,123456.79,24691.36,30864.20,30864.20,37037.03
B1,rep,246913.58,49382.72,61728.40,61728.39,74074.07
B2,rep,493827.15,98765.43,123456.79,123456.79,148148.14
saved as scenario "base" version 1
"""


def main():
    out = output_of([sys.argv[1]])
    if out != EXPECTED:
        print(f"target_plan printed:\n{out}expected:\n{EXPECTED}")
        return 1
    print("target_plan prints the set worked out by hand")
    return 0


if __name__ == "__main__":
    sys.exit(main())
