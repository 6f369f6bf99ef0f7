"""Token classification: a tag per word, entity-level F1 (NER)."""

import collections

import tensorflow as tf

from keras_transformer.data import conll, datasets
from keras_transformer.errors import DataError
from keras_transformer.models import TokenClassifier
from keras_transformer.tasks.base import Task
from keras_transformer.tasks.token_classification.loss import (
    TagAccuracy,
    TagCrossentropy,
)
from keras_transformer.tasks.token_classification.predictor import EntityTagger
from keras_transformer.tasks.token_classification.tagged_words import (
    encode_tagged_words,
)

OUTSIDE = "O"


def most_frequent_tags(sentences):
    """Each word's most frequent tag in ``sentences`` (ties: the first seen).

    Args:
        sentences: ``(words, tags)`` pairs of lists of ``str``.

    Returns:
        A dict word -> tag.
    """
    counts = collections.defaultdict(collections.Counter)
    for words, tags in sentences:
        for word, tag in zip(words, tags):
            counts[word][tag] += 1
    return {word: tags.most_common(1)[0][0] for word, tags in counts.items()}


def baseline_tags(table, sentences):
    """Tags every word with ``table``'s tag, ``O`` for unknown words.

    Args:
        table: from ``most_frequent_tags`` (the training split).
        sentences: lists of words.

    Returns:
        A list of lists of tags.
    """
    return [[table.get(word, OUTSIDE) for word in words] for words in sentences]


def entity_scores(gold, predicted):
    """Entity-level precision, recall and F1 (seqeval, conlleval mode),
    and the F1 of every entity type.

    An entity counts as found only with the same type and exactly the
    same words.

    Args:
        gold, predicted: lists of lists of tags, one list per sentence.

    Returns:
        A dict: ``entity_precision``, ``entity_recall``, ``entity_f1`` and
        ``f1_<type>`` for each type of ``gold`` (rounded to 4 places).
    """
    from seqeval.metrics import classification_report

    report = classification_report(
        gold, predicted, output_dict=True, zero_division=0
    )
    total = report["micro avg"]
    scores = {
        "entity_precision": total["precision"],
        "entity_recall": total["recall"],
        "entity_f1": total["f1-score"],
    }
    for kind, values in sorted(report.items()):
        if not kind.endswith(" avg"):
            scores[f"f1_{kind}"] = values["f1-score"]
    return {key: round(float(value), 4) for key, value in scores.items()}


def _sentences(data):
    """``(words, tag ids)`` lists of a split's dataset."""
    return [
        (
            [word.decode("utf-8") for word in words],
            [int(tag) for tag in tags],
        )
        for words, tags in data.as_numpy_iterator()
    ]


