"""Checkpoint averaging: the mean of the snapshots, exactly; damaged
snapshots named and left out; the run's files and the command."""

import json
import os
import types

import keras
import numpy as np
import pytest

from keras_transformer import cli
from keras_transformer.errors import RunError
from keras_transformer.train import train_and_evaluate
from keras_transformer.training import averaging
from tests.test_train import _experiment


def _toy():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])


def _snapshots(directory, model, count, seed=0):
    """``count`` snapshots of random weights; returns their weights."""
    rng = np.random.default_rng(seed)
    os.makedirs(directory, exist_ok=True)
    saved = []
    for step in range(1, count + 1):
        weights = [
            rng.normal(size=w.shape).astype("float32")
            for w in model.get_weights()
        ]
        model.set_weights(weights)
        model.save_weights(averaging.snapshot_path(directory, step * 10))
        saved.append(weights)
    return saved


def _mean(weights):
    return [
        (sum(w[i].astype("float64") for w in weights) / len(weights)).astype(
            "float32"
        )
        for i in range(len(weights[0]))
    ]


def test_averaging_gives_the_element_wise_mean(tmp_path):
    model = _toy()
    saved = _snapshots(str(tmp_path), model, 3)
    paths = [p for _, p in averaging.list_snapshots(str(tmp_path))]
    used, left_out = averaging.average_snapshots(model, paths)
    assert used == paths and left_out == []
    for got, wanted in zip(model.get_weights(), _mean(saved)):
        np.testing.assert_array_equal(got, wanted)


def test_averaging_one_snapshot_gives_it_back(tmp_path):
    model = _toy()
    saved = _snapshots(str(tmp_path / "average"), model, 3)
    model.set_weights([np.zeros_like(w) for w in saved[0]])
    record = averaging.average_into(model, str(tmp_path), 1, log=print)
    assert record == {"last": 1, "steps": [30], "left_out": []}
    for got, wanted in zip(model.get_weights(), saved[-1]):
        np.testing.assert_array_equal(got, wanted)
    with open(tmp_path / "average.json") as handle:
        assert json.load(handle) == record


def test_a_damaged_snapshot_is_named_and_left_out(tmp_path, capsys):
    model = _toy()
    saved = _snapshots(str(tmp_path / "average"), model, 3)
    damaged = averaging.snapshot_path(str(tmp_path / "average"), 20)
    with open(damaged, "r+b") as handle:
        handle.truncate(100)
    record = averaging.average_into(model, str(tmp_path), 3)
    assert record["steps"] == [10, 30]
    assert record["left_out"] == ["step-20.weights.h5"]
    assert f"left {damaged} out of the average" in capsys.readouterr().out
    for got, wanted in zip(model.get_weights(), _mean([saved[0], saved[2]])):
        np.testing.assert_array_equal(got, wanted)


def test_a_snapshot_with_non_finite_weights_is_left_out(tmp_path, capsys):
    model = _toy()
    saved = _snapshots(str(tmp_path), model, 2)
    model.set_weights([np.full_like(w, np.nan) for w in saved[0]])
    model.save_weights(averaging.snapshot_path(str(tmp_path), 30))
    paths = [p for _, p in averaging.list_snapshots(str(tmp_path))]
    used, left_out = averaging.average_snapshots(model, paths)
    assert used == paths[:2]
    assert left_out == [(paths[2], "its weights are not all finite")]
    for got, wanted in zip(model.get_weights(), _mean(saved)):
        np.testing.assert_array_equal(got, wanted)


def test_nothing_to_average_is_refused_in_one_line(tmp_path):
    model = _toy()
    with pytest.raises(RunError, match="training.average_last"):
        averaging.average_into(model, str(tmp_path), 2)
    _snapshots(str(tmp_path / "average"), model, 2)
    with pytest.raises(RunError, match="--last 2 or fewer"):
        averaging.average_into(model, str(tmp_path), 3)
    for _, path in averaging.list_snapshots(str(tmp_path / "average")):
        with open(path, "wb") as handle:
            handle.write(b"not a snapshot")
    with pytest.raises(RunError, match="No snapshot could be averaged"):
        averaging.average_into(model, str(tmp_path), 2)


def test_snapshots_keep_the_newest_and_drop_those_after_a_resume(tmp_path):
    model = _toy()
    directory = str(tmp_path)
    _snapshots(directory, model, 3)  # steps 10, 20, 30
    counter = types.SimpleNamespace(step=20)
    snapshotter = averaging.Snapshotter(directory, counter, 5, keep=2)
    assert [s for s, _ in averaging.list_snapshots(directory)] == [10, 20]
    snapshotter.set_model(model)
    for step in (21, 25, 26, 30):
        counter.step = step
        snapshotter.on_train_batch_end(0)
    assert [s for s, _ in averaging.list_snapshots(directory)] == [25, 30]
    counter.step = 33
    snapshotter.on_train_end()
    snapshotter.on_train_end()  # once per step
    assert [s for s, _ in averaging.list_snapshots(directory)] == [30, 33]


def _weights(path):
    return keras.saving.load_model(path, compile=False).get_weights()


@pytest.mark.slow
def test_a_run_averages_its_last_snapshots_and_the_command_redoes_it(
    tmp_path, capsys
):
    workdir = str(tmp_path / "run")
    metrics = train_and_evaluate(
        _experiment(training={"average_last": 3, "average_interval": 10}),
        workdir,
        verbose=0,
    )
    directory = os.path.join(workdir, "average")
    assert [s for s, _ in averaging.list_snapshots(directory)] == [20, 30, 40]
    assert metrics["averaged"] == [20, 30, 40]
    final = keras.saving.load_model(
        os.path.join(workdir, "model.unaveraged.keras"), compile=False
    )
    snapshots = []
    for _, path in averaging.list_snapshots(directory):
        final.load_weights(path)
        snapshots.append(final.get_weights())
    averaged = _weights(os.path.join(workdir, "model.keras"))
    for got, wanted in zip(averaged, _mean(snapshots)):
        np.testing.assert_array_equal(got, wanted)
    unaveraged = _weights(os.path.join(workdir, "model.unaveraged.keras"))
    for got, wanted in zip(unaveraged, snapshots[-1]):
        np.testing.assert_array_equal(got, wanted)

    # After the fact: the last one is the un-averaged model.
    capsys.readouterr()
    assert cli.main(["average", workdir, "--last", "1"]) == 0
    assert "averaged steps [40]" in capsys.readouterr().out
    for got, wanted in zip(
        _weights(os.path.join(workdir, "model.keras")), unaveraged
    ):
        np.testing.assert_array_equal(got, wanted)
    with open(os.path.join(workdir, "metrics.json")) as handle:
        assert json.load(handle)["averaged"] == [40]
    assert cli.main(["average", workdir, "--last", "4"]) == 1
    assert "--last 3 or fewer" in capsys.readouterr().err
