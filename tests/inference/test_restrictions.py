"""``min_length`` and ``no_repeat_ngram_size`` in every search."""

import itertools

import numpy as np
import pytest

from keras_transformer.inference import (
    beam_search,
    compile_decoder,
    greedy_decode,
    greedy_decode_uncached,
    sample,
)
from keras_transformer.inference.decoding import ban_repeated_ngrams
from keras_transformer.models import TransformerConfig, build_transformer

from .conftest import MarkovStepper

EOS = 3
SOURCES = np.array([[5, 6, 7, 3, 0], [4, 4, 3, 0, 0], [7, 3, 0, 0, 0]])


def _ngrams(tokens, size):
    return [tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)]


def _has_repeat(tokens, size):
    grams = _ngrams(tokens, size)
    return len(grams) != len(set(grams))


def _brute_force_banned(sequence, size):
    """Tokens that would repeat an n-gram after ``sequence`` (a list)."""
    if size == 1:
        return set(sequence)
    last = tuple(sequence[len(sequence) - size + 1 :])
    return {gram[-1] for gram in _ngrams(sequence, size) if gram[:-1] == last}


def _outputs(tokens):
    return [[int(t) for t in row if t] for row in np.array(tokens)]


@pytest.fixture(scope="module")
def repetitive_model():
    """An untrained model with a tiny vocabulary: it repeats itself."""
    import keras

    keras.utils.set_random_seed(3)
    return build_transformer(
        TransformerConfig.small(
            vocab_size=9,
            num_layers=1,
            d_model=16,
            num_heads=2,
            ff_dim=32,
            dropout=0.0,
            max_length=32,
        )
    )


def test_the_ban_matches_a_brute_force_scan():
    rng = np.random.default_rng(0)
    sequences = rng.integers(4, 8, (32, 12)).astype("int32")
    logits = rng.normal(size=(32, 10)).astype("float32")
    for size in (1, 2, 3):
        for index in (0, 1, 4, 11):
            banned = np.array(
                ban_repeated_ngrams(logits, sequences, index, size)
            )
            for row in range(32):
                known = list(sequences[row, : index + 1])
                expected = _brute_force_banned(known, size)
                found = set(np.flatnonzero(np.isneginf(banned[row])))
                assert found == expected, (size, index, row)
                kept = ~np.isneginf(banned[row])
                np.testing.assert_array_equal(
                    banned[row, kept], logits[row, kept]
                )


# Greedy would loop "4 5 4 5 ...": after "4" the best is 5, after "5" it
# is 4; 6 and 1 come second.
LOOP_TABLE = np.log(
    np.array(
        [
            [1, 1, 1, 1, 1, 1, 1],
            [1, 1, 1, 50, 60, 1, 1],  # 1 -> 4, then EOS
            [1, 1, 1, 1, 80, 1, 1],  # BOS -> 4
            [1, 1, 1, 1, 1, 1, 1],
            [1, 20, 1, 5, 1, 90, 30],  # 4 -> 5, else 6, 1
            [1, 30, 1, 5, 90, 1, 40],  # 5 -> 4, else 6, 1
            [1, 10, 1, 5, 40, 60, 1],  # 6 -> 5, 4
        ],
        "float32",
    )
)


def _greedy_reference(table, max_length, size, min_length=0):
    """Greedy search with the ban, step by step in plain Python."""
    sequence = [2]
    for step in range(max_length):
        logits = table[sequence[-1]].astype("float64").copy()
        logits[[0, 2]] = -np.inf
        if step < min_length:
            logits[EOS] = -np.inf
        if size:
            logits[list(_brute_force_banned(sequence, size))] = -np.inf
        sequence.append(int(np.argmax(logits)))
        if sequence[-1] == EOS:
            break
    return sequence[1:]


@pytest.mark.parametrize("size", [1, 2, 3])
def test_greedy_takes_the_next_best_token_instead_of_a_repeat(size):
    stepper = MarkovStepper(LOOP_TABLE)
    plain, _ = greedy_decode(stepper, np.zeros((1, 1)), 10)
    assert _has_repeat(_outputs(plain)[0], 2)  # it loops without the ban
    tokens, _ = greedy_decode(
        stepper, np.zeros((1, 1)), 10, no_repeat_ngram_size=size
    )
    found = _outputs(tokens)[0]
    assert found == _greedy_reference(LOOP_TABLE, 10, size)
    assert not _has_repeat([2] + found, size)


def _beam_reference(table, max_length, size, alpha):
    """Best sequence without a repeated n-gram, over every continuation."""
    log_probs = (
        table - np.log(np.exp(table[:, [1, 3, 4, 5, 6]]).sum(1))[:, None]
    )
    best = None
    for length in range(1, max_length + 1):
        for sequence in itertools.product([1, 3, 4, 5, 6], repeat=length):
            if EOS in sequence[:-1] or _has_repeat((2,) + sequence, size):
                continue
            previous = (2,) + sequence[:-1]
            total = sum(log_probs[p, t] for p, t in zip(previous, sequence))
            score = total / ((5 + length) / 6) ** alpha
            ended = sequence[-1] == EOS or length == max_length
            if ended and (best is None or score > best[0]):
                best = (score, sequence)
    return best


