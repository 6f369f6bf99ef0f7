import numpy as np
import pytest
import tensorflow as tf

from keras_transformer.data.pipeline import (
    batch_by_tokens,
    bucket_lengths,
    encode_classification,
    encode_language_model,
    encode_translation,
)
from keras_transformer.data.tokenizers import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    ByteTokenizer,
)


def _pairs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    words = ["ab", "cde", "f", "ghij"]
    pairs = []
    for _ in range(n):
        source = " ".join(rng.choice(words, rng.integers(1, 12)))
        pairs.append((source, source[::-1]))
    return pairs


def _dataset(pairs):
    sources, targets = zip(*pairs)
    return tf.data.Dataset.from_tensor_slices((list(sources), list(targets)))


def test_encode_translation_shifts_targets():
    tokenizer = ByteTokenizer()
    dataset = encode_translation(
        _dataset([("hi", "yo")]), tokenizer, tokenizer, max_length=16
    )
    features, labels = next(iter(dataset))
    assert features["source_tokens"].numpy().tolist() == [
        ord("h") + 4,
        ord("i") + 4,
        EOS_ID,
    ]
    assert features["target_tokens"].numpy().tolist() == [
        BOS_ID,
        ord("y") + 4,
        ord("o") + 4,
    ]
    assert labels.numpy().tolist() == [ord("y") + 4, ord("o") + 4, EOS_ID]


def test_long_examples_dropped_in_training_truncated_in_evaluation():
    tokenizer = ByteTokenizer()
    pairs = [("a" * 30, "b"), ("c", "d")]
    kept = list(encode_translation(_dataset(pairs), tokenizer, tokenizer, 8))
    assert len(kept) == 1
    truncated = list(
        encode_translation(
            _dataset(pairs), tokenizer, tokenizer, 8, truncate=True
        )
    )
    source = truncated[0][0]["source_tokens"].numpy()
    assert len(source) == 8 and source[-1] == EOS_ID


def _summary_pairs(n, seed=0):
    """Long documents with short summaries, as in summarisation."""
    rng = np.random.default_rng(seed)
    return [
        ("x" * int(rng.integers(1, 60)), "y" * int(rng.integers(1, 10)))
        for _ in range(n)
    ]


def test_each_side_is_padded_to_its_own_bucket_within_the_token_budget():
    tokenizer = ByteTokenizer()
    dataset = encode_translation(
        _dataset(_pairs(300) + _summary_pairs(300)),
        tokenizer,
        tokenizer,
        max_length=64,
    )
    batches = list(batch_by_tokens(dataset, batch_tokens=256, max_length=64))
    allowed = bucket_lengths(64)
    shapes = set()
    examples = 0
    for features, labels in batches:
        sides = {
            "source": features["source_tokens"].numpy(),
            "target": features["target_tokens"].numpy(),
            "labels": labels.numpy(),
        }
        longest = max(side.shape[1] for side in sides.values())
        assert labels.shape[0] * longest <= max(256, longest)
        for side in sides.values():
            # The padded length is the smallest bucket that fits the
            # longest example of the batch, whatever the other side's.
            length = side.shape[1]
            assert length in allowed
            real = (side != PAD_ID).sum(1)
            smaller = [b for b in allowed if b < length]
            assert real.max() > (smaller[-1] if smaller else 0)
            assert real.max() <= length
        # Every example fits its bucket: no real token was cut.
        assert np.all((sides["labels"] == EOS_ID).sum(1) == 1)
        shapes.add((sides["source"].shape[1], sides["target"].shape[1]))
        examples += labels.shape[0]
    assert examples == 600
    # Short summaries of long documents got short target buckets.
    assert any(target < source for source, target in shapes)
    assert len(shapes) <= len(allowed) ** 2


def test_batch_sizes_split_evenly_over_devices():
    tokenizer = ByteTokenizer()
    dataset = encode_translation(
        _dataset(_pairs(300)), tokenizer, tokenizer, max_length=64
    )
    whole = batch_by_tokens(dataset, 200, max_length=64, drop_remainder=True)
    split = batch_by_tokens(
        dataset, 200, max_length=64, drop_remainder=True, batch_multiple=4
    )
    # 200 // 8 = 25 examples of 8 tokens become 24, 200 // 64 = 3 become 4.
    sizes = {int(labels.shape[0]) for _, labels in split}
    assert sizes and all(size % 4 == 0 for size in sizes), sizes
    assert any(int(labels.shape[0]) % 4 for _, labels in whole)


def test_batching_refuses_examples_longer_than_max_length():
    tokenizer = ByteTokenizer()
    dataset = encode_translation(
        _dataset([("a" * 100, "b")]), tokenizer, tokenizer, max_length=200
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="max_length=64"):
        list(batch_by_tokens(dataset, batch_tokens=256, max_length=64))


def test_fixed_length_components_keep_their_shape():
    tokens = tf.ragged.constant([[5] * n for n in (3, 9, 20, 4)])
    dataset = tf.data.Dataset.from_tensor_slices(
        ({"tokens": tokens}, tf.constant([[0, 1]] * 4))
    ).map(lambda features, labels: ({"tokens": features["tokens"]}, labels))
    for features, labels in batch_by_tokens(dataset, 64, max_length=32):
        assert labels.shape[1] == 2
        assert features["tokens"].shape[1] in bucket_lengths(32)


def test_classification_and_language_model_encoding():
    tokenizer = ByteTokenizer()
    texts = tf.data.Dataset.from_tensor_slices((["hello", "a" * 50], [1, 0]))
    encoded = list(encode_classification(texts, tokenizer, max_length=10))
    assert encoded[0][0]["tokens"].numpy()[0] == BOS_ID
    assert len(encoded[1][0]["tokens"]) == 10
    assert int(encoded[0][1]) == 1
    windows = list(encode_language_model(np.arange(25), sequence_length=4))
    assert len(windows) == 5
    tokens, labels = windows[1]
    np.testing.assert_array_equal(tokens["tokens"], [5, 6, 7, 8])
    np.testing.assert_array_equal(labels, [6, 7, 8, 9])


def test_mask_tokens_follows_berts_proportions():
    from keras_transformer.data.pipeline import mask_tokens

    mask_id, vocab = 4, 50
    rng = np.random.default_rng(0)
    ids = np.concatenate(
        [[BOS_ID], rng.integers(5, vocab, 20000), [EOS_ID], [0] * 50]
    ).astype("int32")
    inputs, labels = (
        np.array(x) for x in mask_tokens(ids, [7, 8], mask_id, vocab, 5)
    )
    selected = labels != 0
    ordinary = ids >= 5
    assert not selected[~ordinary].any()  # BOS, EOS and PAD never
    assert abs(selected[ordinary].mean() - 0.15) < 0.01
    np.testing.assert_array_equal(labels[selected], ids[selected])
    masked = inputs[selected] == mask_id
    kept = inputs[selected] == ids[selected]
    replaced = ~masked & ~kept
    assert abs(masked.mean() - 0.8) < 0.02
    assert abs(replaced.mean() - 0.1) < 0.02  # (a random token may equal
    assert abs(kept.mean() - 0.1) < 0.02  # the original, 1 time in 45)
    assert (inputs[selected][replaced] >= 5).all()
    np.testing.assert_array_equal(inputs[~selected], ids[~selected])
    again, _ = mask_tokens(ids, [7, 8], mask_id, vocab, 5)
    np.testing.assert_array_equal(np.array(again), inputs)
    other, _ = mask_tokens(ids, [7, 9], mask_id, vocab, 5)
    assert not np.array_equal(np.array(other), inputs)
