"""End-to-end training through ``train_and_evaluate`` and the CLI."""

import json
import math
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_transformer.experiment import ConfigError, experiment_from_dict
from keras_transformer.training.train import (
    StopOnNaN,
    TrainingDivergedError,
    evaluate,
    load_run,
    train_and_evaluate,
)

TINY = {
    "task": "translation",
    "data": {
        "source": "builtin",
        "task": "reverse",
        "train_size": 2000,
        "validation_size": 50,
        "test_size": 50,
    },
    "tokenizer": {"vocab_size": 60},
    "model": {
        "preset": "small",
        "num_layers": 1,
        "d_model": 32,
        "num_heads": 2,
        "ff_dim": 64,
    },
    "training": {
        "steps": 40,
        "steps_per_epoch": 20,
        "batch_tokens": 512,
        "max_length": 32,
        "warmup_steps": 20,
    },
    "evaluation": {"max_examples": 50, "show_examples": 2},
}


def _experiment(**sections):
    values = json.loads(json.dumps(TINY))
    for section, changes in sections.items():
        values[section].update(changes)
    return experiment_from_dict(values)


@pytest.mark.slow
def test_train_and_evaluate_writes_a_complete_workdir(tmp_path):
    workdir = str(tmp_path / "run")
    metrics = train_and_evaluate(_experiment(), workdir, verbose=0)
    for name in ("config.yaml", "model.keras", "metrics.json", "tokenizer"):
        assert os.path.exists(os.path.join(workdir, name)), name
    assert os.listdir(os.path.join(workdir, "logs"))
    for key in ("loss", "accuracy", "bleu", "exact_match", "chrf"):
        assert key in metrics
    assert math.isfinite(metrics["loss"])
    assert len(metrics["examples"]) == 2
    with open(os.path.join(workdir, "metrics.json")) as handle:
        assert json.load(handle)["bleu"] == metrics["bleu"]

    experiment, model, tokenizers = load_run(workdir)
    assert experiment.training.steps == 40
    assert model.optimizer.iterations.numpy() == 40

    # A finished run is not trained again.
    again = train_and_evaluate(_experiment(), workdir, verbose=0)
    assert again["bleu"] == metrics["bleu"]

    # evaluate() recomputes the metrics on another split.
    validation = evaluate(workdir, split="validation", verbose=0)
    assert validation["split"] == "validation"

    # A different experiment may not reuse the work directory.
    with pytest.raises(ConfigError, match="different experiment"):
        train_and_evaluate(
            _experiment(model={"d_model": 64}), workdir, verbose=0
        )


def test_stop_on_nan_raises_a_clear_error():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    callback = StopOnNaN("/tmp/backup")
    callback.set_model(model)
    callback.on_train_batch_end(0, {"loss": 1.5})
    with pytest.raises(TrainingDivergedError, match="clipnorm"):
        callback.on_train_batch_end(1, {"loss": float("nan")})


def _cli(*args):
    return [sys.executable, "-m", "keras_transformer", *args]


def _write_config(tmp_path, steps):
    import yaml

    values = json.loads(json.dumps(TINY))
    values["training"].update({"steps": steps, "steps_per_epoch": 10})
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(values))
    return str(path)


