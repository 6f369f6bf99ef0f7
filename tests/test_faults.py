"""Fault injection: the real command line, stopped and broken at bad moments.

Every case runs ``keras-transformer`` in a subprocess and then checks:

- no lost training: the final model has taken exactly the configured
  number of optimizer steps, and ``history.csv`` lists every checkpointed
  step once;
- no silent restart: the rerun says where it resumed from;
- the exit status, and a message of one line (no traceback).

The disk-full and read-only cases use a small tmpfs when the tests run as
root (and may mount); otherwise the disk-full case patches the writer and
the read-only case removes write permission.
"""

import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

pytestmark = pytest.mark.slow

STEPS = 40
EPOCH = 10
CONFIG = {
    "task": "translation",
    "data": {
        "source": "builtin",
        "task": "reverse",
        "train_size": 1000,
        "validation_size": 10,
        "test_size": 10,
    },
    "tokenizer": {"vocab_size": 40},
    "model": {"num_layers": 1, "d_model": 16, "num_heads": 2, "ff_dim": 32},
    "training": {
        "steps": STEPS,
        "steps_per_epoch": EPOCH,
        "batch_tokens": 256,
        "max_length": 24,
        "warmup_steps": 20,
    },
    "evaluation": {
        "max_examples": 10,
        "show_examples": 1,
        "decoding": {"strategy": "greedy"},
    },
}
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


# ------------------------------------------------------------------ helpers


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "tiny.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return str(path)


def _command(*args):
    return [sys.executable, "-m", "keras_transformer", *args]


def _run(*args, prefix=None, stdin=None, env=None):
    """Runs the CLI (or ``python -c prefix`` then the CLI) to completion.

    Args:
        env: more environment variables (e.g. ``KERAS_BACKEND``).
    """
    command = _command(*args)
    if prefix is not None:
        command = [
            sys.executable,
            "-c",
            prefix + "\nimport sys\nfrom keras_transformer.cli import main\n"
            f"sys.exit(main({list(args)!r}))",
        ]
    return subprocess.run(
        command,
        capture_output=True,
        text=stdin is None or isinstance(stdin, str),
        input=stdin,
        env=dict(ENV, **(env or {})),
        timeout=600,
    )


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Started:
    """A CLI process running in the background, its output in files."""

    def __init__(self, *args, directory):
        self.out = open(os.path.join(directory, "stdout.txt"), "w+")
        self.err = open(os.path.join(directory, "stderr.txt"), "w+")
        self.process = subprocess.Popen(
            _command(*args),
            stdout=self.out,
            stderr=self.err,
            env=ENV,
            # A test run started in the background of a script inherits
            # SIGINT ignored, and Python then never raises KeyboardInterrupt:
            # give the trainer the default, as in a terminal.
            preexec_fn=_default_sigint,
        )

    def wait_until(self, condition, timeout=300):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                pytest.fail(
                    "the process ended before the moment to stop it: "
                    + self.stderr()[-2000:]
                )
            time.sleep(0.02)
        pytest.fail("timed out waiting for the moment to stop the process")

    def stop(self, signum=signal.SIGKILL):
        self.process.send_signal(signum)
        return self.process.wait(timeout=300)

    def stdout(self):
        self.out.seek(0)
        return self.out.read()

    def stderr(self):
        self.err.seek(0)
        return self.err.read()


def _checkpoint(workdir, step):
    return os.path.join(workdir, "backup", f"ckpt-{step}.keras")


def _history_steps(workdir):
    with open(os.path.join(workdir, "history.csv"), newline="") as handle:
        return [int(row["step"]) for row in csv.DictReader(handle)]


def _optimizer_steps(workdir):
    import keras

    import keras_transformer  # noqa: F401

    model = keras.saving.load_model(os.path.join(workdir, "model.keras"))
    return int(model.optimizer.iterations.numpy())


def assert_complete(result, workdir):
    """The run finished with every step trained exactly once."""
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    with open(os.path.join(workdir, "metrics.json")) as handle:
        assert json.load(handle)["steps"] == STEPS
    assert _optimizer_steps(workdir) == STEPS
    assert _history_steps(workdir) == list(range(EPOCH, STEPS + 1, EPOCH))
    assert not os.path.exists(os.path.join(workdir, "backup"))


def assert_one_line(result, returncode=1, prefix="error:"):
    """Failed with ``returncode`` and exactly one message line."""
    assert result.returncode == returncode, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    lines = [
        line
        for line in result.stderr.splitlines()
        if line.startswith(("error:", "interrupted:"))
    ]
    assert len(lines) == 1 and lines[0].startswith(prefix), result.stderr
    return lines[0]


def _copy(source, target):
    shutil.copytree(source, target)
    return str(target)


