import keras
import numpy as np
import pytest

from keras_transformer.training import (
    MaskedAccuracy,
    MaskedSparseCategoricalCrossentropy,
    Perplexity,
)


def _numpy_loss(labels, logits, eps, pad=0):
    logits = logits.astype("float64")
    logits = logits - logits.max(-1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    vocab = logits.shape[-1]
    target = np.full(logits.shape, eps / vocab)
    np.put_along_axis(target, labels[..., None], 1 - eps + eps / vocab, axis=-1)
    per_token = -(target * log_probs).sum(-1)
    mask = labels != pad
    return per_token[mask].mean()


def _data(seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(1, 7, size=(3, 5))
    labels[0, 3:] = 0
    labels[2, 1:] = 0
    logits = rng.normal(size=(3, 5, 7)).astype("float32") * 3
    return labels, logits


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_loss_matches_numpy(eps):
    labels, logits = _data()
    loss = MaskedSparseCategoricalCrossentropy(label_smoothing=eps)
    assert float(loss(labels, logits)) == pytest.approx(
        _numpy_loss(labels, logits, eps), rel=1e-5
    )


def test_loss_does_not_depend_on_padding():
    labels, logits = _data()
    loss = MaskedSparseCategoricalCrossentropy()
    more_labels = np.pad(labels, ((0, 0), (0, 4)))
    more_logits = np.pad(logits, ((0, 0), (0, 4), (0, 0)), constant_values=50.0)
    assert float(loss(labels, logits)) == pytest.approx(
        float(loss(more_labels, more_logits)), rel=1e-6
    )


def test_loss_is_finite_for_extreme_logits_in_half_precision():
    labels, logits = _data()
    # Finite but far beyond what exp() can take in float16 or float32: a
    # softmax followed by log() would give log(0) = -inf here.
    extreme = np.clip(logits * 1e4, -6e4, 6e4).astype("float16")
    value = float(MaskedSparseCategoricalCrossentropy()(labels, extreme))
    assert np.isfinite(value)
    all_padding = np.zeros_like(labels)
    assert (
        float(MaskedSparseCategoricalCrossentropy()(all_padding, logits)) == 0.0
    )


def test_metrics_ignore_padding():
    labels, logits = _data()
    accuracy = MaskedAccuracy()
    accuracy.update_state(labels, logits)
    mask = labels != 0
    expected = (logits.argmax(-1) == labels)[mask].mean()
    assert float(accuracy.result()) == pytest.approx(expected)
    perplexity = Perplexity()
    perplexity.update_state(labels, logits)
    assert float(perplexity.result()) == pytest.approx(
        np.exp(_numpy_loss(labels, logits, 0.0)), rel=1e-5
    )
    perplexity.reset_state()
    assert float(perplexity.result()) == pytest.approx(1.0)


def test_loss_and_metrics_round_trip_through_config():
    loss = MaskedSparseCategoricalCrossentropy(label_smoothing=0.2, pad_id=5)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert restored.label_smoothing == 0.2 and restored.pad_id == 5
    metric = keras.metrics.deserialize(
        keras.metrics.serialize(MaskedAccuracy(pad_id=3))
    )
    assert metric.pad_id == 3


def test_bad_label_smoothing():
    with pytest.raises(ValueError, match="label_smoothing"):
        MaskedSparseCategoricalCrossentropy(label_smoothing=1.0)
