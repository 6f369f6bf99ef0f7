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

__all__ += ["DecodingConfig", "Translator"]


def __getattr__(name):
    # Translator tokenizes with TensorFlow ops; importing it lazily keeps the
    # searches usable on backends without TensorFlow installed (JAX, torch).
    if name == "Translator":
        from keras_transformer.inference.translator import Translator

        return Translator
    if name == "DecodingConfig":
        from keras_transformer.inference.decoding_config import (
            DecodingConfig,
        )

        return DecodingConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
