"""Putting a checkpoint's named arrays into a model's weights, checked."""

import numpy as np

from keras_transformer.errors import ConfigError


def dense(tensors, name, transpose=True):
    """``{kernel, bias}`` of a torch ``Linear``: ``name.weight`` is (out,
    in), a Keras kernel (in, out)."""
    weight = take(tensors, f"{name}.weight")
    return {
        "kernel": weight.T if transpose else weight,
        "bias": take(tensors, f"{name}.bias"),
    }


def norm(tensors, name):
    """``{gamma, beta}`` of a torch ``LayerNorm``."""
    return {
        "gamma": take(tensors, f"{name}.weight"),
        "beta": take(tensors, f"{name}.bias"),
    }


def take(tensors, name):
    """``tensors[name]`` as float32, marking it used.

    Raises:
        ConfigError: the checkpoint has no tensor of that name.
    """
    if name not in tensors:
        raise ConfigError(
            f"the checkpoint has no tensor {name!r}: it is not the "
            "architecture its config.json names (or the file is incomplete)."
        )
    tensors.used.add(name)
    return np.asarray(tensors[name], dtype="float32")


class Tensors(dict):
    """The checkpoint's arrays by name, remembering which were used."""

    def __init__(self, arrays):
        super().__init__(arrays)
        self.used = set()

    def unused(self, ignored=()):
        """The names never taken, but those in ``ignored`` (buffers)."""
        return sorted(set(self) - self.used - set(ignored))


def assign(model, values):
    """Sets every weight of ``model`` from ``values`` (weight path ->
    array).

    Raises:
        ConfigError: a weight has no value, or a value's shape differs
            (naming the weight and both shapes).
    """
    missing = [w.path for w in model.weights if w.path not in values]
    if missing:
        raise ConfigError(
            f"the checkpoint gives no value for {missing[0]!r} "
            f"({len(missing)} weight(s) in all): the model and the "
            "checkpoint's architecture differ."
        )
    for weight in model.weights:
        value = values[weight.path]
        if tuple(value.shape) != tuple(weight.shape):
            raise ConfigError(
                f"shape mismatch for {weight.path}: the checkpoint has "
                f"{tuple(value.shape)}, the model {tuple(weight.shape)}."
            )
        weight.assign(value)


def flatten(prefix, values):
    """``{"prefix/key": array}`` of ``{key: array}``."""
    return {f"{prefix}/{key}": value for key, value in values.items()}


__all__ = ["Tensors", "assign", "dense", "flatten", "norm", "take"]
