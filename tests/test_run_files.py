"""The run directory's files: atomic writes, the lock, strict JSON and
damaged files named."""

import json
import os
import subprocess
import sys

import pytest

from keras_transformer import run_files
from keras_transformer.errors import RunError


def test_atomic_path_leaves_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "metrics.json"
    run_files.write_json(target, {"bleu": 1.0})
    with pytest.raises(RuntimeError):
        with run_files.atomic_path(target) as temporary:
            with open(temporary, "w") as handle:
                handle.write('{"bleu": 2')  # half written
            raise RuntimeError("killed")
    assert json.loads(target.read_text()) == {"bleu": 1.0}
    assert os.listdir(tmp_path) == ["metrics.json"]  # no temporary left
    run_files.write_json(target, {"bleu": 2.0})
    assert json.loads(target.read_text()) == {"bleu": 2.0}


def test_atomic_directories_appear_complete(tmp_path):
    target = tmp_path / "tokenizer"
    with run_files.atomic_path(target) as temporary:
        os.makedirs(temporary)
        (tmp_path / os.path.basename(temporary) / "a.txt").write_text("a")
        assert not target.exists()
    assert (target / "a.txt").read_text() == "a"


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
    )
    dead_pid = int(dead.stdout)
    (tmp_path / f".tmp-{dead_pid}-model.keras").write_text("partial")
    (tmp_path / f".tmp-{os.getpid()}-model.keras").write_text("in progress")
    (tmp_path / "model.keras").write_text("kept")
    run_files.remove_stale_temporaries(tmp_path)
    assert sorted(os.listdir(tmp_path)) == sorted(
        [f".tmp-{os.getpid()}-model.keras", "model.keras"]
    )


def test_the_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    with run_files.RunLock(str(tmp_path)):
        with pytest.raises(RunError, match=f"PID {os.getpid()} on"):
            run_files.RunLock(str(tmp_path)).__enter__()
    # Released: it can be taken again.
    with run_files.RunLock(str(tmp_path)) as lock:
        assert lock.stale_holder is None


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    (tmp_path / run_files.LOCK_FILE).write_text(
        json.dumps({"pid": 999999999, "host": "h", "started": "then"})
    )
    with run_files.RunLock(str(tmp_path)) as lock:
        assert lock.stale_holder["pid"] == 999999999


def test_check_writable_names_the_problem(tmp_path):
    run_files.check_writable(str(tmp_path / "new" / "dir"))
    assert os.listdir(tmp_path / "new" / "dir") == []
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(RunError, match="is a file, not a directory"):
        run_files.check_writable(str(afile), "train")
    with pytest.raises(RunError, match="must be local paths"):
        run_files.check_writable("gs://bucket/run", "train")


def _lock_symlink(lock, victim):
    os.symlink(victim, lock)


def _lock_directory(lock, victim):
    os.mkdir(lock)


def _lock_fifo(lock, victim):
    os.mkfifo(lock)


@pytest.mark.parametrize(
    "make, kind",
    [
        (_lock_symlink, "a symbolic link"),
        (_lock_directory, "a directory"),
        (_lock_fifo, "a FIFO"),
    ],
)
def test_a_lock_that_is_not_a_regular_file_is_refused(tmp_path, make, kind):
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    workdir = tmp_path / "run"
    workdir.mkdir()
    make(str(workdir / ".lock"), str(victim))
    with pytest.raises(RunError, match=f"lock is {kind}, not a regular file"):
        with run_files.RunLock(str(workdir)):
            pass
    assert victim.read_text() == "keep me"


def test_written_directories_that_are_links_are_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    workdir = tmp_path / "run"
    workdir.mkdir()
    run_files.check_no_links(str(workdir))  # nothing there yet
    os.symlink(elsewhere, workdir / "backup")
    with pytest.raises(RunError, match="backup is a symbolic link"):
        run_files.check_no_links(str(workdir))


def test_json_is_written_strict_with_null_for_non_finite_numbers(tmp_path):
    target = tmp_path / "metrics.json"
    run_files.write_json(
        target, {"loss": float("inf"), "x": [float("nan"), 1.5]}
    )

    def refuse(constant):
        raise ValueError(constant)

    values = json.loads(target.read_text(), parse_constant=refuse)
    assert values == {"loss": None, "x": [None, 1.5]}


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"steps": "abc"}', '"steps" must be a count of training steps'),
        ('{"steps": -3}', '"steps" must be a count'),
        ("[1, 2]", "expected a JSON object of metrics"),
        ("[" * 100000, "damaged"),
    ],
)
def test_damaged_metrics_are_named(tmp_path, content, message):
    target = tmp_path / "metrics.json"
    target.write_text(content)
    with pytest.raises(RunError, match=message) as info:
        run_files.read_metrics(str(target))
    assert str(target) in str(info.value) and len(str(info.value)) < 500


@pytest.mark.parametrize(
    "content, count, message",
    [
        ("5", None, "expected a JSON list of class names"),
        ('{"a": 1}', None, "expected a JSON list of class names"),
        ('["a", "a"]', None, "repeats a class name"),
        ('["only"]', 2, "has 1 class names, but the model has 2 outputs"),
    ],
)
def test_damaged_labels_are_named(tmp_path, content, count, message):
    target = tmp_path / "labels.json"
    target.write_text(content)
    with pytest.raises(RunError, match=message) as info:
        run_files.read_labels(str(target), "class", count)
    assert str(target) in str(info.value)
