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
# # Positional encoding and Transformer blocks
#
# Attention is blind to order, so section 3.5 of the paper adds a
# positional encoding to the token embeddings. This notebook plots the
# sinusoidal encoding, builds encoder and decoder layers, compares post-LN
# (the paper) with pre-LN, and counts the parameters of the paper's base
# and big models.

# %%
# Parameters (small sizes: this notebook runs in about a minute on a CPU).
SEED = 0
MAX_POSITION = 128  # positions plotted
DEPTH = 64  # D of the plotted encoding
STACK_LAYERS = 6  # depth of the post-LN vs pre-LN comparison
STACK_D_MODEL = 64
COUNT_BIG = True  # also build the 214M-parameter big model (~1 GB RAM)

# %%
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import ops

from keras_transformer.layers import (
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
    sinusoidal_encoding,
)
from keras_transformer.models import TransformerConfig, build_transformer

keras.utils.set_random_seed(SEED)

# %% [markdown]
# ## The sinusoidal encoding
#
# $PE_{(pos, 2i)} = \sin(pos / 10000^{2i/D})$ and
# $PE_{(pos, 2i+1)} = \cos(pos / 10000^{2i/D})$: each pair of features is
# a clock with its own frequency, from one turn every $2\pi$ positions to
# one every $2\pi \cdot 10000$.

# %%
encoding = ops.convert_to_numpy(
    sinusoidal_encoding(ops.arange(MAX_POSITION), DEPTH)
)
figure, axes = plt.subplots(1, 2, figsize=(12, 3.6))
image = axes[0].imshow(encoding.T, cmap="RdBu", aspect="auto")
axes[0].set_xlabel("position")
axes[0].set_ylabel("feature")
axes[0].set_title(f"sinusoidal encoding, D = {DEPTH}")
figure.colorbar(image, ax=axes[0])
for feature in (0, 1, 10, 30):
    axes[1].plot(encoding[:, feature], label=f"feature {feature}")
axes[1].set_xlabel("position")
axes[1].legend(loc="lower right")
axes[1].set_title("a few features: fast and slow clocks")
figure.tight_layout()
plt.show()

# %% [markdown]
# Why sinusoids: for any offset k, $PE_{pos+k}$ is a fixed linear function
# (a rotation of each sin/cos pair) of $PE_{pos}$, so relative positions
# are easy to read; and the dot product of two encodings depends only on
# their distance. Both checked numerically:

# %%
k = 7
frequencies = 1.0 / 10000 ** (np.arange(0, DEPTH, 2) / DEPTH)
rotation = np.zeros((DEPTH, DEPTH))
for pair, frequency in enumerate(frequencies):
    c, s = np.cos(k * frequency), np.sin(k * frequency)
    # [sin(a + b), cos(a + b)] from [sin a, cos a]
    block = slice(2 * pair, 2 * pair + 2)
    rotation[block, block] = [[c, s], [-s, c]]
shifted = encoding[:-k] @ rotation.T
print("max |PE(pos + 7) - R PE(pos)|:", np.abs(shifted - encoding[k:]).max())

similarity = encoding @ encoding.T
plt.figure(figsize=(4.2, 3.6))
plt.imshow(similarity, cmap="viridis")
plt.title("PE(i) . PE(j): a function of |i - j|")
plt.xlabel("position j")
plt.ylabel("position i")
plt.colorbar()
plt.show()

# %% [markdown]
# ## Encoder and decoder layers
#
# An encoder layer is self-attention then a position-wise feed-forward
# network, each wrapped in a residual connection and LayerNorm. A decoder
# layer adds cross-attention over the encoder output between the two, and
# its self-attention is causal. Shapes: (B, T, D) in, (B, T, D) out.

# %%
B, S, T, D, F, N = 2, 9, 6, 32, 128, 4
source = keras.random.normal((B, S, D))
target = keras.random.normal((B, T, D))
encoder_layer = TransformerEncoderLayer(num_heads=N, ff_dim=F)
decoder_layer = TransformerDecoderLayer(num_heads=N, ff_dim=F)
memory = encoder_layer(source)
print("encoder layer:", tuple(source.shape), "->", tuple(memory.shape))
print(
    "decoder layer:",
    tuple(target.shape),
    "+ memory ->",
    tuple(decoder_layer(target, memory).shape),
)

attention = 4 * (D * D + D)  # Q, K, V, output projections with biases
feed_forward = D * F + F + F * D + D
norm = 2 * D
print(
    "encoder layer parameters:",
    encoder_layer.count_params(),
    "= formula",
    attention + feed_forward + 2 * norm,
)
print(
    "decoder layer parameters:",
    decoder_layer.count_params(),
    "= formula",
    2 * attention + feed_forward + 3 * norm,
)

# %% [markdown]
# ## Post-LN (the paper) vs pre-LN
#
# The paper normalises after each residual sum: `x = LN(x + sublayer(x))`
# (post-LN). Pre-LN normalises the sublayer input instead,
# `x = x + sublayer(LN(x))`, and adds one final LayerNorm. Xiong et al.
# (2020) showed that at initialisation post-LN has its largest gradients
# next to the output, one reason it needs the learning-rate warm-up, while
# pre-LN's are not concentrated there. Measured here on a randomly
# initialised stack with a toy regression loss (`norm_first=True` selects
# pre-LN in every layer, model and config of the package):


# %%
def gradient_norms(norm_first):
    keras.utils.set_random_seed(SEED)
    stack = TransformerEncoder(
        num_layers=STACK_LAYERS,
        num_heads=4,
        ff_dim=4 * STACK_D_MODEL,
        dropout=0.0,
        norm_first=norm_first,
    )
    inputs = keras.random.normal((8, 16, STACK_D_MODEL))
    # A regression onto random targets (a loss like mean((y - 1)^2) would
    # be constant after a final LayerNorm, with zero gradients).
    targets = keras.random.normal((8, 16, STACK_D_MODEL))
    stack(inputs)
    with tf.GradientTape() as tape:
        loss = ops.mean(ops.square(stack(inputs) - targets))
    weights = [layer.trainable_weights for layer in stack.encoder_layers]
    grads = tape.gradient(loss, weights)
    return [
        float(np.sqrt(sum(np.sum(np.square(g)) for g in layer_grads)))
        for layer_grads in grads
    ]


post, pre = gradient_norms(False), gradient_norms(True)
plt.figure(figsize=(5.5, 3.4))
layers = np.arange(1, STACK_LAYERS + 1)
plt.plot(layers, post, "o-", label="post-LN (paper)")
plt.plot(layers, pre, "s-", label="pre-LN")
plt.xlabel("layer")
plt.ylabel("gradient norm of its weights")
plt.title("gradients at initialisation")
plt.legend()
plt.show()
print("post-LN:", np.round(post, 4))
print("pre-LN: ", np.round(pre, 4))

# %% [markdown]
# ## The paper's models
#
# Base: 6 + 6 layers, D = 512, d_ff = 2048, 8 heads; big: D = 1024,
# d_ff = 4096, 16 heads. With a shared 37,000-token vocabulary and the
# embedding shared by encoder input, decoder input and output projection
# (section 3.4) the paper reports 65M and 213M parameters.

# %%
presets = ["base", "big"] if COUNT_BIG else ["base"]
for name in presets:
    config = TransformerConfig.preset(name, vocab_size=37000)
    model = build_transformer(config)
    embedding = config.vocab_size * config.d_model
    print(
        f"{name:>4}: {model.count_params():>12,} parameters "
        f"({embedding:,} of them in the shared embedding)"
    )
    del model
    keras.backend.clear_session()
