#!/usr/bin/python3
"""Run every benchmark under tests/bench on the release build and print one table.

    sh tools/run.sh bench [--only facts,target_plan] [--no-install] [--out FILE]

Installs what the peers need when it is missing (Debian packages: python3-pandas,
python3-numpy, sqlite3, libsqlite3-dev, nodejs and npm when there is no node; then
`npm ci` in tests/bench for the pinned @duckdb/node-api), configures build-release
(--buildtype=release -Db_ndebug=true), builds it, runs each benchmark program (their own
output goes to the terminal) and collects their "@" lines (bench.h). Prints the medians
of compute in seconds with each side's ratio to the bare C loop, the budgets with PASS or
MISS, then the loading times, as Markdown (also written to --out, by default
build-release/bench-table.md) headed by the machine, the date and the commit.

A benchmark that fails (a peer missing, a result that differs) stops the run with its
exit status. Timings are never asserted: a MISS is reported, not an error.
"""
import argparse
import datetime
import math
import os
import platform
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "tests", "bench")
BUILD = os.path.join(ROOT, "build-release")
DEBIAN = ["meson", "ninja-build", "gcc", "libc6-dev", "pkg-config", "python3-pandas",
          "python3-numpy", "sqlite3", "libsqlite3-dev"]
SIDES = [("salesplan", "salesplan"), ("bare", "bare C loop"), ("duckdb", "DuckDB (2 threads)"),
         ("pandas", "pandas"), ("sqlite", "SQLite (indexed)"), ("python", "Python dict/json"),
         ("binding", "the Python package")]
# Scripts run with /usr/bin/python3 over the release build's copy of the package, after
# the C programs: name -> path under tests/bench.
PY_BENCHMARKS = {"python": "bench_python.py"}

# The table's rows in this order (others follow in the order the programs print them).
ROWS = [
    ("facts.rep", "fact loop: 10M order lines, amount per rep (10k reps), spi_facts_scan"),
    ("facts.rep.2026", "fact loop, one year of two (day filter)"),
    ("facts.actuals", "actuals per rep x month of a year, sp_target_plan_load_actuals"),
    ("facts.rep.progress", "fact loop with a progress callback"),
    ("facts.rep.memsource", "fact loop over the memory fact source"),
    ("target_plan", "target plan: 1M nodes x 12 months, setup included"),
    ("target_plan.decompose", "target plan: the decomposition alone"),
    ("decompose", "decomposition of 1M nodes by a driver"),
    ("decompose.rollup", "roll-up of 1M nodes' targets"),
    ("time_split", "time split: 1M annual targets x 12 months"),
    ("time_split.allocate_each", "time split by sp_allocate per node"),
    ("time_split.unit", "time split in whole hundreds"),
    ("time_split.working_days", "time split, share x working days"),
    ("allocate", "allocation of a total over 1M parts"),
    ("allocate.capped", "allocation, every 10th part capped"),
    ("allocate.unit1000", "allocation in units of 1000"),
    ("dict.add", "dictionary: 1M distinct ids added"),
    ("dict.find", "dictionary: 1M ids found"),
    ("dict.intern", "dictionary: a 2M-row id column interned"),
    ("storage.mem.put", "memory store: 1M puts, one transaction"),
    ("storage.mem.get", "memory store: 1M gets"),
    ("storage.file.commit", "file store: 100k puts, one commit with fsync"),
    ("storage.file.reopen", "file store: reopen (100k records)"),
    ("storage.file.get", "file store: 100k gets"),
    ("target_store.mem.save", "1M-node plan + 12-month set saved, memory store"),
    ("target_store.mem.load", "... loaded back, memory store"),
    ("target_store.file.save", "... saved, file store (fsync)"),
    ("target_store.file.load", "... reopened and loaded, file store"),
    ("codec", "record codec: 10k-node plan, encode + decode"),
    ("codec.encode", "record codec: encode"),
    ("codec.decode", "record codec: decode"),
    ("codec.decode.strict", "record codec: decode, strict members"),
    ("codec.parse", "record codec: parse only"),
    ("commission.totals", "commission: 10M order lines of 10k reps, 3-tier marginal plan, "
     "per-rep totals (the engine's totals path)"),
    ("commission.lines", "commission: statements with all 10M lines (tier, rate, earning)"),
    ("commission.post", "commission ledger: 10k statements with 10M lines posted to a new "
     "file store (one transaction, fsync)"),
    ("commission.statement", "commission ledger: one payee's statement read back"),
    ("commission.correct", "commission ledger: corrections of a closed 10M-line quarter (1% "
     "of the lines changed)"),
    ("commission.lines_split", "commission: statements with all lines, 2 components by "
     "product, 20 % of the 10M order lines split 2 ways (12M lines)"),
    ("commission.lines_split.1m", "commission: the same on the first 1M order lines "
     "(SQLite's size)"),
    ("py.facts.append", "Python: a 10M-row batch from numpy into a memory fact source"),
    ("py.facts.actuals", "Python: actuals per rep x month of 10M rows (package: a Python "
     "source of numpy arrays)"),
    ("py.dict.add", "Python: 1M ids from a list into a dictionary"),
    ("py.hierarchy.add", "Python: 1M ids and parents from lists into a hierarchy"),
    ("cli.decompose", "salesplan target decompose: 100k nodes from CSV (whole process)"),
]

