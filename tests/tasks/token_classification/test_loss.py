"""Tag loss and accuracy: label 0 is ignored, labels are tag id + 1."""

import keras
import numpy as np
import pytest

from keras_transformer.tasks.token_classification.loss import (
    TagAccuracy,
    TagCrossentropy,
)


def _log_softmax(logits):
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def test_the_loss_is_the_mean_over_labelled_positions_only():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 5, 3)).astype("float32")
    labels = np.array([[0, 1, 0, 3, 0], [2, 0, 0, 0, 0]])
    loss = float(TagCrossentropy()(labels, logits))
    log_probs = _log_softmax(logits.astype("float64"))
    picked = [
        -log_probs[b, t, labels[b, t] - 1]
        for b in range(2)
        for t in range(5)
        if labels[b, t]
    ]
    assert loss == pytest.approx(np.mean(picked), rel=1e-5)
    # Changing the logits of ignored positions changes nothing.
    changed = logits.copy()
    changed[labels == 0] = rng.normal(size=(int((labels == 0).sum()), 3))
    assert float(TagCrossentropy()(labels, changed)) == pytest.approx(loss)


def test_accuracy_counts_labelled_positions_and_round_trips():
    logits = np.zeros((1, 4, 3), "float32")
    logits[0, :, 0] = 1.0  # predicts tag 0 everywhere
    labels = np.array([[0, 1, 2, 1]])  # tags -, 0, 1, 0
    metric = TagAccuracy()
    metric.update_state(labels, logits)
    assert float(metric.result()) == pytest.approx(2 / 3)
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(TagCrossentropy(0.1))
    )
    assert isinstance(restored, TagCrossentropy)
    assert restored.label_smoothing == 0.1
