"""Decoding: greedy (and, later, beam search and sampling) over a cache."""

from keras_transformer.inference.decoding import (
    Seq2SeqStepper,
    compile_decoder,
    greedy_decode,
    greedy_decode_uncached,
)

__all__ = [
    "Seq2SeqStepper",
    "compile_decoder",
    "greedy_decode",
    "greedy_decode_uncached",
]

from keras_transformer.inference.translator import Translator  # noqa: E402

__all__ += ["Translator"]
