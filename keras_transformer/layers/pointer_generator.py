"""Copying source tokens: the pointer-generator of See et al. (2017)."""

import keras
import numpy as np
from keras import ops

from keras_transformer.layers import validation as check
from keras_transformer.layers.attention import scaled_dot_product_attention
from keras_transformer.layers.multi_head_attention import clone_initializer


def scatter_to_vocabulary(weights, source_tokens, vocab_size):
    """Sums (B, T, S) ``weights`` onto the ids of (B, S) ``source_tokens``.

    Returns (B, T, V): entry (b, t, v) is the total weight of the source
    positions of row b that hold token v (repeated tokens add up).

    Example:

    >>> weights = np.array([[[0.5, 0.25, 0.25]]])
    >>> scatter_to_vocabulary(weights, np.array([[4, 2, 4]]), 5)
    [[[0, 0, 0.25, 0, 0.75]]]
    """
    batch, length, source = (ops.shape(weights)[i] for i in range(3))
    rows = ops.reshape(ops.arange(batch, dtype="int32"), (-1, 1, 1))
    steps = ops.reshape(ops.arange(length, dtype="int32"), (1, -1, 1))
    tokens = ops.expand_dims(ops.cast(source_tokens, "int32"), 1)
    grid = (batch, length, source)
    indices = ops.stack(
        [
            ops.broadcast_to(rows, grid),
            ops.broadcast_to(steps, grid),
            ops.broadcast_to(tokens, grid),
        ],
        axis=-1,
    )
    return ops.scatter(
        ops.reshape(indices, (-1, 3)),
        ops.reshape(weights, (-1,)),
        (batch, length, vocab_size),
    )


@keras.saving.register_keras_serializable(package="keras_transformer")
class PointerGenerator(keras.layers.Layer):
    """Mixes the vocabulary distribution with copies of source tokens.

    The pointer-generator of See et al. (2017), on a Transformer: one
    attention head from the decoder states to the encoder output gives
    copy weights ``a`` over the S source positions, and a gate
    ``g = sigmoid(w [h; c] + b)`` (h the decoder state, c the attended
    encoder output) mixes

        p(v) = g * softmax(logits)(v) + (1 - g) * sum_{s: x_s = v} a_s.

    Names, numbers and rare words of the source can then be produced by
    pointing at them, which a model learns much sooner than generating
    them piece by piece. Source and target must share one vocabulary.

    The output is ``log p`` in float32. Its softmax is ``p`` itself, so
    losses (``from_logits=True``, label smoothing included), metrics and
    every decoding search take it where they take logits.

    Args:
        vocab_size: V, the shared vocabulary; source ids must be below it.
        kernel_initializer: initializer of the projections.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Call arguments:
        logits: (B, T, V) vocabulary logits of the decoder.
        states: (B, T, D) decoder output states (the queries).
        memory: (B, S, D) encoder output (keys and attended values).
        source_tokens: (B, S) int source ids.
        source_mask: optional (B, S) boolean, True on real source tokens;
            defaults to ``source_tokens != 0``.
        memory_keys: optional (B, S, D) ``project_memory(memory)``, made
            once per source when decoding step by step.

    Returns:
        (B, T, V) float32 log-probabilities, carrying the mask of
        ``logits``.

    Example:

    >>> pointer = PointerGenerator(vocab_size=100)
    >>> log_probs = pointer(np.zeros((2, 3, 100), "float32"),
    ...                     np.ones((2, 3, 16), "float32"),
    ...                     np.ones((2, 7, 16), "float32"),
    ...                     np.full((2, 7), 5))
    >>> log_probs.shape
    (2, 3, 100)
    """

    def __init__(self, vocab_size, kernel_initializer="glorot_uniform", **kw):
        super().__init__(**kw)
        self.vocab_size = check.positive_int("vocab_size", vocab_size)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True

    def _dense(self, units, name, use_bias=False):
        return keras.layers.Dense(
            units,
            use_bias=use_bias,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(
        self,
        logits_shape,
        states_shape=None,
        memory_shape=None,
        source_tokens_shape=None,
        source_mask_shape=None,
        memory_keys_shape=None,
    ):
        if states_shape is None or memory_shape is None:
            raise ValueError(
                "PointerGenerator is called as pointer(logits, states, "
                "memory, source_tokens)."
            )
        if logits_shape[-1] not in (None, self.vocab_size):
            raise ValueError(
                f"PointerGenerator(vocab_size={self.vocab_size}) received "
                f"logits over {logits_shape[-1]} tokens: build it with the "
                "size of the (shared) vocabulary."
            )
        width = states_shape[-1]
        self.query_dense = self._dense(width, "query")
        self.query_dense.build(states_shape)
        self.key_dense = self._dense(width, "key")
        self.key_dense.build(memory_shape)
        self.gate_dense = self._dense(1, "gate", use_bias=True)
        self.gate_dense.build(
            tuple(states_shape[:-1]) + (width + memory_shape[-1],)
        )

    def project_memory(self, memory):
        """(B, S, D) copy-attention keys of the encoder output."""
        return self.key_dense(memory)

    def copy_attention(
        self,
        states,
        memory,
        source_tokens,
        source_mask=None,
        memory_keys=None,
    ):
        """The copy weights and the generation gate.

        Args:
            states: (B, T, D) decoder output states.
            memory: (B, S, D) encoder output.
            source_tokens: (B, S) int source ids.
            source_mask: optional (B, S) boolean, True on real tokens;
                defaults to ``source_tokens != 0``.
            memory_keys: optional ``project_memory(memory)``.

        Returns:
            ``(weights, gate)``: (B, T, S) float32 copy attention over the
            source positions (rows sum to 1) and (B, T, 1) float32 ``g``, the
            share of generating from the vocabulary (``1 - g`` copies).
        """
        source_tokens = ops.cast(source_tokens, "int32")
        if source_mask is None:
            source_mask = ops.not_equal(source_tokens, 0)
        if memory_keys is None:
            memory_keys = self.project_memory(memory)
        # One head in float32: the copy weights feed float32 probabilities.
        context, weights = scaled_dot_product_attention(
            ops.cast(self.query_dense(states), "float32"),
            ops.cast(memory_keys, "float32"),
            ops.cast(memory, "float32"),
            mask=ops.expand_dims(ops.cast(source_mask, "bool"), 1),
        )
        context = ops.cast(context, states.dtype)
        gate = ops.sigmoid(
            ops.cast(
                self.gate_dense(ops.concatenate([states, context], -1)),
                "float32",
            )
        )
        return weights, gate

    def call(
        self,
        logits,
        states,
        memory,
        source_tokens,
        source_mask=None,
        memory_keys=None,
    ):
        weights, gate = self.copy_attention(
            states, memory, source_tokens, source_mask, memory_keys
        )
        vocabulary = ops.softmax(ops.cast(logits, "float32"), axis=-1)
        copies = scatter_to_vocabulary(weights, source_tokens, self.vocab_size)
        mixed = gate * vocabulary + (1.0 - gate) * copies
        tiny = ops.convert_to_tensor(np.finfo("float32").tiny, "float32")
        return ops.log(ops.maximum(mixed, tiny))

    def compute_mask(self, inputs, previous_mask=None):
        # The mask of ``logits`` (the target padding) rides along.
        return previous_mask

    def compute_output_shape(self, logits_shape, *args, **kwargs):
        return tuple(logits_shape)

    def compute_output_spec(self, logits, *args, **kwargs):
        return keras.KerasTensor(logits.shape, dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            kernel_initializer=keras.initializers.serialize(
                self.kernel_initializer
            ),
        )
        return config
