"""First-piece alignment of word tags to subword ids."""

import numpy as np
import tensorflow as tf

from keras_transformer.data.tokenizers import ByteTokenizer
from keras_transformer.special_tokens import BOS_ID, EOS_ID, UNK_ID
from keras_transformer.tasks.token_classification.tagged_words import (
    encode_tagged_words,
    first_piece_positions,
    word_pieces,
)


def _encode(words, tags, max_length):
    dataset = tf.data.Dataset.from_tensors(
        (tf.constant(words, tf.string), tf.constant(tags, tf.int64))
    )
    features, labels = next(
        iter(encode_tagged_words(dataset, ByteTokenizer(), max_length))
    )
    return features["tokens"].numpy(), labels.numpy()


def test_the_first_piece_of_a_word_carries_its_tag_plus_one():
    tokenizer = ByteTokenizer()
    words = ["Zoë", "met", "x"]
    tokens, labels = _encode(words, [1, 0, 2], max_length=32)
    pieces = [tokenizer.tokenize(word).numpy().tolist() for word in words]
    assert [len(p) for p in pieces] == [4, 3, 1]  # ë is two bytes
    expected_tokens = [BOS_ID] + sum(pieces, []) + [EOS_ID]
    assert tokens.tolist() == expected_tokens
    expected = [0, 2, 0, 0, 0, 1, 0, 0, 3, 0]
    assert labels.tolist() == expected
    # Truncation keeps BOS, the first max_length - 2 pieces and EOS.
    tokens, labels = _encode(words, [1, 0, 2], max_length=7)
    assert tokens.tolist() == expected_tokens[:6] + [EOS_ID]
    assert labels.tolist() == expected[:6] + [0]


def test_word_pieces_gives_every_word_a_piece_and_positions_count_them():
    tokenizer = ByteTokenizer()
    pieces = word_pieces(tokenizer, tf.constant(["ab", "", "c"]))
    assert pieces.to_list() == [
        tokenizer.tokenize("ab").numpy().tolist(),
        [UNK_ID],
        tokenizer.tokenize("c").numpy().tolist(),
    ]
    counts = tf.RaggedTensor.from_row_lengths(
        tf.constant([2, 1, 3, 4, 1], tf.int64), tf.constant([3, 0, 2], tf.int64)
    )
    positions = first_piece_positions(counts).to_list()
    assert positions == [[1, 3, 4], [], [1, 5]]
    # The same as counting by hand.
    for row, counted in zip(counts.to_list(), positions):
        assert counted == (1 + np.cumsum([0] + row[:-1])).tolist()[: len(row)]
