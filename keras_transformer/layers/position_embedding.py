"""Learned absolute position embeddings."""

import keras
from keras import ops

from keras_transformer.layers import validation as check


@keras.saving.register_keras_serializable(package="keras_transformer")
class PositionalEmbedding(keras.layers.Layer):
    """A trainable (L, D) table of position vectors, to add to embeddings.

    The paper (section 3.5) found learned positions to perform nearly as
    well as the sinusoidal ones; unlike those, they cannot go past
    ``max_length``.

    Args:
        max_length: L, the number of positions.
        initializer: initializer of the table.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: (B, T, D) embeddings; only their shape is used.
        start_index: position of the first step (int or scalar tensor).

    Returns:
        (B, T, D) position embeddings in the compute dtype.

    Example:

    >>> x = np.zeros((2, 10, 64), "float32")
    >>> x = x + PositionalEmbedding(max_length=128)(x)
    """

    def __init__(self, max_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.max_length = check.positive_int("max_length", max_length)
        self.initializer = keras.initializers.get(initializer)
        self.supports_masking = True

    def build(self, inputs_shape):
        check.sequence_shape("inputs", inputs_shape, "PositionalEmbedding")
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.max_length, inputs_shape[-1]),
            initializer=self.initializer,
        )
        self.built = True

    def call(self, inputs, start_index=0):
        length = inputs.shape[1]
        if isinstance(length, int) and isinstance(start_index, int):
            if start_index + length > self.max_length:
                raise ValueError(
                    f"Layer '{self.name}' has {self.max_length} positions "
                    f"but received positions {start_index}.."
                    f"{start_index + length - 1}. Increase `max_length` or "
                    "truncate the inputs."
                )
        shape = ops.shape(inputs)
        table = ops.slice(
            ops.convert_to_tensor(self.embeddings),
            (start_index, 0),
            (shape[1], shape[2]),
        )
        return ops.broadcast_to(ops.cast(table, self.compute_dtype), shape)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "max_length": self.max_length,
                "initializer": keras.initializers.serialize(self.initializer),
            }
        )
        return config
