"""Loading a run: what may change on resume, and runs that are not there
or damaged."""

import json

import pytest

from keras_transformer import run
from keras_transformer.errors import RunError
from keras_transformer.experiment import experiment_from_dict

EXPERIMENT = {
    "model": {"num_layers": 1, "d_model": 32, "num_heads": 2, "ff_dim": 64},
    "training": {"steps": 40},
}


def _with(section, **changes):
    values = json.loads(json.dumps(EXPERIMENT))
    values.setdefault(section, {}).update(changes)
    return experiment_from_dict(values)


@pytest.mark.parametrize(
    "section, changes, changeable",
    [
        ("training", {"steps": 80}, True),
        ("training", {"clipnorm": 1.0}, True),
        ("training", {"lr_scale": 0.5, "warmup_steps": 100}, True),
        ("evaluation", {"max_examples": 7, "batch_size": 2}, True),
        ("training", {"steps_per_epoch": 100}, False),
        ("training", {"batch_tokens": 100}, False),
        ("training", {"gradient_accumulation_steps": 2}, False),
        ("model", {"d_model": 64}, False),
        ("tokenizer", {"vocab_size": 100}, False),
        ("data", {"task": "copy"}, False),
    ],
)
def test_which_settings_may_change_on_resume(section, changes, changeable):
    allowed, forbidden = run.resume_differences(
        experiment_from_dict(EXPERIMENT), _with(section, **changes)
    )
    changed = allowed if changeable else forbidden
    assert sorted(key for key, _, _ in changed) == sorted(
        f"{section}.{key}" for key in changes
    )
    assert not (forbidden if changeable else allowed)


def test_a_file_or_empty_directory_is_no_run(tmp_path):
    with pytest.raises(RunError, match="holds no run"):
        run.read_experiment(str(tmp_path))
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(RunError, match="is a file, not a run directory"):
        run.read_experiment(str(afile))


def test_a_damaged_run_config_is_named_with_its_line(tmp_path):
    (tmp_path / "config.yaml").write_text("training:\n  steps: [1\n")
    with pytest.raises(RunError) as info:
        run.read_experiment(str(tmp_path))
    message = str(info.value)
    assert "config.yaml:3:1: invalid YAML" in message
    assert "run's own copy" in message
