"""Tests of keras_transformer.data.tokenizers.

The expected values are computed independently (Python's ``str.encode``, the
``sentencepiece`` library) or are round-trip properties, never copied from a
run. Models are tiny (vocab 100-200, a few hundred generated sentences).
"""

import io
import json
import os
import random
import textwrap

import numpy as np
import pytest
import sentencepiece as spm
import tensorflow as tf

from keras_transformer.data.tokenizers import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    UNK_ID,
    ByteTokenizer,
    SentencePieceTokenizer,
    Tokenizer,
    train_sentencepiece,
    trainer,
)
from tests.fresh_process import run_script

_SYLLABLES = [c + v for c in "bdfgklmnprst" for v in "aeiou"]
_WORDS = sorted(
    {
        "".join(random.Random(i).choices(_SYLLABLES, k=1 + i % 3))
        for i in range(150)
    }
)


def make_sentences(count, seed):
    """Lower-case sentences of 3-12 made-up words, one space apart."""
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 12)))
        for _ in range(count)
    ]


TRAIN = make_sentences(400, seed=0)
HELD_OUT = make_sentences(20, seed=1)  # same words, new sentences
VOCAB_SIZE = 150

UNICODE_TEXTS = [
    "plain ascii",
    "tabs\tand\nnewlines\r\n  and  double  spaces ",
    "  leading and trailing  ",
    "Grüße, naïve café – 東京 Привет",
    "emoji 😀👍🏽 and flags 🇩🇪, ZWJ 👨‍👩‍👧",
    "nul\x00 and bell\x07 bytes",
    "\ufeffbom first",
    "",
]


def _decode(strings):
    return [s.decode("utf-8") for s in np.asarray(strings).tolist()]


def _rows(ragged):
    return [list(row) for row in ragged.to_list()]


@pytest.fixture(scope="module")
def unigram():
    return train_sentencepiece(TRAIN, vocab_size=VOCAB_SIZE)


@pytest.fixture(scope="module")
def bpe():
    return train_sentencepiece(TRAIN, vocab_size=VOCAB_SIZE, model_type="bpe")


@pytest.fixture(scope="module")
def byte():
    return ByteTokenizer()


@pytest.fixture(params=["unigram", "bpe", "byte"])
def tokenizer(request):
    return request.getfixturevalue(request.param)


# Special ids and sizes


def test_special_ids_are_the_module_constants(tokenizer):
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    assert tokenizer.pad_id == PAD_ID
    assert tokenizer.unk_id == UNK_ID
    assert tokenizer.bos_id == BOS_ID
    assert tokenizer.eos_id == EOS_ID
    pieces = _decode(tokenizer.id_to_piece([0, 1, 2, 3]))
    assert pieces == ["<pad>", "<unk>", "<s>", "</s>"]


def test_tokenizers_are_tf_modules(tokenizer):
    assert isinstance(tokenizer, tf.Module)
    assert isinstance(tokenizer, Tokenizer)


def test_sentencepiece_vocab_size_matches_model(unigram, bpe):
    for tokenizer in (unigram, bpe):
        assert tokenizer.vocab_size == VOCAB_SIZE
        processor = spm.SentencePieceProcessor(
            model_proto=tokenizer.model_proto
        )
        assert processor.vocab_size() == tokenizer.vocab_size
        all_ids = tf.range(tokenizer.vocab_size)
        pieces = _decode(tokenizer.id_to_piece(all_ids))
        assert pieces == [
            processor.id_to_piece(i) for i in range(tokenizer.vocab_size)
        ]
        ids = tokenizer.tokenize(TRAIN + HELD_OUT).flat_values.numpy()
        assert ids.min() >= 0 and ids.max() < tokenizer.vocab_size


def test_byte_vocab_and_ids_are_utf8_bytes_plus_4(byte):
    assert byte.vocab_size == 260
    ids = byte.tokenize(UNICODE_TEXTS)
    expected = [[b + 4 for b in text.encode("utf-8")] for text in UNICODE_TEXTS]
    assert _rows(ids) == expected
    assert ids.dtype == tf.int32


# Tokenize / detokenize


def test_round_trip_of_normal_text(tokenizer):
    for texts in (TRAIN[:50], HELD_OUT):
        ids = tokenizer.tokenize(texts)
        assert isinstance(ids, tf.RaggedTensor)
        assert ids.dtype == tf.int32
        assert ids.shape.as_list() == [len(texts), None]
        assert _decode(tokenizer.detokenize(ids)) == texts
        # Padded (dense) batches give the same text.
        assert _decode(tokenizer.detokenize(ids.to_tensor())) == texts


