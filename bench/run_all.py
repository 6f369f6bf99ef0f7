"""Runs every benchmark under bench/ with its default settings.

    python bench/run_all.py    # ~50 min on a 2-core CPU

The training benchmark on real data runs when the Multi30k copy is at
$DATA_DIR/multi30k (docs/data.md lists the data directory's layout).
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MULTI30K = os.path.join(os.environ.get("DATA_DIR", "data"), "multi30k")
BENCHMARKS = [
    ["decoding.py"],
    ["attention.py"],
    ["training.py"],
    ["training.py", "--sizes"],
    ["lengths.py"],
]
if os.path.isdir(MULTI30K):
    BENCHMARKS.append(["training.py", "--data", os.path.normpath(MULTI30K)])

if __name__ == "__main__":
    for name, *arguments in BENCHMARKS:
        print(f"== {' '.join([name, *arguments])}", flush=True)
        subprocess.run(
            [sys.executable, os.path.join(HERE, name), *arguments],
            check=True,
        )
