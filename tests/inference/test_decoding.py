import numpy as np
import pytest

from keras_transformer.data.tokenizer import ByteTokenizer
from keras_transformer.inference import (
    Translator,
    compile_decoder,
    greedy_decode,
    greedy_decode_uncached,
)
from keras_transformer.models import TransformerConfig, build_transformer


def _model(**changes):
    values = dict(
        vocab_size=40,
        num_layers=2,
        d_model=32,
        num_heads=4,
        ff_dim=64,
        dropout=0.0,
    )
    values.update(changes)
    return build_transformer(TransformerConfig.small(**values))


SOURCES = np.array(
    [[5, 6, 7, 8, 3, 0], [9, 10, 11, 3, 0, 0], [12, 3, 0, 0, 0, 0]]
)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("tie", [True, False])
def test_cached_greedy_equals_uncached_greedy(norm_first, tie):
    model = _model(
        norm_first=norm_first,
        tie_embeddings=tie,
        target_vocab_size=None if tie else 30,
    )
    cached = np.array(greedy_decode(model, SOURCES, max_length=12))
    uncached = np.array(greedy_decode_uncached(model, SOURCES, max_length=12))
    np.testing.assert_array_equal(cached, uncached)


def test_compiled_decoding_gives_the_same_tokens():
    model = _model()
    eager = np.array(greedy_decode(model, SOURCES, max_length=10))
    for jit in (False, True):
        compiled = compile_decoder(greedy_decode, jit_compile=jit)
        np.testing.assert_array_equal(
            np.array(compiled(model, SOURCES, max_length=10)), eager
        )


def test_finished_sequences_are_padded_after_eos():
    model = _model(tie_embeddings=False, target_vocab_size=30)
    projection = model.get_layer("output_projection")
    kernel, bias = projection.get_weights()
    bias[3] = 100.0  # EOS wins every step
    projection.set_weights([kernel, bias])
    out = np.array(greedy_decode(model, SOURCES, max_length=6))
    np.testing.assert_array_equal(out[:, 0], 3)
    np.testing.assert_array_equal(out[:, 1:], 0)


def test_per_sequence_length_limits():
    model = _model()
    full = np.array(greedy_decode(model, SOURCES, max_length=8))
    limited = np.array(
        greedy_decode(model, SOURCES, max_length=8, lengths=[8, 3, 5])
    )
    np.testing.assert_array_equal(limited[0], full[0])
    np.testing.assert_array_equal(limited[1, :3], full[1, :3])
    np.testing.assert_array_equal(limited[1, 3:], 0)
    np.testing.assert_array_equal(limited[2, 5:], 0)


def test_translator_batches_and_truncates():
    tokenizer = ByteTokenizer()
    model = _model(vocab_size=tokenizer.vocab_size)
    translator = Translator(
        model, tokenizer, tokenizer, max_source_length=16, extra_length=5
    )
    texts = ["abc", "a much longer sentence than sixteen bytes", ""]
    one_by_one = [translator.translate([t])[0] for t in texts]
    together = translator.translate(texts, batch_size=2)
    assert together == one_by_one
    sources = translator.encode_sources(texts)
    assert sources.shape[1] == 16
    assert sources[1, -1] == tokenizer.eos_id
