"""Largest-remainder split in pandas/numpy, the way an analyst would write it. Reads int64
weights from a file; prints the compute time in ms and the same FNV-1a checksum as
bench_allocate.c, so the C side can confirm the results agree."""
import sys
import time

import numpy as np
import pandas as pd

from bench_common import fnv


def main():
    path, total = sys.argv[1], int(sys.argv[2])
    df = pd.DataFrame({"w": np.fromfile(path, dtype=np.int64)})
    t0 = time.perf_counter()
    prod = df["w"] * total
    wsum = df["w"].sum()
    floor, rem = prod // wsum, prod % wsum
    left = total - int(floor.sum())
    # Largest remainder first, lowest index among equals.
    order = np.lexsort((np.arange(len(df)), -rem.to_numpy()))
    out = floor.to_numpy().copy()
    out[order[:left]] += 1
    ms = (time.perf_counter() - t0) * 1e3
    print(f"{ms:.3f} {fnv(out)}")


if __name__ == "__main__":
    main()
