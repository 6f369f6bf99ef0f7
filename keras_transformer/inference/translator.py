"""Text in, text out: tokenization, batched decoding and detokenization."""

import numpy as np
import tensorflow as tf
from keras import ops

from keras_transformer.data.pipeline import bucket_lengths
from keras_transformer.inference.decoding_config import DecodingConfig
from keras_transformer.inference.steppers import Seq2SeqStepper


def decode_limit(max_source_length, extra_length, max_target_length=None):
    """L, the most tokens any sentence may generate: the longest source +
    ``extra_length``, capped by ``max_target_length`` (learned positions)."""
    limit = max_source_length + extra_length
    return min(limit, max_target_length) if max_target_length else limit


class Translator:
    """Translates strings with a trained encoder-decoder model.

    Sources are tokenized, truncated to ``max_source_length`` tokens (the
    first ``max_source_length - 1`` and EOS), batched and padded to a bucket
    length; the search is one ``tf.function`` traced once for all batch
    sizes and lengths. Each sentence may generate its own length +
    ``extra_length`` tokens (the paper's input length + 50) whatever batch
    it is in, so a sentence translates the same alone or batched. An empty or
    whitespace-only source translates to ``""`` with score 0.

    Args:
        model: a model from ``build_transformer``.
        source_tokenizer: tokenizer of the source language.
        target_tokenizer: tokenizer of the target language.
        max_source_length: longest source in tokens (with EOS).
        max_target_length: cap on generated tokens (learned positions stop
            at the model's ``max_length``).
        extra_length: tokens allowed beyond the source length.
        decoding: a ``DecodingConfig`` (default: beam 4, alpha 0.6).
        jit_compile: compile the decoding loop with XLA.

    Example:

    >>> translator = Translator(model, tokenizer, tokenizer, 128)
    >>> translator.translate(["5 March 2021"])
    ['2021-03-05']
    """

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
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self.extra_length = extra_length
        self.decoding = decoding or DecodingConfig()
        function, kwargs = self.decoding.search()
        self.limit = decode_limit(
            max_source_length, extra_length, max_target_length
        )

        def decode(sources, lengths):
            return function(
                model, sources, max_length=self.limit, lengths=lengths, **kwargs
            )

        # One trace for every batch size and source length.
        self._decode = tf.function(
            decode,
            input_signature=[
                tf.TensorSpec([None, None], tf.int32, name="sources"),
                tf.TensorSpec([None], tf.int32, name="lengths"),
            ],
            jit_compile=jit_compile,
        )

    def _bucket(self, length):
        for bucket in bucket_lengths(self.max_source_length):
            if length <= bucket:
                return bucket
        return self.max_source_length

    def encode_sources(self, texts):
        """(B, S) int32 source ids, EOS-terminated, padded to a bucket."""
        ids = self.source_tokenizer.tokenize(
            tf.constant(texts, tf.string), add_eos=True
        )
        ids = ids.to_tensor().numpy()
        if ids.shape[1] > self.max_source_length:
            # Keep the first max_source_length - 1 tokens and the EOS.
            lengths = (ids != 0).sum(1)
            kept = ids[:, : self.max_source_length].copy()
            long = lengths > self.max_source_length
            kept[long, -1] = self.source_tokenizer.eos_id
            ids = kept
        width = self._bucket(max(ids.shape[1], 1))
        return np.pad(ids, ((0, 0), (0, width - ids.shape[1])))

    def sentence_limits(self, sources):
        """(B,) int32: each sentence's own limit, its length + extra length.

        L (``self.limit``) is the same for every batch, so the compiled
        search is traced once; each sentence still stops at its own limit.
        """
        lengths = (sources != 0).sum(1) + self.extra_length
        if self.max_target_length:
            lengths = np.minimum(lengths, self.max_target_length)
        return lengths.astype("int32")

    def translate_ids(self, texts):
        """``(ids, scores)``: (B, L) target ids and (B,) scores."""
        sources = self.encode_sources(texts)
        lengths = self.sentence_limits(sources)
        ids, scores = self._decode(sources.astype("int32"), lengths)
        ids, scores = np.array(ids), np.array(scores)
        blank = (sources != 0).sum(1) <= 1  # only EOS: nothing to translate
        ids[blank] = 0
        scores[blank] = 0.0
        return ids, scores

    def translate_with_scores(self, texts, batch_size=64):
        """``(translations, scores)`` of ``texts``, in order."""
        outputs, all_scores = [], []
        for begin in range(0, len(texts), batch_size):
            batch = list(texts[begin : begin + batch_size])
            ids, scores = self.translate_ids(batch)
            decoded = self.target_tokenizer.detokenize(ids).numpy()
            outputs.extend(text.decode("utf-8") for text in decoded)
            all_scores.extend(float(score) for score in scores)
        return outputs, all_scores

    def translate(self, texts, batch_size=64):
        """Translations of ``texts`` (a list of str), in order."""
        return self.translate_with_scores(texts, batch_size)[0]

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
        sources = self.encode_sources([text])
        ids, _ = self.translate_ids([text])
        source_length = int((sources[0] != 0).sum())
        output = [int(t) for t in ids[0] if t]
        inputs = np.array([[self.target_tokenizer.bos_id] + output], "int32")
        stepper = Seq2SeqStepper(self.model)
        memory = stepper.encode(sources[:, :source_length])
        _, scores = stepper.decoder(
            stepper.target_embedding(inputs[:, :-1]),
            memory,
            return_attention_scores=True,
        )
        weights = ops.convert_to_numpy(scores[layer]["cross_attention"])
        pieces = self.source_tokenizer.id_to_piece(sources[0, :source_length])
        output_pieces = self.target_tokenizer.id_to_piece(output)
        return (
            [p.decode("utf-8") for p in pieces.numpy()],
            [p.decode("utf-8") for p in output_pieces.numpy()],
            weights[0].mean(axis=0),
        )
