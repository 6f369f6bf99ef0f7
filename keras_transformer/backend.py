"""The Keras backend that runs the model, and what depends on it.

The model runs on the Keras backend (``KERAS_BACKEND``: ``tensorflow``, the
default, or ``jax``). TensorFlow serves every backend as the input pipeline
(``tf.data``) and as the predictors' text graphs (tokenization and
detokenization); only the SavedModel export needs the TensorFlow backend
itself. A run directory does not depend on the backend that trained it:
a run trained under JAX resumes, evaluates and exports under TensorFlow,
and the other way round.

This module imports Keras and TensorFlow only when a function needs them.
"""

import contextlib

from keras_transformer.errors import ConfigError


def name():
    """The active Keras backend's name, e.g. ``"tensorflow"`` or ``"jax"``.

    Returns:
        ``keras.backend.backend()``.
    """
    import keras

    return keras.backend.backend()


def is_jax():
    """Whether the models run on JAX.

    Returns:
        True under ``KERAS_BACKEND=jax``.
    """
    return name() == "jax"


def require_tensorflow(what):
    """Refuses ``what`` unless the TensorFlow backend is active.

    Args:
        what: the operation, for the message (e.g. "export (a
            SavedModel is a TensorFlow graph)").

    Raises:
        ConfigError: another backend is active; the message names the fix.
    """
    if name() != "tensorflow":
        raise ConfigError(
            f"{what} needs the TensorFlow backend, not KERAS_BACKEND="
            f"{name()}: run it with KERAS_BACKEND=tensorflow (the default); "
            "a run trained under any backend can be used."
        )


def keep_tensorflow_off_accelerators():
    """Under JAX, hides the GPUs from TensorFlow, which then only feeds the
    data: otherwise it would take the GPU memory that JAX needs.

    Does nothing under TensorFlow, or once TensorFlow has set up its
    devices (call it before any TensorFlow work).
    """
    if not is_jax():
        return
    import tensorflow as tf

    try:
        tf.config.set_visible_devices([], "GPU")
    except RuntimeError:  # TensorFlow's devices were already set up
        pass


@contextlib.contextmanager
def eager_predictors():
    """Lets the predictors run in-process under any backend.

    A predictor's ``serve`` is a ``tf.function``: a TensorFlow graph can
    call the model only under the TensorFlow backend. Under JAX the
    ``tf.function``s run eagerly inside this context (TensorFlow tokenizes
    eagerly and the model and its searches run as JAX computations), so
    ``predict`` gives the same outputs; under TensorFlow nothing changes.

    Yields:
        None.
    """
    if not is_jax():
        yield
        return
    import tensorflow as tf

    previous = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(previous)


__all__ = [
    "eager_predictors",
    "is_jax",
    "keep_tensorflow_off_accelerators",
    "name",
    "require_tensorflow",
]