@pytest.mark.parametrize("size", [2, 3])
def test_a_wide_beam_finds_the_best_sequence_without_repeats(size):
    expected_score, expected = _beam_reference(LOOP_TABLE, 6, size, 0.6)
    tokens, scores = beam_search(
        MarkovStepper(LOOP_TABLE),
        np.zeros((1, 1)),
        max_length=6,
        beam_size=30,
        length_penalty=0.6,
        no_repeat_ngram_size=size,
    )
    assert tuple(_outputs(tokens)[0]) == expected
    np.testing.assert_allclose(scores[0], expected_score, rtol=1e-5)


SEARCHES = {
    "greedy": (greedy_decode, {"no_repeat_ngram_size": 2}),
    "beam": (beam_search, {"beam_size": 3, "no_repeat_ngram_size": 3}),
    "sampling": (
        sample,
        {"seed": 4, "temperature": 1.5, "no_repeat_ngram_size": 2},
    ),
}


@pytest.mark.parametrize("name", list(SEARCHES))
def test_no_output_repeats_an_ngram_eager_or_compiled(repetitive_model, name):
    function, options = SEARCHES[name]
    size = options["no_repeat_ngram_size"]
    plain = dict(options, no_repeat_ngram_size=0)
    tokens, _ = function(repetitive_model, SOURCES, 12, **plain)
    assert any(_has_repeat(row, size) for row in _outputs(tokens))
    options = dict(options, min_length=6)
    eager, eager_scores = function(repetitive_model, SOURCES, 12, **options)
    for row in _outputs(eager):
        assert not _has_repeat([2] + row, size)
        assert EOS not in row[:6]
    # XLA draws other random numbers: sampling compares with tf.function.
    compiled = compile_decoder(function, jit_compile=name != "sampling")
    tokens, scores = compiled(
        repetitive_model, SOURCES, max_length=12, **options
    )
    np.testing.assert_array_equal(np.array(tokens), np.array(eager))
    np.testing.assert_allclose(scores, eager_scores, atol=1e-4)


def test_min_length_delays_the_end():
    # EOS is the best token after every token.
    table = np.log(np.full((7, 7), 1.0, "float32"))
    table[:, EOS] = np.log(100.0)
    stepper = MarkovStepper(table)
    for function in (greedy_decode, beam_search):
        short, _ = function(stepper, np.zeros((2, 1)), 8)
        assert _outputs(short) == [[EOS], [EOS]]
        tokens, _ = function(
            stepper, np.zeros((2, 1)), 8, min_length=4, lengths=[8, 3]
        )
        rows = _outputs(tokens)
        assert len(rows[0]) == 5 and rows[0][4] == EOS
        assert EOS not in rows[1] and len(rows[1]) == 3  # the limit wins


def test_uncached_greedy_applies_the_same_options(repetitive_model):
    options = dict(no_repeat_ngram_size=2, min_length=5)
    cached, _ = greedy_decode(repetitive_model, SOURCES, 12, **options)
    uncached = greedy_decode_uncached(repetitive_model, SOURCES, 12, **options)
    np.testing.assert_array_equal(np.array(uncached), np.array(cached))


def test_bad_options_are_refused():
    stepper = MarkovStepper(LOOP_TABLE)
    with pytest.raises(ValueError, match="no_repeat_ngram_size"):
        greedy_decode(stepper, np.zeros((1, 1)), 4, no_repeat_ngram_size=-1)
    with pytest.raises(ValueError, match="min_length"):
        beam_search(stepper, np.zeros((1, 1)), 4, min_length=1.5)


def test_the_decoding_config_carries_the_options():
    from keras_transformer.errors import ConfigError
    from keras_transformer.experiment import experiment_from_dict
    from keras_transformer.inference import DecodingConfig

    plain = DecodingConfig()
    assert plain.slug() == "beam4-alpha0.6"
    assert "no_repeat_ngram_size" not in plain.search()[1]
    config = plain.replace(min_length=5, no_repeat_ngram_size=3)
    assert config.slug() == "beam4-alpha0.6-min5-norepeat3"
    assert config.describe().endswith("min_length=5 no_repeat_ngram_size=3")
    function, kwargs = config.replace(strategy="greedy").search()
    assert function is greedy_decode
    assert kwargs["min_length"] == 5 and kwargs["no_repeat_ngram_size"] == 3
    experiment = experiment_from_dict(
        {"evaluation": {"decoding": {"no_repeat_ngram_size": 2}}}
    )
    assert experiment.evaluation.decoding.no_repeat_ngram_size == 2
    with pytest.raises(ConfigError, match="min_length must be an int >= 0"):
        experiment_from_dict({"evaluation": {"decoding": {"min_length": -1}}})
