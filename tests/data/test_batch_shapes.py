import itertools

import numpy as np
import pytest
import tensorflow as tf

from keras_transformer.data.batch_shapes import (
    choose_shapes,
    needs_bound,
    plan_shapes,
)
from keras_transformer.data.pipeline import (
    PAD_ID,
    batch_by_tokens,
    bucket_lengths,
    encode_translation,
)
from keras_transformer.data.tokenizers import ByteTokenizer

LENGTHS = [8, 12, 16, 24, 32]


def _combo(key, digits=2, count=len(LENGTHS)):
    return tuple((key // count**d) % count for d in range(digits))


def _key(combo, count=len(LENGTHS)):
    return sum(b * count**d for d, b in enumerate(combo))


def _padded(combo):
    return sum(LENGTHS[b] for b in combo)


@pytest.mark.parametrize("max_shapes", [1, 2, 4, 25])
def test_every_combination_is_padded_to_the_cheapest_kept_one_that_holds_it(
    max_shapes,
):
    rng = np.random.default_rng(0)
    counts = {key: int(rng.integers(1, 100)) for key in range(25)}
    kept, table = choose_shapes(counts, LENGTHS, 2, max_shapes)
    assert len(kept) == min(max_shapes, 25)
    assert _key((4, 4)) in kept  # the longest buckets hold everything
    assert len(table) == 25
    for key, target in enumerate(table):
        assert target in kept
        holding = [
            k
            for k in kept
            if all(a >= b for a, b in zip(_combo(k), _combo(key)))
        ]
        assert _combo(target) in [_combo(k) for k in holding]
        assert _padded(_combo(target)) == min(
            _padded(_combo(k)) for k in holding
        )
    if max_shapes >= 25:  # no bound: nothing is padded further
        assert table == list(range(25))


def test_the_kept_shapes_are_those_that_save_the_most_padding():
    # Nearly every example is short on both sides: keeping that
    # combination saves far more than keeping a rare one.
    counts = {_key((0, 0)): 1000, _key((3, 1)): 2, _key((4, 4)): 5}
    kept, table = choose_shapes(counts, LENGTHS, 2, 2)
    assert sorted(kept) == sorted([_key((0, 0)), _key((4, 4))])
    assert table[_key((3, 1))] == _key((4, 4))

    # An exhaustive search over pairs agrees.
    def cost(pair):
        return sum(
            n
            * min(
                _padded(_combo(k))
                for k in pair
                if all(a >= b for a, b in zip(_combo(k), _combo(key)))
            )
            for key, n in counts.items()
        )

    best = min(
        (
            pair
            for pair in itertools.combinations(range(25), 2)
            if _key((4, 4)) in pair
        ),
        key=cost,
    )
    assert cost(tuple(kept)) == cost(best)


def _varied_dataset(n=600, seed=0):
    """Pairs of independent lengths: many bucket combinations."""
    rng = np.random.default_rng(seed)
    pairs = [
        ("s" * int(rng.integers(1, 60)), "t" * int(rng.integers(1, 60)))
        for _ in range(n)
    ]
    sources, targets = zip(*pairs)
    tokenizer = ByteTokenizer()
    return encode_translation(
        tf.data.Dataset.from_tensor_slices((list(sources), list(targets))),
        tokenizer,
        tokenizer,
        max_length=64,
    )


def _shapes_and_tokens(batches):
    shapes, tokens = set(), 0
    for features, labels in batches:
        shapes.add(
            (
                features["source_tokens"].shape,
                features["target_tokens"].shape,
            )
        )
        tokens += int((features["source_tokens"] != PAD_ID).numpy().sum())
        tokens += int((labels != PAD_ID).numpy().sum())
    return shapes, tokens


def test_bounded_training_batches_take_at_most_the_bound_of_shapes():
    dataset = _varied_dataset()
    free, _ = _shapes_and_tokens(
        batch_by_tokens(dataset, 512, 64, drop_remainder=True)
    )
    # 7 buckets a side (64): more combinations than 6 are possible.
    assert needs_bound(dataset.element_spec, 64, 6)
    assert not needs_bound(dataset.element_spec, 8, 6)  # one bucket
    plan = plan_shapes(dataset, 64, max_shapes=6)
    assert plan.seen == len(bucket_lengths(64)) ** 2 > 6
    assert len(plan.kept) == 6 and plan.padding > 1.0
    bounded, _ = _shapes_and_tokens(
        batch_by_tokens(dataset, 512, 64, drop_remainder=True, shapes=plan)
    )
    assert len(free) > 6 >= len(bounded)
    # Without dropping the remainders, every real token is still there.
    _, all_tokens = _shapes_and_tokens(batch_by_tokens(dataset, 512, 64))
    _, all_bounded = _shapes_and_tokens(
        batch_by_tokens(dataset, 512, 64, shapes=plan)
    )
    assert all_tokens == all_bounded
    assert "6 batch shapes (of 49 bucket combinations" in plan.describe()
