"""GPT-2's byte-level BPE in the graph gives the ids of
``transformers.GPT2Tokenizer`` (the expected ids are written by
tests/fixtures/huggingface/generate_gpt2_tokenizer.py)."""

import json
import os
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from keras_transformer.data.tokenizers import Tokenizer
from keras_transformer.data.tokenizers.byte_pair import (
    END_OF_TEXT,
    BytePairTokenizer,
    byte_symbols,
    read_merges,
    read_vocabulary,
)
from keras_transformer.special_tokens import checkpoint_ids
from tests.fresh_process import run_script

FIXTURE = os.path.join(
    os.path.dirname(__file__),
    "..",
    "..",
    "fixtures",
    "huggingface",
    "gpt2_tokenizer",
)


@pytest.fixture(scope="module")
def expected():
    with open(os.path.join(FIXTURE, "expected.json"), encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def tokenizer():
    return BytePairTokenizer.from_huggingface(FIXTURE)


def _ours(tokenizer, rows):
    """GPT-2 ids -> this package's, with checkpoint_ids (not the class)."""
    inverse = checkpoint_ids(tokenizer.checkpoint_order)
    return [[inverse[g] for g in row] for row in rows]


def _text(value):
    return value.decode("utf-8")


def test_ids_equal_those_of_transformers(tokenizer, expected):
    texts = expected["texts"]
    mine = tokenizer.tokenize(texts).to_list()
    theirs = _ours(tokenizer, expected["ids"])
    for text, row, want in zip(texts, mine, theirs):
        assert row == want, repr(text)
    # <|endoftext|> is GPT-2's last id, so every other id g is g + 4 here,
    # and <|endoftext|> in the text is EOS.
    end = len(tokenizer.vocabulary) - 1
    assert tokenizer.end_of_text_id == end
    flat_theirs = [g for row in expected["ids"] for g in row]
    flat_mine = [i for row in mine for i in row]
    assert flat_mine == [3 if g == end else g + 4 for g in flat_theirs]
    assert mine[texts.index(END_OF_TEXT)] == [3]
    row = mine[texts.index("a<|endoftext|>b<|endoftext|><|endoftext|>c")]
    assert len(row) == 6 and row[1] == row[3] == row[4] == 3
    # A scalar gives the row of the batch.
    text = "it's we've they're you'll I'm he'd don't"
    np.testing.assert_array_equal(
        tokenizer.tokenize(text).numpy(), mine[texts.index(text)]
    )


def test_special_ids_and_vocab_size(tokenizer):
    assert tokenizer.vocab_size == len(tokenizer.vocabulary) + 3 == 403
    assert tokenizer.special_ids() == {
        "pad_id": 0,
        "unk_id": 1,
        "bos_id": 2,
        "eos_id": 3,
    }
    assert tokenizer.checkpoint_order[:5] == [399, 399, 399, 399, 0]
    ids = tokenizer.tokenize(["hi", ""], add_bos=True, add_eos=True)
    assert ids.to_list() == [
        [2] + tokenizer.tokenize("hi").numpy().tolist() + [3],
        [2, 3],
    ]
    pieces = tokenizer.id_to_piece([0, 1, 2, 3, 4, 224, 500]).numpy()
    assert [_text(p) for p in pieces] == [
        "<pad>",
        "<unk>",
        "<s>",
        "</s>",
        "!",  # GPT-2's id 0
        "Ġ",  # GPT-2's 220: the space
        "<unk>",  # outside the vocabulary
    ]


def test_where_endoftext_sits_does_not_change_the_ids(tokenizer, expected):
    # tokenizers' own tokenizer.json has <|endoftext|> first (GPT-2's id
    # 0): the other pieces move up by one there, and keep their ids here.
    directory = os.path.join(FIXTURE, "tokenizer_json")
    first = BytePairTokenizer.from_huggingface(directory)
    assert first.end_of_text_id == 0
    assert first.checkpoint_order[:5] == [0, 0, 0, 0, 1]
    assert first.vocab_size == tokenizer.vocab_size
    texts = expected["texts"]
    assert first.tokenize(texts).to_list() == _ours(tokenizer, expected["ids"])
    assert _ours(first, [[0, 1, 2]]) == [[3, 4, 5]]


def test_detokenize_gives_transformers_decode(tokenizer, expected):
    texts = expected["texts"]
    restored = tokenizer.detokenize(tokenizer.tokenize(texts)).numpy()
    # decode(ids, skip_special_tokens=True) of the ids before the first
    # <|endoftext|>: detokenize stops at EOS.
    assert [_text(t) for t in restored] == expected["decoded_before_end"]
    for text, decoded in zip(texts, expected["decoded"]):
        if END_OF_TEXT not in text:
            assert decoded == text  # GPT-2's round trip is exact
    # Characters cut in half and invalid bytes: U+FFFD as decode() gives.
    rows = [row for row, _ in expected["cuts"]]
    cut = tokenizer.detokenize(_ours(tokenizer, rows)).numpy()
    assert [_text(t) for t in cut] == [text for _, text in expected["cuts"]]
    assert any("\ufffd" in text for _, text in expected["cuts"])
    # PAD and BOS are dropped, EOS ends the text.
    ids = tokenizer.tokenize(["Hello, world!", "a"], add_bos=True)
    padded = tf.concat(
        [ids.to_tensor(), tf.constant([[3, 40], [3, 40]])], axis=1
    )
    assert [_text(t) for t in tokenizer.detokenize(padded).numpy()] == [
        "Hello, world!",
        "a",
    ]


def test_offsets_are_the_bytes_of_each_id(tokenizer, expected):
    texts = expected["texts"]
    ids, starts, ends = tokenizer.tokenize_with_offsets(texts)
    assert ids.to_list() == tokenizer.tokenize(texts).to_list()
    byte_of = {symbol: b for b, symbol in enumerate(byte_symbols())}
    pieces = tokenizer.id_to_piece(ids).to_list()
    for text, row, piece, start, end in zip(
        texts, ids.to_list(), pieces, starts.to_list(), ends.to_list()
    ):
        data = text.encode("utf-8")
        if data:
            assert start[0] == 0 and end[-1] == len(data)
        else:
            assert start == end == []
        assert start[1:] == end[:-1]  # the ids tile the text
        for i, p, s, e in zip(row, piece, start, end):
            if i == tokenizer.eos_id:
                assert data[s:e] == END_OF_TEXT.encode()
            else:
                assert data[s:e] == bytes(byte_of[c] for c in p.decode())


def test_invalid_utf8_is_read_as_the_replacement_character(tokenizer):
    ids = tokenizer.tokenize(tf.constant([b"a\xffb", "a\ufffdb"])).to_list()
    assert ids[0] == ids[1]


def test_runs_in_tf_data_and_tf_function(tokenizer, expected):
    texts = expected["texts"]
    want = _ours(tokenizer, expected["ids"])
    dataset = tf.data.Dataset.from_tensor_slices(texts).map(
        lambda text: tokenizer.tokenize(text, add_eos=True)
    )
    rows = [row.numpy().tolist() for row in dataset]
    assert rows == [row + [3] for row in want]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(batch):
        ids = tokenizer.tokenize(batch).to_tensor()
        return ids, tokenizer.detokenize(ids)

    ids, restored = round_trip(tf.constant(texts))
    padded = tf.ragged.constant(want, dtype=tf.int32).to_tensor()
    np.testing.assert_array_equal(ids.numpy(), padded.numpy())
    assert [_text(t) for t in restored.numpy()] == (
        expected["decoded_before_end"]
    )


def test_save_and_load(tokenizer, expected, tmp_path):
    tokenizer.save(tmp_path / "tok")
    assert sorted(os.listdir(tmp_path / "tok")) == [
        "merges.txt",
        "tokenizer.json",
        "vocab.json",
    ]
    with open(tmp_path / "tok" / "tokenizer.json") as f:
        assert json.load(f)["type"] == "byte_pair"
    loaded = Tokenizer.load(tmp_path / "tok")
    assert isinstance(loaded, BytePairTokenizer)
    assert loaded.vocab_size == tokenizer.vocab_size
    assert loaded.vocabulary == tokenizer.vocabulary
    assert loaded.merges == tokenizer.merges
    assert read_vocabulary(os.path.join(FIXTURE, "vocab.json")) == (
        loaded.vocabulary
    )
    assert len(read_merges(os.path.join(FIXTURE, "merges.txt"))) == len(
        loaded.merges
    )
    texts = expected["texts"]
    assert loaded.tokenize(texts).to_list() == _ours(tokenizer, expected["ids"])


def test_merges_apply_as_in_tokenizers():
    # What tokenizers' BPE gives for these rules (checked with tokenizers
    # 0.23): the lowest rank first, the leftmost of equal ranks, and a
    # pair listed twice keeps its last rank.
    pieces = byte_symbols() + ["ab", "bc", "aa", "aaaa", END_OF_TEXT]
    vocabulary = {piece: i for i, piece in enumerate(pieces)}
    merges = ["a b", "b c", "a b", "a a", "aa aa"]
    tokenizer = BytePairTokenizer(vocabulary, merges)
    words = ["abc", "aaa", "aaaa", "aaaaaaa"]
    rows = tokenizer.tokenize(words).to_list()
    assert [
        [tokenizer.id_to_piece(i).numpy().decode() for i in row] for row in rows
    ] == [["a", "bc"], ["aa", "a"], ["aaaa"], ["aaaa", "aa", "a"]]


def test_bad_vocabularies_and_files_are_refused(tmp_path):
    vocabulary = read_vocabulary(os.path.join(FIXTURE, "vocab.json"))
    merges = read_merges(os.path.join(FIXTURE, "merges.txt"))
    without_space = {p: i for p, i in vocabulary.items() if p != "Ġ"}
    without_space = {p: i for i, p in enumerate(without_space)}
    with pytest.raises(ValueError, match="256 byte symbols"):
        BytePairTokenizer(without_space, [])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        BytePairTokenizer(vocabulary, merges + ["q z"])
    with open(os.path.join(FIXTURE, "tokenizer_json", "tokenizer.json")) as f:
        spec = json.load(f)
    spec["pre_tokenizer"]["add_prefix_space"] = True
    spec["added_tokens"].append({"id": 5, "content": "<pad>"})
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    with pytest.raises(ValueError, match="ByteLevel.*<pad>"):
        BytePairTokenizer.from_huggingface(tmp_path)
    with pytest.raises(ValueError, match="neither"):
        BytePairTokenizer.from_huggingface(tmp_path / "missing")


class _Export(tf.Module):
    def __init__(self, tokenizer):
        super().__init__()
        self.tokenizer = tokenizer

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def run(self, texts):
        ids = self.tokenizer.tokenize(texts, add_bos=True)
        _, starts, _ = self.tokenizer.tokenize_with_offsets(texts)
        return {
            "ids": ids.to_tensor(),
            "starts": starts.to_tensor(-1),
            "texts": self.tokenizer.detokenize(ids.to_tensor()),
        }


_LOAD_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    with open(sys.argv[2], encoding="utf-8") as f:
        texts = json.load(f)
    out = tf.saved_model.load(sys.argv[1]).run(tf.constant(texts))
    result = {key: value.numpy().tolist() for key, value in out.items()}
    result["texts"] = [t.decode("utf-8") for t in result["texts"]]
    result["modules"] = sorted(
        m for m in sys.modules
        if m.split(".")[0] in ("keras_transformer", "keras_hub")
    )
    with open(sys.argv[3], "w", encoding="utf-8") as f:
        json.dump(result, f)
    """
)


@pytest.mark.slow
def test_saved_model_runs_in_a_fresh_process(tokenizer, expected, tmp_path):
    texts = expected["texts"]
    export = _Export(BytePairTokenizer.from_huggingface(FIXTURE))
    tf.saved_model.save(export, str(tmp_path / "model"))
    (tmp_path / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    run_script(
        _LOAD_SCRIPT,
        tmp_path / "model",
        tmp_path / "texts.json",
        tmp_path / "out.json",
        cwd=tmp_path,
    )
    result = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert result["modules"] == []
    want = [[2] + row for row in _ours(tokenizer, expected["ids"])]
    padded = tf.ragged.constant(want).to_tensor().numpy().tolist()
    assert result["ids"] == padded
    assert result["texts"] == expected["decoded_before_end"]
    local = export.run(tf.constant(texts))
    assert result["starts"] == local["starts"].numpy().tolist()
