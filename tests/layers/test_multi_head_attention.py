import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transformer.layers import MultiHeadAttention
from keras_transformer.layers import multi_head_attention as mha_module
from tests.test_case import run_layer_test

B, T, S, D = 2, 5, 7, 16


def _data(seed=0, key_dim=None):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(B, T, D)).astype("float32")
    value = rng.normal(size=(B, S, 12)).astype("float32")
    key = rng.normal(size=(B, S, 10)).astype("float32")
    return query, value, key


@pytest.mark.parametrize(
    "init_kwargs, call_kwargs",
    [
        ({"num_heads": 4, "key_dim": 8}, {}),
        (
            {
                "num_heads": 2,
                "key_dim": 8,
                "value_dim": 6,
                "dropout": 0.1,
                "output_shape": 5,
                "use_bias": False,
            },
            {"use_causal_mask": True},
        ),
    ],
)
def test_layer_harness(init_kwargs, call_kwargs, tmp_path):
    query, value, _ = _data()
    out_dim = init_kwargs.get("output_shape") or D
    run_layer_test(
        MultiHeadAttention,
        init_kwargs,
        (query, value),
        (B, T, out_dim),
        call_kwargs=dict(call_kwargs, return_attention_scores=True),
        tmp_path=tmp_path,
    )


def _pair(**kwargs):
    reference = keras.layers.MultiHeadAttention(**kwargs)
    ours = MultiHeadAttention(**kwargs)
    return reference, ours


def _copy_weights(reference, ours, *args):
    reference(*args)
    ours(*args)
    ours.set_weights(reference.get_weights())


CASES = {
    "self": lambda q, v, k: ((q, q), {}),
    "cross": lambda q, v, k: ((q, v), {}),
    "key_not_value": lambda q, v, k: ((q, v, k), {}),
    "causal_self": lambda q, v, k: ((q, q), {"use_causal_mask": True}),
    "causal_cross": lambda q, v, k: ((q, v), {"use_causal_mask": True}),
    "value_padding": lambda q, v, k: (
        (q, v),
        {"value_mask": np.arange(S) < np.array([[4], [S]])},
    ),
    "key_padding": lambda q, v, k: (
        (q, v, k),
        {"key_mask": np.arange(S) < np.array([[3], [6]])},
    ),
    "explicit_mask": lambda q, v, k: (
        (q, v),
        {"attention_mask": np.random.default_rng(3).random((B, T, S)) > 0.3},
    ),
    "explicit_and_causal": lambda q, v, k: (
        (q, q),
        {
            "attention_mask": np.random.default_rng(4).random((B, T, T)) > 0.2,
            "use_causal_mask": True,
        },
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_matches_keras_multi_head_attention(case, dropout):
    query, value, key = _data()
    args, kwargs = CASES[case](query, value, key)
    reference, ours = _pair(
        num_heads=4, key_dim=8, value_dim=6, dropout=dropout
    )
    _copy_weights(reference, ours, *args)
    assert [w.shape for w in ours.get_weights()] == [
        w.shape for w in reference.get_weights()
    ]
    expected, expected_scores = reference(
        *args, **kwargs, return_attention_scores=True, training=False
    )
    actual, scores = ours(
        *args, **kwargs, return_attention_scores=True, training=False
    )
    np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-5, rtol=1e-5)
    # Without scores Keras takes its fused path; still the same outputs.
    np.testing.assert_allclose(
        ours(*args, **kwargs),
        reference(*args, **kwargs),
        atol=1e-5,
        rtol=1e-5,
    )


def test_matches_keras_with_implicit_masks():
    """Embedding(mask_zero=True) masks reach both layers in a model."""
    target = keras.Input((None,), dtype="int32")
    source = keras.Input((None,), dtype="int32")
    target_embedding = keras.layers.Embedding(30, D, mask_zero=True)
    source_embedding = keras.layers.Embedding(30, 12, mask_zero=True)
    reference, ours = _pair(num_heads=4, key_dim=8)

    def model(layer):
        outputs = layer(
            target_embedding(target),
            source_embedding(source),
            return_attention_scores=True,
        )
        return keras.Model([target, source], outputs)

    reference_model, our_model = model(reference), model(ours)
    ours.set_weights(reference.get_weights())
    tokens = [
        np.array([[3, 4, 5, 0, 0], [1, 2, 3, 4, 5]]),
        np.array([[3, 4, 5, 6, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7]]),
    ]
    expected = reference_model.predict(tokens, verbose=0)
    actual = our_model.predict(tokens, verbose=0)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, atol=1e-5, rtol=1e-5)
    # The padded source positions get no weight.
    assert np.all(actual[1][0, :, :, 4:] == 0)


