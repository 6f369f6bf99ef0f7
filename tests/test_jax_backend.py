"""The JAX backend end to end: training sharded over two devices (stopped
and resumed) on the command line under ``KERAS_BACKEND=jax``, then
evaluation and export of that run under TensorFlow; the layer, decoding
and multi-device tests under JAX; the one-line errors for what only
TensorFlow does.

The JAX processes are subprocesses (a process has one Keras backend) with
two CPU devices; the test process itself runs TensorFlow.
"""

import copy
import csv
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import yaml

from keras_transformer import backend, run_files
from keras_transformer.errors import ConfigError
from tests.test_cli import _main, _train
from tests.test_faults import (
    CONFIG,
    EPOCH,
    STEPS,
    _history_steps,
    _run,
    assert_complete,
    assert_one_line,
)

pytestmark = pytest.mark.slow

# The JAX devices of the JAX processes.
DEVICES = 2

# Stops training (like Ctrl-C) right after the first checkpoint is written.
STOP_AFTER_FIRST_CHECKPOINT = """
from keras_transformer.training.checkpoint import Checkpointer
_save = Checkpointer.on_epoch_end
def on_epoch_end(self, epoch, logs=None):
    _save(self, epoch, logs)
    raise KeyboardInterrupt
Checkpointer.on_epoch_end = on_epoch_end
"""

# What a finished run directory holds, whatever the backend.
RUN_LAYOUT = sorted(
    [
        run_files.CONFIG_FILE,
        run_files.EVAL_DIR,
        run_files.HISTORY_FILE,
        run_files.LOCK_FILE,
        run_files.LOG_DIR,
        run_files.METRICS_FILE,
        run_files.MODEL_FILE,
        run_files.TOKENIZER_DIRS[0],
    ]
)


def _xla_flags():
    """XLA_FLAGS for the JAX processes: two CPU devices, as on a machine
    with two accelerators, and the same XLA programs compiled without
    LLVM's optimisation passes. On a CPU these processes spend most of
    their time compiling (hundreds of small programs, each run a few
    times); this takes about a quarter off."""
    flags = os.environ.get("XLA_FLAGS", "")
    return (
        f"{flags} --xla_force_host_platform_device_count={DEVICES} "
        "--xla_backend_optimization_level=0"
    ).strip()


def _jax_environment(tmp_path):
    """Environment variables of a JAX process. The second process reuses
    the first one's XLA programs from the persistent compilation cache."""
    return {
        "KERAS_BACKEND": "jax",
        "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax-cache"),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "XLA_FLAGS": _xla_flags(),
    }


def _history_rows(workdir):
    with open(
        os.path.join(workdir, run_files.HISTORY_FILE), newline=""
    ) as handle:
        return list(csv.DictReader(handle))


def _serve(path, texts):
    """The SavedModel's ``serving_default`` outputs for ``texts``."""
    import tensorflow as tf

    serve = tf.saved_model.load(path).signatures["serving_default"]
    outputs = serve(text=tf.constant(texts))
    translations = [t.decode("utf-8") for t in outputs["translation"].numpy()]
    return translations, outputs["score"].numpy()


