"""Scaled dot-product attention, equation (1) of Vaswani et al. (2017)."""

import math

import keras
from keras import ops

from keras_transformer.layers.masking import masked_softmax


def scaled_dot_product_attention(
    query,
    key,
    value,
    mask=None,
    scale=None,
    dropout_rate=0.0,
    seed=None,
    training=False,
):
    """Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V.

    Works on any leading dimensions: single-head (B, T, H) inputs, or
    multi-head (B, N, T, H) inputs.

    Args:
        query: (..., T, H) queries.
        key: (..., S, H) keys.
        value: (..., S, Hv) values.
        mask: optional boolean tensor broadcastable to (..., T, S); True
            means the query may attend to that key. Fully masked query rows
            get zero weights (and a zero output) rather than NaN.
        scale: multiplier of the logits; defaults to ``1 / sqrt(H)``.
        dropout_rate: dropout applied to the attention weights in training.
        seed: seed or ``keras.random.SeedGenerator`` for that dropout.
        training: whether dropout is active.

    Returns:
        A tuple ``(outputs, weights)``: outputs (..., T, Hv) in the dtype of
        ``query``, and the attention weights (..., T, S) before dropout, in
        the same dtype. The softmax itself is computed in float32.

    Example:

    >>> q = k = v = np.random.rand(2, 5, 16).astype("float32")
    >>> outputs, weights = scaled_dot_product_attention(q, k, v)
    >>> outputs.shape, weights.shape
    ((2, 5, 16), (2, 5, 5))
    """
    dtype = query.dtype
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    # Scaling the query before the product (as Keras' MultiHeadAttention
    # does) keeps the float16 logits small.
    query = ops.multiply(query, ops.cast(scale, dtype))
    logits = ops.matmul(query, ops.swapaxes(key, -1, -2))
    weights = ops.cast(masked_softmax(logits, mask), dtype)
    attended = weights
    if training and dropout_rate > 0.0:
        attended = keras.random.dropout(weights, dropout_rate, seed=seed)
    outputs = ops.matmul(attended, ops.cast(value, dtype))
    return outputs, weights


def fused_dot_product_attention(query, key, value, mask=None):
    """The outputs of ``scaled_dot_product_attention``, from
    ``keras.ops.dot_product_attention`` (one fused kernel where the backend
    has one, e.g. cuDNN flash attention with JAX on a GPU).

    Inputs are token-major, as the projections make them. The mask keeps
    this module's meaning: a query row whose keys are all masked gets a
    zero output (the Keras op would average every value).

    Args:
        query: (B, T, N, H) queries.
        key: (B, S, N, H) keys.
        value: (B, S, N, H) values (the Keras op needs Hv == H).
        mask: optional boolean mask broadcastable to (B, N, T, S); True
            means the query may attend to that key.

    Returns:
        (B, T, N, H) outputs in the dtype of ``query``.

    Example:

    >>> q = k = v = np.random.rand(2, 5, 4, 16).astype("float32")
    >>> fused_dot_product_attention(q, k, v).shape
    (2, 5, 4, 16)
    """
    if mask is not None:
        mask = ops.cast(mask, "bool")
        while len(mask.shape) < 4:
            mask = ops.expand_dims(mask, 0)
    # Scaled before the product, as in scaled_dot_product_attention: the
    # Keras op scales the float16 logits only after computing them.
    scale = ops.cast(1.0 / math.sqrt(query.shape[-1]), query.dtype)
    outputs = ops.dot_product_attention(
        ops.multiply(query, scale), key, value, mask=mask, scale=1.0
    )
    if mask is None:
        return outputs
    # (B|1, N|1, T|1) -> (B|1, T|1, N|1, 1): does the row see any key?
    attends = ops.transpose(ops.any(mask, axis=-1), (0, 2, 1))
    attends = ops.expand_dims(attends, -1)
    return ops.where(attends, outputs, ops.zeros_like(outputs))
