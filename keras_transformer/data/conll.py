"""Reading CoNLL-style column files of tagged words (named entities).

One word per line: the word first, its tag last, any columns between
(part of speech, chunk) ignored; columns are separated by whitespace
(tabs or spaces). A blank line, or a line of whitespace only (WNUT-17
separates many sentences with a single tab), ends a sentence.
``-DOCSTART-`` lines (CoNLL-2003 document breaks) are skipped.

Tags are ``O`` or ``P-TYPE`` with the prefix ``P`` one of ``B``, ``I``
(BIO / IOB2) or ``E``, ``S`` (BIOES). A sequence that breaks the scheme
(``I-X`` or ``E-X`` after ``O``, after an entity of another type, or
after the end ``E-``/``S-`` of one) is *repaired*, as conlleval reads it:
such a tag starts a new entity and becomes ``B-X`` (``S-X`` for an
``E-X`` that is also the entity's end); a warning gives the file, the
number of repairs and the first line. The entity spans are those
conlleval and ``seqeval`` (default mode) would read from the original
tags.

``tfds_tagged_words`` loads the same ``(words, tags)`` from a tfds data
set such as ``conll2003``.
"""

import warnings

from keras_transformer.data.readers import read_file, split_lines

PREFIXES = ("B", "I", "E", "S")
DOCSTART = "-DOCSTART-"


class TagSchemeWarning(UserWarning):
    """A tag sequence broke the BIO/BIOES scheme and was repaired."""


def split_tag(tag):
    """``(prefix, type)`` of a tag: ``("O", "")`` or e.g. ``("B", "PER")``.

    Raises:
        ValueError: the tag is neither ``O`` nor ``P-TYPE`` with ``P`` in
            ``B, I, E, S``.
    """
    if tag == "O":
        return "O", ""
    prefix, dash, kind = tag.partition("-")
    if not dash or prefix not in PREFIXES or not kind:
        raise ValueError(
            f"tag {tag!r} is not O nor B-, I-, E- or S- followed by a type"
        )
    return prefix, kind


def repair_tags(tags):
    """The tags with scheme breaks repaired (see the module docstring).

    Args:
        tags: a list of tag strings of one sentence.

    Returns:
        ``(repaired, positions)``: the new list and the indices changed.

    Example:

    >>> repair_tags(["O", "I-PER", "I-PER", "I-LOC"])
    (['O', 'B-PER', 'I-PER', 'B-LOC'], [1, 3])
    """
    repaired, positions = list(tags), []
    previous_prefix, previous_kind = "O", ""
    for index, tag in enumerate(tags):
        prefix, kind = split_tag(tag)
        continues = (
            previous_prefix in ("B", "I")
            and previous_kind == kind
            and prefix in ("I", "E")
        )
        if prefix in ("I", "E") and not continues:
            repaired[index] = ("B-" if prefix == "I" else "S-") + kind
            positions.append(index)
        previous_prefix, previous_kind = prefix, kind
    return repaired, positions


def read_conll(path):
    """Reads sentences of ``(words, tags)`` from a CoNLL-style column file.

    See the module docstring for the layout and for how broken tag
    sequences are repaired (with a ``TagSchemeWarning``).

    Args:
        path: the file (``.gz`` is decompressed on the fly).

    Returns:
        A list of ``(words, tags)`` tuples of equal-length lists of ``str``,
        one per sentence, in file order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: a line has a different number of columns from the first
            word line, fewer than two columns, or a tag that is not ``O`` /
            ``B-X`` / ``I-X`` / ``E-X`` / ``S-X``; the file is not UTF-8 or
            holds no sentence. The message names the file and line.

    Example:

    >>> sentences = read_conll("wnut17/wnut17train.conll")  # doctest: +SKIP
    >>> sentences[0][0][:3], sentences[0][1][:3]  # doctest: +SKIP
    (['@paulwalk', 'It', "'s"], ['O', 'O', 'O'])
    """
    path, text = read_file(path)
    sentences, repairs, first_repair = [], 0, None
    for sentence in _sentences(path, text):
        numbers, words, tags = (list(column) for column in zip(*sentence))
        repaired, positions = repair_tags(tags)
        if positions:
            repairs += len(positions)
            if first_repair is None:
                first_repair = numbers[positions[0]]
        sentences.append((words, repaired))
    if not sentences:
        raise ValueError(
            f"{path!r} holds no tagged words. Check that it is a CoNLL file "
            "(word and tag per line)."
        )
    if repairs:
        warnings.warn(
            f"{path!r}: {repairs} tag(s) broke the BIO/BIOES scheme (I-X "
            "or E-X not continuing an X entity; the first on line "
            f"{first_repair}) and now start an entity (B-X / S-X), as "
            "conlleval reads them.",
            TagSchemeWarning,
            stacklevel=2,
        )
    return sentences


