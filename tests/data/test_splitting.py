"""Splitting examples (grouped by source) and texts (near newlines)."""

from collections import Counter

import pytest

from keras_transformer.data.splitting import split_examples, split_text


def _pairs_with_duplicates():
    pairs = []
    for i in range(300):
        for j in range(1 + i % 4):  # 1 to 4 translations per source
            pairs.append((f"source {i}", f"target {i}.{j}"))
    return pairs


def test_split_examples_keeps_every_example_once():
    pairs = _pairs_with_duplicates()
    splits = split_examples(pairs, 0.1, 0.2, seed=3)
    assert sorted(splits) == ["test", "train", "validation"]
    combined = [p for part in splits.values() for p in part]
    assert Counter(combined) == Counter(pairs)
    n = len(pairs)
    assert abs(len(splits["test"]) - 0.2 * n) <= 4
    assert abs(len(splits["validation"]) - 0.1 * n) <= 4


def test_split_examples_groups_by_source():
    splits = split_examples(_pairs_with_duplicates(), 0.1, 0.1, seed=0)
    owners = {}
    for name, part in splits.items():
        for source, _ in part:
            assert owners.setdefault(source, name) == name


def test_split_examples_is_deterministic_and_shuffled():
    pairs = _pairs_with_duplicates()
    first = split_examples(pairs, seed=1)
    assert first == split_examples(pairs, seed=1)
    assert first != split_examples(pairs, seed=2)
    assert first["train"] != [p for p in pairs if p in first["train"]]


def test_split_examples_mixes_copies_within_a_split():
    splits = split_examples(_pairs_with_duplicates(), 0.1, 0.1, seed=0)
    sources = [source for source, _ in splits["train"]]
    runs = 1 + sum(a != b for a, b in zip(sources, sources[1:]))
    # Copies of a source are shuffled apart, not kept in one block.
    assert runs > len(set(sources))


def test_split_examples_plain_items_and_bad_fractions():
    splits = split_examples(list(range(100)), 0.25, 0.25)
    assert [len(splits[k]) for k in ("train", "validation", "test")] == [
        50,
        25,
        25,
    ]
    assert sorted(sum(splits.values(), [])) == list(range(100))
    for bad in [(0.5, 0.5), (-0.1, 0.1), (0.1, 1.0)]:
        with pytest.raises(ValueError, match="fraction"):
            split_examples([1, 2, 3], *bad)


def test_split_text_cuts_at_newlines():
    # Lines of varied length, so the exact cut points fall inside lines.
    lines = [f"line {i} " + "x" * (i * 7 % 23) for i in range(200)]
    text = "\n".join(lines) + "\n"
    size = len(text)
    assert text[size - round(0.2 * size) - 1] != "\n"
    parts = split_text(text, 0.1, 0.2)
    assert parts["train"] + parts["validation"] + parts["test"] == text
    assert parts["train"].endswith("\n")
    assert parts["validation"].endswith("\n")
    assert parts["validation"].startswith("line ")
    assert parts["test"].startswith("line ")
    assert abs(len(parts["test"]) - 0.2 * size) <= 30
    assert abs(len(parts["validation"]) - 0.1 * size) <= 30


def test_split_text_without_newlines_and_zero_fraction():
    text = "abcdefghij" * 10
    parts = split_text(text, 0.1, 0.2)
    assert parts == {
        "train": text[:70],
        "validation": text[70:80],
        "test": text[80:],
    }
    parts = split_text(text, 0.0, 0.3)
    assert parts["validation"] == ""
    assert parts["train"] + parts["test"] == text
    with pytest.raises(ValueError, match="fraction"):
        split_text(text, 0.6, 0.5)
