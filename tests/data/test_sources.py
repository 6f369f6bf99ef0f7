"""Tests for keras_transformer.data.sources.

Local readers are tested on small files written into ``tmp_path``; the
tensorflow-datasets loaders on ``tfds.testing.mock_data`` (no network).
"""

import gzip
from collections import Counter

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_transformer.data.sources import (
    read_labelled,
    read_parallel_files,
    read_text,
    read_tsv_pairs,
    split_examples,
    split_text,
    tfds_classification,
    tfds_text,
    tfds_translation,
)


def write(path, text, compress=False):
    """Writes ``text`` as UTF-8 bytes (gzip'd if asked); returns ``path``."""
    data = text.encode("utf-8")
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


# ---------------------------------------------------------------------------
# read_tsv_pairs
# ---------------------------------------------------------------------------

TATOEBA = (
    "Go.\tVe.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272\n"
    "Run!\t¡Corre!\n"
    "\n"
    'I\'m "fine".\tEstoy «bien».\n'
)


@pytest.mark.parametrize("compress", [False, True])
def test_read_tsv_pairs(tmp_path, compress):
    name = "spa.txt.gz" if compress else "spa.txt"
    path = write(tmp_path / name, TATOEBA, compress)
    assert read_tsv_pairs(path) == [
        ("Go.", "Ve."),
        ("Run!", "¡Corre!"),
        ('I\'m "fine".', "Estoy «bien»."),
    ]
    assert read_tsv_pairs(str(path), 1, 0)[1] == ("¡Corre!", "Run!")


def test_read_tsv_pairs_strips_crlf(tmp_path):
    path = write(tmp_path / "crlf.txt", TATOEBA.replace("\n", "\r\n"))
    pairs = read_tsv_pairs(path)
    assert pairs[0] == ("Go.", "Ve.")
    assert pairs[1] == ("Run!", "¡Corre!")
    assert not any("\r" in s or "\r" in t for s, t in pairs)


def test_read_tsv_pairs_bad_line_names_file_and_line(tmp_path):
    path = write(tmp_path / "bad.txt", "a\tb\n\nc d\ne\tf\n")
    with pytest.raises(ValueError) as info:
        read_tsv_pairs(path)
    message = str(info.value)
    assert "bad.txt" in message and "line 3" in message
    with pytest.raises(ValueError, match="line 1"):
        read_tsv_pairs(write(tmp_path / "two.txt", "a\tb\n"), 0, 2)


