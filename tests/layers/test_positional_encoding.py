import math

import keras
import numpy as np
import pytest

from keras_transformer.layers import (
    PositionalEmbedding,
    SinusoidalPositionalEncoding,
    TokenAndPositionEmbedding,
)
from tests.test_case import run_layer_test


def test_sinusoidal_harness(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 6, 8)).astype("float32")
    run_layer_test(
        SinusoidalPositionalEncoding,
        {"max_wavelength": 10000},
        x,
        (2, 6, 8),
        tmp_path=tmp_path,
        check_weights_change=False,
    )


@pytest.mark.parametrize("depth", [512, 7])
def test_sinusoidal_values_match_the_formula(depth):
    layer = SinusoidalPositionalEncoding()
    encoding = np.array(layer(np.zeros((1, 60, depth), "float32")))[0]
    for pos in (0, 1, 17, 59):
        for i in range(0, depth // 2, max(1, depth // 16)):
            angle = pos / 10000 ** (2 * i / depth)
            assert encoding[pos, 2 * i] == pytest.approx(
                math.sin(angle), abs=1e-5
            )
            if 2 * i + 1 < depth:
                assert encoding[pos, 2 * i + 1] == pytest.approx(
                    math.cos(angle), abs=1e-5
                )


@pytest.mark.parametrize("layout", ["interleaved", "concatenated"])
def test_sinusoidal_layouts_harness(layout, tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 6, 8)).astype("float32")
    run_layer_test(
        SinusoidalPositionalEncoding,
        {"max_wavelength": 10000, "layout": layout},
        x,
        (2, 6, 8),
        tmp_path=tmp_path,
        check_weights_change=False,
    )


