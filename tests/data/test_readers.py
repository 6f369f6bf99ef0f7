"""The local file readers: layouts, compression, line endings and the
one-line errors naming the file and line."""

import gzip
from collections import Counter

import pytest

from keras_transformer.data.readers import (
    read_labelled,
    read_parallel_files,
    read_text,
    read_tsv_pairs,
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
