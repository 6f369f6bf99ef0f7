"""TokenClassifier: per-token logits, padding, save/load, parts."""

import keras
import numpy as np
import pytest

from keras_transformer.models import MaskedLanguageModel, TokenClassifier
from keras_transformer.models.config import TransformerConfig

CONFIG = TransformerConfig.small(
    vocab_size=30,
    num_layers=1,
    d_model=16,
    num_heads=2,
    ff_dim=32,
    dropout=0.0,
)


def test_logits_per_position_ignore_padding():
    model = TokenClassifier(CONFIG, 5)
    a = model({"tokens": np.array([[2, 5, 6, 3]])})
    b = model({"tokens": np.array([[2, 5, 6, 3, 0, 0]])})
    assert a.shape == (1, 4, 5) and a.dtype == "float32"
    np.testing.assert_allclose(a, b[:, :4], atol=1e-5)
    # Every position sees the whole sentence (not causal).
    c = model({"tokens": np.array([[2, 5, 6, 4]])})
    assert not np.allclose(a[:, 0], c[:, 0])


def test_save_load_round_trip_and_shared_parts(tmp_path):
    model = TokenClassifier(CONFIG, 4)
    tokens = {"tokens": np.array([[2, 9, 8, 7, 3]])}
    path = str(tmp_path / "m.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, TokenClassifier)
    np.testing.assert_array_equal(model(tokens), restored(tokens))
    assert restored.head.kernel.shape == (16, 4)
    # The embedding and encoder are those of a masked LM: init_from fits.
    pretrained = MaskedLanguageModel(CONFIG)
    for part in ("embedding", "encoder"):
        getattr(model, part).set_weights(
            getattr(pretrained, part).get_weights()
        )


def test_bad_num_tags():
    for bad in (0, True, 2.0):
        with pytest.raises(ValueError, match="num_tags"):
            TokenClassifier(CONFIG, bad)
