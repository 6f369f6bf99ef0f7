"""Summarisation: (document, summary) pairs, an encoder-decoder, ROUGE."""

import functools

from keras_transformer.data import datasets
from keras_transformer.tasks.summarization import summaries
from keras_transformer.tasks.summarization.metrics import (
    longest_lines,
    summarization_metrics,
)
from keras_transformer.tasks.summarization.predictor import Summarizer
from keras_transformer.tasks.summarization.settings import (
    SummarizationSettings,
)
from keras_transformer.tasks.translation.task import TranslationTask


class SummarizationTask(TranslationTask):
    """Abstractive summarisation with the translation machinery.

    Examples: ``(document, summary)`` strings from JSON / JSON Lines / TSV
    files (``data.format: json`` or ``tsv``; ``task_settings.document_key``
    and ``summary_key`` name the JSON keys) or a tfds data set such as
    ``samsum`` or ``xsum`` (the same keys name its features). A document's
    line breaks become ``" | "`` (see ``summaries``). Documents longer
    than ``training.max_length`` tokens are truncated (their start is
    kept); summaries longer than that are dropped from training and
    truncated in evaluation.

    Model: ``models.Transformer``, as for translation (tokenizers, batching
    by tokens and every decoding strategy with ``min_length`` and
    ``no_repeat_ngram_size``). Metrics: token loss, accuracy and
    perplexity; ROUGE-1/2/Lsum F1 of the decoded summaries
    (``summarization_metrics``) and, on the same examples, of the SAMSum
    paper's "longest-3" baseline (``baseline_rouge1``, ...). Predictor
    and export: ``Summarizer`` (document -> ``summary``, ``score``).
    """

    name = "summarization"
    predictor_class = Summarizer
    file_formats = ("json", "tsv")
    settings_class = SummarizationSettings

    def load_splits(self):
        config = self.experiment.data
        datasets.check_source(config, self.name, self.file_formats)
        if config.source == "tfds":
            return datasets.Splits(
                datasets.tfds_splits(
                    config,
                    lambda split: summaries.tfds_summaries(
                        config.name,
                        split,
                        self.settings.document_key,
                        self.settings.summary_key,
                        data_dir=config.data_dir,
                    ),
                )
            )
        reader = functools.partial(
            summaries.read_summary_pairs,
            format=config.format,
            document_key=self.settings.document_key,
            summary_key=self.settings.summary_key,
            source_column=config.source_column,
            target_column=config.target_column,
            skip_empty=config.skip_empty,
        )
        pairs = datasets.file_splits(config, reader=reader)
        return datasets.Splits(
            {split: datasets.pairs_dataset(pairs[split]) for split in pairs}
        )

    def tokenizer_texts(self, splits, max_texts=1_000_000):
        documents, references = [], []
        for document, summary in (
            splits["train"].take(max_texts).as_numpy_iterator()
        ):
            documents.append(summaries.join_lines_text(document.decode()))
            references.append(summary.decode("utf-8"))
        if len(self.tokenizer_names()) == 1:
            return [documents + references]
        return [documents, references]

    def encode_options(self):
        """The document's lines joined (``summaries.join_lines``) and the
        document truncated to ``training.max_length`` tokens even in
        training (start kept, EOS last); a longer summary is dropped in
        training and truncated in evaluation."""
        return {
            "truncate_source": True,
            "source_text": summaries.join_lines,
        }

    def empty_training_message(self, max_length):
        return (
            f"No training summary fits in training.max_length={max_length} "
            "tokens (with EOS), so nothing would be trained: raise "
            "training.max_length."
        )

    def max_output_length(self):
        """The most tokens of a generated summary:
        ``task_settings.max_summary_length``, else ``training.max_length``
        (capped by the model's learned positions)."""
        limit = (
            self.settings.max_summary_length
            or self.experiment.training.max_length
        )
        positions = self.position_limit()
        return min(limit, positions) if positions else limit

    source_noun = "documents"
    source_column = "document"
    output_column = "summary"

    def output_metrics(self, outputs, references, sources):
        """ROUGE of the summaries, and of the longest-3 baseline."""
        metrics = summarization_metrics(outputs, references)
        baseline = summarization_metrics(
            [longest_lines(document) for document in sources], references
        )
        metrics.update({f"baseline_{k}": v for k, v in baseline.items()})
        return metrics

    def shown_source(self, source):
        return summaries.join_lines_text(source)


__all__ = ["SummarizationTask"]
