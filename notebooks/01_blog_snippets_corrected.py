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
# # The blog snippets, corrected
#
# Five blog posts titled "Transformer Networks: A Comprehensive Guide" (and
# similar) explain the ideas well enough, but none of their code runs. This
# notebook takes every snippet, one by one: what is wrong with it, then the
# working Keras 3 equivalent built from `keras_transformer`, run.
#
# The posts are kept in `../shared/seeds/` next to the project (posts 0 to
# 4). Post 1 has no code. Each broken snippet below is quoted as the post
# printed it (blank lines squeezed).
#
# The mask convention used everywhere below: boolean, **True = may
# attend**. Token id 0 is padding.

# %%
# Parameters: small models and few epochs, so the whole notebook runs in
# about two minutes on 2 CPU cores. Larger values train the same models
# further (EPOCHS = 10 matches the posts' intent).
EPOCHS = 3
SEED = 0

# %%
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
from keras import layers, ops

import keras_transformer
from keras_transformer.layers import (
    MultiHeadAttention,
    TokenAndPositionEmbedding,
    TransformerDecoder,
    TransformerEncoder,
    TransformerEncoderLayer,
    padding_mask,
    scaled_dot_product_attention,
)
from keras_transformer.training import (
    MaskedAccuracy,
    MaskedSparseCategoricalCrossentropy,
)

keras.utils.set_random_seed(SEED)
rng = np.random.default_rng(SEED)
print(
    "keras",
    keras.__version__,
    "| keras_transformer",
    keras_transformer.__version__,
)

# %% [markdown]
# ## Post 0, snippet 1: "Basic Transformer Network"
#
# ```python
# from tensorflow import keras
# model = keras.Sequential([
#     keras.layers.TransformerEncoderLayer(
#         num_head=8, key_dim=512, hidden_dim=512,
#         return_attention=True, use_bias=True),
#     keras.layers.TransformerDecoderLayer(
#         num_head=8, key_dim=512, hidden_dim=512,
#         return_attention=True, use_bias=True),
#     keras.layers.Dense(512, activation='relu'),
#     keras.layers.Dense(10, activation='softmax')
# model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
# model.fit(x_train, y_train, epochs=10, batch_size=32, validation_data=(x_test, y_test))
# ```
#
# What is wrong:
#
# 1. `keras.layers` has no `TransformerEncoderLayer` or
#    `TransformerDecoderLayer` (checked below); the arguments `num_head`,
#    `hidden_dim` and `return_attention` exist nowhere either.
# 2. The `[` and `(` of `Sequential([` are never closed: a syntax error.
# 3. There is no embedding: a Transformer layer needs vectors, not token ids.
# 4. A decoder layer needs the encoder's output as a second input, which a
#    `Sequential` model cannot pass; a classifier needs no decoder at all.
# 5. `Dense(10)` on (B, T, D) states classifies every token, not the text:
#    the sequence must be pooled first, ignoring padding.
# 6. `x_train` and `y_train` are never defined.
#
# The working version: the functional API, token + position embedding,
# two encoder layers (the padding mask flows from the embedding), masked
# mean pooling and the classifier head. The task: which of 10 "keyword"
# tokens appears in a sequence of random filler tokens.

# %%
print(
    "keras.layers.TransformerEncoderLayer exists:",
    hasattr(keras.layers, "TransformerEncoderLayer"),
)

VOCAB, LENGTH, CLASSES = 100, 24, 10


def keyword_data(n):
    lengths = rng.integers(8, LENGTH + 1, n)
    tokens = np.zeros((n, LENGTH), "int32")
    labels = rng.integers(0, CLASSES, n)
    for row, length in enumerate(lengths):
        tokens[row, :length] = rng.integers(20, VOCAB, length)
        tokens[row, rng.integers(0, length)] = 4 + labels[row]  # the keyword
    return tokens, labels


x_train, y_train = keyword_data(3000)
x_test, y_test = keyword_data(500)

