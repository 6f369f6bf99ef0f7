"""Reading an experiment's train/validation/test splits, task-agnostic.

The tasks (``keras_transformer/tasks``) decide what their examples are and
call these helpers: ``file_splits`` reads local files in any
``data.format``, ``builtin_pair_splits`` generates the built-in tasks,
``pairs_dataset`` and ``texts_dataset`` turn lists into ``tf.data``.
"""

import collections
import dataclasses
import os
from typing import Dict, List, Optional

import tensorflow as tf

from keras_transformer.data import builtin_tasks, readers, splitting
from keras_transformer.errors import (
    ConfigError,
    DataError,
    MissingFileError,
    brief,
)

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass
class Splits:
    """The data of one experiment.

    Attributes:
        data: split name -> dataset (or one text, for language modelling).
        label_names: class names (classification only).
    """

    data: Dict[str, object]
    label_names: Optional[List[str]] = None

    def __getitem__(self, split):
        if split not in self.data:
            raise ValueError(
                f"Unknown split {split!r}; choose one of {list(self.data)}."
            )
        return self.data[split]


def _path_for(config, split, lang=None):
    path = config.path
    if path is None:
        raise ValueError(
            "data.path is required when data.source is 'files' (it may "
            "contain {split} and {lang} placeholders)."
        )
    name = config.split_names.get(split, split)
    path = path.replace("{split}", name)
    if lang is not None:
        path = path.replace("{lang}", lang)
    return os.path.expanduser(path)


def _has_split_placeholder(config):
    return config.path is not None and "{split}" in config.path


def pairs_dataset(pairs):
    """A dataset of (source, target) strings from a list of pairs."""
    sources_, targets = zip(*pairs) if pairs else ((), ())
    return tf.data.Dataset.from_tensor_slices(
        (
            tf.constant(list(sources_), tf.string),
            tf.constant(list(targets), tf.string),
        )
    )


def _read_file_examples(config, split, reader=None):
    """The examples of one split's file(s); a missing file names the
    settings that chose it."""
    try:
        if reader is not None:
            return reader(_path_for(config, split))
        return _read_split_files(config, split)
    except FileNotFoundError as err:
        settings = [f"data.path={config.path!r}"]
        if _has_split_placeholder(config):
            name = config.split_names.get(split, split)
            settings.append(f"{{split}} = data.split_names.{split}={name!r}")
        if "{lang}" in (config.path or ""):
            settings.append(
                "{lang} = data.source_language / data.target_language "
                f"({config.source_language!r}, {config.target_language!r})"
            )
        raise MissingFileError(
            f"{err} It comes from {'; '.join(settings)}: fix the path or "
            "the split name."
        ) from None


def _read_split_files(config, split):
    if config.format == "tsv":
        return readers.read_tsv_pairs(
            _path_for(config, split),
            config.source_column,
            config.target_column,
        )
    if config.format == "parallel":
        if not config.source_language or not config.target_language:
            raise ValueError(
                "data.format 'parallel' needs data.source_language and "
                "data.target_language (the {lang} parts of data.path)."
            )
        return readers.read_parallel_files(
            _path_for(config, split, config.source_language),
            _path_for(config, split, config.target_language),
        )
    if config.format == "labelled":
        auto = "auto"
        return readers.read_labelled(
            _path_for(config, split),
            text_column=auto
            if config.text_column is None
            else config.text_column,
            label_column=auto
            if config.label_column is None
            else config.label_column,
        )
    if config.format == "conll":
        from keras_transformer.data.conll import read_conll

        return read_conll(_path_for(config, split))
    return readers.read_text(_path_for(config, split))


def nonempty_pairs(pairs, where, sides, skip_empty=False, log=print):
    """The pairs with no blank side; refuses blank ones unless skipped.

    A blank side teaches nothing (a blank target only teaches the model
    to stop at once) and can make a metric meaningless (blank references
    match blank outputs).

    Args:
        pairs: ``(a, b)`` strings.
        where: the file(s) read, for messages.
        sides: the names of the two sides, e.g. ``("source", "target")``.
        skip_empty: drop blank pairs (counted in the log) instead.
        log: where the count of dropped pairs goes.

    Raises:
        DataError: a side is blank and ``skip_empty`` is False.
    """
    blank = [
        index
        for index, pair in enumerate(pairs)
        if not pair[0].strip() or not pair[1].strip()
    ]
    if not blank:
        return pairs
    if not skip_empty:
        first = pairs[blank[0]]
        side = sides[0] if not first[0].strip() else sides[1]
        raise DataError(
            f"{where}: {len(blank):,} of {len(pairs):,} pairs have a blank "
            f"side (the first, pair {blank[0] + 1}, {brief(tuple(first))}, "
            f"has a blank {side}). Fix the data, or set data.skip_empty: "
            "true to skip such pairs."
        )
    log(f"{where}: skipped {len(blank):,} pairs with a blank side.")
    dropped = set(blank)
    return [pair for index, pair in enumerate(pairs) if index not in dropped]


