import keras
import numpy as np
import pytest

from keras_transformer.models import (
    TransformerConfig,
    build_classifier,
    build_language_model,
)

CONFIG = TransformerConfig.small(
    vocab_size=30,
    num_layers=1,
    d_model=16,
    num_heads=2,
    ff_dim=32,
    dropout=0.0,
)


@pytest.mark.parametrize("pooling", ["mean", "first"])
def test_classifier_shapes_and_padding(pooling):
    model = build_classifier(CONFIG, 3, pooling=pooling)
    a = model({"tokens": np.array([[2, 5, 6]])})
    b = model({"tokens": np.array([[2, 5, 6, 0, 0]])})
    assert a.shape == (1, 3) and a.dtype == "float32"
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_classifier_learns_a_token_presence_task():
    rng = np.random.default_rng(0)
    x = rng.integers(4, 30, size=(512, 10))
    y = (x == 7).any(1).astype("int32")
    model = build_classifier(CONFIG.replace(d_model=32, ff_dim=64), 2)
    model.compile(
        keras.optimizers.Adam(3e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit({"tokens": x}, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


def test_classifier_bad_arguments():
    with pytest.raises(ValueError, match="pooling"):
        build_classifier(CONFIG, 2, pooling="max")
    with pytest.raises(ValueError, match="num_classes"):
        build_classifier(CONFIG, 1)


def test_language_model_is_causal():
    model = build_language_model(CONFIG)
    a = np.array(model({"tokens": np.array([[2, 5, 6, 7]])}))
    b = np.array(model({"tokens": np.array([[2, 5, 6, 9]])}))
    assert a.shape == (1, 4, 30)
    np.testing.assert_allclose(a[:, :3], b[:, :3], atol=1e-6)
    assert not np.allclose(a[:, 3], b[:, 3])
    assert not any("cross" in w.path for w in model.weights)
