"""Small random models of every kind this package builds, with inputs:
the zoo that model-wide features (int8, LoRA) are checked on."""

import keras
import numpy as np

from keras_transformer.models import (
    Classifier,
    LanguageModel,
    MaskedLanguageModel,
    QuestionAnswerer,
    TextEncoder,
    TokenClassifier,
    Transformer,
    TransformerConfig,
)
from keras_transformer.special_tokens import BOS_ID, PAD_ID

VOCAB = 64


def config(**changes):
    """A one-layer random-model config (D 32, 4 heads), with ``changes``."""
    values = dict(
        vocab_size=VOCAB,
        num_layers=1,
        d_model=32,
        num_heads=4,
        ff_dim=64,
        dropout=0.0,
        max_length=32,
    )
    values.update(changes)
    return TransformerConfig(**values)


def tokens(shape, seed):
    """Random ids of ``shape``, the second row ending in padding."""
    tokens = np.random.default_rng(seed).integers(4, VOCAB, shape)
    tokens[1, -3:] = PAD_ID  # a padded row
    return tokens.astype("int32")


SEQ2SEQ = {"source_tokens": tokens((3, 9), 1), "target_tokens": None}
SEQ2SEQ["target_tokens"] = np.concatenate(
    [np.full((3, 1), BOS_ID, "int32"), tokens((3, 7), 2)], axis=1
)
ENCODER = {"tokens": tokens((3, 10), 3)}

MODELS = {
    "transformer_tied": (lambda: Transformer(config()), SEQ2SEQ),
    "transformer_untied": (
        lambda: Transformer(config(target_vocab_size=48, tie_embeddings=False)),
        {**SEQ2SEQ, "target_tokens": SEQ2SEQ["target_tokens"] % 48},
    ),
    "transformer_copy": (
        lambda: Transformer(config(copy_source=True, output_bias=True)),
        SEQ2SEQ,
    ),
    "language_model": (
        lambda: LanguageModel(config(norm_first=True, position="learned")),
        ENCODER,
    ),
    "classifier": (lambda: Classifier(config(), 3), ENCODER),
    "masked_lm": (
        lambda: MaskedLanguageModel(config(output_bias=True)),
        ENCODER,
    ),
    "token_classifier": (lambda: TokenClassifier(config(), 5), ENCODER),
    "question_answerer": (lambda: QuestionAnswerer(config()), ENCODER),
    "text_encoder": (lambda: TextEncoder(config()), ENCODER),
}


def build(name):
    """``(model, inputs)``: a new model of the kind ``name`` (seed 0)."""
    keras.utils.set_random_seed(0)
    make, inputs = MODELS[name]
    return make(), inputs
