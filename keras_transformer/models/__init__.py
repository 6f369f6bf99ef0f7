"""Transformer models: functional ``keras.Model`` classes with their parts
as attributes."""

from keras_transformer.models.base import TransformerModel
from keras_transformer.models.classifier import Classifier, build_classifier
from keras_transformer.models.config import TransformerConfig
from keras_transformer.models.language_model import (
    LanguageModel,
    build_language_model,
)
from keras_transformer.models.masked_lm import (
    MaskedLanguageModel,
    build_masked_language_model,
)
from keras_transformer.models.question_answerer import (
    QuestionAnswerer,
    build_question_answerer,
)
from keras_transformer.models.text_encoder import TextEncoder
from keras_transformer.models.token_classifier import TokenClassifier
from keras_transformer.models.transformer import Transformer, build_transformer

__all__ = [
    "Classifier",
    "LanguageModel",
    "MaskedLanguageModel",
    "QuestionAnswerer",
    "TextEncoder",
    "TokenClassifier",
    "Transformer",
    "TransformerConfig",
    "TransformerModel",
    "build_classifier",
    "build_language_model",
    "build_masked_language_model",
    "build_question_answerer",
    "build_transformer",
]
