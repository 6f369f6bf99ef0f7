"""Reading SQuAD v1.1 question-answering data: JSON files and tfds.

A SQuAD file (``.json`` or ``.json.gz``) holds articles; each article has
a title and paragraphs, each paragraph a ``context`` and questions
(``qas``) with gold ``answers`` (``text``, ``answer_start`` in characters).
:func:`read_squad` returns the examples per article, checked: every answer
must be found at its ``answer_start``, and no context may be empty.
:func:`split_articles` cuts one file into train/validation/test by whole
articles (no context is in two splits). :func:`examples_dataset` and
:func:`tfds_squad` give the ``tf.data`` form the ``question_answering``
task reads.
"""

import dataclasses
import json
import random
from typing import List, Tuple

from keras_transformer.data import readers, splitting, tfds_sources
from keras_transformer.errors import DataError


@dataclasses.dataclass
class SquadExample:
    """One question about one context.

    Attributes:
        id: the question id.
        title: the article title.
        question: the question text.
        context: the paragraph the answer is in.
        answers: the gold answers, ``(text, start)`` with ``start`` the
            character offset of ``text`` in ``context``.
    """

    id: str
    title: str
    question: str
    context: str
    answers: List[Tuple[str, int]]


def _where(path, article, paragraph, question=None):
    place = f"{path}: article {article + 1}, paragraph {paragraph + 1}"
    return place if question is None else f"{place}, question {question!r}"


def _field(mapping, key, kind, where):
    value = mapping.get(key) if isinstance(mapping, dict) else None
    if not isinstance(value, kind):
        raise DataError(
            f"{where}: expected a {key!r} field of type {kind.__name__}, got "
            f"{value!r:.60}; is this a SQuAD v1.1 file?"
        )
    return value


def parse_squad(data, path="<squad>"):
    """The articles of a parsed SQuAD v1.1 JSON value.

    Args:
        data: the JSON value (``{"data": [...], "version": ...}``).
        path: the file name, for messages.

    Returns:
        A list of articles, each a list of ``SquadExample``.

    Raises:
        DataError: a field is missing, a context is empty, or an answer's
            ``answer_start`` does not point at its text (the message names
            the file, the article, the paragraph and the question).
    """
    articles = []
    for a, article in enumerate(_field(data, "data", list, path)):
        title = article.get("title", "") if isinstance(article, dict) else ""
        examples = []
        paragraphs = _field(
            article, "paragraphs", list, f"{path}: article {a + 1}"
        )
        for p, paragraph in enumerate(paragraphs):
            context = _field(paragraph, "context", str, _where(path, a, p))
            if not context.strip():
                raise DataError(
                    f"{_where(path, a, p)}: the context is empty; remove "
                    "the paragraph or give it its text."
                )
            for qa in _field(paragraph, "qas", list, _where(path, a, p)):
                qid = str(qa.get("id", "")) if isinstance(qa, dict) else ""
                where = _where(path, a, p, qid)
                question = _field(qa, "question", str, where)
                answers = []
                for answer in _field(qa, "answers", list, where):
                    text = _field(answer, "text", str, where)
                    start = _field(answer, "answer_start", int, where)
                    found = context[start : start + len(text)]
                    if start < 0 or found != text:
                        raise DataError(
                            f"{where}: answer {text!r} is not at "
                            f"answer_start {start} (the context has "
                            f"{found!r} there); fix answer_start"
                            + (
                                f" (the text is at {context.find(text)})"
                                if text in context
                                else ""
                            )
                            + "."
                        )
                    answers.append((text, start))
                if not answers:
                    raise DataError(
                        f"{where}: the question has no answer (SQuAD v1.1 "
                        "questions have at least one)."
                    )
                examples.append(
                    SquadExample(qid, title, question, context, answers)
                )
        articles.append(examples)
    return articles


