"""bench_codec's peer: the same round trip with Python's standard json module, json.loads,
then json.dumps in the compact form (no spaces, non-ASCII kept). Reads the document
bench_codec.c wrote (<folder>/record.json); writes the number of nodes json.loads found to
out.loads (one int64) and json.dumps' bytes to out.dumps, for the C side to compare; prints
the times of loads, dumps and both (bench_common's rule)."""
import json
import sys

import numpy as np

from bench_common import measure, report


def main():
    folder, runs = sys.argv[1], int(sys.argv[2])
    with open(f"{folder}/record.json", "rb") as f:
        text = f.read().decode("utf-8")
    doc, loads = measure(lambda: json.loads(text), runs)
    out, dumps = measure(lambda: json.dumps(doc, ensure_ascii=False, separators=(",", ":")), runs)
    _, both = measure(lambda: json.dumps(json.loads(text), ensure_ascii=False,
                                         separators=(",", ":")), runs)
    report(folder, "loads", -1, loads, np.array([len(doc["nodes"])]))
    report(folder, "roundtrip", -1, both, np.array([len(doc["nodes"])]))
    report(folder, "dumps", -1, dumps, np.array([0]))
    with open(f"{folder}/out.dumps", "wb") as f:
        f.write(out.encode("utf-8"))


if __name__ == "__main__":
    main()
