"""Fixed sinusoidal positional encoding (section 3.5)."""

import keras
import numpy as np
from keras import ops

from keras_transformer.layers import validation as check

#: The orders of sines and cosines: the paper's, and Marian's (fairseq's).
LAYOUTS = ("interleaved", "concatenated")


def sinusoidal_encoding(
    positions, depth, max_wavelength=10000.0, layout="interleaved"
):
    """PE(pos, 2i) = sin(pos / w^(2i/D)), PE(pos, 2i+1) = cos(same angle).

    With ``layout="interleaved"`` (the paper), even feature indices hold
    sines and odd ones cosines. With ``"concatenated"`` (Marian, fairseq),
    the same D/2 sines come first and their cosines after them:
    ``[sin(pos * f_0), ..., sin(pos * f_{D/2-1}), cos(pos * f_0), ...]``.

    Args:
        positions: (T,) positions (int or float tensor).
        depth: D, a Python int (even for ``"concatenated"``).
        max_wavelength: w, 10000 in the paper.
        layout: ``"interleaved"`` or ``"concatenated"``.

    Returns:
        A float32 (T, D) tensor.
    """
    positions = ops.expand_dims(ops.cast(positions, "float32"), -1)
    if layout == "concatenated":
        exponents = np.arange(0, depth, 2) / float(depth)
        frequency = np.power(float(max_wavelength), -exponents)
        angles = positions * ops.convert_to_tensor(frequency.astype("float32"))
        return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)
    dims = np.arange(depth)
    inverse_frequency = np.power(
        float(max_wavelength), -(dims - dims % 2) / float(depth)
    ).astype("float32")
    angles = positions * ops.convert_to_tensor(inverse_frequency)
    is_even = ops.convert_to_tensor(dims % 2 == 0)
    return ops.where(is_even, ops.sin(angles), ops.cos(angles))


@keras.saving.register_keras_serializable(package="keras_transformer")
class SinusoidalPositionalEncoding(keras.layers.Layer):
    """The paper's fixed positional encoding, to be added to embeddings.

    Args:
        max_wavelength: the base w of the geometric progression of
            wavelengths (10000 in the paper).
        layout: ``"interleaved"`` (the paper: sine, cosine, sine, ...) or
            ``"concatenated"`` (Marian: all sines, then all cosines).
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

    def __init__(self, max_wavelength=10000, layout="interleaved", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(max_wavelength, (int, float)) or max_wavelength <= 1:
            raise ValueError(
                "`max_wavelength` must be a number greater than 1. "
                f"Received: max_wavelength={max_wavelength!r}"
            )
        self.max_wavelength = max_wavelength
        self.layout = check.one_of("layout", layout, LAYOUTS)
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
        depth = inputs.shape[-1]
        if self.layout == "concatenated" and depth % 2:
            raise ValueError(
                f"Layer '{self.name}' with layout='concatenated' needs an "
                f"even size. Received: inputs.shape={tuple(inputs.shape)}"
            )
        encoding = sinusoidal_encoding(
            positions, depth, self.max_wavelength, self.layout
        )
        return ops.broadcast_to(ops.cast(encoding, self.compute_dtype), shape)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config["max_wavelength"] = self.max_wavelength
        config["layout"] = self.layout
        return config
