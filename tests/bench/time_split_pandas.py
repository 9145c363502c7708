"""Largest-remainder split of many annual amounts over the months of one profile, vectorised
with pandas/numpy the way an analyst would write it. Reads int64 amounts from a file and
the profile's weights from the command line; prints the compute time in ms and the same
FNV-1a checksum (row by row, month by month) as bench_time_split.c."""
import sys
import time

import numpy as np
import pandas as pd


def main():
    path, weights = sys.argv[1], np.array([int(w) for w in sys.argv[2:]], dtype=np.int64)
    df = pd.DataFrame({"annual": np.fromfile(path, dtype=np.int64)})
    t0 = time.perf_counter()
    prod = df["annual"].to_numpy()[:, None] * weights[None, :]
    wsum = int(weights.sum())
    floor, rem = prod // wsum, prod % wsum
    left = df["annual"].to_numpy() - floor.sum(axis=1)
    # Largest remainder first, the earlier month among equals: a stable sort of -rem.
    order = np.argsort(-rem, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(weights.size)[None, :].repeat(len(df), 0), axis=1)
    out = floor + (rank < left[:, None])
    ms = (time.perf_counter() - t0) * 1e3
    h = 1469598103934665603
    for v in out.astype(np.uint64).ravel().tolist():
        h = ((h ^ v) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    print(f"{ms:.3f} {h}")


if __name__ == "__main__":
    main()
