"""An encoder-only text classifier."""

import keras

from keras_transformer.layers import TransformerEncoder
from keras_transformer.models.config import TransformerConfig
from keras_transformer.models.transformer import _embedding, _stack_kwargs

POOLINGS = ("mean", "first")


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


def build_classifier(
    config: TransformerConfig, num_classes, pooling="mean", name="classifier"
):
    """Encoder + pooling + dense logits.

    Args:
        config: a ``TransformerConfig`` (decoder fields are unused).
        num_classes: the number of classes.
        pooling: "mean" (masked mean over real tokens) or "first" (the
            state of the first token, which the data pipeline makes a BOS
            "class" token, as BERT's [CLS]).
        name: the model name.

    Returns:
        A ``keras.Model`` from ``{"tokens": (B, T) int32}`` to float32 logits
        (B, num_classes).

    Example:

    >>> model = build_classifier(TransformerConfig.small(vocab_size=500), 2)
    >>> model({"tokens": np.array([[2, 17, 40, 0]])}).shape
    (1, 2)
    """
    if pooling not in POOLINGS:
        raise ValueError(
            f"`pooling` must be one of {list(POOLINGS)}. Received: {pooling!r}"
        )
    if (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, int)
        or (num_classes < 2)
    ):
        raise ValueError(
            f"`num_classes` must be an int >= 2. Received: {num_classes!r}"
        )
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    embedding = _embedding(config, config.vocab_size, "embedding")
    encoder = TransformerEncoder(
        config.num_layers, name="encoder", **_stack_kwargs(config)
    )
    states = encoder(embedding(tokens))
    if pooling == "mean":
        pooled = keras.layers.GlobalAveragePooling1D(name="pooling")(states)
    else:
        pooled = FirstTokenPooling(name="pooling")(states)
    pooled = keras.layers.Dropout(config.dropout, name="pooled_dropout")(pooled)
    logits = keras.layers.Dense(num_classes, dtype="float32", name="logits")(
        pooled
    )
    return keras.Model({"tokens": tokens}, logits, name=name)
