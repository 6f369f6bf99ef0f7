import keras
import numpy as np
import pytest

from keras_transformer.models import (
    Classifier,
    LanguageModel,
    MaskedLanguageModel,
    Transformer,
    TransformerConfig,
    build_transformer,
)


def _tiny(**changes):
    values = dict(
        vocab_size=40,
        num_layers=1,
        d_model=16,
        num_heads=2,
        ff_dim=32,
        dropout=0.0,
    )
    values.update(changes)
    return TransformerConfig.small(**values)


def test_base_parameter_count_matches_the_paper():
    model = build_transformer(TransformerConfig.base(vocab_size=37000))
    assert 63_000_000 <= model.count_params() <= 65_000_000


@pytest.mark.slow
def test_big_parameter_count_matches_the_paper():
    model = build_transformer(TransformerConfig.big(vocab_size=37000))
    assert 210_000_000 <= model.count_params() <= 216_000_000


def test_three_way_tying_shares_one_matrix():
    model = build_transformer(_tiny())
    assert model.source_embedding is model.target_embedding
    assert model.output_projection is None
    untied = build_transformer(_tiny(tie_embeddings=False))
    # The untied model has a second embedding and an output projection.
    extra = 40 * 16 + (16 * 40 + 40)
    assert untied.count_params() == model.count_params() + extra


def test_separate_vocabularies():
    model = build_transformer(_tiny(target_vocab_size=25))
    assert model.source_embedding is not model.target_embedding
    assert model.source_embedding.vocab_size == 40
    assert model.target_embedding.vocab_size == 25
    logits = model(
        {
            "source_tokens": np.array([[5, 6, 0]]),
            "target_tokens": np.array([[2, 7]]),
        }
    )
    assert logits.shape == (1, 2, 25)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("position", ["sinusoidal", "learned"])
def test_variants_build_and_predict(norm_first, position):
    model = build_transformer(_tiny(norm_first=norm_first, position=position))
    logits = model(
        {
            "source_tokens": np.array([[5, 6, 0]]),
            "target_tokens": np.array([[2, 7, 8, 0]]),
        }
    )
    assert logits.shape == (1, 4, 40) and logits.dtype == "float32"
    assert model.encoder.norm_first == norm_first


def test_source_padding_does_not_change_logits():
    model = build_transformer(_tiny())
    target = np.array([[2, 7, 8]])
    a = model({"source_tokens": np.array([[5, 6, 9]]), "target_tokens": target})
    b = model(
        {
            "source_tokens": np.array([[5, 6, 9, 0, 0, 0]]),
            "target_tokens": target,
        }
    )
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_decoder_is_causal_through_the_model():
    model = build_transformer(_tiny())
    source = np.array([[5, 6, 9]])
    a = model({"source_tokens": source, "target_tokens": np.array([[2, 7, 8]])})
    b = model(
        {"source_tokens": source, "target_tokens": np.array([[2, 7, 30]])}
    )
    np.testing.assert_allclose(a[:, :2], b[:, :2], atol=1e-6)
    assert not np.allclose(a[:, 2], b[:, 2])


def test_save_and_load_round_trip(tmp_path):
    model = build_transformer(_tiny(target_vocab_size=30))
    inputs = {
        "source_tokens": np.array([[5, 6, 0]]),
        "target_tokens": np.array([[2, 7, 8]]),
    }
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(model(inputs), loaded(inputs))
    assert type(loaded) is Transformer
    assert loaded.target_embedding.vocab_size == 30
    assert loaded.transformer_config == model.transformer_config


@pytest.mark.parametrize(
    "build, inputs, parts",
    [
        (
            lambda c: Classifier(c, 3, pooling="first"),
            {"tokens": np.array([[2, 5, 6, 0]])},
            ("embedding", "encoder", "pooling", "head"),
        ),
        (
            LanguageModel,
            {"tokens": np.array([[2, 5, 6]])},
            ("embedding", "decoder"),
        ),
        (
            MaskedLanguageModel,
            {"tokens": np.array([[2, 5, 4, 3]])},
            ("embedding", "encoder", "transform", "norm"),
        ),
    ],
    ids=["classifier", "language_model", "masked_lm"],
)
def test_every_model_round_trips_with_its_parts(tmp_path, build, inputs, parts):
    model = build(_tiny())
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(model(inputs), loaded(inputs))
    for name in parts:
        layer = getattr(loaded, name)
        assert layer in loaded.layers  # the attribute is the graph's layer
        assert layer.name == getattr(model, name).name


def test_output_bias_is_added_to_the_logits_and_round_trips(tmp_path):
    model = build_transformer(
        _tiny(output_bias=True, position="sinusoidal_concatenated")
    )
    inputs = {
        "source_tokens": np.array([[5, 6, 0]]),
        "target_tokens": np.array([[2, 7, 8]]),
    }
    before = np.array(model(inputs))
    bias = np.linspace(-1.0, 1.0, 40).astype("float32")
    model.output_bias.bias.assign(bias)
    np.testing.assert_allclose(model(inputs), before + bias, atol=1e-5)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(model(inputs), loaded(inputs))
    assert loaded.output_bias in loaded.layers


def test_mixed_precision_logits_are_float32():
    keras.config.set_dtype_policy("mixed_float16")
    model = build_transformer(_tiny())
    logits = model(
        {
            "source_tokens": np.array([[5, 6]]),
            "target_tokens": np.array([[2, 7]]),
        }
    )
    assert logits.dtype == "float32"
    assert np.all(np.isfinite(np.array(logits)))


def test_copy_source_model_round_trips_and_keeps_its_meaning(tmp_path):
    model = build_transformer(_tiny(copy_source=True))
    source = np.array([[5, 6, 9, 0, 0]])
    inputs = {"source_tokens": source, "target_tokens": np.array([[2, 7, 8]])}
    log_probs = np.array(model(inputs))
    # Log-probabilities of a distribution over the vocabulary.
    np.testing.assert_allclose(np.exp(log_probs).sum(-1), 1.0, atol=1e-5)
    # Source padding changes nothing; the decoder stays causal.
    unpadded = dict(inputs, source_tokens=source[:, :3])
    np.testing.assert_allclose(model(unpadded), log_probs, atol=1e-5)
    changed = dict(inputs, target_tokens=np.array([[2, 7, 30]]))
    np.testing.assert_allclose(
        np.array(model(changed))[:, :2], log_probs[:, :2], atol=1e-6
    )
    path = str(tmp_path / "copy.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(model(inputs), loaded(inputs))
    assert loaded.pointer_generator in loaded.layers
    assert build_transformer(_tiny()).pointer_generator is None


def test_copy_source_needs_a_shared_vocabulary():
    with pytest.raises(ValueError, match="shared vocabulary"):
        _tiny(copy_source=True, target_vocab_size=30)