@contextlib.contextmanager
def _tmpfs(size):
    """A tmpfs of ``size`` mounted on a new directory (root only)."""
    directory = tempfile.mkdtemp()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", directory],
            capture_output=True,
        ).returncode
        == 0
    )
    try:
        yield directory if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", directory], capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


def _remount(directory, options):
    subprocess.run(["mount", "-o", f"remount,{options}", directory], check=True)


# -------------------------------------------------------- shared runs


@pytest.fixture(scope="module")
def stopped_run(config, tmp_path_factory):
    """A run killed (-9) in its third epoch, after the step-20 checkpoint.

    Copies of it are resumed by the tests, after more damage or as is.
    """
    root = tmp_path_factory.mktemp("stopped")
    workdir = str(root / "run")
    process = Started("train", config, "--workdir", workdir, directory=root)
    process.wait_until(lambda: os.path.exists(_checkpoint(workdir, 20)))
    time.sleep(0.1)  # into the next epoch
    process.stop()
    assert not os.path.exists(_checkpoint(workdir, 30))
    assert not os.path.exists(os.path.join(workdir, "model.keras"))
    return workdir


@pytest.fixture(scope="module")
def finished_run(config, tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("finished") / "run")
    assert_complete(_run("train", config, "--workdir", workdir), workdir)
    return workdir


# ---------------------------------------------------------------- kill -9


def test_a_stop_in_the_final_evaluation_resumes_into_evaluation(
    config, tmp_path
):
    workdir = str(tmp_path / "run")
    process = Started("train", config, "--workdir", workdir, directory=tmp_path)
    process.wait_until(
        lambda: os.path.exists(os.path.join(workdir, "model.keras"))
    )
    process.stop()  # kill -9 during the final evaluation
    assert not os.path.exists(os.path.join(workdir, "metrics.json"))
    # Then an error in the evaluation (the rerun trains nothing) ...
    failing = (
        "from keras_transformer.tasks.base import Task\n"
        "def broken(*args, **kwargs):\n"
        "    raise ValueError('evaluation failed on purpose')\n"
        "Task.evaluate = broken"
    )
    result = _run("train", config, "--workdir", workdir, prefix=failing)
    assert "evaluation failed on purpose" in assert_one_line(result)
    assert "Epoch" not in result.stdout
    # ... and the next rerun evaluates, still without training a step.
    result = _run("train", config, "--workdir", workdir)
    assert_complete(result, workdir)
    assert f"Training is complete ({STEPS} steps" in result.stdout
    assert "Epoch" not in result.stdout


def test_sigint_stops_with_one_line_and_the_step_to_resume_from(
    config, tmp_path
):
    workdir = str(tmp_path / "run")
    process = Started("train", config, "--workdir", workdir, directory=tmp_path)
    # Right as the first checkpoint appears: between two epochs.
    process.wait_until(lambda: os.path.exists(_checkpoint(workdir, 10)))
    returncode = process.stop(signal.SIGINT)
    stopped = subprocess.CompletedProcess([], returncode, "", process.stderr())
    line = assert_one_line(stopped, returncode=130, prefix="interrupted:")
    assert "rerun the same command to resume from step" in line
    resume_step = int(line.split("resume from step ")[1].split(".")[0])
    result = _run("train", config, "--workdir", workdir)
    assert_complete(result, workdir)
    assert f"(step {resume_step}); training to step" in result.stdout


# ------------------------------------------------------- broken checkpoints


def _truncate(path):
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2)


def test_a_damaged_newest_checkpoint_falls_back_loudly(
    config, stopped_run, tmp_path
):
    # (Zeroed bytes and a missing file: tests/training/test_checkpoint.py.)
    workdir = _copy(stopped_run, tmp_path / "run")
    _truncate(_checkpoint(workdir, 20))
    result = _run("train", config, "--workdir", workdir)
    assert_complete(result, workdir)
    assert "checkpoint backup/ckpt-20.keras is unusable" in result.stdout
    assert "Resuming from backup/ckpt-10.keras (step 10)" in result.stdout


def test_no_usable_checkpoint_is_refused_without_touching_anything(
    config, stopped_run, tmp_path
):
    workdir = _copy(stopped_run, tmp_path / "run")
    for step in (10, 20):
        _truncate(_checkpoint(workdir, step))
    before = {
        name: os.path.getsize(os.path.join(workdir, "backup", name))
        for name in os.listdir(os.path.join(workdir, "backup"))
    }
    line = assert_one_line(_run("train", config, "--workdir", workdir))
    assert "No usable checkpoint" in line and "move" in line
    after = {
        name: os.path.getsize(os.path.join(workdir, "backup", name))
        for name in os.listdir(os.path.join(workdir, "backup"))
    }
    assert after == before


# ------------------------------------------------------------ disk and lock