def _sentences(path, text):
    """The sentences of a CoNLL file's ``text``, each a list of ``(line
    number, word, tag)``; every word line is checked (``_check_line``)."""
    sentence, columns = [], None
    for number, line in enumerate(split_lines(text), start=1):
        cells = line.split()
        if not cells or cells[0] == DOCSTART:
            if sentence:
                yield sentence
            sentence = []
            continue
        columns = columns or len(cells)
        _check_line(path, number, line, cells, columns)
        sentence.append((number, cells[0], cells[-1]))
    if sentence:
        yield sentence


def _check_line(path, number, line, cells, columns):
    """Refuses a word line with one column, another number of columns
    than the first word line, or a tag outside BIO / BIOES."""
    if columns < 2:
        raise ValueError(
            f"{path!r}, line {number}: one column ({line[:80]!r}); a "
            "CoNLL file has the word first and its tag last, "
            "separated by a tab or spaces. Check the file format."
        )
    if len(cells) != columns:
        raise ValueError(
            f"{path!r}, line {number}: {len(cells)} column(s), but the "
            f"first word line has {columns}: {line[:80]!r}. Fix that "
            "line (a word containing a space?) or delete it."
        )
    try:
        split_tag(cells[-1])
    except ValueError as err:
        raise ValueError(
            f"{path!r}, line {number}: {err}. Use BIO (IOB2) or BIOES "
            "tags, e.g. B-PER I-PER O."
        ) from None


def tfds_tagged_words(
    name, split, words_key="tokens", tags_key="ner", data_dir=None
):
    """Loads a tfds token-tagging data set (e.g. ``conll2003``).

    Args:
        name: the tfds name.
        split: a tfds split such as ``"train"``.
        words_key: the feature of the words (a sequence of text).
        tags_key: the feature of the tags (a sequence of ``ClassLabel``).
        data_dir: where tfds keeps prepared data (None: its default).

    Returns:
        ``(dataset, tag_names)``: a dataset of ``(words, tags)``, [W]
        ``tf.string`` and [W] int64 ids, and the tag names by id.

    Raises:
        ValueError: tfds does not know ``name``, a key is not a feature
            (the message lists them), or the tags are not class labels.

    Example:

    >>> data, names = tfds_tagged_words("conll2003", "train")  # doctest: +SKIP
    >>> names[:3]  # doctest: +SKIP
    ['O', 'B-PER', 'I-PER']
    """
    import tensorflow as tf

    from keras_transformer.data import tfds_sources

    tfds = tfds_sources.tfds_module()
    builder = tfds_sources.dataset_builder(name, data_dir)
    tfds_sources.check_feature(name, builder, "text_key", words_key)
    tfds_sources.check_feature(name, builder, "label_key", tags_key)
    feature = builder.info.features[tags_key]
    labels = getattr(feature, "feature", None)
    if not isinstance(labels, tfds.features.ClassLabel):
        raise ValueError(
            f"label_key={tags_key!r} of {name!r} is not a sequence of class "
            "labels. Pass the feature of the tags (e.g. 'ner')."
        )
    dataset = tfds_sources.load_split(builder, name, split).map(
        lambda example: (
            example[words_key],
            tf.cast(example[tags_key], tf.int64),
        )
    )
    return dataset, list(labels.names)


__all__ = [
    "TagSchemeWarning",
    "read_conll",
    "repair_tags",
    "split_tag",
    "tfds_tagged_words",
]
