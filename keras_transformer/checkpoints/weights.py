"""Putting a checkpoint's named arrays into a model's weights, checked."""

import numpy as np

from keras_transformer.errors import ConfigError
from keras_transformer.models.lora import without_adapters


def dense(tensors, name, transpose=True):
    """``{kernel, bias}`` of a torch ``Linear``: ``name.weight`` is (out,
    in), a Keras kernel (in, out)."""
    weight = take(tensors, f"{name}.weight")
    return {
        "kernel": weight.T if transpose else weight,
        "bias": take(tensors, f"{name}.bias"),
    }


def attention(tensors, query, key, value, output, heads):
    """Our (D, N, H) projections and (N, H, D) output of the four torch
    ``Linear`` layers of an attention block (their names, in this order).
    """
    values = {}
    for part, name in (("query", query), ("key", key), ("value", value)):
        linear = dense(tensors, name)
        size = linear["kernel"].shape[0]
        shape = (heads, size // heads)
        values[f"{part}/kernel"] = linear["kernel"].reshape((size,) + shape)
        values[f"{part}/bias"] = linear["bias"].reshape(shape)
    linear = dense(tensors, output)
    size = linear["kernel"].shape[1]
    values["attention_output/kernel"] = linear["kernel"].reshape(
        (heads, size // heads, size)
    )
    values["attention_output/bias"] = linear["bias"]
    return values


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
    """Sets every weight of ``model`` (a model or a part of one; LoRA
    adapters aside) from ``values`` (weight path -> array).

    Raises:
        ConfigError: a weight has no value, or a value's shape differs
            (naming the weight and both shapes).
    """
    weights = without_adapters(model)
    missing = [w.path for w in weights if w.path not in values]
    if missing:
        raise ConfigError(
            f"the checkpoint gives no value for {missing[0]!r} "
            f"({len(missing)} weight(s) in all): the model and the "
            "checkpoint's architecture differ."
        )
    for weight in weights:
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


def tied(tensors, names, reference):
    """Marks the tensors ``names`` (copies of one tied matrix that a
    checkpoint may store again) used, once checked equal to
    ``reference``.

    Raises:
        ConfigError: a copy differs: the checkpoint's weights are not tied.
    """
    for name in names:
        if name not in tensors:
            continue
        tensors.used.add(name)
        copy = np.asarray(tensors[name], dtype="float32")
        if copy.shape != reference.shape or (copy != reference).any():
            raise ConfigError(
                f"the checkpoint's {name!r} differs from the matrix it is "
                "tied to in config.json: its weights are not tied, which "
                "this package's model of it requires."
            )


__all__ = [
    "Tensors",
    "assign",
    "attention",
    "dense",
    "flatten",
    "norm",
    "take",
    "tied",
]
