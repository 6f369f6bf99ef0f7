"""Training throughput: this project's Transformer against two peers.

Three encoder-decoder models with the same shapes train on the same batches,
with the same loss and optimizer:

* ``A``: this project's ``build_transformer`` (untied source embedding,
  target embedding and output projection, attention dropout on, so that
  its shapes and work match the peers; ``--tied`` uses the paper's tied
  embeddings instead).
* ``B``: a peer in the style of the TensorFlow "Transformer" tutorial
  (tensorflow.org/text/tutorials/transformer), written below on
  ``keras.layers.MultiHeadAttention``: post-LN encoder and decoder layers,
  sinusoidal positions, ``Embedding(mask_zero=True)``, an output ``Dense``.
  (The tutorial passes ``key_dim=d_model``, which makes every head as wide
  as the model; here ``key_dim=d_model // num_heads`` keeps the shapes of
  the paper and of the other two models.)
* ``C``: a peer built from keras-hub's ``TokenAndPositionEmbedding``,
  ``TransformerEncoder`` and ``TransformerDecoder`` layers (skipped, with a
  message, when keras-hub is not installed).

Settings: XLA on and off (``jit_compile`` of ``model.compile``) for the
TensorFlow backend; JAX always compiles with XLA. The models of one process
are measured in paired rounds (A B C A B C ..., every setting in every
round) so that machine noise hits all alike; each figure is the median over
rounds. Compilation (the first step, including tracing and XLA compilation)
is reported apart from the steady-state step time.

Training step: ``model.compile(Adam(0.9, 0.98, 1e-9) with the paper's
schedule, MaskedSparseCategoricalCrossentropy(label_smoothing=0.1),
jit_compile=...)`` then ``model.train_on_batch`` (``--loop fit``: one
``model.fit`` over the round's in-memory batches) on synthetic token ids,
the same for all models. ``train_on_batch`` returns the loss as a NumPy
value, so every step is synchronised.

Columns: wall milliseconds per step; CPU seconds per step (process time, all
threads: above the wall time when several cores work); target tokens per
second (``--random-lengths`` pads the data, then also non-padding tokens per
second); achieved TFLOP/s and MFU = model FLOPs per step / step time /
matmul peak. Model FLOPs (``train_flops``): forward = 2 x the
multiply-accumulates of every matrix product (Q/K/V/output projections,
the attention scores and weighted sums, the feed-forward layers, the
output projection), training = 3 x forward. The peak is measured in the
same run with the active backend (a compiled chain of ``keras.ops.matmul``
of 2048 x 2048 matrices, 8192 on an accelerator, in the compute dtype, best
of several) unless ``--peak-tflops`` gives the hardware's (e.g. 989 for an
H100's dense bf16).

Other modes, this project's model only, with its defaults (tied
embeddings, no attention dropout):

* ``--sizes``: XLA on and off at three sizes, the model of
  configs/demo.yaml (D 128, vocab 128, 64 x 32 tokens), the bench config
  (D 256) and Transformer-base (D 512, 6 + 6 layers), compilation reported
  apart with the steps after which XLA's longer compilation pays off:
  whether ``training.jit_compile: auto`` should turn XLA on for a CPU.
* ``--data PATH/TO/multi30k``: non-padding target tokens/s on real
  sentence pairs (en->de), fed by the project's own pipeline (the
  translation task of configs/translate_local.yaml: its SentencePiece
  tokenizer, ``encode_translation``, ``batch_by_tokens`` bucketing by
  length) against the same examples in fixed-size batches padded to the
  longest length (64), as the tutorials do; both with ``--batch-tokens``
  tokens per batch. The batches are taken into memory first, so the input
  pipeline is not timed; compilation of every bucket shape is reported
  apart.

Commands (the defaults are the measurement; times for a quiet 2-core CPU):

    python bench/training.py            # A/B/C: TF XLA on + off, then JAX
                                        # (one process per backend; ~15 min)
    python bench/training.py --sizes    # (~10 min)
    python bench/training.py --data $DATA_DIR/multi30k   # (~12 min)
    python bench/training.py --backend tensorflow --xla off --models A,B

An NVIDIA GPU machine with JAX and no TensorFlow: install JAX and the keras
wheel (which brings namex, optree, absl-py, rich, h5py, ml-dtypes; tabulate
and keras-hub are optional), put this repository's source on PYTHONPATH:

    pip install "jax[cuda12]" keras==3.15.1
    PYTHONPATH=. KERAS_BACKEND=jax python bench/training.py --backend jax \
        --dtype mixed_bfloat16 --preset base
    # with the hardware peak for MFU, and fewer host round trips:
    PYTHONPATH=. KERAS_BACKEND=jax python bench/training.py --backend jax \
        --dtype mixed_bfloat16 --preset base --peak-tflops 989 --loop fit \
        --steps 50

The JAX path imports only ``keras``, ``jax``, NumPy and this package's
``keras_transformer.layers``, ``.models`` and ``.training`` (and keras-hub
when it is installed): it makes ``import tensorflow`` fail unless
``--allow-tensorflow`` is given (Keras would otherwise import an installed
TensorFlow in ``keras.utils.set_random_seed``), and prints whether
TensorFlow was imported. ``tests/test_imports.py`` checks that the package
imports and trains one step without TensorFlow.
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from argparse import SUPPRESS

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

MODELS = {
    "A": "keras_transformer",
    "B": "TF tutorial (keras MHA)",
    "C": "keras-hub layers",
}
COMPUTE_DTYPES = {
    "float32": "float32",
    "mixed_bfloat16": "bfloat16",
    "mixed_float16": "float16",
}
# The bench config: 2 + 2 layers, D 256, d_ff 1024, 4 heads.
BENCH_SHAPES = dict(num_layers=2, d_model=256, ff_dim=1024, num_heads=4)


def _arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--backend",
        choices=["tensorflow", "jax"],
        help="one backend in this process (default: every installed one, "
        "each in a subprocess; --sizes and --data: tensorflow)",
    )
    parser.add_argument(
        "--xla",
        default="on,off",
        help="TensorFlow settings to run: on, off or on,off",
    )
    parser.add_argument("--models", default="A,B,C")
    parser.add_argument(
        "--preset",
        choices=["bench", "base", "big"],
        default="bench",
        help="model shapes: bench (2+2 layers, D 256, d_ff 1024, 4 heads) "
        "or the paper's base/big (TransformerConfig.base/big)",
    )
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--source-length", type=int, default=64)
    parser.add_argument("--target-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--dropout", type=float, help="default: the preset's")
    parser.add_argument(
        "--tied",
        action="store_true",
        help="A with tied embeddings and no attention dropout (the "
        "project's default config) instead of the peers' layout",
    )
    parser.add_argument(
        "--dtype", choices=list(COMPUTE_DTYPES), default="float32"
    )
    parser.add_argument(
        "--random-lengths",
        action="store_true",
        help="sequences of random lengths (1/4 to all of the length), "
        "padded: also reports non-padding tokens/s",
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="per round")
    parser.add_argument(
        "--warmup", type=int, default=2, help="steps after the first"
    )
    parser.add_argument(
        "--round-seconds",
        type=float,
        default=15.0,
        help="fewer --steps when a round of the slowest model would take "
        "longer than this (0: always --steps)",
    )
    parser.add_argument(
        "--loop",
        choices=["train_on_batch", "fit"],
        default="train_on_batch",
        help="train_on_batch (synchronised every step) or one model.fit "
        "per round over its in-memory batches (less overhead per step; "
        "use it for fast GPU steps)",
    )
    parser.add_argument(
        "--peak-tflops",
        type=float,
        help="the hardware's matmul peak instead of the measured one",
    )
    parser.add_argument(
        "--peak-size",
        type=int,
        help="matmul size of the peak measurement (default 2048 on CPU, "
        "8192 on an accelerator)",
    )
    parser.add_argument(
        "--sizes",
        nargs="?",
        const="demo,bench,base",
        help="XLA on/off for A at the demo, bench and base sizes (or the "
        "ones named: --sizes demo,bench)",
    )
    parser.add_argument(
        "--data",
        help="a multi30k folder (e.g. $DATA_DIR/multi30k): bucketed "
        "batches by tokens against padded fixed-size batches",
    )
    parser.add_argument(
        "--batch-tokens",
        type=int,
        default=3072,
        help="--data: tokens per batch (configs/translate_local.yaml)",
    )
    parser.add_argument(
        "--max-length", type=int, default=64, help="--data: longest pair"
    )
    parser.add_argument(
        "--data-steps",
        type=int,
        default=30,
        help="--data: batches per feed (each round runs all of them)",
    )
    parser.add_argument("--data-rounds", type=int, default=2)
    parser.add_argument(
        "--tokenizer",
        help="--data: a saved tokenizer directory to reuse (default: "
        "train one with the project's recipe in a temporary folder)",
    )
    parser.add_argument(
        "--allow-tensorflow",
        action="store_true",
        help="JAX backend: do not block `import tensorflow`",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--no-table", action="store_true", help=SUPPRESS)
    return parser.parse_args(argv)


# ------------------------------------------------------------------ FLOPs


def train_flops(
    batch,
    source_length,
    target_length,
    d_model,
    ff_dim,
    encoder_layers,
    decoder_layers,
    vocab_size,
):
    """Model FLOPs of one training step of an encoder-decoder Transformer.

    The standard count: forward = 2 x the multiply-accumulates (MACs) of
    every matrix product, training = 3 x forward (the backward pass costs
    two forward passes: gradients of the activations and of the weights).
    Embedding look-ups, softmax, layer norms, biases, dropout and the
    optimizer are not counted. With B sequences, S source and T target
    positions (padding included: it is computed), D = d_model, F = d_ff,
    V the output vocabulary, the forward MACs per sequence are

    * encoder layer: ``4 S D^2`` (Q, K, V, output projections) +
      ``2 S^2 D`` (scores Q K^T and the weighted sum over V, all heads) +
      ``2 S D F`` (feed-forward);
    * decoder layer: self-attention ``4 T D^2 + 2 T^2 D`` (the full T x T
      scores: the causal mask hides half of them, every implementation here
      computes all); cross-attention ``2 T D^2`` (Q, output) + ``2 S D^2``
      (K, V of the memory) + ``2 T S D``; feed-forward ``2 T D F``;
    * output projection: ``T D V``.

    Equivalently, ``6 x N x tokens`` for the N non-embedding parameters of
    the matrix products (counted per token that passes through them) plus
    the attention terms ``6 x 2 x (S^2 D + T^2 D + T S D)`` per layer.

    Returns:
        FLOPs per training step (float).
    """
    S, T, D, F = source_length, target_length, d_model, ff_dim
    encoder = 4 * S * D * D + 2 * S * S * D + 2 * S * D * F
    decoder = (
        (4 * T * D * D + 2 * T * T * D)
        + (2 * T * D * D + 2 * S * D * D + 2 * T * S * D)
        + 2 * T * D * F
    )
    macs = encoder_layers * encoder + decoder_layers * decoder
    macs += T * D * vocab_size
    return 3.0 * 2.0 * batch * macs


def config_flops(config, batch, source_length, target_length):
    """``train_flops`` of a ``TransformerConfig``."""
    return train_flops(
        batch,
        source_length,
        target_length,
        config.d_model,
        config.ff_dim,
        config.num_layers,
        config.decoder_layers,
        config.output_vocab_size,
    )


# -------------------------------------------------------------- devices


def accelerator():
    """ "gpu"/"tpu" when the active backend computes on one, else None."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        platform = jax.devices()[0].platform
        return None if platform == "cpu" else platform
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if tf.config.list_logical_devices("GPU"):
            return "gpu"
    return None


