import numpy as np
import pytest

from keras_transformer.layers import TransformerEncoder
from tests.test_case import run_layer_test

B, T, D = 2, 6, 16


def _inputs():
    return np.random.default_rng(0).normal(size=(B, T, D)).astype("float32")


@pytest.mark.parametrize("norm_first", [False, True])
def test_harness(norm_first, tmp_path):
    run_layer_test(
        TransformerEncoder,
        {
            "num_layers": 2,
            "num_heads": 4,
            "ff_dim": 32,
            "norm_first": norm_first,
        },
        _inputs(),
        (B, T, D),
        tensor_kwargs={"padding_mask": np.arange(T) < np.array([[3], [T]])},
        call_kwargs={"return_attention_scores": True},
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("norm_first", [False, True])
def test_equals_its_layers_applied_in_turn(norm_first):
    x = _inputs()
    mask = np.arange(T) < np.array([[3], [T]])
    encoder = TransformerEncoder(3, 4, 32, norm_first=norm_first)
    out, scores = encoder(x, padding_mask=mask, return_attention_scores=True)
    assert len(encoder.encoder_layers) == 3 and len(scores) == 3
    assert (encoder.final_norm is not None) == norm_first
    y = x
    for layer in encoder.encoder_layers:
        y = layer(y, padding_mask=mask)
    if norm_first:
        y = encoder.final_norm(y)
    np.testing.assert_allclose(out, y, atol=1e-6)


def test_layers_get_the_stack_hyperparameters():
    encoder = TransformerEncoder(
        2, 4, 32, activation="gelu", layer_norm_epsilon=1e-5, dropout=0.2
    )
    encoder(_inputs())
    for layer in encoder.encoder_layers:
        config = layer.get_config()
        assert config["ff_dim"] == 32 and config["dropout"] == 0.2
        assert config["layer_norm_epsilon"] == 1e-5
        assert config["activation"] == "gelu"


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_layers"):
        TransformerEncoder(0, 4, 32)
    with pytest.raises(ValueError, match="inputs"):
        TransformerEncoder(1, 4, 32)(np.ones((2, 3), "float32"))