@pytest.mark.slow
def test_cli_resumes_after_being_killed(tmp_path):
    config = _write_config(tmp_path, steps=60)
    workdir = str(tmp_path / "run")
    metadata = os.path.join(workdir, "backup", "training_metadata.json")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    first = subprocess.Popen(
        _cli("train", config, "--workdir", workdir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.time() + 300
    while time.time() < deadline and first.poll() is None:
        if os.path.exists(metadata):
            with open(metadata) as handle:
                try:
                    epoch = json.load(handle)["epoch"]
                except ValueError:  # being written
                    epoch = 0
            if epoch >= 2:
                break
        time.sleep(0.2)
    assert first.poll() is None, "training ended before it could be killed"
    first.kill()
    first.wait()
    assert not os.path.exists(os.path.join(workdir, "model.keras"))

    second = subprocess.run(
        _cli("train", config, "--workdir", workdir),
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming from the checkpoint after epoch" in second.stdout
    resumed_epoch = int(second.stdout.split("after epoch ")[1].split()[0])
    assert resumed_epoch >= 2
    assert '"bleu"' in second.stdout
    _, model, _ = load_run(workdir)
    # Every step was run exactly once in total.
    assert model.optimizer.iterations.numpy() == 60


def test_cli_reports_config_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  stepz: 3\n")
    result = subprocess.run(
        _cli("train", str(bad), "--workdir", str(tmp_path / "w")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "training.stepz" in result.stderr
    assert "Traceback" not in result.stderr
    missing = subprocess.run(
        _cli("evaluate", "--workdir", str(tmp_path / "nothing")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert missing.returncode == 1
    assert "holds no" in missing.stderr and "Train first" in missing.stderr


def test_classification_and_language_model_train(tmp_path):
    labelled = tmp_path / "labelled.tsv"
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(300):
        positive = rng.random() < 0.5
        word = "good" if positive else "bad"
        filler = " ".join(rng.choice(["the", "a", "film", "was"], 4))
        lines.append(f"{'pos' if positive else 'neg'}\t{word} {filler}")
    labelled.write_text("\n".join(lines) + "\n")
    experiment = experiment_from_dict(
        {
            "task": "classification",
            "data": {
                "source": "files",
                "format": "labelled",
                "path": str(labelled),
            },
            "tokenizer": {"vocab_size": 20},
            "model": {
                "num_layers": 1,
                "d_model": 32,
                "num_heads": 2,
                "ff_dim": 64,
            },
            "training": {
                "steps": 60,
                "steps_per_epoch": 30,
                "batch_tokens": 512,
                "max_length": 32,
                "schedule": "constant",
                "learning_rate": 0.003,
            },
        }
    )
    metrics = train_and_evaluate(experiment, str(tmp_path / "cls"), verbose=0)
    assert metrics["accuracy"] > 0.9
    assert json.load(open(tmp_path / "cls" / "labels.json")) == ["neg", "pos"]

    text = tmp_path / "text.txt"
    text.write_text("abcdefgh\n" * 400)
    experiment = experiment_from_dict(
        {
            "task": "language_modeling",
            "data": {"source": "files", "format": "text", "path": str(text)},
            "tokenizer": {"type": "byte"},
            "model": {
                "num_layers": 1,
                "d_model": 32,
                "num_heads": 2,
                "ff_dim": 64,
            },
            "training": {
                "steps": 60,
                "steps_per_epoch": 30,
                "batch_size": 16,
                "max_length": 16,
                "schedule": "constant",
                "learning_rate": 0.003,
            },
        }
    )
    metrics = train_and_evaluate(experiment, str(tmp_path / "lm"), verbose=0)
    assert metrics["perplexity"] < 2.0  # the text is fully predictable


def test_optimizer_options_reach_the_optimizer():
    from keras_transformer.training.schedule import TransformerSchedule
    from keras_transformer.training.train import make_optimizer

    experiment = _experiment(
        training={"clipnorm": 0.5, "gradient_accumulation_steps": 4}
    )
    optimizer = make_optimizer(experiment, d_model=32)
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert optimizer.global_clipnorm == 0.5
    assert optimizer.gradient_accumulation_steps == 4
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (
        0.9,
        0.98,
        1e-9,
    )
    assert isinstance(optimizer._learning_rate, TransformerSchedule)
    adamw = make_optimizer(
        _experiment(
            training={
                "optimizer": "adamw",
                "weight_decay": 0.01,
                "schedule": "constant",
            }
        ),
        d_model=32,
    )
    assert isinstance(adamw, keras.optimizers.AdamW)
    assert adamw.weight_decay == 0.01
