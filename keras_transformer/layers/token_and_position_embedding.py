"""Token embeddings scaled by sqrt(D) plus positions (sections 3.4, 3.5),
and the switches of published checkpoints (segments, a LayerNorm)."""

import math

import keras
from keras import ops

from keras_transformer.layers import validation as check
from keras_transformer.layers.multi_head_attention import clone_initializer
from keras_transformer.layers.position_embedding import PositionalEmbedding
from keras_transformer.layers.sinusoidal_positional_encoding import (
    SinusoidalPositionalEncoding,
)

#: ``position`` values: the paper's sinusoids, Marian's (sines, then
#: cosines: ``SinusoidalPositionalEncoding(layout="concatenated")``), and
#: a learned table.
POSITIONS = ("sinusoidal", "sinusoidal_concatenated", "learned")


@keras.saving.register_keras_serializable(package="keras_transformer")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Embeds token ids, scales them by sqrt(D), adds positions, dropout.

    For BERT-family checkpoints: ``scale_embeddings=False``, segment (token
    type) embeddings added for a ``segment_ids`` input (``num_segments``),
    and a LayerNorm of the sum (``normalize``) before the dropout.

    The same instance can turn decoder states back into vocabulary logits
    with its own embedding matrix (``reverse=True``): this is the weight
    tying of section 3.4 ("we share the same weight matrix between the two
    embedding layers and the pre-softmax linear transformation").

    Args:
        vocab_size: V, the vocabulary size.
        d_model: D, the embedding size.
        max_length: L, the longest sequence (the size of the learned
            position table; sinusoidal positions are not limited by it).
        position: "sinusoidal" (the paper's), "sinusoidal_concatenated"
            (Marian's: the same sines, then the cosines) or "learned".
        mask_zero: token id 0 is padding; the output carries a Keras
            implicit mask that downstream layers honour.
        scale_embeddings: multiply token embeddings by sqrt(D).
        dropout: dropout on the sum of embeddings and positions (section
            5.4), training only.
        embeddings_initializer: defaults to a normal with standard deviation
            D^-0.5, so that the scaled embeddings have unit variance.
        max_wavelength: base of the sinusoidal wavelengths.
        num_segments: the number of segment types (0: no segment
            embeddings).
        normalize: a LayerNorm of the summed embeddings.
        layer_norm_epsilon: its epsilon.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: (B, T) integer token ids, or (B, T, D) states when
            ``reverse=True``.
        segment_ids: (B, T) integer segment ids (with ``num_segments``;
            None: every token in segment 0).
        start_index: position of the first token (incremental decoding).
        reverse: compute logits ``inputs @ E^T`` with the embedding matrix.
        training: whether dropout is active.

    Returns:
        (B, T, D) embeddings, or (B, T, V) logits when ``reverse=True``.

    Example:

    >>> embed = TokenAndPositionEmbedding(1000, 64, max_length=128)
    >>> tokens = np.array([[5, 8, 2, 0]])
    >>> x = embed(tokens)                  # (1, 4, 64), masked at index 3
    >>> logits = embed(x, reverse=True)    # (1, 4, 1000), tied weights
    """

    def __init__(
        self,
        vocab_size,
        d_model,
        max_length,
        position="sinusoidal",
        mask_zero=True,
        scale_embeddings=True,
        dropout=0.0,
        embeddings_initializer=None,
        max_wavelength=10000,
        num_segments=0,
        normalize=False,
        layer_norm_epsilon=1e-6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = check.positive_int("vocab_size", vocab_size)
        self.d_model = check.positive_int("d_model", d_model)
        self.max_length = check.positive_int("max_length", max_length)
        self.position = check.one_of("position", position, POSITIONS)
        self.mask_zero = bool(mask_zero)
        self.scale_embeddings = bool(scale_embeddings)
        self.dropout = check.rate("dropout", dropout)
        if embeddings_initializer is None:
            embeddings_initializer = keras.initializers.RandomNormal(
                stddev=d_model**-0.5
            )
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer
        )
        self.max_wavelength = max_wavelength
        self.num_segments = check.non_negative_int("num_segments", num_segments)
        self.normalize = bool(normalize)
        self.layer_norm_epsilon = layer_norm_epsilon
        self.supports_masking = True

    def build(self, inputs_shape=None):
        self.token_embedding = keras.layers.Embedding(
            self.vocab_size,
            self.d_model,
            embeddings_initializer=self.embeddings_initializer,
            mask_zero=self.mask_zero,
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.token_embedding.build()
        if self.position == "learned":
            self.position_embedding = PositionalEmbedding(
                self.max_length,
                dtype=self.dtype_policy,
                name="position_embedding",
            )
            self.position_embedding.build((None, None, self.d_model))
        else:
            self.position_embedding = SinusoidalPositionalEncoding(
                self.max_wavelength,
                layout="concatenated"
                if self.position == "sinusoidal_concatenated"
                else "interleaved",
                dtype=self.dtype_policy,
                name="position_embedding",
            )
        self.segment_embedding = None
        if self.num_segments:
            self.segment_embedding = keras.layers.Embedding(
                self.num_segments,
                self.d_model,
                embeddings_initializer=clone_initializer(
                    self.embeddings_initializer
                ),
                dtype=self.dtype_policy,
                name="segment_embedding",
            )
            self.segment_embedding.build()
        self.embeddings_norm = None
        if self.normalize:
            self.embeddings_norm = keras.layers.LayerNormalization(
                epsilon=self.layer_norm_epsilon,
                dtype=self.dtype_policy,
                name="embeddings_norm",
            )
            self.embeddings_norm.build((None, None, self.d_model))
        self.embeddings_dropout = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="embeddings_dropout"
        )
        self.built = True

    @property
    def embeddings(self):
        """The (V, D) token embedding matrix."""
        return self.token_embedding.embeddings

    def logits_kernel(self, dtype=None):
        """The (D, V) kernel of ``reverse=True``: the embedding matrix
        transposed, in ``dtype`` (default: the compute dtype).

        A decoding loop makes it once (``logits = states @ kernel``) instead
        of transposing the matrix at every step. After ``quantize("int8")``
        it is the int8 matrix divided by its per-row scales, as the lookup
        reads it.

        Raises:
            ValueError: the embedding is quantized otherwise than int8.
        """
        dtype = dtype or self.compute_dtype
        layer = self.token_embedding
        kernel = ops.cast(layer.embeddings, dtype)
        mode = layer.quantization_mode
        if mode == "int8":
            scale = ops.cast(layer.embeddings_scale, dtype)
            kernel = kernel / ops.expand_dims(scale, -1)
        elif mode is not None:
            raise ValueError(
                f"Layer '{self.name}': tied logits (reverse=True) support "
                f"int8 quantization only, not {mode!r}; quantize with "
                "'int8' or untie the output (tie_embeddings=False)."
            )
        return ops.transpose(kernel)

    def call(
        self,
        inputs,
        segment_ids=None,
        start_index=0,
        reverse=False,
        training=None,
    ):
        if reverse:
            if inputs.shape[-1] != self.d_model:
                raise ValueError(
                    f"Layer '{self.name}' with reverse=True expects states "
                    f"of size d_model={self.d_model}. Received: "
                    f"inputs.shape={tuple(inputs.shape)}"
                )
            return ops.matmul(inputs, self.logits_kernel(inputs.dtype))
        if len(inputs.shape) != 2:
            raise ValueError(
                f"Layer '{self.name}' expects (batch, length) token ids. "
                f"Received: inputs.shape={tuple(inputs.shape)}"
            )
        embedded = self.token_embedding(inputs)
        if self.scale_embeddings:
            embedded = embedded * ops.cast(
                math.sqrt(self.d_model), embedded.dtype
            )
        embedded = embedded + self.position_embedding(
            embedded, start_index=start_index
        )
        if self.segment_embedding is not None:
            embedded = embedded + self._segments(inputs, segment_ids)
        if self.embeddings_norm is not None:
            embedded = self.embeddings_norm(embedded)
        return self.embeddings_dropout(embedded, training=training)

    def _segments(self, inputs, segment_ids):
        """(B, T, D) segment embeddings; segment 0 where ``segment_ids``
        is None."""
        if segment_ids is None:
            segment_ids = ops.zeros_like(inputs)
        return self.segment_embedding(segment_ids)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero or not keras.backend.is_int_dtype(inputs.dtype):
            return mask
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, inputs_shape, reverse=False):
        if reverse:
            return tuple(inputs_shape[:-1]) + (self.vocab_size,)
        return tuple(inputs_shape) + (self.d_model,)

    def compute_output_spec(
        self,
        inputs,
        segment_ids=None,
        start_index=0,
        reverse=False,
        training=None,
    ):
        # From the shapes, not by tracing `call`: under JAX a traced slice of
        # the learned position table cannot be checked against a symbolic
        # length. Tied logits come in the dtype of the states.
        shape = self.compute_output_shape(inputs.shape, reverse=reverse)
        dtype = inputs.dtype if reverse else self.compute_dtype
        return keras.KerasTensor(shape, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocab_size": self.vocab_size,
                "d_model": self.d_model,
                "max_length": self.max_length,
                "position": self.position,
                "mask_zero": self.mask_zero,
                "scale_embeddings": self.scale_embeddings,
                "dropout": self.dropout,
                "embeddings_initializer": keras.initializers.serialize(
                    self.embeddings_initializer
                ),
                "max_wavelength": self.max_wavelength,
                "num_segments": self.num_segments,
                "normalize": self.normalize,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
