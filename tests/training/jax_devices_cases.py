"""Training over several JAX devices (``training.jax_devices``).

These tests run under ``KERAS_BACKEND=jax`` on two CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=2``): the JAX subset
of ``tests/test_jax_backend.py`` runs them in its subprocess. The file is
not named ``test_*.py``, so the TensorFlow run does not collect it.
"""

import copy
import re

import jax
import keras
import numpy as np
import pytest
import yaml

from keras_transformer.errors import ConfigError
from keras_transformer.experiment import load_experiment
from keras_transformer.train import train_and_evaluate
from keras_transformer.training import jax_devices
from tests.models import model_kinds
from tests.test_faults import CONFIG

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "jax" or len(jax.devices()) != 2,
    reason="run by tests/test_jax_backend.py: JAX on two devices",
)


def _sharded_over_model_axis(variable):
    """Whether ``variable`` is split over both devices (each holds half)."""
    shards = variable.value.addressable_shards
    return len(shards) == 2 and np.prod(shards[0].data.shape) * 2 == np.prod(
        variable.shape
    )


def _sharded_kernels(kind):
    """A model of ``kind`` built under ``model_parallel=2``, and the paths
    of its variables that are split over the devices, and of those the
    layout names."""
    devices = jax_devices.JaxDevices(jax.devices(), model_parallel=2)
    with devices.scope():
        model, inputs = model_kinds.build(kind)
    split = [v.path for v in model.variables if _sharded_over_model_axis(v)]
    named = [
        v.path
        for v in model.variables
        if any(
            re.fullmatch(pattern, v.path)
            for pattern in jax_devices.MODEL_PARALLEL_LAYOUT
        )
    ]
    return model, inputs, split, named


@pytest.mark.parametrize("kind", sorted(model_kinds.MODELS))
def test_model_parallel_splits_the_kernels_of_every_model_kind(kind):
    _, _, split, named = _sharded_kernels(kind)
    # Every attention and feed-forward kernel is split; nothing else is.
    assert split == named and len(named) >= 10, (split, named)


def test_a_sharded_model_computes_what_a_whole_one_does():
    sharded, inputs, _, _ = _sharded_kernels("transformer_copy")
    whole, _ = model_kinds.build("transformer_copy")
    # Compiled, as in training (op by op, each sharded op compiles alone).
    np.testing.assert_allclose(
        jax.jit(sharded)(inputs), jax.jit(whole)(inputs), atol=1e-5, rtol=1e-5
    )


def test_a_dimension_that_does_not_split_is_refused():
    devices = jax_devices.JaxDevices(jax.devices(), model_parallel=2)
    with devices.scope(), pytest.raises(ConfigError) as raised:
        model_kinds.Classifier(model_kinds.config(ff_dim=63), 3)
    message = str(raised.value)
    assert message.startswith("training.model_parallel=2 cannot split ")
    assert "inner_dense/kernel of shape (32, 63): 63 is not a multiple" in (
        message
    )
    assert "\n" not in message


def _train(tmp_path, name, strategy, capsys):
    values = copy.deepcopy(CONFIG)
    values["data"].update(validation_size=3, test_size=2)
    values["evaluation"].update(max_examples=2, show_examples=0)
    # Batches of 24, 16, 12 and 8 examples: whole for one device, halves
    # for two.
    values["training"].update(
        steps=10,
        steps_per_epoch=10,
        batch_tokens=192,
        max_batch_shapes=1,
        strategy=strategy,
        log_every=None,
    )
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(values))
    workdir = tmp_path / name
    train_and_evaluate(load_experiment(str(path)), str(workdir), verbose=0)
    model = keras.saving.load_model(workdir / "model.keras")
    return model, capsys.readouterr().out


def test_two_devices_train_the_weights_of_one(tmp_path, capsys):
    one, printed = _train(tmp_path, "one", "one_device", capsys)
    assert "1 replica(s) (1 cpu device)." in printed
    two, printed = _train(tmp_path, "two", "auto", capsys)
    assert "2 replica(s) (2 cpu devices, data parallel)." in printed

    # The weights, and Adam's moments of the ten steps: equal within 3e-7
    # of their largest values (measured). Not the key biases: the softmax
    # does not change when one number is added to all of a query's scores,
    # so their gradient is rounding noise (below 1e-9), which Adam scales
    # to steps of the learning rate's size.
    pairs = list(zip(one.variables, two.variables, strict=True))
    pairs += zip(one.optimizer.variables, two.optimizer.variables, strict=True)
    for a, b in pairs:  # seed_generator_6 is seed_generator_18 there
        assert re.sub(r"_\d+", "", a.path) == re.sub(r"_\d+", "", b.path)
        if re.search("key.bias_momentum", a.path):
            assert np.abs(a).max() < 1e-8 and np.abs(b).max() < 1e-8
        elif not re.search("key.bias", a.path):
            np.testing.assert_allclose(
                a, b, rtol=1e-5, atol=1e-6, err_msg=a.path
            )
    assert int(two.optimizer.iterations) == 10
    moments = [v for v in one.optimizer.variables if "momentum" in v.path]
    assert moments and all(np.abs(v).max() > 0 for v in moments)