inputs = keras.Input((None,), dtype="int32", name="tokens")
x = TokenAndPositionEmbedding(VOCAB, 64, max_length=LENGTH)(inputs)
x = TransformerEncoderLayer(num_heads=4, ff_dim=128, dropout=0.1)(x)
x = TransformerEncoderLayer(num_heads=4, ff_dim=128, dropout=0.1)(x)
x = layers.GlobalAveragePooling1D()(x)  # uses the padding mask
outputs = layers.Dense(CLASSES, activation="softmax")(x)
model = keras.Model(inputs, outputs)
model.compile(
    optimizer=keras.optimizers.Adam(1e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(
    x_train,
    y_train,
    epochs=EPOCHS,
    batch_size=32,
    validation_data=(x_test, y_test),
    verbose=2,
)

# %% [markdown]
# ## Post 0, snippet 2: "Multi-Head Attention"
#
# ```python
# model = keras.Sequential([
#     keras.layers.TransformerEncoderLayer(num_head=8, key_dim=512, ...),
#     keras.layers.TransformerDecoderLayer(num_head=8, key_dim=512, ...),
#     keras.layers.MultiHeadAttention(num_head=4, key_dim=512)
# model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
# model.fit(x_train, y_train, epochs=10, batch_size=32, validation_data=(x_test, y_test))
# ```
#
# What is wrong, besides the problems of snippet 1: `MultiHeadAttention`
# takes `num_heads`, and it is called with a query *and* a value
# (`mha(query, value)`; self-attention passes the same tensor twice), so
# it cannot sit in a `Sequential`. Masks are call arguments.
#
# Working: multi-head self-attention over embedded tokens with a padding
# mask, in the functional API; padded keys get exactly zero weight.

# %%
tokens = np.array([[12, 7, 33, 3, 0, 0], [5, 3, 0, 0, 0, 0]])
embedded = TokenAndPositionEmbedding(VOCAB, 32, max_length=16)(tokens)
attention = MultiHeadAttention(num_heads=4, key_dim=8)
mask = padding_mask(tokens)  # (B, S) True = real token
outputs, scores = attention(
    embedded, embedded, value_mask=mask, return_attention_scores=True
)
print(
    "outputs:",
    tuple(outputs.shape),
    "scores (B, N, T, S):",
    tuple(scores.shape),
)
print(
    "weight on padded keys:",
    float(ops.max(ops.where(mask[:, None, None, :], 0.0, scores))),
)
# Rows of real query tokens sum to 1; padded query rows attend to nothing.
row_sums = ops.convert_to_numpy(ops.sum(scores, -1))  # (B, N, T)
real_rows = ops.convert_to_numpy(mask)[:, None, :]
print(
    "real-token rows sum to 1:",
    bool(
        np.allclose(row_sums[np.broadcast_to(real_rows, row_sums.shape)], 1.0)
    ),
)

# %% [markdown]
# ## Post 2, snippet 1: the TensorFlow "simple Transformer Network"
#
# ```python
# encoder_layers = [
#         tf.keras.layers.TransformerEncoderLayer(
#             dim=64, num_head=8, key_dim=64, dropout=0.1,
#             attention_mask=tf.keras.layers.AttentionMask(
#                 shape=(None,), input_shape=input_shape),
#         ]
# decoder_layers = [ ... the same with TransformerDecoderLayer ... ]
# model = tf.keras.Sequential([
#     tf.keras.layers.MultiHeadAttention(num_head=8, key_dim=64, output_dim=64,
#         attention_mask=tf.keras.layers.AttentionMask(...), encoder_layers),
#     tf.keras.layers.MultiHeadAttention(..., decoder_layers),
# model.compile(optimizer='adam', loss='mse')
# model.fit(X_train, y_train, epochs=50, batch_size=32)
# ```
#
# What is wrong:
#
# 1. No `TransformerEncoderLayer`, `TransformerDecoderLayer` or
#    `AttentionMask` in `tf.keras.layers`; `dim`, `num_head`, `output_dim`
#    and `attention_mask=` are not constructor arguments (masks belong to
#    the *call*, because they depend on each batch's padding).
# 2. A list of layers passed as a positional argument to a layer; brackets
#    never closed.
# 3. `loss='mse'` for predicting tokens: the output is a distribution over
#    the vocabulary, trained with cross-entropy that ignores padding.
# 4. The decoder gets no shifted target input and no causal mask.
#
# Working: an encoder-decoder with padding masks from the token ids, a
# causal decoder, teacher forcing (the decoder reads the target shifted
# right by BOS), and a cross-entropy that skips padding. The task: reverse
# a sequence of tokens.

# %%
BOS, EOS, SEQ = 2, 3, 8


def reversal_data(n):
    lengths = rng.integers(3, SEQ + 1, n)
    source = np.zeros((n, SEQ + 1), "int32")
    target = np.zeros((n, SEQ + 2), "int32")
    for row, length in enumerate(lengths):
        seq = rng.integers(4, 40, length)
        source[row, :length], source[row, length] = seq, EOS
        target[row, 0] = BOS
        target[row, 1 : length + 1], target[row, length + 1] = seq[::-1], EOS
    return source, target


source, target = reversal_data(6000)
source_tokens = keras.Input((None,), dtype="int32", name="source_tokens")
target_tokens = keras.Input((None,), dtype="int32", name="target_tokens")
embedding = TokenAndPositionEmbedding(40, 64, max_length=32)
encoder = TransformerEncoder(num_layers=2, num_heads=4, ff_dim=128, dropout=0.0)
decoder = TransformerDecoder(num_layers=2, num_heads=4, ff_dim=128, dropout=0.0)
memory = encoder(embedding(source_tokens))  # padding mask: implicit
states = decoder(embedding(target_tokens), memory)  # causal + cross masks
logits = embedding(states, reverse=True)  # tied output projection
seq2seq = keras.Model([source_tokens, target_tokens], logits)
# The package's searches (greedy, beam, sampling) read a model's parts from
# its attributes, as keras_transformer.models.Transformer has them; a
# hand-built model gets them like this (one embedding serves both sides).
seq2seq.source_embedding = seq2seq.target_embedding = embedding
seq2seq.encoder, seq2seq.decoder = encoder, decoder
seq2seq.compile(
    optimizer=keras.optimizers.Adam(2e-3),
    loss=MaskedSparseCategoricalCrossentropy(label_smoothing=0.0),
    metrics=[MaskedAccuracy()],
)
seq2seq.fit(
    [source, target[:, :-1]],
    target[:, 1:],
    epochs=EPOCHS + 1,
    batch_size=64,
    verbose=2,
)

# %% [markdown]
# ## Post 2, snippet 2: the PyTorch version
#
# ```python
# encoder_layers = [
#         torch.nn.ModuleList([
#             torch.nn.TransformerEncoderLayer(
#                 dim=64, num_head=8, key_dim=64, dropout=0.1,
#                 attention_mask=torch.nn.AttentionMask(
#                     shape=(None,), input_shape=input_shape)),
#         ]
# model = torch.nn.Sequential(encoder_layers, decoder_layers
# model.compile(optimizer='adam', loss='mse')
# model.train(X_train, y_train, epochs=50, batch_size=32)
# ```
#
# What is wrong: PyTorch's layer is `nn.TransformerEncoderLayer(d_model,
# nhead, dim_feedforward, dropout, batch_first=True)` (no `dim`,
# `num_head`, `key_dim`); `torch.nn.AttentionMask` does not exist; masks
# are passed to `forward` (`src_key_padding_mask`, where **True means
# ignore**, the opposite of the convention here); `torch.nn.Module` has no
# `compile(optimizer=..., loss=...)` and `model.train()` only switches to
# training mode, it trains nothing (a loop of forward, loss, `backward`,
# `optimizer.step` does). This project is Keras, so the working equivalent
# is the model just trained above; here it reverses unseen sequences with
# the package's beam search over the key/value cache (EOS included, then
# padding).

# %%
from keras_transformer.inference import beam_search

test_source, test_target = reversal_data(200)
output, scores = beam_search(seq2seq, test_source, max_length=SEQ + 1)
output = np.asarray(output)
correct = np.all(output == test_target[:, 1:], axis=1)
print(f"unseen sequences reversed exactly: {correct.mean():.0%}")
print("source:", test_source[0], "\noutput:", output[0])

# %% [markdown]
# ## Post 3: the PyTorch `Transformer` class
#
# ```python
# class Transformer(nn.Module):
#     def __init__(self, input_dim, hidden_dim, num_heads, output_dim):
#         self.self_attn = nn.MultiHeadAttention(input_dim, hidden_dim, num_heads)
#         self.ffn = nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.ReLU(),
#                                  nn.Linear(hidden_dim, output_dim))
#     def forward(self, x):
#         q = x.clone()
#         k = self.self_attn.q.T
#         v = self.self_attn.v.T
#         attention_weights = torch.matmul(q, k) / math.sqrt(k.size(0))
#         output = attention_weights * v
#         output = self.ffn(output)
#         return output
# transformer = Transformer(input_dim=100, hidden_dim=200, num_heads=8, output_dim=10)
# input_seq = torch.randn(1, 100)
# ```
#
# What is wrong: `nn.MultiHeadAttention` is `nn.MultiheadAttention(
# embed_dim, num_heads)`; it has no `.q`/`.v` attributes; queries, keys and
# values are never projected from `x`; `matmul(q, k)` needs the keys
# *transposed* and then a softmax over the keys; the scale is
# $1/\sqrt{d_k}$, the head size, not `k.size(0)`; `attention_weights * v`
# is an elementwise product where the weighted sum `weights @ v` belongs;
# no residual connections or LayerNorm; `(1, 100)` has no sequence axis;
# `math` and `nn` are not imported.
#
# Working: self-attention written out in `keras.ops` with projections,
# checked against the package's `MultiHeadAttention` using the same
# weights, then the full block (`TransformerEncoderLayer`) on a
# (B, T, D) = (1, 10, 100) input.


# %%
def self_attention(x, wq, wk, wv, wo, num_heads):
    """Multi-head self-attention of (B, T, D) x; bias-free projections."""
    b, t, d = x.shape
    h = d // num_heads

    def split(y):  # (B, T, D) -> (B, N, T, H)
        return ops.transpose(ops.reshape(y, (b, t, num_heads, h)), (0, 2, 1, 3))

    q, k, v = split(x @ wq), split(x @ wk), split(x @ wv)
    scores = q @ ops.transpose(k, (0, 1, 3, 2)) / np.sqrt(h)  # (B, N, T, T)
    weights = ops.softmax(scores, axis=-1)
    heads = weights @ v  # the weighted sum of the values
    return ops.reshape(ops.transpose(heads, (0, 2, 1, 3)), (b, t, d)) @ wo


x = rng.normal(size=(1, 10, 100)).astype("float32")
mha = MultiHeadAttention(num_heads=4, key_dim=25, use_bias=False)
reference = mha(x, x)
wq, wk, wv = (
    w.numpy().reshape(100, 100)
    for w in (
        mha.query_dense.kernel,
        mha.key_dense.kernel,
        mha.value_dense.kernel,
    )
)
wo = mha.output_dense.kernel.numpy().reshape(100, 100)
mine = self_attention(x, wq, wk, wv, wo, num_heads=4)
print(
    "max |difference| to the layer:", float(ops.max(ops.abs(mine - reference)))
)

block = TransformerEncoderLayer(num_heads=4, ff_dim=200)
print("TransformerEncoderLayer:", x.shape, "->", tuple(block(x).shape))

# %% [markdown]
# ## Post 4, snippet 1: `encoder_layer` and the nested `ModuleList` encoder
#
# ```python
# def encoder_layer(input_ids, attention_mask):
#     q = attention_mask * input_ids
#     k = attention_mask * input_ids
#     v = attention_mask * input_ids
#     attention_weights = torch.matmul(q, k) / math.sqrt(k.size(0))
#     x = torch.relu(attention_weights * v)
#     return x
# encoder = nn.Sequential(nn.ModuleList([nn.ModuleList([nn.ModuleList([
#     nn.MultiHeadAttention(num_head=8, key_dim=512),
#     nn.Linear(512, 256), nn.ReLU(), ...
# ```
#
# What is wrong: token *ids* multiplied by the mask are used as queries,
# keys and values (no embedding, no projections); the mask must remove
# keys from the softmax, not zero out inputs; again no transpose, no
# softmax, an elementwise product for the weighted sum; a ReLU is not the
# feed-forward network; `nn.Sequential` cannot run `ModuleList`s (they are
# containers without `forward`); the inner sizes 512 -> 256 -> 512 with a
# layer list are not the paper's FFN (D -> d_ff -> D inside each layer,
# with residuals and LayerNorm).
#
# Working: embedding, then a stack of encoder layers, with the padding
# mask computed from the ids and passed explicitly (or implicitly by the
# embedding). Padding does not change the real tokens' outputs:

# %%
ids = np.array([[14, 27, 9, 3]])
padded = np.array([[14, 27, 9, 3, 0, 0, 0]])
embed = TokenAndPositionEmbedding(VOCAB, 64, max_length=16)
stack = TransformerEncoder(num_layers=3, num_heads=8, ff_dim=256, dropout=0.0)
short = stack(embed(ids), padding_mask=padding_mask(ids))
long = stack(embed(padded), padding_mask=padding_mask(padded))
print(
    "max |difference| on the real tokens, with and without padding:",
    float(ops.max(ops.abs(short - long[:, :4]))),
)

# %% [markdown]
# ## Post 4, snippet 2: the `self_attention` functions
#
# ```python
# def self_attention(input_ids, attention_mask):
#     attention_weights = torch.matmul(input_ids, attention_mask) / math.sqrt(attention_mask.size(0))
#     output = attention_weights * input_ids
#     return output
# ```
#
# What is wrong: the mask is used as the *keys*, so the "weights" are
# sums of token ids; nothing is normalised; the mask never stops anything
# from being attended to.
#
# Working: `scaled_dot_product_attention(query, key, value, mask)` from the
# package. The mask (True = may attend) is applied before a float32
# softmax with the lowest finite float32 (not `-1e9`), so it is also safe
# in float16 and bfloat16; fully masked rows give zeros, not NaN. Checked
# against NumPy:

# %%
q = rng.normal(size=(2, 5, 8)).astype("float32")
k = rng.normal(size=(2, 7, 8)).astype("float32")
v = rng.normal(size=(2, 7, 8)).astype("float32")
key_mask = np.array([[1] * 7, [1] * 4 + [0] * 3], bool)[:, None, :]
output, weights = scaled_dot_product_attention(q, k, v, mask=key_mask)

logits = np.einsum("btd,bsd->bts", q, k) / np.sqrt(8)
logits = np.where(key_mask, logits, -np.inf)
expected_weights = np.exp(logits - logits.max(-1, keepdims=True))
expected_weights /= expected_weights.sum(-1, keepdims=True)
print(
    "max |difference| to NumPy:",
    float(np.abs(np.asarray(output) - expected_weights @ v).max()),
)
half = scaled_dot_product_attention(
    q.astype("float16"),
    k.astype("float16"),
    v.astype("float16"),
    mask=key_mask,
)[0]
print("float16 output finite:", bool(np.isfinite(np.asarray(half)).all()))

# %% [markdown]
# ## Post 4, snippet 3: the training loop, "cross-entropy and masked language modeling loss"
#
# ```python
# criterion = nn.CrossEntropyLoss()
# for epoch in range(num_epochs):
#     for batch in dataloader:
#         output = model(batch)
#         loss = criterion(output, torch.tensor([[0]]))
#         optimizer.zero_grad()
#         loss.backward()
#         optimizer.step()
# ```
#
# What is wrong: every batch is trained towards the constant target `[[0]]`
# (not the batch's labels); `optimizer` and `num_epochs` are never defined;
# the masked-LM loss the text mentions never appears.
#
# Working, in Keras: `model.fit` runs this loop (cross-entropy on the
# labels, padding ignored) as shown for post 2. And a masked language
# model, the BERT objective the post names: hide 15% of the tokens behind a
# `[MASK]` id and train the encoder to predict them; the labels are 0
# (ignored by `MaskedSparseCategoricalCrossentropy`) everywhere else, so
# the loss counts masked positions only. The sequences count upward by a
# random step, so a hidden token follows from its neighbours.

# %%
MASK_ID, MLM_VOCAB, MLM_LENGTH = 4, 64, 16


def mlm_data(n):
    start = rng.integers(5, 30, (n, 1))
    step = rng.integers(1, 3, (n, 1))
    tokens = (start + step * np.arange(MLM_LENGTH)).astype("int32")
    hidden = rng.random(tokens.shape) < 0.15
    inputs = np.where(hidden, MASK_ID, tokens)
    labels = np.where(hidden, tokens, 0)  # 0 = not predicted
    return inputs, labels


mlm_inputs, mlm_labels = mlm_data(6000)
tokens_in = keras.Input((None,), dtype="int32")
mlm_embedding = TokenAndPositionEmbedding(MLM_VOCAB, 64, max_length=32)
states = TransformerEncoder(num_layers=2, num_heads=4, ff_dim=128, dropout=0.0)(
    mlm_embedding(tokens_in)
)
mlm = keras.Model(tokens_in, mlm_embedding(states, reverse=True))
mlm.compile(
    optimizer=keras.optimizers.Adam(2e-3),
    loss=MaskedSparseCategoricalCrossentropy(label_smoothing=0.0),
    metrics=[MaskedAccuracy(name="masked_token_accuracy")],
)
mlm.fit(mlm_inputs, mlm_labels, epochs=EPOCHS, batch_size=64, verbose=2)

# %% [markdown]
# ## Post 4, snippet 4: `translate(input_text, from_language, to_language)`
#
# ```python
# def translate(input_text, from_language, to_language):
#     input_ids = torch.tensor(tokenizer.encode(input_text, return_tensors='pt', max_length=512))
#     model = nn.Sequential(
#         nn.ModuleList([ ... nn.MultiHeadAttention(num
# ```
#
# What is wrong: the function builds a new, *untrained* model on every
# call; `tokenizer` is undefined; the code stops mid-line; and a
# translator does not take the languages as arguments: they are fixed by
# the data it was trained on.
#
# Working: train once, outside the function, and keep what translating
# needs: the trained model and the tokenizer it was trained with. Here the
# reversal model of post 2 with its "tokenizer" (token ids written as
# numbers). For real text the package's `Translator` holds a trained model
# and its SentencePiece tokenizers and does tokenization, beam search and
# detokenization: notebooks 04 and 07, and `keras-transformer translate`.


# %%
def translate(input_text, model=seq2seq):
    """Reverses a sequence of numbers with the trained model."""
    ids = [int(word) for word in input_text.split()] + [EOS]
    tokens, _ = beam_search(model, np.array([ids]), max_length=len(ids) + 4)
    return " ".join(str(t) for t in np.asarray(tokens)[0] if t not in (0, EOS))


for text in ["5 6 7", "12 30 25 8 19", "33 4 17 21"]:
    print(f"{text!r} -> {translate(text)!r}")
