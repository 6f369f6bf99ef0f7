"""Cross-entropy of answer start and end positions."""

import keras
from keras import ops

from keras_transformer.training.losses import token_cross_entropy


@keras.saving.register_keras_serializable(package="keras_transformer")
class SpanCrossEntropy(keras.losses.Loss):
    """Mean of the start and end cross-entropies over the positions.

    Args:
        name: the loss name.

    Call arguments:
        y_true: (B, 2) int positions (start, end).
        y_pred: (B, T, 2) logits (start, end) over the T positions.

    Returns:
        The mean loss over the batch (per example before reduction).

    Example:

    >>> SpanCrossEntropy()(np.array([[1, 2]]), np.zeros((1, 4, 2)))
    1.3862944  # log 4
    """

    def __init__(self, name="span_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        # (B, 2, T): the positions' logits, start then end.
        logits = ops.transpose(ops.cast(y_pred, "float32"), (0, 2, 1))
        losses = token_cross_entropy(ops.cast(y_true, "int32"), logits)
        return ops.mean(losses, axis=-1)


@keras.saving.register_keras_serializable(package="keras_transformer")
class SpanAccuracy(keras.metrics.MeanMetricWrapper):
    """Share of windows whose start and end are both predicted right.

    Example:

    >>> metric = SpanAccuracy()
    >>> metric.update_state(np.array([[1, 2]]), np.zeros((1, 4, 2)))
    """

    def __init__(self, name="span_accuracy", dtype=None):
        super().__init__(_span_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def _span_accuracy(y_true, y_pred):
    predicted = ops.argmax(ops.cast(y_pred, "float32"), axis=1)  # (B, 2)
    right = ops.equal(ops.cast(predicted, "int32"), ops.cast(y_true, "int32"))
    return ops.cast(ops.all(right, axis=-1), "float32")


__all__ = ["SpanAccuracy", "SpanCrossEntropy"]