def device_name():
    """The device that computes, in words."""
    import platform

    import keras

    if keras.backend.backend() == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform != "cpu":
            return f"{device.platform}: {device.device_kind}"
    elif accelerator():
        import tensorflow as tf

        gpu = tf.config.list_physical_devices("GPU")[0]
        details = tf.config.experimental.get_device_details(gpu)
        return f"gpu: {details.get('device_name', gpu.name)}"
    cores = os.cpu_count()
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"cpu: {name}, {cores} cores visible"


def compiled(function, jit_compile=True):
    """``function`` compiled by the active backend (JAX: always XLA)."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(function)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=jit_compile)
    return function


def measure_peak(dtype="float32", size=None, chain=None, repeats=5):
    """The matmul peak of the active backend, in TFLOP/s.

    A compiled chain of ``chain`` products ``x <- x @ w`` of ``size`` x
    ``size`` matrices in the compute dtype of the policy ``dtype`` (``w``
    scaled by ``size ** -0.5`` keeps the values near 1); the best of
    ``repeats`` timed calls after a warm-up call. TensorFlow: the best of
    an XLA and a plain ``tf.function`` (their CPU matmul kernels differ).
    """
    import keras
    from keras import ops

    fast = accelerator() is not None
    size = size or (8192 if fast else 2048)
    chain = chain or (16 if fast else 4)
    compute = COMPUTE_DTYPES[dtype]
    x = keras.random.normal((size, size), seed=1)
    w = keras.random.normal((size, size), seed=2) * size**-0.5
    x, w = ops.cast(x, compute), ops.cast(w, compute)

    def products(x, w):
        for _ in range(chain):
            x = ops.matmul(x, w)
        return x

    def wait(result):
        # The slice runs outside the compiled function, so all of it must
        # finish first; only one number comes back to the host.
        return ops.convert_to_numpy(ops.cast(result[0, 0], "float32"))

    settings = [True]
    if keras.backend.backend() == "tensorflow":
        settings.append(False)
    best = float("inf")
    for jit_compile in settings:
        function = compiled(products, jit_compile)
        wait(function(x, w))
        for _ in range(repeats):
            started = time.perf_counter()
            wait(function(x, w))
            best = min(best, time.perf_counter() - started)
    return 2.0 * size**3 * chain / best / 1e12


# ---------------------------------------------------------------- models


def _optimizer(d_model):
    import keras

    from keras_transformer.training import TransformerSchedule

    return keras.optimizers.Adam(
        TransformerSchedule(d_model, warmup_steps=4000),
        beta_1=0.9,
        beta_2=0.98,
        epsilon=1e-9,
    )


def compile_for_training(model, d_model, jit_compile):
    """The same optimizer, schedule and loss for every model."""
    from keras_transformer.training import MaskedSparseCategoricalCrossentropy

    model.compile(
        optimizer=_optimizer(d_model),
        loss=MaskedSparseCategoricalCrossentropy(label_smoothing=0.1),
        jit_compile=jit_compile,
    )
    return model


def tutorial_transformer(config, max_length):
    """Peer B: the TensorFlow tutorial's Transformer on Keras layers.

    Post-LN layers as in tensorflow.org/text/tutorials/transformer:
    ``PositionalEmbedding`` (``Embedding(mask_zero=True)`` scaled by
    sqrt(D), plus concatenated sin/cos positions), ``GlobalSelfAttention``,
    ``CausalSelfAttention``, ``CrossAttention`` (``MultiHeadAttention`` +
    ``Add`` + ``LayerNormalization``), ``FeedForward``, and a final
    ``Dense``; the Keras implicit masks carry the padding.
    """
    import keras
    from keras import ops

    D, rate = config.d_model, config.dropout

    def positional_encoding(length, depth):
        half = depth / 2
        positions = np.arange(length)[:, np.newaxis]
        depths = np.arange(half)[np.newaxis, :] / half
        angles = positions / (10000**depths)
        table = np.concatenate([np.sin(angles), np.cos(angles)], axis=-1)
        return table.astype("float32")

    class PositionalEmbedding(keras.layers.Layer):
        def __init__(self, vocab_size, **kwargs):
            super().__init__(**kwargs)
            self.embedding = keras.layers.Embedding(
                vocab_size, D, mask_zero=True
            )
            self.table = positional_encoding(max_length, D)

        def compute_mask(self, x, mask=None):
            return self.embedding.compute_mask(x, mask)

        def build(self, shape):
            self.embedding.build(shape)

        def compute_output_shape(self, shape):
            return tuple(shape) + (D,)

        def call(self, x):
            length = ops.shape(x)[1]
            x = self.embedding(x)
            x = x * ops.sqrt(ops.cast(D, x.dtype))
            positions = ops.convert_to_tensor(self.table)[None, :length]
            return x + ops.cast(positions, x.dtype)

    class BaseAttention(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True
            self.mha = keras.layers.MultiHeadAttention(
                num_heads=config.num_heads,
                key_dim=D // config.num_heads,
                dropout=rate,
            )
            self.layernorm = keras.layers.LayerNormalization()
            self.add = keras.layers.Add()

    class CrossAttention(BaseAttention):
        def call(self, x, context, context_mask=None):
            output = self.mha(
                query=x, key=context, value=context, value_mask=context_mask
            )
            return self.layernorm(self.add([x, output]))

    class GlobalSelfAttention(BaseAttention):
        def call(self, x):
            output = self.mha(query=x, value=x, key=x)
            return self.layernorm(self.add([x, output]))

    class CausalSelfAttention(BaseAttention):
        def call(self, x):
            output = self.mha(query=x, value=x, key=x, use_causal_mask=True)
            return self.layernorm(self.add([x, output]))

    class FeedForward(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True
            # The tutorial's keras.Sequential of these three layers (a
            # Sequential drops the Keras mask, with a warning).
            self.inner = keras.layers.Dense(config.ff_dim, activation="relu")
            self.outer = keras.layers.Dense(D)
            self.dropout = keras.layers.Dropout(rate)
            self.add = keras.layers.Add()
            self.layer_norm = keras.layers.LayerNormalization()

        def call(self, x):
            output = self.dropout(self.outer(self.inner(x)))
            return self.layer_norm(self.add([x, output]))

    class EncoderLayer(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True
            self.self_attention = GlobalSelfAttention()
            self.ffn = FeedForward()

        def call(self, x):
            return self.ffn(self.self_attention(x))

    class DecoderLayer(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True
            self.causal_self_attention = CausalSelfAttention()
            self.cross_attention = CrossAttention()
            self.ffn = FeedForward()

        def call(self, x, context, context_mask=None):
            x = self.causal_self_attention(x)
            x = self.cross_attention(x, context, context_mask=context_mask)
            return self.ffn(x)

    source = keras.Input((None,), dtype="int32", name="source_tokens")
    target = keras.Input((None,), dtype="int32", name="target_tokens")
    x = PositionalEmbedding(config.vocab_size, name="source_embedding")(source)
    x = keras.layers.Dropout(rate)(x)
    for index in range(config.num_layers):
        x = EncoderLayer(name=f"encoder_layer_{index}")(x)
    y = PositionalEmbedding(config.output_vocab_size, name="target_embedding")(
        target
    )
    y = keras.layers.Dropout(rate)(y)
    # Keras 3's MultiHeadAttention deletes the implicit masks of the
    # tensors it reads, so after the first cross-attention the encoder
    # output would have lost its padding mask: it is passed explicitly
    # (the tutorial, written for Keras 2, relies on the implicit mask).
    source_mask = ops.not_equal(source, 0)
    for index in range(config.decoder_layers):
        y = DecoderLayer(name=f"decoder_layer_{index}")(
            y, x, context_mask=source_mask
        )
    logits = keras.layers.Dense(config.output_vocab_size, name="final")(y)
    logits = keras.layers.Activation("linear", dtype="float32")(logits)
    return keras.Model(
        {"source_tokens": source, "target_tokens": target},
        logits,
        name="tutorial_transformer",
    )


def keras_hub_transformer(config, max_length):
    """Peer C: keras-hub's layers, as in keras.io's English-to-Spanish
    example (learned positions, post-LN, dropout on attention weights and
    residuals)."""
    import keras
    import keras_hub

    rate = config.dropout

    def embedding(vocab_size, name):
        return keras_hub.layers.TokenAndPositionEmbedding(
            vocab_size, max_length, config.d_model, mask_zero=True, name=name
        )

    source = keras.Input((None,), dtype="int32", name="source_tokens")
    target = keras.Input((None,), dtype="int32", name="target_tokens")
    x = embedding(config.vocab_size, "source_embedding")(source)
    x = keras.layers.Dropout(rate)(x)
    for _ in range(config.num_layers):
        x = keras_hub.layers.TransformerEncoder(
            config.ff_dim, config.num_heads, dropout=rate
        )(x)
    y = embedding(config.output_vocab_size, "target_embedding")(target)
    y = keras.layers.Dropout(rate)(y)
    for _ in range(config.decoder_layers):
        y = keras_hub.layers.TransformerDecoder(
            config.ff_dim, config.num_heads, dropout=rate
        )(y, x)
    logits = keras.layers.Dense(config.output_vocab_size, name="final")(y)
    logits = keras.layers.Activation("linear", dtype="float32")(logits)
    return keras.Model(
        {"source_tokens": source, "target_tokens": target},
        logits,
        name="keras_hub_transformer",
    )


def keras_hub_missing():
    """Why peer C cannot run here, or None."""
    if importlib.util.find_spec("keras_hub") is None:
        return (
            "keras-hub is not installed (pip install keras-hub, or "
            'pip install -e ".[bench]"): skipping model C'
        )
    return None


def model_config(args, **changes):
    """The ``TransformerConfig`` of ``--preset`` and the flags."""
    from keras_transformer.models import TransformerConfig

    values = dict(
        vocab_size=args.vocab_size,
        max_length=max(args.source_length, args.target_length),
    )
    if args.preset == "bench":
        values.update(BENCH_SHAPES, dropout=0.1)
    if args.dropout is not None:
        values["dropout"] = args.dropout
    values.update(changes)
    if args.preset == "bench":
        return TransformerConfig(**values)
    return TransformerConfig.preset(args.preset, **values)


def build_model(name, config, tied=False):
    """Model ``name`` (A, B or C) of ``config``, freshly seeded."""
    import keras

    from keras_transformer.models import build_transformer

    keras.utils.set_random_seed(0)
    if name == "A":
        if not tied:
            # The peers' layout: three vocabulary matrices, attention
            # dropout at the residual rate.
            config = config.replace(
                tie_embeddings=False, attention_dropout=config.dropout
            )
        return build_transformer(config)
    if name == "B":
        return tutorial_transformer(config, config.max_length)
    if name == "C":
        return keras_hub_transformer(config, config.max_length)
    raise ValueError(f"Unknown model {name!r}; choose A, B or C.")


# ------------------------------------------------------------------ data


def synthetic_batches(
    count, batch, source_length, target_length, vocab, seed, random_lengths
):
    """``count`` batches of random ids (4..vocab-1; 0 pads the end of
    shorter sequences when ``random_lengths``)."""
    rng = np.random.default_rng(seed)

    def ids(length):
        values = rng.integers(4, vocab, (batch, length)).astype("int32")
        if random_lengths:
            lengths = rng.integers(max(1, length // 4), length + 1, batch)
            values[np.arange(length)[None, :] >= lengths[:, None]] = 0
        return values

    batches = []
    for _ in range(count):
        source = ids(source_length)
        labels = ids(target_length)
        # Decoder inputs: BOS then the labels shifted right.
        target = np.concatenate(
            [np.full((batch, 1), 2, "int32"), labels[:, :-1]], axis=1
        )
        target[labels == 0] = 0
        batches.append(
            ({"source_tokens": source, "target_tokens": target}, labels)
        )
    return batches


# --------------------------------------------------------------- timing


class Variant:
    """One model in one setting, with its batches, timed step by step."""

    def __init__(self, labels, model, batches, loop="train_on_batch"):
        self.labels = labels
        self.model = model
        self.batches = batches
        self.loop = loop
        self.cursor = 0
        self.compile_seconds = 0.0
        self.shapes = 0
        self.rounds = []
        self.loss = None

    def _step(self, x, y):
        self.loss = float(np.asarray(self.model.train_on_batch(x, y)))

    def first_steps(self):
        """One step on the first batch of every shape: tracing and
        compilation (XLA compiles one program per shape)."""
        seen = {}
        for x, y in self.batches:
            key = tuple(value.shape for value in x.values()) + (y.shape,)
            seen.setdefault(key, (x, y))
        self.shapes = len(seen)
        for batch in seen.values():
            started = time.perf_counter()
            self._run([batch])
            self.compile_seconds += time.perf_counter() - started

    def _next(self, steps):
        chosen = []
        for _ in range(steps):
            chosen.append(self.batches[self.cursor % len(self.batches)])
            self.cursor += 1
        return chosen

    def _run(self, batches):
        if self.loop == "fit" and len({y.shape for _, y in batches}) == 1:
            x = {
                key: np.concatenate([b[0][key] for b in batches])
                for key in batches[0][0]
            }
            y = np.concatenate([b[1] for b in batches])
            history = self.model.fit(
                x,
                y,
                batch_size=len(batches[0][1]),
                epochs=1,
                shuffle=False,
                verbose=0,
            )
            self.loss = float(history.history["loss"][-1])
            return
        for x, y in batches:
            self._step(x, y)

    def warm(self, steps):
        """Untimed steps; returns seconds per step (None for none)."""
        if steps <= 0:
            return None
        started = time.perf_counter()
        self._run(self._next(steps))
        return (time.perf_counter() - started) / steps

    def measure(self, steps):
        """Runs ``steps`` steps; records wall and CPU seconds, tokens."""
        batches = self._next(steps)
        cpu = time.process_time()
        started = time.perf_counter()
        self._run(batches)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        tokens = sum(y.size for _, y in batches)
        real = sum(int(np.count_nonzero(y)) for _, y in batches)
        self.rounds.append(
            {
                "wall": wall,
                "cpu": cpu,
                "steps": steps,
                "tokens": tokens,
                "real": real,
            }
        )
        return wall

    def summary(self):
        """Medians over the rounds."""
        per_step = [r["wall"] / r["steps"] for r in self.rounds]
        cpu_per_step = [r["cpu"] / r["steps"] for r in self.rounds]
        steps = sum(r["steps"] for r in self.rounds)
        tokens = sum(r["tokens"] for r in self.rounds) / steps
        real = sum(r["real"] for r in self.rounds) / steps
        step = statistics.median(per_step)
        return {
            "step_s": step,
            "cpu_s_per_step": statistics.median(cpu_per_step),
            "tokens_per_step": tokens,
            "real_tokens_per_step": real,
            # Mean tokens per step over the median step time.
            "tokens_per_s": tokens / step,
            "real_tokens_per_s": real / step,
            "padding": 1 - real / tokens,
            "round_step_s": [round(s, 5) for s in per_step],
        }


def paired_rounds(variants, rounds, steps, warmup, round_seconds=None):
    """Compiles every variant, then times them round-robin.

    With ``round_seconds``, a round of the slowest variant (by its warm-up
    steps) takes about that long: fewer than ``steps`` steps for big
    models on slow machines; every variant runs the same number.
    """
    slowest = 0.0
    for variant in variants:
        variant.first_steps()
        warm = variant.warm(warmup)
        slowest = max(slowest, warm or 0.0)
        what = "first step"
        if variant.shapes > 1:
            what = f"first steps of {variant.shapes} shapes"
        print(
            f"  compiled {variant.labels}: "
            f"{variant.compile_seconds:.1f} s ({what})",
            flush=True,
        )
    if round_seconds and slowest:
        steps = min(steps, max(1, round(round_seconds / slowest)))
    for index in range(rounds):
        for variant in variants:
            wall = variant.measure(steps)
            print(
                f"  round {index + 1}/{rounds} {variant.labels}: "
                f"{1000 * wall / steps:.1f} ms/step",
                flush=True,
            )
    return [variant.summary() for variant in variants]


def _tensorflow_imported():
    return sys.modules.get("tensorflow") is not None


def setup_backend(args):
    """Sets the Keras backend (before Keras is imported) and the policy."""
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.backend == "jax" and not args.allow_tensorflow:
        # As on a machine without TensorFlow: an accidental import fails,
        # and the optional ones (keras.utils.set_random_seed seeds
        # TensorFlow too when it can import it; keras-hub imports it when
        # installed) find it missing.
        sys.modules.setdefault("tensorflow", None)
    import keras

    # keras-hub's layers pass masked tensors to Keras layers that drop the
    # mask (they carry the padding mask themselves): one warning per layer.
    warnings.filterwarnings("ignore", message=".*does not support masking")
    if args.backend == "tensorflow":
        import tensorflow as tf

        # Several models in one process: tf.function's retracing notes.
        tf.get_logger().setLevel("ERROR")
    if keras.backend.backend() != args.backend:
        raise SystemExit(
            f"Keras was imported with the {keras.backend.backend()} backend "
            f"before --backend {args.backend} could be set."
        )
    keras.config.set_dtype_policy(args.dtype)
    return keras


def _peak(args):
    if args.peak_tflops:
        return args.peak_tflops, "given"
    print("Measuring the matmul peak ...", flush=True)
    peak = measure_peak(args.dtype, args.peak_size)
    print(f"  matmul peak: {peak:.3f} TFLOP/s", flush=True)
    return peak, "measured"


def _xla_settings(args):
    if args.backend == "jax":
        return [True]
    names = [name.strip() for name in args.xla.split(",") if name.strip()]
    for name in names:
        if name not in ("on", "off"):
            raise SystemExit(f"--xla takes on, off or on,off; got {name!r}")
    return [name == "on" for name in names]


def _xla_name(backend, jit):
    if backend == "jax":
        return "jax.jit"
    return "on" if jit else "off"


# ---------------------------------------------------------------- modes


def run_models(args):
    """A, B and C in every setting of this backend (paired rounds)."""
    setup_backend(args)
    config = model_config(args)
    peak, peak_source = _peak(args)
    names = [name.strip() for name in args.models.split(",") if name.strip()]
    skipped = {}
    if "C" in names and keras_hub_missing():
        skipped["C"] = keras_hub_missing()
        print(skipped["C"], flush=True)
        names.remove("C")
    batches = synthetic_batches(
        4,
        args.batch_size,
        args.source_length,
        args.target_length,
        args.vocab_size,
        args.seed,
        args.random_lengths,
    )
    flops = config_flops(
        config, args.batch_size, args.source_length, args.target_length
    )
    variants = []
    for jit in _xla_settings(args):
        for name in names:
            xla = _xla_name(args.backend, jit)
            print(
                f"Building {name} ({MODELS[name]}), XLA {xla} ...", flush=True
            )
            model = build_model(name, config, tied=args.tied)
            compile_for_training(model, config.d_model, jit)
            variant = Variant(f"{name} XLA {xla}", model, batches, args.loop)
            variant.name, variant.xla = name, xla
            variants.append(variant)
    summaries = paired_rounds(
        variants, args.rounds, args.steps, args.warmup, args.round_seconds
    )
    reference = {v.xla: s for v, s in zip(variants, summaries) if v.name == "A"}
    rows = []
    for variant, summary in zip(variants, summaries):
        achieved = flops / summary["step_s"] / 1e12
        row = {
            "backend": args.backend,
            "dtype": args.dtype,
            "model": f"{variant.name}: {MODELS[variant.name]}",
            "XLA": variant.xla,
            "params (M)": round(variant.model.count_params() / 1e6, 2),
            "compile + 1st step s": round(variant.compile_seconds, 1),
            "step ms": round(1000 * summary["step_s"], 1),
            "CPU s/step": round(summary["cpu_s_per_step"], 3),
            "tokens/s": round(summary["tokens_per_s"]),
        }
        if args.random_lengths:
            row["non-pad tokens/s"] = round(summary["real_tokens_per_s"])
        row["TFLOP/s"] = round(achieved, 3)
        row["MFU %"] = round(100 * achieved / peak, 1)
        base = reference.get(variant.xla)
        row["time vs A"] = (
            round(summary["step_s"] / base["step_s"], 2) if base else None
        )
        row["loss"] = round(variant.loss, 3)
        rows.append(row)
    return {
        "mode": "models",
        "backend": args.backend,
        "device": device_name(),
        "dtype": args.dtype,
        "preset": args.preset,
        "config": config.to_dict(),
        "batch_size": args.batch_size,
        "source_length": args.source_length,
        "target_length": args.target_length,
        "loop": args.loop,
        "rounds_run": args.rounds,
        "steps_per_round": variants[0].rounds[0]["steps"],
        "flops_per_step": flops,
        "peak_tflops": round(peak, 3),
        "peak_source": peak_source,
        "skipped": skipped,
        "tensorflow_imported": _tensorflow_imported(),
        "rows": rows,
        "rounds": {
            v.labels: s["round_step_s"] for v, s in zip(variants, summaries)
        },
    }


def _sizes(args):
    """(name, config, batch, length) of the demo, bench and base sizes."""
    from keras_transformer.experiment import load_experiment
    from keras_transformer.models import TransformerConfig

    here = os.path.dirname(os.path.abspath(__file__))
    demo = load_experiment(os.path.join(here, "..", "configs", "demo.yaml"))
    length = demo.training.max_length
    demo_config = demo.model_config(demo.tokenizer.vocab_size).replace(
        max_length=length
    )
    bench = TransformerConfig(
        vocab_size=args.vocab_size, max_length=64, dropout=0.1, **BENCH_SHAPES
    )
    base = TransformerConfig.base(vocab_size=args.vocab_size, max_length=64)
    sizes = {
        "demo": (demo_config, demo.training.batch_tokens // length, length),
        "bench": (bench, args.batch_size, 64),
        "base": (base, args.batch_size, 64),
    }
    chosen = [name.strip() for name in args.sizes.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(sizes))
    if unknown:
        raise SystemExit(f"--sizes: unknown {unknown}; use {list(sizes)}")
    return [(name, *sizes[name]) for name in chosen]


def run_sizes(args):
    """XLA on/off for A at three sizes (the project's defaults: tied
    embeddings, no attention dropout)."""
    setup_backend(args)
    rows = []
    for name, config, batch, length in _sizes(args):
        print(
            f"Size {name}: D {config.d_model}, {config.num_layers}+"
            f"{config.decoder_layers} layers, vocab {config.vocab_size}, "
            f"batch {batch} x {length}",
            flush=True,
        )
        batches = synthetic_batches(
            4, batch, length, length, config.vocab_size, args.seed, False
        )
        variants = []
        for jit in _xla_settings(args):
            model = build_model("A", config, tied=True)
            compile_for_training(model, config.d_model, jit)
            variant = Variant(
                f"{name} XLA {_xla_name(args.backend, jit)}",
                model,
                batches,
                args.loop,
            )
            variant.xla = _xla_name(args.backend, jit)
            variants.append(variant)
        summaries = paired_rounds(
            variants, args.rounds, args.steps, args.warmup, args.round_seconds
        )
        off = next(
            (s for v, s in zip(variants, summaries) if v.xla == "off"), None
        )
        for variant, summary in zip(variants, summaries):
            rows.append(
                {
                    "size": name,
                    "D": config.d_model,
                    "layers": f"{config.num_layers}+{config.decoder_layers}",
                    "batch x len": f"{batch} x {length}",
                    "params (M)": round(variant.model.count_params() / 1e6, 2),
                    "XLA": variant.xla,
                    "compile + 1st step s": round(variant.compile_seconds, 1),
                    "step ms": round(1000 * summary["step_s"], 1),
                    "CPU s/step": round(summary["cpu_s_per_step"], 3),
                    "tokens/s": round(summary["tokens_per_s"]),
                    "speed-up vs XLA off": (
                        round(off["step_s"] / summary["step_s"], 2)
                        if off
                        else None
                    ),
                    "break-even steps": _break_even(
                        variant, summary, variants, summaries
                    ),
                }
            )
    return {
        "mode": "sizes",
        "backend": args.backend,
        "device": device_name(),
        "dtype": args.dtype,
        "rows": rows,
    }


def _break_even(variant, summary, variants, summaries):
    """Steps after which XLA's longer compilation has paid for itself."""
    if variant.xla != "on":
        return None
    for other, other_summary in zip(variants, summaries):
        if other.xla == "off":
            saved = other_summary["step_s"] - summary["step_s"]
            extra = variant.compile_seconds - other.compile_seconds
            if saved <= 0:
                return "never"
            return max(0, round(extra / saved))
    return None


