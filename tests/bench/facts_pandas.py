"""The fact-source benchmark's pandas side: amount per rep over raw columns, all rows and
one year. Prints both times in ms and FNV-1a checksums of the per-rep sums (reps without
rows count 0), the same as bench_facts.c computes, so the C side can compare."""
import sys
import time

import numpy as np
import pandas as pd

from bench_common import fnv


def main():
    d, reps, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    df = pd.DataFrame({
        "rep": np.fromfile(f"{d}/rep", dtype=np.uint32),
        "day": np.fromfile(f"{d}/day", dtype=np.int32),
        "amount": np.fromfile(f"{d}/amount", dtype=np.int64),
    })
    t0 = time.perf_counter()
    all_rows = df.groupby("rep")["amount"].sum()
    t1 = time.perf_counter()
    year = df[(df["day"] >= lo) & (df["day"] < hi)].groupby("rep")["amount"].sum()
    t2 = time.perf_counter()
    full = all_rows.reindex(range(reps), fill_value=0)
    part = year.reindex(range(reps), fill_value=0)
    print(f"{(t1 - t0) * 1e3:.1f} {(t2 - t1) * 1e3:.1f} {fnv(full)} {fnv(part)}")


if __name__ == "__main__":
    main()