def read_squad(path):
    """The articles of a SQuAD v1.1 file (``.json`` or ``.json.gz``).

    Returns:
        A list of articles, each a list of ``SquadExample``.

    Raises:
        FileNotFoundError: no such file.
        DataError: not JSON (with line and column), or see ``parse_squad``.

    Example:

    >>> articles = read_squad("dev-v1.1.json.gz")
    >>> articles[0][0].answers
    [('Denver Broncos', 177), ...]
    """
    try:
        path, text = readers.read_file(path)
    except ValueError as err:
        raise DataError(str(err)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(
            f"{path}:{err.lineno}:{err.colno}: not valid JSON ({err.msg}); "
            "a SQuAD file is one JSON object."
        ) from None
    return parse_squad(data, path)


def split_articles(
    articles, validation_fraction=0.1, test_fraction=0.1, seed=0
):
    """Shuffles whole articles (seeded) into train/validation/test.

    The test and validation splits get ``round(fraction * articles)``
    articles each (at least one when the fraction is above 0), the
    training split the rest.

    Returns:
        ``{"train": [...], "validation": [...], "test": [...]}``: lists of
        ``SquadExample``.

    Example:

    >>> parts = split_articles(read_squad("dev-v1.1.json.gz"), 0.0, 1 / 6)
    """
    splitting.check_fractions(validation_fraction, test_fraction)
    order = list(range(len(articles)))
    random.Random(seed).shuffle(order)

    def count(fraction):
        return max(1, round(fraction * len(order))) if fraction else 0

    num_test, num_validation = count(test_fraction), count(validation_fraction)
    chosen = {
        "test": order[:num_test],
        "validation": order[num_test : num_test + num_validation],
        "train": order[num_test + num_validation :],
    }
    return {
        split: [example for index in indices for example in articles[index]]
        for split, indices in chosen.items()
    }


def file_splits(config):
    """Every split's examples from the SQuAD file(s) of a ``DataConfig``.

    With ``{split}`` in ``data.path`` each split has its file; otherwise
    the one file is split by whole articles (``split_articles`` with
    ``data.validation_fraction``, ``data.test_fraction`` and ``data.seed``),
    the same way for every task that reads it (so a masked-LM run on the
    training contexts has seen no test context).

    Returns:
        split -> list of ``SquadExample``.

    Raises:
        DataError: no ``data.path``, a missing file (naming the settings
            that chose it) or a bad file (see ``read_squad``).
    """
    from keras_transformer.data import datasets

    if config.path is None:
        raise DataError(
            "data.path is required with data.source: files (a SQuAD v1.1 "
            ".json or .json.gz file; it may contain {split})."
        )

    def read(split):
        try:
            return read_squad(datasets._path_for(config, split))
        except FileNotFoundError as err:
            raise DataError(
                f"{err} It comes from data.path={config.path!r} (split "
                f"{split!r}): fix the path or data.split_names."
            ) from None

    if "{split}" in config.path:
        return {
            split: [example for article in read(split) for example in article]
            for split in datasets.SPLITS
        }
    return split_articles(
        read("train"),
        config.validation_fraction,
        config.test_fraction,
        seed=config.seed,
    )


def unique_contexts(examples):
    """The contexts of ``examples``, each once, in order of appearance."""
    return list(dict.fromkeys(example.context for example in examples))


def examples_dataset(examples):
    """A ``tf.data`` dataset of examples as dicts of tensors.

    Returns:
        A dataset of ``{"id", "question", "context": tf.string scalars,
        "answers": (N,) tf.string, "answer_starts": (N,) int32}``.
    """
    import tensorflow as tf

    def answers(index, dtype):
        return tf.ragged.constant(
            [[a[index] for a in e.answers] for e in examples],
            dtype=dtype,
            row_splits_dtype=tf.int64,
        )

    if not examples:
        empty = tf.zeros([0], tf.string)
        return tf.data.Dataset.from_tensor_slices(
            {
                "id": empty,
                "question": empty,
                "context": empty,
                "answers": tf.RaggedTensor.from_row_lengths(
                    empty, tf.zeros([0], tf.int64)
                ),
                "answer_starts": tf.RaggedTensor.from_row_lengths(
                    tf.zeros([0], tf.int32), tf.zeros([0], tf.int64)
                ),
            }
        )
    return tf.data.Dataset.from_tensor_slices(
        {
            "id": tf.constant([e.id for e in examples], tf.string),
            "question": tf.constant([e.question for e in examples], tf.string),
            "context": tf.constant([e.context for e in examples], tf.string),
            "answers": answers(0, tf.string),
            "answer_starts": answers(1, tf.int32),
        }
    )


def tfds_squad(name, split, data_dir=None):
    """A split of a tfds SQuAD-format data set (e.g. ``squad``), in the
    layout of ``examples_dataset``.

    Raises:
        DataError: the data set lacks a SQuAD feature (they are named).
    """
    import tensorflow as tf

    builder = tfds_sources.dataset_builder(name, data_dir)
    features = tfds_sources.feature_names(builder)
    missing = [
        key
        for key in ("id", "question", "context", "answers")
        if key not in features
    ]
    if missing:
        raise DataError(
            f"tfds data set {name!r} has no feature(s) {missing} (it has "
            f"{sorted(features)}); question answering needs SQuAD's id, "
            "question, context and answers {text, answer_start}."
        )
    dataset = tfds_sources.load_split(builder, name, split)

    def convert(example):
        return {
            "id": example["id"],
            "question": example["question"],
            "context": example["context"],
            "answers": example["answers"]["text"],
            "answer_starts": tf.cast(
                example["answers"]["answer_start"], tf.int32
            ),
        }

    return dataset.map(convert)


__all__ = [
    "SquadExample",
    "examples_dataset",
    "file_splits",
    "parse_squad",
    "read_squad",
    "split_articles",
    "tfds_squad",
    "unique_contexts",
]
