"""Reading examples from local files: translation pairs, line-aligned
files, labelled TSV/CSV files and whole texts.

* :func:`read_tsv_pairs`: translation pairs in the Tatoeba / manythings.org
  layout ``english<TAB>other[<TAB>attribution...]``.
* :func:`read_parallel_files`: line-aligned files such as ``train.en`` and
  ``train.de`` (Multi30k, WMT).
* :func:`read_labelled`: ``(text, label)`` pairs from a labelled TSV/CSV file
  (SST-2, the SMS Spam Collection, ...), with or without a header row.
* :func:`read_text`: a whole file as one string (character-level language
  modelling, e.g. tiny Shakespeare).

Every reader decodes UTF-8 (a leading byte-order mark is dropped), reads
``.gz`` files transparently and drops the ``\\r`` of Windows (CRLF) line
endings (``read_file``). Lines are only ever split at ``\\n``
(``split_lines``). No network is needed.
"""

from __future__ import annotations

import csv
import gzip
import io
import os

LABEL_COLUMN_NAMES = (
    "label",
    "labels",
    "class",
    "category",
    "sentiment",
    "target",
    "y",
)
TEXT_COLUMN_NAMES = (
    "text",
    "sentence",
    "content",
    "message",
    "review",
    "document",
    "x",
)
_MAX_LABEL_VALUES = 50
_MAX_LABEL_LENGTH = 40


def read_file(path):
    """Returns ``(path_as_str, decoded_text)`` for a plain or ``.gz`` file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"No such file: {path!r}. Check the path (relative paths are "
            f"resolved from {os.getcwd()!r})."
        )
    if os.path.isdir(path):
        raise FileNotFoundError(
            f"{path!r} is a directory, not a file. Pass the path of a file "
            f"inside it."
        )
    if path.endswith(".gz"):
        try:
            with gzip.open(path, "rb") as f:
                data = f.read()
        except (OSError, EOFError) as err:
            raise ValueError(
                f"{path!r} ends in '.gz' but is not a complete gzip file "
                f"({err}). Re-download it, or rename it without '.gz' if it "
                f"is plain text."
            ) from err
    else:
        with open(path, "rb") as f:
            data = f.read()
    if not data.strip():
        raise ValueError(
            f"{path!r} is empty. Check that it is the file you meant and "
            "that it was written completely."
        )
    try:
        return path, data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path!r} is not valid UTF-8 (bad byte at offset {err.start}). "
            f"Convert it to UTF-8 first, e.g. "
            f"`iconv -f latin1 -t utf-8 in.txt > out.txt`."
        ) from err


def split_lines(text):
    """Splits at ``\\n`` only and drops each line's trailing ``\\r``."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def _check_column_index(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"{name} must be a non-negative column index (0 is the first "
            f"column), got {value!r}."
        )


def read_tsv_pairs(path, source_column=0, target_column=1):
    """Reads translation pairs from a tab-separated file.

    This is the Tatoeba / manythings.org layout
    ``english<TAB>other[<TAB>attribution...]``: one pair per line, no header
    and no quoting. Blank lines are skipped and extra columns are ignored.

    Args:
        path: The file (``str`` or path-like). A name ending in ``.gz`` is
            decompressed on the fly.
        source_column: Index of the column with the source sentence.
        target_column: Index of the column with the target sentence.

    Returns:
        A list of ``(source, target)`` string tuples in file order.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If a non-blank line has too few columns (the message
            gives the file and the 1-based line number), a column index is
            negative, or the file is not UTF-8.

    Example:
        >>> pairs = read_tsv_pairs("spa.txt.gz")  # doctest: +SKIP
        >>> pairs[0]  # doctest: +SKIP
        ('Go.', 'Ve.')
        >>> # Spanish -> English instead:
        >>> read_tsv_pairs("spa.txt.gz", 1, 0)[0]  # doctest: +SKIP
        ('Ve.', 'Go.')
    """
    _check_column_index("source_column", source_column)
    _check_column_index("target_column", target_column)
    path, text = read_file(path)
    needed = max(source_column, target_column) + 1
    pairs = []
    for line_number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) < needed:
            raise ValueError(
                f"{path!r}, line {line_number}: expected at least {needed} "
                f"tab-separated columns but found {len(cells)}: "
                f"{line[:80]!r}. Fix or delete that line, or choose other "
                "columns with data.source_column / data.target_column."
            )
        pairs.append((cells[source_column], cells[target_column]))
    return pairs