def test_output_keeps_query_implicit_mask():
    tokens = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, D, mask_zero=True)(tokens)
    y = MultiHeadAttention(2, 8)(x, x)
    pooled = keras.layers.GlobalAveragePooling1D()(y)  # honours the mask
    model = keras.Model(tokens, pooled)
    a = model.predict(np.array([[1, 2, 0]]), verbose=0)
    b = model.predict(np.array([[1, 2, 0, 0, 0]]), verbose=0)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_dropout_only_in_training():
    query, value, _ = _data()
    layer = MultiHeadAttention(2, 8, dropout=0.5, seed=1)
    infer_1 = layer(query, value, training=False)
    infer_2 = layer(query, value, training=False)
    np.testing.assert_array_equal(infer_1, infer_2)
    train = layer(query, value, training=True)
    assert not np.allclose(train, infer_1)


def test_fully_masked_rows_are_finite_in_half_precision():
    query, value, _ = _data()
    mask = np.ones((B, T, S), bool)
    mask[0, 1] = False  # one query sees nothing
    mask[1] = False  # a whole example sees nothing
    for policy in ("float32", "mixed_float16", "mixed_bfloat16"):
        layer = MultiHeadAttention(2, 8, dtype=policy)
        outputs, scores = layer(
            query * 100,
            value * 100,
            attention_mask=mask,
            return_attention_scores=True,
        )
        outputs = np.array(outputs, "float32")
        scores = np.array(scores, "float32")
        assert np.all(np.isfinite(outputs)) and np.all(np.isfinite(scores))
        assert np.all(scores[0, :, 1] == 0) and np.all(scores[1] == 0)
        # Rows with something to attend to still sum to one.
        np.testing.assert_allclose(scores[0, :, 0].sum(-1), 1, atol=1e-2)


def test_incremental_decoding_matches_full_causal_pass():
    query, _, _ = _data()
    layer = MultiHeadAttention(4, 8)
    full, full_scores = layer(
        query, query, use_causal_mask=True, return_attention_scores=True
    )
    cache = layer.init_cache(B, T)
    steps = []
    for index in range(T):
        step, scores, cache = layer(
            query[:, index : index + 1],
            query[:, index : index + 1],
            use_causal_mask=True,
            return_attention_scores=True,
            cache=cache,
            cache_update_index=index,
        )
        steps.append(step)
        np.testing.assert_allclose(
            scores[:, :, 0], full_scores[:, :, index], atol=1e-6
        )
    np.testing.assert_allclose(np.concatenate(steps, 1), full, atol=1e-5)
    # The cache holds exactly the projected keys and values.
    keys, values = layer.compute_key_value(query)
    np.testing.assert_allclose(cache[0], keys, atol=1e-6)
    np.testing.assert_allclose(cache[1], values, atol=1e-6)


def test_chunked_cache_update_matches_full_pass():
    """A prompt of several positions, then single steps."""
    query, _, _ = _data()
    layer = MultiHeadAttention(4, 8)
    full = layer(query, query, use_causal_mask=True)
    cache = layer.init_cache(B, T + 3)  # more slots than needed
    prompt, cache = layer(
        query[:, :3],
        query[:, :3],
        use_causal_mask=True,
        cache=cache,
        cache_update_index=0,
    )
    rest = []
    for index in range(3, T):
        step, cache = layer(
            query[:, index : index + 1],
            query[:, index : index + 1],
            use_causal_mask=True,
            cache=cache,
            cache_update_index=index,
        )
        rest.append(step)
    np.testing.assert_allclose(
        np.concatenate([prompt] + rest, 1), full, atol=1e-5
    )


