#!/usr/bin/python3
"""What the Python package costs over the library's own calls (issue "Python and the
command line"), run by tools/bench.py on the release build:

- py.facts.append: a 10M-row batch of order lines (id, day, rep, amount) from numpy arrays
  into a memory fact source: MemoryFactSource.append against the same C call
  (sp_fact_source_memory_append) made with a batch struct built once, outside the timing.
- py.facts.actuals: actuals per rep x month over those 10M rows through
  TargetPlan.load_actuals, the rows coming from a Python FactSource that yields the numpy
  arrays in batches, against the same call over the C memory source.
- py.dict.add, py.hierarchy.add: 1M distinct ids from a Python list of str into a
  Dictionary / a Hierarchy (packed), everything from the list included.
- cli.decompose: the salesplan command decomposing a 100k-node hierarchy read from CSV
  (the process included: start, import, reading the files, saving to a file store).

Every side warm (one untimed run), then the median of 5; the "@" lines are bench.h's:
"@ <workload> <side> load <ms> min <ms> med <ms> max <ms> <note>". Sides: salesplan (the C
call itself), binding (through the package). A side that cannot run is an error.
"""
import ctypes
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import salesplan as sp
from salesplan import _ffi
from salesplan._lib import lib

RUNS = 5
ROWS = 10_000_000
REPS = 10_000
IDS = 1_000_000


def measure(fn, runs=RUNS):
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def line(workload, side, times, note, load="-"):
    print(f"@ {workload:<22} {side:<9} load {load:>9}  min {min(times):9.2f} med "
          f"{statistics.median(times):9.2f} max {max(times):9.2f}  {note}", flush=True)


def facts(rng):
    day0 = sp.day_of("2026-01-01")
    cols = {
        "id": np.arange(ROWS, dtype=np.uint64),
        "day": (day0 + rng.integers(0, 365, ROWS)).astype(np.int32),
        "rep": rng.integers(0, REPS, ROWS).astype(np.uint32),
        "amount": rng.integers(1, 100_000, ROWS).astype(np.int64),
    }
    return cols


def bench_append(cols):
    ctx = sp.Context()
    batch = _ffi.sp_fact_batch()
    lib.sp_fact_batch_init(ctypes.byref(batch), _ffi.SP_FACT_BATCH_VERSION)
    batch.kind = sp.FactKind.ORDER_LINES
    batch.count = ROWS
    for name, ct in (("id", ctypes.c_uint64), ("day", ctypes.c_int32), ("rep", ctypes.c_uint32),
                     ("amount", ctypes.c_int64)):
        setattr(batch, name, cols[name].ctypes.data_as(ctypes.POINTER(ct)))

    def c_call():
        src = ctypes.POINTER(_ffi.sp_fact_source)()
        ctx.call(lib.sp_fact_source_memory_new, ctypes.byref(src), ctx)
        ctx.call(lib.sp_fact_source_memory_append, src, ctypes.byref(batch))
        lib.sp_fact_source_free(src)

    def binding():
        with sp.MemoryFactSource(ctx=ctx) as src:
            src.append("order_lines", **cols)

    line("py.facts.append", "salesplan", measure(c_call), "sp_fact_source_memory_append, one call")
    line("py.facts.append", "binding", measure(binding), "MemoryFactSource.append(**numpy columns)")


def bench_actuals(cols):
    """load_actuals over the 10M rows: a C memory source through the raw call, and a
    Python source yielding the numpy arrays as one batch through TargetPlan.load_actuals."""
    ctx = sp.Context()
    reps = [f"r{i:05d}" for i in range(REPS)]
    h = sp.Hierarchy(ctx=ctx)
    h.add_all(["all"] + reps, [None] + ["all"] * REPS)
    h.validate()
    plan = sp.TargetPlan("bench", h, fiscal_year=2026, currency="CNY", ctx=ctx)
    d = sp.Dictionary(ctx=ctx)
    d.add_all(reps)  # the facts' rep column holds these indexes
    mem = sp.MemoryFactSource(ctx=ctx)
    mem.append("order_lines", **cols)
    opts = _ffi.sp_target_history_options()
    lib.sp_target_history_options_init(ctypes.byref(opts), _ffi.SP_TARGET_HISTORY_OPTIONS_VERSION)
    n = len(h)

    def c_call():
        # a fresh result, as the package returns one (a buffer of 120k cells: its first
        # touch is part of either side's cost)
        out = (ctypes.c_int64 * (n * 12))()
        ctx.call(lib.sp_target_plan_load_actuals, plan, mem, d, ctypes.byref(opts), None, out,
                 None)
        return out

    def batches(kind, from_day, to_day):
        if kind == sp.FactKind.ORDER_LINES:
            yield cols

    py_source = sp.FactSource.from_batches(batches, ctx=ctx)

    def binding():
        return plan.load_actuals(py_source, d, minor=True)

    c_times = measure(c_call)
    want = list(c_call())
    got = binding()
    # the same actuals both ways, cell by cell
    if [v for row in got.periods for v in row] != want:
        sys.exit("bench_python: the actuals differ between the two sides")
    line("py.facts.actuals", "salesplan", c_times,
         "sp_target_plan_load_actuals over the memory source")
    line("py.facts.actuals", "binding", measure(binding),
         "TargetPlan.load_actuals over a Python source of one numpy batch")


