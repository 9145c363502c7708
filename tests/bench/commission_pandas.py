"""bench_commission's pandas side, as an analyst would write it: each rep's commission for
the quarter from its order lines, a 3-tier marginal plan on the rep's sum (3 % to
5,000.00, 5 % to 10,000.00, 8 % above), rounded half even to the cent per total. The sum
by groupby, then the tiers vectorised in exact int64 arithmetic: cents x the rate in basis
points, divided by 10,000 with the remainder deciding the rounding. Reads the raw columns
rep (uint32) and amount (int64, cents) from the folder; loading is building the
DataFrame; the result is dense (a rep with no lines earns 0) and is written to
out.commission for bench_commission.c to compare."""
import sys

import numpy as np
import pandas as pd

from bench_common import measure, report, timed

B1, B2 = 500_000, 1_000_000  # 5,000.00 and 10,000.00 in cents
R1, R2, R3 = 300, 500, 800  # 3 %, 5 %, 8 % in basis points


def main():
    folder, runs, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rep = np.fromfile(f"{folder}/rep", dtype=np.uint32)
    amount = np.fromfile(f"{folder}/amount", dtype=np.int64)
    df, load = timed(lambda: pd.DataFrame({"rep": rep, "amount": amount}))

    def commission():
        x = df.groupby("rep")["amount"].sum().reindex(range(reps), fill_value=0).to_numpy()
        v = (R1 * np.minimum(x, B1) + R2 * np.clip(x - B1, 0, B2 - B1)
             + R3 * np.maximum(x - B2, 0))  # cents x basis points, v >= 0
        q, r = np.divmod(v, 10_000)
        return q + ((r > 5_000) | ((r == 5_000) & (q % 2 == 1)))

    out, times = measure(commission, runs)
    report(folder, "commission", load, times, out)


if __name__ == "__main__":
    main()
