"""Builders of the parts every model shares (embeddings, stacks, logits),
and their look-up by name."""

import keras

from keras_transformer.layers import (
    TokenAndPositionEmbedding,
    TransformerEncoder,
)


def token_embedding(config, vocab_size, name, segments=False):
    """Token + position embedding, masking id 0, scaled by sqrt(D) (unless
    ``config.scale_embeddings`` is False); with ``segments``, the config's
    segment embeddings."""
    return TokenAndPositionEmbedding(
        vocab_size,
        config.d_model,
        config.max_length,
        position=config.position,
        mask_zero=True,
        scale_embeddings=config.scale_embeddings,
        dropout=config.dropout,
        num_segments=config.num_segments if segments else 0,
        normalize=config.embedding_norm,
        layer_norm_epsilon=config.layer_norm_epsilon,
        name=name,
    )


def encoder_inputs(config):
    """The inputs of an encoder model: ``tokens`` (B, T), and, with
    ``config.num_segments``, an optional ``segment_ids`` (B, T)."""
    inputs = {"tokens": keras.Input((None,), dtype="int32", name="tokens")}
    if config.num_segments:
        inputs["segment_ids"] = keras.Input(
            (None,), dtype="int32", name="segment_ids", optional=True
        )
    return inputs


def encode(config, inputs):
    """``(embedding, encoder, states)``: an encoder model's embedding and
    ``TransformerEncoder`` applied to ``encoder_inputs``."""
    embedding = token_embedding(
        config, config.vocab_size, "embedding", segments=True
    )
    encoder = TransformerEncoder(
        config.num_layers, name="encoder", **stack_kwargs(config)
    )
    embedded = embedding(
        inputs["tokens"], segment_ids=inputs.get("segment_ids")
    )
    return embedding, encoder, encoder(embedded)


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


def output_logits(states, embedding, projection, name="logits", bias=None):
    """Tied (``embedding`` reversed) or untied logits, in float32, plus
    ``bias`` (an ``OutputBias``) when given."""
    if projection is None:
        logits = embedding(states, reverse=True)
    else:
        logits = projection(states)
    if bias is not None:
        logits = bias(logits)
    # Float32 logits under mixed precision; the padding mask rides along.
    return keras.layers.Activation("linear", dtype="float32", name=name)(logits)


def find_parts(model, names):
    """``[(name, layer)]``: the parts of ``model`` named by ``names``
    (attributes such as ``encoder``, or layer names such as ``pooler``)
    that it has, in the order of ``names``."""
    found = []
    for name in names:
        layer = getattr(model, name, None)
        if layer is None and name in [layer.name for layer in model.layers]:
            layer = model.get_layer(name)
        if isinstance(layer, keras.layers.Layer):
            found.append((name, layer))
    return found
