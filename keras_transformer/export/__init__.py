"""SavedModel export for serving: text in, text (or labels) out."""

from keras_transformer.export.saved_model import (
    ClassifierServer,
    LanguageModelServer,
    TranslationServer,
    export_run,
)

__all__ = [
    "ClassifierServer",
    "LanguageModelServer",
    "TranslationServer",
    "export_run",
]
