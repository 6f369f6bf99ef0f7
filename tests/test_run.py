"""The run directory: atomic writes, the lock, checkpoint listing, resume
rules and damaged files."""

import json
import os
import subprocess
import sys
import zipfile

import pytest

from keras_transformer import run, run_files
from keras_transformer.errors import RunError
from keras_transformer.experiment import experiment_from_dict
from keras_transformer.training.checkpoint import (
    check_keras_file,
    list_checkpoints,
)


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


def _keras_file(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}" * 2000)
        archive.writestr("model.weights.h5", bytes(range(256)) * 200)


@pytest.mark.parametrize("damage", ["truncate", "zeros"])
def test_damaged_keras_files_are_found_before_loading(tmp_path, damage):
    path = tmp_path / "model.keras"
    _keras_file(path)
    check_keras_file(str(path))
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        if damage == "truncate":
            handle.truncate(size // 2)
        else:
            handle.seek(size // 3)
            handle.write(b"\0" * 1000)
    with pytest.raises(RunError, match="model.keras is damaged"):
        check_keras_file(str(path))


def test_checkpoints_are_listed_newest_first_with_older_formats(tmp_path):
    for step in (5, 20, 10):
        (tmp_path / f"ckpt-{step}.keras").write_text("x")
    (tmp_path / ".tmp-1-ckpt-30.keras").write_text("partial")
    (tmp_path / "latest.weights.h5").write_text("x")
    (tmp_path / "training_metadata.json").write_text('{"epoch": 3}')
    (tmp_path / "latest.weights.h5.bkp").write_text("x")
    (tmp_path / "training_metadata.json.bkp").write_text("")  # empty
    found = list_checkpoints(str(tmp_path), steps_per_epoch=10)
    assert [c.step for c in found] == [20, 10, 5, 30, None]
    assert found[3].problem is None and found[3].name == (
        f"{tmp_path.name}/latest.weights.h5"
    )
    assert "training_metadata.json.bkp is missing or damaged" in (
        found[4].problem
    )


EXPERIMENT = {
    "model": {"num_layers": 1, "d_model": 32, "num_heads": 2, "ff_dim": 64},
    "training": {"steps": 40},
}


def _with(section, **changes):
    values = json.loads(json.dumps(EXPERIMENT))
    values.setdefault(section, {}).update(changes)
    return experiment_from_dict(values)


@pytest.mark.parametrize(
    "section, changes, changeable",
    [
        ("training", {"steps": 80}, True),
        ("training", {"clipnorm": 1.0}, True),
        ("training", {"lr_scale": 0.5, "warmup_steps": 100}, True),
        ("evaluation", {"max_examples": 7, "batch_size": 2}, True),
        ("training", {"steps_per_epoch": 100}, False),
        ("training", {"batch_tokens": 100}, False),
        ("training", {"gradient_accumulation_steps": 2}, False),
        ("model", {"d_model": 64}, False),
        ("tokenizer", {"vocab_size": 100}, False),
        ("data", {"task": "copy"}, False),
    ],
)
def test_which_settings_may_change_on_resume(section, changes, changeable):
    allowed, forbidden = run.resume_differences(
        experiment_from_dict(EXPERIMENT), _with(section, **changes)
    )
    changed = allowed if changeable else forbidden
    assert sorted(key for key, _, _ in changed) == sorted(
        f"{section}.{key}" for key in changes
    )
    assert not (forbidden if changeable else allowed)


def test_a_file_or_empty_directory_is_no_run(tmp_path):
    with pytest.raises(RunError, match="holds no run"):
        run.read_experiment(str(tmp_path))
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(RunError, match="is a file, not a run directory"):
        run.read_experiment(str(afile))


def test_a_damaged_run_config_is_named_with_its_line(tmp_path):
    (tmp_path / "config.yaml").write_text("training:\n  steps: [1\n")
    with pytest.raises(RunError) as info:
        run.read_experiment(str(tmp_path))
    message = str(info.value)
    assert "config.yaml:3:1: invalid YAML" in message
    assert "run's own copy" in message


# ------------------------------------------- hostile files in a run directory


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