# Budgets (issue "Benchmarks a skeptical reader trusts"): reported, never asserted.
BUDGETS = [
    ("facts.rep", "salesplan <= 1.3 x bare loop",
     lambda m: m["salesplan"] / m["bare"], lambda x: x <= 1.3, "{:.2f} x"),
    ("target_plan", "pandas / salesplan >= 5 (setup included)",
     lambda m: m["pandas"] / m["salesplan"], lambda x: x >= 5, "{:.1f} x"),
    ("commission.totals", "commission totals <= 1.5 x bare loop",
     lambda m: m["salesplan"] / m["bare"], lambda x: x <= 1.5, "{:.2f} x"),
    ("commission.totals", "DuckDB (2 threads) / salesplan >= 3 (commission totals)",
     lambda m: m["duckdb"] / m["salesplan"], lambda x: x >= 3, "{:.1f} x"),
    ("commission.post", "10k statements with 10M lines posted to the file store <= 10 s",
     lambda m: m["salesplan"], lambda x: x <= 10, "{:.1f} s"),
    ("commission.lines_split", "DuckDB (2 threads) / salesplan >= 1 (commission lines with "
     "splits, per-product rates)",
     lambda m: m["duckdb"] / m["salesplan"], lambda x: x >= 1, "{:.2f} x"),
    ("py.facts.append", "Python package <= 1.05 x the same C call (fact batch)",
     lambda m: m["binding"] / m["salesplan"], lambda x: x <= 1.05, "{:.2f} x"),
    ("py.facts.actuals", "Python package <= 1.05 x the same C call (actuals)",
     lambda m: m["binding"] / m["salesplan"], lambda x: x <= 1.05, "{:.2f} x"),
    ("py.dict.add", "1M ids into a dictionary from Python <= 0.5 s",
     lambda m: m["binding"], lambda x: x <= 0.5, "{:.2f} s"),
    ("py.hierarchy.add", "1M ids into a hierarchy from Python <= 0.5 s",
     lambda m: m["binding"], lambda x: x <= 0.5, "{:.2f} s"),
    ("cli.decompose", "the CLI decomposes 100k nodes from CSV <= 5 s",
     lambda m: m["binding"], lambda x: x <= 5, "{:.1f} s"),
]

LINE = re.compile(r"^@ (\S+)\s+(\S+)\s+load\s+(\S+)\s+min\s+(\S+)\s+med\s+(\S+)\s+max\s+(\S+)")


