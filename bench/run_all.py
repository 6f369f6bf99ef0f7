"""Runs every benchmark under bench/ with its default settings."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHMARKS = ["decoding.py"]

if __name__ == "__main__":
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        subprocess.run(
            [sys.executable, os.path.join(HERE, name), *sys.argv[1:]],
            check=True,
        )
