"""Autoregressive decoding over a key/value cache, in ``keras.ops``.

The encoder runs once; the decoder then runs on one new token per step,
reading the self-attention keys/values of earlier steps and the
cross-attention keys/values of the encoder output from a fixed-size cache.
Shapes stay static, so the loop compiles under XLA
(``tf.function(jit_compile=True)`` or ``jax.jit``).
"""

import keras
from keras import ops

from keras_transformer.models.transformer import transformer_parts


class Seq2SeqStepper:
    """Encoder output, cache and one-token decoder steps of a Transformer.

    Args:
        model: a model from ``build_transformer`` (or loaded from
            ``.keras``).
        pad_id: the padding id (0).

    Example:

    >>> stepper = Seq2SeqStepper(model)
    >>> state = stepper.start(source_tokens, max_length=20)
    >>> logits, state = stepper.step(tokens, state, index)
    """

    def __init__(self, model, pad_id=0):
        self.model = model
        self.parts = transformer_parts(model)
        self.pad_id = pad_id

    def start(self, source_tokens, max_length):
        """Encodes the source and makes an empty cache of ``max_length``."""
        source_tokens = ops.convert_to_tensor(source_tokens, "int32")
        source_mask = ops.not_equal(source_tokens, self.pad_id)
        memory = self.parts.encoder(
            self.parts.source_embedding(source_tokens),
            padding_mask=source_mask,
        )
        batch_size = ops.shape(source_tokens)[0]
        cache = self.parts.decoder.init_cache(batch_size, max_length, memory)
        return {"cache": cache, "source_mask": source_mask}

    def logits(self, states):
        """Vocabulary logits (float32) of decoder states."""
        if self.parts.output_projection is None:
            logits = self.parts.target_embedding(states, reverse=True)
        else:
            logits = self.parts.output_projection(states)
        return ops.cast(logits, "float32")

    def step(self, tokens, state, index):
        """Runs the decoder on ``tokens`` (B, 1) at position ``index``.

        Returns:
            ``(logits, state)``: (B, V) float32 logits of the next token
            and the state with the updated cache.
        """
        embedded = self.parts.target_embedding(tokens, start_index=index)
        states, cache = self.parts.decoder(
            embedded,
            encoder_padding_mask=state["source_mask"],
            cache=state["cache"],
            cache_update_index=index,
        )
        logits = self.logits(states)[:, -1]
        return logits, dict(state, cache=cache)


def greedy_decode(
    model,
    source_tokens,
    max_length,
    bos_id=2,
    eos_id=3,
    pad_id=0,
    lengths=None,
):
    """Greedy decoding with the key/value cache.

    Args:
        model: a model from ``build_transformer``.
        source_tokens: (B, S) int source ids (0 = padding).
        max_length: L, the number of tokens to generate at most.
        bos_id: the start token.
        eos_id: the end token; a finished sequence is padded after it.
        pad_id: the padding id.
        lengths: optional (B,) per-sequence limits (<= L), so that a
            sentence decodes the same alone or in any batch.

    Returns:
        (B, L) int32 generated ids (without BOS; EOS included, then
        padding).

    Example:

    >>> ids = greedy_decode(model, np.array([[45, 12, 3]]), max_length=20)
    """
    stepper = Seq2SeqStepper(model, pad_id=pad_id)
    state = stepper.start(source_tokens, max_length)
    batch_size = ops.shape(state["source_mask"])[0]
    tokens = ops.full((batch_size, max_length + 1), pad_id, dtype="int32")
    tokens = ops.slice_update(
        tokens, (0, 0), ops.full((batch_size, 1), bos_id, dtype="int32")
    )
    finished = ops.zeros((batch_size,), dtype="bool")
    if lengths is not None:
        lengths = ops.convert_to_tensor(lengths, "int32")

    def body(index, loop_state):
        tokens, state, finished = loop_state
        if lengths is not None:
            finished = ops.logical_or(finished, index >= lengths)
        current = ops.slice(tokens, (0, index), (batch_size, 1))
        logits, state = stepper.step(current, state, index)
        chosen = ops.cast(ops.argmax(logits, axis=-1), "int32")
        chosen = ops.where(finished, pad_id, chosen)
        tokens = ops.slice_update(
            tokens, (0, index + 1), ops.expand_dims(chosen, 1)
        )
        return tokens, state, ops.logical_or(finished, chosen == eos_id)

    tokens, _, _ = ops.fori_loop(0, max_length, body, (tokens, state, finished))
    return tokens[:, 1:]


def greedy_decode_uncached(
    model, source_tokens, max_length, bos_id=2, eos_id=3, pad_id=0
):
    """Greedy decoding that re-runs the whole model on the prefix each step.

    The slow reference (what the TensorFlow tutorial does); gives exactly the
    tokens of ``greedy_decode``.
    """
    source_tokens = ops.convert_to_tensor(source_tokens, "int32")
    batch_size = ops.shape(source_tokens)[0]
    tokens = ops.full((batch_size, 1), bos_id, dtype="int32")
    finished = ops.zeros((batch_size,), dtype="bool")
    for _ in range(max_length):
        logits = model(
            {"source_tokens": source_tokens, "target_tokens": tokens}
        )
        chosen = ops.cast(ops.argmax(logits[:, -1], axis=-1), "int32")
        chosen = ops.where(finished, pad_id, chosen)
        tokens = ops.concatenate([tokens, ops.expand_dims(chosen, 1)], 1)
        finished = ops.logical_or(finished, chosen == eos_id)
    return tokens[:, 1:]


def compile_decoder(fn, jit_compile=False):
    """Wraps a decoding function for the active backend's graph compiler.

    TensorFlow: ``tf.function`` (``jit_compile`` for XLA); JAX: ``jax.jit``
    with the model and length arguments static; other backends: unchanged.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=jit_compile, reduce_retracing=True)
    if backend == "jax":
        import jax

        return jax.jit(fn, static_argnums=(0,), static_argnames=("max_length",))
    return fn
