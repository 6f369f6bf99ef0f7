"""Text in, translations out: one graph for in-process use and for export."""

import numpy as np
import tensorflow as tf
from keras import ops

from keras_transformer.backend import eager_predictors
from keras_transformer.data.pipeline import pad_to_bucket
from keras_transformer.inference.decoding_config import DecodingConfig
from keras_transformer.inference.predictor import (
    Predictor,
    one_line,
    search_for,
    truncated_ids,
)
from keras_transformer.inference.steppers import Seq2SeqStepper


def decode_limit(max_source_length, extra_length, max_target_length=None):
    """L, the most tokens any sentence may generate: the longest source +
    ``extra_length``, capped by ``max_target_length`` (learned positions)."""
    limit = max_source_length + extra_length
    return min(limit, max_target_length) if max_target_length else limit


class Translator(Predictor):
    """Translates strings with a trained encoder-decoder model.

    ``serve`` is one TensorFlow graph (exported as the SavedModel's
    ``serving_default``): sources are tokenized and truncated to
    ``max_source_length`` tokens (the first ``max_source_length - 1`` and
    EOS), searched and detokenized. Each sentence may generate its own
    length + ``extra_length`` tokens (the paper's input length + 50)
    whatever batch it is in, so a sentence translates the same alone or
    batched. An empty or whitespace-only source translates to ``""`` with
    score 0.

    Args:
        model: a ``models.Transformer`` (or a model with its attributes).
        source_tokenizer: tokenizer of the source language.
        target_tokenizer: tokenizer of the target language.
        max_source_length: longest source in tokens (with EOS).
        max_target_length: cap on generated tokens (learned positions stop
            at the model's ``max_length``).
        extra_length: tokens allowed beyond the source length.
        decoding: a ``DecodingConfig`` (default: beam 4, alpha 0.6).
        jit_compile: compile the search with XLA. Sources are then padded
            to the training pipeline's bucket lengths
            (``data.pipeline.pad_to_bucket``), so XLA compiles one program
            per (batch size, bucket) at its first use rather than one per
            source length (batch sizes are at most ``serve_batch_size``).
            TensorFlow Serving runs such a SavedModel on a CPU only with
            ``--xla_cpu_compilation_enabled=true``.

    Call arguments (``serve``):
        text: (B,) ``tf.string``.

    Returns:
        ``{"translation": (B,) tf.string, "score": (B,) float32}``, the
        score being the length-normalised log-probability.

    Example:

    >>> translator = Translator(model, tokenizer, tokenizer, 128)
    >>> translator.translate(["5 March 2021"])
    ['2021-03-05']
    """

    #: The key of the output text in ``serve``'s outputs and in the rows of
    #: ``predict``.
    output_key = "translation"

    def __init__(
        self,
        model,
        source_tokenizer,
        target_tokenizer,
        max_source_length,
        max_target_length=None,
        extra_length=50,
        decoding=None,
        jit_compile=False,
    ):
        super().__init__(name="translator")
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self.extra_length = extra_length
        self.decoding = decoding or DecodingConfig()
        self.limit = decode_limit(
            max_source_length, extra_length, max_target_length
        )
        self.jit_compile = jit_compile
        function, kwargs = search_for(self, self.decoding)

        def search(sources, lengths):
            return function(
                model, sources, max_length=self.limit, lengths=lengths, **kwargs
            )

        self._search = (
            tf.function(search, jit_compile=True) if jit_compile else search
        )

    def prepare(self, text):
        """(B,) source strings as the model reads them, in the graph: the
        text as it is (subclasses adapt it, e.g. ``Summarizer``)."""
        return text

    def _serve(self, text):
        sources, kept = truncated_ids(
            self.source_tokenizer, self.prepare(text), self.max_source_length
        )
        if self.jit_compile:
            sources = pad_to_bucket(sources, self.max_source_length)
        lengths = kept + self.extra_length
        if self.max_target_length:
            lengths = tf.minimum(lengths, self.max_target_length)
        tokens, scores = self._search(sources, lengths)
        blank = kept <= 1  # nothing but EOS
        tokens = tf.where(blank[:, None], tf.zeros_like(tokens), tokens)
        translation = self.target_tokenizer.detokenize(tokens)
        return {
            self.output_key: tf.where(blank, "", translation),
            "score": tf.where(blank, 0.0, tf.cast(scores, tf.float32)),
        }

    def format(self, row):
        return one_line(row[self.output_key])

    def translate_with_scores(self, texts, batch_size=64):
        """``(translations, scores)`` of ``texts``, in order."""
        rows = self.predict(texts, batch_size)
        return [r[self.output_key] for r in rows], [r["score"] for r in rows]

    def translate(self, texts, batch_size=64):
        """Translations of ``texts`` (a list of str), in order."""
        return self.translate_with_scores(texts, batch_size)[0]

    def encode_sources(self, texts):
        """(B, S) int32 source ids as ``serve`` reads them (S <= max)."""
        ids, _ = truncated_ids(
            self.source_tokenizer,
            self.prepare(tf.constant(texts, tf.string)),
            self.max_source_length,
        )
        return ids.numpy()

    def _decode_one(self, text):
        """Searches one text's output, then runs the decoder on it at once.

        Returns the (1, S) source ids, the source and output pieces, the
        encoder output, the decoder states and the attention scores of
        every decoder layer.
        """
        sources = self.encode_sources([text])
        source_length = int((sources[0] != 0).sum())
        sources = sources[:, :source_length]
        lengths = np.minimum(
            source_length + self.extra_length,
            self.max_target_length or self.limit,
        )
        with eager_predictors():  # under JAX: the search runs eagerly
            tokens, _ = self._search(sources, np.array([lengths], "int32"))
        output = [int(t) for t in np.array(tokens)[0] if t]
        bos = self.target_tokenizer.bos_id
        inputs = np.array([[bos] + list(output)], "int32")
        stepper = Seq2SeqStepper(self.model)
        memory = stepper.encode(sources)
        states, scores = stepper.decoder(
            stepper.target_embedding(inputs[:, :-1]),
            memory,
            return_attention_scores=True,
        )
        pieces = self.source_tokenizer.id_to_piece(sources[0])
        output_pieces = self.target_tokenizer.id_to_piece(output)
        return dict(
            sources=sources,
            source_pieces=[p.decode("utf-8") for p in pieces.numpy()],
            output_pieces=[p.decode("utf-8") for p in output_pieces.numpy()],
            memory=memory,
            states=states,
            scores=scores,
        )

    def cross_attention(self, text, layer=-1):
        """Where each output piece looked in the source, for one sentence.

        Args:
            text: the source sentence.
            layer: the decoder layer (default: the last).

        Returns:
            ``(source_pieces, output_pieces, weights)``: the S source pieces
            (EOS included), the T output pieces (EOS included) and a (T, S)
            float array: row t holds the cross-attention weights, averaged
            over heads, of the step that produced output piece t.
        """
        run = self._decode_one(text)
        weights = ops.convert_to_numpy(run["scores"][layer]["cross_attention"])
        return (
            run["source_pieces"],
            run["output_pieces"],
            weights[0].mean(axis=0),
        )

    def copy_attention(self, text):
        """What each output piece copied from the source, for one text.

        Only for models with a ``PointerGenerator`` (``copy_source``).

        Args:
            text: the source text.

        Returns:
            ``(source_pieces, output_pieces, weights, copied)``: the S
            source pieces (EOS included), the T output pieces (EOS
            included), a (T, S) float array whose row t is the copy
            attention of the step that produced piece t, and a (T,) float
            array: the share ``1 - g`` of that step's distribution that
            copies (0: all from the vocabulary, 1: all copied).
        """
        pointer = getattr(self.model, "pointer_generator", None)
        if pointer is None:
            raise ValueError(
                "copy_attention needs a model that copies source tokens; "
                "this one was built without model.copy_source: true "
                "(cross_attention shows where any model looked)."
            )
        run = self._decode_one(text)
        weights, gate = pointer.copy_attention(
            run["states"], run["memory"], run["sources"]
        )
        return (
            run["source_pieces"],
            run["output_pieces"],
            ops.convert_to_numpy(weights)[0],
            1.0 - ops.convert_to_numpy(gate)[0, :, 0],
        )
