"""The dictionary benchmark's alternatives: a Python dict and pandas.factorize. Reads the
distinct ids then the id column (one per line); prints the times in ms and FNV-1a
checksums of the codes, the same as bench_dict.c computes, so the C side can compare."""
import sys
import time

import pandas as pd

from bench_common import fnv


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")[:-1]
    ids, col = lines[:n], lines[n:]

    t0 = time.perf_counter()
    d = {s: i for i, s in enumerate(ids)}
    t1 = time.perf_counter()
    found = [d[s] for s in ids]
    t2 = time.perf_counter()
    seen = {}
    codes = [seen.setdefault(s, len(seen)) for s in col]
    t3 = time.perf_counter()
    series = pd.Series(col)
    t4 = time.perf_counter()
    pd_codes, _ = pd.factorize(series, sort=False)
    t5 = time.perf_counter()
    ms = lambda a, b: (b - a) * 1e3
    print(f"{ms(t0, t1):.1f} {ms(t1, t2):.1f} {ms(t2, t3):.1f} {ms(t4, t5):.1f} "
          f"{fnv(found)} {fnv(codes)} {fnv(pd_codes)}")


if __name__ == "__main__":
    main()