# Writes fail from the third checkpoint on (as on a full disk).
_FULL_DISK = """
import errno, keras
_save = keras.Model.save
calls = []
def save(self, path, *args, **kwargs):
    if 'backup' in str(path):
        calls.append(path)
        if len(calls) >= 3:
            open(path, 'wb').write(b'partial')
            raise OSError(errno.ENOSPC, 'No space left on device', path)
    return _save(self, path, *args, **kwargs)
keras.Model.save = save
"""


def test_a_full_disk_stops_cleanly_and_the_rerun_resumes(config, tmp_path):
    with _tmpfs("850k") as mounted:
        workdir = os.path.join(mounted or str(tmp_path), "run")
        prefix = None if mounted else _FULL_DISK
        failed = _run("train", config, "--workdir", workdir, prefix=prefix)
        line = assert_one_line(failed)
        assert "no space left" in line and "resume from step 20" in line
        backup = os.path.join(workdir, "backup")
        assert sorted(os.listdir(backup)) == ["ckpt-10.keras", "ckpt-20.keras"]
        if mounted:
            _remount(mounted, "size=50m")  # space freed
        result = _run("train", config, "--workdir", workdir)
        assert_complete(result, workdir)
        assert "Resuming from backup/ckpt-20.keras (step 20)" in result.stdout


@contextlib.contextmanager
def _read_only(directory):
    """Makes ``directory`` (a tmpfs when root) read-only."""
    if ROOT:
        _remount(directory, "ro")
        try:
            yield
        finally:
            _remount(directory, "rw")
    else:
        os.chmod(directory, 0o555)
        try:
            yield
        finally:
            os.chmod(directory, 0o755)


def test_read_only_directories_are_refused_before_any_work(
    config, finished_run, tmp_path
):
    with _tmpfs("20m") as mounted:
        if ROOT and mounted is None:
            pytest.fail("running as root, but a tmpfs could not be mounted")
        root = mounted or str(tmp_path / "fs")
        os.makedirs(root, exist_ok=True)
        finished = _copy(finished_run, os.path.join(root, "finished"))
        with _read_only(root):
            fresh = os.path.join(root, "fresh")
            line = assert_one_line(_run("train", config, "--workdir", fresh))
            assert "Cannot train in" in line
            line = assert_one_line(_run("evaluate", "--workdir", finished))
            assert "Cannot write the evaluation" in line
            line = assert_one_line(
                _run(
                    "export",
                    "--workdir",
                    finished,
                    os.path.join(root, "exports"),
                )
            )
            assert "Cannot export" in line


def test_a_killed_run_resumes_and_a_second_trainer_is_refused_meanwhile(
    config, stopped_run, tmp_path
):
    workdir = _copy(stopped_run, tmp_path / "run")
    first = Started("train", config, "--workdir", workdir, directory=tmp_path)
    first.wait_until(lambda: "Resuming from" in first.stdout())
    # The dead trainer's lock was taken over; the resume is announced.
    assert "Took over the lock of PID" in first.stdout()
    assert "Resuming from backup/ckpt-20.keras (step 20)" in first.stdout()
    first.process.send_signal(signal.SIGSTOP)  # holds the lock meanwhile
    try:
        second = _run("train", config, "--workdir", workdir)
    finally:
        first.process.send_signal(signal.SIGCONT)
    line = assert_one_line(second)
    assert f"in use by another trainer (PID {first.process.pid}" in line
    assert first.process.wait(timeout=600) == 0, first.stderr()[-3000:]
    completed = subprocess.CompletedProcess([], 0, first.stdout(), "")
    assert_complete(completed, workdir)


# ------------------------------------------------------------------ export


def test_a_killed_export_leaves_no_version_and_the_next_one_works(
    finished_run, tmp_path
):
    exports = str(tmp_path / "exports")
    process = Started(
        "export", "--workdir", finished_run, exports, directory=tmp_path
    )
    process.wait_until(  # the SavedModel is being written
        lambda: (
            os.path.isdir(exports)
            and any(
                name.startswith(".tmp-")
                and os.path.isdir(os.path.join(exports, name))
                for name in os.listdir(exports)
            )
        )
    )
    process.stop()
    assert not [name for name in os.listdir(exports) if name.isdigit()]
    result = _run("export", "--workdir", finished_run, exports)
    assert result.returncode == 0, result.stderr[-3000:]
    assert os.listdir(exports) == ["1"]  # the leftover is cleaned up
    assert os.path.exists(os.path.join(exports, "1", "saved_model.pb"))


def test_a_damaged_final_model_is_named_not_reported_missing(
    config, finished_run, tmp_path
):
    workdir = _copy(finished_run, tmp_path / "run")
    _truncate(os.path.join(workdir, "model.keras"))
    line = assert_one_line(_run("translate", "--workdir", workdir, "a b"))
    assert "model.keras is damaged" in line
    line = assert_one_line(_run("train", config, "--workdir", workdir))
    assert "model.keras is damaged" in line and "No checkpoint" in line