def test_concatenated_layout_is_the_sines_then_the_cosines():
    # Marian's positions (transformers' MarianSinusoidalPositionalEmbedding):
    # the same angles as the paper's, sines in the first half.
    depth = 16
    paper = np.array(SinusoidalPositionalEncoding()(np.zeros((1, 40, depth))))
    marian = SinusoidalPositionalEncoding(layout="concatenated")
    marian = np.array(marian(np.zeros((1, 40, depth))))
    np.testing.assert_allclose(marian[..., : depth // 2], paper[..., 0::2])
    np.testing.assert_allclose(marian[..., depth // 2 :], paper[..., 1::2])
    for pos in (0, 3, 39):
        angle = pos / 10000 ** (2 * 5 / depth)
        assert marian[0, pos, 5] == pytest.approx(math.sin(angle), abs=1e-5)
        assert marian[0, pos, 13] == pytest.approx(math.cos(angle), abs=1e-5)
    with pytest.raises(ValueError, match="even size"):
        SinusoidalPositionalEncoding(layout="concatenated")(np.zeros((1, 2, 7)))
    with pytest.raises(ValueError, match="layout"):
        SinusoidalPositionalEncoding(layout="halves")


def test_sinusoidal_start_index_shifts_positions():
    layer = SinusoidalPositionalEncoding()
    full = np.array(layer(np.zeros((1, 10, 16), "float32")))
    shifted = np.array(layer(np.zeros((1, 3, 16), "float32"), start_index=4))
    np.testing.assert_allclose(shifted, full[:, 4:7], atol=1e-6)


def test_learned_position_harness(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 6, 8)).astype("float32")
    run_layer_test(
        PositionalEmbedding,
        {"max_length": 10},
        x,
        (2, 6, 8),
        tmp_path=tmp_path,
    )


def test_learned_positions_are_rows_of_the_table():
    layer = PositionalEmbedding(max_length=10)
    out = np.array(layer(np.zeros((2, 4, 3), "float32"), start_index=5))
    table = np.array(layer.embeddings)
    np.testing.assert_array_equal(out[0], table[5:9])
    np.testing.assert_array_equal(out[1], table[5:9])


def test_learned_positions_reject_long_inputs():
    layer = PositionalEmbedding(max_length=4)
    with pytest.raises(ValueError, match="max_length"):
        layer(np.zeros((1, 5, 3), "float32"))


@pytest.mark.parametrize(
    "position", ["sinusoidal", "sinusoidal_concatenated", "learned"]
)
def test_token_and_position_harness(position, tmp_path):
    tokens = np.array([[3, 4, 5, 0], [1, 2, 3, 4]], "int32")
    run_layer_test(
        TokenAndPositionEmbedding,
        {
            "vocab_size": 12,
            "d_model": 8,
            "max_length": 16,
            "position": position,
            "dropout": 0.1,
        },
        tokens,
        (2, 4, 8),
        tmp_path=tmp_path,
    )


def test_bert_embedding_harness(tmp_path):
    tokens = np.array([[3, 4, 5, 0], [1, 2, 3, 4]], "int32")
    run_layer_test(
        TokenAndPositionEmbedding,
        {
            "vocab_size": 12,
            "d_model": 8,
            "max_length": 16,
            "position": "learned",
            "scale_embeddings": False,
            "num_segments": 2,
            "normalize": True,
            "layer_norm_epsilon": 1e-12,
        },
        tokens,
        (2, 4, 8),
        tmp_path=tmp_path,
    )


def test_bert_embeddings_are_the_norm_of_tokens_positions_and_segments():
    layer = TokenAndPositionEmbedding(
        20,
        16,
        max_length=8,
        position="learned",
        scale_embeddings=False,
        num_segments=2,
        normalize=True,
        layer_norm_epsilon=1e-12,
    )
    tokens = np.array([[5, 6, 7]])
    segments = np.array([[0, 1, 1]])
    out = np.array(layer(tokens, segment_ids=segments))
    total = (
        np.array(layer.embeddings)[tokens]
        + np.array(layer.position_embedding.embeddings)[:3]
        + np.array(layer.segment_embedding.embeddings)[segments]
    )
    mean = total.mean(-1, keepdims=True)
    norm = (total - mean) / np.sqrt(total.var(-1, keepdims=True) + 1e-12)
    np.testing.assert_allclose(out, norm, atol=1e-5)
    # Without segment ids, every token is in segment 0.
    np.testing.assert_array_equal(
        np.array(layer(tokens)),
        np.array(layer(tokens, segment_ids=np.zeros_like(tokens))),
    )


def test_token_embeddings_are_scaled_by_sqrt_d_model():
    layer = TokenAndPositionEmbedding(20, 16, max_length=8)
    tokens = np.array([[5, 6, 7]])
    out = np.array(layer(tokens))
    table = np.array(layer.embeddings)
    positions = np.array(
        SinusoidalPositionalEncoding()(np.zeros((1, 3, 16), "float32"))
    )
    np.testing.assert_allclose(out, table[tokens] * 4.0 + positions, atol=1e-5)


def test_reverse_gives_tied_logits():
    layer = TokenAndPositionEmbedding(20, 16, max_length=8)
    layer(np.array([[1]]))
    states = np.random.default_rng(0).normal(size=(2, 3, 16)).astype("float32")
    logits = np.array(layer(states, reverse=True))
    np.testing.assert_allclose(
        logits, states @ np.array(layer.embeddings).T, atol=1e-5
    )
    assert tuple(layer.compute_output_shape((2, 3, 16), reverse=True)) == (
        2,
        3,
        20,
    )
    # The kernel a decoding loop makes once gives the same logits.
    np.testing.assert_allclose(
        states @ np.array(layer.logits_kernel()), logits, atol=1e-5
    )
    assert layer.logits_kernel().shape == (16, 20)


def test_mask_zero_produces_an_implicit_mask():
    tokens = keras.Input((None,), dtype="int32")
    x = TokenAndPositionEmbedding(10, 8, max_length=8)(tokens)
    pooled = keras.layers.GlobalAveragePooling1D()(x)
    model = keras.Model(tokens, pooled)
    short = model.predict(np.array([[4, 5]]), verbose=0)
    padded = model.predict(np.array([[4, 5, 0, 0]]), verbose=0)
    np.testing.assert_allclose(short, padded, atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="position"):
        TokenAndPositionEmbedding(10, 8, 8, position="rotary")
    with pytest.raises(ValueError, match="vocab_size"):
        TokenAndPositionEmbedding(0, 8, 8)
    with pytest.raises(ValueError, match="max_length"):
        PositionalEmbedding(max_length=-1)
    with pytest.raises(ValueError, match="d_model"):
        TokenAndPositionEmbedding(10, 8, 8)(np.ones((1, 2, 5)), reverse=True)
