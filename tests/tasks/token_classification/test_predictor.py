"""EntityTagger: word offsets, BIO/BIOES spans and windows, in graph."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transformer.data.tokenizers import BYTE_OFFSET, ByteTokenizer
from keras_transformer.special_tokens import BOS_ID, EOS_ID
from keras_transformer.tasks.token_classification.predictor import EntityTagger

TAGS = ["O", "B-per", "I-per", "E-per", "S-loc", "B-loc", "I-loc"]


class ScriptedTagger(keras.Model):
    """Tags a word by its first byte: "b" B-per, "i" I-per, "e" E-per,
    "s" S-loc, "l" B-loc, "j" I-loc, anything else O (BOS/EOS too)."""

    def __init__(self):
        super().__init__()
        table = np.zeros(260, "int64")
        for letter, tag in zip("biesl" + "j", [1, 2, 3, 4, 5, 6]):
            table[int(ByteTokenizer().tokenize(letter)[0])] = tag
        assert table[BOS_ID] == table[EOS_ID] == 0
        self.table = table

    def call(self, inputs):
        tags = tf.gather(tf.constant(self.table), inputs["tokens"])
        return tf.one_hot(tags, len(TAGS))


@pytest.fixture(scope="module")
def tagger():
    """Keeps 14 pieces (bytes) of a text."""
    return EntityTagger(ScriptedTagger(), ByteTokenizer(), TAGS, 16)


def test_spans_follow_the_tags_with_character_offsets(tagger):
    texts = [
        "xx bé ià x",  # B I: one entity, non-ASCII words
        "  iü  ix x bx",  # I at the start opens an entity; I I continues
        "bb ee ss ll jj ii",  # BIOES: b e | s | l j | i (new type: opens)
        "",
        "ö s",
    ]
    rows = tagger.predict(texts)
    assert rows[0]["entities"] == [
        {"type": "per", "text": "bé ià", "start": 3, "end": 8}
    ]
    assert rows[0]["tags"] == ["O", "B-per", "I-per", "O"]
    assert rows[1]["words"] == ["iü", "ix", "x", "bx"]
    assert rows[1]["entities"] == [
        {"type": "per", "text": "iü  ix", "start": 2, "end": 8},
        {"type": "per", "text": "bx", "start": 11, "end": 13},
    ]
    assert [(e["type"], e["text"]) for e in rows[2]["entities"]] == [
        ("per", "bb ee"),
        ("loc", "ss"),
        ("loc", "ll jj"),
        ("per", "ii"),
    ]
    assert rows[3] == {"entities": [], "words": [], "tags": []}
    assert rows[4]["entities"] == [
        {"type": "loc", "text": "s", "start": 2, "end": 3}
    ]
    for text, row in zip(texts, rows):
        for entity in row["entities"]:
            assert text[entity["start"] : entity["end"]] == entity["text"]


def test_long_texts_are_tagged_in_windows_and_padding_is_marked(tagger):
    # 14 pieces a window: "abcdef", "ghijkl" and "bx" fill the first, "sx"
    # opens the second.
    outputs = tagger.serve(tf.constant(["abcdef ghijkl bx sx", "x"]))
    assert outputs["tags"].numpy().tolist() == [
        [b"O", b"O", b"B-per", b"S-loc"],
        [b"O", b"", b"", b""],
    ]
    assert outputs["starts"].numpy().tolist() == [[14, 17], [-1, -1]]
    assert outputs["types"].numpy().tolist() == [[b"per", b"loc"], [b"", b""]]
    assert tagger.tag_words([["sx", "bq"], [], ["a"] * 13 + ["s"]]) == [
        ["S-loc", "B-per"],
        [],
        ["O"] * 13 + ["S-loc"],
    ]
    assert tagger.tag_words([["a"] * 14 + ["s"]]) == [["O"] * 14 + ["S-loc"]]
    # A word of more pieces than a window keeps its first ones.
    assert tagger.tag_words([["b" + "x" * 20, "i", "e" * 15]]) == [
        ["B-per", "I-per", "E-per"]
    ]
    assert tagger.format(tagger.predict(["ab bx"])[0]) == 'per "bx" 3-5'


def test_entities_beyond_the_first_window_keep_their_offsets(tagger):
    short = "bé ià x ss  ll jj ö s"
    (expected,) = tagger.predict([short])
    assert len(expected["entities"]) == 4
    prefixes = ["abcdefghijklm ", "abcdef ghijkl ", "a" * 30 + "  abc x "]
    rows = tagger.predict([prefix + short for prefix in prefixes])
    for prefix, row in zip(prefixes, rows):
        assert row["tags"][len(prefix.split()) :] == expected["tags"]
        shift = len(prefix)
        assert row["entities"] == [
            dict(e, start=e["start"] + shift, end=e["end"] + shift)
            for e in expected["entities"]
        ]
    # An entity across two windows ("bx" ends the first, "ix" opens the
    # second) is one entity.
    text = "abcdefghijkl bx ix"
    (row,) = tagger.predict([text])
    start = text.index("bx")
    assert row["entities"] == [
        {"type": "per", "text": "bx ix", "start": start, "end": len(text)}
    ]


class RecordingTagger(ScriptedTagger):
    """A ``ScriptedTagger`` that keeps the tokens of every call."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def call(self, inputs):
        self.calls.append(inputs["tokens"].numpy())
        return super().call(inputs)


def _windows(sentences, kept):
    """Each sentence's byte ids in consecutive runs of whole words of at
    most ``kept`` ids (a longer word keeps its first ``kept``)."""
    windows = []
    for words in sentences:
        window = []
        for word in words:
            pieces = list(word.encode("utf-8"))[:kept]
            if len(window) + len(pieces) > kept:
                windows.append(window)
                window = []
            window += pieces
        if words:
            windows.append(window)
    return [[byte + BYTE_OFFSET for byte in window] for window in windows]


def test_every_word_gets_its_first_piece_tag_in_one_batch_of_windows():
    model = RecordingTagger()
    tagger = EntityTagger(model, ByteTokenizer(), TAGS, 16)
    rng = np.random.default_rng(0)
    sentences = [
        [
            str(rng.choice(list("xbiesljé"))) + "x" * int(rng.integers(0, 20))
            for _ in range(int(rng.integers(0, 12)))
        ]
        for _ in range(30)
    ]
    tags = tagger.tag_words(sentences)
    (tokens,) = model.calls  # all the windows of the batch at once
    assert tokens.shape[1] <= 16
    rows = [row[row != 0].tolist() for row in tokens]
    assert all(row[0] == BOS_ID and row[-1] == EOS_ID for row in rows)
    windows = _windows(sentences, 14)
    assert len(windows) > 2 * sum(1 for words in sentences if words)
    assert [row[1:-1] for row in rows] == windows
    first_byte_tag = [
        [
            TAGS[model.table[word.encode("utf-8")[0] + BYTE_OFFSET]]
            for word in words
        ]
        for words in sentences
    ]
    assert tags == first_byte_tag
