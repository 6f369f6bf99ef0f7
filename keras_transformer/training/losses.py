"""Masked, label-smoothed sequence cross-entropy (section 5.4)."""

import keras
from keras import ops


def token_cross_entropy(labels, logits, label_smoothing=0.0):
    """Per-token cross-entropy with uniform label smoothing, in float32.

    ``(1 - eps) * -log p(y) + eps * mean_v(-log p(v))``: the target
    distribution puts ``1 - eps`` on the label and spreads ``eps`` uniformly
    over the vocabulary. Computed from ``log_softmax``, so no ``log(0)``.

    Args:
        labels: (...) integer labels.
        logits: (..., V) logits.
        label_smoothing: eps.

    Returns:
        (...) float32 losses.
    """
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    labels = ops.cast(labels, "int32")
    nll = -ops.squeeze(
        ops.take_along_axis(log_probs, ops.expand_dims(labels, -1), axis=-1),
        -1,
    )
    if not label_smoothing:
        return nll
    smooth = -ops.mean(log_probs, axis=-1)
    return (1.0 - label_smoothing) * nll + label_smoothing * smooth


def _scale_for_replicas(loss):
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            loss = loss / replicas
    return loss


@keras.saving.register_keras_serializable(package="keras_transformer")
class MaskedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Mean token cross-entropy over the non-padding labels of a batch.

    Padding labels (``pad_id``) are ignored, and the mean is taken over the
    real tokens of the batch, so the value does not change when sequences
    are padded further. Padding is read from the labels alone: a Keras
    implicit mask on the predictions does not weight the loss again.
    Numerically safe in float16/bfloat16 (computed in float32 from
    ``log_softmax``). Under a ``tf.distribute`` strategy the value is
    divided by the number of replicas, as Keras does for mean losses, so
    the summed gradients are those of the global mean.

    Args:
        label_smoothing: eps of the label smoothing (0.1 in the paper).
        pad_id: the label id to ignore.
        name: the loss name.

    Example:

    >>> loss = MaskedSparseCategoricalCrossentropy(label_smoothing=0.1)
    >>> model.compile(optimizer="adam", loss=loss)
    """

    def __init__(
        self,
        label_smoothing=0.1,
        pad_id=0,
        name="masked_sparse_categorical_crossentropy",
        **kwargs,
    ):
        kwargs.setdefault("reduction", "sum_over_batch_size")
        super().__init__(name=name, **kwargs)
        if not isinstance(label_smoothing, (int, float)) or not (
            0 <= label_smoothing < 1
        ):
            raise ValueError(
                "`label_smoothing` must be in [0, 1). Received: "
                f"{label_smoothing!r}"
            )
        self.label_smoothing = float(label_smoothing)
        self.pad_id = pad_id

    def __call__(self, y_true, y_pred, sample_weight=None):
        with keras.name_scope(self.name):
            weights = ops.cast(ops.not_equal(y_true, self.pad_id), "float32")
            if sample_weight is not None:
                sample_weight = ops.cast(sample_weight, "float32")
                while len(sample_weight.shape) < len(weights.shape):
                    sample_weight = ops.expand_dims(sample_weight, -1)
                weights = weights * sample_weight
            losses = self.call(y_true, y_pred)
            total = ops.sum(losses * weights)
            loss = total / ops.maximum(ops.sum(weights), 1.0)
            return _scale_for_replicas(loss)

    def call(self, y_true, y_pred):
        """Per-token losses (B, T), padding included."""
        return token_cross_entropy(y_true, y_pred, self.label_smoothing)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"label_smoothing": self.label_smoothing, "pad_id": self.pad_id}
        )
        return config
