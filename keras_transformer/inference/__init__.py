"""Decoding: greedy search, beam search and sampling over a key/value cache,
and the predictors (text in, outputs out) that ``predict`` and ``export``
share.

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
    "Summarizer": "summarizer",
    "LabelPredictor": "label_predictor",
    "TextGenerator": "text_generator",
    "MaskFiller": "mask_filler",
    "AnswerExtractor": "answer_extractor",
    "EntityTagger": "entity_tagger",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
    return getattr(module, name)


def __dir__():
    return __all__