def test_read_tsv_pairs_errors(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_tsv_pairs(missing)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\u00e9\tcoffee\n".encode("latin-1"))
    with pytest.raises(ValueError, match="UTF-8"):
        read_tsv_pairs(latin)
    fake_gz = write(tmp_path / "plain.txt.gz", "a\tb\n")
    with pytest.raises(ValueError, match="gzip"):
        read_tsv_pairs(fake_gz)
    with pytest.raises(ValueError, match="source_column"):
        read_tsv_pairs(write(tmp_path / "ok.txt", "a\tb\n"), -1, 1)


# ---------------------------------------------------------------------------
# read_parallel_files
# ---------------------------------------------------------------------------


def test_read_parallel_files(tmp_path):
    en = write(tmp_path / "train.en.gz", "A dog.\nTwo men.\n\nA cat.\n", True)
    de = write(
        tmp_path / "train.de",
        "Ein Hund.\r\nZwei Männer.\r\n\r\nEine Katze.\r\n",
    )
    assert read_parallel_files(en, de) == [
        ("A dog.", "Ein Hund."),
        ("Two men.", "Zwei Männer."),
        ("", ""),
        ("A cat.", "Eine Katze."),
    ]


def test_read_parallel_files_without_final_newline(tmp_path):
    en = write(tmp_path / "a.en", "one\ntwo")
    de = write(tmp_path / "a.de", "eins\nzwei\n")
    assert read_parallel_files(en, de) == [("one", "eins"), ("two", "zwei")]


def test_read_parallel_files_counts_differ(tmp_path):
    en = write(tmp_path / "val.en", "a\nb\nc\n")
    de = write(tmp_path / "val.de", "x\ny\n")
    with pytest.raises(ValueError) as info:
        read_parallel_files(en, de)
    message = str(info.value)
    assert "has 3" in message and "has 2" in message
    assert "val.en" in message and "val.de" in message
    with pytest.raises(FileNotFoundError, match="val.fr"):
        read_parallel_files(en, tmp_path / "val.fr")


# ---------------------------------------------------------------------------
# read_labelled
# ---------------------------------------------------------------------------

SST2 = (
    "label\tsentence\r\n"
    "0\thide new secretions from the parental units \r\n"
    "0\tcontains no wit , only labored gags \r\n"
    "1\tthat loves its characters \r\n"
)


@pytest.mark.parametrize("compress", [False, True])
def test_read_labelled_sst2_layout(tmp_path, compress):
    name = "train.tsv.gz" if compress else "train.tsv"
    path = write(tmp_path / name, SST2, compress)
    assert read_labelled(path) == [
        ("hide new secretions from the parental units ", "0"),
        ("contains no wit , only labored gags ", "0"),
        ("that loves its characters ", "1"),
    ]


def test_read_labelled_sst2_dev_header(tmp_path):
    path = write(tmp_path / "dev.tsv", "label\tcontent\n1\tgood\n0\tbad\n")
    assert read_labelled(path) == [("good", "1"), ("bad", "0")]


SMS = (
    "ham\tGo until jurong point, crazy.. Available only in bugis\n"
    'spam\t"Free entry in 2 a wkly comp to win FA Cup final tkts\n'
    'ham\tI said "ok" lar... Joking wif u oni...\n'
    "ham\tU dun say so early hor... U c already then say...\n"
    "spam\tWINNER!! As a valued network customer you have been selected\n"
)


def test_read_labelled_sms_layout_without_extension(tmp_path):
    path = write(tmp_path / "SMSSpamCollection", SMS)
    examples = read_labelled(path)
    assert [label for _, label in examples] == [
        "ham",
        "spam",
        "ham",
        "ham",
        "spam",
    ]
    # Tabs are read without quoting: quote characters stay as they are.
    assert examples[1][0].startswith('"Free entry')
    assert examples[2][0] == 'I said "ok" lar... Joking wif u oni...'


def test_read_labelled_label_last_without_header(tmp_path):
    rows = [
        f"this is review number {i} of the film\t{i % 3}" for i in range(60)
    ]
    path = write(tmp_path / "reviews.txt", "\n".join(rows) + "\n")
    examples = read_labelled(path)
    assert len(examples) == 60
    assert examples[4] == ("this is review number 4 of the film", "1")
    assert Counter(label for _, label in examples) == {
        "0": 20,
        "1": 20,
        "2": 20,
    }


def test_read_labelled_both_end_columns_short(tmp_path):
    # Both end columns have few short values: the one with fewer distinct
    # values is the label, on either side.
    texts = [f"msg {i % 20}" for i in range(40)]
    labels = ["ham" if i % 3 else "spam" for i in range(40)]
    first = write(
        tmp_path / "first.tsv",
        "".join(f"{y}\t{x}\n" for x, y in zip(texts, labels)),
    )
    assert read_labelled(first) == list(zip(texts, labels))
    last = write(
        tmp_path / "last.tsv",
        "".join(f"{x}\t{y}\n" for x, y in zip(texts, labels)),
    )
    assert read_labelled(last) == list(zip(texts, labels))


def test_read_labelled_csv_with_quotes(tmp_path):
    text = (
        "id,text,label\n"
        '1,"Hello, world",positive\n'
        '2,"She said ""no""\nand left",negative\n'
        "3,plain,positive\n"
    )
    path = write(tmp_path / "data.csv.gz", text, compress=True)
    assert read_labelled(path) == [
        ("Hello, world", "positive"),
        ('She said "no"\nand left', "negative"),
        ("plain", "positive"),
    ]


def test_read_labelled_explicit_columns(tmp_path):
    text = "sentiment\treview\tsource\npos\tgreat\timdb\nneg\tawful\tyelp\n"
    path = write(tmp_path / "x.tsv", text)
    assert read_labelled(path) == [("great", "pos"), ("awful", "neg")]
    assert read_labelled(path, text_column="review", label_column=2) == [
        ("great", "imdb"),
        ("awful", "yelp"),
    ]
    assert read_labelled(path, text_column=1, label_column="SOURCE") == [
        ("great", "imdb"),
        ("awful", "yelp"),
    ]
    with pytest.raises(ValueError) as info:
        read_labelled(path, label_column="stars")
    assert "stars" in str(info.value) and "review" in str(info.value)
    with pytest.raises(ValueError, match="out of range"):
        read_labelled(path, label_column=5)
    with pytest.raises(ValueError, match="both select"):
        read_labelled(path, text_column=1, label_column="review")


def test_read_labelled_name_without_header(tmp_path):
    path = write(tmp_path / "SMSSpamCollection", SMS)
    with pytest.raises(ValueError, match="no header"):
        read_labelled(path, label_column="label")
    examples = read_labelled(path, text_column=1, label_column=0)
    assert examples == read_labelled(path)


def test_read_labelled_bad_rows(tmp_path):
    path = write(tmp_path / "bad.tsv", "label\ttext\n1\tok\n0\tnot\tok\n")
    with pytest.raises(ValueError) as info:
        read_labelled(path)
    assert "bad.tsv" in str(info.value) and "line 3" in str(info.value)
    long_cells = "\n".join(f"{'a' * 50} {i}\t{'b' * 50} {i}" for i in range(10))
    path = write(tmp_path / "ambiguous.tsv", long_cells)
    with pytest.raises(ValueError, match="label_column"):
        read_labelled(path)
    path = write(tmp_path / "mystery", "no delimiter here\n")
    with pytest.raises(ValueError, match="delimiter"):
        read_labelled(path)
    with pytest.raises(FileNotFoundError):
        read_labelled(tmp_path / "missing.tsv")


# ---------------------------------------------------------------------------
# read_text, split_examples, split_text
# ---------------------------------------------------------------------------


def test_read_text(tmp_path):
    text = "First Citizen:\nBefore we proceed any further, hear me speak.\n"
    assert read_text(write(tmp_path / "input.txt", text)) == text
    assert read_text(write(tmp_path / "in.txt.gz", text, True)) == text
    crlf = write(tmp_path / "crlf.txt", text.replace("\n", "\r\n"))
    assert read_text(crlf) == text


def _pairs_with_duplicates():
    pairs = []
    for i in range(300):
        for j in range(1 + i % 4):  # 1 to 4 translations per source
            pairs.append((f"source {i}", f"target {i}.{j}"))
    return pairs


def test_split_examples_keeps_every_example_once():
    pairs = _pairs_with_duplicates()
    splits = split_examples(pairs, 0.1, 0.2, seed=3)
    assert sorted(splits) == ["test", "train", "validation"]
    combined = [p for part in splits.values() for p in part]
    assert Counter(combined) == Counter(pairs)
    n = len(pairs)
    assert abs(len(splits["test"]) - 0.2 * n) <= 4
    assert abs(len(splits["validation"]) - 0.1 * n) <= 4


def test_split_examples_groups_by_source():
    splits = split_examples(_pairs_with_duplicates(), 0.1, 0.1, seed=0)
    owners = {}
    for name, part in splits.items():
        for source, _ in part:
            assert owners.setdefault(source, name) == name


def test_split_examples_is_deterministic_and_shuffled():
    pairs = _pairs_with_duplicates()
    first = split_examples(pairs, seed=1)
    assert first == split_examples(pairs, seed=1)
    assert first != split_examples(pairs, seed=2)
    assert first["train"] != [p for p in pairs if p in first["train"]]


def test_split_examples_mixes_copies_within_a_split():
    splits = split_examples(_pairs_with_duplicates(), 0.1, 0.1, seed=0)
    sources = [source for source, _ in splits["train"]]
    runs = 1 + sum(a != b for a, b in zip(sources, sources[1:]))
    # Copies of a source are shuffled apart, not kept in one block.
    assert runs > len(set(sources))


def test_split_examples_plain_items_and_bad_fractions():
    splits = split_examples(list(range(100)), 0.25, 0.25)
    assert [len(splits[k]) for k in ("train", "validation", "test")] == [
        50,
        25,
        25,
    ]
    assert sorted(sum(splits.values(), [])) == list(range(100))
    for bad in [(0.5, 0.5), (-0.1, 0.1), (0.1, 1.0)]:
        with pytest.raises(ValueError, match="fraction"):
            split_examples([1, 2, 3], *bad)


def test_split_text_cuts_at_newlines():
    # Lines of varied length, so the exact cut points fall inside lines.
    lines = [f"line {i} " + "x" * (i * 7 % 23) for i in range(200)]
    text = "\n".join(lines) + "\n"
    size = len(text)
    assert text[size - round(0.2 * size) - 1] != "\n"
    parts = split_text(text, 0.1, 0.2)
    assert parts["train"] + parts["validation"] + parts["test"] == text
    assert parts["train"].endswith("\n")
    assert parts["validation"].endswith("\n")
    assert parts["validation"].startswith("line ")
    assert parts["test"].startswith("line ")
    assert abs(len(parts["test"]) - 0.2 * size) <= 30
    assert abs(len(parts["validation"]) - 0.1 * size) <= 30


def test_split_text_without_newlines_and_zero_fraction():
    text = "abcdefghij" * 10
    parts = split_text(text, 0.1, 0.2)
    assert parts == {
        "train": text[:70],
        "validation": text[70:80],
        "test": text[80:],
    }
    parts = split_text(text, 0.0, 0.3)
    assert parts["validation"] == ""
    assert parts["train"] + parts["test"] == text
    with pytest.raises(ValueError, match="fraction"):
        split_text(text, 0.6, 0.5)


# ---------------------------------------------------------------------------
# tensorflow-datasets (mocked: no network)
# ---------------------------------------------------------------------------


def run_mocked(fn, num_examples=4):
    """Runs ``fn`` under ``tfds.testing.mock_data``.

    The default policy is tried first; if it asks for metadata files that
    are not installed, ``MockPolicy.USE_CODE`` is used instead.
    """
    try:
        with tfds.testing.mock_data(num_examples=num_examples):
            return fn()
    except ValueError as err:
        if "metadata" not in str(err):
            raise
    with tfds.testing.mock_data(
        num_examples=num_examples, policy=tfds.testing.MockPolicy.USE_CODE
    ):
        return fn()


def raw_examples(name, split="train"):
    """The mocked examples as dicts of numpy values, straight from tfds."""
    return list(tfds.as_numpy(tfds.load(name, split=split)))


def scalar_spec(dtype):
    return tf.TensorSpec(shape=(), dtype=dtype)


@pytest.mark.parametrize(
    "name, source, target",
    [
        ("ted_hrlr_translate/pt_to_en", "pt", "en"),
        ("wmt14_translate/de-en", "de", "en"),
    ],
)
def test_tfds_translation(name, source, target):
    def body():
        dataset = tfds_translation(name, "train")
        swapped = tfds_translation(name, "train", target, source)
        return (
            dataset.element_spec,
            list(dataset.as_numpy_iterator()),
            list(swapped.as_numpy_iterator()),
            raw_examples(name),
        )

    spec, pairs, swapped, raw = run_mocked(body)
    assert spec == (scalar_spec(tf.string), scalar_spec(tf.string))
    assert len(pairs) == 4
    # Defaults follow supervised_keys: source first.
    assert pairs == [(ex[source], ex[target]) for ex in raw]
    assert any(s != t for s, t in pairs)
    assert swapped == [(t, s) for s, t in pairs]


def test_tfds_translation_bad_language():
    def body():
        with pytest.raises(ValueError) as info:
            tfds_translation("ted_hrlr_translate/pt_to_en", "train", "fr")
        return str(info.value)

    message = run_mocked(body)
    assert "'fr'" in message and "'pt'" in message and "'en'" in message


@pytest.mark.parametrize(
    "name, text_key, expected_text_key, names",
    [
        ("imdb_reviews", None, "text", ["neg", "pos"]),
        (
            "ag_news_subset",
            None,
            "description",
            ["World", "Sports", "Business", "Sci/Tech"],
        ),
        (
            "ag_news_subset",
            "title",
            "title",
            ["World", "Sports", "Business", "Sci/Tech"],
        ),
    ],
)
def test_tfds_classification(name, text_key, expected_text_key, names):
    def body():
        dataset, class_names = tfds_classification(
            name, "train", text_key=text_key
        )
        return (
            dataset.element_spec,
            list(dataset.as_numpy_iterator()),
            class_names,
            raw_examples(name),
        )

    spec, examples, class_names, raw = run_mocked(body, num_examples=6)
    assert spec == (scalar_spec(tf.string), scalar_spec(tf.int64))
    assert class_names == names
    assert [text for text, _ in examples] == [
        ex[expected_text_key] for ex in raw
    ]
    assert [int(label) for _, label in examples] == [
        int(ex["label"]) for ex in raw
    ]
    assert all(0 <= label < len(names) for _, label in examples)


def test_tfds_classification_bad_keys():
    def body():
        messages = []
        for kwargs in ({"text_key": "body"}, {"label_key": "title"}):
            with pytest.raises(ValueError) as info:
                tfds_classification("ag_news_subset", "train", **kwargs)
            messages.append(str(info.value))
        return messages

    missing, not_class_label = run_mocked(body)
    assert "'body'" in missing and "'description'" in missing
    assert "ClassLabel" in not_class_label


@pytest.mark.parametrize("num_examples", [1, 3])
def test_tfds_text(num_examples):
    def body():
        return tfds_text("tiny_shakespeare", "train"), raw_examples(
            "tiny_shakespeare"
        )

    text, raw = run_mocked(body, num_examples=num_examples)
    assert isinstance(text, str)
    assert text == "\n".join(ex["text"].decode("utf-8") for ex in raw)
    assert len(raw) == num_examples


def test_tfds_unknown_dataset():
    with pytest.raises(ValueError, match="no_such_dataset_xyz"):
        tfds_translation("no_such_dataset_xyz", "train")
    with pytest.raises(ValueError, match="no_such_dataset_xyz"):
        tfds_text("no_such_dataset_xyz", "train")


def test_tfds_without_data_or_network(tmp_path, monkeypatch):
    def no_network(self, *args, **kwargs):
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr(
        tfds.core.DatasetBuilder, "download_and_prepare", no_network
    )
    with pytest.raises(FileNotFoundError) as info:
        tfds_text("tiny_shakespeare", "train", data_dir=str(tmp_path))
    message = str(info.value)
    assert "internet" in message and "data_dir" in message
    assert str(tmp_path) in message
    assert isinstance(info.value.__cause__, ConnectionError)


def test_tfds_not_prepared_and_download_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(
        tfds.core.DatasetBuilder,
        "download_and_prepare",
        lambda self, *args, **kwargs: None,
    )
    with pytest.raises(FileNotFoundError, match="data_dir") as info:
        tfds_classification("imdb_reviews", "train", data_dir=str(tmp_path))
    assert info.value.__cause__ is not None
