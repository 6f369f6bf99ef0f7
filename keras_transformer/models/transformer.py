"""The encoder-decoder Transformer (figure 1), built with the functional API."""

import keras

from keras_transformer.layers import (
    OutputBias,
    PointerGenerator,
    TransformerDecoder,
    TransformerEncoder,
)
from keras_transformer.models.base import TransformerModel, as_config
from keras_transformer.models.config import TransformerConfig
from keras_transformer.models.parts import (
    output_logits,
    output_projection,
    stack_kwargs,
    token_embedding,
)


@keras.saving.register_keras_serializable(package="keras_transformer")
class Transformer(TransformerModel):
    """The encoder-decoder Transformer of the paper, as a functional model.

    Token id 0 is padding: the embeddings produce Keras implicit masks that
    the encoder, the decoder's self-attention and its cross-attention
    honour.

    Args:
        config: a ``TransformerConfig`` (or its dict). With
            ``target_vocab_size=None`` and ``tie_embeddings=True``, one
            matrix serves the source embedding, the target embedding and
            the output projection (section 3.4).
        name: the model name.

    Call arguments:
        inputs: ``{"source_tokens": (B, S) int32, "target_tokens": (B, T)
            int32}``; the target tokens are the decoder inputs (shifted
            right, starting with BOS).

    Returns:
        float32 logits (B, T, V_target) of the next tokens; with
        ``config.copy_source``, log-probabilities of the mixture of
        generating and copying (``PointerGenerator``), which every loss
        and search takes as logits.

    Attributes:
        source_embedding, target_embedding: ``TokenAndPositionEmbedding``
            layers (the same layer when the vocabulary is shared and tied).
        encoder: the ``TransformerEncoder``; decoder: the
            ``TransformerDecoder``.
        output_projection: the untied ``Dense`` projection, or None when
            the logits come from ``target_embedding(states, reverse=True)``.
        output_bias: the ``OutputBias`` added to the vocabulary logits
            (``config.output_bias``: Marian's ``final_logits_bias``), or
            None.
        pointer_generator: the ``PointerGenerator``, or None without
            ``config.copy_source``.

    Example:

    >>> model = Transformer(TransformerConfig.small(vocab_size=1000))
    >>> logits = model({"source_tokens": np.array([[5, 6, 7, 3]]),
    ...                 "target_tokens": np.array([[2, 9, 4]])})
    >>> logits.shape
    (1, 3, 1000)
    """

    def __init__(self, config, name="transformer", **kwargs):
        config = as_config(config)
        source_tokens = keras.Input(
            (None,), dtype="int32", name="source_tokens"
        )
        target_tokens = keras.Input(
            (None,), dtype="int32", name="target_tokens"
        )
        source_embedding, target_embedding = _embeddings(config)
        encoder = TransformerEncoder(
            config.num_layers, name="encoder", **stack_kwargs(config)
        )
        decoder = TransformerDecoder(
            config.decoder_layers, name="decoder", **stack_kwargs(config)
        )
        projection = output_projection(config)
        bias = OutputBias(name="output_bias") if config.output_bias else None
        memory = encoder(source_embedding(source_tokens))
        states = decoder(target_embedding(target_tokens), memory)
        pointer = None
        if config.copy_source:
            pointer = PointerGenerator(
                config.vocab_size, name="pointer_generator"
            )
            logits = output_logits(
                states,
                target_embedding,
                projection,
                "vocabulary_logits",
                bias=bias,
            )
            logits = keras.layers.Activation(
                "linear", dtype="float32", name="logits"
            )(pointer(logits, states, memory, source_tokens))
        else:
            logits = output_logits(
                states, target_embedding, projection, bias=bias
            )
        super().__init__(
            {"source_tokens": source_tokens, "target_tokens": target_tokens},
            logits,
            config,
            name=name,
            **kwargs,
        )
        self.source_embedding = source_embedding
        self.target_embedding = target_embedding
        self.encoder = encoder
        self.decoder = decoder
        self.output_projection = projection
        self.output_bias = bias
        self.pointer_generator = pointer


def _embeddings(config):
    """The source and target token embeddings: one layer, ``embedding``,
    for a shared vocabulary with tied embeddings, else two."""
    if config.shared_vocabulary and config.tie_embeddings:
        embedding = token_embedding(config, config.vocab_size, "embedding")
        return embedding, embedding
    return (
        token_embedding(config, config.vocab_size, "source_embedding"),
        token_embedding(config, config.output_vocab_size, "target_embedding"),
    )


def build_transformer(config: TransformerConfig, name="transformer"):
    """The encoder-decoder ``Transformer`` of ``config`` (see the class)."""
    return Transformer(config, name=name)
