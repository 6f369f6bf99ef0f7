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
from keras_transformer.train import make_optimizer

ROOT = pathlib.Path(__file__).resolve().parents[1]

CONFIGS = sorted(
    (pathlib.Path(__file__).resolve().parents[1] / "configs").glob("*.yaml")
)


def test_there_are_configs():
    names = {path.stem for path in CONFIGS}
    assert "demo" in names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_config_loads(path, monkeypatch, tmp_path):
    from keras_transformer.tasks import task_names

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    experiment = load_experiment(str(path))
    assert experiment.task in task_names()
    assert "$" not in (experiment.data.path or "")
    if "${DATA_DIR}" in _data_path(path):
        assert experiment.data.path.startswith(f"{tmp_path}/")


def _data_path(path):
    return str((yaml.safe_load(path.read_text()).get("data") or {}).get("path"))


def test_a_path_with_an_unset_variable_is_refused(monkeypatch):
    monkeypatch.delenv("DATA_DIR", raising=False)
    with pytest.raises(
        ConfigError,
        match=r"data.path: .*\$DATA_DIR, which is not set; run export "
        "DATA_DIR=",
    ):
        experiment_from_dict({"data": {"path": "${DATA_DIR}/x/{split}"}})
    monkeypatch.setenv("DATA_DIR", "/corpora")
    experiment = experiment_from_dict({"data": {"path": "$DATA_DIR/x"}})
    assert experiment.data.path == "/corpora/x"


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


def test_a_number_without_a_dot_is_a_number_in_every_section(tmp_path):
    # YAML 1.1 reads 1e-12 as a string.
    path = tmp_path / "e.yaml"
    path.write_text("model:\n  layer_norm_epsilon: 1e-12\n")
    experiment = load_experiment(str(path), ["model.dropout=2e-1"])
    config = experiment.model_config(vocab_size=8)
    assert config.layer_norm_epsilon == 1e-12 and config.dropout == 0.2
    with pytest.raises(ConfigError, match="model.dropout: expected a number"):
        experiment_from_dict({"model": {"dropout": "a lot"}})


def test_wrong_types_and_choices():
    with pytest.raises(ConfigError, match=r"training\.steps: expected an int"):
        experiment_from_dict({"training": {"steps": "many"}})
    with pytest.raises(ConfigError, match="'mixed_float16'"):
        experiment_from_dict({"training": {"mixed_precision": "fp8"}})
    with pytest.raises(ConfigError, match="task"):
        experiment_from_dict({"task": "speech_recognition"})
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


@pytest.mark.parametrize(
    "section, key, value, wanted",
    [
        ("training", "steps", 0, ">= 1"),
        ("training", "steps", -5, ">= 1"),
        ("training", "steps_per_epoch", 0, ">= 1"),
        ("training", "max_length", 1, ">= 2"),
        ("training", "warmup_steps", 0, ">= 1"),
        ("training", "cooldown_fraction", -0.1, ">= 0.0"),
        ("training", "cooldown_fraction", 1.5, "<= 1.0"),
        ("training", "learning_rate", 0.0, "> 0.0"),
        ("training", "label_smoothing", 1.0, "< 1.0"),
        ("training", "clipnorm", -1.0, "> 0.0"),
        ("training", "epsilon", float("nan"), "finite"),
        ("evaluation", "max_examples", 0, ">= 1"),
        ("evaluation", "batch_size", 0, ">= 1"),
        ("data", "train_size", 0, ">= 1"),
        ("tokenizer", "character_coverage", 0.0, "> 0.0"),
    ],
)
def test_out_of_range_settings_are_refused_before_training(
    section, key, value, wanted
):
    with pytest.raises(ConfigError) as info:
        experiment_from_dict({section: {key: value}})
    message = str(info.value)
    assert f"{section}.{key}" in message and wanted in message


def test_a_cooldown_needs_the_transformer_schedule():
    with pytest.raises(ConfigError, match="schedule: transformer"):
        experiment_from_dict(
            {"training": {"schedule": "constant", "cooldown_fraction": 0.2}}
        )


