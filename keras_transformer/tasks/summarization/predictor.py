"""Documents in, summaries out: a ``Translator`` that reads documents."""

from keras_transformer.inference.translator import Translator
from keras_transformer.tasks.summarization.summaries import join_lines


class Summarizer(Translator):
    """Summarises documents with a trained encoder-decoder model.

    ``serve`` is one graph, as for ``Translator``: a document's line breaks
    become ``" | "`` (``summaries.join_lines``, as in training), it is
    truncated to its first ``max_source_length`` tokens (the start is
    kept), searched (with every ``DecodingConfig`` option, e.g.
    ``min_length`` and ``no_repeat_ngram_size``) and detokenized. A summary
    has at most ``max_target_length`` tokens (EOS included).

    Args:
        max_target_length: the most tokens of a summary; the other
            arguments are those of ``Translator``.

    Call arguments (``serve``):
        text: (B,) ``tf.string`` documents.

    Returns:
        ``{"summary": (B,) tf.string, "score": (B,) float32}``.

    Example:

    >>> summarizer = Summarizer(model, tokenizer, tokenizer, 512, 64)
    >>> summarizer.predict(["Ann: late again\\nBob: ok"])[0]["summary"]
    'Ann will be late.'
    """

    output_key = "summary"

    def prepare(self, text):
        return join_lines(text)

    def summarize(self, texts, batch_size=64):
        """Summaries of ``texts`` (a list of str), in order."""
        return self.translate(texts, batch_size)


__all__ = ["Summarizer"]
