"""Words to subword ids with first-piece tag alignment (token tagging).

Each word is tokenized on its own; its first piece carries the word's tag
and the other pieces are ignored by the loss and the metrics. A sentence
becomes BOS + the pieces of its words + EOS, cut to ``max_length``
tokens (the words whose first piece is cut away are not tagged). The
training pipeline and the ``EntityTagger`` graph both use these helpers,
so a word is split the same way in both.
"""

import tensorflow as tf


def word_pieces(tokenizer, words):
    """The ids of every word, each tokenized alone.

    Args:
        tokenizer: a ``data.tokenizer.Tokenizer``.
        words: N words, a [N] ``tf.string`` tensor.

    Returns:
        int32 ``tf.RaggedTensor`` [N, None], at least one id per word (a
        word that gives no piece becomes the tokenizer's ``unk_id``).

    Example:

    >>> word_pieces(ByteTokenizer(), tf.constant(["ab", "c"])).to_list()
    [[101, 102], [103]]
    """
    pieces = tokenizer.tokenize(words)
    empty = tf.cast(pieces.row_lengths() == 0, tf.int64)
    unknown = tf.RaggedTensor.from_row_lengths(
        tf.fill(
            [tf.reduce_sum(empty)], tf.constant(tokenizer.unk_id, tf.int32)
        ),
        empty,
    )
    return tf.concat([pieces, unknown], axis=1)


def first_piece_positions(piece_counts):
    """Where each word's first piece sits, after BOS.

    Args:
        piece_counts: int64 ``tf.RaggedTensor`` [B, (W)], pieces per word.

    Returns:
        int64 ``tf.RaggedTensor`` [B, (W)]: 1 + the pieces before the word
        in its sentence.
    """
    flat = piece_counts.flat_values
    before = tf.cumsum(flat, exclusive=True)
    # The total at the end: a last row without words starts there.
    padded = tf.concat([before, [tf.reduce_sum(flat)]], axis=0)
    row_start = tf.gather(padded, piece_counts.row_starts())
    rows = piece_counts.value_rowids()
    return piece_counts.with_flat_values(
        1 + before - tf.gather(row_start, rows)
    )


def encode_tagged_words(dataset, tokenizer, max_length):
    """Maps ``(words [W], tags [W])`` to ``({"tokens": (T,)}, labels (T,))``.

    ``tokens`` is BOS + every word's pieces + EOS, at most ``max_length``
    (the pieces are cut, EOS kept); ``labels`` is ``tag + 1`` at each
    word's first piece and 0 (ignored) elsewhere.

    Args:
        dataset: a dataset of (words, tags): [W] ``tf.string`` and [W]
            integer tag ids.
        tokenizer: the run's tokenizer.
        max_length: T, the most tokens per sentence (>= 3).

    Returns:
        The encoded dataset (unbatched).
    """

    def encode(words, tags):
        pieces = word_pieces(tokenizer, words)
        first = tf.ragged.range(pieces.row_lengths()) == 0
        labels = tf.where(
            first.flat_values,
            tf.repeat(tf.cast(tags, tf.int32) + 1, pieces.row_lengths()),
            0,
        )
        kept = max_length - 2
        ids = tf.concat(
            [
                [tokenizer.bos_id],
                pieces.flat_values[:kept],
                [tokenizer.eos_id],
            ],
            axis=0,
        )
        labels = tf.concat([[0], labels[:kept], [0]], axis=0)
        return {"tokens": tf.cast(ids, tf.int32)}, labels

    return dataset.map(encode, num_parallel_calls=tf.data.AUTOTUNE)


__all__ = ["encode_tagged_words", "first_piece_positions", "word_pieces"]