def test_precomputed_cross_attention_cache():
    query, value, _ = _data()
    layer = MultiHeadAttention(4, 8)
    full = layer(query, value)
    cache = layer.compute_key_value(value)
    cached, same_cache = layer(query, None, cache=cache)
    np.testing.assert_allclose(cached, full, atol=1e-6)
    for returned, given in zip(same_cache, cache):
        np.testing.assert_array_equal(returned, given)


def test_cached_decoding_compiles_with_xla():
    query, _, _ = _data()
    layer = MultiHeadAttention(4, 8)
    full = layer(query, query, use_causal_mask=True)

    @tf.function(jit_compile=True)
    def decode(sequence):
        cache = layer.init_cache(B, T)
        outputs = tf.TensorArray(tf.float32, size=T)

        def body(index, cache, outputs):
            step = tf.slice(sequence, [0, index, 0], [B, 1, D])
            out, cache = layer(
                step,
                step,
                use_causal_mask=True,
                cache=cache,
                cache_update_index=index,
            )
            return index + 1, cache, outputs.write(index, out[:, 0])

        _, _, outputs = tf.while_loop(
            lambda index, *_: index < T, body, (0, cache, outputs)
        )
        return tf.transpose(outputs.stack(), (1, 0, 2))

    np.testing.assert_allclose(decode(query), full, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_heads": 0, "key_dim": 8}, "num_heads"),
        ({"num_heads": -2, "key_dim": 8}, "num_heads"),
        ({"num_heads": 2, "key_dim": 0}, "key_dim"),
        ({"num_heads": 2, "key_dim": 8, "value_dim": -1}, "value_dim"),
        ({"num_heads": 2, "key_dim": 8, "dropout": 1.5}, "dropout"),
        (
            {"num_heads": 2, "key_dim": 8, "output_shape": (3, 4)},
            "output_shape",
        ),
        ({"num_heads": 2.5, "key_dim": 8}, "num_heads"),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiHeadAttention(**kwargs)


def test_bad_masks_name_the_argument():
    query, value, _ = _data()
    layer = MultiHeadAttention(2, 8)
    with pytest.raises(ValueError, match=r"attention_mask.*\(2, 5, 7\)"):
        layer(query, value, attention_mask=np.ones((B, T, S + 1), bool))
    with pytest.raises(ValueError, match="attention_mask"):
        layer(query, value, attention_mask=np.ones((3, T, S), bool))
    with pytest.raises(ValueError, match="value_mask"):
        layer(query, value, value_mask=np.ones((B, S + 2), bool))
    with pytest.raises(ValueError, match="query_mask"):
        layer(query, value, query_mask=np.ones((B, T, 1), bool))
    with pytest.raises(ValueError, match="value"):
        layer(query)
    with pytest.raises(ValueError, match="query"):
        MultiHeadAttention(2, 8)(np.ones((2, 3), "float32"), np.ones((2, 3)))


def _fused_and_explicit(policy="float32", self_attention=False, **kwargs):
    query, value, _ = _data()
    value = query if self_attention else value
    fused = MultiHeadAttention(
        2, 8, dtype=policy, fused_attention=True, **kwargs
    )
    explicit = MultiHeadAttention(
        2, 8, dtype=policy, fused_attention=False, **kwargs
    )
    fused(query, value)
    explicit(query, value)
    explicit.set_weights(fused.get_weights())
    return fused, explicit


@pytest.fixture
def fused_calls(monkeypatch):
    """A list that grows by one at every fused attention call."""
    calls = []
    real = mha_module.fused_dot_product_attention
    monkeypatch.setattr(
        mha_module,
        "fused_dot_product_attention",
        lambda *a, **k: calls.append(1) or real(*a, **k),
    )
    return calls


@pytest.mark.parametrize(
    "masks",
    ["none", "causal", "padding", "attention_mask"],
)
def test_fused_path_matches_explicit_path(masks, fused_calls):
    query, value, _ = _data()
    kwargs = {}
    if masks == "causal":
        value = query
        kwargs["use_causal_mask"] = True
    elif masks == "padding":
        value_mask = np.ones((B, S), bool)
        value_mask[0, 4:] = False
        value_mask[1] = False  # nothing to attend to: zero outputs
        kwargs["value_mask"] = value_mask
    elif masks == "attention_mask":
        attention_mask = np.random.default_rng(2).random((B, T, S)) > 0.4
        attention_mask[0, 1] = False
        kwargs["attention_mask"] = attention_mask
    fused, explicit = _fused_and_explicit(self_attention=masks == "causal")
    calls = fused_calls
    calls.clear()  # the calls that built the layers
    expected = np.array(explicit(query, value, **kwargs))
    assert not calls  # fused_attention=False never takes the fused path
    outputs = np.array(fused(query, value, **kwargs))
    assert calls  # ... and the default does when no weights are asked for
    np.testing.assert_allclose(outputs, expected, atol=1e-5)
    # Asking for the weights (or training with attention dropout) takes
    # the explicit path, with the same outputs.
    calls.clear()
    with_scores, _ = fused(query, value, return_attention_scores=True, **kwargs)
    assert not calls
    np.testing.assert_allclose(with_scores, expected, atol=1e-5)


def test_fused_path_in_half_precision_keeps_masked_rows_zero():
    query, value, _ = _data()
    mask = np.ones((B, T, S), bool)
    mask[0, 1] = False
    mask[1] = False
    for policy in ("mixed_bfloat16",):
        fused, explicit = _fused_and_explicit(policy)
        outputs = np.array(
            fused(query * 100, value * 100, attention_mask=mask), "float32"
        )
        expected = np.array(
            explicit(query * 100, value * 100, attention_mask=mask), "float32"
        )
        assert np.all(np.isfinite(outputs))
        assert np.all(outputs[1] == np.array(fused.output_dense.bias))
        np.testing.assert_allclose(outputs, expected, rtol=2e-2, atol=2e-1)


def test_decoding_weights_give_the_same_cached_steps():
    query, value, _ = _data()
    layer = MultiHeadAttention(4, 8)
    layer(query, query)
    packed = layer.decoding_weights(fuse_qkv=True)
    assert packed["qkv"].shape == (D, 4 * (8 + 8 + 8))
    plain_cache = packed_cache = layer.init_cache(B, T)
    for index in range(T):
        step = query[:, index : index + 1]
        plain, plain_cache = layer(
            step,
            step,
            use_causal_mask=True,
            cache=plain_cache,
            cache_update_index=index,
        )
        fast, packed_cache = layer(
            step,
            step,
            use_causal_mask=True,
            cache=packed_cache,
            cache_update_index=index,
            decoding_weights=packed,
        )
        np.testing.assert_allclose(fast, plain, atol=1e-5)
    for fast, plain in zip(packed_cache, plain_cache):
        np.testing.assert_allclose(fast, plain, atol=1e-5)
    # Cross-attention over precomputed keys/values: the query kernel only.
    cross = MultiHeadAttention(2, 8)
    expected = cross(query, value)
    memory = cross.compute_key_value(value)
    outputs, _ = cross(
        query,
        None,
        cache=memory,
        decoding_weights=cross.decoding_weights(),
    )
    np.testing.assert_allclose(outputs, expected, atol=1e-5)
    with pytest.raises(ValueError, match="fuse_qkv=False"):
        layer(query, query, decoding_weights=packed)


def test_fused_attention_auto_fuses_only_with_an_accelerator(
    fused_calls, monkeypatch
):
    query, value, _ = _data()
    calls = fused_calls
    layer = MultiHeadAttention(2, 8)  # "auto"
    assert layer.get_config()["fused_attention"] == "auto"
    monkeypatch.setattr(mha_module, "accelerator_present", lambda: False)
    layer(query, value)
    assert not calls
    monkeypatch.setattr(mha_module, "accelerator_present", lambda: True)
    layer(query, value)
    assert calls
    with pytest.raises(ValueError, match="fused_attention"):
        MultiHeadAttention(2, 8, fused_attention="yes")
