"""Step counting, the exact step limit, the divergence stop and the history
log."""

import csv
import types

import keras
import numpy as np
import pytest

from keras_transformer.errors import TrainingDivergedError
from keras_transformer.training.callbacks import (
    HistoryLogger,
    StepCounter,
    StepLimit,
    StopOnDivergence,
)

X = np.random.default_rng(0).random((40, 3)).astype("float32")
Y = X.sum(axis=1, keepdims=True)


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    return model


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_steps_that_are_not_a_multiple_of_the_epoch_run_exactly(tmp_path):
    model = _model()
    counter = StepCounter(0)
    history = tmp_path / "history.csv"
    model.fit(
        X.repeat(10, axis=0),
        Y.repeat(10, axis=0),
        batch_size=4,
        steps_per_epoch=10,
        epochs=2,  # ceil(15 / 10)
        callbacks=[
            counter,
            StepLimit(counter, 15),
            HistoryLogger(str(history), counter),
        ],
        verbose=0,
    )
    assert counter.step == 15
    assert int(model.optimizer.iterations.numpy()) == 15
    assert [row["step"] for row in _rows(history)] == ["10", "15"]


def test_history_drops_the_epochs_run_again_after_a_resume(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text(
        "epoch,step,loss\n0,10,3.0\n1,20,2.0\n2,30,1.5\n"  # 30: not saved
    )
    counter = StepCounter(20)
    logger = HistoryLogger(str(history), counter, initial_step=20)
    logger.on_train_begin()
    counter.step = 30
    logger.on_epoch_end(2, {"loss": 1.25})
    rows = _rows(history)
    assert [(r["epoch"], r["step"], r["loss"]) for r in rows] == [
        ("0", "10", "3.0"),
        ("1", "20", "2.0"),
        ("2", "30", "1.25"),
    ]


def test_history_of_earlier_versions_keeps_its_epochs(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text("epoch,loss\n0,3.0\n1,2.0\n2,1.0\n")  # CSVLogger
    counter = StepCounter(20)
    logger = HistoryLogger(
        str(history), counter, initial_step=20, steps_per_epoch=10
    )
    logger.on_train_begin()
    assert [row["epoch"] for row in logger.rows] == ["0", "1"]


def _checkpointer(saved_step):
    return types.SimpleNamespace(
        step=37, saved_step=saved_step, backup_dir="run/backup"
    )


@pytest.mark.parametrize("saved_step", [None, 30])
def test_the_nan_stop_names_what_a_rerun_resumes_from(saved_step):
    callback = StopOnDivergence(_checkpointer(saved_step))
    callback.set_model(_model())
    callback.on_train_batch_end(0, {"loss": 1.5})
    with pytest.raises(TrainingDivergedError) as info:
        callback.on_train_batch_end(1, {"loss": float("nan")})
    message = str(info.value)
    assert "at step 37" in message and "training.clipnorm" in message
    if saved_step is None:
        assert "No checkpoint was written yet" in message
    else:
        assert "last good checkpoint is step 30 in run/backup" in message


def test_a_loss_far_above_a_uniform_guess_is_divergence():
    import math

    from keras_transformer.training.callbacks import divergence_limit

    # Healthy training starts near log(classes) and goes down.
    for classes in (2, 60, 32000):
        assert divergence_limit(classes) >= 5 * math.log(classes)
    callback = StopOnDivergence(_checkpointer(30), divergence_limit(60))
    callback.set_model(_model())
    callback.on_train_batch_end(0, {"loss": 3 * math.log(60)})
    with pytest.raises(TrainingDivergedError, match="training diverged"):
        callback.on_train_batch_end(1, {"loss": 1e8})