def test_weight_decay_needs_adamw():
    with pytest.raises(ConfigError) as raised:
        experiment_from_dict({"training": {"weight_decay": 0.01}})
    assert str(raised.value) == (
        "training.weight_decay=0.01 is decoupled weight decay, which only "
        "adamw applies: set training.optimizer: adamw, or weight_decay: 0."
    )
    decayed = {"optimizer": "adamw", "weight_decay": 0.01}
    experiment_from_dict({"training": decayed})  # accepted


@pytest.mark.parametrize(
    "steps, fraction, cooldown",
    [
        (3800, 0.2, 760),
        (60, 0.2, 12),
        (3, 0.1, 1),
        (100, 0.0, 0),
        (50, 1.0, 50),
    ],
)
def test_the_cooldown_is_a_share_of_the_steps(steps, fraction, cooldown):
    experiment = experiment_from_dict(
        {"training": {"steps": steps, "cooldown_fraction": fraction}}
    )
    assert experiment.training.cooldown == cooldown
    optimizer = make_optimizer(experiment, d_model=16)
    schedule = optimizer.get_config()["learning_rate"]["config"]
    assert schedule["cooldown_steps"] == cooldown
    assert schedule["total_steps"] == steps


def test_numbers_yaml_reads_as_strings_are_accepted(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text("training:\n  epsilon: 1e-9\n  learning_rate: 5e-4\n")
    experiment = load_experiment(str(path))
    assert experiment.training.epsilon == 1e-9
    assert experiment.training.learning_rate == 5e-4
    with pytest.raises(ConfigError, match="expected a number, got 'fast'"):
        experiment_from_dict({"training": {"learning_rate": "fast"}})


@pytest.mark.parametrize(
    "content, message",
    [
        (b"training:\n  steps: [1\n", r"e\.yaml:3:1: invalid YAML"),
        (b"training:\n\tsteps: 1\n", r"e\.yaml:2:1: invalid YAML"),
        (b"task: translation\n# caf\xe9\n", r"e\.yaml is not UTF-8.*0xe9"),
        (b"- 1\n- 2\n", r"e\.yaml: expected a mapping of sections"),
    ],
)
def test_unreadable_files_name_the_file_and_the_place(
    tmp_path, content, message
):
    path = tmp_path / "e.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        load_experiment(str(path))


def test_a_directory_and_bad_overrides_are_named(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_experiment(str(tmp_path))
    path = tmp_path / "e.yaml"
    path.write_text("training:\n  steps: 10\n")
    with pytest.raises(ConfigError, match=r"--set training\.steps=\[1.*YAML"):
        load_experiment(str(path), ["training.steps=[1"])


def test_evaluation_decodes_with_the_papers_beam_search_by_default():
    from keras_transformer.experiment import EvaluationConfig

    decoding = EvaluationConfig().decoding
    assert (decoding.strategy, decoding.beam_size) == ("beam", 4)
    assert decoding.length_penalty == 0.6
    assert decoding.describe() == "beam4 alpha=0.6"
    greedy = decoding.replace(strategy="greedy", seed=None)
    assert greedy.strategy == "greedy" and greedy.beam_size == 4


@pytest.mark.parametrize(
    "key, value, wanted",
    [
        ("beam_size", 0, "beam_size must be an int >= 1"),
        ("temperature", 0.0, "temperature must be a number > 0"),
        ("top_p", 1.5, "top_p must be a number in (0, 1]"),
        ("strategy", "best", "valid choices: 'greedy', 'beam', 'sampling'"),
    ],
)
def test_decoding_settings_are_checked_with_the_experiment(key, value, wanted):
    with pytest.raises(ConfigError) as info:
        experiment_from_dict({"evaluation": {"decoding": {key: value}}})
    assert "evaluation.decoding" in str(info.value)
    assert wanted in str(info.value)


def test_flat_decoding_keys_of_earlier_versions():
    flat = {"evaluation": {"decode": "greedy", "beam_size": 2, "split": "test"}}
    # In a user's file: an error naming the new place of each key.
    with pytest.raises(
        ConfigError, match="decode -> evaluation.decoding.strat"
    ):
        experiment_from_dict(flat)
    # In a run directory written by an earlier version: read as it is.
    experiment = experiment_from_dict(flat, stored=True)
    assert experiment.evaluation.decoding.strategy == "greedy"
    assert experiment.evaluation.decoding.beam_size == 2


def _documented_defaults():
    """``{setting: default}`` of the documentation's table of training
    defaults that differ from the paper."""
    text = (ROOT / "docs" / "paper-differences.md").read_text()
    table = text.split("Training defaults that differ from the paper")[1]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| `training."):
            rows[cells[0].strip("`")] = cells[1]
    return rows


def test_the_changed_training_defaults_are_those_the_docs_give():
    from keras_transformer.experiment import TrainingConfig

    rows = _documented_defaults()
    assert set(rows) == {
        "training.max_learning_rate",
        "training.warmup_steps",
        "training.cooldown_fraction",
        "training.average_last",
    }
    defaults = TrainingConfig()
    assert rows["training.max_learning_rate"] == "`1e-3`"
    assert defaults.max_learning_rate == 1e-3
    assert rows["training.warmup_steps"].startswith("`null`: 10% of the")
    assert defaults.warmup_steps is None
    assert TrainingConfig(steps=500).warmup == 50
    assert rows["training.cooldown_fraction"].startswith(
        "`null`: 0.2 with a `time_budget`, else 0"
    )
    assert defaults.cooldown_fraction is None
    assert TrainingConfig(steps=500).cooldown == 0
    assert TrainingConfig(steps=500, time_budget="5m").cooldown == 100
    assert rows["training.average_last"] == "`0` (off)"
    assert defaults.average_last == 0


@pytest.mark.parametrize("name, last", [("base", 5), ("big", 20)])
def test_the_wmt14_configs_keep_the_paper_recipe(name, last):
    experiment = load_experiment(
        str(ROOT / "configs" / f"wmt14_en_de_{name}.yaml")
    )
    schedule = make_optimizer(experiment, d_model=512)._learning_rate
    config = schedule.get_config()
    assert config["max_rate"] is None
    assert config["cooldown_steps"] == 0
    assert config["warmup_steps"] == 4000
    assert experiment.training.average_last == last


def test_task_settings_are_read_by_the_task_they_name():
    experiment = experiment_from_dict(
        {
            "task": "classification",
            "task_settings": {
                "classification": {"pooling": "first"},
                "question_answering": {"doc_stride": 32},
            },
        }
    )
    settings = experiment.task_settings
    assert settings["classification"].pooling == "first"
    assert settings["question_answering"].doc_stride == 32
    defaults = experiment_from_dict({"task": "question_answering"})
    assert defaults.task_settings["question_answering"].doc_stride == 64
    again = experiment_from_dict(experiment.to_dict())
    assert again.task_settings == experiment.task_settings


@pytest.mark.parametrize(
    "sections, message",
    [
        ({"clasification": {}}, r"task_settings.clasification: not a task"),
        (
            {"classification": {"pool": "mean"}},
            r"unknown key\(s\) task_settings.classification.pool; valid keys",
        ),
        (
            {"question_answering": {"doc_stride": 0}},
            r"task_settings.question_answering.doc_stride: invalid value 0",
        ),
        (
            {"translation": {"beam": 4}},
            r"task_settings.translation: task 'translation' has no settings",
        ),
    ],
)
def test_wrong_task_settings_are_named(sections, message):
    with pytest.raises(ConfigError, match=message):
        experiment_from_dict({"task_settings": sections})


def test_task_settings_of_earlier_versions_move_under_their_task():
    old = {
        "task": "question_answering",
        "training": {"doc_stride": 16, "pooling": "mean"},
        "evaluation": {"max_answer_length": 5},
    }
    with pytest.raises(
        ConfigError, match=r"training.doc_stride -> task_settings.TASK"
    ):
        experiment_from_dict(old)  # a user's file: named, not guessed
    stored = experiment_from_dict(old, stored=True)  # a run directory's
    assert stored.task_settings["question_answering"].doc_stride == 16
    assert stored.task_settings["question_answering"].max_answer_length == 5
    assert "classification" not in stored.task_settings
