"""Text classification: (text, label) examples, an encoder, accuracy."""

import keras
import tensorflow as tf

from keras_transformer.data import datasets, pipeline, tfds_sources
from keras_transformer.errors import DataError
from keras_transformer.models import Classifier
from keras_transformer.tasks.base import Task
from keras_transformer.tasks.classification.predictor import LabelPredictor
from keras_transformer.tasks.classification.settings import (
    ClassificationSettings,
)


def warn_similar_labels(names, log=print):
    """Warns about labels that differ only in case or spaces ("pos",
    "Pos", "POS "): they are different classes, which is seldom meant."""
    groups = {}
    for name in names:
        groups.setdefault(" ".join(name.split()).casefold(), []).append(name)
    for similar in groups.values():
        if len(similar) > 1:
            log(
                f"WARNING: the labels {', '.join(map(repr, similar))} differ "
                f"only in case or spaces, so they are {len(similar)} "
                "different classes; if they are one, write them alike in "
                "the data."
            )


class ClassificationTask(Task):
    """One label per text.

    Examples: ``(text, label)`` from labelled TSV/CSV files or tfds
    classification datasets; the class names are saved as ``labels.json``.
    Model: ``models.Classifier`` (mean pooling, or ``task_settings.pooling:
    first`` with a BOS "class" token). It can start from the encoder of a
    pretrained run (``model.init_from``). Metrics: loss and accuracy; the
    evaluation writes every prediction. Predictor and export:
    ``LabelPredictor`` (probabilities and the label).
    """

    name = "classification"
    checkpoint_families = ("bert",)
    file_formats = ("labelled",)
    model_class = Classifier
    label_noun = "class"
    settings_class = ClassificationSettings

    def load_splits(self):
        config = self.experiment.data
        datasets.check_source(config, self.name, self.file_formats)
        if config.source == "tfds":
            names = []

            def load(split):
                data, labels = tfds_sources.tfds_classification(
                    config.name,
                    split,
                    text_key=config.text_key,
                    label_key=config.label_key,
                    data_dir=config.data_dir,
                )
                names[:] = list(labels)
                return data

            data = datasets.tfds_splits(config, load)
            return datasets.Splits(data, names)
        examples = datasets.file_splits(config, clean=self._nonempty)
        names = sorted({label for _, label in examples["train"]})
        warn_similar_labels(names)
        if len(names) < 2:
            raise DataError(
                f"The training data has {len(names)} distinct label(s) "
                f"({names}); classification needs at least two."
            )
        index = {name: i for i, name in enumerate(names)}
        data = {}
        for split, rows in examples.items():
            unknown = {label for _, label in rows if label not in index}
            if unknown:
                raise DataError(
                    f"The {split} split has labels {sorted(unknown)} that "
                    f"the training split does not have ({names})."
                )
            data[split] = tf.data.Dataset.from_tensor_slices(
                (
                    tf.constant([text for text, _ in rows], tf.string),
                    tf.constant([index[label] for _, label in rows], tf.int64),
                )
            )
        return datasets.Splits(data, names)

    def _nonempty(self, examples, where):
        return datasets.nonempty_pairs(
            examples, where, ("text", "label"), self.experiment.data.skip_empty
        )

    def tokenizer_texts(self, splits, max_texts=1_000_000):
        return [
            [
                text.decode("utf-8")
                for text, _ in splits["train"]
                .take(max_texts)
                .as_numpy_iterator()
            ]
        ]

    @property
    def add_bos(self):
        """Whether texts start with BOS: the "class" token of ``pooling:
        first`` or ``pooler``, and always after a published checkpoint
        (BERT's ``[CLS] text [SEP]``)."""
        return self.settings.pooling != "mean" or self.add_eos

    @property
    def add_eos(self):
        """Whether texts end with EOS (after a published checkpoint)."""
        return self.start.is_published

    def encode(self, split_data, training):
        return pipeline.encode_classification(
            split_data,
            self.tokenizers[0],
            self.experiment.training.max_length,
            add_bos=self.add_bos,
            add_eos=self.add_eos,
        )

    @property
    def max_batch_size(self):
        return self.experiment.training.batch_size

    def build_model(self):
        return Classifier(
            self.model_config(),
            len(self.label_names),
            pooling=self.settings.pooling,
        )

    def loss(self):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def predictor(self, model, decoding=None, max_new_tokens=100):
        return LabelPredictor(
            model,
            self.tokenizers[0],
            self.label_names,
            self.experiment.training.max_length,
            add_bos=self.add_bos,
            add_eos=self.add_eos,
        )

    def evaluate_outputs(
        self, model, data, decoding=None, verbose=1, split="test"
    ):
        texts, labels = [], []
        for text, label in data.as_numpy_iterator():
            texts.append(text.decode("utf-8"))
            labels.append(self.label_names[int(label)])
        rows = self.predictor(model).predict(
            texts,
            batch_size=self.experiment.evaluation.batch_size,
            progress=bool(verbose),
        )
        return {}, [
            {
                "text": text,
                "label": label,
                "predicted": row["label"],
                "probability": round(max(row["probabilities"]), 4),
            }
            for text, label, row in zip(texts, labels, rows)
        ]


__all__ = ["ClassificationTask"]
