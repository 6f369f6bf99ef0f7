"""LoRA (``TransformerModel.enable_lora``): only the adapters and the new
head train, the merged model gives the adapted model's outputs, and a saved
adapted model restores its frozen kernels, adapters and optimizer
exactly."""

import keras
import numpy as np
import pytest

from keras_transformer.errors import ConfigError
from keras_transformer.experiment import experiment_from_dict
from keras_transformer.models.lora import LORA_TARGETS, adapted_layers
from tests.models.model_kinds import build

KINDS = ["transformer_tied", "language_model", "classifier"]


def _randomize_adapters(model, seed=1):
    """Non-zero B (A is random already): the adapted model then differs
    from the pretrained one."""
    rng = np.random.default_rng(seed)
    for layer in adapted_layers(model):
        b = layer.lora_kernel_b
        b.assign(rng.normal(0, 0.5, b.shape).astype("float32"))


def _is_adapter(variable):
    return variable.name.startswith("lora_kernel_")


@pytest.mark.parametrize("name", KINDS)
def test_adapters_freeze_the_parts_and_merge_into_the_same_outputs(
    name, tmp_path
):
    model, inputs = build(name)
    before = np.array(model(inputs))
    model.enable_lora(2, targets="all")
    parts = model.lora["parts"]
    layers = adapted_layers(model)
    assert parts and len(layers) >= 6 * len(parts) - 6
    assert {layer.name for layer in layers} == set(LORA_TARGETS["all"])
    # B starts at zero: the adapted model is the pretrained one.
    np.testing.assert_allclose(np.array(model(inputs)), before, atol=1e-6)
    # Inside the parts only adapters train; outside them, everything.
    for variable in model.weights:
        inside = variable.path.split("/")[0] in parts
        assert variable.trainable == (_is_adapter(variable) or not inside)
    _randomize_adapters(model)
    adapted = np.array(model(inputs))
    assert np.abs(adapted - before).max() > 1e-2
    merged = model.merged()
    assert type(merged) is type(model) and merged.lora is None
    assert not any(_is_adapter(v) for v in merged.weights)
    assert len(merged.weights) == len(model.weights) - 2 * len(layers)
    scale = np.abs(adapted).max()
    np.testing.assert_allclose(
        np.array(merged(inputs)), adapted, atol=1e-5 * scale
    )
    # A .keras file loads as the same adapted model.
    path = str(tmp_path / "adapted.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.lora == model.lora
    for ours, theirs in zip(model.weights, loaded.weights):
        assert ours.path == theirs.path and ours.trainable == theirs.trainable
        np.testing.assert_array_equal(np.array(ours), np.array(theirs))
    np.testing.assert_array_equal(np.array(loaded(inputs)), adapted)


def _fitted_classifier(steps):
    model, inputs = build("classifier")
    model.enable_lora(2)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    labels = np.array([0, 1, 2])
    model.fit(inputs, labels, batch_size=3, epochs=steps, verbose=0)
    return model, inputs, labels


def test_training_changes_only_the_adapters_and_the_head():
    model, inputs = build("classifier")
    start = {v.path: np.array(v) for v in model.weights}
    del model
    model, _, _ = _fitted_classifier(3)
    changed = {
        v.path
        for v in model.weights
        if v.path not in start or not np.array_equal(np.array(v), start[v.path])
    }
    adapters = {v.path for v in model.weights if _is_adapter(v)}
    # A is random and B zero at first: after training both moved.
    assert adapters and {p for p in changed if "lora_kernel_b" in p}
    assert changed - adapters == {"logits/kernel", "logits/bias"}


def test_a_saved_adapted_model_resumes_exactly(tmp_path):
    """Keras alone saves the kernels merged and zeroes the adapters when it
    loads them (with A = B = 0 neither would get a gradient again)."""
    model, inputs, labels = _fitted_classifier(2)
    path = str(tmp_path / "checkpoint.keras")
    model.save(path)
    resumed, _ = build("classifier")
    resumed.enable_lora(2)
    resumed.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    resumed.optimizer.build(resumed.trainable_variables)
    resumed.load_weights(path)
    for ours, theirs in zip(
        model.weights + model.optimizer.variables,
        resumed.weights + resumed.optimizer.variables,
    ):
        np.testing.assert_array_equal(np.array(ours), np.array(theirs))
    for each in (model, resumed):
        each.fit(inputs, labels, batch_size=3, epochs=1, verbose=0)
    for ours, theirs in zip(model.weights, resumed.weights):
        np.testing.assert_allclose(np.array(ours), np.array(theirs), atol=1e-6)


def test_the_file_of_a_plain_model_trains_on_with_fresh_adapters(tmp_path):
    plain, inputs = build("classifier")
    path = str(tmp_path / "plain.keras")
    plain.save(path)
    adapted, _ = build("classifier")
    adapted.enable_lora(2)
    _randomize_adapters(adapted)
    adapted.load_weights(path)
    for layer in adapted_layers(adapted):
        assert np.abs(np.array(layer.lora_kernel_a)).max() > 0
        assert not np.array(layer.lora_kernel_b).any()
    np.testing.assert_allclose(
        np.array(adapted(inputs)), np.array(plain(inputs)), atol=1e-6
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(rank=0), "rank must be a positive integer"),
        (dict(rank=2.5), "rank must be a positive integer"),
        (dict(rank=4, alpha=0), "alpha must be a positive number"),
        (dict(rank=4, targets="mlp"), "targets 'mlp' unknown; choose one"),
        (dict(rank=4, parts=["head"]), "no query_value projection"),
    ],
)
def test_bad_settings_are_refused_in_one_line(kwargs, message):
    model, _ = build("classifier")
    with pytest.raises(ValueError, match=message) as error:
        model.enable_lora(**kwargs)
    assert "\n" not in str(error.value)


def test_adapters_are_enabled_once_and_not_on_a_quantized_model():
    model, _ = build("classifier")
    model.enable_lora(2)
    with pytest.raises(ValueError, match="has LoRA adapters already"):
        model.enable_lora(2)
    with pytest.raises(ValueError, match="quantize its merged"):
        model.quantize("int8")
    model, _ = build("classifier")
    model.quantize("int8")
    with pytest.raises(ValueError, match="quantized; adapt the float"):
        model.enable_lora(2)


@pytest.mark.parametrize(
    "model, training, message",
    [
        ({}, {"lora_rank": 8}, "LoRA adapts a pretrained model"),
        ({"init_from": "run"}, {"lora_rank": 0}, r"lora_rank.*must be >= 1"),
        (
            {"init_from": "run"},
            {"lora_rank": 8, "average_last": 3},
            "not available with training.lora_rank",
        ),
        (
            {"init_from": "run"},
            {"lora_rank": 8, "lora_targets": "mlp"},
            "lora_targets: invalid value",
        ),
    ],
)
def test_experiments_refuse_lora_without_a_pretrained_start(
    model, training, message
):
    with pytest.raises(ConfigError, match=message) as error:
        experiment_from_dict(
            {"task": "classification", "model": model, "training": training}
        )
    assert "\n" not in str(error.value)
