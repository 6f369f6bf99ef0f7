"""Choosing a tf.distribute strategy, mixed precision and XLA per device.

Under the JAX backend there is no ``tf.distribute``: training runs on JAX's
default device (``DefaultDevice``), XLA is always on, and TensorFlow, which
only feeds the data, is kept off the accelerators.
"""

import contextlib
import json
import os

import keras
import tensorflow as tf

from keras_transformer import backend
from keras_transformer.errors import ConfigError

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")


class DefaultDevice:
    """The strategy of a JAX run: one process on JAX's default device.

    It has what training reads from a ``tf.distribute.Strategy``: a
    ``scope()`` (which does nothing), ``num_replicas_in_sync`` (1) and no
    ``cluster_resolver`` (the process is the chief).
    """

    num_replicas_in_sync = 1
    cluster_resolver = None

    def scope(self):
        """A context that changes nothing.

        Returns:
            ``contextlib.nullcontext()``.
        """
        return contextlib.nullcontext()


def _jax_strategy(name, tpu):
    """``DefaultDevice`` for "auto"; a one-line error for the strategies of
    ``tf.distribute`` and for ``tpu``."""
    if name != "auto" or tpu is not None:
        setting = (
            f"training.strategy: {name}"
            if name != "auto"
            else f"training.tpu: {tpu!r}"
        )
        raise ConfigError(
            f"{setting} needs tf.distribute, which only the TensorFlow "
            "backend has: under KERAS_BACKEND=jax use training.strategy: "
            "auto (JAX's default device) without training.tpu, or train "
            "with KERAS_BACKEND=tensorflow."
        )
    backend.keep_tensorflow_off_accelerators()
    return DefaultDevice()


def _connect_tpu(tpu):
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def get_strategy(name="auto", tpu=None):
    """Returns the ``tf.distribute.Strategy`` for ``name``.

    Args:
        name: "auto" (a TPU if ``tpu`` is given, else MirroredStrategy over
            several GPUs, else the default single-device strategy),
            "one_device", "mirrored" (all GPUs; without GPUs all logical
            CPU devices), "multi_worker" (reads ``TF_CONFIG``) or "tpu".
            Under the JAX backend only "auto": JAX's default device.
        tpu: the TPU name or address ("" or "local" for a TPU VM).

    Returns:
        A strategy (a ``DefaultDevice`` under JAX); build and compile the
        model inside ``strategy.scope()``.

    Raises:
        ConfigError: under JAX, a ``tf.distribute`` strategy or a TPU was
            asked for.
    """
    if name not in STRATEGIES:
        raise ValueError(
            f"Unknown strategy {name!r}; choose one of {list(STRATEGIES)}."
        )
    if backend.is_jax():
        return _jax_strategy(name, tpu)
    # Before anything else touches the TensorFlow runtime: collective ops
    # must be configured at program start-up.
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "strategy 'multi_worker' needs the TF_CONFIG environment "
                "variable describing the cluster and this worker's task, e.g. "
                + json.dumps(
                    {
                        "cluster": {"worker": ["host1:2222", "host2:2222"]},
                        "task": {"type": "worker", "index": 0},
                    }
                )
            )
        from keras_transformer.training import multi_worker_fix

        multi_worker_fix.apply()  # keras-team/keras#20585
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        if tpu is not None:
            return _connect_tpu(tpu)
        if len(gpus) > 1:
            return tf.distribute.MirroredStrategy()
        return tf.distribute.get_strategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "mirrored":
        if gpus:
            return tf.distribute.MirroredStrategy()
        # No GPU: mirror over the logical CPU devices (tests, debugging).
        cpus = [device.name for device in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(cpus)
    return _connect_tpu(tpu if tpu is not None else "local")


def is_chief(strategy):
    """Whether this process writes the run's files (worker 0 or alone)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type in (None, "chief") or (
        resolver.task_type == "worker" and resolver.task_id == 0
    )


def worker_workdir(strategy, workdir):
    """``workdir`` for the chief; a private folder for the other workers.

    Every worker runs the same program; only the chief's files count, and
    the others write their checkpoints and logs apart so that nothing
    collides.
    """
    if is_chief(strategy):
        return workdir
    resolver = strategy.cluster_resolver
    return os.path.join(
        workdir, "workers", f"{resolver.task_type}_{resolver.task_id}"
    )


def _jax_device():
    import jax

    return jax.devices()[0]


def accelerator_kind(strategy):
    """ "tpu", "gpu" or "cpu": what the strategy's devices are.

    Args:
        strategy: a ``tf.distribute.Strategy``, or ``DefaultDevice``
            (JAX's default device).

    Returns:
        The kind of device, a str.
    """
    if isinstance(strategy, DefaultDevice):
        platform = _jax_device().platform
        if platform in ("tpu", "cpu"):
            return platform
        return "gpu"  # "gpu", "cuda" or "rocm"
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "tpu"
    try:
        devices = strategy.extended.worker_devices
    except RuntimeError:  # the default strategy: whatever TF places on
        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    if any("GPU" in device.upper() for device in devices):
        return "gpu"
    return "cpu"


def resolve_mixed_precision(setting, strategy):
    """The dtype policy name for ``setting`` ("auto" picks per device).

    auto: mixed_bfloat16 on TPU, mixed_float16 on GPUs with tensor cores
    (compute capability 7.0+), float32 on CPU.
    """
    if setting != "auto":
        return setting
    kind = accelerator_kind(strategy)
    if kind == "tpu":
        return "mixed_bfloat16"
    if kind == "gpu" and _compute_capability(strategy) >= 7:
        return "mixed_float16"
    return "float32"


def _compute_capability(strategy):
    """The major CUDA compute capability of the first GPU (0: unknown)."""
    if isinstance(strategy, DefaultDevice):
        capability = getattr(_jax_device(), "compute_capability", "0")
        try:
            return int(str(capability).split(".")[0])
        except ValueError:
            return 0
    details = tf.config.experimental.get_device_details(
        tf.config.list_physical_devices("GPU")[0]
    )
    return details.get("compute_capability", (0, 0))[0]


def resolve_jit_compile(setting, strategy=None):
    """True/False for ``setting``.

    Args:
        setting: "auto", "true" or "false" (``training.jit_compile``).
        strategy: the training strategy (None: the default device).

    Returns:
        Whether to compile with XLA. "auto": always under JAX (its normal
        path; without it every op runs on its own), and under TensorFlow on
        GPU and TPU only.
    """
    if setting == "auto":
        if backend.is_jax():
            return True
        if strategy is None:
            strategy = tf.distribute.get_strategy()
        return accelerator_kind(strategy) in ("gpu", "tpu")
    return setting == "true"


def set_precision(policy):
    """Sets the global Keras dtype policy (before building the model)."""
    keras.config.set_dtype_policy(policy)
