"""End-to-end training through ``train_and_evaluate`` and the CLI."""

import csv
import json
import math
import os
import re
import types

import keras
import numpy as np
import pytest

from keras_transformer.errors import DataError, RunError
from keras_transformer.experiment import experiment_from_dict
from keras_transformer.run import load_run
from keras_transformer.train import (
    compile_model,
    evaluate,
    train_and_evaluate,
)
from keras_transformer.training.schedule import TransformerSchedule

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
    "evaluation": {
        "max_examples": 20,
        "show_examples": 2,
        "decoding": {"strategy": "greedy"},
    },
}


def _experiment(**sections):
    values = json.loads(json.dumps(TINY))
    for section, changes in sections.items():
        values[section].update(changes)
    return experiment_from_dict(values)


def _history_steps(workdir):
    with open(os.path.join(workdir, "history.csv"), newline="") as handle:
        return [int(row["step"]) for row in csv.DictReader(handle)]


def _optimizer_steps(workdir):
    return int(load_run(workdir)[1].optimizer.iterations.numpy())


def test_compile_model_creates_the_optimizer_slots_before_fit():
    """Otherwise Keras creates them in the first trace of the train step
    (outside a strategy scope), and tf.function traces the step twice."""
    from keras_transformer.models import Classifier, TransformerConfig

    experiment = _experiment()
    config = TransformerConfig.small(
        vocab_size=50, num_layers=1, d_model=16, num_heads=2, ff_dim=32
    )
    task = types.SimpleNamespace(
        experiment=experiment,
        loss=lambda: "mse",
        metrics=lambda: [],
        model_config=lambda: config,
    )
    model = Classifier(config, 2)
    compile_model(model, task, jit_compile=False)
    assert model.optimizer.built
    slots = [v for v in model.optimizer.variables if v.shape.rank]
    assert len(slots) == 2 * len(model.trainable_variables)  # Adam: m, v


@pytest.mark.slow
def test_train_and_evaluate_writes_a_complete_workdir(tmp_path, capsys):
    workdir = str(tmp_path / "run")
    metrics = train_and_evaluate(_experiment(), workdir)
    # Off a terminal (captured), Keras writes a line per epoch, not a
    # progress bar line per step.
    log = capsys.readouterr().out.splitlines()
    epochs = [line for line in log if "/step" in line and "val_loss" in line]
    assert len(epochs) == 2
    assert len(log) < 40, log  # 40 steps
    for name in ("config.yaml", "model.keras", "metrics.json", "tokenizer"):
        assert os.path.exists(os.path.join(workdir, name)), name
    # The final evaluation keeps its outputs, as evaluate() does.
    stem = os.path.join(workdir, "eval", "test-greedy")
    assert metrics["outputs"] == [stem + ".json", stem + ".tsv"]
    with open(stem + ".tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) == 20 and set(rows[0]) == {
        "source",
        "reference",
        "translation",
    }
    assert [row["translation"] for row in rows[:2]] == [
        example["translation"] for example in metrics["examples"]
    ]
    with open(stem + ".json") as handle:
        assert json.load(handle)["steps"] == 40
    assert os.listdir(os.path.join(workdir, "logs"))
    assert not os.path.exists(os.path.join(workdir, "backup"))
    for key in ("loss", "accuracy", "bleu", "exact_match", "chrf"):
        assert key in metrics
    assert math.isfinite(metrics["loss"])
    assert metrics["steps"] == 40
    assert len(metrics["examples"]) == 2
    with open(os.path.join(workdir, "metrics.json")) as handle:
        assert json.load(handle)["bleu"] == metrics["bleu"]
    assert _history_steps(workdir) == [20, 40]

    experiment, model, tokenizers = load_run(workdir)
    assert experiment.training.steps == 40
    assert model.optimizer.iterations.numpy() == 40

    # A finished run is not trained again.
    again = train_and_evaluate(_experiment(), workdir, verbose=0)
    assert again["bleu"] == metrics["bleu"]

    # evaluate() recomputes the metrics on another split.
    validation = evaluate(workdir, split="validation", verbose=0)
    assert validation["split"] == "validation"

    # A different experiment may not reuse the work directory; nothing in
    # it changes.
    config = (tmp_path / "run" / "config.yaml").read_bytes()
    with pytest.raises(RunError, match=r"different experiment.*d_model"):
        train_and_evaluate(
            _experiment(model={"d_model": 64}), workdir, verbose=0
        )
    assert (tmp_path / "run" / "config.yaml").read_bytes() == config


