"""Translation: (source, target) sentence pairs, an encoder-decoder, BLEU."""

import time

from keras_transformer.data import datasets, pipeline, tfds_sources
from keras_transformer.inference.translator import Translator
from keras_transformer.models import Transformer
from keras_transformer.tasks.base import Task
from keras_transformer.tasks.translation.metrics import translation_metrics


class TranslationTask(Task):
    """Sequence to sequence: the paper's task.

    Examples: ``(source, target)`` strings from the built-in generated tasks,
    tfds translation datasets, or local files (``tsv`` columns or
    ``parallel`` files). Model: ``models.Transformer`` with a shared or two
    separate vocabularies (``tokenizer.shared``). Metrics: token loss,
    accuracy and perplexity during training; sacreBLEU BLEU, chrF and exact
    match of the decoded test set. Predictor and export: ``Translator``.
    """

    name = "translation"
    file_formats = ("tsv", "parallel")
    model_class = Transformer
    decodes = True
    checkpoint_families = ("marian",)
    keeps_whole_checkpoint = True

    def load_splits(self):
        config = self.experiment.data
        datasets.check_source(
            config, self.name, self.file_formats, ("builtin", "files", "tfds")
        )
        if config.source == "builtin":
            return datasets.builtin_pair_splits(config)
        if config.source == "tfds":
            return datasets.Splits(
                datasets.tfds_splits(
                    config,
                    lambda split: tfds_sources.tfds_translation(
                        config.name,
                        split,
                        config.source_language,
                        config.target_language,
                        data_dir=config.data_dir,
                    ),
                )
            )
        pairs = datasets.file_splits(config, clean=self._nonempty)
        return datasets.Splits(
            {split: datasets.pairs_dataset(pairs[split]) for split in pairs}
        )

    def _nonempty(self, pairs, where):
        return datasets.nonempty_pairs(
            pairs, where, ("source", "target"), self.experiment.data.skip_empty
        )

    def tokenizer_names(self):
        if self.experiment.tokenizer.shared:
            return ["tokenizer"]
        return ["tokenizer_source", "tokenizer_target"]

    def tokenizer_texts(self, splits, max_texts=1_000_000):
        source_texts, target_texts = [], []
        for source, target in (
            splits["train"].take(max_texts).as_numpy_iterator()
        ):
            source_texts.append(source.decode("utf-8"))
            target_texts.append(target.decode("utf-8"))
        if len(self.tokenizer_names()) == 1:
            return [source_texts + target_texts]
        return [source_texts, target_texts]

    def encode(self, split_data, training):
        source, target = self.tokenizers
        return pipeline.encode_translation(
            split_data,
            source,
            target,
            self.experiment.training.max_length,
            truncate=not training,
            **self.encode_options(),
        )

    def encode_options(self):
        """More ``pipeline.encode_translation`` arguments: none here (a
        longer pair is dropped in training, truncated in evaluation)."""
        return {}

    def build_model(self):
        return Transformer(self.model_config())

    #: The ``Translator`` class of ``predictor``.
    predictor_class = Translator

    def max_output_length(self):
        """The most tokens of a decoded output: the model's position limit
        (None: unlimited; the decode limit of ``Translator`` applies)."""
        return self.position_limit()

    compiles_search = True

    def predictor(
        self, model, decoding=None, max_new_tokens=100, jit_compile=False
    ):
        return self.predictor_class(
            model,
            self.tokenizers[0],
            self.tokenizers[1],
            max_source_length=self.experiment.training.max_length,
            max_target_length=self.max_output_length(),
            extra_length=self.experiment.evaluation.extra_decode_length,
            decoding=self.decoding(decoding),
            jit_compile=jit_compile,
        )

    #: How the evaluation names an example's input and output: in its log
    #: line and as the columns of ``eval/<split>-<decode>.tsv``.
    source_noun = "sentences"
    source_column = "source"
    output_column = "translation"

    def output_metrics(self, outputs, references, sources):
        """The metrics of the decoded ``outputs``: BLEU, chrF, exact match."""
        return translation_metrics(outputs, references)

    def shown_source(self, source):
        """An input as the evaluation's rows show it."""
        return source

    def evaluate_outputs(
        self, model, data, decoding=None, verbose=1, split="test"
    ):
        sources_, references = [], []
        for source, target in data.as_numpy_iterator():
            sources_.append(source.decode("utf-8"))
            references.append(target.decode("utf-8"))
        predictor = self.predictor(model, decoding)
        if verbose:
            limit = self.experiment.evaluation.max_examples
            bounds = [
                "every example of the split (evaluation.max_examples: null)"
                if limit is None
                else f"evaluation.max_examples={limit} bounds how many"
            ]
            if predictor.decoding.strategy != "greedy":
                bounds.append("evaluation.decoding.strategy: greedy is faster")
            print(
                f"Decoding {len(sources_):,} {split} {self.source_noun} with "
                f"{predictor.decoding.describe()} ({'; '.join(bounds)}) ...",
                flush=True,
            )
        started = time.time()
        rows = predictor.predict(
            sources_,
            batch_size=self.experiment.evaluation.batch_size,
            progress=bool(verbose),
        )
        outputs = [row[self.output_column] for row in rows]
        metrics = self.output_metrics(outputs, references, sources_)
        metrics["decode"] = predictor.decoding.describe()
        metrics["decode_seconds"] = round(time.time() - started, 1)
        rows = [
            {
                self.source_column: self.shown_source(s),
                "reference": r,
                self.output_column: h,
            }
            for s, r, h in zip(sources_, references, outputs)
        ]
        metrics["examples"] = rows[: self.experiment.evaluation.show_examples]
        return metrics, rows


__all__ = ["TranslationTask"]
