"""GPT-2 checkpoints: ``GPT2LMHeadModel`` as a ``LanguageModel``.

GPT-2 is the paper's decoder without cross-attention, with switches set
otherwise: pre-LN with a final LayerNorm (``ln_f``), learned positions, no
sqrt(D) scaling of embeddings, GELU's tanh approximation (``gelu_tanh``),
LayerNorm epsilon 1e-5, and the output tied to the token embeddings. Its
``Conv1D`` weights are already (in, out); ``c_attn`` holds the query, key
and value projections side by side.

GPT-2 has one special token, ``<|endoftext|>``, for all of this package's
special ids. The embedding rows are reordered by ``checkpoint_order``, as
``BytePairTokenizer``'s ids are: ``<|endoftext|>`` is copied to PAD 0, UNK
1, BOS 2 and EOS 3, the other tokens follow (GPT-2's id + 4). The searches
never generate PAD or BOS, and the model's ``suppressed_ids`` keep them
from generating UNK: only the EOS copy of ``<|endoftext|>`` ends a text.
"""

import numpy as np

from keras_transformer.checkpoints.config_json import (
    activation,
    architecture,
    setting,
)
from keras_transformer.checkpoints.weights import (
    assign,
    flatten,
    norm,
    take,
    tied,
)
from keras_transformer.errors import ConfigError
from keras_transformer.models import LanguageModel, TransformerConfig
from keras_transformer.special_tokens import (
    SPECIAL_NAMES,
    UNK_ID,
    checkpoint_order,
)

#: The architectures ``build`` knows (none named: the first).
ARCHITECTURES = ("GPT2LMHeadModel", "GPT2Model")
#: Tensors of a checkpoint that hold no weight: none by name (the causal
#: mask buffers of older files, ``h.<i>.attn.bias``, are marked used).
BUFFERS = ()
_MASKS = (".attn.bias", ".attn.masked_bias")


def gpt2_order(hf):
    """``checkpoint_order`` of a GPT-2 ``config.json``: this package's id
    -> the checkpoint's id (``<|endoftext|>`` for every special id)."""
    end = setting(hf, "eos_token_id", 50256)
    size = setting(hf, "vocab_size")
    return checkpoint_order(size, dict.fromkeys(SPECIAL_NAMES, end))


def config(hf):
    """The ``TransformerConfig`` of a GPT-2 ``config.json`` (a dict).

    Raises:
        ConfigError: a setting this package does not implement.
    """
    for key, value in (
        ("scale_attn_by_inverse_layer_idx", False),
        ("scale_attn_weights", True),
        ("add_cross_attention", False),
        ("tie_word_embeddings", True),
    ):
        if hf.get(key, value) != value:
            raise ConfigError(
                f"config.json: {key}={hf[key]!r} is not supported (only "
                f"{value!r}, as in GPT-2)."
            )
    width = setting(hf, "n_embd")
    return TransformerConfig(
        vocab_size=len(gpt2_order(hf)),
        num_layers=setting(hf, "n_layer"),
        d_model=width,
        num_heads=setting(hf, "n_head"),
        ff_dim=hf.get("n_inner") or 4 * width,
        dropout=hf.get("resid_pdrop", 0.1),
        attention_dropout=hf.get("attn_pdrop", 0.1),
        activation=activation(hf, "activation_function", "gelu_new"),
        norm_first=True,
        position="learned",
        max_length=setting(hf, "n_positions"),
        layer_norm_epsilon=hf.get("layer_norm_epsilon", 1e-5),
        tie_embeddings=True,
        scale_embeddings=False,
        suppressed_ids=(UNK_ID,),
    )


def _conv(tensors, name):
    """``{kernel, bias}`` of a GPT-2 ``Conv1D``: already (in, out)."""
    return {
        "kernel": take(tensors, f"{name}.weight"),
        "bias": take(tensors, f"{name}.bias"),
    }


def _attention(tensors, name, heads):
    """Our attention weights of the fused ``c_attn`` and of ``c_proj``."""
    fused = _conv(tensors, f"{name}.c_attn")
    width = fused["kernel"].shape[0]
    shape = (heads, width // heads)
    values = {}
    for index, part in enumerate(("query", "key", "value")):
        columns = slice(index * width, (index + 1) * width)
        kernel = fused["kernel"][:, columns]
        values[f"{part}/kernel"] = kernel.reshape((width,) + shape)
        values[f"{part}/bias"] = fused["bias"][columns].reshape(shape)
    output = _conv(tensors, f"{name}.c_proj")
    values["attention_output/kernel"] = output["kernel"].reshape(
        shape + (width,)
    )
    values["attention_output/bias"] = output["bias"]
    return values


def _layer(tensors, name, heads):
    return {
        **flatten("self_attention", _attention(tensors, f"{name}.attn", heads)),
        **flatten("self_attention_norm", norm(tensors, f"{name}.ln_1")),
        **flatten(
            "feed_forward/inner_dense", _conv(tensors, f"{name}.mlp.c_fc")
        ),
        **flatten(
            "feed_forward/outer_dense", _conv(tensors, f"{name}.mlp.c_proj")
        ),
        **flatten("feed_forward_norm", norm(tensors, f"{name}.ln_2")),
    }


def _prefix(tensors):
    """``"transformer."`` for a file with the head, ``""`` for the
    original GPT-2 files and ``GPT2Model``."""
    return "transformer." if "transformer.wte.weight" in tensors else ""


def values(hf, tensors, transformer_config):
    """Every weight of the ``LanguageModel`` (path -> array), the
    vocabulary reordered (see the module docstring)."""
    prefix = _prefix(tensors)
    tensors.used.update(name for name in tensors if name.endswith(_MASKS))
    tokens = take(tensors, f"{prefix}wte.weight")
    tied(tensors, ("lm_head.weight",), tokens)
    result = {
        "embedding/token_embedding/embeddings": tokens[
            np.asarray(gpt2_order(hf))
        ],
        "embedding/position_embedding/embeddings": take(
            tensors, f"{prefix}wpe.weight"
        ),
        **flatten("decoder/final_norm", norm(tensors, f"{prefix}ln_f")),
    }
    heads = transformer_config.num_heads
    for index in range(transformer_config.num_layers):
        layer = _layer(tensors, f"{prefix}h.{index}", heads)
        result.update(flatten(f"decoder/layer_{index}", layer))
    return result


def pretrained_values(hf, tensors):
    """The weights fine-tuning starts from: all of them (path -> array)."""
    return values(hf, tensors, config(hf))


def build(hf, tensors):
    """The ``LanguageModel`` of a ``GPT2LMHeadModel`` (or ``GPT2Model``)
    checkpoint.

    Args:
        hf: ``config.json`` (a dict).
        tensors: a ``weights.Tensors`` of the checkpoint's arrays.

    Returns:
        A ``LanguageModel`` with the checkpoint's weights.

    Raises:
        ConfigError: an unsupported setting, a missing tensor or a shape
            that does not fit.
    """
    architecture(hf, ARCHITECTURES)
    transformer_config = config(hf)
    model = LanguageModel(transformer_config)
    assign(model, values(hf, tensors, transformer_config))
    return model


__all__ = [
    "BUFFERS",
    "build",
    "config",
    "gpt2_order",
    "pretrained_values",
    "values",
]
