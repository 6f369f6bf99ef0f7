"""Independent NumPy implementations used to check the layers' numbers."""

import numpy as np


def softmax(x, mask=None):
    x = np.asarray(x, "float64")
    if mask is not None:
        x = np.where(mask, x, -np.inf)
    x = x - np.max(np.where(np.isfinite(x), x, -1e300), -1, keepdims=True)
    e = np.exp(x)
    total = e.sum(-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d)) v for (..., T, H) arrays."""
    logits = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    weights = softmax(logits, mask)
    return weights @ v, weights


def multi_head_attention(mha, query, value, mask=None):
    """NumPy version of a built ``MultiHeadAttention`` (its weights)."""
    wq, bq, wk, bk, wv, bv, wo, bo = [
        np.asarray(w, "float64") for w in mha.get_weights()
    ]
    q = np.einsum("btd,dnh->bnth", query, wq) + bq[None, :, None]
    k = np.einsum("bsd,dnh->bnsh", value, wk) + bk[None, :, None]
    v = np.einsum("bsd,dnh->bnsh", value, wv) + bv[None, :, None]
    if mask is not None:
        mask = mask[:, None]
    heads, weights = attention(q, k, v, mask)
    return np.einsum("bnth,nhd->btd", heads, wo) + bo, weights


def layer_norm(norm, x):
    gamma, beta = [np.asarray(w, "float64") for w in norm.get_weights()]
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + norm.epsilon) * gamma + beta


def feed_forward(ffn, x):
    w1, b1, w2, b2 = [np.asarray(w, "float64") for w in ffn.get_weights()]
    return np.maximum(x @ w1 + b1, 0) @ w2 + b2


def residual(layer, norm, x, fn):
    if layer.norm_first:
        return x + fn(layer_norm(norm, x))
    return layer_norm(norm, x + fn(x))


def encoder_layer(layer, x, key_mask=None):
    """NumPy forward pass of a ``TransformerEncoderLayer`` in inference."""
    mask = None
    if key_mask is not None:
        mask = key_mask[:, None, :] & key_mask[:, :, None]
    x = residual(
        layer,
        layer.self_attention_norm,
        x,
        lambda y: multi_head_attention(layer.self_attention, y, y, mask)[0],
    )
    return residual(
        layer,
        layer.feed_forward_norm,
        x,
        lambda y: feed_forward(layer.feed_forward, y),
    )


def decoder_layer(layer, x, memory=None):
    """NumPy forward pass of a ``TransformerDecoderLayer`` (causal)."""
    t = x.shape[1]
    causal = np.tril(np.ones((t, t), bool))[None]
    x = residual(
        layer,
        layer.self_attention_norm,
        x,
        lambda y: multi_head_attention(layer.self_attention, y, y, causal)[0],
    )
    if memory is not None:
        x = residual(
            layer,
            layer.cross_attention_norm,
            x,
            lambda y: multi_head_attention(layer.cross_attention, y, memory)[0],
        )
    return residual(
        layer,
        layer.feed_forward_norm,
        x,
        lambda y: feed_forward(layer.feed_forward, y),
    )


def copy_attention(layer, states, memory, source_tokens):
    """NumPy (copy weights, gate) of a built ``PointerGenerator``."""
    wq = np.asarray(layer.query_dense.kernel, "float64")
    wk = np.asarray(layer.key_dense.kernel, "float64")
    wg, bg = [np.asarray(w, "float64") for w in layer.gate_dense.weights]
    mask = (np.asarray(source_tokens) != 0)[:, None, :]
    _, weights = attention(states @ wq, memory @ wk, memory, mask)
    context = weights @ memory
    gate = 1 / (1 + np.exp(-(np.concatenate([states, context], -1) @ wg + bg)))
    return weights, gate


def pointer_generator(layer, logits, states, memory, source_tokens):
    """NumPy log p of a built ``PointerGenerator`` (See et al. 2017)."""
    weights, gate = copy_attention(layer, states, memory, source_tokens)
    copies = np.zeros(np.shape(logits), "float64")
    for b, row in enumerate(np.asarray(source_tokens)):
        for s, token in enumerate(row):
            copies[b, :, token] += weights[b, :, s]
    mixed = gate * softmax(logits) + (1 - gate) * copies
    return np.log(mixed)
