"""keras_transformer: the Transformer of Vaswani et al. (2017) in Keras 3.

Importing the package registers every serializable class (layers, models,
the learning-rate schedule, losses and metrics), so
``keras.saving.load_model("model.keras")`` works after ``import
keras_transformer``. The ``keras-transformer`` command line (and ``python -m
keras_transformer``) defers these imports, and with them TensorFlow, until
its arguments are parsed: ``--help`` and argument errors answer at once.
"""

import os
import sys

__version__ = "0.1.0"

_SUBPACKAGES = ("layers", "models", "training")


def _command_line_start():
    """Whether this import starts the package's own command line."""
    if sys.argv and os.path.basename(sys.argv[0]).startswith(
        "keras-transformer"
    ):
        return True
    arguments = list(getattr(sys, "orig_argv", ()))
    if "-m" in arguments:
        index = arguments.index("-m")
        module = arguments[index + 1] if index + 1 < len(arguments) else ""
        return module.split(".")[0] == "keras_transformer"
    return False


if not _command_line_start():
    from keras_transformer import layers, models, training  # noqa: F401


def __getattr__(name):
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"keras_transformer.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["layers", "models", "training", "__version__"]