@pytest.mark.slow
def test_more_steps_train_on_and_fewer_are_refused(tmp_path, capsys):
    workdir = str(tmp_path / "run")
    train_and_evaluate(_experiment(training={"steps": 20}), workdir, verbose=0)
    measured = evaluate(workdir, "validation", verbose=0)
    assert measured["steps"] == 20  # results say which model they measured
    # 20 more steps, not a multiple of the 20-step epoch: exactly 35.
    metrics = train_and_evaluate(
        _experiment(training={"steps": 35, "clipnorm": 1.0}),
        workdir,
        verbose=0,
    )
    output = capsys.readouterr().out
    assert "Resuming from model.keras (step 20); training to step 35" in output
    # The 20-step model's results are kept apart from the new model's.
    eval_dir = os.path.join(workdir, "eval")
    assert sorted(os.listdir(eval_dir)) == [
        "step-20",
        "test-greedy.json",  # the final evaluation of the 35-step model
        "test-greedy.tsv",
    ]
    assert sorted(os.listdir(os.path.join(eval_dir, "step-20"))) == sorted(
        ["test-greedy.json", "test-greedy.tsv"]
        + [os.path.basename(path) for path in measured["outputs"]]
    )
    assert "training.clipnorm: None -> 1.0" in output
    assert metrics["steps"] == 35
    assert _optimizer_steps(workdir) == 35
    assert _history_steps(workdir) == [20, 35]

    # Fewer steps than trained: refused, and config.yaml stays as it was.
    config = (tmp_path / "run" / "config.yaml").read_bytes()
    with pytest.raises(RunError, match="already trained 35 steps"):
        train_and_evaluate(
            _experiment(training={"steps": 30}), workdir, verbose=0
        )
    assert (tmp_path / "run" / "config.yaml").read_bytes() == config

    # New evaluation settings evaluate the trained model again, untrained.
    metrics = train_and_evaluate(
        _experiment(
            training={"steps": 35, "clipnorm": 1.0},
            evaluation={"decoding": {"strategy": "beam", "beam_size": 2}},
        ),
        workdir,
        verbose=0,
    )
    assert metrics["decode"] == "beam2 alpha=0.6" and metrics["steps"] == 35
    assert _optimizer_steps(workdir) == 35


def test_a_failed_start_does_not_block_the_corrected_rerun(tmp_path, capsys):
    workdir = str(tmp_path / "run")
    with pytest.raises(DataError, match="training.max_length=3"):
        train_and_evaluate(
            _experiment(training={"max_length": 3}), workdir, verbose=0
        )
    capsys.readouterr()
    with pytest.raises(DataError):  # another setting, the same mistake
        train_and_evaluate(
            _experiment(training={"max_length": 3, "batch_tokens": 300}),
            workdir,
            verbose=0,
        )
    assert "starting it over" in capsys.readouterr().out
    # Corrected (and with another vocabulary): no refusal, a new tokenizer.
    experiment = _experiment(
        training={"steps": 2, "steps_per_epoch": 2},
        tokenizer={"vocab_size": 50},
    )
    metrics = train_and_evaluate(experiment, workdir, verbose=0)
    assert metrics["steps"] == 2
    assert load_run(workdir)[2][0].vocab_size == 50


