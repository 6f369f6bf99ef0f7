import keras
import numpy as np
import pytest

from keras_transformer.layers import PointerGenerator
from keras_transformer.layers.pointer_generator import scatter_to_vocabulary
from tests import reference
from tests.test_case import run_layer_test

V = 12


def _inputs(seed=0, batch=2, target=3, source=5, width=8):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(batch, target, V)).astype("float32")
    states = rng.normal(size=(batch, target, width)).astype("float32")
    memory = rng.normal(size=(batch, source, width)).astype("float32")
    tokens = rng.integers(4, V, (batch, source)).astype("int32")
    tokens[1, 3:] = 0  # padding
    tokens[0, 1] = tokens[0, 4]  # a repeated source token
    return logits, states, memory, tokens


def test_harness(tmp_path):
    run_layer_test(
        PointerGenerator,
        {"vocab_size": V},
        _inputs(),
        (2, 3, V),
        tmp_path=tmp_path,
        mixed_precision=False,  # float32 log-probabilities: checked below
    )


def test_matches_numpy():
    logits, states, memory, tokens = _inputs()
    layer = PointerGenerator(V)
    out = np.array(layer(logits, states, memory, tokens))
    expected = reference.pointer_generator(
        layer, logits, states.astype("float64"), memory, tokens
    )
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_copy_attention_matches_numpy():
    logits, states, memory, tokens = _inputs(seed=3)
    layer = PointerGenerator(V)
    layer(logits, states, memory, tokens)
    weights, gate = layer.copy_attention(states, memory, tokens)
    want_weights, want_gate = reference.copy_attention(
        layer, states.astype("float64"), memory, tokens
    )
    assert weights.shape == (2, 3, 5) and gate.shape == (2, 3, 1)
    np.testing.assert_allclose(np.array(weights), want_weights, atol=1e-5)
    np.testing.assert_allclose(np.array(gate), want_gate, atol=1e-5)
    assert np.array(weights)[1, :, 3:].max() == 0.0  # padding: no copies


def test_a_distribution_that_copies_only_source_tokens():
    logits, states, memory, tokens = _inputs(seed=1)
    layer = PointerGenerator(V)
    layer(logits, states, memory, tokens)
    kernel, bias = layer.gate_dense.weights
    kernel.assign(np.zeros(kernel.shape, "float32"))
    probs = np.exp(np.array(layer(logits, states, memory, tokens)))
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
    bias.assign(np.full(bias.shape, -30.0, "float32"))  # gate ~ 0: copy
    probs = np.exp(np.array(layer(logits, states, memory, tokens)))
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
    for row, source in enumerate(tokens):
        absent = np.setdiff1d(np.arange(V), source[source != 0])
        assert probs[row][:, absent].max() < 1e-6  # padding id 0 too
    # gate ~ 1: the decoder's own distribution, untouched.
    bias.assign(np.full(bias.shape, 30.0, "float32"))
    out = np.array(layer(logits, states, memory, tokens))
    np.testing.assert_allclose(
        out, np.log(reference.softmax(logits)), atol=1e-5
    )


def test_source_padding_changes_nothing():
    logits, states, memory, tokens = _inputs(seed=2)
    layer = PointerGenerator(V)
    short = np.array(layer(logits, states, memory[:, :3], tokens[:, :3]))
    padded_memory = np.concatenate(
        [memory[:, :3], np.full((2, 4, 8), 9.0, "float32")], 1
    )
    padded_tokens = np.concatenate(
        [tokens[:, :3], np.zeros((2, 4), "int32")], 1
    )
    padded = np.array(layer(logits, states, padded_memory, padded_tokens))
    np.testing.assert_allclose(short, padded, atol=1e-6)


def test_scatter_sums_repeated_tokens():
    weights = np.array([[[0.5, 0.25, 0.25], [0.0, 1.0, 0.0]]], "float32")
    out = np.array(scatter_to_vocabulary(weights, np.array([[4, 2, 4]]), 5))
    np.testing.assert_allclose(
        out, [[[0, 0, 0.25, 0, 0.75], [0, 0, 1.0, 0, 0]]], atol=1e-7
    )


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_gives_float32_log_probabilities(policy):
    logits, states, memory, tokens = _inputs(seed=3)
    layer = PointerGenerator(V, dtype=policy)
    out = layer(logits, states, memory, tokens)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    assert np.all(np.isfinite(np.array(out)))
    np.testing.assert_allclose(np.exp(np.array(out)).sum(-1), 1.0, atol=1e-2)
    assert all(weight.dtype == "float32" for weight in layer.weights)


def test_wrong_vocabulary_is_named():
    logits, states, memory, tokens = _inputs()
    with pytest.raises(ValueError, match="vocab_size=7"):
        PointerGenerator(7)(logits, states, memory, tokens)
