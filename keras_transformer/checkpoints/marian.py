"""Marian (OPUS-MT) checkpoints: ``MarianMTModel`` as a ``Transformer``.

Marian is the paper's encoder-decoder with a few switches set otherwise:
post-LN and sqrt(D)-scaled embeddings shared by the encoder, the decoder
and the output, as in the paper; but sinusoidal positions with the sines
and cosines concatenated (``position="sinusoidal_concatenated"``), swish
(``silu``), LayerNorm epsilon 1e-5, and a bias on the logits
(``final_logits_bias``: ``output_bias``).

Its special ids are not this package's (``</s>`` 0, ``<unk>`` 1, ``<pad>``
= decoder start = the last id). The embedding rows and the bias are
reordered by ``data.marian_tokenizer.marian_order``, as the tokenizer's
ids are, so that PAD is 0, BOS (Marian's start token, ``<pad>``) 2 and EOS
3; the model then has one id more than the checkpoint (``<pad>`` twice:
the padding and the start token). The searches never generate PAD or
BOS, as OPUS-MT's generation config bans ``<pad>``.
"""

import numpy as np

from keras_transformer.checkpoints.config_json import (
    activation,
    architecture,
    same,
    setting,
)
from keras_transformer.checkpoints.weights import (
    assign,
    attention,
    dense,
    flatten,
    norm,
    take,
    tied,
)
from keras_transformer.data.tokenizers.marian import marian_order
from keras_transformer.errors import ConfigError
from keras_transformer.models import Transformer, TransformerConfig

#: The architectures ``build`` knows (none named: the first).
ARCHITECTURES = ("MarianMTModel",)
SHARED = "model.shared.weight"
#: Copies of the shared matrix a checkpoint may also store.
TIED = (
    "model.encoder.embed_tokens.weight",
    "model.decoder.embed_tokens.weight",
    "lm_head.weight",
)
#: Tensors of a checkpoint that hold no weight: the fixed positions.
BUFFERS = (
    "model.encoder.embed_positions.weight",
    "model.decoder.embed_positions.weight",
)


def config(hf):
    """The ``TransformerConfig`` of a Marian ``config.json`` (a dict).

    Raises:
        ConfigError: a setting this package does not implement.
    """
    if not hf.get("share_encoder_decoder_embeddings", True):
        raise ConfigError(
            "config.json: share_encoder_decoder_embeddings is false (two "
            "vocabularies); only Marian models with one shared vocabulary "
            "load."
        )
    if not hf.get("tie_word_embeddings", True):
        raise ConfigError(
            "config.json: tie_word_embeddings is false; only Marian models "
            "whose output is tied to the embeddings load."
        )
    if hf.get("normalize_before") or hf.get("add_final_layer_norm"):
        raise ConfigError(
            "config.json: normalize_before/add_final_layer_norm (pre-LN) are "
            "not Marian settings that transformers reads; check the file."
        )
    try:
        vocab_size = len(marian_order(hf))
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return TransformerConfig(
        vocab_size=vocab_size,
        num_layers=setting(hf, "encoder_layers"),
        num_decoder_layers=setting(hf, "decoder_layers"),
        d_model=setting(hf, "d_model"),
        num_heads=same(
            hf, "encoder_attention_heads", "decoder_attention_heads"
        ),
        ff_dim=same(hf, "encoder_ffn_dim", "decoder_ffn_dim"),
        dropout=hf.get("dropout", 0.1),
        attention_dropout=hf.get("attention_dropout", 0.0),
        activation_dropout=hf.get("activation_dropout", 0.0),
        activation=activation(hf, "activation_function", "swish"),
        norm_first=False,
        position="sinusoidal_concatenated",
        max_length=setting(hf, "max_position_embeddings"),
        layer_norm_epsilon=1e-5,
        tie_embeddings=True,
        scale_embeddings=bool(hf.get("scale_embedding", True)),
        output_bias=True,
    )


def _layer(tensors, name, heads, cross):
    """Our weights of one encoder (or, with ``cross``, decoder) layer."""
    blocks = [("self_attn", "self_attention")]
    if cross:
        blocks.append(("encoder_attn", "cross_attention"))
    values = {}
    for theirs, ours in blocks:
        prefix = f"{name}.{theirs}"
        values.update(
            flatten(
                ours,
                attention(
                    tensors,
                    *(f"{prefix}.{p}_proj" for p in ("q", "k", "v", "out")),
                    heads,
                ),
            )
        )
        values.update(
            flatten(f"{ours}_norm", norm(tensors, f"{prefix}_layer_norm"))
        )
    values.update(
        flatten("feed_forward/inner_dense", dense(tensors, f"{name}.fc1"))
    )
    values.update(
        flatten("feed_forward/outer_dense", dense(tensors, f"{name}.fc2"))
    )
    values.update(
        flatten("feed_forward_norm", norm(tensors, f"{name}.final_layer_norm"))
    )
    return values


def values(hf, tensors, transformer_config):
    """Every weight of the ``Transformer`` (path -> array), the
    vocabulary reordered (see the module docstring)."""
    order = np.asarray(marian_order(hf))
    shared = take(tensors, SHARED)
    tied(tensors, TIED, shared)
    bias = take(tensors, "final_logits_bias").reshape(-1)
    result = {
        "embedding/token_embedding/embeddings": shared[order],
        "output_bias/bias": bias[order],
    }
    heads = transformer_config.num_heads
    for stack, count, cross in (
        ("encoder", transformer_config.num_layers, False),
        ("decoder", transformer_config.decoder_layers, True),
    ):
        for index in range(count):
            layer = _layer(
                tensors, f"model.{stack}.layers.{index}", heads, cross
            )
            result.update(flatten(f"{stack}/layer_{index}", layer))
    return result


def pretrained_values(hf, tensors):
    """The weights fine-tuning starts from: all of them (path -> array)."""
    return values(hf, tensors, config(hf))


def build(hf, tensors):
    """The ``Transformer`` of a ``MarianMTModel`` checkpoint.

    Args:
        hf: ``config.json`` (a dict).
        tensors: a ``weights.Tensors`` of the checkpoint's arrays.

    Returns:
        A ``Transformer`` with the checkpoint's weights.

    Raises:
        ConfigError: an unsupported setting, a missing tensor or a shape
            that does not fit.
    """
    architecture(hf, ARCHITECTURES)
    transformer_config = config(hf)
    model = Transformer(transformer_config)
    assign(model, values(hf, tensors, transformer_config))
    return model


__all__ = [
    "BUFFERS",
    "build",
    "config",
    "pretrained_values",
    "values",
]
