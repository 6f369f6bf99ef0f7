"""The Keras multi-worker workaround, and two workers training together."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from keras_transformer.training import multi_worker_fix
from tests.training import test_distribute


def test_patched_keras_functions_are_unchanged():
    """Fails when Keras changes the functions the workaround replaces.

    Then: check whether keras-team/keras#20585 is fixed in the new Keras
    (run tests/training/test_multi_worker_fix.py without calling
    ``multi_worker_fix.apply()``); drop the workaround if so, otherwise port
    it and record the new hashes in ``PATCHED_SOURCES``.
    """
    for name, expected in multi_worker_fix.PATCHED_SOURCES.items():
        assert multi_worker_fix.source_hash(name) == expected, (
            f"Keras changed {name}; re-check keras_transformer/training/"
            "multi_worker_fix.py (see this test's docstring)."
        )


WORKER = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": sys.argv[1].split(",")},
        "task": {"type": "worker", "index": int(sys.argv[2])},
    })
    from keras_transformer.experiment import experiment_from_dict
    from keras_transformer.train import train_and_evaluate
    experiment = experiment_from_dict(json.loads(sys.argv[3]))
    metrics = train_and_evaluate(experiment, sys.argv[4], verbose=0)
    print(json.dumps({"loss": metrics["loss"]}))
    """
)

EXPERIMENT = dict(
    test_distribute.EXPERIMENT,
    training=dict(
        test_distribute.EXPERIMENT["training"],
        steps=12,
        steps_per_epoch=6,
        strategy="multi_worker",
    ),
)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_train_a_transformer_to_identical_weights(tmp_path):
    import keras

    cluster = ",".join(f"127.0.0.1:{port}" for port in _free_ports(2))
    workdir = str(tmp_path / "run")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_CONFIG", None)
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                cluster,
                str(index),
                json.dumps(EXPERIMENT),
                workdir,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for index in range(2)
    ]
    outputs = []
    try:
        for worker in workers:
            stdout, stderr = worker.communicate(timeout=600)
            assert worker.returncode == 0, stderr[-3000:]
            outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            worker.kill()
    chief = keras.saving.load_model(os.path.join(workdir, "model.keras"))
    other = keras.saving.load_model(
        os.path.join(workdir, "workers", "worker_1", "model.keras")
    )
    assert int(chief.optimizer.iterations.numpy()) == 12
    for a, b in zip(chief.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert outputs[0]["loss"] == pytest.approx(outputs[1]["loss"], rel=1e-5)
