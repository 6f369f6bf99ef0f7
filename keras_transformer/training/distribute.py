"""Choosing a tf.distribute strategy, mixed precision and XLA per device.

Under the JAX backend there is no ``tf.distribute``: training runs on every
JAX device through ``keras.distribution`` (``jax_devices``), XLA is always
on, and TensorFlow, which only feeds the data, is kept off the
accelerators.
"""

import contextlib
import json
import os

import keras
import tensorflow as tf

from keras_transformer import backend
from keras_transformer.errors import ConfigError
from keras_transformer.training.jax_devices import JaxDevices

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")


def _jax_strategy(name, tpu, model_parallel):
    """``JaxDevices``: all devices for "auto", the first for "one_device";
    a one-line error for the strategies of ``tf.distribute`` and ``tpu``."""
    if name not in ("auto", "one_device") or tpu is not None:
        setting = (
            f"training.strategy: {name}"
            if tpu is None
            else f"training.tpu: {tpu!r}"
        )
        raise ConfigError(
            f"{setting} needs tf.distribute, which only the TensorFlow "
            "backend has: under KERAS_BACKEND=jax use training.strategy: "
            "auto (every JAX device) or one_device, without training.tpu, "
            "or train with KERAS_BACKEND=tensorflow."
        )
    if name == "one_device" and model_parallel > 1:
        raise ConfigError(
            f"training.model_parallel={model_parallel} shards the model "
            "over several devices, and training.strategy: one_device gives "
            "one: use training.strategy: auto."
        )
    backend.keep_tensorflow_off_accelerators()
    import jax

    devices = jax.devices()
    return JaxDevices(
        devices[:1] if name == "one_device" else devices, model_parallel
    )


def _check_model_parallel(model_parallel):
    if model_parallel > 1 and not backend.is_jax():
        raise ConfigError(
            f"training.model_parallel={model_parallel} shards the model with "
            "keras.distribution, which runs under KERAS_BACKEND=jax: train "
            "with KERAS_BACKEND=jax, or set model_parallel: 1."
        )


def _connect_tpu(tpu):
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def get_strategy(name="auto", tpu=None, model_parallel=1):
    """Returns the ``tf.distribute.Strategy`` for ``name``.

    Args:
        name: "auto" (a TPU if ``tpu`` is given, else MirroredStrategy over
            several GPUs, else the default single-device strategy),
            "one_device", "mirrored" (all GPUs; without GPUs all logical
            CPU devices), "multi_worker" (reads ``TF_CONFIG``) or "tpu".
            Under the JAX backend "auto" (every JAX device: data
            parallel, or model parallel with ``model_parallel``) or
            "one_device" (the first).
        tpu: the TPU name or address ("" or "local" for a TPU VM).
        model_parallel: under JAX, the devices each copy of the model is
            sharded over (``jax_devices.MODEL_PARALLEL_LAYOUT``).

    Returns:
        A strategy (a ``jax_devices.JaxDevices`` under JAX); build and
        compile the model inside ``strategy.scope()``.

    Raises:
        ConfigError: under JAX, a ``tf.distribute`` strategy or a TPU was
            asked for; under TensorFlow, ``model_parallel`` above 1.
    """
    if name not in STRATEGIES:
        raise ValueError(
            f"Unknown strategy {name!r}; choose one of {list(STRATEGIES)}."
        )
    _check_model_parallel(model_parallel)
    if backend.is_jax():
        return _jax_strategy(name, tpu, model_parallel)
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


def describe(strategy):
    """The replicas (and, under JAX, the devices) of ``strategy``, for the
    start of training."""
    replicas = f"{strategy.num_replicas_in_sync} replica(s)"
    if isinstance(strategy, JaxDevices):
        return f"{replicas} ({strategy.describe()})"
    return replicas


def batch_multiple(strategy):
    """What training batch sizes must divide by: under JAX, the replicas
    (``keras.distribution`` splits a batch evenly); else 1
    (``tf.distribute`` splits any batch).

    Args:
        strategy: from ``get_strategy``.

    Returns:
        An int, at least 1.
    """
    if isinstance(strategy, JaxDevices):
        return strategy.num_replicas_in_sync
    return 1


def training_scope(strategy):
    """The context ``fit`` runs in: under JAX, the distribution (the
    trainer splits batches by the current one); else none (a
    ``tf.distribute`` model keeps its strategy).

    Returns:
        A context manager.
    """
    if isinstance(strategy, JaxDevices):
        return strategy.scope()
    return contextlib.nullcontext()


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


def accelerator_kind(strategy):
    """ "tpu", "gpu" or "cpu": what the strategy's devices are.

    Args:
        strategy: a ``tf.distribute.Strategy``, or a
            ``jax_devices.JaxDevices``.

    Returns:
        The kind of device, a str.
    """
    if isinstance(strategy, JaxDevices):
        platform = strategy.platform
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
    if isinstance(strategy, JaxDevices):
        capability = getattr(strategy.devices[0], "compute_capability", "0")
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