def test_scalar_input_gives_1d_ids_and_scalar_text(tokenizer):
    text = HELD_OUT[0]
    ids = tokenizer.tokenize(text)
    assert isinstance(ids, tf.Tensor) and ids.shape.rank == 1
    assert ids.dtype == tf.int32
    batch = tokenizer.tokenize([text])
    assert ids.numpy().tolist() == batch[0].numpy().tolist()
    detokenized = tokenizer.detokenize(ids)
    assert detokenized.shape.rank == 0
    assert detokenized.numpy().decode("utf-8") == text
    # Python lists and numpy arrays of ids work too.
    assert tokenizer.detokenize(ids.numpy().tolist()).numpy() == text.encode()
    assert tokenizer.detokenize(ids.numpy()).numpy() == text.encode()


def test_byte_round_trip_is_exact_for_any_utf8(byte):
    rng = random.Random(7)
    code_points = [c for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    random_texts = [
        "".join(chr(rng.choice(code_points)) for _ in range(rng.randint(0, 30)))
        for _ in range(50)
    ]
    texts = UNICODE_TEXTS + random_texts
    assert _decode(byte.detokenize(byte.tokenize(texts))) == texts
    for text in UNICODE_TEXTS:
        assert byte.detokenize(byte.tokenize(text)).numpy().decode() == text


def test_sentencepiece_matches_the_sentencepiece_library(unigram, bpe):
    texts = HELD_OUT + UNICODE_TEXTS
    for tokenizer in (unigram, bpe):
        processor = spm.SentencePieceProcessor(
            model_proto=tokenizer.model_proto
        )
        ids = tokenizer.tokenize(texts)
        assert _rows(ids) == processor.encode(texts)
        expected = [processor.decode(row) for row in processor.encode(texts)]
        assert _decode(tokenizer.detokenize(ids)) == expected


def test_sentencepiece_round_trip_normalizes_whitespace(unigram):
    words = HELD_OUT[0].split()
    messy = "  " + "\t ".join(words[:2]) + "\n" + "   ".join(words[2:]) + " "
    assert messy != HELD_OUT[0]
    round_trip = unigram.detokenize(unigram.tokenize(messy)).numpy().decode()
    assert round_trip == " ".join(words) == HELD_OUT[0]


def test_add_bos_and_add_eos(tokenizer):
    texts = HELD_OUT[:5] + [""]
    plain = _rows(tokenizer.tokenize(texts))
    both = _rows(tokenizer.tokenize(texts, add_bos=True, add_eos=True))
    bos = _rows(tokenizer.tokenize(texts, add_bos=True))
    eos = _rows(tokenizer.tokenize(texts, add_eos=True))
    assert both == [[BOS_ID] + row + [EOS_ID] for row in plain]
    assert bos == [[BOS_ID] + row for row in plain]
    assert eos == [row + [EOS_ID] for row in plain]
    scalar = tokenizer.tokenize(texts[0], add_bos=True, add_eos=True)
    assert scalar.numpy().tolist() == both[0]
    # BOS/EOS never come out of plain tokenization.
    flat = [i for row in plain for i in row]
    assert BOS_ID not in flat and EOS_ID not in flat and PAD_ID not in flat
    # detokenize drops them again.
    restored = tokenizer.detokenize(tf.ragged.constant(both))
    assert _decode(restored) == texts


def test_detokenize_stops_at_eos_and_ignores_pad_and_bos(tokenizer):
    first, second, third = HELD_OUT[:3]
    a = tokenizer.tokenize(first).numpy().tolist()
    b = tokenizer.tokenize(second).numpy().tolist()
    c = tokenizer.tokenize(third).numpy().tolist()
    rows = [
        [BOS_ID] + a + [EOS_ID] + b + [EOS_ID],  # text after EOS is dropped
        [PAD_ID] + b[:1] + [PAD_ID, BOS_ID] + b[1:] + [PAD_ID] * 3,
        [EOS_ID] + c,  # EOS first: empty
        c + [EOS_ID, EOS_ID, BOS_ID] + a,
    ]
    expected = [first, second, "", third]
    assert _decode(tokenizer.detokenize(tf.ragged.constant(rows))) == expected
    length = max(len(row) for row in rows)
    dense = np.array([row + [PAD_ID] * (length - len(row)) for row in rows])
    assert _decode(tokenizer.detokenize(dense)) == expected
    assert _decode(tokenizer.detokenize(dense.astype("int64"))) == expected
    single = tokenizer.detokenize(rows[0]).numpy().decode()
    assert single == first


def test_detokenize_reads_out_of_range_ids_as_unk(tokenizer):
    ids = tokenizer.tokenize(HELD_OUT[0]).numpy().tolist()
    with_unk = tokenizer.detokenize([ids[:1] + [UNK_ID] + ids[1:]])
    out_of_range = tokenizer.detokenize(
        [ids[:1] + [tokenizer.vocab_size + 5] + ids[1:]]
    )
    negative = tokenizer.detokenize([ids[:1] + [-7] + ids[1:]])
    assert out_of_range.numpy()[0] == with_unk.numpy()[0]
    assert negative.numpy()[0] == with_unk.numpy()[0]
    pieces = tokenizer.id_to_piece([tokenizer.vocab_size, -1])
    assert _decode(pieces) == ["<unk>", "<unk>"]


def test_byte_detokenize_always_returns_valid_utf8(byte):
    euro = [b + 4 for b in "€".encode("utf-8")]  # three bytes
    texts = byte.detokenize(
        tf.ragged.constant([euro[:2] + [ord("a") + 4], [UNK_ID], euro])
    )
    assert _decode(texts) == ["\ufffda", "\ufffd", "€"]


def test_empty_inputs(tokenizer):
    ids = tokenizer.tokenize("")
    assert ids.shape.as_list() == [0] and ids.dtype == tf.int32
    assert tokenizer.detokenize(ids).numpy() == b""
    assert tokenizer.detokenize([]).numpy() == b""
    assert tokenizer.detokenize([PAD_ID, PAD_ID]).numpy() == b""
    assert _rows(tokenizer.tokenize([""])) == [[]]
    empty_batch = tokenizer.tokenize([])
    assert empty_batch.shape.as_list() == [0, None]
    assert tokenizer.detokenize(empty_batch).shape.as_list() == [0]
    assert tokenizer.detokenize(np.zeros([0, 4], "int32")).shape == [0]


def test_batch_of_mixed_lengths(tokenizer):
    texts = [HELD_OUT[0], "", HELD_OUT[1] + " " + HELD_OUT[2], HELD_OUT[3]]
    batch = tokenizer.tokenize(texts, add_eos=True)
    singles = [
        tokenizer.tokenize(t, add_eos=True).numpy().tolist() for t in texts
    ]
    assert _rows(batch) == singles
    lengths = [len(row) for row in singles]
    assert len(set(lengths)) == len(lengths)
    dense = batch.to_tensor()
    assert dense.shape == [len(texts), max(lengths)]
    for row, length in zip(dense.numpy(), lengths):
        assert (row[length:] == PAD_ID).all()
    assert _decode(tokenizer.detokenize(dense)) == texts


def test_id_to_piece_keeps_the_shape(tokenizer):
    ids = tokenizer.tokenize(HELD_OUT[:3], add_bos=True)
    pieces = tokenizer.id_to_piece(ids)
    assert isinstance(pieces, tf.RaggedTensor)
    assert pieces.row_lengths().numpy().tolist() == [
        len(row) for row in _rows(ids)
    ]
    assert pieces[0][0].numpy() == b"<s>"
    dense = tokenizer.id_to_piece(ids.to_tensor())
    assert dense.shape == ids.to_tensor().shape
    assert dense.dtype == tf.string


def test_byte_id_to_piece(byte):
    ids = byte.tokenize("a é")
    assert _decode(byte.id_to_piece(ids)) == ["a", "<0x20>", "<0xC3>", "<0xA9>"]


def test_input_errors(tokenizer):
    with pytest.raises(ValueError, match="tf.string"):
        tokenizer.tokenize(tf.constant([1, 2]))
    with pytest.raises(ValueError, match="reshape"):
        tokenizer.tokenize([["a", "b"]])
    with pytest.raises(ValueError, match="integer ids"):
        tokenizer.detokenize(tf.constant([[0.5, 1.0]]))
    with pytest.raises(ValueError, match="shape"):
        tokenizer.detokenize(tf.zeros([1, 2, 3], tf.int32))
    with pytest.raises(ValueError, match="add_eos"):
        tokenizer.tokenize("a", add_eos="yes")


# Training


def test_bpe_and_unigram_both_train(unigram, bpe):
    assert unigram.model_type == "unigram"
    assert bpe.model_type == "bpe"
    assert unigram.model_proto != bpe.model_proto
    assert isinstance(unigram, SentencePieceTokenizer)
    for tokenizer in (unigram, bpe):
        ids = tokenizer.tokenize(HELD_OUT)
        # Subwords: fewer pieces than characters.
        assert ids.flat_values.shape[0] < sum(len(t) for t in HELD_OUT)


def test_training_is_deterministic():
    first = train_sentencepiece(TRAIN, vocab_size=120, seed=3)
    again = train_sentencepiece(iter(list(TRAIN)), vocab_size=120, seed=3)
    assert first.model_proto == again.model_proto
    as_bytes = train_sentencepiece(
        [t.encode("utf-8") for t in TRAIN], vocab_size=120, seed=3
    )
    assert as_bytes.model_proto == first.model_proto


def test_max_sentences_samples_deterministically():
    def sample(seed):
        texts = (t for t in TRAIN)  # a generator, read once
        return train_sentencepiece(
            texts, vocab_size=100, max_sentences=150, seed=seed
        ).model_proto

    assert sample(0) == sample(0)
    assert sample(0) != sample(1)
    full = train_sentencepiece(TRAIN, vocab_size=100).model_proto
    assert sample(0) != full
    everything = train_sentencepiece(
        TRAIN, vocab_size=100, max_sentences=len(TRAIN)
    ).model_proto
    assert everything == full


def test_reservoir_sample_is_uniform_and_ordered():
    texts = [f"s{i}" for i in range(1000)]
    sample = trainer._sample(iter(texts), 100, seed=0)
    assert len(sample) == len(set(sample)) == 100
    indices = [int(t[1:]) for t in sample]
    assert indices == sorted(indices)
    assert 300 < np.mean(indices) < 700  # not just the first 100
    assert trainer._sample(texts, 2000, seed=0) == texts


def test_character_coverage_maps_rare_characters_to_unk():
    rare = "ж"
    texts = TRAIN[:200] + [f"{TRAIN[0]} {rare}"] * 2
    full = train_sentencepiece(texts, vocab_size=100, character_coverage=1.0)
    partial = train_sentencepiece(
        texts, vocab_size=100, character_coverage=0.995
    )
    probe = f"{HELD_OUT[0]} {rare}"
    assert UNK_ID not in full.tokenize(probe).numpy()
    assert UNK_ID in partial.tokenize(probe).numpy()
    # Never-seen characters are UNK in both.
    for tokenizer in (full, partial):
        ids = tokenizer.tokenize(f"{HELD_OUT[0]} €").numpy().tolist()
        assert ids.count(UNK_ID) == 1
        text = tokenizer.detokenize(ids).numpy().decode()
        assert text.startswith(HELD_OUT[0]) and "€" not in text


def test_user_defined_symbols_are_single_pieces():
    tokenizer = train_sentencepiece(
        TRAIN, vocab_size=120, user_defined_symbols=["<sep>", "[X]"]
    )
    text = f"{HELD_OUT[0]} <sep> {HELD_OUT[1]}[X]"
    ids = tokenizer.tokenize(text).numpy().tolist()
    assert ids.count(4) == 1 and ids.count(5) == 1
    assert ids.index(4) < ids.index(5) == len(ids) - 1
    assert tokenizer.detokenize(ids).numpy().decode() == text
    assert _decode(tokenizer.id_to_piece([4, 5])) == ["<sep>", "[X]"]


def test_vocab_size_too_high_raises_a_clear_error():
    with pytest.raises(ValueError, match="too high") as info:
        train_sentencepiece(TRAIN[:20], vocab_size=5000)
    assert "smaller `vocab_size`" in str(info.value)
    assert "<=" in str(info.value)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"model_type": "char"}, r"one of \['unigram', 'bpe'\]"),
        ({"vocab_size": 4}, "vocab_size"),
        ({"vocab_size": 100.0}, "vocab_size"),
        ({"character_coverage": 0.0}, "character_coverage"),
        ({"character_coverage": 1.5}, "character_coverage"),
        ({"max_sentences": 0}, "max_sentences"),
        ({"seed": -1}, "seed"),
        ({"user_defined_symbols": "<sep>"}, "list of strings"),
        ({"user_defined_symbols": ["<s>"]}, "special pieces"),
        ({"texts": "one long string"}, "not a single string"),
        ({"texts": []}, "no text"),
        ({"texts": ["ok", 3]}, r"texts\[1\]"),
    ],
)
def test_train_argument_errors(kwargs, match):
    arguments = {"texts": TRAIN, "vocab_size": 100, **kwargs}
    with pytest.raises(ValueError, match=match):
        train_sentencepiece(**arguments)


