"""``quantize("int8")`` keeps every model's outputs close to its float ones
(tied logits included), survives a ``.keras`` round trip, and decodes with
the cache as a full pass does."""

import keras
import numpy as np
import pytest

from keras_transformer.inference.decoding import (
    greedy_decode,
    suppress_special,
)
from keras_transformer.special_tokens import BOS_ID, PAD_ID
from tests.models.model_kinds import MODELS, build

# Measured on these random models (seed 0): errors up to 1.7% of the
# largest output (the question answerer's under 0.01%), argmax agreement
# 95.8% (copy-source) to 100%.
MAX_RELATIVE_ERROR = 0.05
MIN_AGREEMENT = 0.9


_QUANTIZED = {}


def _quantized(name):
    """``(model, inputs, float outputs, float logits kernel or None)``:
    the model of ``name`` quantized, built once for the module's tests."""
    if name not in _QUANTIZED:
        model, inputs = build(name)
        embedding = getattr(model, "target_embedding", None)
        kernel = None if embedding is None else embedding.logits_kernel()
        before = np.array(model(inputs))
        model.quantize("int8")
        _QUANTIZED[name] = (model, inputs, before, kernel)
    return _QUANTIZED[name]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_int8_outputs_stay_close_and_round_trip(name, tmp_path):
    model, inputs, before, _ = _quantized(name)
    assert model.quantization == "int8"
    after = np.array(model(inputs))
    error = np.abs(after - before).max() / np.abs(before).max()
    assert 0 < error < MAX_RELATIVE_ERROR  # quantized, and close
    if name != "text_encoder":  # scores: the choices agree
        agreement = (after.argmax(-1) == before.argmax(-1)).mean()
        assert agreement >= MIN_AGREEMENT
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model) and loaded.quantization == "int8"
    np.testing.assert_array_equal(np.array(loaded(inputs)), after)


def test_tied_logits_read_the_int8_embedding_with_its_scales():
    model, _, _, before = _quantized("transformer_tied")
    token_embedding = model.target_embedding.token_embedding
    assert token_embedding.quantization_mode == "int8"
    assert keras.backend.standardize_dtype(
        token_embedding.embeddings.dtype
    ) == ("int8")
    before = np.array(before)
    after = np.array(model.target_embedding.logits_kernel())
    # Per-row int8: each entry within half a step of its row's scale.
    step = np.abs(before).max(axis=0, keepdims=True) / 127
    assert (np.abs(after - before) <= step / 2 + 1e-6).all()


@pytest.mark.parametrize("name", ["transformer_tied", "language_model"])
def test_the_cached_decode_of_an_int8_model_equals_its_full_pass(name):
    model, inputs, _, _ = _quantized(name)
    if name == "language_model":
        prompt = inputs["tokens"][[0, 2], :4]
        tokens = np.array(greedy_decode(model, prompt, 6)[0])
        text = np.concatenate([prompt, tokens], axis=1)
        logits = model({"tokens": text})[:, 3:-1]
    else:
        source = inputs["source_tokens"]
        tokens = np.array(greedy_decode(model, source, 6)[0])
        start = np.full((len(tokens), 1), BOS_ID, "int32")
        target = np.concatenate([start, tokens[:, :-1]], axis=1)
        logits = model({"source_tokens": source, "target_tokens": target})
    full = np.argmax(np.array(suppress_special(logits, BOS_ID, PAD_ID)), -1)
    np.testing.assert_array_equal(full, tokens)


def test_refusals_are_one_line():
    model, _ = build("classifier")
    with pytest.raises(ValueError, match="mode 'int4' is not supported"):
        model.quantize("int4")
    with pytest.raises(ValueError, match="filters not supported"):
        model.quantize("int8", filters="dense")
    model.quantize("int8")
    with pytest.raises(ValueError, match="quantized already"):
        model.quantize("int8")
