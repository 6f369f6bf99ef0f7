"""Text in, text out: tokenization, batched decoding and detokenization."""

import numpy as np
import tensorflow as tf

from keras_transformer.data.pipeline import bucket_lengths
from keras_transformer.inference.decoding import compile_decoder, greedy_decode


class Translator:
    """Translates strings with a trained encoder-decoder model.

    Sources are tokenized, truncated to ``max_source_length``, batched, and
    padded to a bucket length (so the compiled decoder is traced once per
    bucket, not once per batch); the decoder generates at most source
    length + ``extra_length`` tokens (the paper's input length + 50).

    Args:
        model: a model from ``build_transformer``.
        source_tokenizer: tokenizer of the source language.
        target_tokenizer: tokenizer of the target language.
        max_source_length: longest source in tokens (with EOS).
        max_target_length: cap on generated tokens (learned positions stop
            at the model's ``max_length``).
        extra_length: tokens allowed beyond the source length.
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
        jit_compile=False,
    ):
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self.extra_length = extra_length
        self._decode = compile_decoder(greedy_decode, jit_compile=jit_compile)

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

    def translate_ids(self, texts):
        """Generated target ids (B, L) for a list of source strings."""
        sources = self.encode_sources(texts)
        limit = sources.shape[1] + self.extra_length
        # Each sentence may generate its own length + extra_length tokens,
        # whatever the batch it is in.
        lengths = (sources != 0).sum(1) + self.extra_length
        if self.max_target_length:
            limit = min(limit, self.max_target_length)
            lengths = np.minimum(lengths, self.max_target_length)
        return np.array(
            self._decode(
                self.model,
                sources,
                max_length=limit,
                lengths=lengths.astype("int32"),
            )
        )

    def translate(self, texts, batch_size=64):
        """Translations of ``texts`` (a list of str), in order."""
        outputs = []
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            ids = self.translate_ids(batch)
            decoded = self.target_tokenizer.detokenize(ids).numpy()
            outputs.extend(text.decode("utf-8") for text in decoded)
        return outputs