@pytest.mark.parametrize(
    "task, text, message",
    [
        ("language_modeling", "x" * 100, "shorter than one example"),
        ("language_modeling", " \n", r"data\.txt' is empty"),
        ("classification", "", r"data\.txt' is empty"),
    ],
)
def test_data_that_would_train_nothing_is_refused(
    tmp_path, task, text, message
):
    path = tmp_path / "data.txt"
    path.write_text(text)
    values = json.loads(json.dumps(TINY))
    values["task"] = task
    values["data"] = {
        "source": "files",
        "format": "text" if task == "language_modeling" else "labelled",
        "path": str(path),
    }
    values["tokenizer"] = {"type": "byte"}
    values["training"]["max_length"] = 128
    with pytest.raises((DataError, ValueError), match=message):
        train_and_evaluate(
            experiment_from_dict(values), str(tmp_path / "run"), verbose=0
        )
    assert not os.path.exists(tmp_path / "run" / "model.keras")


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
    from keras_transformer.train import make_optimizer
    from keras_transformer.training.schedule import TransformerSchedule

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


def test_each_slow_phase_reports_its_progress_and_time(tmp_path, capsys):
    """Reading data, training the tokenizer, building the model, the
    warmup that applies, and the final decode (with texts/s and the
    setting that bounds it) each print a line."""
    experiment = _experiment(training={"steps": 10, "warmup_steps": None})
    train_and_evaluate(experiment, str(tmp_path / "run"), verbose=1)
    output = capsys.readouterr().out
    expected = [
        r"Data: train 2,000, validation 50, test 50 examples \([\d.]+ s\)",
        r"Tokenizer: training SentencePiece on [\d,]+ texts",
        r"Tokenizer: SentencePiece unigram, 60 pieces, trained in [\d.]+ s",
        r"translation: [\d,]+ parameters \(built in [\d.]+ s\), warmup 1 "
        r"steps \(10% of the steps\)",
        r"Decoding 20 test sentences with greedy "
        r"\(evaluation\.max_examples=20 bounds how many",
        r"20/20.*texts/s: [\d.]+",
    ]
    position = 0
    for pattern in expected:
        match = re.compile(pattern).search(output, position)
        assert match, (pattern, output[position:])
        position = match.end()


def test_with_gradient_accumulation_steps_are_optimizer_updates(tmp_path):
    workdir = str(tmp_path / "run")
    metrics = train_and_evaluate(
        _experiment(
            training={
                "steps": 6,
                "steps_per_epoch": 3,
                "gradient_accumulation_steps": 4,
                # uncapped, so that the rate shows the step it was given
                "max_learning_rate": None,
            }
        ),
        workdir,
        verbose=0,
    )
    model = load_run(workdir)[1]
    assert metrics["steps"] == 6 and _history_steps(workdir) == [3, 6]
    assert int(model.optimizer.iterations.numpy()) == 6  # updates
    assert int(model.optimizer._iterations.numpy()) == 24  # batches
    # Keras calls the schedule with its batch count; the schedule's step is
    # the update: after 24 batches, the 7th update (step 6 from 0).
    schedule = model.optimizer._learning_rate
    assert float(schedule(24)) == pytest.approx(
        float(TransformerSchedule(32, 20)(6))
    )


def test_a_loss_far_above_chance_stops_training_as_diverged(tmp_path):
    from keras_transformer.errors import TrainingDivergedError

    workdir = tmp_path / "run"
    with pytest.raises(TrainingDivergedError, match="training diverged"):
        train_and_evaluate(
            _experiment(
                training={
                    "steps": 20,
                    "schedule": "constant",
                    "learning_rate": 1000.0,
                    "warmup_steps": None,
                }
            ),
            str(workdir),
            verbose=0,
        )
    assert not (workdir / "metrics.json").exists()


def test_a_run_whose_optimizer_did_not_step_is_refused():
    from keras_transformer.train import _check_trained
    from keras_transformer.training.callbacks import StepCounter

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.optimizer.build(model.trainable_variables)
    _check_trained(model, StepCounter(0))
    with pytest.raises(RunError, match="the optimizer made 0 updates"):
        _check_trained(model, StepCounter(5))