def sh(cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def install():
    missing = [p for p in DEBIAN if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True
    ).stdout != "install ok installed"]
    # node and npm may come from elsewhere than Debian (NodeSource's nodejs bundles npm).
    if shutil.which("node") is None or shutil.which("npm") is None:
        missing += ["nodejs", "npm"]
    if missing:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        sh(sudo + ["apt-get", "update", "-qq"])
        sh(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    stamp = os.path.join(BENCH, "node_modules", ".package-lock.json")
    lock = os.path.join(BENCH, "package-lock.json")
    if not os.path.exists(stamp) or os.path.getmtime(stamp) < os.path.getmtime(lock):
        sh(["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH)


def build():
    if not os.path.exists(os.path.join(BUILD, "build.ninja")):
        sh(["meson", "setup", BUILD, "--buildtype=release", "-Db_ndebug=true",
            "-Dpython=/usr/bin/python3"], cwd=ROOT)
    sh(["meson", "compile", "-C", BUILD], cwd=ROOT)


def programs():
    """The benchmarks tests/bench/meson.build declares, in its order."""
    with open(os.path.join(BENCH, "meson.build"), encoding="utf-8") as f:
        text = f.read()
    block = text[text.index("sp_benchmarks = {"):]
    block = block[:block.index("}")]
    return re.findall(r"'(\w+)'\s*:", block)


def run(name, results, order):
    if name in PY_BENCHMARKS:
        cmd = ["/usr/bin/python3", os.path.join(BENCH, PY_BENCHMARKS[name])]
        env = dict(os.environ, PYTHONPATH=os.path.join(BUILD, "bindings", "python"))
        env.pop("SALESPLAN_LIBRARY", None)  # the release build's library (_config.py)
    else:
        cmd, env = [os.path.join(BUILD, "tests", "bench", "bench_" + name)], None
    print(f"\n=== {os.path.basename(cmd[-1])}", flush=True)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=BUILD, env=env)
    for line in p.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        m = LINE.match(line)
        if m:
            workload, side, load, lo, med, hi = m.groups()
            results.setdefault(workload, {})[side] = {
                "load": None if load == "-" else float(load) / 1e3,
                "min": float(lo) / 1e3, "med": float(med) / 1e3, "max": float(hi) / 1e3}
            if workload not in order:
                order.append(workload)
    if p.wait() != 0:
        sys.exit(f"bench: {os.path.basename(cmd[-1])} failed with status {p.returncode}")


def seconds(s):
    digits = 2 if s >= 1 else min(6, 2 - math.floor(math.log10(s))) if s > 0 else 1
    return f"{s:.{digits}f}"


def git(*args):
    r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return r.stdout.strip()


def version(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=BENCH)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "?"


def machine():
    cpu = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as f:
        mem = int(f.readline().split()[1]) / 1024 / 1024
    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    duck = version(["node", "-e", "console.log(require('@duckdb/node-api/package.json').version)"])
    return [
        f"- machine: {cpu}, {os.cpu_count()} cores, {mem:.1f} GiB, {platform.system()} "
        f"{platform.release()}",
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; commit "
        f"{git('rev-parse', '--short', 'HEAD')}{dirty}",
        f"- {version(['cc', '--version'])}; SQLite {version(['sqlite3', '--version']).split()[0]}; "
        f"DuckDB @duckdb/node-api {duck} on node {version(['node', '--version'])}; "
        f"pandas {version(['/usr/bin/python3', '-c', 'import pandas; print(pandas.__version__)'])}, "
        f"numpy {version(['/usr/bin/python3', '-c', 'import numpy; print(numpy.__version__)'])}",
    ]


def table(results, order):
    present = [k for k, _ in SIDES if any(k in results[w] for w in results)]
    names = dict(SIDES)
    described = dict(ROWS)
    rows = [w for w, _ in ROWS if w in results] + [w for w in order if w not in described]
    out = ["Compute, median seconds of 5 warm runs (x: ratio to the bare C loop; - : no such "
           "side):", "",
           "| workload | " + " | ".join(names[k] for k in present) + " |",
           "|---|" + "---:|" * len(present)]
    for w in rows:
        sides = results[w]
        bare = sides.get("bare", {}).get("med")
        cells = []
        for k in present:
            if k not in sides:
                cells.append("-")
                continue
            med = sides[k]["med"]
            cell = seconds(med)
            if bare and k != "bare":
                cell += f" ({med / bare:.1f}x)"
            cells.append(cell)
        out.append(f"| {described.get(w, w)} | " + " | ".join(cells) + " |")
    out += ["", "Budgets (reported, not asserted):", "", "| budget | measured | |", "|---|---:|---|"]
    for w, what, value, ok, fmt in BUDGETS:
        meds = {k: v["med"] for k, v in results.get(w, {}).items()}
        try:
            x = value(meds)
            out.append(f"| {what} | {fmt.format(x)} | {'PASS' if ok(x) else 'MISS'} |")
        except (KeyError, ZeroDivisionError):
            out.append(f"| {what} | not measured | |")
    loads = [w for w in rows if any(v["load"] for v in results[w].values())]
    if loads:
        out += ["", "Loading, seconds (one load, or the median of the runs where setup is part "
                "of the work; - : nothing to load, the side reads the arrays in place):", "",
                "| workload | " + " | ".join(names[k] for k in present) + " |",
                "|---|" + "---:|" * len(present)]
    for w in loads:
        sides = results[w]
        cells = ["-" if k not in sides or sides[k]["load"] is None else seconds(sides[k]["load"])
                 for k in present]
        out.append(f"| {described.get(w, w)} | " + " | ".join(cells) + " |")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated benchmark names (facts, target_plan, ...)")
    ap.add_argument("--no-install", action="store_true", help="install nothing")
    ap.add_argument("--out", default=os.path.join(BUILD, "bench-table.md"))
    args = ap.parse_args()
    if not args.no_install:
        install()
    build()
    names = programs() + list(PY_BENCHMARKS)
    if args.only:
        wanted = args.only.split(",")
        unknown = [w for w in wanted if w not in names]
        if unknown:
            sys.exit(f"bench: no benchmark named {', '.join(unknown)} (have: {', '.join(names)})")
        names = [n for n in names if n in wanted]
    results, order = {}, []
    for name in names:
        run(name, results, order)
    text = "\n".join(machine() + [""] + table(results, order)) + "\n"
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print("\n" + text + f"\n(written to {args.out})")


if __name__ == "__main__":
    main()
