"""``MarianTokenizer`` gives the ids of ``transformers``' MarianTokenizer
(reordered to this package's special ids) on both sides of a pair, and
its text back, as graph ops (fixture: tests/fixtures/huggingface/marian).
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_transformer.data.tokenizers import Tokenizer
from keras_transformer.data.tokenizers.marian import (
    MarianTokenizer,
    marian_order,
)
from keras_transformer.special_tokens import checkpoint_ids

MARIAN = os.path.join(
    os.path.dirname(__file__), "..", "..", "fixtures", "huggingface", "marian"
)


@pytest.fixture(scope="module")
def marian():
    with open(os.path.join(MARIAN, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    with open(os.path.join(MARIAN, "config.json")) as handle:
        inverse = checkpoint_ids(marian_order(json.load(handle)))
    return MarianTokenizer.from_huggingface(MARIAN), expected, inverse


@pytest.mark.parametrize("side", ["source_ids", "target_ids"])
def test_ids_equal_the_reference_tokenizer(marian, side):
    tokenizer, expected, inverse = marian
    if side == "target_ids":
        tokenizer = tokenizer.target_tokenizer
    ids = tokenizer.tokenize(expected["texts"], add_eos=True).to_list()
    theirs = [[inverse[i] for i in row] for row in expected[side]]
    assert ids == theirs
    # The sample has pieces missing from the vocabulary (<unk>), the
    # language code of a multilingual model, and an empty text.
    flat = [i for row in ids for i in row]
    assert flat.count(tokenizer.unk_id) > 3
    assert tokenizer.tokenize(">>de<< Who").numpy()[0] > 3
    assert [tokenizer.eos_id] in ids


def test_the_two_sides_split_text_differently(marian):
    tokenizer, expected, _ = marian
    source = tokenizer.tokenize(expected["texts"]).to_list()
    target = tokenizer.target_tokenizer.tokenize(expected["texts"]).to_list()
    assert source != target


def test_detokenize_equals_the_reference_decode(marian):
    tokenizer, expected, inverse = marian
    greedy = np.load(os.path.join(MARIAN, "reference.npz"))["greedy"]
    ids = np.vectorize(inverse.get)(greedy)
    texts = [t.decode() for t in tokenizer.detokenize(ids).numpy()]
    assert texts == expected["greedy_texts"]
    round_trip = tokenizer.detokenize(
        tokenizer.tokenize(["A dog runs on the beach."], add_eos=True)
    )
    assert round_trip.numpy().tolist() == [b"A dog runs on the beach."]


def test_it_saves_loads_and_runs_in_tf_data(marian, tmp_path):
    tokenizer, expected, _ = marian
    tokenizer.save(str(tmp_path / "tok"))
    loaded = Tokenizer.load(str(tmp_path / "tok"))
    assert isinstance(loaded, MarianTokenizer)
    texts = expected["texts"][:12]
    for side in (lambda t: t, lambda t: t.target_tokenizer):
        assert (
            side(loaded).tokenize(texts).to_list()
            == side(tokenizer).tokenize(texts).to_list()
        )
    dataset = tf.data.Dataset.from_tensor_slices(texts).map(
        lambda text: loaded.tokenize(text, add_eos=True)
    )
    mapped = [list(ids) for ids in dataset.as_numpy_iterator()]
    assert mapped == tokenizer.tokenize(texts, add_eos=True).to_list()
    with pytest.raises(NotImplementedError, match="no character offsets"):
        tokenizer.tokenize_with_offsets(["a"])


def test_a_vocabulary_without_unk_at_1_is_refused(tmp_path):
    import shutil

    shutil.copytree(MARIAN, tmp_path / "m")
    with open(tmp_path / "m" / "vocab.json", encoding="utf-8") as handle:
        vocabulary = json.load(handle)
    swapped = {
        p: (2 if i == 1 else 1 if i == 2 else i) for p, i in vocabulary.items()
    }
    with open(tmp_path / "m" / "vocab.json", "w", encoding="utf-8") as f:
        json.dump(swapped, f)
    with pytest.raises(ValueError, match="not <unk>"):
        MarianTokenizer.from_huggingface(str(tmp_path / "m"))
