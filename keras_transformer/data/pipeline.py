"""tf.data pipelines: tokenize, filter, bucket by length, batch by tokens.

Translation batches hold about ``batch_tokens`` tokens (the paper used
batches of ~25,000 source and ~25,000 target tokens): each side of an
example falls into the bucket of its own length, examples whose sides share
buckets are batched together, and each side is padded to its bucket's fixed
length, so XLA compiles one program per bucket combination instead of one
per batch, and a short target is not padded to a long source's length.

The encoding functions are TensorFlow ops throughout, so ``Dataset.map``
traces them as they are (``do_not_convert``): AutoGraph would otherwise
rewrite the tokenizers' source each time a pipeline is built.
"""

import tensorflow as tf

from keras_transformer.special_tokens import BOS_ID, EOS_ID, PAD_ID

_BUCKET_LENGTHS = (
    8,
    12,
    16,
    24,
    32,
    48,
    64,
    96,
    128,
    192,
    256,
    384,
    512,
    768,
    1024,
    1536,
    2048,
)


def bucket_lengths(max_length):
    """Padded lengths of the buckets: a geometric ladder up to max_length."""
    lengths = [length for length in _BUCKET_LENGTHS if length < max_length]
    return lengths + [max_length]


def _truncate(ids, max_length, keep_last):
    """Keeps at most ``max_length`` ids; the last one (EOS) survives."""
    if not keep_last:
        return ids[:max_length]
    return tf.cond(
        tf.shape(ids)[0] > max_length,
        lambda: tf.concat([ids[: max_length - 1], ids[-1:]], 0),
        lambda: ids,
    )


def encode_translation(
    dataset,
    source_tokenizer,
    target_tokenizer,
    max_length,
    truncate=False,
    truncate_source=None,
    source_text=None,
):
    """Maps (source, target) strings to model features and labels.

    The source gets EOS; the target becomes ``target_tokens`` = BOS + ids
    (decoder input) and ``labels`` = ids + EOS (the next tokens).

    Args:
        dataset: a ``tf.data.Dataset`` of (source, target) tf.string
            scalars.
        source_tokenizer, target_tokenizer: ``Tokenizer``s.
        max_length: longest source and target (with BOS/EOS).
        truncate: truncate longer examples (evaluation) instead of dropping
            them (training, as the paper's filtering of long sentences).
        truncate_source: truncate longer sources (None: as ``truncate``);
            e.g. a summary's document keeps its start even in training.
        source_text: a function of the source ``tf.string`` applied before
            tokenization (None: the text as it is).

    Returns:
        A dataset of ``({"source_tokens": (S,), "target_tokens": (T,)},
        labels (T,))`` int32 tensors.
    """

    if truncate_source is None:
        truncate_source = truncate

    @tf.autograph.experimental.do_not_convert
    def encode(source, target):
        if source_text is not None:
            source = source_text(source)
        source_ids = source_tokenizer.tokenize(source, add_eos=True)
        target_ids = target_tokenizer.tokenize(
            target, add_bos=True, add_eos=True
        )
        if truncate_source:
            source_ids = _truncate(source_ids, max_length, keep_last=True)
        if truncate:
            target_ids = _truncate(target_ids, max_length + 1, keep_last=True)
        features = {
            "source_tokens": tf.cast(source_ids, tf.int32),
            "target_tokens": tf.cast(target_ids[:-1], tf.int32),
        }
        return features, tf.cast(target_ids[1:], tf.int32)

    dataset = dataset.map(encode, num_parallel_calls=tf.data.AUTOTUNE)
    if not truncate:
        dataset = dataset.filter(
            lambda features, labels: tf.logical_and(
                tf.shape(features["source_tokens"])[0] <= max_length,
                tf.shape(labels)[0] <= max_length,
            )
        )
    return dataset


def encode_classification(
    dataset, tokenizer, max_length, add_bos=True, add_eos=False
):
    """Maps (text, label) to ``({"tokens": (T,)}, label)``, truncating.

    With ``add_bos`` the first token is BOS, the "class" token that
    ``build_classifier(pooling="first")`` reads; with ``add_eos`` the last
    is EOS, kept by the truncation (BERT's ``[CLS] text [SEP]``).
    """

    @tf.autograph.experimental.do_not_convert
    def encode(text, label):
        ids = tokenizer.tokenize(text, add_bos=add_bos, add_eos=add_eos)
        ids = tf.cast(_truncate(ids, max_length, keep_last=add_eos), tf.int32)
        return {"tokens": ids}, tf.cast(label, tf.int32)

    return dataset.map(encode, num_parallel_calls=tf.data.AUTOTUNE)


