"""A question and a context in, the answer span out, in one graph."""

import tensorflow as tf

from keras_transformer.errors import DataError
from keras_transformer.inference.predictor import Predictor, one_line
from keras_transformer.tasks.question_answering.windows import (
    byte_to_char,
    max_question_tokens,
    question_windows,
    window_features,
)


class AnswerExtractor(Predictor):
    """Finds the answer to a question in a context with a
    ``models.QuestionAnswerer``.

    The context is cut into windows (``data.question_windows``); in every
    window, start and end probabilities are a softmax over its positions,
    and the best span maximises ``p(start) * p(end)`` among spans inside
    the context with end >= start and at most ``max_answer_length``
    tokens. The best span over all windows is the answer; its bytes are
    mapped back to the context, surrounding whitespace left out.

    Args:
        model: a ``models.QuestionAnswerer``.
        tokenizer: the run's tokenizer.
        max_length: tokens per window (L).
        stride: context tokens between the starts of two windows.
        max_answer_length: the most tokens of an answer.

    Call arguments (``serve``):
        question: (B,) ``tf.string``.
        context: (B,) ``tf.string``.

    Returns:
        ``{"answer": (B,) tf.string, "score": (B,) float32, the span's
        probability in its window, "start", "end": (B,) int32 character
        offsets: answer == context[start:end]}``. An empty context gives
        "" with score 0.

    Example:

    >>> extractor = AnswerExtractor(model, tokenizer, 64, 32, 10)
    >>> extractor.predict([("Where does Ann live?", "Ann lives in Rome.")])
    [{'answer': 'Rome', 'score': 0.97, 'start': 13, 'end': 17}]
    """

    input_names = ("question", "context")

    def __init__(self, model, tokenizer, max_length, stride, max_answer_length):
        super().__init__(name="answer_extractor")
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.stride = stride
        self.max_answer_length = max_answer_length

    def _serve(self, question, context):
        windows = question_windows(
            self.tokenizer, question, context, self.max_length, self.stride
        )
        logits = tf.cast(
            self.model(window_features(self.model, windows)), tf.float32
        )
        best, window_score, width = self._best_spans(logits, windows)
        batch = tf.shape(question)[0]
        per_example = tf.RaggedTensor.from_value_rowids(
            window_score, windows["example"], nrows=batch
        )
        chosen = tf.argmax(
            per_example.to_tensor(-float("inf")), axis=1, output_type=tf.int32
        )
        window = tf.cast(per_example.row_starts(), tf.int32) + chosen
        score = tf.gather(window_score, window)
        found = score > -float("inf")
        cell = tf.gather(best, window)
        shift = tf.gather(windows["first"] - windows["offset"], window)
        answer, begin, end = self._answer_text(
            context, windows, found, cell // width + shift, cell % width + shift
        )
        return {
            "answer": answer,
            "score": tf.where(found, tf.exp(score), 0.0),
            "start": tf.cast(byte_to_char(context, begin), tf.int32),
            "end": tf.cast(byte_to_char(context, end), tf.int32),
        }

    def _best_spans(self, logits, windows):
        """The best span of every window: ``(cell, score, T)``, the (W,)
        index ``start * T + end`` of the span inside the context with at
        most ``max_answer_length`` tokens, its (W,) log-probability (-inf
        for none), and the window width T."""
        log_probs = tf.nn.log_softmax(logits, axis=1)  # (W, T, 2)
        width = tf.shape(log_probs)[1]
        positions = tf.range(width)[None, :]
        offset = windows["offset"][:, None]
        inside = (positions >= offset) & (
            positions < offset + windows["length"][:, None]
        )  # (W, T)
        starts = positions[:, :, None]  # (1, T, 1)
        ends = positions[:, None, :]  # (1, 1, T)
        allowed = (
            inside[:, :, None]
            & inside[:, None, :]
            & (ends >= starts)
            & (ends - starts < self.max_answer_length)
        )  # (W, T, T)
        scores = log_probs[:, :, None, 0] + log_probs[:, None, :, 1]
        scores = tf.where(allowed, scores, -float("inf"))
        flat = tf.reshape(scores, [tf.shape(scores)[0], -1])
        best = tf.argmax(flat, axis=1, output_type=tf.int32)  # (W,)
        return best, tf.reduce_max(flat, axis=1), width

    def _answer_text(self, context, windows, found, first_token, last_token):
        """``(answer, begin, end)``: the text of the context tokens
        ``first_token`` to ``last_token`` of each example, without outer
        spaces, and its byte offsets (empty where nothing was ``found``)."""
        # An example without a span reads token 0 of an empty context row,
        # hence the guard.
        safe_first = tf.where(found, first_token, 0)
        safe_last = tf.where(found, last_token, 0)
        starts_bytes = windows["starts"].to_tensor(0)
        ends_bytes = windows["ends"].to_tensor(0)
        index = tf.range(tf.shape(context)[0])
        begin = tf.gather_nd(starts_bytes, tf.stack([index, safe_first], 1))
        end = tf.gather_nd(ends_bytes, tf.stack([index, safe_last], 1))
        begin = tf.where(found, begin, 0)
        end = tf.where(found, end, 0)
        raw = tf.strings.substr(context, begin, end - begin)
        # SentencePiece counts a word's leading space in its piece.
        stripped = tf.strings.regex_replace(raw, r"^\s+", "")
        begin += tf.cast(
            tf.strings.length(raw) - tf.strings.length(stripped), tf.int64
        )
        answer = tf.strings.regex_replace(stripped, r"\s+$", "")
        end = begin + tf.cast(tf.strings.length(answer), tf.int64)
        return answer, begin, end

    def check(self, examples):
        """Refuses an empty context or a question that leaves no room for
        the context, naming the example (1-based) and the fix.

        Raises:
            DataError: the first bad example.
        """
        if not examples:
            return
        columns = self._columns(list(examples))
        question_lengths = self.tokenizer.tokenize(columns[0]).row_lengths()
        limit = max_question_tokens(self.max_length)
        for number, (length, context) in enumerate(
            zip(question_lengths.numpy(), columns[1].numpy()), 1
        ):
            if length > limit:
                raise DataError(
                    f"question {number} has {length} tokens; with "
                    f"training.max_length={self.max_length} a question may "
                    f"have at most {limit}: shorten it."
                )
            if not context.strip():
                raise DataError(
                    f"example {number} has an empty context; give the text "
                    "the answer is in."
                )

    def predict(self, texts, batch_size=64, progress=False):
        """One ``{"answer", "score", "start", "end"}`` per (question,
        context) pair (tuples or dicts); see ``Predictor.predict``.

        Raises:
            DataError: an empty context, or a question too long for
                ``max_length``.
        """
        self.check(texts)
        return super().predict(texts, batch_size, progress)

    def parse_line(self, line):
        """``question<TAB>context`` as a (question, context) pair.

        Raises:
            DataError: the line has no tab.
        """
        question, tab, context = line.partition("\t")
        if not tab:
            raise DataError(
                f"expected question<TAB>context, got a line without a tab: "
                f"{line[:60]!r}"
            )
        return question, context

    def format(self, row):
        return f"{one_line(row['answer'])}\t{row['start']}\t{row['end']}"


__all__ = ["AnswerExtractor"]