def _translation_data(args, workdir):
    """The project's training pipeline over multi30k en->de: the
    translation task of configs/translate_local.yaml, its SentencePiece
    tokenizer, ``encode_translation`` and ``batch_by_tokens``."""
    from keras_transformer.experiment import load_experiment
    from keras_transformer.tasks.registry import get_task

    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(os.path.abspath(args.data), "raw", "{split}.{lang}.gz")
    overrides = [
        f"data.path={path}",
        f"training.batch_tokens={args.batch_tokens}",
        f"training.max_length={args.max_length}",
        f"training.seed={args.seed}",
    ]
    if args.tokenizer:
        overrides.append(f"tokenizer.path={os.path.abspath(args.tokenizer)}")
    experiment = load_experiment(
        os.path.join(here, "..", "configs", "translate_local.yaml"), overrides
    )
    task = get_task(experiment)
    print(f"Reading {path} ...", flush=True)
    splits = task.load_splits()
    task.prepare(workdir, splits)
    return task, splits


def _take(dataset, count):
    batches = []
    for features, labels in dataset.take(count).as_numpy_iterator():
        batches.append((dict(features), labels))
    return batches


def _data_feeds(args, workdir):
    """The same number of batches from the project's pipeline and from a
    tutorial-style padded one, taken into memory."""
    task, splits = _translation_data(args, workdir)
    bucketed = task.make_dataset(splits["train"], training=True)
    size = args.batch_tokens // args.max_length
    length = args.max_length
    padded = (
        task.encode(splits["train"], training=True)
        .shuffle(20000, seed=args.seed)
        .repeat()
        .padded_batch(
            size,
            padded_shapes=(
                {"source_tokens": [length], "target_tokens": [length]},
                [length],
            ),
            drop_remainder=True,
        )
    )
    feeds = {
        f"bucketed, ~{args.batch_tokens} tokens/batch": _take(
            bucketed, args.data_steps
        ),
        f"padded to {length}, batch {size}": _take(padded, args.data_steps),
    }
    return task.tokenizers[0].vocab_size, feeds


