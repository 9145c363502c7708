"""bench_commission's split workload on the pandas side, as an analyst would write it:
every statement line of a quarter's commission with 2-way splits and per-product rates.

The order lines (id, rep, day, product, amount in cents), the split table (id, entry,
payee, pct: two entries per split line, the entry order the tie rule) and the products'
components (product -> 0 core, 1 addon) are raw columns in the folder. A split line's
parts are its amount by exact allocation (floors of amount x pct / 100, the units left
over one each to the largest remainders, ties to the first entry); the other lines go
whole to their rep. Each part's measure to date x = c + m is a cumulative sum per
(payee, component) in the order (day, id); the marginal payout P (core 3 % to
200,000.00, 5 % to 400,000.00, 8 % above; addon 4 % to 300,000.00, 6.5 % above) in exact
int64, cents x basis points, at c + m and at c, each rounded half even to the cent, and
the line earns the difference. The result is the table (payee, component, fact, base,
earned, tier) in any row order, written as its columns one after another to
out.commission_split; loading is building the DataFrames."""
import sys

import numpy as np
import pandas as pd

from bench_common import measure, report, timed

# (breakpoints in cents, rates in basis points) per component: core, addon
PLANS = [([20_000_000, 40_000_000], [300, 500, 800]), ([30_000_000], [400, 650])]


def payout(x, comp):
    """P(x) in cents x basis points, x >= 0, each row on its component's tiers."""
    out = np.zeros_like(x)
    for k, (breaks, rates) in enumerate(PLANS):
        lo = np.concatenate([[0], breaks])
        hi = np.concatenate([breaks, [np.iinfo(np.int64).max]])
        v = sum(r * np.clip(x - a, 0, b - a) for a, b, r in zip(lo, hi, rates))
        out = np.where(comp == k, v, out)
    return out


def tier(x, comp):
    out = np.zeros_like(x)
    for k, (breaks, _) in enumerate(PLANS):
        out = np.where(comp == k, sum((x >= b).astype(np.int64) for b in breaks), out)
    return out


def round_half_even(v):
    q, r = np.divmod(v, 10_000)
    return q + ((r > 5_000) | ((r == 5_000) & (q % 2 == 1)))


def main():
    folder, runs = sys.argv[1], int(sys.argv[2])

    def col(name, dtype):
        return np.fromfile(f"{folder}/{name}", dtype=dtype)

    cols = {"id": col("id", np.int64), "rep": col("rep", np.uint32).astype(np.int64),
            "day": col("day", np.int32), "product": col("product", np.uint32),
            "amount": col("amount", np.int64)}
    scols = {"id": col("s_id", np.int64), "entry": col("s_entry", np.int32),
             "payee": col("s_payee", np.uint32).astype(np.int64), "pct": col("s_pct", np.int64)}
    pcols = {"product": col("p_product", np.uint32), "comp": col("p_comp", np.int32)}

    def build():
        return (pd.DataFrame(cols), pd.DataFrame(scols),
                pd.Series(pcols["comp"].astype(np.int64), index=pcols["product"]))

    (lines, splits, comp_of), load = timed(build)

    def statements():
        d = lines.assign(comp=lines["product"].map(comp_of))
        whole = d.loc[~d["id"].isin(splits["id"]), ["rep", "comp", "id", "day", "amount"]]
        whole = whole.rename(columns={"rep": "payee", "amount": "base"})
        s = splits.merge(d[["id", "day", "comp", "amount"]], on="id")
        v = s["amount"] * s["pct"]
        s["fl"], s["rem"] = v // 100, v % 100
        s["left"] = s["amount"] - s.groupby("id")["fl"].transform("sum")
        s = s.sort_values(["id", "rem", "entry"], ascending=[True, False, True])
        s["base"] = s["fl"] + (s.groupby("id").cumcount() + 1 <= s["left"])
        parts = pd.concat([whole, s[["payee", "comp", "id", "day", "base"]]], ignore_index=True)
        parts = parts.sort_values(["payee", "comp", "day", "id"])
        x = parts.groupby(["payee", "comp"])["base"].cumsum().to_numpy()
        base = parts["base"].to_numpy()
        comp = parts["comp"].to_numpy()
        earned = round_half_even(payout(x, comp)) - round_half_even(payout(x - base, comp))
        return (parts["payee"].to_numpy(), comp, parts["id"].to_numpy(), base, earned,
                tier(x, comp))

    out, times = measure(statements, runs)
    report(folder, "commission_split", load, times, np.concatenate(out))


if __name__ == "__main__":
    main()
