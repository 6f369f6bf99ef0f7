"""Models shared by the decoding tests."""

import numpy as np
import pytest
from keras import ops

from keras_transformer.models import TransformerConfig, build_transformer
from keras_transformer.training.losses import (
    MaskedSparseCategoricalCrossentropy,
)


def reversal_data(num_examples, seed, vocab_size=16, max_len=7):
    """Sources of random tokens 4.. and their reversals, EOS-terminated."""
    rng = np.random.default_rng(seed)
    sources = np.zeros((num_examples, max_len + 1), "int32")
    targets = np.zeros((num_examples, max_len + 2), "int32")
    for row in range(num_examples):
        length = rng.integers(2, max_len + 1)
        tokens = rng.integers(4, vocab_size, length)
        sources[row, :length] = tokens
        sources[row, length] = 3
        targets[row, 0] = 2
        targets[row, 1 : length + 1] = tokens[::-1]
        targets[row, length + 1] = 3
    return sources, targets


@pytest.fixture(scope="session")
def trained_model():
    """A small Transformer trained briefly to reverse token sequences.

    Good enough that its outputs are mostly right and sometimes not, which
    is what comparisons between searches need.
    """
    import keras

    keras.utils.set_random_seed(7)
    model = build_transformer(
        TransformerConfig.small(
            vocab_size=16,
            num_layers=2,
            d_model=32,
            num_heads=4,
            ff_dim=64,
            dropout=0.0,
            max_length=32,
        )
    )
    sources, targets = reversal_data(2048, seed=0)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=MaskedSparseCategoricalCrossentropy(label_smoothing=0.0),
    )
    model.fit(
        {"source_tokens": sources, "target_tokens": targets[:, :-1]},
        targets[:, 1:],
        batch_size=64,
        epochs=3,
        verbose=0,
    )
    return model


class MarkovStepper:
    """A toy stepper: next-token log-probabilities from a table.

    ``table[last_token]`` (V,) are the logits after ``last_token``; the
    state is a dummy (B, 1) tensor, so ``repeat``/``reorder`` are exercised.
    """

    def __init__(self, table):
        self.table = ops.convert_to_tensor(np.asarray(table, "float32"))

    def prompt(self, inputs, bos_id):
        batch_size = ops.shape(inputs)[0]
        return ops.full((batch_size, 1), bos_id, dtype="int32")

    def start(self, inputs, batch_size, max_length):
        rows = ops.arange(batch_size, dtype="float32")
        return {"rows": ops.expand_dims(rows, 1)}

    def step(self, tokens, state, index):
        return ops.take(self.table, tokens[:, 0], axis=0), state

    def repeat(self, state, k):
        return {"rows": ops.repeat(state["rows"], k, axis=0)}

    def reorder(self, state, indices):
        return {"rows": ops.take(state["rows"], indices, axis=0)}
