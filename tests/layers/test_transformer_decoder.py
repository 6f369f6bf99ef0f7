import numpy as np
import pytest
import tensorflow as tf

from keras_transformer.layers import TransformerDecoder
from tests.test_case import run_layer_test

B, T, S, D = 2, 6, 5, 16


def _data():
    rng = np.random.default_rng(0)
    return (
        rng.normal(size=(B, T, D)).astype("float32"),
        rng.normal(size=(B, S, D)).astype("float32"),
    )


@pytest.mark.parametrize("norm_first", [False, True])
def test_harness(norm_first, tmp_path):
    target, source = _data()
    run_layer_test(
        TransformerDecoder,
        {
            "num_layers": 2,
            "num_heads": 4,
            "ff_dim": 32,
            "norm_first": norm_first,
        },
        (target, source),
        (B, T, D),
        tensor_kwargs={
            "encoder_padding_mask": np.arange(S) < np.array([[3], [S]])
        },
        call_kwargs={"return_attention_scores": True},
        tmp_path=tmp_path,
    )


def test_decoder_only_harness(tmp_path):
    target, _ = _data()
    run_layer_test(
        TransformerDecoder,
        {"num_layers": 2, "num_heads": 4, "ff_dim": 32},
        target,
        (B, T, D),
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("norm_first", [False, True])
def test_equals_its_layers_applied_in_turn(norm_first):
    target, source = _data()
    decoder = TransformerDecoder(2, 4, 32, norm_first=norm_first)
    out, scores = decoder(target, source, return_attention_scores=True)
    assert len(scores) == 2 and set(scores[0]) == {
        "self_attention",
        "cross_attention",
    }
    assert (decoder.final_norm is not None) == norm_first
    y = target
    for layer in decoder.decoder_layers:
        y = layer(y, source)
    if norm_first:
        y = decoder.final_norm(y)
    np.testing.assert_allclose(out, y, atol=1e-6)


@pytest.mark.parametrize("cross", [True, False])
@pytest.mark.parametrize("norm_first", [False, True])
def test_incremental_decoding_matches_full_pass(cross, norm_first):
    target, source = _data()
    memory = source if cross else None
    decoder = TransformerDecoder(3, 4, 32, norm_first=norm_first)
    full = decoder(target, memory)
    cache = decoder.init_cache(B, T, memory)
    steps = []
    for index in range(T):
        step, cache = decoder(
            target[:, index : index + 1],
            cache=cache,
            cache_update_index=index,
        )
        steps.append(step)
    np.testing.assert_allclose(np.concatenate(steps, 1), full, atol=1e-5)


def test_stack_decoding_under_xla_matches_full_pass():
    target, source = _data()
    decoder = TransformerDecoder(2, 4, 32)
    full = decoder(target, source)

    @tf.function(jit_compile=True)
    def decode(target, source):
        cache = decoder.init_cache(B, T, source)
        outputs = tf.TensorArray(tf.float32, size=T)

        def body(index, cache, outputs):
            step = tf.slice(target, [0, index, 0], [B, 1, D])
            out, cache = decoder(step, cache=cache, cache_update_index=index)
            return index + 1, cache, outputs.write(index, out[:, 0])

        _, _, outputs = tf.while_loop(
            lambda index, *_: index < T, body, (0, cache, outputs)
        )
        return tf.transpose(outputs.stack(), (1, 0, 2))

    np.testing.assert_allclose(decode(target, source), full, atol=1e-5)


def test_bad_cache():
    target, source = _data()
    decoder = TransformerDecoder(2, 4, 32)
    decoder(target, source)
    cache = decoder.init_cache(B, T, source)
    with pytest.raises(ValueError, match="one entry per layer"):
        decoder(target[:, :1], cache=cache[:1], cache_update_index=0)
    with pytest.raises(ValueError, match="encoder_outputs"):
        decoder(target)
