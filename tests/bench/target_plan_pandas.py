"""bench_target_plan's pandas side: the plan's decomposition, both steps, as an analyst would
write it with pandas/numpy. Reads int64 columns parent (-1 for the root), level, w (the
driver a level splits by), b (the growth baseline), f and c (growth floor and cap as
sp_dec), pid (the profile of a node's leaves) and profiles (2 x 12 weights) from a folder:
regions (level 1) and reps (level 3) by w, grids (level 2) by growth over b within [f, c],
the reps' targets over the months by their profile, every inner node's months the sums
of its children's. Writes every node x month (node by node) to out.total and
out.decompose for bench_target_plan.c to compare, and prints their times: "total" with the DataFrame built from the arrays in every run (setup
included), "decompose" the compute alone."""
import statistics
import sys

import numpy as np
import pandas as pd

from bench_common import report, timed
from decompose_pandas import split_by_weight
from time_split_pandas import time_split

ONE = 10**9  # sp_dec 1


def group_sums(parent, **cols):
    """Each row's parent's sum of each column (exact int64)."""
    df = pd.DataFrame({"parent": parent, **cols})
    sums = df.groupby("parent").transform("sum")
    return [sums[k].to_numpy() for k in cols]


def split_by_growth(g, target):
    """Split target[parent] over the rows of g (columns id, parent, b, f, c) by growth over
    b: x = clamp(b * L, lo, hi) with lo = ceil(b (1 + f)), hi = floor(b (1 + c)) and L
    common within each parent, found by sp_allocate's clamping rounds; the free rows
    share what is left by largest remainder, the lower id among equals."""
    ids, parent, b = g.id.to_numpy(), g.parent.to_numpy(), g.b.to_numpy()
    lo = -((-b * (ONE + g.f.to_numpy())) // ONE)
    hi = b * (ONE + g.c.to_numpy()) // ONE
    st = np.zeros(len(g), dtype=np.int64)  # 0 free, 1 at lo, 2 at hi
    while True:
        free = st == 0
        fixed, w0 = group_sums(parent, fixed=np.where(st == 1, lo, np.where(st == 2, hi, 0)),
                               w0=np.where(free, b, 0))
        r0 = target[parent] - fixed
        bp, hw, lw = b * r0, hi * w0, lo * w0
        ex, sh = np.where(free & (bp > hw), bp - hw, 0), np.where(free & (bp < lw), lw - bp, 0)
        all_ex, all_sh = group_sums(parent, ex=ex, sh=sh)
        to_hi, to_lo = (ex > 0) & (all_ex >= all_sh), (sh > 0) & (all_sh >= all_ex)
        if not (to_hi.any() or to_lo.any()):
            break
        st[to_hi], st[to_lo] = 2, 1
    w0 = np.where(w0 > 0, w0, 1)
    fl, rem = np.where(free, bp // w0, 0), np.where(free, bp % w0, 0)
    (sum_fl,) = group_sums(parent, fl=fl)
    df = pd.DataFrame({"id": ids, "parent": parent, "st": st, "rem": rem, "left": r0 - sum_fl,
                       "x": np.where(st == 1, lo, np.where(st == 2, hi, fl))})
    df = df.sort_values(["parent", "st", "rem", "id"], ascending=[True, True, False, True])
    df["rn"] = df.groupby("parent").cumcount()
    target[df.id.to_numpy()] = (df.x + ((df.st == 0) & (df.rn < df.left))).to_numpy()


def main():
    folder, runs, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    cols = {k: np.fromfile(f"{folder}/{k}", dtype=np.int64)
            for k in ("parent", "level", "w", "b", "f", "c", "pid")}
    profiles = np.fromfile(f"{folder}/profiles", dtype=np.int64).reshape(-1, 12)
    n = len(cols["w"])

    def load():
        return pd.DataFrame({"id": np.arange(n, dtype=np.int64), **cols})

    def decompose(df):
        target = np.zeros(n, dtype=np.int64)
        target[df.loc[df.parent < 0, "id"].to_numpy()] = total
        split_by_weight(df[df.level == 1], target)
        split_by_growth(df[df.level == 2], target)
        split_by_weight(df[df.level == 3], target)
        cells = np.zeros((n, profiles.shape[1]), dtype=np.int64)
        leaves = df[df.level == 3]
        ids = leaves.id.to_numpy()
        cells[ids] = time_split(target[ids], profiles[leaves.pid.to_numpy()])
        for level in (3, 2, 1):
            kids = df[df.level == level]
            sums = pd.DataFrame(cells[kids.id.to_numpy()]).groupby(kids.parent.to_numpy()).sum()
            cells[sums.index.to_numpy()] = sums.to_numpy()
        return cells

    # Setup included: every run builds the DataFrame from the arrays, then decomposes.
    loads, computes = [], []
    for r in range(runs + 1):
        df, load_ms = timed(load)
        cells, compute_ms = timed(lambda: decompose(df))
        if r > 0:
            loads.append(load_ms)
            computes.append(compute_ms)
    load_med = statistics.median(loads)
    report(folder, "total", load_med, [a + b for a, b in zip(loads, computes)], cells)
    report(folder, "decompose", load_med, computes, cells)


if __name__ == "__main__":
    main()
