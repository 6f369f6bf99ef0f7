"""EntityTagger: word offsets, BIO/BIOES spans and truncation, in graph."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transformer.data.tokenizer import ByteTokenizer
from keras_transformer.inference.entity_tagger import EntityTagger
from keras_transformer.special_tokens import BOS_ID, EOS_ID

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


def test_words_beyond_max_length_are_tagged_o_and_padding_is_marked(tagger):
    # 14 pieces: "abcdef", "ghijkl" and "bx" fit, "sx" does not.
    outputs = tagger.serve(tf.constant(["abcdef ghijkl bx sx", "x"]))
    assert outputs["tags"].numpy().tolist() == [
        [b"O", b"O", b"B-per", b"O"],
        [b"O", b"", b"", b""],
    ]
    assert outputs["starts"].numpy().tolist() == [[14], [-1]]
    assert outputs["types"].numpy().tolist() == [[b"per"], [b""]]
    assert tagger.tag_words([["sx", "bq"], [], ["a"] * 13 + ["s"]]) == [
        ["S-loc", "B-per"],
        [],
        ["O"] * 13 + ["S-loc"],
    ]
    assert tagger.tag_words([["a"] * 14 + ["s"]]) == [["O"] * 15]
    assert tagger.format(tagger.predict(["ab bx"])[0]) == 'per "bx" 3-5'
