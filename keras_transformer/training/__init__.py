"""The training recipe: schedule, losses, metrics, and the training loop."""

from keras_transformer.training.losses import (
    MaskedSparseCategoricalCrossentropy,
    token_cross_entropy,
)
from keras_transformer.training.metrics import MaskedAccuracy, Perplexity
from keras_transformer.training.schedule import (
    LinearSchedule,
    TransformerSchedule,
)

__all__ = [
    "LinearSchedule",
    "MaskedAccuracy",
    "MaskedSparseCategoricalCrossentropy",
    "Perplexity",
    "TransformerSchedule",
    "token_cross_entropy",
]
