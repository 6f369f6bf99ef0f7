"""Decoding: greedy search, beam search and sampling over a key/value cache,
the ``Predictor`` base (text in, outputs out) that ``predict`` and
``export`` share, and the ``Translator`` of sequence-to-sequence tasks.
Each task's own predictor is in its package (``tasks/<name>/predictor.py``).

Every search takes a translation model (source ids in) or a language model
(prompt ids in) and returns ``(tokens, scores)``. The names below are
imported when first used: the searches need only Keras (any backend), the
predictors also TensorFlow (for tokenization), and ``DecodingConfig``
nothing.
"""

import importlib

_EXPORTS = {
    "beam_search": "beam",
    "compile_decoder": "decoding",
    "greedy_decode": "decoding",
    "greedy_decode_uncached": "decoding",
    "length_penalty": "decoding",
    "sample": "sampling",
    "sample_tokens": "sampling",
    "LanguageModelStepper": "steppers",
    "Seq2SeqStepper": "steppers",
    "stepper_for": "steppers",
    "DecodingConfig": "decoding_config",
    "Predictor": "predictor",
    "Translator": "translator",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
    return getattr(module, name)


def __dir__():
    return __all__
