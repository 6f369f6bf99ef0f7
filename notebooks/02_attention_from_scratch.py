# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Attention from scratch
#
# Scaled dot-product attention (section 3.2.1 of "Attention Is All You
# Need") and multi-head attention (3.2.2), written with `keras.ops` in a few
# lines, then checked number for number against the package's layers.
# Padding and causal masks are drawn as images and attention weights as
# heatmaps.
#
# Shapes use letters: B batch, T query length, S key length, N heads,
# H head size, D model size.

# %%
# Parameters (small sizes: this notebook runs in seconds on a CPU).
SEED = 0
BATCH = 2  # B
QUERY_LENGTH = 5  # T
KEY_LENGTH = 7  # S
MODEL_SIZE = 16  # D
NUM_HEADS = 4  # N (head size H = D / N)

# %%
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import ops

from keras_transformer.layers import MultiHeadAttention, masking
from keras_transformer.layers.attention import scaled_dot_product_attention

keras.utils.set_random_seed(SEED)
rng = np.random.default_rng(SEED)

# %% [markdown]
# ## Scaled dot-product attention
#
# $\mathrm{Attention}(Q, K, V) = \mathrm{softmax}(QK^\top / \sqrt{d_k})\,V$:
# every query is compared with every key (a dot product, so $K$ must be
# transposed), the scores are scaled by $1/\sqrt{d_k}$ so that their
# variance does not grow with the head size, a softmax over the keys turns
# each row into weights that sum to 1, and the output is the weighted sum
# of the values. A mask removes keys a query may not see *before* the
# softmax.


# %%
def attention(query, key, value, mask=None):
    """softmax(Q K^T / sqrt(H)) V for (B, T, H), (B, S, H), (B, S, H)."""
    scores = ops.matmul(query, ops.swapaxes(key, -1, -2))  # (B, T, S)
    scores = scores / ops.sqrt(ops.cast(ops.shape(query)[-1], "float32"))
    if mask is not None:  # True = may attend
        scores = ops.where(mask, scores, ops.full_like(scores, -np.inf))
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, value), weights


query = rng.normal(size=(BATCH, QUERY_LENGTH, 8)).astype("float32")
key = rng.normal(size=(BATCH, KEY_LENGTH, 8)).astype("float32")
value = rng.normal(size=(BATCH, KEY_LENGTH, 8)).astype("float32")

ours, our_weights = attention(query, key, value)
package, package_weights = scaled_dot_product_attention(query, key, value)
print("max |difference| of outputs:", float(ops.max(ops.abs(ours - package))))
print("rows of the weights sum to:", ops.sum(our_weights, -1)[0].numpy())

# %% [markdown]
# ## Masks, drawn
#
# One convention everywhere in the package: a boolean mask, **True = may
# attend**. A padding mask hides the padded keys of each sequence; a
# causal mask lets position t see only positions <= t (the decoder's
# self-attention). Combined, a query sees a key only if both allow it.

# %%
tokens = np.array([[5, 9, 4, 7, 3, 0, 0], [8, 6, 3, 0, 0, 0, 0]])  # 0 = pad
padding = masking.padding_mask(tokens)  # (B, S)
causal = masking.causal_mask(KEY_LENGTH, KEY_LENGTH)  # (1, S, S)
combined = ops.logical_and(padding[:, None, :], causal)  # (B, S, S)

figure, axes = plt.subplots(1, 3, figsize=(11, 3.4))
pictures = [
    (
        np.repeat(ops.convert_to_numpy(padding)[:, None, :], 3, 1).reshape(
            -1, 7
        ),
        "padding mask (2 sequences)",
    ),
    (ops.convert_to_numpy(causal)[0], "causal mask"),
    (ops.convert_to_numpy(combined)[0], "padding AND causal, sequence 1"),
]
for axis, (picture, title) in zip(axes, pictures):
    axis.imshow(picture, cmap="Greens", vmin=0, vmax=1)
    axis.set_title(title)
    axis.set_xlabel("key position")
axes[1].set_ylabel("query position")
figure.tight_layout()
plt.show()

# %% [markdown]
# A masked key gets exactly zero weight. The package's softmax runs in
# float32 and uses the lowest finite float32 instead of `-inf` or `-1e9`,
# so a fully masked row gives zeros rather than NaN, also in float16 and
# bfloat16.