def run_data(args):
    """Non-padding target tokens/s of A on multi30k: the project's
    bucketed batches by tokens against padded fixed-size batches."""
    setup_backend(args)
    with tempfile.TemporaryDirectory(prefix="bench_training_") as workdir:
        vocab_size, feeds = _data_feeds(args, workdir)
    length = args.max_length
    config = model_config(args).replace(
        vocab_size=vocab_size, max_length=length
    )
    variants = []
    for jit in _xla_settings(args):
        for feed, batches in feeds.items():
            model = build_model("A", config, tied=True)
            compile_for_training(model, config.d_model, jit)
            variant = Variant(
                f"{feed} XLA {_xla_name(args.backend, jit)}",
                model,
                batches,
                "train_on_batch",
            )
            variant.feed, variant.xla = feed, _xla_name(args.backend, jit)
            variants.append(variant)
    summaries = paired_rounds(
        variants, args.data_rounds, args.data_steps, warmup=0
    )
    rows = []
    for variant, summary in zip(variants, summaries):
        padded_rate = next(
            s["real_tokens_per_s"]
            for v, s in zip(variants, summaries)
            if v.xla == variant.xla and v.feed.startswith("padded")
        )
        rows.append(
            {
                "feed": variant.feed,
                "XLA": variant.xla,
                "shapes": variant.shapes,
                "compile s (all shapes)": round(variant.compile_seconds, 1),
                "step ms": round(1000 * summary["step_s"], 1),
                "target tokens/step": round(summary["tokens_per_step"]),
                "padding %": round(100 * summary["padding"], 1),
                "target tokens/s": round(summary["tokens_per_s"]),
                "non-pad target tokens/s": round(summary["real_tokens_per_s"]),
                "vs padded": round(
                    summary["real_tokens_per_s"] / padded_rate, 2
                ),
            }
        )
    return {
        "mode": "data",
        "backend": args.backend,
        "device": device_name(),
        "data": os.path.abspath(args.data),
        "vocab_size": config.vocab_size,
        "config": config.to_dict(),
        "rows": rows,
    }


