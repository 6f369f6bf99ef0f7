import numpy as np
import pytest
from keras import ops

from keras_transformer.data.tokenizers import ByteTokenizer
from keras_transformer.inference import (
    Translator,
    beam_search,
    compile_decoder,
    greedy_decode,
    greedy_decode_uncached,
    length_penalty,
)
from keras_transformer.models import (
    TransformerConfig,
    build_language_model,
    build_transformer,
)

from .conftest import reversal_data


def _config(**changes):
    values = dict(
        vocab_size=40,
        num_layers=2,
        d_model=32,
        num_heads=4,
        ff_dim=64,
        dropout=0.0,
    )
    values.update(changes)
    return TransformerConfig.small(**values)


def _model(**changes):
    return build_transformer(_config(**changes))


SOURCES = np.array(
    [[5, 6, 7, 8, 3, 0], [9, 10, 11, 3, 0, 0], [12, 3, 0, 0, 0, 0]]
)


def teacher_forced_log_prob(model, sources, tokens):
    """Sum of log p(token) over the generated tokens, by one full pass."""
    tokens = np.asarray(tokens)
    targets = np.concatenate([np.full((len(tokens), 1), 2), tokens], 1)
    logits = np.asarray(
        model({"source_tokens": sources, "target_tokens": targets[:, :-1]})
    ).astype("float64")
    logits[..., [0, 2]] = -np.inf  # padding and BOS are never generated
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_probs, tokens[..., None], -1)[..., 0]
    return np.where(tokens != 0, picked, 0.0).sum(1), (tokens != 0).sum(1)


@pytest.mark.parametrize(
    "norm_first, tie, copy",
    [
        (False, True, False),
        (False, False, False),
        (True, True, False),
        (True, False, False),
        (True, True, True),
        (False, False, True),
    ],
)
def test_cached_greedy_equals_uncached_greedy(norm_first, tie, copy):
    model = _model(
        norm_first=norm_first,
        tie_embeddings=tie,
        target_vocab_size=None if tie or copy else 30,
        copy_source=copy,
    )
    cached, _ = greedy_decode(model, SOURCES, max_length=12)
    uncached = greedy_decode_uncached(model, SOURCES, max_length=12)
    np.testing.assert_array_equal(np.array(cached), np.array(uncached))


def test_cached_greedy_equals_uncached_on_a_trained_model(trained_model):
    sources, _ = reversal_data(32, seed=11)
    cached, _ = greedy_decode(trained_model, sources, max_length=10)
    uncached = greedy_decode_uncached(trained_model, sources, max_length=10)
    np.testing.assert_array_equal(np.array(cached), np.array(uncached))
    assert (np.array(cached) == 3).any(axis=1).all()  # it learned to stop


@pytest.mark.parametrize("copy", [False, True])
def test_compiled_decoding_gives_the_same_tokens(copy):
    model = _model(copy_source=copy)
    eager, eager_scores = greedy_decode(model, SOURCES, max_length=10)
    for jit in (False, True):
        compiled = compile_decoder(greedy_decode, jit_compile=jit)
        tokens, scores = compiled(model, SOURCES, max_length=10)
        np.testing.assert_array_equal(np.array(tokens), np.array(eager))
        np.testing.assert_allclose(scores, eager_scores, rtol=1e-5)


def test_scores_are_the_log_probability_of_the_output(trained_model):
    sources, _ = reversal_data(16, seed=12)
    for alpha in (0.0, 0.6):
        tokens, scores = greedy_decode(
            trained_model, sources, max_length=10, length_penalty=alpha
        )
        log_prob, counts = teacher_forced_log_prob(
            trained_model, sources, np.array(tokens)
        )
        expected = log_prob / ((5 + counts) / 6) ** alpha
        np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)


def test_copying_scores_are_the_log_probability_of_the_output():
    """Beam search over a copy model scores outputs by the full pass."""
    model = _model(copy_source=True)
    tokens, scores = beam_search(
        model, SOURCES, beam_size=3, max_length=8, length_penalty=0.0
    )
    log_prob, _ = teacher_forced_log_prob(model, SOURCES, np.array(tokens))
    np.testing.assert_allclose(scores, log_prob, rtol=1e-4, atol=1e-4)


def test_length_penalty_formula():
    np.testing.assert_allclose(
        length_penalty(np.array([1, 10]), 0.6),
        [1.0, (15 / 6) ** 0.6],
        rtol=1e-6,
    )


def test_finished_sequences_are_padded_after_eos():
    model = _model(tie_embeddings=False, target_vocab_size=30)
    projection = model.get_layer("output_projection")
    kernel, bias = projection.get_weights()
    bias[3] = 100.0  # EOS wins every step
    projection.set_weights([kernel, bias])
    out, _ = greedy_decode(model, SOURCES, max_length=6)
    out = np.array(out)
    np.testing.assert_array_equal(out[:, 0], 3)
    np.testing.assert_array_equal(out[:, 1:], 0)


