"""Largest-remainder split of many annual amounts over the months of one profile, vectorised
with pandas/numpy the way an analyst would write it. Reads the int64 column `annual` from
the folder and the profile's weights from the command line; writes the amounts x months
(row by row) to out.time_split for bench_time_split.c to compare and prints the times
(loading: building the DataFrame). time_split serves bench_target_plan's script too."""
import sys

import numpy as np
import pandas as pd

from bench_common import measure, report, timed


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
    folder, runs = sys.argv[1], int(sys.argv[2])
    weights = np.array([int(w) for w in sys.argv[3:]], dtype=np.int64)
    annual = np.fromfile(f"{folder}/annual", dtype=np.int64)
    df, load_ms = timed(lambda: pd.DataFrame({"annual": annual}))
    out, times = measure(lambda: time_split(df["annual"].to_numpy(), weights[None, :]), runs)
    report(folder, "time_split", load_ms, times, out)


if __name__ == "__main__":
    main()
