"""``question [SEP] context`` windows over long contexts, in one graph.

Every window is ``BOS question EOS context-piece EOS`` with the
tokenizer's own ids (BERT's ``[CLS] question [SEP] context [SEP]``),
and segment ids 0 up to the first EOS and 1 after it: EOS separates the
question from the context, as every tokenizer of the package has it (a
masked-LM tokenizer too, so ``model.init_from`` needs no extra piece). A
context longer than the room left by the question is covered by several
windows whose starts are ``stride`` context tokens apart (at most the
room, so no token is skipped); the last window reaches the context's end.
Training, evaluation and the ``AnswerExtractor`` use the same function,
so the model is served the windows it was trained on.
"""

import tensorflow as tf

#: Tokens a window adds around the question and the context (BOS, EOS, EOS).
SPECIAL_TOKENS = 3


def max_question_tokens(max_length):
    """The most question tokens a window of ``max_length`` holds (it keeps
    room for one context token)."""
    return max_length - SPECIAL_TOKENS - 1


def question_windows(tokenizer, questions, contexts, max_length, stride):
    """The windows of a batch of (question, context) pairs.

    Questions longer than ``max_question_tokens(max_length)`` are cut
    there (the task and the predictor refuse them before, with a message).

    Args:
        tokenizer: a ``Tokenizer`` (with ``tokenize_with_offsets``).
        questions, contexts: (B,) ``tf.string``.
        max_length: the most tokens of a window (L).
        stride: context tokens between the starts of two windows.

    Returns:
        A dict of tensors over the W windows of the batch:
        ``tokens`` (W, T) int32, 0-padded (T <= L);
        ``segment_ids`` (W, T) int32: 1 for the context and its EOS, else
        0;
        ``example`` (W,) int32, the pair each window reads;
        ``offset`` (W,) int32, the position of its first context token;
        ``first`` (W,) int32, the context index of that token;
        ``length`` (W,) int32, its context tokens;
        ``starts``, ``ends`` (B, C) ragged int64: the byte span of every
        context token in its context.

    Example:

    >>> windows = question_windows(tokenizer, tf.constant(["Who?"]),
    ...                            tf.constant(["Ann ran."]), 64, 32)
    >>> windows["tokens"].shape[0]  # one window
    1
    """
    question_ids = tokenizer.tokenize(questions)
    question_ids = question_ids[:, : max_question_tokens(max_length)]
    context_ids, starts, ends = tokenizer.tokenize_with_offsets(contexts)
    question_length = tf.cast(question_ids.row_lengths(), tf.int32)
    context_length = tf.cast(context_ids.row_lengths(), tf.int32)
    room = max_length - SPECIAL_TOKENS - question_length
    step = tf.minimum(stride, room)
    count = 1 + (tf.maximum(context_length - room, 0) + step - 1) // step
    example = tf.repeat(tf.range(tf.shape(count)[0]), count)
    number = tf.ragged.range(count).flat_values
    first = number * tf.gather(step, example)
    length = tf.minimum(
        tf.gather(room, example), tf.gather(context_length, example) - first
    )
    row_start = tf.gather(tf.cast(context_ids.row_starts(), tf.int32), example)
    pieces = tf.gather(
        context_ids.values,
        tf.ragged.range(row_start + first, row_start + first + length),
    )
    column = tf.ones([tf.shape(example)[0], 1], tf.int32)
    question = tf.concat(
        [
            column * tokenizer.bos_id,
            tf.gather(question_ids, example),
            column * tokenizer.eos_id,
        ],
        axis=1,
    )
    context = tf.concat([pieces, column * tokenizer.eos_id], axis=1)
    tokens = tf.concat([question, context], axis=1)
    segments = tf.concat(
        [tf.zeros_like(question), tf.ones_like(context)], axis=1
    )
    return {
        "tokens": tokens.to_tensor(),
        "segment_ids": segments.to_tensor(),
        "example": example,
        "offset": tf.gather(question_length, example) + 2,
        "first": first,
        "length": length,
        "starts": starts,
        "ends": ends,
    }


def window_features(model, windows):
    """The model's inputs of ``question_windows``: ``tokens``, and
    ``segment_ids`` for a model with segment embeddings."""
    features = {"tokens": windows["tokens"]}
    config = getattr(model, "transformer_config", None)
    if config is not None and config.num_segments:
        features["segment_ids"] = windows["segment_ids"]
    return features


def answer_tokens(starts, ends, answer_start, answer_end):
    """The context tokens that hold an answer's bytes.

    Args:
        starts, ends: (B, C) ragged byte spans of the context tokens.
        answer_start, answer_end: (B,) byte span of the answers.

    Returns:
        ``(first, last)``: (B,) int32 indices of the first and last context
        token that overlap the answer.
    """
    first = tf.reduce_sum(
        tf.cast(ends <= tf.cast(answer_start, tf.int64)[:, None], tf.int32),
        axis=1,
    )
    last = (
        tf.reduce_sum(
            tf.cast(starts < tf.cast(answer_end, tf.int64)[:, None], tf.int32),
            axis=1,
        )
        - 1
    )
    return first, last


def window_labels(windows, answer_first, answer_last):
    """Start and end positions of the answer in every window.

    A window that does not hold the whole answer points both at position 0
    (its BOS), as BERT does: the model learns that the answer is elsewhere,
    which makes the span scores of different windows comparable.

    Args:
        windows: from ``question_windows``.
        answer_first, answer_last: (B,) from ``answer_tokens``.

    Returns:
        (W, 2) int32 positions.
    """
    first = tf.gather(answer_first, windows["example"])
    last = tf.gather(answer_last, windows["example"])
    inside = (
        (first >= windows["first"])
        & (last < windows["first"] + windows["length"])
        & (last >= first)
    )
    shift = windows["offset"] - windows["first"]
    labels = tf.stack([first + shift, last + shift], axis=1)
    return tf.where(inside[:, None], labels, 0)


def char_to_byte(texts, char_offsets):
    """Byte offsets of character offsets into UTF-8 ``texts``."""
    char_offsets = tf.convert_to_tensor(char_offsets)
    prefix = tf.strings.substr(
        texts, tf.zeros_like(char_offsets), char_offsets, unit="UTF8_CHAR"
    )
    return tf.strings.length(prefix)


def byte_to_char(texts, byte_offsets):
    """Character offsets of byte offsets (at character boundaries)."""
    byte_offsets = tf.convert_to_tensor(byte_offsets)
    prefix = tf.strings.substr(texts, tf.zeros_like(byte_offsets), byte_offsets)
    return tf.strings.length(prefix, unit="UTF8_CHAR")


__all__ = [
    "SPECIAL_TOKENS",
    "answer_tokens",
    "byte_to_char",
    "char_to_byte",
    "max_question_tokens",
    "question_windows",
    "window_labels",
]
