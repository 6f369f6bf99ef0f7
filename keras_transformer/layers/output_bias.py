"""A learned bias added to vocabulary logits (BERT's masked-LM head)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_transformer")
class OutputBias(keras.layers.Layer):
    """Adds a learned (V,) bias to logits over a vocabulary.

    Tied embeddings give logits ``states @ E^T`` without a bias; BERT's
    masked-LM head (and Marian's ``final_logits_bias``) adds one.

    Args:
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: (B, T, V) logits.

    Returns:
        (B, T, V) logits plus the bias.

    Example:

    >>> layer = OutputBias()
    >>> layer(np.zeros((1, 2, 5), "float32")).shape
    (1, 2, 5)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def build(self, inputs_shape):
        self.bias = self.add_weight(
            name="bias",
            shape=(inputs_shape[-1],),
            initializer="zeros",
        )
        self.built = True

    def call(self, inputs):
        return inputs + ops.cast(self.bias, inputs.dtype)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)


__all__ = ["OutputBias"]
