import keras
import numpy as np
import pytest

from keras_transformer.layers import TransformerEncoderLayer
from tests import reference
from tests.test_case import run_layer_test

B, T, D = 2, 6, 16


def _inputs(seed=0):
    return np.random.default_rng(seed).normal(size=(B, T, D)).astype("float32")


LENGTHS = np.array([[4], [T]])


@pytest.mark.parametrize("norm_first", [False, True])
def test_harness(norm_first, tmp_path):
    run_layer_test(
        TransformerEncoderLayer,
        {
            "num_heads": 4,
            "ff_dim": 32,
            "norm_first": norm_first,
            "dropout": 0.1,
            "attention_dropout": 0.1,
        },
        _inputs(),
        (B, T, D),
        tensor_kwargs={"padding_mask": np.arange(T) < LENGTHS},
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("norm_first", [False, True])
def test_matches_numpy_reference(norm_first):
    x = _inputs()
    key_mask = np.arange(T) < LENGTHS
    layer = TransformerEncoderLayer(4, 32, norm_first=norm_first)
    out = np.array(layer(x, padding_mask=key_mask))
    expected = reference.encoder_layer(layer, x.astype("float64"), key_mask)
    real = key_mask
    np.testing.assert_allclose(out[real], expected[real], atol=1e-4)


def test_padding_invariance():
    x = _inputs()
    mask = np.arange(T) < LENGTHS
    layer = TransformerEncoderLayer(4, 32)
    out = np.array(layer(x, padding_mask=mask))
    changed = x.copy()
    changed[0, 4:] = 100.0  # garbage in the padded positions
    out_changed = np.array(layer(changed, padding_mask=mask))
    np.testing.assert_allclose(out[mask], out_changed[mask], atol=1e-5)
    # Without the mask the garbage would leak into real positions.
    leaked = np.array(layer(changed))
    assert not np.allclose(leaked[0, :4], out[0, :4], atol=1e-3)


def test_implicit_mask_equals_explicit_padding_mask():
    tokens = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6]])
    inputs = keras.Input((None,), dtype="int32")
    embedding = keras.layers.Embedding(10, D, mask_zero=True)
    layer = TransformerEncoderLayer(4, 32)
    implicit = keras.Model(inputs, layer(embedding(inputs)))
    explicit_mask = keras.Input((None,), dtype="bool")
    explicit = keras.Model(
        [inputs, explicit_mask],
        layer(embedding(inputs), padding_mask=explicit_mask),
    )
    a = implicit.predict(tokens, verbose=0)
    b = explicit.predict([tokens, tokens != 0], verbose=0)
    np.testing.assert_allclose(a, b, atol=1e-6)
    unmasked = np.array(layer(embedding(tokens), padding_mask=tokens >= 0))
    assert not np.allclose(a[0, :3], unmasked[0, :3], atol=1e-3)


def test_attention_mask_and_scores():
    x = _inputs()
    layer = TransformerEncoderLayer(4, 32)
    local = np.abs(np.arange(T)[:, None] - np.arange(T)[None]) <= 1
    out, scores = layer(x, attention_mask=local, return_attention_scores=True)
    assert scores.shape == (B, 4, T, T)
    assert np.all(np.array(scores)[:, :, ~local] == 0)


def test_dropout_only_in_training():
    x = _inputs()
    layer = TransformerEncoderLayer(4, 32, dropout=0.3)
    a = np.array(layer(x, training=False))
    b = np.array(layer(x, training=False))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(layer(x, training=True), a)


def test_sublayers_are_public():
    layer = TransformerEncoderLayer(4, 32)
    layer(_inputs())
    assert layer.self_attention.key_dim == D // 4
    assert layer.feed_forward.inner_dense.units == 32
    assert layer.self_attention_norm.epsilon == layer.layer_norm_epsilon
    assert layer.feed_forward_norm is not None


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_heads"):
        TransformerEncoderLayer(0, 32)
    with pytest.raises(ValueError, match="ff_dim"):
        TransformerEncoderLayer(2, -1)
    with pytest.raises(ValueError, match="dropout"):
        TransformerEncoderLayer(2, 8, dropout=1.0)
    with pytest.raises(ValueError, match="layer_norm_epsilon"):
        TransformerEncoderLayer(2, 8, layer_norm_epsilon=0)
    with pytest.raises(
        ValueError, match=r"D=16 is not divisible by num_heads=3"
    ):
        TransformerEncoderLayer(3, 8)(_inputs())
    # An explicit key_dim lifts the divisibility requirement.
    assert TransformerEncoderLayer(3, 8, key_dim=5)(_inputs()).shape == (
        B,
        T,
        D,
    )
    with pytest.raises(ValueError, match="padding_mask"):
        TransformerEncoderLayer(2, 8)(_inputs(), padding_mask=np.ones((B, 3)))
    with pytest.raises(ValueError, match="attention_mask"):
        TransformerEncoderLayer(2, 8)(
            _inputs(), attention_mask=np.ones((B, T, T + 1), bool)
        )