def test_a_model_parallel_run_under_jax_resumes_evaluates_and_exports(
    tmp_path,
):
    from keras_transformer.export import export_run
    from keras_transformer.train import evaluate

    values = copy.deepcopy(CONFIG)
    values["evaluation"]["show_examples"] = values["evaluation"]["max_examples"]
    # The heads and feed-forward units split over the two devices.
    values["training"]["model_parallel"] = DEVICES
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(values))
    workdir = str(tmp_path / "run")
    jax = _jax_environment(tmp_path)

    # Stopped after the first checkpoint ...
    stopped = _run(
        "train",
        str(config),
        "--workdir",
        workdir,
        prefix=STOP_AFTER_FIRST_CHECKPOINT,
        env=jax,
    )
    line = assert_one_line(stopped, returncode=130, prefix="interrupted:")
    assert f"resume from step {EPOCH}" in line
    # JAX compiles always; the batch is whole on both devices.
    assert (
        "XLA on, 1 replica(s) (2 cpu devices, the model sharded over 2)."
        in stopped.stdout
    )
    # Training batches take a bounded number of shapes.
    bound = re.search(
        r"XLA: training batches take (\d+) batch shapes", stopped.stdout
    )
    assert bound and 1 <= int(bound.group(1)) <= 10, stopped.stdout
    backup = os.path.join(workdir, run_files.BACKUP_DIR)
    assert os.listdir(backup) == [f"ckpt-{EPOCH}.keras"]
    assert _history_steps(workdir) == [EPOCH]
    first_rows = _history_rows(workdir)

    # ... the same command resumes from that checkpoint and finishes.
    result = _run("train", str(config), "--workdir", workdir, env=jax)
    assert_complete(result, workdir)  # loads model.keras here, under TF
    # The compilation is reported after the first epoch of training.
    assert re.search(
        r"XLA: \d+ of the first \d+ steps compiled a new batch shape",
        result.stdout,
    ), result.stdout
    assert (
        f"Resuming from backup/ckpt-{EPOCH}.keras (step {EPOCH}); training "
        f"to step {STEPS}." in result.stdout
    )
    rows = _history_rows(workdir)
    assert rows[0] == first_rows[0]  # kept, not trained again
    assert [int(row["epoch"]) for row in rows] == list(range(STEPS // EPOCH))
    assert sorted(os.listdir(workdir)) == RUN_LAYOUT
    assert sorted(os.listdir(os.path.join(workdir, run_files.LOG_DIR))) == [
        "train",
        "validation",
    ]
    with open(os.path.join(workdir, run_files.METRICS_FILE)) as handle:
        trained = json.load(handle)
    assert np.isfinite(trained["loss"]) and trained["decode"] == "greedy"

    # TensorFlow evaluates the JAX-trained model: the same loss, and the
    # same translations (float32 differences could tip a rare near-tie).
    metrics = evaluate(workdir, split="test", verbose=0)
    np.testing.assert_allclose(metrics["loss"], trained["loss"], atol=2e-3)
    with open(metrics["outputs"][1], newline="") as handle:
        evaluated = list(csv.DictReader(handle, delimiter="\t"))
    assert [row["source"] for row in evaluated] == [
        example["source"] for example in trained["examples"]
    ]
    same = sum(
        row["translation"] == example["translation"]
        for row, example in zip(evaluated, trained["examples"])
    )
    assert same >= 0.9 * len(evaluated), (evaluated, trained["examples"])

    # TensorFlow exports it; the SavedModel translates as the Keras model
    # does in-process.
    info = export_run(workdir, str(tmp_path / "exports"))
    sources = [row["source"] for row in evaluated]
    translations, scores = _serve(info["path"], sources)
    assert translations == [row["translation"] for row in evaluated]
    assert np.all(np.isfinite(scores)) and np.all(scores <= 0)


# ------------------------------------------- layer and decoding tests, JAX

# Existing tests that also run under JAX, and the tests of training over
# several JAX devices (about 1.5 minutes on 2 CPU cores).
JAX_SUBSET = (
    "tests/layers/test_attention.py",
    "tests/layers/test_multi_head_attention.py",
    "tests/layers/test_pointer_generator.py",
    "tests/inference/test_decoding.py",
    "tests/models/test_training_step.py",
    "tests/training/jax_devices_cases.py",
)
# Tests of JAX_SUBSET left out (by name, with ``-k``), and why.
NOT_UNDER_JAX = (
    # TensorFlow only, by design: XLA loops written with tf.function and
    # tf.while_loop (test_compiled_decoding_gives_the_same_tokens covers
    # jax.jit), and the Translator, a TensorFlow graph (the training test
    # above decodes with it under JAX).
    "xla",
    "test_translator_batches_and_truncates",
    # keras.layers.MultiHeadAttention itself fails under JAX when
    # value_dim != key_dim (Keras 3.15: "cannot reshape array").
    "test_matches_keras_multi_head_attention",
    # Slow under JAX on a CPU, where every new shape and loop is compiled
    # (5 to 80 s each); the TensorFlow run covers them.
    "harness",
    "uncached",
    "test_language_model_greedy_equals_full_passes",
    "test_language_model_prompts_batch_like_one_at_a_time",
    "test_a_hand_built_functional_model_decodes_by_its_attributes",
    "test_scores_are_the_log_probability_of_the_output",
    "test_matches_keras_with_implicit_masks",
)

RUN_UNDER_JAX = """
import sys
import keras
import pytest
assert keras.backend.backend() == "jax", keras.backend.backend()
sys.exit(pytest.main(sys.argv[1:]))
"""


def test_layer_decoding_and_device_tests_pass_under_jax(tmp_path):
    selection = " and ".join(f"not {name}" for name in NOT_UNDER_JAX)
    result = subprocess.run(
        [sys.executable, "-c", RUN_UNDER_JAX, "-q", "-p", "no:cacheprovider"]
        + [f"--basetemp={tmp_path / 'jax'}", "-k", selection, *JAX_SUBSET],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        env=dict(
            os.environ,
            KERAS_BACKEND="jax",
            TF_CPP_MIN_LOG_LEVEL="3",
            XLA_FLAGS=_xla_flags(),
        ),
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout else ""
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "failed" not in summary and "error" not in summary, summary
    assert int(summary.split(" passed")[0].split()[-1]) >= 25, summary


# ---------------------------------------- what only TensorFlow does, JAX


@pytest.fixture
def as_if_jax(monkeypatch):
    """The backend checks answer "jax" (this process runs TensorFlow,
    whose devices are left as they are)."""
    monkeypatch.setattr(backend, "name", lambda: "jax")
    monkeypatch.setattr(backend, "keep_tensorflow_off_accelerators", list)


@pytest.mark.parametrize(
    "strategy, tpu, setting",
    [
        ("mirrored", None, "training.strategy: mirrored"),
        ("multi_worker", None, "training.strategy: multi_worker"),
        ("auto", "local", "training.tpu: 'local'"),
    ],
)
def test_tf_distribute_settings_are_refused_under_jax(
    as_if_jax, strategy, tpu, setting
):
    from keras_transformer.training import distribute

    with pytest.raises(ConfigError) as raised:
        distribute.get_strategy(strategy, tpu)
    message = str(raised.value)
    assert message.startswith(setting) and "\n" not in message
    assert "training.strategy: auto" in message
    assert "KERAS_BACKEND=tensorflow" in message


def test_model_parallel_settings_that_cannot_work_are_refused(as_if_jax):
    from keras_transformer.training import distribute, jax_devices

    refusals = [
        (
            lambda: distribute.get_strategy("one_device", model_parallel=2),
            "training.model_parallel=2 shards the model over several "
            "devices, and training.strategy: one_device gives one",
        ),
        (
            lambda: jax_devices.JaxDevices(["d0", "d1", "d2"], 2),
            "training.model_parallel=2 does not divide the 3 JAX device(s)",
        ),
    ]
    for refused, start in refusals:
        with pytest.raises(ConfigError) as raised:
            refused()
        message = str(raised.value)
        assert message.startswith(start) and "\n" not in message, message


def test_model_parallel_is_refused_under_tensorflow(tmp_path, capsys):
    code, _, err = _main(capsys, *_train(tmp_path, "training.model_parallel=2"))
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert err.startswith(
        "error: training.model_parallel=2 shards the model with "
        "keras.distribution, which runs under KERAS_BACKEND=jax"
    )
    assert not os.path.exists(tmp_path / "w")  # refused before any work


def test_under_jax_the_command_line_names_the_fix(as_if_jax, tmp_path, capsys):
    from keras_transformer.training import distribute

    assert distribute.resolve_jit_compile("auto") is True
    assert distribute.resolve_jit_compile("false") is False
    code, _, err = _main(capsys, *_train(tmp_path, "training.strategy=tpu"))
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert err.startswith("error: training.strategy: tpu needs tf.distribute")
    assert not os.path.exists(tmp_path / "w")  # refused before any work

    code, _, err = _main(capsys, "export", "--workdir", tmp_path, tmp_path)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "export (a SavedModel is a TensorFlow graph) needs the " in err
    assert "KERAS_BACKEND=tensorflow" in err