def bench_ids(rng):
    ids = [f"rep-{i:07d}-{rng.integers(1 << 30)}" for i in range(IDS)]
    ctx = sp.Context()

    def dictionary():
        with sp.Dictionary(ctx=ctx) as d:
            d.add_all(ids)

    line("py.dict.add", "binding", measure(dictionary), "Dictionary.add_all(list of 1M str)")
    parents = [None] + ["root"] * (IDS - 1)
    names = ["root"] + ids[1:]

    def hierarchy():
        with sp.Hierarchy(ctx=ctx) as h:
            h.add_all(names, parents)

    line("py.hierarchy.add", "binding", measure(hierarchy),
         "Hierarchy.add_all(1M ids, parents)")


def bench_cli(rng):
    """salesplan target decompose of a 100k-node company from CSV into a fresh file store,
    the whole process timed (start, imports, reading, checking, computing, saving, writing
    the set as CSV)."""
    nodes = [("Co", "", "company")]
    for r in range(20):
        nodes.append((f"R{r:02d}", "Co", "region"))
    for g in range(1000):
        nodes.append((f"G{g:04d}", f"R{g % 20:02d}", "grid"))
    reps = 100_000 - len(nodes)
    for i in range(reps):
        nodes.append((f"P{i:06d}", f"G{i % 1000:04d}", "rep"))
    potential = rng.integers(1, 1_000_000, len(nodes))
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "nodes.csv"), "w", encoding="utf-8") as f:
            f.write("id,parent,level\n")
            f.writelines(f"{a},{b},{c}\n" for a, b, c in nodes)
        with open(os.path.join(d, "drivers.csv"), "w", encoding="utf-8") as f:
            f.write("id,potential\n")
            f.writelines(f"{n[0]},{v}\n" for n, v in zip(nodes, potential.tolist()))
        with open(os.path.join(d, "settings.json"), "w", encoding="utf-8") as f:
            f.write('{"levels": {"region": {"method": "driver", "driver": "potential"}, '
                    '"grid": {"method": "driver", "driver": "potential"}, '
                    '"rep": {"method": "driver", "driver": "potential"}}}')
        store = os.path.join(d, "plans.spstore")
        cmd = [sys.executable, "-m", "salesplan", "target", "decompose", "--store", store,
               "--plan", "FY2027", "--hierarchy", os.path.join(d, "nodes.csv"),
               "--drivers", os.path.join(d, "drivers.csv"),
               "--settings", os.path.join(d, "settings.json"), "--fiscal-year", "2027",
               "--currency", "CNY", "--total", "123456789.00", "--format", "csv",
               "--output", os.path.join(d, "set.csv"), "--no-progress"]

        def run():
            if os.path.exists(store):
                os.unlink(store)
            subprocess.run(cmd, check=True)

        times = measure(run)
        with open(os.path.join(d, "set.csv"), encoding="utf-8") as f:
            rows = sum(1 for _ in f) - 1
        if rows != len(nodes):
            sys.exit(f"bench_python: the command wrote {rows} rows for {len(nodes)} nodes")
    line("cli.decompose", "binding", times,
         "salesplan target decompose, 100k nodes from CSV to a file store and a CSV")


def main():
    rng = np.random.default_rng(20261208)
    cols = facts(rng)
    bench_append(cols)
    bench_actuals(cols)
    bench_ids(rng)
    bench_cli(rng)
    return 0


if __name__ == "__main__":
    sys.exit(main())
