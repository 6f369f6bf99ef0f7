"""A bound on the shapes of training batches, for XLA.

Under XLA every batch shape compiles once: seconds on a CPU. Batching by
tokens (``pipeline.batch_by_tokens``) gives one shape per combination of
the components' buckets (a source bucket with a target bucket), which a
corpus of varied lengths multiplies: 18 on Tatoeba, about 60 on SAMSum.
``plan_shapes`` keeps the ``max_shapes`` combinations that save the most
padding on a sample of the data, and pads every other example up to the
cheapest kept combination that holds it; the combination of the longest
buckets is always kept, so every example has one.
"""

import dataclasses

import numpy as np

from keras_transformer.data.pipeline import BucketKeys

#: Examples read to choose the shapes.
SHAPE_SAMPLE = 10000


@dataclasses.dataclass
class BatchShapes:
    """The bucket combinations that batches may take.

    Attributes:
        table: for every key of ``BucketKeys``, the key it is padded to.
        kept: the keys kept (at most the bound).
        seen: how many keys the sample held.
        padding: padded tokens of the sample with these shapes, over those
            with every combination its own (1.0: no more padding).
    """

    table: list
    kept: list
    seen: int
    padding: float

    def describe(self):
        """One line: the bound's effect."""
        return (
            f"{len(self.kept)} batch shapes (of {self.seen} bucket "
            f"combinations in a sample; {100 * (self.padding - 1):.1f}% "
            "more padded tokens)"
        )


def _digits(key, count, digits):
    return tuple((key // count**digit) % count for digit in range(digits))


def _key(buckets, count):
    return sum(bucket * count**digit for digit, bucket in enumerate(buckets))


def _holds(outer, inner):
    return all(a >= b for a, b in zip(outer, inner))


def choose_shapes(counts, lengths, digits, max_shapes):
    """The keys to keep, and the key each key is padded to.

    Args:
        counts: {key: examples} of a sample.
        lengths: the buckets' padded lengths.
        digits: the components a key describes.
        max_shapes: the most keys to keep (at least 1).

    Returns:
        ``(kept, table)``: the kept keys, and for each of the
        ``len(lengths) ** digits`` keys the kept key it is padded to (the
        one of fewest padded tokens whose buckets are all at least its
        own).
    """
    count = len(lengths)
    combos = {key: _digits(key, count, digits) for key in counts}
    top = (count - 1,) * digits

    def tokens(combo):
        return sum(lengths[bucket] for bucket in combo)

    def cost(kept):
        return sum(
            counts[key] * min(tokens(k) for k in kept if _holds(k, combos[key]))
            for key in counts
        )

    kept = [top]
    candidates = sorted(set(combos.values()) - {top})
    while len(kept) < max_shapes and candidates:
        best = min(candidates, key=lambda combo: cost(kept + [combo]))
        kept.append(best)
        candidates.remove(best)
    table = []
    for key in range(count**digits):
        combo = _digits(key, count, digits)
        holding = [k for k in kept if _holds(k, combo)]
        table.append(_key(min(holding, key=tokens), count))
    return sorted(_key(k, count) for k in kept), table


def needs_bound(element_spec, max_length, max_shapes):
    """Whether examples of ``element_spec`` could make more than
    ``max_shapes`` batch shapes."""
    buckets = BucketKeys(element_spec, max_length)
    return buckets.count**buckets.digits > max_shapes


def plan_shapes(dataset, max_length, max_shapes, sample=SHAPE_SAMPLE):
    """Chooses at most ``max_shapes`` batch shapes for ``dataset``.

    Args:
        dataset: encoded, unbatched examples (as ``batch_by_tokens`` takes
            them).
        max_length: the longest example (the last bucket).
        max_shapes: the most shapes (at least 1).
        sample: examples read to count the combinations.

    Returns:
        A ``BatchShapes`` for ``batch_by_tokens(..., shapes=)``.
    """
    buckets = BucketKeys(dataset.element_spec, max_length)
    keys = dataset.take(sample).map(buckets.key_of).batch(4096)
    values = np.concatenate([batch.numpy() for batch in keys] or [[]])
    unique, seen = np.unique(values.astype(np.int64), return_counts=True)
    counts = dict(zip(unique.tolist(), seen.tolist()))
    kept, table = choose_shapes(
        counts, buckets.lengths, buckets.digits, max_shapes
    )

    def padded(key):
        combo = _digits(key, buckets.count, buckets.digits)
        return sum(buckets.lengths[bucket] for bucket in combo)

    before = sum(counts[key] * padded(key) for key in counts)
    after = sum(counts[key] * padded(table[key]) for key in counts)
    return BatchShapes(
        table=table,
        kept=kept,
        seen=len(counts),
        padding=after / before if before else 1.0,
    )


__all__ = [
    "SHAPE_SAMPLE",
    "BatchShapes",
    "choose_shapes",
    "needs_bound",
    "plan_shapes",
]
