"""Loading an experiment's train/validation/test splits from its source.

Every task gets the same three splits, whatever the source:

- translation: ``tf.data.Dataset``s of (source, target) strings;
- classification: datasets of (text, label id) plus the label names;
- language modelling: one string per split.
"""

import dataclasses
import os
from typing import Dict, List, Optional

import tensorflow as tf

from keras_transformer.data import builtin_tasks, sources
from keras_transformer.errors import MissingFileError

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass
class Splits:
    """The data of one experiment.

    Attributes:
        data: split name -> dataset (or text for language modelling).
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


def _pairs_dataset(pairs):
    sources_, targets = zip(*pairs) if pairs else ((), ())
    return tf.data.Dataset.from_tensor_slices(
        (
            tf.constant(list(sources_), tf.string),
            tf.constant(list(targets), tf.string),
        )
    )


def _read_file_examples(config, split):
    """The examples of one split's file(s); a missing file names the
    settings that chose it."""
    try:
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
        return sources.read_tsv_pairs(
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
        return sources.read_parallel_files(
            _path_for(config, split, config.source_language),
            _path_for(config, split, config.target_language),
        )
    if config.format == "labelled":
        return sources.read_labelled(_path_for(config, split))
    return sources.read_text(_path_for(config, split))


def _file_splits(config):
    if _has_split_placeholder(config):
        return {split: _read_file_examples(config, split) for split in SPLITS}
    examples = _read_file_examples(config, "train")
    if isinstance(examples, str):
        return sources.split_text(
            examples, config.validation_fraction, config.test_fraction
        )
    return sources.split_examples(
        examples,
        config.validation_fraction,
        config.test_fraction,
        seed=config.seed,
    )


def _limit(examples, limit):
    return examples if limit is None else examples[:limit]


def _require_format(config, allowed, task):
    if config.source == "files" and config.format not in allowed:
        raise ValueError(
            f"data.format {config.format!r} does not fit task {task!r}; "
            f"use one of {list(allowed)}."
        )


def load_splits(config, task):
    """Loads the three splits of an experiment.

    Args:
        config: the experiment's ``DataConfig``.
        task: "translation", "classification" or "language_modeling".

    Returns:
        ``Splits``.
    """
    if task == "translation":
        _require_format(config, ("tsv", "parallel"), task)
        if config.source == "builtin":
            pairs = builtin_tasks.builtin_splits(
                config.task,
                config.train_size,
                config.validation_size,
                config.test_size,
                seed=config.seed,
            )
            pairs["train"] = _limit(pairs["train"], config.max_train_examples)
            return Splits({s: _pairs_dataset(pairs[s]) for s in SPLITS})
        if config.source == "tfds":
            data = {
                split: sources.tfds_translation(
                    config.name,
                    config.split_names.get(split, split),
                    config.source_language,
                    config.target_language,
                    data_dir=config.data_dir,
                )
                for split in SPLITS
            }
            if config.max_train_examples:
                data["train"] = data["train"].take(config.max_train_examples)
            return Splits(data)
        pairs = _file_splits(config)
        pairs["train"] = _limit(pairs["train"], config.max_train_examples)
        return Splits({s: _pairs_dataset(pairs[s]) for s in SPLITS})

    if task == "classification":
        _require_format(config, ("labelled",), task)
        if config.source == "tfds":
            data, names = {}, None
            for split in SPLITS:
                data[split], names = sources.tfds_classification(
                    config.name,
                    config.split_names.get(split, split),
                    text_key=config.text_key,
                    label_key=config.label_key,
                    data_dir=config.data_dir,
                )
            if config.max_train_examples:
                data["train"] = data["train"].take(config.max_train_examples)
            return Splits(data, list(names))
        if config.source != "files":
            raise ValueError(
                "classification needs data.source 'files' (format "
                "'labelled') or 'tfds'."
            )
        examples = _file_splits(config)
        examples["train"] = _limit(examples["train"], config.max_train_examples)
        names = sorted({label for _, label in examples["train"]})
        if len(names) < 2:
            raise ValueError(
                f"The training data has {len(names)} distinct label(s) "
                f"({names}); classification needs at least two."
            )
        index = {name: i for i, name in enumerate(names)}
        data = {}
        for split in SPLITS:
            unknown = {lab for _, lab in examples[split] if lab not in index}
            if unknown:
                raise ValueError(
                    f"The {split} split has labels {sorted(unknown)} that "
                    f"the training split does not have ({names})."
                )
            texts = [text for text, _ in examples[split]]
            labels = [index[label] for _, label in examples[split]]
            data[split] = tf.data.Dataset.from_tensor_slices(
                (tf.constant(texts, tf.string), tf.constant(labels, tf.int64))
            )
        return Splits(data, names)

    if task == "language_modeling":
        _require_format(config, ("text",), task)
        if config.source == "tfds":
            return Splits(
                {
                    split: sources.tfds_text(
                        config.name,
                        config.split_names.get(split, split),
                        text_key=config.text_key or "text",
                        data_dir=config.data_dir,
                    )
                    for split in SPLITS
                }
            )
        if config.source != "files":
            raise ValueError(
                "language_modeling needs data.source 'files' (format "
                "'text') or 'tfds'."
            )
        return Splits(_file_splits(config))
    raise ValueError(f"Unknown task {task!r}.")


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


def training_texts(splits, task, max_texts=1_000_000):
    """The training split's texts, for training a tokenizer.

    Returns:
        A pair of lists (source texts, target texts) for translation, or one
        list of texts otherwise.
    """
    train = splits["train"]
    if task == "language_modeling":
        return train.splitlines()
    if task == "classification":
        return [
            text.decode("utf-8")
            for text, _ in train.take(max_texts).as_numpy_iterator()
        ]
    source_texts, target_texts = [], []
    for source, target in train.take(max_texts).as_numpy_iterator():
        source_texts.append(source.decode("utf-8"))
        target_texts.append(target.decode("utf-8"))
    return source_texts, target_texts
