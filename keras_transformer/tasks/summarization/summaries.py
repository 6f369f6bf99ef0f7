"""(document, summary) pairs: reading JSON, JSONL and TSV files, tfds.

Files (plain or ``.gz``):

* ``json``: a list of objects, e.g. SAMSum's
  ``[{"id": ..., "dialogue": ..., "summary": ...}, ...]``, or JSON Lines
  (one object per line); the keys are ``task_settings.document_key`` and
  ``task_settings.summary_key``.
* ``tsv``: ``document<TAB>summary`` lines (``readers.read_tsv_pairs``).

Line breaks separate a document's utterances (one per line in SAMSum).
SentencePiece would read them as spaces, so the model sees each one as the
visible separator ``" | "`` (``join_lines``, in the graph, for training
and prediction alike); the documents themselves keep them (``"\\r\\n"``
becomes ``"\\n"``) for the longest-3 baseline. A one-line document can
mark its utterances with ``" | "`` itself.
"""

import json
import re

from keras_transformer.data import readers, tfds_sources
from keras_transformer.errors import DataError

#: What the model reads between two lines of a document.
LINE_SEPARATOR = " | "
_LINE_BREAKS = r"[ \t]*\r?\n[ \t\r\n]*"


def join_lines(text):
    """Line breaks of (B,) or scalar ``tf.string`` documents replaced by
    ``LINE_SEPARATOR``, in the graph; surrounding whitespace is dropped.

    Example:

    >>> join_lines(tf.constant("A: hi\\r\\nB: hello\\n"))
    <tf.Tensor: ... b'A: hi | B: hello'>
    """
    import tensorflow as tf

    text = tf.strings.strip(text)
    return tf.strings.regex_replace(text, _LINE_BREAKS, LINE_SEPARATOR)


def join_lines_text(text):
    """``join_lines`` for one Python ``str``."""
    return re.sub(_LINE_BREAKS, LINE_SEPARATOR, text.strip())