# ------------------------------------------------------------------ main


def table(rows):
    """``rows`` (dicts) as a GitHub-style table (tabulate's when it is
    installed: a bare GPU machine may lack it)."""
    try:
        from tabulate import tabulate
    except ImportError:
        headers = list(rows[0]) if rows else []
        cells = [[row.get(key) for key in headers] for row in rows]

        def line(values):
            return "| " + " | ".join(values) + " |"

        text = [line(headers), line(["---"] * len(headers))]
        for values in cells:
            text.append(line(["" if v is None else str(v) for v in values]))
        return "\n".join(text)
    return tabulate(rows, headers="keys", tablefmt="github")


def _installed_backends():
    return [
        name
        for name in ("tensorflow", "jax")
        if importlib.util.find_spec(name) is not None
    ]


def _each_backend(argv, backends):
    """Runs this script once per backend, each in its own process."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--json" in argv:
        index = argv.index("--json")
        del argv[index : index + 2]
    argv = [a for a in argv if not a.startswith("--json=")]
    results = []
    for backend in backends:
        print(f"== backend {backend}", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "results.json")
            subprocess.run(
                [
                    sys.executable,
                    os.path.abspath(__file__),
                    *argv,
                    "--backend",
                    backend,
                    "--json",
                    path,
                    "--no-table",
                ],
                check=True,
            )
            with open(path, encoding="utf-8") as handle:
                results.append(json.load(handle))
    return {"mode": "models", "runs": results}


def _print(results):
    runs = results.get("runs", [results])
    if results["mode"] == "models":
        first = runs[0]
        config = first["config"]
        decoder_layers = config["num_decoder_layers"] or config["num_layers"]
        print(
            f"\nTraining step of the {first['preset']} shapes "
            f"(D {config['d_model']}, d_ff {config['ff_dim']}, "
            f"{config['num_heads']} heads, {config['num_layers']}+"
            f"{decoder_layers} layers, vocab {config['vocab_size']}), batch "
            f"{first['batch_size']} x {first['source_length']}/"
            f"{first['target_length']} tokens, {first['dtype']}, loop "
            f"{first['loop']}, median of {first['rounds_run']} rounds of "
            f"{first['steps_per_round']} steps; "
            f"{first['flops_per_step'] / 1e9:.1f} GFLOP per step "
            "(train_flops)."
        )
        for run in runs:
            print(
                f"{run['backend']} on {run['device']}: matmul peak "
                f"{run['peak_tflops']} TFLOP/s ({run['peak_source']}); "
                "TensorFlow imported: "
                f"{'yes' if run['tensorflow_imported'] else 'no'}."
            )
            for reason in run["skipped"].values():
                print(f"  {reason}")
        rows = [row for run in runs for row in run["rows"]]
        print()
        print(table(rows))
    elif results["mode"] == "sizes":
        print(
            f"\nXLA on/off for this project's model at three sizes "
            f"({results['backend']} on {results['device']}, "
            f"{results['dtype']}).\n"
        )
        print(table(results["rows"]))
    else:
        print(
            f"\nmulti30k en->de, the project's model (D "
            f"{results['config']['d_model']}, vocab {results['vocab_size']}) "
            f"on {results['device']}: bucketed batches by tokens against "
            "padded fixed-size batches (input pipeline excluded: batches "
            "are taken first).\n"
        )
        print(table(results["rows"]))


def main(argv=None):
    args = _arguments(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.backend is None:
        backends = _installed_backends()
        if args.sizes or args.data:
            backends = ["tensorflow"]
        if not backends:
            raise SystemExit("Neither TensorFlow nor JAX is installed.")
        if len(backends) > 1:
            results = _each_backend(argv, backends)
            _finish(args, results)
            return
        args.backend = backends[0]
    if args.data and args.backend != "tensorflow":
        raise SystemExit("--data reads tf.data pipelines: use tensorflow.")
    if args.sizes:
        results = run_sizes(args)
    elif args.data:
        results = run_data(args)
    else:
        results = run_models(args)
    _finish(args, results)


def _finish(args, results):
    if not args.no_table:
        _print(results)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
