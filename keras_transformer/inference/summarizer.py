"""Documents in, summaries out: a ``Translator`` that reads documents."""

from keras_transformer.data.summaries import join_lines, join_lines_text
from keras_transformer.inference.translator import Translator


class Summarizer(Translator):
    """Summarises documents with a trained encoder-decoder model.

    ``serve`` is one graph, as for ``Translator``: a document's line breaks
    become ``" | "`` (``data.summaries.join_lines``, as in training), it is
    truncated to its first ``max_source_length`` tokens (the start is
    kept), searched (with every ``DecodingConfig`` option, e.g.
    ``min_length`` and ``no_repeat_ngram_size``) and detokenized. A summary
    has at most ``max_summary_length`` tokens (EOS included).

    Args:
        model: a ``models.Transformer``.
        source_tokenizer, target_tokenizer: its tokenizers.
        max_source_length: longest document in tokens (with EOS).
        max_summary_length: most tokens of a summary.
        extra_length: tokens allowed beyond the document's length (below
            ``max_summary_length`` it bounds the summaries of short
            documents).
        decoding: a ``DecodingConfig``.
        jit_compile: compile the search with XLA.

    Call arguments (``serve``):
        text: (B,) ``tf.string`` documents.

    Returns:
        ``{"summary": (B,) tf.string, "score": (B,) float32}``.

    Example:

    >>> summarizer = Summarizer(model, tokenizer, tokenizer, 512, 64)
    >>> summarizer.predict(["Ann: late again\\nBob: ok"])[0]["summary"]
    'Ann will be late.'
    """

    def __init__(
        self,
        model,
        source_tokenizer,
        target_tokenizer,
        max_source_length,
        max_summary_length,
        extra_length=50,
        decoding=None,
        jit_compile=False,
    ):
        super().__init__(
            model,
            source_tokenizer,
            target_tokenizer,
            max_source_length,
            max_target_length=max_summary_length,
            extra_length=extra_length,
            decoding=decoding,
            jit_compile=jit_compile,
        )
        self.max_summary_length = max_summary_length

    def _serve(self, text):
        outputs = super()._serve(join_lines(text))
        return {"summary": outputs["translation"], "score": outputs["score"]}

    def format(self, row):
        return row["summary"]

    def encode_sources(self, texts):
        """(B, S) int32 document ids as ``serve`` reads them."""
        return super().encode_sources([join_lines_text(text) for text in texts])

    def summarize(self, texts, batch_size=64):
        """Summaries of ``texts`` (a list of str), in order."""
        return [row["summary"] for row in self.predict(texts, batch_size)]

    def translate_with_scores(self, texts, batch_size=64):
        rows = self.predict(texts, batch_size)
        return [r["summary"] for r in rows], [r["score"] for r in rows]


__all__ = ["Summarizer"]
