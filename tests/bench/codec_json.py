"""The same round trip with Python's standard json module: json.loads, then json.dumps in
the compact form (no spaces, non-ASCII kept). Reads the document bench_codec.c wrote,
writes json.dumps' bytes next to it (path + ".py") so the C side can compare them, and
prints: nodes parsed, best loads ms, best dumps ms."""
import json
import sys
import time

RUNS = 10


def main():
    path = sys.argv[1]
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    best_loads = best_dumps = float("inf")
    for _ in range(RUNS):
        t0 = time.perf_counter()
        doc = json.loads(text)
        t1 = time.perf_counter()
        out = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        t2 = time.perf_counter()
        best_loads = min(best_loads, t1 - t0)
        best_dumps = min(best_dumps, t2 - t1)
    with open(path + ".py", "wb") as f:
        f.write(out.encode("utf-8"))
    print(f"{len(doc['nodes'])} {best_loads * 1e3:.3f} {best_dumps * 1e3:.3f}")


if __name__ == "__main__":
    main()
