"""The memory check before training: a lower bound, and its refusals."""

import pytest

from keras_transformer.errors import ConfigError
from keras_transformer.experiment import experiment_from_dict
from keras_transformer.models import (
    Classifier,
    LanguageModel,
    Transformer,
    TransformerConfig,
)
from keras_transformer.training.memory import check_fits, parameter_floor

CONFIG = dict(vocab_size=50, num_layers=2, d_model=16, num_heads=2, ff_dim=40)


@pytest.mark.parametrize(
    "build",
    [
        Transformer,
        LanguageModel,
        lambda config: Classifier(config, num_classes=2),
    ],
)
def test_the_parameter_floor_is_below_every_models_count(build):
    config = TransformerConfig.small(**CONFIG)
    counted = build(config).count_params()
    floor = parameter_floor(config)
    # A lower bound, and a tight one: the layers' biases and norms, and the
    # other stack of an encoder-decoder, make the difference.
    assert floor <= counted < 3 * floor


def _experiment(**model):
    return experiment_from_dict(
        {
            "task": "translation",
            "tokenizer": {"vocab_size": 8000},
            "model": model,
        }
    )


def test_a_model_that_cannot_fit_is_refused_naming_its_settings():
    with pytest.raises(ConfigError) as raised:
        check_fits(_experiment(d_model=65536), available=24 * 2**30)
    message = str(raised.value)
    assert "model.d_model=65536" in message
    assert "this machine has 24.0 GiB" in message
    assert "Lower model.d_model, model.ff_dim or model.num_layers" in message
    with pytest.raises(ConfigError, match="Lower training.batch_tokens"):
        check_fits(
            experiment_from_dict({"training": {"batch_tokens": 10**9}}),
            available=24 * 2**30,
        )


def test_models_that_fit_and_accelerators_are_let_through():
    check_fits(_experiment(), available=24 * 2**30)  # the small preset
    check_fits(_experiment(d_model=65536), device="gpu")  # not this memory
