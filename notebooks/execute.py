"""Builds every notebook from its paired ``.py`` file and runs it.

    python notebooks/execute.py                 # all notebooks
    python notebooks/execute.py 04_translation  # some of them

Each ``notebooks/NN_name.py`` (jupytext percent format, the reviewable
text) is converted to ``NN_name.ipynb``, executed top to bottom with its
default (quick) parameters from the notebooks/ directory, and saved with its
outputs. Prints the execution time of each notebook.
"""

import glob
import os
import re
import sys
import time

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = os.path.dirname(os.path.abspath(__file__))


def notebook_sources(names=()):
    """The paired ``.py`` files, all or those named (without extension)."""
    paths = sorted(glob.glob(os.path.join(HERE, "[0-9][0-9]_*.py")))
    if names:
        wanted = {os.path.splitext(os.path.basename(n))[0] for n in names}
        paths = [p for p in paths if os.path.basename(p)[:-3] in wanted]
    return paths


def build(path):
    """The notebook of a paired ``.py`` file, without outputs."""
    notebook = jupytext.read(path)
    notebook.metadata["jupytext"] = {"formats": "ipynb,py:percent"}
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


# TensorFlow's C++ start-up lines (written before its logging is set up, so
# TF_CPP_MIN_LOG_LEVEL cannot silence them); dropped from saved outputs.
_STARTUP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\).*"
    r"|[IWE]\d{4} [0-9:.]+ +\d+ [a-z_]+\.(cc|h):\d+\].*"
    r"|To enable the following instructions:.*)$"
)


def strip_startup_noise(notebook):
    """Removes TensorFlow's C++ start-up lines from stderr outputs."""
    for cell in notebook.cells:
        outputs = []
        for output in cell.get("outputs", []):
            if (
                output.get("output_type") == "stream"
                and output.name == "stderr"
            ):
                lines = [
                    line
                    for line in output.text.splitlines(keepends=True)
                    if not _STARTUP_NOISE.match(line.rstrip("\n"))
                ]
                if not "".join(lines).strip():
                    continue
                output.text = "".join(lines)
            outputs.append(output)
        if cell.cell_type == "code":
            cell.outputs = outputs
    return notebook


def run(notebook, workdir, timeout=1200):
    """Executes ``notebook`` in ``workdir``; returns the seconds it took."""
    started = time.time()
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": workdir}},  # the working directory
    )
    client.execute()
    return time.time() - started


def main(names):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for path in notebook_sources(names):
        notebook = build(path)
        # Notebooks run from notebooks/ (they read ../configs) and write
        # their runs to temporary directories.
        seconds = run(notebook, HERE)
        strip_startup_noise(notebook)
        nbformat.write(notebook, path[:-3] + ".ipynb")
        print(f"{os.path.basename(path)[:-3]}: {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
