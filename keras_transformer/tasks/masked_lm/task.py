"""Masked-language-model pretraining of an encoder (BERT-style)."""

import tensorflow as tf

from keras_transformer.data import datasets, pipeline, tfds_sources
from keras_transformer.errors import RunError
from keras_transformer.models import MaskedLanguageModel
from keras_transformer.special_tokens import MASK_PIECE
from keras_transformer.tasks.base import Task
from keras_transformer.tasks.masked_lm.predictor import MaskFiller

#: BERT's proportions: 15% of the ordinary tokens are selected; of those
#: 80% become [MASK], 10% a random token and 10% stay.
MASK_RATE = 0.15
MASK_SHARE = 0.8
RANDOM_SHARE = 0.1
# Evaluation masks the same way in every run (training masks anew at every
# pass over the data).
_EVALUATION_SEED = 12345


class MaskedLanguageModelingTask(Task):
    """Pretrains an encoder to predict masked tokens.

    Examples: sentences, one per line of a text file (``format: text``), or
    the text side of labelled (``labelled``), TSV (``tsv``, the
    ``data.source_column``) or parallel files (the source language), the
    words of CoNLL files (``conll``, joined by spaces), the contexts of
    SQuAD files (``squad``, split by article as question answering splits
    them), or a tfds text
    feature (``data.text_key``). Every sentence becomes BOS +
    pieces + EOS; 15% of its ordinary tokens are selected (80% replaced by
    ``[MASK]``, 10% by a random token, 10% kept), anew at every pass. The
    tokenizer reserves the piece ``[MASK]`` (SentencePiece only). Model:
    ``models.MaskedLanguageModel``; its encoder starts classification runs
    with ``model.init_from``. Metrics: accuracy and perplexity on the
    selected tokens. Predictor and export: ``MaskFiller``.
    """

    name = "masked_lm"
    file_formats = ("text", "labelled", "tsv", "parallel", "conll", "squad")
    model_class = MaskedLanguageModel
    tokenizer_symbols = (MASK_PIECE,)

    def load_splits(self):
        config = self.experiment.data
        datasets.check_source(config, self.name, self.file_formats)
        if config.source == "tfds":
            return datasets.Splits(
                datasets.tfds_splits(
                    config,
                    lambda split: tfds_sources.tfds_texts(
                        config.name,
                        split,
                        text_key=config.text_key or "text",
                        data_dir=config.data_dir,
                    ),
                )
            )
        if config.format == "squad":
            return self._squad_contexts(config)
        # Limited below, once the examples are non-blank texts.
        examples = datasets.file_splits(config, limit_train=False)
        data = {}
        for split, values in examples.items():
            if isinstance(values, str):
                texts = [line for line in values.splitlines() if line.strip()]
            else:
                texts = [  # a CoNLL sentence: its words, joined by spaces
                    " ".join(first) if isinstance(first, list) else first
                    for first, _ in values
                ]
                texts = [text for text in texts if text.strip()]
            if split == "train":
                texts = datasets.limit(texts, config.max_train_examples)
            data[split] = datasets.texts_dataset(texts)
        return datasets.Splits(data)

    @staticmethod
    def _squad_contexts(config):
        """The contexts of a SQuAD file (``format: squad``), each once, in
        the question-answering task's split by article."""
        from keras_transformer.data import squad

        contexts = {
            split: squad.unique_contexts(examples)
            for split, examples in squad.file_splits(config).items()
        }
        contexts["train"] = datasets.limit(
            contexts["train"], config.max_train_examples
        )
        return datasets.Splits(
            {
                split: datasets.texts_dataset(texts)
                for split, texts in contexts.items()
            }
        )

    def tokenizer_texts(self, splits, max_texts=1_000_000):
        return [
            [
                text.decode("utf-8")
                for text in splits["train"].take(max_texts).as_numpy_iterator()
            ]
        ]

    def load(self, workdir):
        super().load(workdir)
        if self.tokenizers[0].mask_id is None:
            raise RunError(
                f"The tokenizer of {workdir} has no {MASK_PIECE} piece: a "
                "masked_lm run needs one (train it in a new --workdir)."
            )
        return self

    def encode(self, split_data, training):
        """Sentences as BOS + ids + EOS; ``vary`` masks them."""
        return pipeline.encode_sentences(
            split_data, self.tokenizers[0], self.experiment.training.max_length
        )

    def vary(self, dataset, training, seed):
        """Masks every sentence: anew at every pass in training, the same
        way every time in evaluation."""
        tokenizer = self.tokenizers[0]
        mask_id = tokenizer.mask_id
        if training:
            seeds = tf.data.Dataset.random(seed=seed).batch(2)
        else:
            seeds = tf.data.Dataset.range(_EVALUATION_SEED, 2**62).map(
                lambda index: tf.stack([index, index])
            )

        def mask(ids, seed):
            inputs, labels = pipeline.mask_tokens(
                ids,
                seed,
                mask_id,
                tokenizer.vocab_size,
                first_normal_id=mask_id + 1,
                rate=MASK_RATE,
                mask_share=MASK_SHARE,
                random_share=RANDOM_SHARE,
            )
            return {"tokens": inputs}, labels

        return tf.data.Dataset.zip(dataset, seeds).map(
            mask, num_parallel_calls=tf.data.AUTOTUNE
        )

    def build_model(self):
        return MaskedLanguageModel(self.model_config())

    def predictor(self, model, decoding=None, max_new_tokens=100):
        return MaskFiller(
            model, self.tokenizers[0], self.experiment.training.max_length
        )


__all__ = ["MaskedLanguageModelingTask"]
