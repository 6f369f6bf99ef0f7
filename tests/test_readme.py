"""The Python examples of README.md run and do what they say."""

import pathlib
import re

import numpy as np
import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_has_examples():
    assert len(_python_blocks()) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_readme_example_runs(index):
    namespace = {}
    exec(
        compile(_python_blocks()[index], f"README.md[{index}]", "exec"),
        namespace,
    )
    if "history" in namespace:  # the classifier learns the task
        assert namespace["history"].history["accuracy"][-1] > 0.9
    if "generated" in namespace:  # the translator reverses unseen inputs
        generated = np.concatenate(namespace["generated"], 1)
        expected = namespace["test_source"][:, ::-1]
        assert (generated == expected).mean() > 0.9


def _walkthrough():
    section = README.read_text().split("## Your own data in 5 minutes")[1]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_own_data_walkthrough_runs_as_written(tmp_path):
    """The commands of "Your own data in 5 minutes", on generated pairs
    (the reversal of random word sequences) and with fewer steps."""
    import os
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    words = ["red", "blue", "cat", "dog", "sun", "sea", "tree", "bird"]
    with open(tmp_path / "pairs.tsv", "w") as handle:
        for _ in range(2000):
            line = list(rng.choice(words, rng.integers(3, 7)))
            handle.write(f"{' '.join(line)}\t{' '.join(line[::-1])}\n")
    script = _walkthrough()
    changes = {
        "PAIRS=../shared/data/tatoeba-spa-eng/spa.txt.gz": (
            f"PAIRS={tmp_path / 'pairs.tsv'}"
        ),
        "head -n 500 ": "head -n 50 ",
        "sed -n 501,1000p": "sed -n 51,100p",
        "sed -n 1001,31000p": "sed -n 101,31000p",
        "tokenizer.vocab_size=2000": "tokenizer.vocab_size=24",
        "training.steps=300": "training.steps=20",
        "training.steps_per_epoch=100": "training.steps_per_epoch=10",
        "evaluation.max_examples=200": "evaluation.max_examples=20",
    }
    for old, new in changes.items():
        assert old in script
        script = script.replace(old, new)
    os.symlink(README.parent / "configs", tmp_path / "configs")
    bin_dir = os.path.dirname(sys.executable)
    env = dict(
        os.environ,
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "runs" / "mine"
    for name in (
        "config.yaml",
        "tokenizer",
        "history.csv",
        "logs",
        "model.keras",
        "metrics.json",
        "eval/test-beam4-alpha0.6.json",
        "eval/test-beam4-alpha0.6.tsv",
        "eval/test-greedy.json",
        "eval/test-greedy.tsv",
    ):
        assert (run / name).exists(), name
    sources = (tmp_path / "mydata" / "test.en").read_text().splitlines()
    outputs = (tmp_path / "mydata" / "test.es").read_text().splitlines()
    assert len(sources) == len(outputs) == 50
    summaries = [
        line for line in result.stdout.splitlines() if line.startswith("test, ")
    ]
    assert len(summaries) == 2 and "test, greedy: bleu" in summaries[1]
