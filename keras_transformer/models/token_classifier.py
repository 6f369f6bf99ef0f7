"""An encoder with a per-token tag head (named-entity recognition)."""

import keras

from keras_transformer.models.base import TransformerModel, as_config
from keras_transformer.models.parts import encode, encoder_inputs


@keras.saving.register_keras_serializable(package="keras_transformer")
class TokenClassifier(TransformerModel):
    """Encoder + dense logits at every position: a token tagger.

    The embedding and encoder are built as in ``MaskedLanguageModel`` and
    ``Classifier``, so ``model.init_from`` can copy them from a masked-LM
    run.

    Args:
        config: a ``TransformerConfig`` (decoder fields are unused).
        num_tags: the number of tags (C).
        name: the model name.

    Call arguments:
        inputs: ``{"tokens": (B, T) int32}``, 0 = padding; with
            ``config.num_segments``, optionally ``"segment_ids"`` (B, T).

    Returns:
        float32 logits (B, T, C).

    Attributes:
        embedding, encoder: the encoder's parts; head: the task's layer.

    Example:

    >>> model = TokenClassifier(TransformerConfig.small(vocab_size=500), 5)
    >>> model({"tokens": np.array([[2, 17, 40, 3, 0]])}).shape
    (1, 5, 5)
    """

    def __init__(self, config, num_tags, name="token_classifier", **kwargs):
        config = as_config(config)
        if (
            isinstance(num_tags, bool)
            or not isinstance(num_tags, int)
            or num_tags < 1
        ):
            raise ValueError(
                f"`num_tags` must be an int >= 1. Received: {num_tags!r}"
            )
        inputs = encoder_inputs(config)
        embedding, encoder, states = encode(config, inputs)
        dropout = keras.layers.Dropout(config.dropout, name="tag_dropout")
        head = keras.layers.Dense(num_tags, dtype="float32", name="logits")
        logits = head(dropout(states))
        super().__init__(
            inputs,
            logits,
            config,
            {"num_tags": num_tags},
            name=name,
            **kwargs,
        )
        self.embedding = embedding
        self.encoder = encoder
        self.head = head


__all__ = ["TokenClassifier"]
