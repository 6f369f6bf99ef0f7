"""Summarisation: (document, summary) pairs, an encoder-decoder, ROUGE."""

import functools
import time

import tensorflow as tf

from keras_transformer.data import datasets, summaries
from keras_transformer.evaluation import longest_lines, summarization_metrics
from keras_transformer.inference.summarizer import Summarizer
from keras_transformer.tasks.translation import TranslationTask


def _truncate(ids, length):
    """The first ``length - 1`` ids and the last one (EOS) when longer."""
    return tf.cond(
        tf.shape(ids)[0] > length,
        lambda: tf.concat([ids[: length - 1], ids[-1:]], 0),
        lambda: ids,
    )


class SummarizationTask(TranslationTask):
    """Abstractive summarisation with the translation machinery.

    Examples: ``(document, summary)`` strings from JSON / JSON Lines / TSV
    files (``data.format: json`` or ``tsv``; ``data.document_key`` and
    ``data.summary_key`` name the JSON keys) or a tfds data set such as
    ``samsum`` or ``xsum`` (the same keys name its features). A document's
    line breaks become ``" | "`` (see ``data.summaries``). Documents longer
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
    file_formats = ("json", "tsv")
    commands = ("predict",)

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
                        config.document_key,
                        config.summary_key,
                        data_dir=config.data_dir,
                    ),
                )
            )
        reader = functools.partial(
            summaries.read_summary_pairs,
            format=config.format,
            document_key=config.document_key,
            summary_key=config.summary_key,
            source_column=config.source_column,
            target_column=config.target_column,
            skip_empty=config.skip_empty,
        )
        pairs = datasets.file_splits(config, reader=reader)
        pairs["train"] = datasets.limit(
            pairs["train"], config.max_train_examples
        )
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

    def encode(self, split_data, training):
        """(document, summary) -> ``({"source_tokens", "target_tokens"},
        labels)``: the document truncated to ``training.max_length``
        tokens (start kept, EOS last); a longer summary is dropped in
        training and truncated in evaluation."""
        source, target = self.tokenizers
        max_length = self.experiment.training.max_length

        def encode(document, summary):
            document_ids = source.tokenize(
                summaries.join_lines(document), add_eos=True
            )
            summary_ids = target.tokenize(summary, add_bos=True, add_eos=True)
            document_ids = _truncate(document_ids, max_length)
            if not training:
                summary_ids = _truncate(summary_ids, max_length + 1)
            features = {
                "source_tokens": tf.cast(document_ids, tf.int32),
                "target_tokens": tf.cast(summary_ids[:-1], tf.int32),
            }
            return features, tf.cast(summary_ids[1:], tf.int32)

        dataset = split_data.map(encode, num_parallel_calls=tf.data.AUTOTUNE)
        if training:
            dataset = dataset.filter(
                lambda features, labels: tf.shape(labels)[0] <= max_length
            )
        return dataset

    def empty_training_message(self, max_length):
        return (
            f"No training summary fits in training.max_length={max_length} "
            "tokens (with EOS), so nothing would be trained: raise "
            "training.max_length."
        )

    def max_summary_length(self):
        """The most tokens of a generated summary:
        ``evaluation.max_summary_length``, else ``training.max_length``
        (capped by the model's learned positions)."""
        limit = (
            self.experiment.evaluation.max_summary_length
            or self.experiment.training.max_length
        )
        positions = self.position_limit()
        return min(limit, positions) if positions else limit

    def predictor(self, model, decoding=None, max_new_tokens=100):
        return Summarizer(
            model,
            self.tokenizers[0],
            self.tokenizers[1],
            max_source_length=self.experiment.training.max_length,
            max_summary_length=self.max_summary_length(),
            extra_length=self.experiment.evaluation.extra_decode_length,
            decoding=self.decoding(decoding),
        )

    def evaluate_outputs(
        self, model, data, decoding=None, verbose=1, split="test"
    ):
        documents, references = [], []
        for document, summary in data.as_numpy_iterator():
            documents.append(document.decode("utf-8"))
            references.append(summary.decode("utf-8"))
        summarizer = self.predictor(model, decoding)
        if verbose:
            limit = self.experiment.evaluation.max_examples
            bound = (
                "every example of the split (evaluation.max_examples: null)"
                if limit is None
                else f"evaluation.max_examples={limit} bounds how many"
            )
            print(
                f"Summarising {len(documents):,} {split} documents with "
                f"{summarizer.decoding.describe()} ({bound}) ...",
                flush=True,
            )
        started = time.time()
        rows = summarizer.predict(
            documents,
            batch_size=self.experiment.evaluation.batch_size,
            progress=bool(verbose),
        )
        hypotheses = [row["summary"] for row in rows]
        metrics = summarization_metrics(hypotheses, references)
        baseline = summarization_metrics(
            [longest_lines(document) for document in documents], references
        )
        metrics.update({f"baseline_{k}": v for k, v in baseline.items()})
        metrics["decode"] = summarizer.decoding.describe()
        metrics["decode_seconds"] = round(time.time() - started, 1)
        rows = [
            {
                "document": summaries.join_lines_text(d),
                "reference": r,
                "summary": h,
            }
            for d, r, h in zip(documents, references, hypotheses)
        ]
        metrics["examples"] = rows[: self.experiment.evaluation.show_examples]
        return metrics, rows


__all__ = ["SummarizationTask"]
