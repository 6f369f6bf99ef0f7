import numpy as np

from keras_transformer.layers import OutputBias
from tests.test_case import run_layer_test


def test_harness(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 3, 7)).astype("float32")
    run_layer_test(OutputBias, {}, x, (2, 3, 7), tmp_path=tmp_path)


def test_adds_one_bias_per_vocabulary_entry():
    layer = OutputBias()
    x = np.random.default_rng(0).normal(size=(2, 3, 5)).astype("float32")
    layer.build(x.shape)
    layer.bias.assign(np.arange(5, dtype="float32"))
    np.testing.assert_allclose(np.array(layer(x)), x + np.arange(5))