def read_parallel_files(source_path, target_path):
    """Reads a line-aligned parallel corpus.

    Line *i* of ``source_path`` is the translation of line *i* of
    ``target_path`` (the Multi30k / WMT ``train.en`` + ``train.de``
    layout). Lines are kept as they are, blank ones included, so that the
    alignment stays intact.

    Args:
        source_path: File with one source sentence per line (``.gz`` is
            decompressed on the fly).
        target_path: File with one target sentence per line.

    Returns:
        A list of ``(source, target)`` string tuples, one per line.

    Raises:
        FileNotFoundError: If either file does not exist.
        ValueError: If the files have different numbers of lines (the
            message gives both counts) or are not UTF-8.

    Example:
        >>> pairs = read_parallel_files(
        ...     "multi30k/raw/train.en.gz", "multi30k/raw/train.de.gz"
        ... )  # doctest: +SKIP
        >>> len(pairs)  # doctest: +SKIP
        29000
    """
    source_path, source_text = read_file(source_path)
    target_path, target_text = read_file(target_path)
    sources = split_lines(source_text)
    targets = split_lines(target_text)
    if len(sources) != len(targets):
        raise ValueError(
            f"Parallel files must have the same number of lines, but "
            f"{source_path!r} has {len(sources)} and {target_path!r} has "
            f"{len(targets)}. Check that the two files belong together "
            f"(e.g. train.en with train.de, not val.de)."
        )
    return list(zip(sources, targets))


def read_text(path):
    """Reads a whole text file into one string.

    Args:
        path: The file (``.gz`` is decompressed on the fly).

    Returns:
        The decoded text, with Windows ``\\r\\n`` line endings turned into
        ``\\n``.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not UTF-8.

    Example:
        >>> text = read_text("tiny-shakespeare/input.txt")  # doctest: +SKIP
        >>> text[:14]  # doctest: +SKIP
        'First Citizen:'
    """
    _, text = read_file(path)
    return text.replace("\r\n", "\n")


def _guess_delimiter(path, text):
    name = path.lower()
    if name.endswith(".gz"):
        name = name[: -len(".gz")]
    extension = os.path.splitext(name)[1]
    if extension in (".tsv", ".txt", ".tab"):
        return "\t"
    if extension == ".csv":
        return ","
    # No telling extension (e.g. "SMSSpamCollection"): look at the first
    # non-blank line.
    first = next((line for line in split_lines(text) if line.strip()), "")
    if "\t" in first:
        return "\t"
    if "," in first:
        return ","
    raise ValueError(
        f"Cannot tell the delimiter of {path!r} from its extension "
        f"{extension or '(none)'!r} or from its first line. Pass "
        f"delimiter='\\t' or delimiter=','."
    )


def _parse_rows(path, text, delimiter):
    """Returns ``[(line_number, cells), ...]`` for the non-blank rows."""
    if delimiter == "\t":
        reader = csv.reader(
            io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE
        )
    else:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = []
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as err:
        raise ValueError(
            f"{path!r}, line {start}: cannot parse the row ({err}). Fix that "
            f"line or pass the right delimiter."
        ) from err
    return rows


def _is_header(cells):
    names = set(LABEL_COLUMN_NAMES) | set(TEXT_COLUMN_NAMES)
    return any(cell.strip().lower() in names for cell in cells)


def _resolve_column(argument, spec, header, num_columns, path):
    """A column index for an explicit ``spec``, or None for ``"auto"``."""
    if isinstance(spec, str) and spec == "auto":
        return None
    if isinstance(spec, int) and not isinstance(spec, bool):
        if -num_columns <= spec < num_columns:
            return spec % num_columns
        raise ValueError(
            f"{argument}={spec} is out of range: {path!r} has {num_columns} "
            f"columns. Pass an index from 0 to {num_columns - 1}."
        )
    if isinstance(spec, str):
        if header is None:
            raise ValueError(
                f"{argument}={spec!r} names a column, but {path!r} has no "
                f"header row. Pass a column index (0 to {num_columns - 1}) "
                f"instead."
            )
        wanted = spec.strip().lower()
        for index, name in enumerate(header):
            if name.strip().lower() == wanted:
                return index
        raise ValueError(
            f"{argument}={spec!r} is not a column of {path!r}; its header "
            f"has {[name.strip() for name in header]}."
        )
    raise ValueError(
        f"{argument} must be 'auto', a column name or a column index, got "
        f"{spec!r}."
    )


def _column_stats(rows, index):
    values = [cells[index].strip() for _, cells in rows]
    distinct = len(set(values))
    longest = max((len(v) for v in values), default=0)
    mean = sum(len(v) for v in values) / max(len(values), 1)
    return distinct, longest, mean


def _looks_like_labels(stats):
    distinct, longest, _ = stats
    return distinct <= _MAX_LABEL_VALUES and longest <= _MAX_LABEL_LENGTH


def _auto_columns(rows, num_columns, path):
    """Picks ``(text, label)`` columns of a file without a header."""
    first, last = 0, num_columns - 1
    stats = {index: _column_stats(rows, index) for index in (first, last)}
    candidates = [i for i in (first, last) if _looks_like_labels(stats[i])]
    if not candidates:
        raise ValueError(
            f"Cannot tell which column of {path!r} holds the labels: neither "
            f"the first nor the last column has at most {_MAX_LABEL_VALUES} "
            f"distinct short values. Choose the columns: data.label_column "
            "and data.text_column in an experiment (label_column= and "
            "text_column= of read_labelled), 0-based column indices."
        )
    # Fewer distinct values, then shorter cells, then the first column.
    label = min(candidates, key=lambda i: (stats[i][0], stats[i][2], i))
    text = last if label == first else first
    return text, label


