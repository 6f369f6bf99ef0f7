"""Windows over long contexts: tokens, offsets and the answer's labels."""

import pytest
import tensorflow as tf

from keras_transformer.data.tokenizers import ByteTokenizer, train_sentencepiece
from keras_transformer.special_tokens import BOS_ID, EOS_ID
from keras_transformer.tasks.question_answering.windows import (
    answer_tokens,
    byte_to_char,
    char_to_byte,
    question_windows,
    window_labels,
)

CONTEXT = "Zoë lives in Kraków. Bo works as a chef. Ann lives in Malmö."


@pytest.fixture(scope="module")
def pieces():
    texts = [CONTEXT, "Where does Zoë live?", "Who is Bo?"] * 20
    return train_sentencepiece(texts, vocab_size=40, model_type="bpe")


@pytest.mark.parametrize("kind", ["byte", "sentencepiece"])
def test_answer_tokens_map_back_to_exactly_the_answer(kind, pieces):
    tokenizer = ByteTokenizer() if kind == "byte" else pieces
    for answer in ("Kraków", "a chef", "Malmö", "Zoë"):
        start = CONTEXT.index(answer)
        contexts = tf.constant([CONTEXT])
        byte_start = char_to_byte(contexts, tf.constant([start]))
        byte_end = byte_start + len(answer.encode("utf-8"))
        windows = question_windows(
            tokenizer, tf.constant(["Where?"]), contexts, 512, 64
        )
        first, last = answer_tokens(
            windows["starts"], windows["ends"], byte_start, byte_end
        )
        begin = int(windows["starts"][0][int(first[0])])
        end = int(windows["ends"][0][int(last[0])])
        span = CONTEXT.encode("utf-8")[begin:end].decode("utf-8")
        assert span.strip() == answer
        assert (
            int(
                byte_to_char(
                    contexts, [begin + len(span) - len(span.lstrip())]
                )[0]
            )
            == start
        )
        # The window labels point at the same tokens.
        labels = window_labels(windows, first, last).numpy()[0]
        tokens = windows["tokens"].numpy()[0]
        offset = int(windows["offset"][0])
        context_ids = tokenizer.tokenize(CONTEXT).numpy()
        assert (
            tokens[labels[0] : labels[1] + 1].tolist()
            == context_ids[int(first[0]) : int(last[0]) + 1].tolist()
        )
        assert offset == len(tokenizer.tokenize("Where?").numpy()) + 2


def test_a_long_context_gives_overlapping_windows():
    tokenizer = ByteTokenizer()
    question = "Q?"  # 2 bytes
    context = "abcdefghijklmnopqrstuvwxyz"  # 26 bytes
    windows = question_windows(
        tokenizer,
        tf.constant([question, "Why?"]),
        tf.constant([context, ""]),
        max_length=15,  # room for 15 - 3 - 2 = 10 context bytes
        stride=4,
    )
    assert windows["example"].numpy().tolist() == [0, 0, 0, 0, 0, 1]
    assert windows["first"].numpy().tolist() == [0, 4, 8, 12, 16, 0]
    assert windows["length"].numpy().tolist() == [10, 10, 10, 10, 10, 0]
    tokens = windows["tokens"].numpy()
    assert tokens.shape == (6, 15)
    q = tokenizer.tokenize(question).numpy().tolist()
    for row, first in zip(tokens[:5], [0, 4, 8, 12, 16]):
        expected = (
            [BOS_ID]
            + q
            + [EOS_ID]
            + tokenizer.tokenize(context[first : first + 10]).numpy().tolist()
            + [EOS_ID]
        )
        assert row.tolist() == expected
    # The last window reaches the end; the empty context has one window.
    assert windows["first"][4] + windows["length"][4] == len(context)
    assert tokens[5][:7].tolist() == [BOS_ID] + tokenizer.tokenize(
        "Why?"
    ).numpy().tolist() + [EOS_ID, EOS_ID]
    # "op" (bytes 14-15) is whole in windows 2-4 (starts 8, 12: 8..17,
    # 12..21) but not in window 1 (4..13) or 5 (16..25).
    first, last = answer_tokens(
        windows["starts"],
        windows["ends"],
        tf.constant([14, 0]),
        tf.constant([16, 0]),
    )
    labels = window_labels(windows, first, last).numpy()
    offset = 2 + 2
    assert labels[:5].tolist() == [
        [0, 0],
        [0, 0],
        [offset + 6, offset + 7],
        [offset + 2, offset + 3],
        [0, 0],
    ]
