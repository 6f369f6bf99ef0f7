"""The documentation's examples run and do what they say: every
```python block of README.md and of the pages under docs/, and the
commands of "Your own data in 5 minutes" (docs/own-data.md)."""

import os
import pathlib
import re

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README] + sorted(DOCS.rglob("*.md"))
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _name(page):
    return page.relative_to(ROOT).as_posix()


def _python_blocks(page):
    return PYTHON_BLOCK.findall(page.read_text())


BLOCKS = [
    pytest.param(page, index, block, id=f"{_name(page)}:{index}")
    for page in PAGES
    for index, block in enumerate(_python_blocks(page))
]


def test_the_docs_have_examples():
    assert len(_python_blocks(README)) >= 1
    assert len(BLOCKS) >= 5


@pytest.mark.slow
@pytest.mark.parametrize("page, index, block", BLOCKS)
def test_python_example_runs(page, index, block):
    namespace = {}
    exec(compile(block, f"{_name(page)}[{index}]", "exec"), namespace)
    if "history" in namespace:  # the classifier learns the task
        assert namespace["history"].history["accuracy"][-1] > 0.9
    if "generated" in namespace:  # the translator reverses unseen inputs
        generated = np.concatenate(namespace["generated"], 1)
        expected = namespace["test_source"][:, ::-1]
        assert (generated == expected).mean() > 0.9


def _walkthrough():
    page = (DOCS / "own-data.md").read_text()
    return re.search(r"```bash\n(.*?)```", page, re.S).group(1)


# Defined before the walkthrough: each ``keras-transformer`` command runs
# in the test's process (no TensorFlow start-up per command). The function
# leaves its arguments and standard input in $CLI_DIR, asks the test to run
# them (one line to fd $CLI_REQUEST), reads the exit status (fd
# $CLI_REPLY), and writes the command's output where the script sends it.
IN_PROCESS = r"""
keras-transformer() {
    printf '%s\0' "$@" > "$CLI_DIR/args"
    cat > "$CLI_DIR/stdin"
    echo run >&"$CLI_REQUEST"
    local code
    read -r code <&"$CLI_REPLY"
    cat "$CLI_DIR/stdout"
    cat "$CLI_DIR/stderr" >&2
    return "$code"
}
"""


def _run_in_process(script, directory, capsys, monkeypatch, timeout=900):
    """Runs ``script`` with bash in ``directory``, its ``keras-transformer``
    commands as ``keras_transformer.cli.main(args)`` in this process.

    Returns:
        (exit status, stdout, stderr, the commands run in-process).
    """
    import io
    import select
    import subprocess
    import sys
    import time

    from keras_transformer.cli import main

    cli = directory / "cli"
    cli.mkdir()
    request_read, request_write = os.pipe()
    reply_read, reply_write = os.pipe()
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="3",
        CLI_DIR=str(cli),
        CLI_REQUEST=str(request_write),
        CLI_REPLY=str(reply_read),
    )
    with open(cli / "out", "w+") as out, open(cli / "err", "w+") as err:
        process = subprocess.Popen(
            ["bash", "-e", "-o", "pipefail", "-c", IN_PROCESS + script],
            cwd=directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            pass_fds=(request_write, reply_read),
        )
        os.close(request_write)
        os.close(reply_read)
        monkeypatch.chdir(directory)  # the commands' relative paths
        commands = []
        deadline = time.time() + timeout
        try:
            while process.poll() is None:
                assert time.time() < deadline, "the walkthrough timed out"
                if not select.select([request_read], [], [], 0.2)[0]:
                    continue
                if not os.read(request_read, 4):  # "run\n"; b"": ended
                    break
                args = (cli / "args").read_bytes().split(b"\0")[:-1]
                args = [arg.decode() for arg in args]
                stdin = io.TextIOWrapper(
                    io.BytesIO((cli / "stdin").read_bytes())
                )
                monkeypatch.setattr(sys, "stdin", stdin)
                capsys.readouterr()
                try:
                    code = main(args)
                except SystemExit as exit:  # argparse's usage errors
                    code = exit.code
                output, errors = capsys.readouterr()
                (cli / "stdout").write_text(output)
                (cli / "stderr").write_text(errors)
                commands.append(args[0])
                os.write(reply_write, f"{int(code or 0)}\n".encode())
            process.wait(timeout=max(deadline - time.time(), 1))
        finally:
            process.kill()
            os.close(request_read)
            os.close(reply_write)
        out.seek(0)
        err.seek(0)
        return process.returncode, out.read(), err.read(), commands


