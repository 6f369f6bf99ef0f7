"""A stack of Transformer encoder layers."""

import keras

from keras_transformer.layers import masking
from keras_transformer.layers import validation as check
from keras_transformer.layers.transformer_block import TransformerBlock
from keras_transformer.layers.transformer_encoder_layer import (
    TransformerEncoderLayer,
)


@keras.saving.register_keras_serializable(package="keras_transformer")
class TransformerEncoder(TransformerBlock):
    """``num_layers`` encoder layers, plus a final LayerNorm for pre-LN.

    The other arguments are those of ``TransformerEncoderLayer``; every
    layer gets them.

    Args:
        num_layers: number of layers (6 in the paper).

    Call arguments:
        inputs: (B, S, D) embedded source sequence.
        padding_mask: (B, S) True on real tokens; defaults to the implicit
            mask of ``inputs``.
        attention_mask: (B, S, S) or (S, S), True = may attend.
        return_attention_scores: also return the list of per-layer
            (B, N, S, S) weights.
        training: whether dropout is active.

    Returns:
        (B, S, D) outputs, and the list of scores when requested.

    Example:

    >>> encoder = TransformerEncoder(num_layers=6, num_heads=8, ff_dim=2048)
    >>> encoder(np.random.rand(2, 10, 512).astype("float32")).shape
    (2, 10, 512)
    """

    def __init__(self, num_layers, num_heads, ff_dim, **kwargs):
        super().__init__(num_heads, ff_dim, **kwargs)
        self.num_layers = check.positive_int("num_layers", num_layers)

    def build(self, inputs_shape):
        inputs_shape = check.sequence_shape(
            "inputs", inputs_shape, f"TransformerEncoder '{self.name}'"
        )
        block_config = self._layer_config()
        self.encoder_layers = []
        for index in range(self.num_layers):
            layer = TransformerEncoderLayer(
                **block_config, dtype=self.dtype_policy, name=f"layer_{index}"
            )
            layer.build(inputs_shape)
            self.encoder_layers.append(layer)
        self._build_final_norm(inputs_shape)
        self.built = True

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        mask=None,
        inputs_mask=None,
    ):
        padding_mask = masking.first_given(padding_mask, mask, inputs_mask)
        x = inputs
        all_scores = []
        for layer in self.encoder_layers:
            x = layer(
                x,
                padding_mask=padding_mask,
                attention_mask=attention_mask,
                return_attention_scores=return_attention_scores,
                training=training,
            )
            if return_attention_scores:
                x, scores = x
                all_scores.append(scores)
        if self.final_norm is not None:
            x = self.final_norm(x)
        return (x, all_scores) if return_attention_scores else x

    def get_config(self):
        config = super().get_config()
        config["num_layers"] = self.num_layers
        return config