def test_bad_model_protos_are_rejected():
    with pytest.raises(ValueError, match="not a valid SentencePiece"):
        SentencePieceTokenizer(b"not a model")
    with pytest.raises(ValueError, match="bytes"):
        SentencePieceTokenizer("spm.model")
    writer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(TRAIN),
        model_writer=writer,
        vocab_size=100,
        minloglevel=2,
    )  # sentencepiece's default ids: unk=0, bos=1, eos=2, no pad
    with pytest.raises(ValueError, match="pad_id=0, unk_id=1"):
        SentencePieceTokenizer(writer.getvalue())


# Save / load


def test_save_and_load_give_identical_ids(tokenizer, tmp_path):
    path = tmp_path / "tokenizer"
    tokenizer.save(path)
    loaded = Tokenizer.load(str(path))
    assert type(loaded) is type(tokenizer)
    assert loaded.vocab_size == tokenizer.vocab_size
    texts = HELD_OUT + UNICODE_TEXTS
    assert _rows(loaded.tokenize(texts)) == _rows(tokenizer.tokenize(texts))
    config = json.loads((path / "tokenizer.json").read_text())
    assert config["type"] == tokenizer.type_name
    assert config["vocab_size"] == tokenizer.vocab_size
    assert [config[k] for k in ("pad_id", "unk_id", "bos_id", "eos_id")] == [
        PAD_ID,
        UNK_ID,
        BOS_ID,
        EOS_ID,
    ]