# %%
self_input = rng.normal(size=(BATCH, KEY_LENGTH, 8)).astype("float32")
_, weights = attention(self_input, self_input, self_input, mask=combined)
_, package_weights = scaled_dot_product_attention(
    self_input, self_input, self_input, mask=combined
)
print(
    "weight on masked keys:",
    float(ops.max(ops.where(combined, 0.0, package_weights))),
)
print(
    "max |difference| to the package:",
    float(ops.max(ops.abs(weights - package_weights))),
)

figure, axis = plt.subplots(figsize=(4.5, 4))
image = axis.imshow(ops.convert_to_numpy(weights)[0], cmap="viridis")
axis.set_title("attention weights, sequence 1 (masked)")
axis.set_xlabel("key position")
axis.set_ylabel("query position")
figure.colorbar(image)
plt.show()

# %% [markdown]
# ## Multi-head attention
#
# $\mathrm{MultiHead}(Q, K, V) = \mathrm{Concat}(\mathrm{head}_1, \dots,
# \mathrm{head}_N) W^O$ with $\mathrm{head}_i = \mathrm{Attention}(Q W_i^Q,
# K W_i^K, V W_i^V)$. Projecting into N heads of size H = D / N lets each
# head attend to something different for the cost of one full-size head.
# Below: the projections with `einsum`, using the weights of the package's
# layer, must reproduce its output.

# %%
layer = MultiHeadAttention(num_heads=NUM_HEADS, key_dim=MODEL_SIZE // NUM_HEADS)
x = rng.normal(size=(BATCH, QUERY_LENGTH, MODEL_SIZE)).astype("float32")
memory = rng.normal(size=(BATCH, KEY_LENGTH, MODEL_SIZE)).astype("float32")
layer_output, layer_scores = layer(x, memory, return_attention_scores=True)


def multi_head(x, memory, layer):
    """Multi-head attention by hand, with the layer's weights."""
    wq, bq = layer.query_dense.kernel, layer.query_dense.bias  # (D, N, H)
    wk, bk = layer.key_dense.kernel, layer.key_dense.bias
    wv, bv = layer.value_dense.kernel, layer.value_dense.bias
    wo, bo = layer.output_dense.kernel, layer.output_dense.bias  # (N, H, D)
    q = ops.einsum("btd,dnh->bnth", x, wq) + ops.expand_dims(
        ops.transpose(bq), -2
    )  # (B, N, T, H)
    k = ops.einsum("bsd,dnh->bnsh", memory, wk) + ops.expand_dims(
        ops.transpose(bk), -2
    )
    v = ops.einsum("bsd,dnh->bnsh", memory, wv) + ops.expand_dims(
        ops.transpose(bv), -2
    )
    heads, weights = attention(q, k, v)  # (B, N, T, H), (B, N, T, S)
    return ops.einsum("bnth,nhd->btd", heads, wo) + bo, weights


by_hand, hand_weights = multi_head(x, memory, layer)
print(
    "max |difference|, outputs:",
    float(ops.max(ops.abs(by_hand - layer_output))),
)
print(
    "max |difference|, weights:",
    float(ops.max(ops.abs(hand_weights - layer_scores))),
)

# %% [markdown]
# The layer is also a drop-in for `keras.layers.MultiHeadAttention`: the
# same weight shapes in the same order.

# %%
reference = keras.layers.MultiHeadAttention(
    num_heads=NUM_HEADS, key_dim=MODEL_SIZE // NUM_HEADS
)
reference(x, memory)
reference.set_weights(layer.get_weights())
print(
    "max |difference| to keras.layers.MultiHeadAttention:",
    float(ops.max(ops.abs(reference(x, memory) - layer_output))),
)

# %% [markdown]
# ## What each head looks at
#
# The heads of an untrained layer attend almost uniformly; what matters
# here is the shape: one (T, S) map per head. Notebook 04 shows the
# cross-attention of a trained translator, where the maps become
# alignments.

# %%
figure, axes = plt.subplots(1, NUM_HEADS, figsize=(3 * NUM_HEADS, 2.8))
for head, axis in enumerate(axes):
    axis.imshow(ops.convert_to_numpy(layer_scores)[0, head], cmap="viridis")
    axis.set_title(f"head {head}")
    axis.set_xlabel("key")
axes[0].set_ylabel("query")
figure.tight_layout()
plt.show()
