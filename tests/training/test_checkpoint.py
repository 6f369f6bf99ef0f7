"""Checkpoints: atomic, listed, verified before use, and the fallback to
older ones."""

import json
import os
import zipfile

import keras
import numpy as np
import pytest

from keras_transformer.errors import RunError
from keras_transformer.training.callbacks import StepCounter
from keras_transformer.training.checkpoint import (
    Checkpointer,
    check_keras_file,
    list_checkpoints,
    load_into,
    restore_latest,
    save_checkpoint,
)

X = np.random.default_rng(0).random((32, 4)).astype("float32")
Y = X.sum(axis=1, keepdims=True)


def _model(accumulation=None):
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1)]
    )
    model.compile(
        keras.optimizers.Adam(0.01, gradient_accumulation_steps=accumulation),
        "mse",
    )
    return model


def _trained(steps, accumulation=None):
    model = _model(accumulation)
    model.fit(X, Y, batch_size=32, epochs=steps, verbose=0)
    return model


def _weights(model):
    return [v.numpy() for v in model.weights + model.optimizer.variables]


def test_a_checkpoint_restores_weights_and_optimizer_state(tmp_path):
    trained = _trained(3)
    save_checkpoint(trained, str(tmp_path), 3)
    model = _model()
    checkpoint = restore_latest(model, str(tmp_path), steps_per_epoch=1)
    assert checkpoint.step == 3
    for a, b in zip(_weights(trained), _weights(model)):
        np.testing.assert_array_equal(a, b)


def test_only_the_newest_two_are_kept(tmp_path):
    model = _trained(1)
    for step in (10, 20, 30):
        save_checkpoint(model, str(tmp_path), step)
    assert sorted(os.listdir(tmp_path)) == ["ckpt-20.keras", "ckpt-30.keras"]


def test_a_step_count_that_disagrees_with_the_name_is_refused(tmp_path):
    save_checkpoint(_trained(2), str(tmp_path), 2)
    os.rename(tmp_path / "ckpt-2.keras", tmp_path / "ckpt-5.keras")
    with pytest.raises(RunError, match="taken 2 steps, not the 5"):
        load_into(_model(), list_checkpoints(str(tmp_path), 1)[0])


def test_with_accumulated_gradients_a_step_is_an_update(tmp_path):
    # 4 batches, 2 a step: 2 updates.
    save_checkpoint(_trained(4, accumulation=2), str(tmp_path / "a"), 2)
    checkpoint = restore_latest(_model(2), str(tmp_path / "a"), 1)
    assert checkpoint.step == 2
    save_checkpoint(_trained(4, accumulation=2), str(tmp_path / "b"), 4)
    with pytest.raises(RunError, match="taken 2 steps, not the 4"):
        restore_latest(_model(2), str(tmp_path / "b"), 1)


def _zero_the_middle(path):
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        handle.seek(size // 3)
        handle.write(b"\0" * (size // 3))


@pytest.mark.parametrize("damage", [_zero_the_middle, os.remove])
def test_a_bad_newest_checkpoint_falls_back_to_the_previous(tmp_path, damage):
    older = _trained(1)
    save_checkpoint(older, str(tmp_path), 1)
    save_checkpoint(_trained(2), str(tmp_path), 2)
    damage(str(tmp_path / "ckpt-2.keras"))
    messages = []
    model = _model()
    checkpoint = restore_latest(model, str(tmp_path), 1, log=messages.append)
    assert checkpoint.step == 1
    for a, b in zip(_weights(older), _weights(model)):
        np.testing.assert_array_equal(a, b)
    if damage is os.remove:
        assert messages == []
    else:
        assert "ckpt-2.keras is unusable" in messages[0]


def test_no_usable_checkpoint_is_an_error_not_a_fresh_start(tmp_path):
    save_checkpoint(_trained(1), str(tmp_path), 1)
    _zero_the_middle(str(tmp_path / "ckpt-1.keras"))
    with pytest.raises(RunError, match="No usable checkpoint.*move"):
        restore_latest(_model(), str(tmp_path), 1, log=lambda _: None)
    assert restore_latest(_model(), str(tmp_path / "none"), 1) is None


def test_checkpoints_of_earlier_versions_are_read(tmp_path):
    trained = _trained(2)
    trained.save_weights(str(tmp_path / "latest.weights.h5"))
    (tmp_path / "training_metadata.json").write_text(
        json.dumps({"epoch": 2, "batch": 0})
    )
    model = _model()
    checkpoint = restore_latest(model, str(tmp_path), steps_per_epoch=1)
    assert checkpoint.step == 2
    # An empty metadata file makes it unusable, with the file named.
    (tmp_path / "training_metadata.json").write_text("")
    with pytest.raises(RunError, match="training_metadata.json is missing"):
        restore_latest(_model(), str(tmp_path), 1, log=lambda _: None)


def test_a_full_disk_leaves_no_partial_checkpoint(tmp_path, monkeypatch):
    model = _trained(1)
    save_checkpoint(model, str(tmp_path), 1)

    def full(self, path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"partial")
        raise OSError(28, "No space left on device", path)

    monkeypatch.setattr(keras.Model, "save", full)
    with pytest.raises(RunError, match="no space left.*resume from step 1"):
        save_checkpoint(model, str(tmp_path), 2, previous_step=1)
    assert os.listdir(tmp_path) == ["ckpt-1.keras"]


def test_the_checkpointer_saves_every_epoch_under_the_step(tmp_path):
    model = _model()
    counter = StepCounter(0)
    checkpointer = Checkpointer(str(tmp_path), counter)
    model.fit(
        X,
        Y,
        batch_size=8,
        epochs=2,
        callbacks=[counter, checkpointer],
        verbose=0,
    )
    assert sorted(os.listdir(tmp_path)) == ["ckpt-4.keras", "ckpt-8.keras"]
    assert checkpointer.saved_step == 8


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
