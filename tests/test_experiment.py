import pathlib

import pytest
import yaml

from keras_transformer.experiment import (
    ConfigError,
    experiment_from_dict,
    load_experiment,
    save_experiment,
    set_override,
)

CONFIGS = sorted(
    (pathlib.Path(__file__).resolve().parents[1] / "configs").glob("*.yaml")
)


def test_there_are_configs():
    names = {path.stem for path in CONFIGS}
    assert "demo" in names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_config_loads(path):
    experiment = load_experiment(str(path))
    assert experiment.task in (
        "translation",
        "classification",
        "language_modeling",
    )


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_key_is_commented(path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        assert "#" in line, f"{path.name}:{number} has no comment: {line!r}"


def test_unknown_keys_name_the_key_and_the_choices():
    with pytest.raises(ConfigError, match=r"training\.stepz.*valid keys"):
        experiment_from_dict({"training": {"stepz": 3}})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) trainig"):
        experiment_from_dict({"trainig": {}})
    with pytest.raises(ConfigError, match=r"model\.d_modle"):
        experiment_from_dict({"model": {"d_modle": 3}})


def test_wrong_types_and_choices():
    with pytest.raises(ConfigError, match=r"training\.steps: expected an int"):
        experiment_from_dict({"training": {"steps": "many"}})
    with pytest.raises(ConfigError, match="'mixed_float16'"):
        experiment_from_dict({"training": {"mixed_precision": "fp8"}})
    with pytest.raises(ConfigError, match="task"):
        experiment_from_dict({"task": "summarization"})
    with pytest.raises(ConfigError, match="preset"):
        experiment_from_dict({"model": {"preset": "huge"}})
    with pytest.raises(ConfigError, match="d_model"):
        experiment_from_dict({"model": {"d_model": 100, "num_heads": 3}})


def test_overrides(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text("training:\n  steps: 10\n")
    experiment = load_experiment(
        str(path),
        [
            "training.steps=20",
            "model.d_model=64",
            "data.task=reverse",
            "training.clipnorm=1.0",
        ],
    )
    assert experiment.training.steps == 20
    assert experiment.model["d_model"] == 64
    assert experiment.data.task == "reverse"
    assert experiment.training.clipnorm == 1.0
    with pytest.raises(ConfigError, match="key=value"):
        set_override({}, "training.steps")


def test_save_and_reload(tmp_path):
    experiment = experiment_from_dict({"training": {"steps": 7}})
    save_experiment(experiment, tmp_path / "config.yaml")
    again = experiment_from_dict(
        yaml.safe_load((tmp_path / "config.yaml").read_text())
    )
    assert again == experiment


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_experiment("nope.yaml")


def test_evaluation_decodes_with_the_papers_beam_search_by_default():
    from keras_transformer.experiment import EvaluationConfig

    decoding = EvaluationConfig().decoding()
    assert (decoding.strategy, decoding.beam_size) == ("beam", 4)
    assert decoding.length_penalty == 0.6
    assert decoding.describe() == "beam4 alpha=0.6"
    greedy = EvaluationConfig().decoding(strategy="greedy", seed=None)
    assert greedy.strategy == "greedy" and greedy.beam_size == 4
