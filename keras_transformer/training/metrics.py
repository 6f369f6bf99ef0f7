"""Token-level metrics that ignore padding."""

import keras
from keras import ops

from keras_transformer.training.losses import token_cross_entropy


class MaskedTokenMean(keras.metrics.Metric):
    """Running mean of a per-token value over the non-padding labels."""

    def __init__(self, pad_id=0, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.pad_id = pad_id
        self.total = self.add_variable((), "zeros", name="total")
        self.count = self.add_variable((), "zeros", name="count")

    def token_values(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        weights = ops.cast(ops.not_equal(y_true, self.pad_id), "float32")
        if sample_weight is not None:
            weights = weights * ops.cast(sample_weight, "float32")
        values = ops.cast(self.token_values(y_true, y_pred), "float32")
        self.total.assign_add(ops.sum(values * weights))
        self.count.assign_add(ops.sum(weights))

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def result(self):
        return self.total / ops.maximum(self.count, 1.0)

    def get_config(self):
        return {"name": self.name, "pad_id": self.pad_id}


@keras.saving.register_keras_serializable(package="keras_transformer")
class MaskedAccuracy(MaskedTokenMean):
    """Fraction of non-padding tokens whose argmax prediction is right.

    Example:

    >>> model.compile(..., metrics=[MaskedAccuracy()])
    """

    def __init__(self, pad_id=0, name="accuracy", **kwargs):
        super().__init__(pad_id=pad_id, name=name, **kwargs)

    def token_values(self, y_true, y_pred):
        predicted = ops.argmax(y_pred, axis=-1)
        return ops.equal(
            ops.cast(predicted, "int32"), ops.cast(y_true, "int32")
        )


@keras.saving.register_keras_serializable(package="keras_transformer")
class Perplexity(MaskedTokenMean):
    """exp(mean cross-entropy) over non-padding tokens (no smoothing).

    Example:

    >>> model.compile(..., metrics=[Perplexity()])
    """

    def __init__(self, pad_id=0, name="perplexity", **kwargs):
        super().__init__(pad_id=pad_id, name=name, **kwargs)

    def token_values(self, y_true, y_pred):
        return token_cross_entropy(y_true, y_pred)

    def result(self):
        return ops.exp(super().result())
