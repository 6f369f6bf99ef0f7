"""The encoder-decoder Transformer (figure 1), built with the functional API."""

import collections

import keras

from keras_transformer.layers import (
    TokenAndPositionEmbedding,
    TransformerDecoder,
    TransformerEncoder,
)
from keras_transformer.models.config import TransformerConfig

TransformerParts = collections.namedtuple(
    "TransformerParts",
    [
        "source_embedding",
        "target_embedding",
        "encoder",
        "decoder",
        "output_projection",
    ],
)
TransformerParts.__doc__ = """The layers of a built Transformer, for decoding.

``output_projection`` is None when the output logits come from the tied
target embedding (``target_embedding(states, reverse=True)``).
"""


def _embedding(config, vocab_size, name):
    return TokenAndPositionEmbedding(
        vocab_size,
        config.d_model,
        config.max_length,
        position=config.position,
        mask_zero=True,
        dropout=config.dropout,
        name=name,
    )


def _stack_kwargs(config):
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


def output_logits(config, states, embedding, name="logits"):
    """Tied (``embedding`` reversed) or untied output logits, in float32."""
    if config.tie_embeddings:
        logits = embedding(states, reverse=True)
    else:
        logits = keras.layers.Dense(
            config.output_vocab_size, name="output_projection"
        )(states)
    # Float32 logits under mixed precision; the padding mask rides along.
    return keras.layers.Activation("linear", dtype="float32", name=name)(logits)


def build_transformer(config: TransformerConfig, name="transformer"):
    """Builds the encoder-decoder Transformer of the paper.

    Token id 0 is padding: the embeddings produce Keras implicit masks that
    the encoder, the decoder's self-attention and its cross-attention
    honour.

    Args:
        config: a ``TransformerConfig``. With ``target_vocab_size=None`` and
            ``tie_embeddings=True``, one matrix serves the source embedding,
            the target embedding and the output projection (section 3.4).
        name: the model name.

    Returns:
        A ``keras.Model`` with inputs ``{"source_tokens": (B, S) int32,
        "target_tokens": (B, T) int32}`` and float32 logits (B, T, V_target).
        The target tokens are the decoder inputs (shifted right, starting
        with BOS); the labels are the next tokens.

    Example:

    >>> model = build_transformer(TransformerConfig.small(vocab_size=1000))
    >>> logits = model({"source_tokens": np.array([[5, 6, 7, 3]]),
    ...                 "target_tokens": np.array([[2, 9, 4]])})
    >>> logits.shape
    (1, 3, 1000)
    """
    source_tokens = keras.Input((None,), dtype="int32", name="source_tokens")
    target_tokens = keras.Input((None,), dtype="int32", name="target_tokens")
    if config.shared_vocabulary and config.tie_embeddings:
        source_embedding = _embedding(config, config.vocab_size, "embedding")
        target_embedding = source_embedding
    else:
        source_embedding = _embedding(
            config, config.vocab_size, "source_embedding"
        )
        target_embedding = _embedding(
            config, config.output_vocab_size, "target_embedding"
        )
    encoder = TransformerEncoder(
        config.num_layers, name="encoder", **_stack_kwargs(config)
    )
    decoder = TransformerDecoder(
        config.decoder_layers, name="decoder", **_stack_kwargs(config)
    )
    memory = encoder(source_embedding(source_tokens))
    states = decoder(target_embedding(target_tokens), memory)
    logits = output_logits(config, states, target_embedding)
    return keras.Model(
        {"source_tokens": source_tokens, "target_tokens": target_tokens},
        logits,
        name=name,
    )


def transformer_parts(model):
    """The layers of a model made by ``build_transformer``.

    Args:
        model: the model (also after ``keras.saving.load_model``).

    Returns:
        A ``TransformerParts`` namedtuple.
    """
    names = {layer.name: layer for layer in model.layers}
    if "embedding" in names:
        source_embedding = target_embedding = names["embedding"]
    else:
        source_embedding = names["source_embedding"]
        target_embedding = names["target_embedding"]
    return TransformerParts(
        source_embedding=source_embedding,
        target_embedding=target_embedding,
        encoder=names["encoder"],
        decoder=names["decoder"],
        output_projection=names.get("output_projection"),
    )
