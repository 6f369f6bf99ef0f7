"""Causal language modelling: one text per split, a decoder, perplexity."""

import tensorflow as tf

from keras_transformer.data import datasets, pipeline, tfds_sources
from keras_transformer.errors import ConfigError
from keras_transformer.models import LanguageModel
from keras_transformer.tasks.base import Task
from keras_transformer.tasks.language_modeling.predictor import TextGenerator


class LanguageModelingTask(Task):
    """Next-token prediction over a text.

    Examples: the text of a local file (``format: text``, split into
    contiguous ranges) or of a tfds dataset, cut into windows of
    ``training.max_length`` tokens. Model: ``models.LanguageModel``.
    Metrics: loss, accuracy and perplexity of the next token. Predictor and
    export: ``TextGenerator`` (prompt -> continuation).
    """

    name = "language_modeling"
    file_formats = ("text",)
    model_class = LanguageModel
    checkpoint_families = ("gpt2",)
    keeps_whole_checkpoint = True

    def load_splits(self):
        config = self.experiment.data
        datasets.check_source(config, self.name, self.file_formats)
        if config.source == "tfds":
            return datasets.Splits(
                {
                    split: tfds_sources.tfds_text(
                        config.name,
                        config.split_names.get(split, split),
                        text_key=config.text_key or "text",
                        data_dir=config.data_dir,
                    )
                    for split in datasets.SPLITS
                }
            )
        return datasets.Splits(datasets.file_splits(config))

    def tokenizer_texts(self, splits):
        return [splits["train"].splitlines()]

    def encode(self, split_data, training):
        ids = (
            self.tokenizers[0]
            .tokenize(tf.constant(split_data.splitlines(keepends=True) or [""]))
            .flat_values
        )
        return pipeline.encode_language_model(
            ids, self.experiment.training.max_length
        )

    def batch(self, dataset, training):
        size = self.experiment.training.batch_size
        if training and size % self.batch_multiple:
            raise ConfigError(
                f"training.batch_size={size} does not split evenly over the "
                f"{self.batch_multiple} devices that share each batch: "
                f"choose a multiple of {self.batch_multiple}."
            )
        return dataset.batch(size, drop_remainder=training)

    def empty_training_message(self, max_length):
        return (
            "The training text is shorter than one example of "
            f"training.max_length + 1 = {max_length + 1} tokens: use more "
            "text or a smaller training.max_length."
        )

    def build_model(self):
        return LanguageModel(self.model_config())

    def predictor(self, model, decoding=None, max_new_tokens=100):
        return TextGenerator(
            model,
            self.tokenizers[0],
            max_new_tokens=max_new_tokens,
            max_length=self.position_limit(),
            max_prompt_length=self.experiment.training.max_length,
            decoding=self.decoding(decoding),
        )


__all__ = ["LanguageModelingTask"]
