"""Largest-remainder split of many annual amounts over the months of one profile, vectorised
with pandas/numpy the way an analyst would write it. Reads int64 amounts from a file and
the profile's weights from the command line; prints the compute time in ms and the same
FNV-1a checksum (row by row, month by month) as bench_time_split.c. time_split serves
bench_target_plan's script too."""
import sys
import time

import numpy as np
import pandas as pd

from bench_common import fnv


def time_split(annual, weights):
    """Split each annual[i] over the periods by the weights of its row (weights: one row per
    amount, or one row for all): floors, then the largest remainders, the earlier period
    among equals. Returns the amounts x periods array."""
    prod = annual[:, None] * weights
    wsum = weights.sum(axis=1, keepdims=True)
    floor, rem = prod // wsum, prod % wsum
    left = annual - floor.sum(axis=1)
    # Largest remainder first, the earlier month among equals: a stable sort of -rem.
    order = np.argsort(-rem, axis=1, kind="stable")
    rank = np.empty_like(order)
    periods = weights.shape[1]
    np.put_along_axis(rank, order, np.arange(periods)[None, :].repeat(len(annual), 0), axis=1)
    return floor + (rank < left[:, None])


def main():
    path, weights = sys.argv[1], np.array([int(w) for w in sys.argv[2:]], dtype=np.int64)
    df = pd.DataFrame({"annual": np.fromfile(path, dtype=np.int64)})
    t0 = time.perf_counter()
    out = time_split(df["annual"].to_numpy(), weights[None, :])
    ms = (time.perf_counter() - t0) * 1e3
    print(f"{ms:.3f} {fnv(out)}")


if __name__ == "__main__":
    main()
