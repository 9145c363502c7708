"""bench_facts' pandas side, as an analyst would write it: amount per rep (all rows and
2026 only) and 2026's amount per rep and month (months from the day -> month table
month_of). Reads the raw columns rep (uint32), day (int32), amount and month_of (int64)
from the folder; loading is building the DataFrame; every result is dense (reps with no
rows count 0) and is written to out.<name> for bench_facts.c to compare."""
import sys

import numpy as np
import pandas as pd

from bench_common import measure, report, timed


def main():
    folder, runs = sys.argv[1], int(sys.argv[2])
    reps, lo, hi = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    rep = np.fromfile(f"{folder}/rep", dtype=np.uint32)
    day = np.fromfile(f"{folder}/day", dtype=np.int32)
    amount = np.fromfile(f"{folder}/amount", dtype=np.int64)
    month_of = np.fromfile(f"{folder}/month_of", dtype=np.int64)
    df, load = timed(lambda: pd.DataFrame({"rep": rep, "day": day, "amount": amount}))

    def by_rep():
        return df.groupby("rep")["amount"].sum().reindex(range(reps), fill_value=0).to_numpy()

    def by_rep_2026():
        year = df[(df["day"] >= lo) & (df["day"] < hi)]
        return year.groupby("rep")["amount"].sum().reindex(range(reps), fill_value=0).to_numpy()

    def actuals():
        year = df[(df["day"] >= lo) & (df["day"] < hi)]
        month = month_of[year["day"].to_numpy() - lo]
        sums = year["amount"].groupby([year["rep"].to_numpy(), month]).sum()
        out = np.zeros((reps, 12), dtype=np.int64)
        out[sums.index.get_level_values(0), sums.index.get_level_values(1)] = sums.to_numpy()
        return out

    for name, fn in (("rep", by_rep), ("rep2026", by_rep_2026), ("actuals", actuals)):
        out, times = measure(fn, runs)
        report(folder, name, load, times, out)


if __name__ == "__main__":
    main()
