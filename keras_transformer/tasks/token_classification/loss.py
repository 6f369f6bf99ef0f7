"""Loss and accuracy of per-token tags, with label 0 meaning "ignored".

Token tagging labels every position with ``tag id + 1``; 0 marks the
positions that do not count (padding, BOS/EOS, and the second and later
pieces of a word). The logits have one column per tag, so the labels are
shifted back by one before they are compared with them.
"""

import keras
from keras import ops

from keras_transformer.training.losses import (
    MaskedSparseCategoricalCrossentropy,
    token_cross_entropy,
)
from keras_transformer.training.metrics import MaskedAccuracy


def _tag_ids(y_true):
    """Tag ids of shifted labels (0 for the ignored ones, masked anyway)."""
    return ops.maximum(ops.cast(y_true, "int32") - 1, 0)


@keras.saving.register_keras_serializable(package="keras_transformer")
class TagCrossentropy(MaskedSparseCategoricalCrossentropy):
    """Mean cross-entropy over the labelled tokens (labels = tag id + 1).

    Positions labelled 0 add nothing and are not counted in the mean.

    Args:
        label_smoothing: eps of the label smoothing.
        name: the loss name.

    Example:

    >>> loss = TagCrossentropy()
    >>> float(loss(np.array([[0, 2]]), np.log([[[0.5, 0.5], [0.2, 0.8]]])))
    0.2231...
    """

    def __init__(self, label_smoothing=0.0, name="tag_crossentropy", **kwargs):
        kwargs.pop("pad_id", None)
        super().__init__(
            label_smoothing=label_smoothing, pad_id=0, name=name, **kwargs
        )

    def call(self, y_true, y_pred):
        """Per-token losses (B, T), ignored positions included."""
        return token_cross_entropy(
            _tag_ids(y_true), y_pred, self.label_smoothing
        )


@keras.saving.register_keras_serializable(package="keras_transformer")
class TagAccuracy(MaskedAccuracy):
    """Share of labelled tokens (labels = tag id + 1) tagged right.

    Example:

    >>> model.compile(..., metrics=[TagAccuracy()])
    """

    def __init__(self, name="accuracy", **kwargs):
        kwargs.pop("pad_id", None)
        super().__init__(pad_id=0, name=name, **kwargs)

    def token_values(self, y_true, y_pred):
        return super().token_values(_tag_ids(y_true), y_pred)


__all__ = ["TagAccuracy", "TagCrossentropy"]
