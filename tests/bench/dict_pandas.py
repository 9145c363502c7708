"""bench_dict's peers: pandas (factorize for adding the distinct ids and for interning the
column, Index.get_indexer for finding) and a plain Python dict. Reads the distinct ids then
the id column (one a line) from <folder>/ids; loading is building the Series / Index
(none for the dict); writes the codes (in order of first appearance) to out.<name> for
bench_dict.c to compare and prints the times."""
import sys

import numpy as np
import pandas as pd

from bench_common import measure, report, timed


def main():
    folder, runs, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(f"{folder}/ids", encoding="utf-8") as f:
        lines = f.read().split("\n")[:-1]
    ids, col = lines[:n], lines[n:]

    series, load = timed(lambda: pd.Series(ids))
    out, times = measure(lambda: pd.factorize(series, sort=False)[0], runs)
    report(folder, "add", load, times, out)
    index, load = timed(lambda: pd.Index(ids))
    out, times = measure(lambda: index.get_indexer(ids), runs)
    report(folder, "find", load, times, out)
    column, load = timed(lambda: pd.Series(col))
    out, times = measure(lambda: pd.factorize(column, sort=False)[0], runs)
    report(folder, "intern", load, times, out)

    out, times = measure(lambda: {s: i for i, s in enumerate(ids)}, runs)
    d = out
    report(folder, "py_add", -1, times, np.fromiter(d.values(), dtype=np.int64, count=len(d)))
    out, times = measure(lambda: [d[s] for s in ids], runs)
    report(folder, "py_find", -1, times, out)

    def intern():
        seen = {}
        return [seen.setdefault(s, len(seen)) for s in col]

    out, times = measure(intern, runs)
    report(folder, "py_intern", -1, times, out)


if __name__ == "__main__":
    main()
