"""Level-by-level largest-remainder decomposition in pandas, the way an analyst would write
it with groupby. Reads int64 columns parent (-1 for the root), level and w from a folder;
prints the compute time in ms, the same FNV-1a checksum as bench_decompose.c, and the
process's peak RSS in MiB. split_by_weight serves bench_target_plan's script too."""
import sys

import numpy as np
import pandas as pd

from bench_common import measure, report, timed


def split_by_weight(g, target):
    """Split target[parent] over the rows of g (columns id, parent, w: one level) by w,
    largest remainder within each parent, the lower id among equals; into target[id]."""
    g = g[["id", "parent", "w"]].copy()
    g["pt"] = target[g.parent.to_numpy()]
    g["ws"] = g.groupby("parent")["w"].transform("sum")
    prod = g.w * g.pt
    g["fl"], g["rem"] = prod // g.ws, prod % g.ws
    g["left"] = g.pt - g.groupby("parent")["fl"].transform("sum")
    g = g.sort_values(["parent", "rem", "id"], ascending=[True, False, True])
    g["rn"] = g.groupby("parent").cumcount()
    target[g.id.to_numpy()] = (g.fl + (g.rn < g.left)).to_numpy()


def main():
    folder, runs, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    cols = {k: np.fromfile(f"{folder}/{k}", dtype=np.int64) for k in ("parent", "level", "w")}
    n = len(cols["w"])
    df, load_ms = timed(lambda: pd.DataFrame({"id": np.arange(n, dtype=np.int64), **cols}))

    def decompose():
        target = np.zeros(n, dtype=np.int64)
        target[df.loc[df.parent < 0, "id"].to_numpy()] = total
        for level in range(1, int(df.level.max()) + 1):
            split_by_weight(df[df.level == level], target)
        return target

    target, times = measure(decompose, runs)
    report(folder, "decompose", load_ms, times, target)


if __name__ == "__main__":
    main()
