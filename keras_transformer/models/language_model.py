"""A decoder-only (GPT-style) causal language model."""

import keras

from keras_transformer.layers import OutputBias, TransformerDecoder
from keras_transformer.models.base import TransformerModel, as_config
from keras_transformer.models.config import TransformerConfig
from keras_transformer.models.parts import (
    output_logits,
    output_projection,
    stack_kwargs,
    token_embedding,
)


@keras.saving.register_keras_serializable(package="keras_transformer")
class LanguageModel(TransformerModel):
    """Token embedding + causal decoder stack (no cross-attention) + logits.

    Args:
        config: a ``TransformerConfig`` (``num_decoder_layers`` or
            ``num_layers`` layers; ``tie_embeddings`` ties the output).
        name: the model name.

    Call arguments:
        inputs: ``{"tokens": (B, T) int32}``.

    Returns:
        float32 logits (B, T, V) predicting the next token at every
        position.

    Attributes:
        embedding, decoder: the parts.
        output_projection: None when tied.
        output_bias: with ``config.output_bias``; else None.

    Example:

    >>> model = LanguageModel(TransformerConfig.small(vocab_size=260))
    >>> model({"tokens": np.array([[2, 72, 105]])}).shape
    (1, 3, 260)
    """

    def __init__(self, config, name="language_model", **kwargs):
        config = as_config(config)
        tokens = keras.Input((None,), dtype="int32", name="tokens")
        embedding = token_embedding(config, config.vocab_size, "embedding")
        decoder = TransformerDecoder(
            config.decoder_layers, name="decoder", **stack_kwargs(config)
        )
        projection = output_projection(config)
        bias = OutputBias(name="output_bias") if config.output_bias else None
        logits = output_logits(
            decoder(embedding(tokens)), embedding, projection, bias=bias
        )
        super().__init__(
            {"tokens": tokens}, logits, config, name=name, **kwargs
        )
        self.embedding = embedding
        self.decoder = decoder
        self.output_projection = projection
        self.output_bias = bias


def build_language_model(config: TransformerConfig, name="language_model"):
    """The causal ``LanguageModel`` of ``config`` (see the class)."""
    return LanguageModel(config, name=name)
