import numpy as np

from keras_transformer.layers import scaled_dot_product_attention
from keras_transformer.layers.attention import fused_dot_product_attention
from tests import reference


def test_tiny_hand_computed_example():
    # Two keys; the query matches the first. scale = 1/sqrt(2).
    query = np.array([[[1.0, 1.0]]], "float32")
    key = np.array([[[1.0, 1.0], [0.0, 0.0]]], "float32")
    value = np.array([[[10.0, 0.0], [0.0, 20.0]]], "float32")
    outputs, weights = scaled_dot_product_attention(query, key, value)
    # logits = [2/sqrt(2), 0] = [sqrt(2), 0]
    w0 = np.exp(np.sqrt(2)) / (np.exp(np.sqrt(2)) + 1)
    np.testing.assert_allclose(weights, [[[w0, 1 - w0]]], rtol=1e-6)
    np.testing.assert_allclose(outputs, [[[10 * w0, 20 * (1 - w0)]]], rtol=1e-6)


def test_mask_removes_keys():
    query = np.array([[[1.0, 1.0]]], "float32")
    key = np.array([[[1.0, 1.0], [0.0, 0.0]]], "float32")
    value = np.array([[[10.0, 0.0], [0.0, 20.0]]], "float32")
    outputs, weights = scaled_dot_product_attention(
        query, key, value, mask=np.array([[[False, True]]])
    )
    np.testing.assert_allclose(weights, [[[0.0, 1.0]]])
    np.testing.assert_allclose(outputs, [[[0.0, 20.0]]])


def test_matches_numpy_on_random_multi_head_inputs():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(2, 3, 5, 4)).astype("float32")
    k = rng.normal(size=(2, 3, 6, 4)).astype("float32")
    v = rng.normal(size=(2, 3, 6, 7)).astype("float32")
    mask = rng.random((2, 1, 5, 6)) > 0.3
    outputs, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    expected, expected_weights = reference.attention(q, k, v, mask)
    np.testing.assert_allclose(weights, expected_weights, atol=1e-6)
    np.testing.assert_allclose(outputs, expected, atol=1e-5)


def test_dropout_only_when_training():
    rng = np.random.default_rng(0)
    q = k = v = rng.normal(size=(1, 8, 4)).astype("float32")
    plain, _ = scaled_dot_product_attention(q, k, v, dropout_rate=0.5)
    dropped, weights = scaled_dot_product_attention(
        q, k, v, dropout_rate=0.5, seed=3, training=True
    )
    assert not np.allclose(plain, dropped)
    # The returned weights are those before dropout.
    np.testing.assert_allclose(np.array(weights).sum(-1), 1, atol=1e-6)


def test_fused_attention_matches_numpy_with_fully_masked_rows():
    rng = np.random.default_rng(1)
    # Token-major (B, T, N, H) inputs, as the projections make them.
    q = rng.normal(size=(2, 5, 3, 4)).astype("float32")
    k = rng.normal(size=(2, 6, 3, 4)).astype("float32")
    v = rng.normal(size=(2, 6, 3, 4)).astype("float32")
    mask = rng.random((2, 1, 5, 6)) > 0.3
    mask[0, 0, 2] = False  # one query that may attend to nothing
    mask[1] = False  # an example whose queries see nothing
    outputs = np.array(fused_dot_product_attention(q, k, v, mask=mask))
    heads_first = [np.transpose(x, (0, 2, 1, 3)) for x in (q, k, v)]
    expected, _ = reference.attention(*heads_first, mask)
    expected = np.transpose(expected, (0, 2, 1, 3))
    np.testing.assert_allclose(outputs, expected, atol=1e-5)
    assert np.all(outputs[0, 2] == 0) and np.all(outputs[1] == 0)
    # Without a mask it is plain attention.
    plain = np.array(fused_dot_product_attention(q, k, v))
    expected, _ = reference.attention(*heads_first)
    np.testing.assert_allclose(
        plain, np.transpose(expected, (0, 2, 1, 3)), atol=1e-5
    )
