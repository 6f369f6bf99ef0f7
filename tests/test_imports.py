"""The model code runs without TensorFlow: JAX backend, TensorFlow blocked.

``bench/training.py --backend jax`` (and anyone training on JAX) needs only
``keras`` and ``jax`` from ``keras_transformer.layers``, ``.models`` and
``.training`` (with ``bench/jax_devices.py``, ``.training.jax_devices``): a
subprocess makes ``import tensorflow`` fail, then imports the package,
builds a tiny Transformer and trains one step.
"""

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = textwrap.dedent(
    """
    import sys

    sys.modules["tensorflow"] = None  # `import tensorflow` raises

    import keras
    import numpy as np

    import keras_transformer
    from keras_transformer.layers import TransformerEncoder  # noqa: F401
    from keras_transformer.models import TransformerConfig, build_transformer
    from keras_transformer.training import (
        MaskedSparseCategoricalCrossentropy,
        TransformerSchedule,
    )
    from keras_transformer.training.jax_devices import JaxDevices

    assert keras.backend.backend() == "jax", keras.backend.backend()
    for name in ("Transformer", "TransformerSchedule",
                 "MaskedSparseCategoricalCrossentropy"):
        registered = keras.saving.get_registered_object(
            f"keras_transformer>{name}"
        )
        assert registered is not None, name
    config = TransformerConfig.small(
        vocab_size=50, num_layers=1, d_model=16, num_heads=2, ff_dim=32
    )
    import jax

    with JaxDevices(jax.devices()).scope():  # as bench/jax_devices.py does
        model = build_transformer(config)
        model.compile(
            optimizer=keras.optimizers.Adam(TransformerSchedule(16, 10)),
            loss=MaskedSparseCategoricalCrossentropy(label_smoothing=0.1),
        )
        rng = np.random.default_rng(0)
        x = {
            "source_tokens": rng.integers(1, 50, (2, 5)).astype("int32"),
            "target_tokens": rng.integers(1, 50, (2, 4)).astype("int32"),
        }
        y = rng.integers(1, 50, (2, 4)).astype("int32")
        loss = float(model.train_on_batch(x, y))
    assert np.isfinite(loss), loss
    assert sys.modules.get("tensorflow") is None
    print("OK", keras_transformer.__version__)
    """
)


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="JAX is not installed"
)
def test_layers_models_training_need_no_tensorflow():
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = os.pathsep.join(
        [ROOT] + [p for p in [env.get("PYTHONPATH")] if p]
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK" in result.stdout