def encode_language_model(ids, sequence_length):
    """Cuts a long 1-D id sequence into (tokens, next tokens) windows.

    Args:
        ids: a 1-D int tensor or array (the whole tokenized text).
        sequence_length: T, tokens per example.

    Returns:
        A dataset of ``({"tokens": (T,)}, labels (T,))``, non-overlapping
        windows, the labels shifted by one.
    """
    ids = tf.cast(tf.convert_to_tensor(ids), tf.int32)
    windows = tf.data.Dataset.from_tensor_slices(ids).batch(
        sequence_length + 1, drop_remainder=True
    )
    return windows.map(
        lambda window: ({"tokens": window[:-1]}, window[1:]),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def encode_sentences(dataset, tokenizer, max_length):
    """Maps strings to BOS + pieces + EOS ids, at most ``max_length``
    (longer ones keep their first ``max_length - 1`` tokens and EOS)."""

    @tf.autograph.experimental.do_not_convert
    def encode(text):
        ids = tokenizer.tokenize(text, add_bos=True, add_eos=True)
        return tf.cast(_truncate(ids, max_length, keep_last=True), tf.int32)

    return dataset.map(encode, num_parallel_calls=tf.data.AUTOTUNE)


def mask_tokens(
    ids,
    seed,
    mask_id,
    vocab_size,
    first_normal_id,
    rate=0.15,
    mask_share=0.8,
    random_share=0.1,
):
    """BERT's masking of one sequence (Devlin et al. 2019, section 3.1).

    Each token that is not special (PAD, BOS, EOS or the mask itself) is
    selected with probability ``rate``; a selected token becomes the mask
    id with probability ``mask_share``, a random ordinary token with
    probability ``random_share``, and stays itself otherwise. The label of
    a selected position is its original id; every other label is PAD, so
    the masked losses and metrics read the selected positions only.

    Args:
        ids: (T,) int32 token ids.
        seed: a shape-[2] int seed (``tf.random.stateless_*``); the same
            seed gives the same masking.
        mask_id: the tokenizer's ``mask_id``.
        vocab_size: the vocabulary size.
        first_normal_id: the smallest id of an ordinary token (random
            replacements are drawn from ``[first_normal_id, vocab_size)``).
        rate, mask_share, random_share: the three proportions (BERT: 15%,
            80%, 10%).

    Returns:
        ``(inputs, labels)``: (T,) int32 each.
    """
    seed = tf.cast(seed, tf.int64)
    shape = tf.shape(ids)
    special = (
        tf.equal(ids, PAD_ID)
        | tf.equal(ids, BOS_ID)
        | tf.equal(ids, EOS_ID)
        | tf.equal(ids, mask_id)
    )
    selected = tf.logical_not(special) & (
        tf.random.stateless_uniform(shape, seed) < rate
    )
    how = tf.random.stateless_uniform(shape, seed + 1)
    random_ids = tf.random.stateless_uniform(
        shape,
        seed + 2,
        minval=first_normal_id,
        maxval=vocab_size,
        dtype=tf.int32,
    )
    inputs = tf.where(selected & (how < mask_share), mask_id, ids)
    inputs = tf.where(
        selected & (how >= mask_share) & (how < mask_share + random_share),
        random_ids,
        inputs,
    )
    labels = tf.where(selected, ids, PAD_ID)
    return inputs, labels


def batch_by_tokens(
    dataset,
    batch_tokens,
    max_length,
    drop_remainder=False,
    min_batch_size=1,
    max_batch_size=None,
    shapes=None,
    batch_multiple=1,
):
    """Groups examples of similar length into batches of ~``batch_tokens``.

    Every variable-length component of an example (a source, a target,
    labels) falls into the bucket of its own length from
    ``bucket_lengths(max_length)``; examples whose components share buckets
    are batched together and each component is padded to its bucket's
    length. A batch holds ``batch_tokens // L`` examples, where ``L`` is its
    longest bucket, so every batch has a static shape per bucket
    combination, and a short side is never padded to the length of a long
    one (a summary is not padded to its dialogue's length). Components of
    fixed length (span labels, class ids) are left as they are.

    Args:
        dataset: from ``encode_translation`` / ``encode_classification``.
        batch_tokens: tokens per batch (per side).
        max_length: the longest example (the last bucket).
        drop_remainder: drop incomplete batches (training with XLA).
        min_batch_size: the smallest batch of the longest bucket.
        max_batch_size: cap on examples per batch.
        shapes: a ``data.batch_shapes.BatchShapes`` that maps every bucket
            combination to one of a few (under XLA, each shape compiles
            once); None: every combination is its own shape.
        batch_multiple: every batch size is rounded down to a multiple of
            this (at least one multiple), so that a batch splits evenly
            over devices.

    Returns:
        A batched dataset, padded with ``PAD_ID``.

    Raises:
        tf.errors.InvalidArgumentError: when iterated, for a component
            longer than ``max_length`` (encode with ``max_length`` first).
    """
    lengths = bucket_lengths(max_length)
    sizes = [max(min_batch_size, batch_tokens // length) for length in lengths]
    if max_batch_size:
        sizes = [min(size, max_batch_size) for size in sizes]
    sizes = [
        max(batch_multiple, size - size % batch_multiple) for size in sizes
    ]
    specs = tf.nest.flatten(dataset.element_spec)
    buckets = BucketKeys(dataset.element_spec, max_length)
    bucket_sizes = tf.constant(sizes, tf.int64)
    key_of = buckets.key_of
    if shapes is not None:
        table = tf.constant(shapes.table, tf.int64)

        def key_of(*example):
            return tf.gather(table, buckets.key_of(*example))

    def batch_size_of(key):
        return tf.gather(bucket_sizes, tf.reduce_max(buckets.of(key)))

    def batch_bucket(key, window):
        shapes_ = [spec.shape for spec in specs]
        for index, bucket in zip(buckets.varying, buckets.of(key)):
            rest = [-1 if dim is None else dim for dim in shapes_[index][1:]]
            shapes_[index] = tf.concat(
                [
                    buckets.padded_lengths[bucket][None],
                    tf.constant(rest, tf.int64),
                ],
                0,
            )
        padded = tf.nest.pack_sequence_as(dataset.element_spec, shapes_)
        return window.padded_batch(
            batch_size_of(key),
            padded_shapes=padded,
            padding_values=PAD_ID,
            drop_remainder=drop_remainder,
        )

    return dataset.group_by_window(
        key_of, batch_bucket, window_size_func=batch_size_of
    )


class BucketKeys:
    """The bucket combination of an example, packed in one int64 key.

    Each variable-length component (a source, a target, labels) falls into
    the bucket of its length from ``bucket_lengths(max_length)``; the key
    holds the components' bucket indices as digits in base ``count``.

    Args:
        element_spec: the unbatched dataset's ``element_spec``.
        max_length: the longest example (the last bucket).

    Raises:
        ValueError: no component has a variable length.
    """

    def __init__(self, element_spec, max_length):
        specs = tf.nest.flatten(element_spec)
        self.varying = [
            index
            for index, spec in enumerate(specs)
            if spec.shape.rank and spec.shape[0] is None
        ]
        if not self.varying:
            raise ValueError(
                "batch_by_tokens needs examples with a variable-length "
                f"component; got {element_spec}. Batch fixed-length "
                "examples with dataset.batch()."
            )
        self.max_length = max_length
        self.lengths = bucket_lengths(max_length)
        self.count = len(self.lengths)
        self.padded_lengths = tf.constant(self.lengths, tf.int64)

    @property
    def digits(self):
        """How many components the key describes."""
        return len(self.varying)

    def of(self, key):
        """The varying components' bucket indices in ``key``."""
        return [
            (key // self.count**digit) % self.count
            for digit in range(self.digits)
        ]

    def key_of(self, *example):
        """The key of one example (a scalar int64 tensor)."""
        values = tf.nest.flatten(example)
        key = tf.constant(0, tf.int64)
        for digit, index in enumerate(self.varying):
            length = tf.shape(values[index], out_type=tf.int64)[0]
            tf.debugging.assert_less_equal(
                length,
                tf.constant(self.max_length, tf.int64),
                message=(
                    f"an example is longer than max_length={self.max_length}"
                    ": encode with the same max_length before batching"
                ),
            )
            key += bucket_index(length, self.padded_lengths) * self.count**digit
        return key


def bucket_index(length, lengths):
    """The index of the first of ``lengths`` that is >= ``length``.

    Args:
        length: a scalar int64 tensor.
        lengths: (K,) increasing int64 bucket lengths.

    Returns:
        A scalar int64 tensor (K when ``length`` exceeds them all).
    """
    return tf.searchsorted(lengths, length[None], out_type=tf.int64)[0]


def pad_to_bucket(ids, max_length):
    """(B, S) ids padded with ``PAD_ID`` to the first of
    ``bucket_lengths(max_length)`` >= S, as batches are in training.

    Args:
        ids: (B, S) int ids, S <= ``max_length``.
        max_length: the longest sequence (the last bucket).

    Returns:
        (B, S') ids, S' a bucket length; the extra columns are padding.
    """
    lengths = tf.constant(bucket_lengths(max_length), tf.int64)
    width = tf.shape(ids, out_type=tf.int64)[1]
    bucket = tf.gather(lengths, bucket_index(width, lengths))
    return tf.pad(ids, [[0, 0], [0, bucket - width]], constant_values=PAD_ID)


__all__ = [
    "BOS_ID",
    "EOS_ID",
    "PAD_ID",
    "BucketKeys",
    "batch_by_tokens",
    "bucket_index",
    "bucket_lengths",
    "encode_classification",
    "encode_language_model",
    "encode_sentences",
    "encode_translation",
    "mask_tokens",
    "pad_to_bucket",
]