def _check_split_sizes(examples, splits, config, log=print):
    """Warns when a validation or test split got far more than its share
    because many examples share one source (a group is never cut)."""
    total = len(examples)
    for split, fraction in (
        ("validation", config.validation_fraction),
        ("test", config.test_fraction),
    ):
        wanted = round(total * fraction)
        got = len(splits[split])
        if got <= wanted + max(5, wanted // 2):
            continue
        key, count = collections.Counter(
            splitting.group_key(example) for example in splits[split]
        ).most_common(1)[0]
        log(
            f"WARNING: the {split} split has {got:,} examples where "
            f"data.{split}_fraction={fraction} asks for about {wanted:,}: "
            f"{count:,} examples share the source {brief(key)}, and "
            "examples of one source stay in one split. Remove the repeats "
            "from the data, or give each split its file ({split} in "
            "data.path)."
        )


def file_splits(config, reader=None, clean=None, limit_train=True):
    """Every split's examples from local files, in ``config.format`` (or
    read by ``reader(path)`` -> list of examples, for a task's own files).

    With a ``{split}`` placeholder each split has its file(s); otherwise
    one file is split deterministically by ``validation_fraction`` and
    ``test_fraction`` (texts by characters, examples by a seeded shuffle
    that keeps repeated sources on one side).

    Args:
        config: the ``data`` settings.
        reader: reads a file's examples (default: by ``config.format``).
        clean: ``clean(examples, where)`` -> the examples to keep, applied
            to each file's examples before any split (e.g.
            ``nonempty_pairs``).
        limit_train: keep the first ``data.max_train_examples`` training
            examples (not of a text), as ``tfds_splits`` does; False for a
            caller that limits what it makes of them.

    Returns:
        split -> examples: a list of (source, target) pairs (``tsv``,
        ``parallel``), of (text, label) pairs (``labelled``), of (words,
        tags) sentences (``conll``) or one text (``text``).
    """

    def read(split):
        examples = _read_file_examples(config, split, reader)
        if clean is None:
            return examples
        return clean(examples, _path_for(config, split))

    if _has_split_placeholder(config):
        splits = {split: read(split) for split in SPLITS}
    else:
        splits = _split_one_file(read("train"), config)
    if limit_train and not isinstance(splits["train"], str):
        splits["train"] = limit(splits["train"], config.max_train_examples)
    return splits


def _split_one_file(examples, config):
    """The splits of one file's examples (or text), cut by the fractions."""
    if isinstance(examples, str):
        return splitting.split_text(
            examples, config.validation_fraction, config.test_fraction
        )
    splits = splitting.split_examples(
        examples,
        config.validation_fraction,
        config.test_fraction,
        seed=config.seed,
    )
    _check_split_sizes(examples, splits, config)
    return splits


def limit(examples, count):
    """The first ``count`` examples (all with None)."""
    return examples if count is None else examples[:count]


def check_source(config, task, formats, sources_=("files", "tfds")):
    """Refuses a ``data.source`` / ``data.format`` the task cannot read.

    Raises:
        ConfigError: naming the setting and the choices.
    """
    if config.source not in sources_:
        raise ConfigError(
            f"data.source {config.source!r} does not fit task {task!r}; use "
            f"one of {list(sources_)}."
        )
    if config.source == "files" and config.format not in formats:
        raise ConfigError(
            f"data.format {config.format!r} does not fit task {task!r}; "
            f"use one of {list(formats)}."
        )


def builtin_pair_splits(config):
    """The built-in generated task of ``config`` (``data.task``), as
    datasets of (source, target) pairs."""
    pairs = builtin_tasks.builtin_splits(
        config.task,
        config.train_size,
        config.validation_size,
        config.test_size,
        seed=config.seed,
    )
    pairs["train"] = limit(pairs["train"], config.max_train_examples)
    return Splits({split: pairs_dataset(pairs[split]) for split in SPLITS})


def tfds_splits(config, load):
    """``load(split_name)`` for every split (``data.split_names``), the
    training split limited to ``data.max_train_examples``."""
    data = {
        split: load(config.split_names.get(split, split)) for split in SPLITS
    }
    if config.max_train_examples:
        data["train"] = data["train"].take(config.max_train_examples)
    return data


def texts_dataset(texts):
    """A dataset of strings from a list of ``str``."""
    return tf.data.Dataset.from_tensor_slices(
        tf.constant(list(texts), tf.string)
    )


def describe(splits):
    """``"train 2,000 examples, validation 50, test 50"`` (or characters)."""
    parts = []
    for split in SPLITS:
        data = splits.data.get(split)
        if data is None:
            continue
        if isinstance(data, str):
            parts.append(f"{split} {len(data):,} characters")
            continue
        count = int(data.cardinality())
        parts.append(f"{split} {count:,}" if count >= 0 else f"{split} ?")
    text = ", ".join(parts)
    if not any(isinstance(d, str) for d in splits.data.values()):
        text += " examples"
    if splits.label_names:
        text += f", {len(splits.label_names)} classes"
    return text