def test_padding_and_start_tokens_are_never_generated():
    model = _model(tie_embeddings=False, target_vocab_size=30)
    projection = model.get_layer("output_projection")
    kernel, bias = projection.get_weights()
    bias[0] = bias[2] = 100.0  # the model "prefers" PAD and BOS
    projection.set_weights([kernel, bias])
    out, _ = greedy_decode(model, SOURCES, max_length=6)
    out = np.array(out)
    assert not (out == 2).any()
    # Padding only follows an EOS (a row may end at once, by chance).
    ended = np.cumsum(out == 3, axis=1) > 0
    after_eos = np.concatenate([np.zeros_like(ended[:, :1]), ended[:, :-1]], 1)
    assert not ((out == 0) & ~after_eos).any()


def test_per_sequence_length_limits():
    model = _model()
    full, _ = greedy_decode(model, SOURCES, max_length=8)
    limited, _ = greedy_decode(model, SOURCES, max_length=8, lengths=[8, 3, 5])
    full, limited = np.array(full), np.array(limited)
    np.testing.assert_array_equal(limited[0], full[0])
    np.testing.assert_array_equal(limited[1, :3], full[1, :3])
    np.testing.assert_array_equal(limited[1, 3:], 0)
    np.testing.assert_array_equal(limited[2, 5:], 0)


def test_bad_arguments_are_named():
    model = _model()
    with pytest.raises(ValueError, match="max_length"):
        greedy_decode(model, SOURCES, max_length=0)
    classifier_like = build_language_model(_config())
    classifier_like.input["tokens"]  # a language model is fine
    from keras_transformer.models import build_classifier

    with pytest.raises(ValueError, match="cannot generate text"):
        greedy_decode(build_classifier(_config(), 2), SOURCES, max_length=4)


def test_language_model_greedy_equals_full_passes():
    model = build_language_model(_config())
    prompts = np.array([[5, 6, 7, 8], [9, 10, 0, 0], [11, 0, 0, 0]])
    tokens, _ = greedy_decode(model, prompts, max_length=6)
    for row, prompt in enumerate(prompts):
        sequence = [int(t) for t in prompt if t]
        for _ in range(6):
            logits = np.array(model({"tokens": np.array([sequence])}))[0, -1]
            logits[[0, 2]] = -np.inf
            sequence.append(int(np.argmax(logits)))
            if sequence[-1] == 3:
                break
        generated = sequence[len([t for t in prompt if t]) :]
        np.testing.assert_array_equal(
            np.array(tokens)[row, : len(generated)], generated
        )


def test_language_model_prompts_batch_like_one_at_a_time():
    model = build_language_model(_config())
    prompts = np.array([[5, 6, 7, 8], [9, 10, 0, 0], [11, 0, 0, 0]])
    together, _ = greedy_decode(model, prompts, max_length=5)
    for row, prompt in enumerate(prompts):
        alone, _ = greedy_decode(model, prompt[prompt > 0][None], max_length=5)
        np.testing.assert_array_equal(np.array(together)[row], alone[0])


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


def test_copy_attention_belongs_to_the_output_of_the_search():
    tokenizer = ByteTokenizer()
    text = "copy me"
    plain = Translator(
        _model(vocab_size=tokenizer.vocab_size), tokenizer, tokenizer, 16
    )
    with pytest.raises(ValueError, match="copy_source: true"):
        plain.copy_attention(text)
    translator = Translator(
        _model(vocab_size=tokenizer.vocab_size, copy_source=True),
        tokenizer,
        tokenizer,
        max_source_length=16,
        extra_length=4,
    )
    source, output, weights, copied = translator.copy_attention(text)
    same_source, same_output, _ = translator.cross_attention(text)
    assert (source, output) == (same_source, same_output)
    assert len(source) == len(text) + 1  # the bytes and EOS
    assert weights.shape == (len(output), len(source)) == (len(output), 8)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert copied.shape == (len(output),)
    assert ((copied > 0) & (copied < 1)).all()


def test_decoding_inputs_may_be_tensors():
    model = _model()
    tokens, _ = greedy_decode(model, ops.convert_to_tensor(SOURCES), 4)
    assert tuple(tokens.shape) == (3, 4)


def test_a_hand_built_functional_model_decodes_by_its_attributes():
    """Parts given as attributes suffice, whatever the layers' names."""
    import keras

    from keras_transformer.layers import (
        TokenAndPositionEmbedding,
        TransformerDecoder,
        TransformerEncoder,
    )

    source = keras.Input((None,), dtype="int32", name="source_tokens")
    target = keras.Input((None,), dtype="int32", name="target_tokens")
    embedding = TokenAndPositionEmbedding(40, 16, 32, name="tokens")
    encoder = TransformerEncoder(1, num_heads=2, ff_dim=32, name="enc")
    decoder = TransformerDecoder(1, num_heads=2, ff_dim=32, name="dec")
    states = decoder(embedding(target), encoder(embedding(source)))
    model = keras.Model([source, target], embedding(states, reverse=True))
    with pytest.raises(ValueError, match="cannot generate text"):
        greedy_decode(model, SOURCES, max_length=6)
    model.source_embedding = model.target_embedding = embedding
    model.encoder, model.decoder = encoder, decoder
    cached, _ = greedy_decode(model, SOURCES, max_length=6)
    uncached = greedy_decode_uncached(
        model,
        SOURCES,
        6,
        forward=lambda s, t: model([s, t]),
    )
    np.testing.assert_array_equal(np.array(cached), np.array(uncached))
