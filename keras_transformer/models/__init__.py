"""Transformer models built with the Keras functional API."""

from keras_transformer.models.classifier import build_classifier
from keras_transformer.models.config import TransformerConfig
from keras_transformer.models.language_model import build_language_model
from keras_transformer.models.transformer import (
    TransformerParts,
    build_transformer,
    transformer_parts,
)

__all__ = [
    "TransformerConfig",
    "TransformerParts",
    "build_classifier",
    "build_language_model",
    "build_transformer",
    "transformer_parts",
]
