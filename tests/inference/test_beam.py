import itertools

import numpy as np
import pytest

from keras_transformer.inference import (
    beam_search,
    compile_decoder,
    greedy_decode,
)
from keras_transformer.models import TransformerConfig, build_language_model

from .conftest import MarkovStepper, reversal_data
from .test_decoding import teacher_forced_log_prob

EOS = 3


def _markov_table(probabilities, vocab_size=7):
    """Logits from {token: {next: probability}}; unlisted next tokens ~0."""
    table = np.full((vocab_size, vocab_size), -30.0)
    for token, nexts in probabilities.items():
        for following, probability in nexts.items():
            table[token, following] = np.log(probability)
    return table


def _brute_force(table, max_length, alpha):
    """Best sequence over every continuation of BOS, by the paper's score."""
    log_probs = (
        table - np.log(np.exp(table[:, [1, 3, 4, 5, 6]]).sum(1))[:, None]
    )
    best = None
    for length in range(1, max_length + 1):
        for sequence in itertools.product([1, 3, 4, 5, 6], repeat=length):
            if EOS in sequence[:-1]:
                continue
            previous = (2,) + sequence[:-1]
            total = sum(log_probs[p, t] for p, t in zip(previous, sequence))
            score = total / ((5 + length) / 6) ** alpha
            ended = sequence[-1] == EOS or length == max_length
            if ended and (best is None or score > best[0]):
                best = (score, sequence)
    return best


# After BOS: "4" (short path 4 EOS, log p = -1.0) or "5" (long path
# 5 6 1 EOS, log p = -1.2). Alpha 0 prefers the short one, alpha 1 the
# long one: -1.0 / (7/6) = -0.857 < -1.2 / (9/6) = -0.8.
LENGTH_TABLE = _markov_table(
    {
        2: {4: 0.69, 5: 0.301},
        4: {EOS: 0.53, 4: 0.47},
        5: {6: 0.9999},
        6: {1: 0.9999},
        1: {EOS: 0.9999},
    }
)


def test_length_penalty_changes_the_choice_as_the_formula_says():
    choices = {}
    for alpha in (0.0, 1.0):
        expected_score, expected = _brute_force(LENGTH_TABLE, 4, alpha)
        tokens, scores = beam_search(
            MarkovStepper(LENGTH_TABLE),
            np.zeros((1, 1)),
            max_length=4,
            beam_size=3,
            length_penalty=alpha,
        )
        found = tuple(int(t) for t in np.array(tokens)[0] if t)
        assert found == expected
        np.testing.assert_allclose(scores[0], expected_score, rtol=1e-5)
        choices[alpha] = found
    assert len(choices[0.0]) < len(choices[1.0])


@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_a_wide_beam_finds_the_exact_best_sequence(alpha):
    rng = np.random.default_rng(3)
    table = rng.normal(0.0, 2.0, (7, 7))
    tokens, scores = beam_search(
        MarkovStepper(table),
        np.zeros((1, 1)),
        max_length=4,
        beam_size=5**4,
        length_penalty=alpha,
    )
    expected_score, expected = _brute_force(table, 4, alpha)
    assert tuple(int(t) for t in np.array(tokens)[0] if t) == expected
    np.testing.assert_allclose(scores[0], expected_score, rtol=1e-5)


def test_beam_size_one_is_greedy(trained_model):
    sources, _ = reversal_data(32, seed=21)
    greedy, greedy_scores = greedy_decode(trained_model, sources, 10)
    beam, beam_scores = beam_search(
        trained_model, sources, 10, beam_size=1, length_penalty=0.0
    )
    np.testing.assert_array_equal(np.array(beam), np.array(greedy))
    np.testing.assert_allclose(beam_scores, greedy_scores, rtol=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_beam_never_scores_below_greedy(trained_model, alpha):
    sources, _ = reversal_data(64, seed=22)
    _, greedy_scores = greedy_decode(
        trained_model, sources, 10, length_penalty=alpha
    )
    tokens, beam_scores = beam_search(
        trained_model, sources, 10, beam_size=4, length_penalty=alpha
    )
    beam_scores = np.array(beam_scores)
    assert (beam_scores >= np.array(greedy_scores) - 1e-4).all()
    # ... and the score is the model's own log-probability of the output.
    log_prob, counts = teacher_forced_log_prob(
        trained_model, sources, np.array(tokens)
    )
    np.testing.assert_allclose(
        beam_scores, log_prob / ((5 + counts) / 6) ** alpha, atol=1e-4
    )


def test_beam_search_batches_like_one_at_a_time(trained_model):
    sources, _ = reversal_data(6, seed=23)
    lengths = (sources != 0).sum(1) + 2
    together, _ = beam_search(trained_model, sources, 10, lengths=lengths)
    for row in range(len(sources)):
        width = int((sources[row] != 0).sum())
        alone, _ = beam_search(
            trained_model,
            sources[row : row + 1, :width],
            int(lengths[row]),
        )
        np.testing.assert_array_equal(
            np.array(together)[row, : lengths[row]], np.array(alone)[0]
        )
        assert not np.array(together)[row, lengths[row] :].any()


def test_compiled_beam_search_matches_eager(trained_model):
    sources, _ = reversal_data(8, seed=24)
    eager, eager_scores = beam_search(trained_model, sources, 10)
    for jit in (False, True):
        decode = compile_decoder(beam_search, jit_compile=jit)
        tokens, scores = decode(trained_model, sources, max_length=10)
        np.testing.assert_array_equal(np.array(tokens), np.array(eager))
        np.testing.assert_allclose(scores, eager_scores, atol=1e-4)


def test_language_model_beam_search():
    model = build_language_model(
        TransformerConfig.small(
            vocab_size=30, num_layers=1, d_model=16, num_heads=2, ff_dim=32
        )
    )
    prompts = np.array([[5, 6, 7], [9, 0, 0]])
    greedy, _ = greedy_decode(model, prompts, 5)
    beam, _ = beam_search(model, prompts, 5, beam_size=1, length_penalty=0.0)
    np.testing.assert_array_equal(np.array(beam), np.array(greedy))


def test_bad_beam_arguments():
    stepper = MarkovStepper(LENGTH_TABLE)
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(stepper, np.zeros((1, 1)), 4, beam_size=0)
    with pytest.raises(ValueError, match="length_penalty"):
        beam_search(stepper, np.zeros((1, 1)), 4, length_penalty=-1.0)