def test_every_tokenizer_type_loads_as_the_class_that_declares_it(tmp_path):
    class Marked(ByteTokenizer):  # inherits type_name "byte"
        def tokenize(self, texts):
            return super().tokenize(texts)

    Marked().save(tmp_path)
    assert type(Tokenizer.load(str(tmp_path))) is ByteTokenizer
    assert set(Tokenizer.types) == {
        "byte",
        "byte_pair",
        "marian",
        "sentencepiece",
        "wordpiece",
    }


def test_saved_spm_model_is_a_normal_sentencepiece_file(bpe, tmp_path):
    bpe.save(tmp_path)
    config = json.loads((tmp_path / "tokenizer.json").read_text())
    assert config["model_type"] == "bpe"
    processor = spm.SentencePieceProcessor(
        model_file=str(tmp_path / "spm.model")
    )
    assert processor.encode(HELD_OUT) == _rows(bpe.tokenize(HELD_OUT))
    assert Tokenizer.load(tmp_path).model_proto == bpe.model_proto


def test_load_errors(unigram, tmp_path):
    missing = tmp_path / "nothing_here"
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        Tokenizer.load(missing)
    unigram.save(tmp_path / "tok")
    os.remove(tmp_path / "tok" / "spm.model")
    with pytest.raises(FileNotFoundError, match="spm.model"):
        Tokenizer.load(tmp_path / "tok")
    (tmp_path / "tok" / "tokenizer.json").write_text('{"type": "charlevel"}')
    with pytest.raises(ValueError, match="charlevel"):
        Tokenizer.load(tmp_path / "tok")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        unigram.save(tmp_path / "file")
    (tmp_path / "tok" / "tokenizer.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a tokenizer description"):
        Tokenizer.load(tmp_path / "tok")