class TokenClassificationTask(Task):
    """One tag per word: named-entity recognition with BIO / BIOES tags.

    Examples: sentences of ``(words, tags)`` from CoNLL-style column files
    (``format: conll``: the word first, the tag last, a blank line between
    sentences; ``data.conll.read_conll``, which repairs an ``I-X`` that
    does not continue an ``X`` entity into ``B-X``, with a warning) or a
    tfds data set (``data.text_key``: the words, default ``tokens``;
    ``data.label_key``: the tags, e.g. ``ner`` of ``conll2003``). The tag
    names are saved as ``labels.json``. Each word is tokenized on its
    own; its first piece carries its tag, the others are ignored by the
    loss and the accuracy. Model: ``models.TokenClassifier``; it can
    start from the encoder of a masked-LM run (``model.init_from``).
    Metrics: tag accuracy over words; entity precision, recall and F1
    (seqeval, conlleval's reading of the tags), F1 per type, and
    ``baseline_f1``: every word tagged with its most frequent training
    tag. Training and the loss see the first ``training.max_length``
    tokens of a sentence; evaluation tags every word with the predictor,
    a longer sentence in windows of whole words of ``max_length`` tokens,
    and counts the accuracy and the entities over all of them.
    Predictor and export: ``EntityTagger`` (entities with their character
    offsets, and the tag of every word).
    """

    name = "token_classification"
    checkpoint_families = ("bert",)
    file_formats = ("conll",)
    model_class = TokenClassifier
    label_noun = "tag"

    def load_splits(self):
        config = self.experiment.data
        datasets.check_source(config, self.name, self.file_formats)
        if config.source == "tfds":
            names = []

            def load(split):
                data, tag_names = conll.tfds_tagged_words(
                    config.name,
                    split,
                    words_key=config.text_key or "tokens",
                    tags_key=config.label_key,
                    data_dir=config.data_dir,
                )
                names[:] = tag_names
                return data

            data = datasets.tfds_splits(config, load)
            for name in names:
                try:
                    conll.split_tag(name)
                except ValueError as err:
                    raise DataError(
                        f"data.label_key={config.label_key!r} of "
                        f"{config.name!r}: {err}; token_classification "
                        "reads BIO or BIOES tags."
                    ) from None
            return datasets.Splits(data, names)
        examples = datasets.file_splits(config)
        found = {tag for _, tags in examples["train"] for tag in tags}
        names = [OUTSIDE] + sorted(found - {OUTSIDE})
        index = {name: i for i, name in enumerate(names)}
        data = {}
        for split, sentences in examples.items():
            unknown = {
                tag for _, tags in sentences for tag in tags if tag not in index
            }
            if unknown:
                raise DataError(
                    f"The {split} split has tags {sorted(unknown)} that the "
                    f"training split does not have ({names})."
                )
            data[split] = _dataset(
                [words for words, _ in sentences],
                [[index[tag] for tag in tags] for _, tags in sentences],
            )
        return datasets.Splits(data, names)

    def tokenizer_texts(self, splits, max_texts=1_000_000):
        return [
            [
                " ".join(word.decode("utf-8") for word in words)
                for words, _ in splits["train"]
                .take(max_texts)
                .as_numpy_iterator()
            ]
        ]

    def encode(self, split_data, training):
        return encode_tagged_words(
            split_data, self.tokenizers[0], self.experiment.training.max_length
        )

    @property
    def max_batch_size(self):
        return self.experiment.training.batch_size

    def empty_training_message(self, max_length):
        return (
            f"No training sentence has a word in training.max_length="
            f"{max_length} tokens: check the data or raise "
            "training.max_length."
        )

    def build_model(self):
        return TokenClassifier(self.model_config(), len(self.label_names))

    def loss(self):
        return TagCrossentropy(
            label_smoothing=self.experiment.training.label_smoothing
        )

    def metrics(self):
        return [TagAccuracy()]

    def predictor(self, model, decoding=None, max_new_tokens=100):
        return EntityTagger(
            model,
            self.tokenizers[0],
            self.label_names,
            self.experiment.training.max_length,
        )

    def evaluate(self, model, splits, split, decoding=None, verbose=1):
        # The baseline of evaluate_outputs learns from the training split.
        self._train_data = splits["train"]
        return super().evaluate(model, splits, split, decoding, verbose)

    def evaluate_outputs(
        self, model, data, decoding=None, verbose=1, split="test"
    ):
        names = self.label_names
        sentences = [
            (words, [names[tag] for tag in tags])
            for words, tags in _sentences(data)
        ]
        words = [words for words, _ in sentences]
        gold = [tags for _, tags in sentences]
        predicted = self.predictor(model).tag_words(
            words, batch_size=self.experiment.evaluation.batch_size
        )
        metrics = entity_scores(gold, predicted)
        metrics["accuracy"] = _word_accuracy(gold, predicted)
        train = getattr(self, "_train_data", None)
        if train is not None:
            table = most_frequent_tags(
                (words, [names[tag] for tag in tags])
                for words, tags in _sentences(train)
            )
            baseline = entity_scores(gold, baseline_tags(table, words))
            metrics["baseline_f1"] = baseline["entity_f1"]
        rows = [
            {
                "words": " ".join(sentence),
                "tags": " ".join(tags),
                "predicted": " ".join(guess),
                "wrong": sum(a != b for a, b in zip(tags, guess)),
            }
            for sentence, tags, guess in zip(words, gold, predicted)
        ]
        return metrics, rows


def _word_accuracy(gold, predicted):
    """Share of words (of lists of tag lists) tagged right, 4 places."""
    pairs = [pair for both in zip(gold, predicted) for pair in zip(*both)]
    right = sum(tag == guess for tag, guess in pairs)
    return round(right / max(len(pairs), 1), 4)


def _dataset(words, tags):
    """A dataset of ``(words [W] tf.string, tags [W] int64)``."""
    lengths = tf.constant([len(sentence) for sentence in words], tf.int64)

    def ragged(values, dtype):
        flat = [value for sentence in values for value in sentence]
        return tf.RaggedTensor.from_row_lengths(
            tf.constant(flat, dtype, shape=[len(flat)]), lengths
        )

    return tf.data.Dataset.from_tensor_slices(
        (ragged(words, tf.string), ragged(tags, tf.int64))
    )


__all__ = [
    "TokenClassificationTask",
    "baseline_tags",
    "entity_scores",
    "most_frequent_tags",
]
