"""Choosing a tf.distribute strategy, mixed precision and XLA per device."""

import json
import os

import keras
import tensorflow as tf

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")


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
        tpu: the TPU name or address ("" or "local" for a TPU VM).

    Returns:
        A strategy; build and compile the model inside ``strategy.scope()``.
    """
    if name not in STRATEGIES:
        raise ValueError(
            f"Unknown strategy {name!r}; choose one of {list(STRATEGIES)}."
        )
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


def accelerator_kind(strategy):
    """ "tpu", "gpu" or "cpu": what the strategy's devices are."""
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
    if kind == "gpu":
        details = tf.config.experimental.get_device_details(
            tf.config.list_physical_devices("GPU")[0]
        )
        if details.get("compute_capability", (0, 0))[0] >= 7:
            return "mixed_float16"
    return "float32"


def resolve_jit_compile(setting, strategy):
    """True/False for ``setting`` ("auto": XLA on GPU and TPU only)."""
    if setting == "auto":
        return accelerator_kind(strategy) in ("gpu", "tpu")
    return setting == "true"


def set_precision(policy):
    """Sets the global Keras dtype policy (before building the model)."""
    keras.config.set_dtype_policy(policy)
