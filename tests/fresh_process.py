"""Running a script in a new Python process, as a fresh server would."""

import os
import subprocess
import sys


def run_script(script, *args, cwd):
    """Runs ``script`` (``python -c``) with ``args``, TensorFlow quiet and
    no GPU; a failure fails the test with the end of its stderr."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    process = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 0, process.stderr[-3000:]
