"""Largest-remainder split in pandas/numpy, the way an analyst would write it. Reads int64
weights (the column `w` in the folder); writes the parts to out.allocate for
bench_allocate.c to compare and prints the times (loading: building the DataFrame)."""
import sys

import numpy as np
import pandas as pd

from bench_common import measure, report, timed


def main():
    folder, runs, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    w = np.fromfile(f"{folder}/w", dtype=np.int64)
    df, load_ms = timed(lambda: pd.DataFrame({"w": w}))

    def split():
        prod = df["w"] * total
        wsum = df["w"].sum()
        floor, rem = prod // wsum, prod % wsum
        left = total - int(floor.sum())
        # Largest remainder first, lowest index among equals.
        order = np.lexsort((np.arange(len(df)), -rem.to_numpy()))
        out = floor.to_numpy().copy()
        out[order[:left]] += 1
        return out

    out, times = measure(split, runs)
    report(folder, "allocate", load_ms, times, out)


if __name__ == "__main__":
    main()