@pytest.mark.slow
def test_the_own_data_walkthrough_runs_as_written(
    tmp_path, capsys, monkeypatch
):
    """The commands of "Your own data in 5 minutes", on generated pairs
    (the reversal of random word sequences) and with fewer steps and test
    pairs. Bash runs the script as written; its ``keras-transformer``
    commands run in this process, and the installed command is checked on
    its own."""
    import shutil
    import subprocess
    import sys

    # The installed command the page calls is this package's main.
    command = shutil.which(
        "keras-transformer", path=os.path.dirname(sys.executable)
    )
    assert command, "keras-transformer is not installed next to python"
    shown = subprocess.run(
        [command, "--help"], capture_output=True, text=True, timeout=300
    )
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert shown.stdout.startswith("usage: keras-transformer ")

    rng = np.random.default_rng(0)
    words = ["red", "blue", "cat", "dog", "sun", "sea", "tree", "bird"]
    with open(tmp_path / "pairs.tsv", "w") as handle:
        for _ in range(2000):
            line = list(rng.choice(words, rng.integers(3, 7)))
            handle.write(f"{' '.join(line)}\t{' '.join(line[::-1])}\n")
    script = _walkthrough()
    changes = {
        "PAIRS=$DATA_DIR/tatoeba-spa-eng/spa.txt.gz": (
            f"PAIRS={tmp_path / 'pairs.tsv'}"
        ),
        "head -n 500 ": "head -n 20 ",
        "sed -n 501,1000p": "sed -n 21,40p",
        "sed -n 1001,31000p": "sed -n 41,31000p",
        "tokenizer.vocab_size=2000": "tokenizer.vocab_size=24",
        "training.steps=300": "training.steps=20",
        "training.steps_per_epoch=100": "training.steps_per_epoch=10",
        "evaluation.max_examples=200": "evaluation.max_examples=20",
    }
    for old, new in changes.items():
        assert old in script
        script = script.replace(old, new)
    os.symlink(ROOT / "configs", tmp_path / "configs")
    code, out, err, commands = _run_in_process(
        script, tmp_path, capsys, monkeypatch
    )
    assert code == 0, err[-3000:]
    assert commands, "the walkthrough ran no keras-transformer command"
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
    assert len(sources) == len(outputs) == 20
    summaries = [line for line in out.splitlines() if line.startswith("test, ")]
    assert len(summaries) == 2 and "test, greedy: bleu" in summaries[1]


README_LIMIT = 300
DEVELOPMENT_PATHS = ("../shared", "/tmp/", "/work/")
COMMIT_HASH = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{7,40}(?![0-9A-Za-z])")


def test_the_readme_is_a_front_page():
    text = README.read_text()
    assert len(text.splitlines()) <= README_LIMIT
    for path in DEVELOPMENT_PATHS:
        assert path not in text, path
    hashes = [
        found
        for found in COMMIT_HASH.findall(text)
        if re.search("[a-f]", found) and re.search("[0-9]", found)
    ]
    assert not hashes, hashes
    assert text.count("```python") == 1
    assert "make demo" in text and "make test" in text


def test_the_readme_links_to_pages_that_exist():
    for target in re.findall(r"\]\((docs/[^)#]+)", README.read_text()):
        assert (ROOT / target).is_file(), target
