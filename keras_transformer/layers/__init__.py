"""Transformer layers, written with ``keras.ops`` only."""

from keras_transformer.layers.attention import scaled_dot_product_attention
from keras_transformer.layers.feed_forward import PositionwiseFeedForward
from keras_transformer.layers.masking import causal_mask, padding_mask
from keras_transformer.layers.multi_head_attention import MultiHeadAttention
from keras_transformer.layers.output_bias import OutputBias
from keras_transformer.layers.pointer_generator import PointerGenerator
from keras_transformer.layers.position_embedding import PositionalEmbedding
from keras_transformer.layers.sinusoidal_positional_encoding import (
    SinusoidalPositionalEncoding,
    sinusoidal_encoding,
)
from keras_transformer.layers.token_and_position_embedding import (
    TokenAndPositionEmbedding,
)
from keras_transformer.layers.transformer_decoder import TransformerDecoder
from keras_transformer.layers.transformer_decoder_layer import (
    TransformerDecoderLayer,
)
from keras_transformer.layers.transformer_encoder import TransformerEncoder
from keras_transformer.layers.transformer_encoder_layer import (
    TransformerEncoderLayer,
)

__all__ = [
    "MultiHeadAttention",
    "OutputBias",
    "PointerGenerator",
    "PositionalEmbedding",
    "PositionwiseFeedForward",
    "SinusoidalPositionalEncoding",
    "TokenAndPositionEmbedding",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "causal_mask",
    "padding_mask",
    "scaled_dot_product_attention",
    "sinusoidal_encoding",
]
