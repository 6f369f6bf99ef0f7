"""Extractive question answering (SQuAD v1.1): find the answer span."""

import tensorflow as tf

from keras_transformer.data import datasets, squad
from keras_transformer.errors import DataError
from keras_transformer.models.question_answerer import QuestionAnswerer
from keras_transformer.tasks.base import Task
from keras_transformer.tasks.question_answering.evaluation import (
    exact_match_score,
    f1_score,
    metric_max_over_ground_truths,
    overlap_sentence,
    squad_scores,
)
from keras_transformer.tasks.question_answering.loss import (
    SpanAccuracy,
    SpanCrossEntropy,
)
from keras_transformer.tasks.question_answering.predictor import AnswerExtractor
from keras_transformer.tasks.question_answering.settings import (
    QuestionAnsweringSettings,
)
from keras_transformer.tasks.question_answering.windows import (
    answer_tokens,
    char_to_byte,
    max_question_tokens,
    question_windows,
    window_labels,
)

# Examples windowed per call of the windowing graph.
_WINDOW_BATCH = 64


class QuestionAnsweringTask(Task):
    """Answers a question with a span of its context.

    Examples: SQuAD v1.1 JSON (``format: squad``, ``.json`` or
    ``.json.gz``; one file is split by whole articles with ``data.seed``
    and the fractions, or one file per split with ``{split}``), or a tfds
    SQuAD data set (``squad``). Every example becomes windows ``BOS
    question EOS context EOS`` of at most ``training.max_length`` tokens,
    ``task_settings.doc_stride`` context tokens apart (EOS is the separator
    every tokenizer has, so a masked-LM run's tokenizer serves as it is).
    Labels: the answer's first and last token in each window; a window
    without the whole answer points at its BOS (as BERT). Model:
    ``models.QuestionAnswerer``; it can start from a masked-LM run's
    encoder (``model.init_from``). Metrics: the span loss and the windows'
    ``span_accuracy``; then SQuAD v1.1's official ``exact_match`` and
    ``f1`` of the best span over all windows of each full context, at
    most ``task_settings.max_answer_length`` tokens, beside the baseline
    that answers with the context sentence sharing most words with the
    question (``baseline_exact_match``, ``baseline_f1``). Predictor and
    export: ``AnswerExtractor`` ((question, context) -> answer, score,
    start, end).
    """

    name = "question_answering"
    checkpoint_families = ("bert",)
    file_formats = ("squad",)
    model_class = QuestionAnswerer
    settings_class = QuestionAnsweringSettings

    # ------------------------------------------------------------ examples

    def load_splits(self):
        config = self.experiment.data
        datasets.check_source(config, self.name, self.file_formats)
        if config.source == "tfds":
            return datasets.Splits(
                datasets.tfds_splits(
                    config,
                    lambda split: squad.tfds_squad(
                        config.name, split, data_dir=config.data_dir
                    ),
                )
            )
        examples = squad.file_splits(config)
        examples["train"] = datasets.limit(
            examples["train"], config.max_train_examples
        )
        return datasets.Splits(
            {
                split: squad.examples_dataset(values)
                for split, values in examples.items()
            }
        )

    def tokenizer_texts(self, splits, max_texts=1_000_000):
        texts = {}
        for example in splits["train"].take(max_texts).as_numpy_iterator():
            texts[example["question"].decode("utf-8")] = None
            texts[example["context"].decode("utf-8")] = None
        return [list(texts)]

    def output_classes(self):
        """A start or end is one of a window's positions."""
        return self.experiment.training.max_length

    # ---------------------------------------------------------------- data

    def _windows(self, questions, contexts):
        return question_windows(
            self.tokenizers[0],
            questions,
            contexts,
            self.experiment.training.max_length,
            self.settings.doc_stride,
        )

    def encode(self, split_data, training):
        """Windows of every example, with the answer's positions.

        Returns:
            A dataset of ``({"tokens": (T,) int32}, (2,) int32)``, the
            features with ``segment_ids`` (T,) for a model with segment
            embeddings (one fine-tuned from a BERT checkpoint).
        """

        def windows_of(batch):
            contexts = batch["context"]
            text = batch["answers"].to_tensor("", shape=[None, 1])[:, 0]
            start = char_to_byte(
                contexts,
                batch["answer_starts"].to_tensor(0, shape=[None, 1])[:, 0],
            )
            end = start + tf.strings.length(text)
            windows = self._windows(batch["question"], contexts)
            first, last = answer_tokens(
                windows["starts"], windows["ends"], start, end
            )
            labels = window_labels(windows, first, last)
            lengths = tf.reduce_sum(
                tf.cast(windows["tokens"] != 0, tf.int32), axis=1
            )
            return windows["tokens"], windows["segment_ids"], lengths, labels

        segments = bool(self.model_config().num_segments)

        def single(tokens, segment_ids, length, labels):
            features = {"tokens": tokens[:length]}
            if segments:
                features["segment_ids"] = segment_ids[:length]
            return features, labels

        return (
            split_data.ragged_batch(_WINDOW_BATCH)
            .map(windows_of, num_parallel_calls=tf.data.AUTOTUNE)
            .unbatch()
            .map(single)
        )

    def check_data(self, splits):
        """Refuses a question too long for ``training.max_length`` and an
        empty context (naming the split and the question id), then runs
        the base checks."""
        limit = max_question_tokens(self.experiment.training.max_length)
        tokenizer = self.tokenizers[0]
        evaluation = self.experiment.evaluation.split
        for split in dict.fromkeys(("train", "validation", evaluation)):
            data = splits[split]
            if split != "train":
                data = self.limit_split(data)

            def lengths(batch):
                return (
                    batch["id"],
                    tf.cast(
                        tokenizer.tokenize(batch["question"]).row_lengths(),
                        tf.int32,
                    ),
                    tf.strings.length(tf.strings.strip(batch["context"])),
                )

            checked = data.ragged_batch(256).map(lengths)
            for ids, questions, contexts in checked.as_numpy_iterator():
                for qid, question, context in zip(ids, questions, contexts):
                    qid = qid.decode("utf-8")
                    if question > limit:
                        raise DataError(
                            f"{split} question {qid!r} has {question} tokens, "
                            f"but training.max_length="
                            f"{self.experiment.training.max_length} leaves "
                            f"room for {limit}: raise training.max_length or "
                            "remove the question."
                        )
                    if context == 0:
                        raise DataError(
                            f"{split} question {qid!r} has an empty context: "
                            "remove it or give its text."
                        )
        super().check_data(splits)

    @property
    def max_batch_size(self):
        return self.experiment.training.batch_size

    # --------------------------------------------------------------- model

    def build_model(self):
        return QuestionAnswerer(self.model_config())

    def loss(self):
        return SpanCrossEntropy()

    def metrics(self):
        return [SpanAccuracy()]

    # -------------------------------------------------- prediction, export

    def predictor(self, model, decoding=None, max_new_tokens=100):
        return AnswerExtractor(
            model,
            self.tokenizers[0],
            self.experiment.training.max_length,
            self.settings.doc_stride,
            self.settings.max_answer_length,
        )

    def evaluate_outputs(
        self, model, data, decoding=None, verbose=1, split="test"
    ):
        """SQuAD v1.1 exact match and F1 (percent) over full contexts,
        and those of the overlap-sentence baseline; one row per question."""
        examples = [
            {
                "id": example["id"].decode("utf-8"),
                "question": example["question"].decode("utf-8"),
                "context": example["context"].decode("utf-8"),
                "answers": [a.decode("utf-8") for a in example["answers"]],
            }
            for example in data.as_numpy_iterator()
        ]
        predicted = self.predictor(model).predict(
            [(e["question"], e["context"]) for e in examples],
            batch_size=self.experiment.evaluation.batch_size,
            progress=bool(verbose),
        )
        answers = [row["answer"] for row in predicted]
        golds = [e["answers"] for e in examples]
        baseline = [
            overlap_sentence(e["question"], e["context"]) for e in examples
        ]
        scores = squad_scores(answers, golds)
        baseline_scores = squad_scores(baseline, golds)
        metrics = {
            "exact_match": round(scores["exact_match"], 2),
            "f1": round(scores["f1"], 2),
            "baseline_exact_match": round(baseline_scores["exact_match"], 2),
            "baseline_f1": round(baseline_scores["f1"], 2),
        }
        rows = [
            {
                "id": e["id"],
                "question": e["question"],
                "answer": e["answers"][0],
                "predicted": row["answer"],
                "score": round(row["score"], 4),
                "f1": round(
                    metric_max_over_ground_truths(
                        f1_score, row["answer"], e["answers"]
                    ),
                    4,
                ),
                "exact_match": metric_max_over_ground_truths(
                    exact_match_score, row["answer"], e["answers"]
                ),
            }
            for e, row in zip(examples, predicted)
        ]
        return metrics, rows


__all__ = ["QuestionAnsweringTask"]
