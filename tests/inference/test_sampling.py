import numpy as np
import pytest

from keras_transformer.inference import (
    compile_decoder,
    greedy_decode,
    sample,
    sample_tokens,
)

from .conftest import MarkovStepper, reversal_data


def test_a_fixed_seed_reproduces_the_sample(trained_model):
    sources, _ = reversal_data(8, seed=31)
    first, _ = sample(trained_model, sources, 10, temperature=2.0, seed=5)
    again, _ = sample(trained_model, sources, 10, temperature=2.0, seed=5)
    other, _ = sample(trained_model, sources, 10, temperature=2.0, seed=6)
    np.testing.assert_array_equal(np.array(first), np.array(again))
    assert not np.array_equal(np.array(first), np.array(other))
    compiled = compile_decoder(sample, jit_compile=False)
    tokens, _ = compiled(
        trained_model, sources, max_length=10, temperature=2.0, seed=5
    )
    np.testing.assert_array_equal(np.array(tokens), np.array(first))


def test_top_k_one_is_greedy(trained_model):
    sources, _ = reversal_data(16, seed=32)
    greedy, _ = greedy_decode(trained_model, sources, 10)
    sampled, _ = sample(
        trained_model, sources, 10, top_k=1, temperature=3.0, seed=1
    )
    np.testing.assert_array_equal(np.array(sampled), np.array(greedy))


def test_samples_follow_the_filtered_distribution():
    probs = np.array([0.05, 0.4, 0.3, 0.15, 0.1])
    logits = np.tile(np.log(probs), (20000, 1))
    uniform = np.random.default_rng(0).random(20000)

    def frequencies(**kwargs):
        tokens = np.array(sample_tokens(logits, uniform, **kwargs))
        return np.bincount(tokens, minlength=5) / len(tokens)

    np.testing.assert_allclose(frequencies(), probs, atol=0.01)
    top2 = np.array([0, 0.4, 0.3, 0, 0]) / 0.7
    np.testing.assert_allclose(frequencies(top_k=2), top2, atol=0.01)
    # top_p=0.8: 0.4 + 0.3 < 0.8, so 0.15 joins; 0.1 and 0.05 do not.
    nucleus = np.array([0, 0.4, 0.3, 0.15, 0]) / 0.85
    np.testing.assert_allclose(frequencies(top_p=0.8), nucleus, atol=0.01)
    tempered = probs**2 / (probs**2).sum()
    np.testing.assert_allclose(
        frequencies(temperature=0.5), tempered, atol=0.01
    )


def test_sampling_never_emits_padding_or_start():
    table = np.zeros((7, 7))
    table[:, [0, 2]] = 50.0
    tokens, _ = sample(MarkovStepper(table), np.zeros((64, 1)), 6, seed=0)
    tokens = np.array(tokens)
    ended = np.cumsum(tokens == 3, axis=1) - (tokens == 3) > 0
    assert not np.isin(tokens[~ended], [0, 2]).any()
    assert (tokens[ended] == 0).all()


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"temperature": 0.0}, "temperature"),
        ({"top_k": -1}, "top_k"),
        ({"top_p": 0.0}, "top_p"),
    ],
)
def test_bad_sampling_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        sample(MarkovStepper(np.zeros((7, 7))), np.zeros((1, 1)), 4, **kwargs)
