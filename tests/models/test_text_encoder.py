"""TextEncoder, and the segment input of every encoder model."""

import keras
import numpy as np
import pytest

from keras_transformer.models import (
    Classifier,
    MaskedLanguageModel,
    QuestionAnswerer,
    TextEncoder,
    TokenClassifier,
    TransformerConfig,
)

BERT_LIKE = TransformerConfig.small(
    vocab_size=40,
    num_layers=1,
    d_model=16,
    num_heads=2,
    ff_dim=32,
    activation="gelu",
    position="learned",
    max_length=12,
    scale_embeddings=False,
    embedding_norm=True,
    num_segments=2,
    output_bias=True,
    layer_norm_epsilon=1e-12,
)
TOKENS = np.array([[2, 5, 6, 3, 7, 8, 3], [2, 9, 3, 4, 3, 0, 0]], "int32")
SEGMENTS = np.array([[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 0, 0]], "int32")


@pytest.mark.parametrize(
    "build",
    [
        TextEncoder,
        MaskedLanguageModel,
        QuestionAnswerer,
        lambda c: TokenClassifier(c, 3),
        lambda c: Classifier(c, 2, pooling="pooler"),
    ],
)
def test_segments_change_outputs_and_a_keras_round_trip_keeps_them(
    build, tmp_path
):
    model = build(BERT_LIKE)
    with_segments = np.array(model({"tokens": TOKENS, "segment_ids": SEGMENTS}))
    zero = np.array(model({"tokens": TOKENS}))
    assert np.abs(with_segments - zero).max() > 1e-3
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert type(again) is type(model)
    np.testing.assert_array_equal(
        np.array(again({"tokens": TOKENS, "segment_ids": SEGMENTS})),
        with_segments,
    )


def test_a_model_with_segments_trains_on_tokens_alone():
    model = TokenClassifier(BERT_LIKE, 3)
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(
        {"tokens": TOKENS}, np.zeros_like(TOKENS), epochs=2, verbose=0
    )
    assert np.isfinite(history.history["loss"]).all()


def test_the_masked_lm_head_adds_its_output_bias():
    model = MaskedLanguageModel(BERT_LIKE)
    before = np.array(model({"tokens": TOKENS}))
    model.get_layer("output_bias").bias.assign(np.arange(40, dtype="float32"))
    after = np.array(model({"tokens": TOKENS}))
    np.testing.assert_allclose(
        after - before,
        np.broadcast_to(np.arange(40, dtype="float32"), before.shape),
        atol=1e-4,
    )
