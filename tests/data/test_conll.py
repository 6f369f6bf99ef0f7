"""CoNLL column files: layouts, tag-scheme repair, errors."""

import gzip
import warnings

import pytest

from keras_transformer.data.conll import (
    TagSchemeWarning,
    read_conll,
    repair_tags,
    split_tag,
)


def _write(tmp_path, text, name="data.conll"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def test_reads_tabs_spaces_columns_and_every_separator(tmp_path):
    text = (
        "-DOCSTART- -X- -X- O\n"
        "\n"
        "EU NNP B-NP B-ORG\n"
        "rejects VBZ B-VP O\n"
        "\t\n"  # a separator of whitespace only (WNUT-17)
        "Peter NNP B-NP B-PER\r\n"  # CRLF
        "Blackburn NNP I-NP I-PER\n"
        "   \n"
        "\n"
        "Zoë NNP B-NP B-PER"  # no final newline, no blank line
    )
    sentences = read_conll(_write(tmp_path, text))
    assert sentences == [
        (["EU", "rejects"], ["B-ORG", "O"]),
        (["Peter", "Blackburn"], ["B-PER", "I-PER"]),
        (["Zoë"], ["B-PER"]),
    ]
    tabbed = "@paul\tO\nEmpire\tB-location\nState\tI-location\n\t\nok\tO\n"
    path = tmp_path / "wnut.conll.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(tabbed.encode("utf-8"))
    assert read_conll(str(path)) == [
        (["@paul", "Empire", "State"], ["O", "B-location", "I-location"]),
        (["ok"], ["O"]),
    ]


@pytest.mark.parametrize(
    "tags, repaired, changed",
    [
        (["O", "I-PER", "I-PER"], ["O", "B-PER", "I-PER"], [1]),
        (["I-LOC", "O"], ["B-LOC", "O"], [0]),
        (["B-PER", "I-LOC", "E-LOC"], ["B-PER", "B-LOC", "E-LOC"], [1]),
        # BIOES: a lone E- is a single-word entity; I- after E- starts one.
        (["O", "E-ORG"], ["O", "S-ORG"], [1]),
        (["B-X", "E-X", "I-X"], ["B-X", "E-X", "B-X"], [2]),
        # Valid sequences stay as they are.
        (
            ["B-X", "I-X", "E-X", "S-Y", "O"],
            ["B-X", "I-X", "E-X", "S-Y", "O"],
            [],
        ),
        (["B-X", "B-X", "I-X"], ["B-X", "B-X", "I-X"], []),
    ],
)
def test_repair_follows_conlleval(tags, repaired, changed):
    assert repair_tags(tags) == (repaired, changed)


def test_a_broken_sequence_is_repaired_with_a_warning_naming_the_line(
    tmp_path,
):
    path = _write(tmp_path, "a\tO\nb\tI-PER\n\nc\tI-LOC\nd\tI-LOC\n")
    with pytest.warns(TagSchemeWarning, match=r"2 tag\(s\).*line 2"):
        sentences = read_conll(path)
    assert sentences == [
        (["a", "b"], ["O", "B-PER"]),
        (["c", "d"], ["B-LOC", "I-LOC"]),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_conll(_write(tmp_path, "a\tB-PER\nb\tI-PER\n", "ok.conll"))


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "a\tO\nb c\tO\n",
            r"line 2: 3 column\(s\), but the first word line has 2",
        ),
        (
            "a\tO\n\nb\n",
            r"line 3: 1 column\(s\), but the first word line has 2",
        ),
        ("word\n", r"line 1: one column"),
        ("a\tO\nb\tPER\n", r"line 2: tag 'PER' is not O nor B-, I-,"),
        ("a\tO\nb\tX-PER\n", r"line 2: tag 'X-PER'"),
        ("a\tO\nb\tB-\n", r"line 2: tag 'B-'"),
        ("-DOCSTART- O\n\n", r"holds no tagged words"),
    ],
)
def test_bad_lines_name_the_file_and_line(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match=message) as info:
        read_conll(path)
    assert "data.conll" in str(info.value)
    assert "\n" not in str(info.value)


def test_split_tag():
    assert split_tag("O") == ("O", "")
    assert split_tag("B-creative-work") == ("B", "creative-work")
    with pytest.raises(ValueError):
        split_tag("o")
