"""WordPiece in the graph gives the ids of the ``tokenizers`` package (the
expected ids are written by tests/fixtures/huggingface/generate.py)."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_transformer.data.tokenizers import Tokenizer
from keras_transformer.data.tokenizers.wordpiece import WordPieceTokenizer

HF = os.path.join(
    os.path.dirname(__file__), "..", "..", "fixtures", "huggingface"
)


def _fixture(name):
    directory = os.path.join(HF, name)
    with open(os.path.join(directory, "expected.json")) as handle:
        expected = json.load(handle)
    return WordPieceTokenizer.from_huggingface(directory), expected


@pytest.mark.parametrize("name", ["wordpiece_uncased", "wordpiece_cased"])
def test_ids_equal_those_of_the_tokenizers_package(name):
    tokenizer, expected = _fixture(name)
    assert tokenizer.lowercase == (name == "wordpiece_uncased")
    ids = tokenizer.tokenize(expected["texts"], add_bos=True, add_eos=True)
    for text, mine, theirs in zip(
        expected["texts"], ids.to_list(), expected["ids"]
    ):
        assert mine == theirs, text
    # The sample holds unknown characters, long words and empty texts.
    assert any(tokenizer.unk_id in row for row in expected["ids"])
    assert [tokenizer.bos_id, tokenizer.eos_id] in expected["ids"]


def test_special_ids_are_the_vocabularys(tmp_path):
    tokenizer, _ = _fixture("wordpiece_uncased")
    pieces = tokenizer.vocabulary
    assert tokenizer.special_ids() == {
        "pad_id": pieces.index("[PAD]"),
        "unk_id": pieces.index("[UNK]"),
        "bos_id": pieces.index("[CLS]"),
        "eos_id": pieces.index("[SEP]"),
    }
    assert tokenizer.mask_id == pieces.index("[MASK]")
    assert tokenizer.vocab_size == len(pieces)


def test_save_load_and_a_graph_give_the_same_ids(tmp_path):
    tokenizer, expected = _fixture("wordpiece_cased")
    tokenizer.save(tmp_path / "tok")
    assert sorted(os.listdir(tmp_path / "tok")) == [
        "tokenizer.json",
        "vocab.txt",
    ]
    loaded = Tokenizer.load(tmp_path / "tok")
    assert isinstance(loaded, WordPieceTokenizer) and not loaded.lowercase
    texts = expected["texts"][:12]
    graph = tf.function(
        lambda t: loaded.tokenize(t, add_bos=True, add_eos=True).to_tensor()
    )
    np.testing.assert_array_equal(
        graph(tf.constant(texts)).numpy(),
        tokenizer.tokenize(texts, add_bos=True, add_eos=True)
        .to_tensor()
        .numpy(),
    )


def test_detokenize_joins_pieces_and_drops_special_ids():
    tokenizer, _ = _fixture("wordpiece_uncased")
    ids = tokenizer.tokenize(
        ["A dog runs on the beach.", ""], add_bos=True, add_eos=True
    )
    padded = ids.to_tensor()  # [PAD] after [SEP] in the short row
    texts = tokenizer.detokenize(padded).numpy().tolist()
    assert texts == [b"a dog runs on the beach .", b""]


def test_a_vocabulary_without_its_special_pieces_is_refused():
    with pytest.raises(ValueError, match=r"\['\[PAD\]', '\[UNK\]'"):
        WordPieceTokenizer(["hello", "world", "[CLS]", "[SEP]"])


def test_the_fixture_vocabulary_has_ids_of_its_own():
    # So the tests above would fail if this package's ids (UNK 1, BOS 2,
    # EOS 3) were used in place of the vocabulary's.
    tokenizer, _ = _fixture("wordpiece_uncased")
    assert (tokenizer.unk_id, tokenizer.bos_id, tokenizer.eos_id) == (3, 4, 5)