def _records(path, text):
    """``(where, record)`` of a JSON list or of JSON Lines."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            values = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(
                f"{path}: invalid JSON at line {err.lineno}, column "
                f"{err.colno} ({err.msg}); fix the file."
            ) from None
        return [(f"record {i}", value) for i, value in enumerate(values)]
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as err:
            raise DataError(
                f"{path}, line {number}: invalid JSON ({err.msg}, column "
                f"{err.colno}); a .json file holds a list of objects or one "
                "object per line (JSON Lines)."
            ) from None
    return records


def _named(where, record):
    identifier = record.get("id") if isinstance(record, dict) else None
    return f"{where} (id {identifier})" if identifier is not None else where


def _empty_side(path, where, side, key):
    return DataError(
        f"{path}, {where}: the {side} ({key}) is empty; fix or delete that "
        "record, or set data.skip_empty: true to skip such records."
    )


def _json_pairs(path, text, document_key, summary_key, skip_empty):
    pairs, skipped = [], 0
    for where, record in _records(path, text):
        where = _named(where, record)
        if not isinstance(record, dict):
            raise DataError(
                f"{path}, {where}: expected an object with the keys "
                f"{document_key!r} and {summary_key!r}, got "
                f"{type(record).__name__}."
            )
        values = []
        for side, key, setting in (
            ("document", document_key, "task_settings.document_key"),
            ("summary", summary_key, "task_settings.summary_key"),
        ):
            if key not in record:
                raise DataError(
                    f"{path}, {where}: no key {key!r} (set by {setting}); "
                    f"its keys are {sorted(record)}."
                )
            value = record[key]
            if not isinstance(value, str):
                raise DataError(
                    f"{path}, {where}: {key!r} must be a string, got "
                    f"{type(value).__name__}."
                )
            values.append(value)
        empty = [
            (side, key)
            for side, key, value in zip(
                ("document", "summary"), (document_key, summary_key), values
            )
            if not value.strip()
        ]
        if empty:
            if not skip_empty:
                raise _empty_side(path, where, *empty[0])
            skipped += 1
            continue
        pairs.append(tuple(values))
    return pairs, skipped


def _tsv_pairs(path, source_column, target_column, skip_empty):
    pairs = readers.read_tsv_pairs(path, source_column, target_column)
    kept = []
    for index, (document, summary) in enumerate(pairs):
        if document.strip() and summary.strip():
            kept.append((document, summary))
            continue
        if not skip_empty:
            # read_tsv_pairs skips blank lines: find the file line.
            _, text = readers.read_file(path)
            numbers = [
                number
                for number, line in enumerate(text.split("\n"), start=1)
                if line.strip()
            ]
            side = "document" if not document.strip() else "summary"
            column = source_column if side == "document" else target_column
            raise _empty_side(
                path, f"line {numbers[index]}", side, f"column {column}"
            )
    return kept, len(pairs) - len(kept)


def read_summary_pairs(
    path,
    format="json",
    document_key="dialogue",
    summary_key="summary",
    source_column=0,
    target_column=1,
    skip_empty=False,
    log=print,
):
    """Reads (document, summary) pairs from a JSON, JSONL or TSV file.

    Args:
        path: the file; a name ending in ``.gz`` is decompressed.
        format: ``"json"`` (a JSON list of objects, or JSON Lines) or
            ``"tsv"``.
        document_key, summary_key: the keys of a JSON record.
        source_column, target_column: the TSV columns.
        skip_empty: skip pairs with an empty side (their count is logged)
            instead of refusing the file.
        log: where the count of skipped pairs goes.

    Returns:
        A list of ``(document, summary)`` strings in file order (``"\\r\\n"``
        becomes ``"\\n"``).

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: invalid JSON, a missing key, a value that is not a
            string, or an empty side (naming the file and the record or
            line, and the fix).

    Example:

    >>> pairs = read_summary_pairs("samsum/test.json")  # doctest: +SKIP
    >>> pairs[0][1]  # doctest: +SKIP
    "Hannah needs Betty's number but Amanda doesn't have it. ..."
    """
    try:
        if format == "tsv":
            pairs, skipped = _tsv_pairs(
                path, source_column, target_column, skip_empty
            )
        else:
            path, text = readers.read_file(path)
            pairs, skipped = _json_pairs(
                path, text, document_key, summary_key, skip_empty
            )
    except DataError:
        raise
    except ValueError as err:  # empty file, not UTF-8, too few columns
        raise DataError(str(err)) from None
    if skipped:
        log(f"{path}: skipped {skipped:,} pairs with an empty side.")
    return [
        (document.replace("\r\n", "\n"), summary.replace("\r\n", "\n"))
        for document, summary in pairs
    ]


def tfds_summaries(name, split, document_key, summary_key, data_dir=None):
    """A tfds summarisation data set as ``(document, summary)`` strings.

    Args:
        name: the tfds name, e.g. ``"samsum"`` or ``"xsum"``.
        split: a tfds split, e.g. ``"train"`` or ``"test[:10%]"``.
        document_key, summary_key: its feature names (SAMSum:
            ``dialogue``, ``summary``; XSum: ``document``, ``summary``).
        data_dir: where tfds keeps prepared data.

    Returns:
        A ``tf.data.Dataset`` of ``(document, summary)`` scalar strings.

    Raises:
        ValueError: unknown data set or feature (the message lists the
            features).
        FileNotFoundError: the data is not prepared and cannot be
            downloaded.
    """
    builder = tfds_sources.dataset_builder(name, data_dir)
    tfds_sources.check_feature(
        name, builder, "document_key", document_key, "task_settings"
    )
    tfds_sources.check_feature(
        name, builder, "summary_key", summary_key, "task_settings"
    )
    dataset = tfds_sources.load_split(builder, name, split)
    return dataset.map(
        lambda example: (example[document_key], example[summary_key])
    )


__all__ = [
    "LINE_SEPARATOR",
    "join_lines",
    "join_lines_text",
    "read_summary_pairs",
    "tfds_summaries",
]
