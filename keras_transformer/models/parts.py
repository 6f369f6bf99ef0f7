"""Builders of the parts every model shares: embeddings, stacks, logits."""

import keras

from keras_transformer.layers import TokenAndPositionEmbedding


def token_embedding(config, vocab_size, name):
    """Token + position embedding, masking id 0, scaled by sqrt(D)."""
    return TokenAndPositionEmbedding(
        vocab_size,
        config.d_model,
        config.max_length,
        position=config.position,
        mask_zero=True,
        dropout=config.dropout,
        name=name,
    )


def stack_kwargs(config):
    """Keyword arguments of ``TransformerEncoder``/``TransformerDecoder``."""
    return dict(
        num_heads=config.num_heads,
        ff_dim=config.ff_dim,
        dropout=config.dropout,
        activation=config.activation,
        norm_first=config.norm_first,
        layer_norm_epsilon=config.layer_norm_epsilon,
        attention_dropout=config.attention_dropout,
        activation_dropout=config.activation_dropout,
    )


def output_projection(config):
    """The untied pre-softmax projection, or None when tied."""
    if config.tie_embeddings:
        return None
    return keras.layers.Dense(
        config.output_vocab_size, name="output_projection"
    )


def output_logits(states, embedding, projection, name="logits"):
    """Tied (``embedding`` reversed) or untied logits, in float32."""
    if projection is None:
        logits = embedding(states, reverse=True)
    else:
        logits = projection(states)
    # Float32 logits under mixed precision; the padding mask rides along.
    return keras.layers.Activation("linear", dtype="float32", name=name)(logits)