def _remaining_column(rows, num_columns, taken, want):
    """The best ``"label"`` or ``"text"`` column other than ``taken``."""
    others = [i for i in (0, num_columns - 1) if i != taken]
    if taken not in (0, num_columns - 1):
        others = [i for i in range(num_columns) if i != taken]
    stats = {i: _column_stats(rows, i) for i in others}
    if want == "label":
        return min(others, key=lambda i: (stats[i][0], stats[i][2], i))
    return max(others, key=lambda i: (stats[i][2], -i))


def _named_column(header, names, taken):
    for index, cell in enumerate(header):
        if index != taken and cell.strip().lower() in names:
            return index
    return None


def read_labelled(
    path, text_column="auto", label_column="auto", delimiter=None
):
    """Reads ``(text, label)`` examples from a labelled TSV or CSV file.

    The delimiter comes from the extension (``.tsv``/``.txt`` -> tab,
    ``.csv`` -> comma, looking through a trailing ``.gz``); for other
    names (e.g. ``SMSSpamCollection``) it is a tab if the first line has
    one, else a comma. Tab-separated files are read without quoting (a
    ``"`` is an ordinary character); comma-separated files use normal CSV
    quoting.

    The first row is a header if one of its cells is a known column name
    (case-insensitive): ``label, labels, class, category, sentiment,
    target, y`` for labels and ``text, sentence, content, message, review,
    document, x`` for text. With a header, ``"auto"`` columns are chosen by
    those names. Without one, ``"auto"`` takes as label whichever of the
    first and last column has at most 50 distinct values that are all
    short (at most 40 characters), and the other of the two as text.

    Args:
        path: The file (``.gz`` is decompressed on the fly).
        text_column: ``"auto"``, a header name, or a 0-based column index.
        label_column: ``"auto"``, a header name, or a 0-based column index.
        delimiter: ``None`` to guess (see above), or a one-character string
            such as ``"\\t"`` or ``","``.

    Returns:
        A list of ``(text, label)`` string tuples in file order, without
        the header. Labels are stripped of surrounding whitespace and kept
        as strings (e.g. ``"0"``, ``"spam"``).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If a row has a different number of columns from the
            first row (with its line number), a column cannot be found or
            guessed, the delimiter cannot be guessed, or the file is not
            UTF-8.

    Example:
        >>> examples = read_labelled("sst2/train.tsv.gz")  # doctest: +SKIP
        >>> examples[0]  # doctest: +SKIP
        ('hide new secretions from the parental units', '0')
        >>> read_labelled("SMSSpamCollection")[2][1]  # doctest: +SKIP
        'spam'
    """
    path, text = read_file(path)
    if delimiter is None:
        delimiter = _guess_delimiter(path, text)
    elif not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(
            f"delimiter must be None or a single character such as '\\t' or "
            f"',', got {delimiter!r}."
        )
    rows = _parse_rows(path, text, delimiter)
    if not rows:
        raise ValueError(f"{path!r} has no rows. Check that it is not empty.")
    header = rows[0][1] if _is_header(rows[0][1]) else None
    if header is not None:
        rows = rows[1:]
    num_columns = len(header) if header is not None else len(rows[0][1])
    if num_columns < 2:
        raise ValueError(
            f"{path!r} has only one column (delimiter {delimiter!r}); a "
            f"labelled file needs a text and a label column. Pass the right "
            f"delimiter."
        )
    for line_number, cells in rows:
        if len(cells) != num_columns:
            raise ValueError(
                f"{path!r}, line {line_number}: expected {num_columns} "
                f"columns separated by {delimiter!r} but found {len(cells)}. "
                f"Fix that line (a stray delimiter inside the text?) or pass "
                f"the right delimiter."
            )

    text_index = _resolve_column(
        "text_column", text_column, header, num_columns, path
    )
    label_index = _resolve_column(
        "label_column", label_column, header, num_columns, path
    )
    if header is not None:
        if label_index is None:
            label_index = _named_column(header, LABEL_COLUMN_NAMES, text_index)
        if text_index is None:
            text_index = _named_column(header, TEXT_COLUMN_NAMES, label_index)
    if text_index is None and label_index is None:
        text_index, label_index = _auto_columns(rows, num_columns, path)
    elif label_index is None:
        label_index = _remaining_column(rows, num_columns, text_index, "label")
    elif text_index is None:
        text_index = _remaining_column(rows, num_columns, label_index, "text")
    if text_index == label_index:
        raise ValueError(
            f"text_column and label_column both select column {text_index} "
            f"of {path!r}. Choose two different columns."
        )
    return [
        (cells[text_index], cells[label_index].strip()) for _, cells in rows
    ]
