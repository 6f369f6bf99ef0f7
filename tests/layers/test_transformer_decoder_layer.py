import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transformer.layers import TransformerDecoderLayer
from tests import reference
from tests.test_case import run_layer_test

B, T, S, D = 2, 6, 5, 16


def _data(seed=0):
    rng = np.random.default_rng(seed)
    target = rng.normal(size=(B, T, D)).astype("float32")
    source = rng.normal(size=(B, S, D)).astype("float32")
    return target, source


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("cross", [True, False])
def test_harness(norm_first, cross, tmp_path):
    target, source = _data()
    inputs = (target, source) if cross else target
    run_layer_test(
        TransformerDecoderLayer,
        {
            "num_heads": 4,
            "ff_dim": 32,
            "norm_first": norm_first,
            "dropout": 0.1,
        },
        inputs,
        (B, T, D),
        call_kwargs={"return_attention_scores": True},
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("cross", [True, False])
def test_matches_numpy_reference(norm_first, cross):
    target, source = _data()
    layer = TransformerDecoderLayer(4, 32, norm_first=norm_first)
    out = layer(target, source) if cross else layer(target)
    expected = reference.decoder_layer(
        layer,
        target.astype("float64"),
        source.astype("float64") if cross else None,
    )
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_causality():
    target, source = _data()
    layer = TransformerDecoderLayer(4, 32)
    out = np.array(layer(target, source))
    for cut in range(1, T):
        changed = target.copy()
        changed[:, cut:] = np.random.default_rng(cut).normal(
            size=changed[:, cut:].shape
        )
        out_changed = np.array(layer(changed, source))
        np.testing.assert_allclose(
            out[:, :cut], out_changed[:, :cut], atol=1e-5
        )
        assert not np.allclose(out[:, cut:], out_changed[:, cut:])


def test_source_padding_invariance():
    target, source = _data()
    source_mask = np.arange(S) < np.array([[3], [S]])
    layer = TransformerDecoderLayer(4, 32)
    out = np.array(layer(target, source, encoder_padding_mask=source_mask))
    changed = source.copy()
    changed[0, 3:] = 50.0
    out_changed = np.array(
        layer(target, changed, encoder_padding_mask=source_mask)
    )
    np.testing.assert_allclose(out, out_changed, atol=1e-5)


def test_target_padding_invariance():
    target, source = _data()
    mask = np.arange(T) < np.array([[4], [T]])
    layer = TransformerDecoderLayer(4, 32)
    out = np.array(layer(target, source, padding_mask=mask))
    changed = target.copy()
    changed[0, 4:] = 50.0
    out_changed = np.array(layer(changed, source, padding_mask=mask))
    np.testing.assert_allclose(out[mask], out_changed[mask], atol=1e-5)


def test_returns_self_and_cross_attention_scores():
    target, source = _data()
    source_mask = np.arange(S) < np.array([[3], [S]])
    layer = TransformerDecoderLayer(4, 32)
    _, scores = layer(
        target,
        source,
        encoder_padding_mask=source_mask,
        return_attention_scores=True,
    )
    self_scores = np.array(scores["self_attention"])
    cross_scores = np.array(scores["cross_attention"])
    assert self_scores.shape == (B, 4, T, T)
    assert cross_scores.shape == (B, 4, T, S)
    assert np.all(
        self_scores[..., np.triu_indices(T, 1)[0], np.triu_indices(T, 1)[1]]
        == 0
    )
    assert np.all(cross_scores[0, :, :, 3:] == 0)
    np.testing.assert_allclose(cross_scores.sum(-1), 1, atol=1e-5)


def test_implicit_masks_from_embeddings():
    target_tokens = np.array([[1, 2, 3, 0, 0, 0], [1, 2, 3, 4, 5, 6]])
    source_tokens = np.array([[4, 5, 0, 0, 0], [1, 2, 3, 4, 5]])
    t_in = keras.Input((None,), dtype="int32")
    s_in = keras.Input((None,), dtype="int32")
    embedding = keras.layers.Embedding(10, D, mask_zero=True)
    layer = TransformerDecoderLayer(4, 32)
    _, scores = layer(
        embedding(t_in), embedding(s_in), return_attention_scores=True
    )
    model = keras.Model([t_in, s_in], scores["cross_attention"])
    cross = model.predict([target_tokens, source_tokens], verbose=0)
    assert np.all(cross[0, :, :, 2:] == 0)
    assert np.all(cross[1] > 0)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("cross", [True, False])
def test_incremental_decoding_matches_full_pass(norm_first, cross):
    target, source = _data()
    layer = TransformerDecoderLayer(4, 32, norm_first=norm_first)
    memory = source if cross else None
    full, full_scores = layer(target, memory, return_attention_scores=True)
    cache = layer.init_cache(B, T, memory)
    steps = []
    for index in range(T):
        step, scores, cache = layer(
            target[:, index : index + 1],
            return_attention_scores=True,
            cache=cache,
            cache_update_index=index,
        )
        steps.append(step)
        if cross:
            np.testing.assert_allclose(
                scores["cross_attention"][:, :, 0],
                full_scores["cross_attention"][:, :, index],
                atol=1e-5,
            )
    np.testing.assert_allclose(np.concatenate(steps, 1), full, atol=1e-5)


def test_cached_decoding_under_xla():
    target, source = _data()
    layer = TransformerDecoderLayer(4, 32)
    full = layer(target, source)

    @tf.function(jit_compile=True)
    def decode(target, source):
        cache = layer.init_cache(B, T, source)
        outputs = tf.TensorArray(tf.float32, size=T)

        def body(index, cache, outputs):
            step = tf.slice(target, [0, index, 0], [B, 1, D])
            out, cache = layer(step, cache=cache, cache_update_index=index)
            return index + 1, cache, outputs.write(index, out[:, 0])

        _, _, outputs = tf.while_loop(
            lambda index, *_: index < T, body, (0, cache, outputs)
        )
        return tf.transpose(outputs.stack(), (1, 0, 2))

    np.testing.assert_allclose(decode(target, source), full, atol=1e-5)


def test_encoder_outputs_errors():
    target, source = _data()
    with_cross = TransformerDecoderLayer(4, 32)
    with_cross(target, source)
    with pytest.raises(ValueError, match="encoder_outputs"):
        with_cross(target)
    with pytest.raises(ValueError, match="encoder_outputs"):
        with_cross.init_cache(B, T)
    decoder_only = TransformerDecoderLayer(4, 32)
    decoder_only(target)
    with pytest.raises(ValueError, match="without cross-attention"):
        decoder_only(target, source)
    with pytest.raises(ValueError, match="encoder_padding_mask|value_mask"):
        with_cross(target, source, encoder_padding_mask=np.ones((B, S + 1)))
    cache = with_cross.init_cache(B, T, source)
    with pytest.raises(ValueError, match="cache_update_index"):
        with_cross(target[:, :1], cache=cache)
