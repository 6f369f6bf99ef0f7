"""Distribution strategies (each case runs in a fresh process, because
logical devices must be configured before TensorFlow starts)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from keras_transformer.training.distribute import get_strategy

MIRRORED = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    import numpy as np
    from keras_transformer.experiment import experiment_from_dict
    from keras_transformer.training import distribute
    from keras_transformer.run import load_run
    from keras_transformer.train import train_and_evaluate

    strategy = distribute.get_strategy("mirrored")
    experiment = experiment_from_dict(json.loads(sys.argv[1]))
    metrics = train_and_evaluate(experiment, sys.argv[2], verbose=0)
    _, model, _ = load_run(sys.argv[2])
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "loss": metrics["loss"],
        "steps": int(model.optimizer.iterations.numpy()),
    }))
    """
)

EXPERIMENT = {
    "data": {
        "task": "copy",
        "train_size": 1000,
        "validation_size": 20,
        "test_size": 20,
    },
    "tokenizer": {"vocab_size": 50},
    "model": {"num_layers": 1, "d_model": 32, "num_heads": 2, "ff_dim": 64},
    "training": {
        "steps": 20,
        "steps_per_epoch": 10,
        "batch_tokens": 512,
        "max_length": 32,
        "warmup_steps": 10,
        "strategy": "mirrored",
    },
    "evaluation": {"max_examples": 20},
}


@pytest.mark.slow
def test_mirrored_strategy_over_two_logical_cpus_trains(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            MIRRORED,
            json.dumps(EXPERIMENT),
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["steps"] == 20
    assert report["loss"] < 10


def test_unknown_strategy_and_missing_tf_config(monkeypatch):
    with pytest.raises(ValueError, match="one_device"):
        get_strategy("horovod")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        get_strategy("multi_worker")
