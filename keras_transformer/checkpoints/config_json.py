"""Reading a Hugging Face ``config.json`` (a dict), every refusal one line."""

from keras_transformer.errors import ConfigError

#: Hugging Face activation names -> this package's activation.
ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
}


def setting(hf, key, default=None):
    """``hf[key]`` (``default`` when absent).

    Raises:
        ConfigError: the key is absent and has no default.
    """
    value = hf.get(key, default)
    if value is None:
        raise ConfigError(f"config.json has no {key!r}.")
    return value


def activation(hf, key, default="gelu"):
    """This package's name of the activation ``hf[key]``.

    Raises:
        ConfigError: an activation this package does not implement.
    """
    name = setting(hf, key, default)
    if name not in ACTIVATIONS:
        raise ConfigError(
            f"config.json: {key}={name!r} is not supported; "
            f"supported: {sorted(ACTIVATIONS)}."
        )
    return ACTIVATIONS[name]


def same(hf, *keys):
    """The one value of several keys that this package's models share
    (e.g. the encoder's and the decoder's head count).

    Raises:
        ConfigError: the values differ.
    """
    values = {key: setting(hf, key) for key in keys}
    if len(set(values.values())) > 1:
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        raise ConfigError(
            f"config.json: {shown} differ; this package's models use one "
            "value for both."
        )
    return values[keys[0]]


def architecture(hf, supported):
    """The checkpoint's architecture: the first of ``config.json``'s
    ``architectures``, or ``supported[0]`` when it names none (a bare
    encoder of sentence-transformers, say).

    Raises:
        ConfigError: an architecture not in ``supported``.
    """
    name = (hf.get("architectures") or [supported[0]])[0]
    if name not in supported:
        raise ConfigError(
            f"config.json: architecture {name!r} is not supported; "
            f"supported: {', '.join(supported)}."
        )
    return name


__all__ = ["ACTIVATIONS", "activation", "architecture", "same", "setting"]
