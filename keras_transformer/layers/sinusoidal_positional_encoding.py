"""Fixed sinusoidal positional encoding (section 3.5)."""

import keras
import numpy as np
from keras import ops

from keras_transformer.layers import validation as check


def sinusoidal_encoding(positions, depth, max_wavelength=10000.0):
    """PE(pos, 2i) = sin(pos / w^(2i/D)), PE(pos, 2i+1) = cos(same angle).

    Sines and cosines are interleaved as in the paper (even feature
    indices hold sines, odd ones cosines).

    Args:
        positions: (T,) positions (int or float tensor).
        depth: D, a Python int.
        max_wavelength: w, 10000 in the paper.

    Returns:
        A float32 (T, D) tensor.
    """
    dims = np.arange(depth)
    inverse_frequency = np.power(
        float(max_wavelength), -(dims - dims % 2) / float(depth)
    ).astype("float32")
    angles = ops.expand_dims(ops.cast(positions, "float32"), -1) * (
        ops.convert_to_tensor(inverse_frequency)
    )
    is_even = ops.convert_to_tensor(dims % 2 == 0)
    return ops.where(is_even, ops.sin(angles), ops.cos(angles))


@keras.saving.register_keras_serializable(package="keras_transformer")
class SinusoidalPositionalEncoding(keras.layers.Layer):
    """The paper's fixed positional encoding, to be added to embeddings.

    Args:
        max_wavelength: the base w of the geometric progression of
            wavelengths (10000 in the paper).
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: (B, T, D) embeddings; only their shape is used.
        start_index: position of the first step (int or scalar tensor),
            for incremental decoding.

    Returns:
        (B, T, D) encodings in the compute dtype, broadcast over the batch.

    Example:

    >>> x = np.zeros((2, 10, 512), "float32")
    >>> x = x + SinusoidalPositionalEncoding()(x)
    """

    def __init__(self, max_wavelength=10000, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(max_wavelength, (int, float)) or max_wavelength <= 1:
            raise ValueError(
                "`max_wavelength` must be a number greater than 1. "
                f"Received: max_wavelength={max_wavelength!r}"
            )
        self.max_wavelength = max_wavelength
        self.supports_masking = True
        self.built = True

    def call(self, inputs, start_index=0):
        check.sequence_shape(
            "inputs", inputs.shape, "SinusoidalPositionalEncoding"
        )
        shape = ops.shape(inputs)
        positions = ops.arange(shape[1], dtype="int32") + ops.cast(
            start_index, "int32"
        )
        encoding = sinusoidal_encoding(
            positions, inputs.shape[-1], self.max_wavelength
        )
        return ops.broadcast_to(ops.cast(encoding, self.compute_dtype), shape)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config["max_wavelength"] = self.max_wavelength
        return config
