import numpy as np
import pytest

from keras_transformer.layers import PositionwiseFeedForward
from tests import reference
from tests.test_case import run_layer_test


def test_harness(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    run_layer_test(
        PositionwiseFeedForward,
        {"ff_dim": 32, "activation": "relu", "dropout": 0.1},
        x,
        (2, 5, 8),
        tmp_path=tmp_path,
    )


def test_matches_numpy():
    x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    layer = PositionwiseFeedForward(ff_dim=32)
    out = np.array(layer(x))
    np.testing.assert_allclose(
        out, reference.feed_forward(layer, x.astype("float64")), atol=1e-5
    )
    assert layer.inner_dense.units == 32 and layer.outer_dense.units == 8


def test_output_dim():
    layer = PositionwiseFeedForward(ff_dim=16, output_dim=3)
    assert layer(np.zeros((1, 2, 8), "float32")).shape == (1, 2, 3)


def test_bad_arguments():
    with pytest.raises(ValueError, match="ff_dim"):
        PositionwiseFeedForward(ff_dim=0)
    with pytest.raises(ValueError, match="dropout"):
        PositionwiseFeedForward(ff_dim=4, dropout=-0.1)


@pytest.mark.parametrize(
    "activation, formula",
    [
        ("gelu", lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
        (
            "gelu_tanh",
            lambda x: (
                0.5
                * x
                * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
            ),
        ),
        ("silu", lambda x: x / (1 + np.exp(-x))),
    ],
)
def test_the_activations_of_published_checkpoints(activation, formula):
    import keras

    x = np.linspace(-4, 4, 17).reshape(1, 1, 17).astype("float32")
    layer = PositionwiseFeedForward(ff_dim=17, activation=activation)
    layer.build(x.shape)
    layer.inner_dense.kernel.assign(np.eye(17, dtype="float32"))
    hidden = np.array(layer.inner_dense(x))
    np.testing.assert_allclose(hidden, formula(x), atol=1e-5)
    again = PositionwiseFeedForward.from_config(layer.get_config())
    assert again.activation(keras.ops.ones(1)) == layer.activation(
        keras.ops.ones(1)
    )


def _erf(x):
    import math

    return np.vectorize(math.erf)(x)
