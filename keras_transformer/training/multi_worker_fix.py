"""Workaround: Keras 3 ``fit`` under ``MultiWorkerMirroredStrategy``.

With the TensorFlow backend, Keras 3.15 fails to train under
``tf.distribute.MultiWorkerMirroredStrategy`` (keras-team/keras#20585) in
two places of ``keras/src/backend/tensorflow/trainer.py``:

1. ``TensorFlowTrainer._maybe_symbolic_build`` reduces a whole *data batch*
   across workers with ``strategy.reduce("MEAN", ...)`` only to learn its
   shapes; the collective reduce of a ``PerReplica`` batch fails ("Attempt
   to convert a value (PerReplica...) to a Tensor"). The fix takes this
   worker's local batch instead: shapes and dtypes are all the build needs.
2. ``reduce_per_replica`` reduces the scalar loss and metric values with
   ``strategy.reduce("MEAN", v, axis=0)``; a scalar has no axis 0 ("Invalid
   reduction dimension 0 for input with 0 dimensions"). The fix reduces
   rank-0 values with ``axis=None`` (the cross-replica mean).

``apply()`` patches both, once, and only changes behaviour under a
multi-worker collective strategy. ``tests/training/test_multi_worker_fix.py``
fails when the patched Keras functions change, so the patch is re-checked
(and dropped once Keras is fixed) on every Keras upgrade.
"""

import hashlib
import inspect

import tensorflow as tf
from keras.src import tree
from keras.src.backend.tensorflow import trainer as tf_trainer

#: sha256 of the Keras sources this workaround was written against.
PATCHED_SOURCES = {
    "TensorFlowTrainer._maybe_symbolic_build": (
        "92a504f5eba9b29f81f1bf26180bdd5bf5186b06b7bda426534b90d2d02bc1c2"
    ),
    "reduce_per_replica": (
        "2e7d54b1e6edc29a8c6a7e6b66cd4c8be3ba7842412c93753ac3afe169fa7fb8"
    ),
}

_ORIGINALS = {
    "TensorFlowTrainer._maybe_symbolic_build": (
        tf_trainer.TensorFlowTrainer._maybe_symbolic_build
    ),
    "reduce_per_replica": tf_trainer.reduce_per_replica,
}


def source_hash(name):
    """sha256 of the current Keras source of a patched function."""
    source = inspect.getsource(_ORIGINALS[name])
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def _is_multi_worker(strategy):
    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    )


def _maybe_symbolic_build(self, iterator=None, data_batch=None):
    strategy = self._distribute_strategy
    if strategy is None or not _is_multi_worker(strategy):
        return _ORIGINALS["TensorFlowTrainer._maybe_symbolic_build"](
            self, iterator=iterator, data_batch=data_batch
        )
    if iterator is not None:
        for _, _, batches in iterator:
            batch = next(batches)
            data_batch = tree.map_structure(
                lambda x: (
                    strategy.experimental_local_results(x)[0]
                    if isinstance(x, tf.distribute.DistributedValues)
                    else x
                ),
                batch,
            )
            break
    with strategy.scope():
        self._symbolic_build(data_batch=data_batch)


def _reduce_per_replica(values, strategy, reduction):
    if reduction in ("auto", "mean") and _is_multi_worker(strategy):

        def reduce(value):
            if isinstance(value, tf.distribute.DistributedValues):
                rank = value.values[0].shape.rank
                return strategy.reduce("MEAN", value, axis=0 if rank else None)
            return value

        return tree.map_structure(reduce, values)
    return _ORIGINALS["reduce_per_replica"](values, strategy, reduction)


_applied = False


def apply():
    """Installs both patches (idempotent)."""
    global _applied
    if _applied:
        return
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    tf_trainer.reduce_per_replica = _reduce_per_replica
    _applied = True
