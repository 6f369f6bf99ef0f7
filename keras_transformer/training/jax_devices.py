"""Training on every JAX device with ``keras.distribution``.

Under ``KERAS_BACKEND=jax`` a run uses all of JAX's devices. With more than
one, ``keras.distribution.DataParallel`` replicates the weights and splits
each batch over the devices; with ``training.model_parallel`` K, a
``keras.distribution.ModelParallel`` mesh of (devices / K, K) shards the
attention and feed-forward kernels over K devices (heads and feed-forward
units split, as in Megatron-LM) and splits the batch over the rest.

JAX computes on the global batch (one program over the mesh), so the loss
and the gradients are those of one device on the same batch, up to the
order of floating-point sums.
"""

import contextlib

import keras

from keras_transformer.errors import ConfigError

BATCH_AXIS = "batch"
MODEL_AXIS = "model"

#: Where ``training.model_parallel`` shards: variable paths (regexes that
#: ``keras.distribution.LayoutMap`` matches whole) and the mesh axis of each
#: dimension; every other variable is replicated.
MODEL_PARALLEL_LAYOUT = {
    # The self- and cross-attention of every layer. (D, N, H) and (N, H):
    # the heads split.
    r".*_attention/(query|key|value)/kernel": (None, MODEL_AXIS, None),
    r".*_attention/(query|key|value)/bias": (MODEL_AXIS, None),
    # (N, H, D)
    r".*_attention/attention_output/kernel": (MODEL_AXIS, None, None),
    # (D, F), (F,) and (F, D): the feed-forward units split.
    r".*feed_forward/inner_dense/kernel": (None, MODEL_AXIS),
    r".*feed_forward/inner_dense/bias": (MODEL_AXIS,),
    r".*feed_forward/outer_dense/kernel": (MODEL_AXIS, None),
}


class _CheckedModelParallel(keras.distribution.ModelParallel):
    """``ModelParallel`` that names the variable and the fix when a
    sharded dimension does not divide by the model axis."""

    def get_variable_layout(self, variable):
        layout = super().get_variable_layout(variable)
        shards = self.device_mesh.shape[-1]
        for size, axis in zip(variable.shape, layout.axes):
            if axis == MODEL_AXIS and size % shards:
                raise ConfigError(
                    f"training.model_parallel={shards} cannot split "
                    f"{variable.path} of shape {tuple(variable.shape)}: "
                    f"{size} is not a multiple of {shards}. Choose a "
                    "model_parallel that divides the heads (num_heads) and "
                    "ff_dim."
                )
        return layout


def _layout_map(mesh):
    layout_map = keras.distribution.LayoutMap(mesh)
    for path, axes in MODEL_PARALLEL_LAYOUT.items():
        layout_map[path] = axes
    return layout_map


def make_distribution(devices, model_parallel=1):
    """The ``keras.distribution`` of a run over ``devices``.

    Args:
        devices: JAX devices (``jax.devices()``).
        model_parallel: devices that share one copy of the model (1: data
            parallel only).

    Returns:
        ``DataParallel`` or ``ModelParallel``; None for one device.

    Raises:
        ConfigError: ``model_parallel`` does not divide the devices.
    """
    count = len(devices)
    if count % model_parallel:
        raise ConfigError(
            f"training.model_parallel={model_parallel} does not divide the "
            f"{count} JAX device(s): choose a divisor of {count}, or 1."
        )
    if model_parallel == 1:
        if count == 1:
            return None
        return keras.distribution.DataParallel(devices=devices)
    mesh = keras.distribution.DeviceMesh(
        (count // model_parallel, model_parallel),
        axis_names=(BATCH_AXIS, MODEL_AXIS),
        devices=devices,
    )
    return _CheckedModelParallel(
        layout_map=_layout_map(mesh), batch_dim_name=BATCH_AXIS
    )


class JaxDevices:
    """The strategy of a JAX run: a ``keras.distribution`` over devices.

    It has what training reads from a ``tf.distribute.Strategy``: a
    ``scope()``, ``num_replicas_in_sync`` (the batch is split that many
    ways) and no ``cluster_resolver`` (one process, the chief).

    Args:
        devices: the JAX devices the run uses.
        model_parallel: devices that share one copy of the model.

    Raises:
        ConfigError: ``model_parallel`` does not divide the devices.
    """

    cluster_resolver = None

    def __init__(self, devices, model_parallel=1):
        self.devices = list(devices)
        self.model_parallel = model_parallel
        self.distribution = make_distribution(self.devices, model_parallel)
        self.num_replicas_in_sync = len(self.devices) // model_parallel

    @property
    def platform(self):
        """The devices' platform: "cpu", "gpu" ("cuda", "rocm") or "tpu"."""
        return self.devices[0].platform

    def scope(self):
        """Makes the distribution current: variables created and models
        trained inside are laid out over the devices.

        Returns:
            A context manager (it changes nothing on one device).
        """
        if self.distribution is None:
            return contextlib.nullcontext()
        return self.distribution.scope()

    def describe(self):
        """How the devices are used, for the start of training."""
        count = len(self.devices)
        if self.distribution is None:
            return f"1 {self.platform} device"
        if self.model_parallel == 1:
            return f"{count} {self.platform} devices, data parallel"
        sharded = (
            f"{count} {self.platform} devices, the model sharded over "
            f"{self.model_parallel}"
        )
        if self.num_replicas_in_sync == 1:
            return sharded
        return f"{sharded}, the batch split {self.num_replicas_in_sync} ways"


class ReplicatedEvaluation(keras.callbacks.Callback):
    """Evaluates inside ``fit`` without splitting batches over devices.

    A distributed batch must divide by the devices; evaluation batches do
    not (the last batch of each length bucket is short). During
    evaluation the distribution is set aside: each batch goes to every
    device whole, against the same (replicated or sharded) weights.
    """

    _distribution = None

    def on_test_begin(self, logs=None):
        self._distribution = keras.distribution.distribution()
        keras.distribution.set_distribution(None)

    def on_test_end(self, logs=None):
        keras.distribution.set_distribution(self._distribution)
        self._distribution = None
