"""``fit`` trains the models on either backend (this module also runs
under JAX, in ``tests/test_jax_backend.py``): learned positions, an
optional input left out of the batch, and LoRA adapters."""

import keras
import numpy as np
import pytest

from keras_transformer.models import Classifier, LanguageModel
from tests.models.model_kinds import config, tokens


def _fit_once(model, inputs, labels):
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    before = [np.array(v) for v in model.trainable_variables]
    history = model.fit(inputs, labels, batch_size=3, epochs=1, verbose=0)
    after = [np.array(v) for v in model.trainable_variables]
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(b, a) for b, a in zip(before, after))


def test_a_language_model_with_learned_positions_trains():
    model = LanguageModel(config(position="learned", norm_first=True))
    text = tokens((3, 9), 0)
    _fit_once(model, {"tokens": text[:, :-1]}, text[:, 1:])


@pytest.mark.parametrize("lora", [False, True])
def test_a_classifier_trains_without_its_optional_segment_ids(lora):
    """BERT-style segments are optional: batches of single texts leave
    them out (the JAX trainer calls ``call``, not ``__call__``)."""
    model = Classifier(config(num_segments=2, position="learned"), 3)
    if lora:
        model.enable_lora(2)
    _fit_once(model, {"tokens": tokens((3, 8), 1)}, np.array([0, 1, 2]))
