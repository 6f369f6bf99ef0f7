"""The span model: shapes, padding, the loss, and the .keras round trip."""

import keras
import numpy as np
import pytest

from keras_transformer.models import TransformerConfig
from keras_transformer.models.question_answerer import QuestionAnswerer
from keras_transformer.tasks.question_answering.loss import (
    SpanAccuracy,
    SpanCrossEntropy,
)

CONFIG = TransformerConfig.small(
    vocab_size=50,
    d_model=16,
    num_heads=2,
    ff_dim=32,
    num_layers=1,
    max_length=12,
)
TOKENS = np.array([[2, 7, 3, 9, 10, 11, 3, 0], [2, 8, 3, 12, 3, 0, 0, 0]])


def test_logits_per_position_and_padding_gets_no_probability():
    model = QuestionAnswerer(CONFIG)
    logits = keras.ops.convert_to_numpy(model({"tokens": TOKENS}))
    assert logits.shape == (2, 8, 2) and logits.dtype == np.float32
    probabilities = keras.ops.convert_to_numpy(
        keras.ops.softmax(logits, axis=1)
    )
    assert np.allclose(probabilities[TOKENS == 0], 0.0)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert model.embedding is not None and model.encoder is not None


def test_save_and_load_give_the_same_logits(tmp_path):
    model = QuestionAnswerer(CONFIG)
    path = str(tmp_path / "qa.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, QuestionAnswerer)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded({"tokens": TOKENS})),
        keras.ops.convert_to_numpy(model({"tokens": TOKENS})),
        rtol=1e-6,
        atol=1e-6,
    )


def test_span_loss_and_accuracy_against_numpy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 2)).astype("float32")
    labels = np.array([[1, 2], [0, 0], [4, 3]])

    def nll(column, positions):
        scores = logits[:, :, column]
        log_probs = scores - np.log(np.exp(scores).sum(1, keepdims=True))
        return -log_probs[np.arange(3), positions]

    expected = np.mean((nll(0, labels[:, 0]) + nll(1, labels[:, 1])) / 2)
    loss = SpanCrossEntropy()(labels, logits)
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    metric = SpanAccuracy()
    metric.update_state(labels, logits)
    right = (logits.argmax(1) == labels).all(1).mean()
    assert float(metric.result()) == pytest.approx(right)
    again = SpanCrossEntropy.from_config(SpanCrossEntropy().get_config())
    assert float(again(labels, logits)) == pytest.approx(float(loss))
