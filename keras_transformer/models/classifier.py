"""An encoder-only text classifier."""

import keras

from keras_transformer.models.base import TransformerModel, as_config
from keras_transformer.models.config import TransformerConfig
from keras_transformer.models.parts import encode, encoder_inputs

POOLINGS = ("mean", "first", "pooler")


@keras.saving.register_keras_serializable(package="keras_transformer")
class FirstTokenPooling(keras.layers.Layer):
    """Takes the state of the first position (a BOS / class token).

    Call arguments:
        inputs: (B, T, D) states.

    Returns:
        (B, D) states of position 0.
    """

    def call(self, inputs, mask=None):
        return inputs[:, 0]

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, inputs_shape):
        return (inputs_shape[0], inputs_shape[-1])


@keras.saving.register_keras_serializable(package="keras_transformer")
class Classifier(TransformerModel):
    """Encoder + pooling + dense logits: a text classifier.

    Args:
        config: a ``TransformerConfig`` (decoder fields are unused).
        num_classes: the number of classes.
        pooling: "mean" (masked mean over real tokens), "first" (the
            state of the first token, which the data pipeline makes a BOS
            "class" token, as BERT's [CLS]) or "pooler" (BERT's: the first
            token's state through a dense layer of size D with tanh).
        name: the model name.

    Call arguments:
        inputs: ``{"tokens": (B, T) int32}``, 0 = padding; with
            ``config.num_segments``, optionally ``"segment_ids"`` (B, T).

    Returns:
        float32 logits (B, num_classes).

    Attributes:
        embedding, encoder: the encoder's parts (``init_from`` copies them
            from a pretrained run); pooling, head: the task's layers.

    Example:

    >>> model = Classifier(TransformerConfig.small(vocab_size=500), 2)
    >>> model({"tokens": np.array([[2, 17, 40, 0]])}).shape
    (1, 2)
    """

    def __init__(
        self, config, num_classes, pooling="mean", name="classifier", **kwargs
    ):
        config = as_config(config)
        if pooling not in POOLINGS:
            raise ValueError(
                f"`pooling` must be one of {list(POOLINGS)}. Received: "
                f"{pooling!r}"
            )
        if (
            isinstance(num_classes, bool)
            or not isinstance(num_classes, int)
            or (num_classes < 2)
        ):
            raise ValueError(
                f"`num_classes` must be an int >= 2. Received: {num_classes!r}"
            )
        inputs = encoder_inputs(config)
        embedding, encoder, states = encode(config, inputs)
        pooled, pool = _pool(pooling, config, states)
        dropout = keras.layers.Dropout(config.dropout, name="pooled_dropout")
        head = keras.layers.Dense(num_classes, dtype="float32", name="logits")
        logits = head(dropout(pooled))
        super().__init__(
            inputs,
            logits,
            config,
            {"num_classes": num_classes, "pooling": pooling},
            name=name,
            **kwargs,
        )
        self.embedding = embedding
        self.encoder = encoder
        self.pooling = pool
        self.head = head


def _pool(pooling, config, states):
    """``(pooled states (B, D), the pooling layer)``."""
    if pooling == "mean":
        pool = keras.layers.GlobalAveragePooling1D(name="pooling")
        return pool(states), pool
    pool = FirstTokenPooling(name="pooling")
    pooled = pool(states)
    if pooling == "pooler":
        pooled = keras.layers.Dense(
            config.d_model, activation="tanh", name="pooler"
        )(pooled)
    return pooled, pool


def build_classifier(
    config: TransformerConfig, num_classes, pooling="mean", name="classifier"
):
    """The ``Classifier`` of ``config`` (see the class)."""
    return Classifier(config, num_classes, pooling=pooling, name=name)
