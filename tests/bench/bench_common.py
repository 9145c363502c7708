"""What the benchmarks' pandas scripts share: the timing rule of bench.h (one untimed run,
then `runs` timed ones; min, median, max) and the result line and file the C side reads:
"= <name> load <ms> min <ms> med <ms> max <ms> mib <MiB>" on stdout, the result as raw
int64 in <folder>/out.<name>, compared value by value with salesplan's."""
import resource
import statistics
import time

import numpy as np


def measure(fn, runs):
    """fn() once untimed, then `runs` times; returns (last result, the times in ms)."""
    out = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return out, times


def timed(fn):
    """fn() once; returns (its result, ms)."""
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) * 1e3


def report(folder, name, load_ms, times, out):
    """load_ms < 0: nothing to load (printed "-" by the C side)."""
    np.ascontiguousarray(np.asarray(out), dtype=np.int64).tofile(f"{folder}/out.{name}")
    print(f"= {name} load {load_ms:.3f} min {min(times):.3f} med {statistics.median(times):.3f} "
          f"max {max(times):.3f} mib {peak_mib():.1f}", flush=True)


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
