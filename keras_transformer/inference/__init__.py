"""Decoding: greedy search, beam search and sampling over a key/value cache.

Every search takes a translation model (source ids in) or a language model
(prompt ids in) and returns ``(tokens, scores)``.
"""

from keras_transformer.inference.beam_search import beam_search
from keras_transformer.inference.decoding import (
    compile_decoder,
    greedy_decode,
    greedy_decode_uncached,
    length_penalty,
)
from keras_transformer.inference.sampling import sample, sample_tokens
from keras_transformer.inference.steppers import (
    LanguageModelStepper,
    Seq2SeqStepper,
    stepper_for,
)

__all__ = [
    "LanguageModelStepper",
    "Seq2SeqStepper",
    "beam_search",
    "compile_decoder",
    "greedy_decode",
    "greedy_decode_uncached",
    "length_penalty",
    "sample",
    "sample_tokens",
    "stepper_for",
]

from keras_transformer.inference.translator import Translator  # noqa: E402

__all__ += ["Translator"]
