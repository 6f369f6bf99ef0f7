"""Cutting data that ships without an official split into train,
validation and test: :func:`split_examples` (examples, grouped by their
source so that no source is in two splits) and :func:`split_text` (one
text, cut near line breaks).
"""

from __future__ import annotations

import random

_SPLIT_SEARCH_CHARS = 1000


def check_fractions(validation_fraction, test_fraction):
    """Refuses split fractions that are not numbers in [0, 1), or that
    leave no training data.

    Raises:
        ValueError: naming the fraction and a valid value.
    """
    for name, value in (
        ("validation_fraction", validation_fraction),
        ("test_fraction", test_fraction),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, got {value!r}.")
        if not 0 <= value < 1:
            raise ValueError(
                f"{name} must be in [0, 1), got {value!r}. Pass e.g. 0.1 for "
                f"10%."
            )
    if validation_fraction + test_fraction >= 1:
        raise ValueError(
            f"validation_fraction + test_fraction = "
            f"{validation_fraction + test_fraction} leaves no training data. "
            f"Make their sum smaller than 1."
        )


def group_key(example):
    """What ``split_examples`` groups an example by: its source."""
    key = example[0] if isinstance(example, (tuple, list)) else example
    try:
        hash(key)
    except TypeError:
        key = repr(key)
    return key


def split_examples(
    examples, validation_fraction=0.1, test_fraction=0.1, seed=0
):
    """Shuffles examples and splits them into train/validation/test.

    Examples with the same source (the first element of a tuple or list,
    or the example itself otherwise) always land in the same split, so a
    sentence with several translations cannot leak from train into test.
    Whole groups are given out, test first, until each split has its share
    of the examples; sizes are therefore approximate when groups are large.

    Args:
        examples: A list (or other iterable) of examples, typically
            ``(source, target)`` or ``(text, label)`` tuples.
        validation_fraction: Share of the examples for validation, in
            ``[0, 1)``.
        test_fraction: Share of the examples for test, in ``[0, 1)``.
        seed: The shuffle seed; the same seed gives the same splits.

    Returns:
        A dict with keys ``"train"``, ``"validation"`` and ``"test"``, each
        a shuffled list of examples. Together they hold every example once.

    Raises:
        ValueError: If a fraction is outside ``[0, 1)`` or the two sum to 1
            or more.

    Example:
        >>> pairs = [("Go.", "Ve."), ("Go.", "Vete."), ("Hi.", "Hola.")]
        >>> splits = split_examples(pairs * 10, 0.1, 0.1, seed=0)
        >>> sum(len(v) for v in splits.values())
        30
    """
    check_fractions(validation_fraction, test_fraction)
    examples = list(examples)
    groups = {}
    for example in examples:
        groups.setdefault(group_key(example), []).append(example)
    keys = list(groups)
    rng = random.Random(seed)
    rng.shuffle(keys)
    num_test = round(len(examples) * test_fraction)
    num_validation = round(len(examples) * validation_fraction)
    train, validation, test = [], [], []
    for key in keys:
        if len(test) < num_test:
            test.extend(groups[key])
        elif len(validation) < num_validation:
            validation.extend(groups[key])
        else:
            train.extend(groups[key])
    for part in (train, validation, test):
        rng.shuffle(part)
    return {"train": train, "validation": validation, "test": test}


def _cut_near_newline(text, position, window):
    """Moves ``position`` to just after the nearest newline, if close."""
    before = text.rfind("\n", max(position - window, 0), position)
    after = text.find("\n", position, position + window)
    options = [i + 1 for i in (before, after) if i != -1]
    if not options:
        return position
    return min(options, key=lambda i: (abs(i - position), i))


def split_text(text, validation_fraction=0.1, test_fraction=0.1):
    """Splits one long text into contiguous train/validation/test parts.

    The train part is the beginning of the text, then validation, then
    test. Each cut is moved to just after the nearest newline within
    ``min(1000, len(text) // 20)`` characters of its exact position, so
    that lines are not broken; without a newline there the cut stays put.

    Args:
        text: The text, e.g. from :func:`read_text`.
        validation_fraction: Share of the characters for validation, in
            ``[0, 1)``.
        test_fraction: Share of the characters for test, in ``[0, 1)``.

    Returns:
        A dict with keys ``"train"``, ``"validation"`` and ``"test"`` whose
        values, concatenated in that order, give back ``text``.

    Raises:
        ValueError: If a fraction is outside ``[0, 1)`` or the two sum to 1
            or more.

    Example:
        >>> parts = split_text("a\\nb\\nc\\nd\\n" * 100, 0.1, 0.1)
        >>> "".join(parts.values()) == "a\\nb\\nc\\nd\\n" * 100
        True
        >>> parts["test"].startswith(("a", "b", "c", "d"))
        True
    """
    check_fractions(validation_fraction, test_fraction)
    size = len(text)
    window = min(_SPLIT_SEARCH_CHARS, size // 20)
    cuts = []
    for held_out in (validation_fraction + test_fraction, test_fraction):
        position = size - round(size * held_out)
        if 0 < position < size:
            position = _cut_near_newline(text, position, window)
        cuts.append(position)
    first, second = cuts[0], max(cuts)
    return {
        "train": text[:first],
        "validation": text[first:second],
        "test": text[second:],
    }