@pytest.mark.parametrize(
    "name", ["/etc/hostname", "../spm.model", "sub/spm.model", "", ".."]
)
def test_the_model_file_must_be_a_file_of_the_tokenizer_directory(
    unigram, tmp_path, name
):
    unigram.save(tmp_path / "tok")
    config = json.loads((tmp_path / "tok" / "tokenizer.json").read_text())
    config["model_file"] = name
    (tmp_path / "tok" / "tokenizer.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="plain name of a file"):
        Tokenizer.load(tmp_path / "tok")


# Graph mode: tf.data, tf.function, SavedModel


def test_tokenize_and_detokenize_in_tf_data(tokenizer):
    texts = HELD_OUT[:8]
    dataset = tf.data.Dataset.from_tensor_slices(texts)
    ids = dataset.map(
        lambda text: tokenizer.tokenize(text, add_bos=True, add_eos=True),
        num_parallel_calls=2,
        deterministic=True,
    )
    padded = list(ids.padded_batch(4).as_numpy_iterator())
    assert padded[0].dtype == np.int32
    restored = (
        ids.padded_batch(4)
        .map(tokenizer.detokenize)
        .unbatch()
        .as_numpy_iterator()
    )
    assert [t.decode("utf-8") for t in restored] == texts
    # Batched first: ragged elements.
    ragged = dataset.batch(3).map(tokenizer.tokenize)
    rows = [row for batch in ragged for row in _rows(batch)]
    assert rows == _rows(tokenizer.tokenize(texts))


def test_tokenize_and_detokenize_in_tf_function(tokenizer):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(texts):
        ids = tokenizer.tokenize(texts, add_eos=True)
        return ids.to_tensor(), tokenizer.detokenize(ids.to_tensor())

    texts = HELD_OUT[:4] + [""]
    ids, restored = round_trip(tf.constant(texts))
    assert _decode(restored) == texts
    expected = tokenizer.tokenize(texts, add_eos=True).to_tensor()
    np.testing.assert_array_equal(ids.numpy(), expected.numpy())

    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def scalar(text):
        return tokenizer.detokenize(tokenizer.tokenize(text, add_bos=True))

    assert scalar(tf.constant(texts[0])).numpy().decode() == texts[0]


class _Export(tf.Module):
    def __init__(self, tokenizer):
        super().__init__()
        self.tokenizer = tokenizer

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(self, texts):
        ids = self.tokenizer.tokenize(texts, add_bos=True, add_eos=True)
        return {
            "ids": ids.to_tensor(),
            "texts": self.tokenizer.detokenize(ids.to_tensor()),
            "pieces": self.tokenizer.id_to_piece(ids).to_tensor(),
        }


_LOAD_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    import tensorflow_text  # noqa: F401, registers the SentencePiece ops

    with open(sys.argv[1], encoding="utf-8") as f:
        jobs = json.load(f)
    results = {}
    for name, job in jobs.items():
        loaded = tf.saved_model.load(job["model"])
        out = loaded.round_trip(tf.constant(job["texts"]))
        results[name] = {
            "ids": out["ids"].numpy().tolist(),
            "texts": [t.decode("utf-8") for t in out["texts"].numpy()],
            "pieces": [[p.decode("utf-8") for p in row]
                       for row in out["pieces"].numpy()],
        }
    assert not [m for m in sys.modules if m.startswith("keras_transformer")]
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(results, f)
    """
)


@pytest.mark.slow
def test_saved_model_runs_in_a_fresh_process(unigram, bpe, byte, tmp_path):
    # One subprocess loads all three SavedModels (importing TensorFlow is
    # the slow part).
    jobs, expected = {}, {}
    tokenizers = {"unigram": unigram, "bpe": bpe, "byte": byte}
    for name, tokenizer in tokenizers.items():
        texts = HELD_OUT[:3] + [""]
        if name == "byte":
            texts += UNICODE_TEXTS
        export = _Export(tokenizer)
        out = export.round_trip(tf.constant(texts))
        expected[name] = {
            "ids": out["ids"].numpy().tolist(),
            "texts": _decode(out["texts"]),
            "pieces": [_decode(row) for row in out["pieces"].numpy()],
        }
        assert expected[name]["texts"] == texts
        model_dir = str(tmp_path / f"{name}_model")
        tf.saved_model.save(export, model_dir)
        jobs[name] = {"model": model_dir, "texts": texts}

    (tmp_path / "jobs.json").write_text(json.dumps(jobs), encoding="utf-8")
    run_script(
        _LOAD_SCRIPT,
        tmp_path / "jobs.json",
        tmp_path / "out.json",
        cwd=tmp_path,
    )
    results = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    for name in tokenizers:
        assert results[name] == expected[name], name


def test_tokenizers_survive_keras_clear_session(tokenizer):
    # keras.backend.clear_session() clears TensorFlow's kernel cache, which
    # deletes kernel-owned resources (tensorflow_text's default for the
    # SentencePiece model).
    import keras

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(texts):
        return tokenizer.detokenize(tokenizer.tokenize(texts))

    texts = HELD_OUT[:3]
    before = tokenizer.tokenize(texts)
    assert _decode(round_trip(tf.constant(texts))) == texts
    keras.backend.clear_session()
    assert _rows(tokenizer.tokenize(texts)) == _rows(before)
    assert _decode(round_trip(tf.constant(texts))) == texts
