"""Hugging Face checkpoint directories -> this package's models, no torch.

``load_huggingface(path)`` reads ``config.json``, dispatches on its
``model_type`` to the family's module, reads ``model.safetensors`` with
the ``safetensors`` package's NumPy API, and returns ``(model,
tokenizer)``. Every refusal is one ``ConfigError`` line naming the problem:
an unknown ``model_type``, a missing tensor, a shape mismatch (the tensor
and both shapes), an unsupported setting. The tensors the model did not
use (a pooler, say) are reported through ``log``.
"""

import json
import os

from keras_transformer.checkpoints import bert, gpt2, marian
from keras_transformer.checkpoints.weights import Tensors, assign
from keras_transformer.data.tokenizers.byte_pair import BytePairTokenizer
from keras_transformer.data.tokenizers.marian import MarianTokenizer
from keras_transformer.data.tokenizers.wordpiece import WordPieceTokenizer
from keras_transformer.errors import ConfigError
from keras_transformer.models.parts import find_parts

#: ``model_type`` -> ``(family module, tokenizer class)``.
FAMILIES = {
    "bert": (bert, WordPieceTokenizer),
    "marian": (marian, MarianTokenizer),
    "gpt2": (gpt2, BytePairTokenizer),
}
WEIGHTS_FILE = "model.safetensors"


def is_checkpoint(path):
    """Whether ``path`` is a Hugging Face checkpoint directory (it has a
    ``config.json``; a run directory has a ``config.yaml``)."""
    return os.path.isfile(os.path.join(path, "config.json"))


def read_config(path):
    """``path/config.json`` as a dict.

    Raises:
        ConfigError: the file is missing, not JSON or not an object.
    """
    config_path = os.path.join(path, "config.json")
    if not os.path.isfile(config_path):
        raise ConfigError(
            f"{path} is not a Hugging Face checkpoint directory: it has no "
            "config.json."
        )
    try:
        with open(config_path, encoding="utf-8") as handle:
            hf = json.load(handle)
    except (ValueError, UnicodeDecodeError) as err:
        raise ConfigError(f"{config_path} is not valid JSON ({err}).") from None
    if not isinstance(hf, dict):
        raise ConfigError(f"{config_path} is not a JSON object.")
    return hf


def read_safetensors(path):
    """The arrays of ``path/model.safetensors`` by name (float32 or as
    stored).

    Raises:
        ConfigError: the file is missing or unreadable.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    weights_path = os.path.join(path, WEIGHTS_FILE)
    if not os.path.isfile(weights_path):
        raise ConfigError(
            f"{path} has no {WEIGHTS_FILE}: download the checkpoint's "
            "safetensors weights (pytorch_model.bin is not read)."
        )
    try:
        return load_file(weights_path)
    except (SafetensorError, OSError, ValueError, TypeError) as err:
        raise ConfigError(f"{weights_path} cannot be read ({err}).") from None


def family_of(hf):
    """The ``(module, tokenizer class)`` of a ``config.json``."""
    model_type = hf.get("model_type")
    if model_type not in FAMILIES:
        raise ConfigError(
            f"config.json: model_type {model_type!r} is not supported; "
            f"supported: {', '.join(sorted(FAMILIES))}."
        )
    return FAMILIES[model_type]


def load_huggingface(path, log=print):
    """A Hugging Face checkpoint as this package's model and tokenizer.

    Args:
        path: a directory with ``config.json``, ``model.safetensors`` and
            the tokenizer's files (``tokenizer.json`` or ``vocab.txt``).
        log: where the list of unused tensors goes.

    Returns:
        ``(model, tokenizer)``: e.g. a ``TextEncoder`` and a
        ``WordPieceTokenizer`` for a BERT encoder without a head; the
        model of the head's task otherwise (see ``checkpoints.bert``).

    Raises:
        ConfigError: one line naming what cannot be loaded.

    Example:

    >>> model, tokenizer = load_huggingface("all-MiniLM-L6-v2")
    >>> ids = tokenizer.tokenize(["Hello"], add_bos=True, add_eos=True)
    >>> model({"tokens": ids.to_tensor()}).shape
    TensorShape([1, 3, 384])
    """
    hf = read_config(path)
    family, tokenizer_class = family_of(hf)
    tensors = Tensors(read_safetensors(path))
    model = family.build(hf, tensors)
    unused = tensors.unused(family.BUFFERS)
    if unused:
        shown = ", ".join(unused[:8]) + (" ..." if len(unused) > 8 else "")
        log(f"Not used: {len(unused)} tensor(s) of {path}: {shown}")
    return model, load_tokenizer(path)


def load_tokenizer(path):
    """The tokenizer of a checkpoint directory (e.g. a
    ``WordPieceTokenizer``).

    Raises:
        ConfigError: its files are missing or of another kind.
    """
    _, tokenizer_class = family_of(read_config(path))
    try:
        tokenizer = tokenizer_class.from_huggingface(path)
    except (OSError, ValueError, KeyError) as err:
        raise ConfigError(f"{path}: {err}") from None
    if tokenizer.pad_id != 0:
        raise ConfigError(
            f"{path}: the tokenizer's padding id is {tokenizer.pad_id}; this "
            "package's models pad with id 0."
        )
    return tokenizer


def pretrained_config(path):
    """The ``TransformerConfig`` of a checkpoint's encoder.

    Raises:
        ConfigError: an unsupported ``model_type`` or setting.
    """
    hf = read_config(path)
    family, _ = family_of(hf)
    return family.config(hf)


#: The parts of a model that fine-tuning copies from a checkpoint, by
#: attribute (``embedding``, ``encoder``, ``decoder``, ``output_bias``) or
#: layer name (``pooler``): those the checkpoint has.
PRETRAINED_PARTS = ("embedding", "encoder", "decoder", "output_bias", "pooler")


def load_encoder(path, model):
    """Copies a checkpoint's pretrained parts into ``model``: its
    ``embedding`` and ``encoder``; the ``decoder`` and ``output_bias`` of
    an encoder-decoder (all of a Marian model); and the pooler when
    ``model`` has a layer ``pooler`` and the checkpoint one. The model's
    other layers (a new head) are left as they are.

    Args:
        path: the checkpoint directory.
        model: a model of this package built from
            ``pretrained_config(path)``.

    Returns:
        The layers copied, in ``PRETRAINED_PARTS`` order.

    Raises:
        ConfigError: a missing tensor or a shape that does not fit.
    """
    values = _pretrained_values(path)
    copied = []
    for _, layer in find_parts(model, pretrained_parts(path, model, values)):
        assign(layer, values)
        copied.append(layer)
    return copied


def pretrained_parts(path, model, values=None):
    """The names of the parts of ``model`` that the checkpoint at ``path``
    fills (``PRETRAINED_PARTS`` that both have)."""
    if values is None:
        values = _pretrained_values(path)
    return [
        name
        for name, _ in find_parts(model, PRETRAINED_PARTS)
        if any(key.startswith(f"{name}/") for key in values)
    ]


def _pretrained_values(path):
    hf = read_config(path)
    family, _ = family_of(hf)
    return family.pretrained_values(hf, Tensors(read_safetensors(path)))


__all__ = [
    "FAMILIES",
    "PRETRAINED_PARTS",
    "family_of",
    "is_checkpoint",
    "load_encoder",
    "load_huggingface",
    "load_tokenizer",
    "pretrained_config",
    "pretrained_parts",
    "read_config",
    "read_safetensors",
]
