"""A decoder-only (GPT-style) causal language model."""

import keras

from keras_transformer.layers import TransformerDecoder
from keras_transformer.models.config import TransformerConfig
from keras_transformer.models.transformer import (
    _embedding,
    _stack_kwargs,
    output_logits,
)


def build_language_model(config: TransformerConfig, name="language_model"):
    """Token embedding + causal decoder stack (no cross-attention) + logits.

    Args:
        config: a ``TransformerConfig`` (``num_decoder_layers`` or
            ``num_layers`` layers; ``tie_embeddings`` ties the output).
        name: the model name.

    Returns:
        A ``keras.Model`` from ``{"tokens": (B, T) int32}`` to float32 logits
        (B, T, V) predicting the next token at every position.

    Example:

    >>> model = build_language_model(TransformerConfig.small(vocab_size=260))
    >>> model({"tokens": np.array([[2, 72, 105]])}).shape
    (1, 3, 260)
    """
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    embedding = _embedding(config, config.vocab_size, "embedding")
    decoder = TransformerDecoder(
        config.decoder_layers, name="decoder", **_stack_kwargs(config)
    )
    states = decoder(embedding(tokens))
    logits = output_logits(config, states, embedding)
    return keras.Model({"tokens": tokens}, logits, name=name)
