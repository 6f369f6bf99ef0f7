"""BERT-family checkpoints (BERT, MiniLM, sentence-transformers encoders).

BERT is the paper's encoder with switches set differently: post-LN as in
the paper, but learned positions (``max_position_embeddings``), no
sqrt(D) scaling of embeddings, segment (token type) embeddings, a
LayerNorm after the embedding sum, GELU (exact) and LayerNorm epsilon
1e-12. ``config(hf)`` maps a ``config.json`` to a ``TransformerConfig``;
``build(hf, tensors)`` returns the model of its architecture with the
checkpoint's weights:

================================  =====================================
architecture                      model
================================  =====================================
``BertModel`` (and no head)       ``TextEncoder``: states (B, T, D)
``BertForSequenceClassification`` ``Classifier(pooling="pooler")``
``BertForTokenClassification``    ``TokenClassifier``
``BertForQuestionAnswering``      ``QuestionAnswerer``
``BertForMaskedLM``               ``MaskedLanguageModel`` (output bias)
================================  =====================================
"""

from keras_transformer.checkpoints.config_json import (
    activation,
    architecture,
    setting,
)
from keras_transformer.checkpoints.weights import (
    assign,
    attention,
    dense,
    flatten,
    norm,
    take,
)
from keras_transformer.errors import ConfigError
from keras_transformer.models import (
    Classifier,
    MaskedLanguageModel,
    QuestionAnswerer,
    TextEncoder,
    TokenClassifier,
    TransformerConfig,
)

#: Tensors of a checkpoint that hold no weight (torch buffers).
BUFFERS = ("embeddings.position_ids", "bert.embeddings.position_ids")


def config(hf, output_bias=False):
    """The ``TransformerConfig`` of a BERT ``config.json`` (a dict).

    Raises:
        ConfigError: a setting this package does not implement.
    """
    position = hf.get("position_embedding_type", "absolute")
    if position != "absolute":
        raise ConfigError(
            f"config.json: position_embedding_type={position!r} is not "
            "supported (only 'absolute', learned positions)."
        )
    if hf.get("is_decoder") or hf.get("add_cross_attention"):
        raise ConfigError(
            "config.json: a BERT decoder (is_decoder, add_cross_attention) "
            "is not supported; load an encoder."
        )
    return TransformerConfig(
        vocab_size=setting(hf, "vocab_size"),
        num_layers=setting(hf, "num_hidden_layers"),
        d_model=setting(hf, "hidden_size"),
        num_heads=setting(hf, "num_attention_heads"),
        ff_dim=setting(hf, "intermediate_size"),
        dropout=hf.get("hidden_dropout_prob", 0.1),
        attention_dropout=hf.get("attention_probs_dropout_prob", 0.1),
        activation=activation(hf, "hidden_act"),
        norm_first=False,
        position="learned",
        max_length=setting(hf, "max_position_embeddings"),
        layer_norm_epsilon=hf.get("layer_norm_eps", 1e-12),
        tie_embeddings=True,
        scale_embeddings=False,
        embedding_norm=True,
        num_segments=hf.get("type_vocab_size", 2),
        output_bias=output_bias,
    )


def _embedding(tensors, prefix, segments):
    values = {
        "token_embedding/embeddings": take(
            tensors, f"{prefix}embeddings.word_embeddings.weight"
        ),
        "position_embedding/embeddings": take(
            tensors, f"{prefix}embeddings.position_embeddings.weight"
        ),
        **flatten(
            "embeddings_norm", norm(tensors, f"{prefix}embeddings.LayerNorm")
        ),
    }
    if segments:
        values["segment_embedding/embeddings"] = take(
            tensors, f"{prefix}embeddings.token_type_embeddings.weight"
        )
    return flatten("embedding", values)


def _attention(tensors, name, heads):
    """Our attention weights of BERT's (D, D) projections."""
    return attention(
        tensors,
        *(f"{name}.self.{part}" for part in ("query", "key", "value")),
        f"{name}.output.dense",
        heads,
    )


def _layer(tensors, prefix, index, heads):
    name = f"{prefix}encoder.layer.{index}"
    return {
        **flatten(
            "self_attention", _attention(tensors, f"{name}.attention", heads)
        ),
        **flatten(
            "self_attention_norm",
            norm(tensors, f"{name}.attention.output.LayerNorm"),
        ),
        **flatten(
            "feed_forward/inner_dense",
            dense(tensors, f"{name}.intermediate.dense"),
        ),
        **flatten(
            "feed_forward/outer_dense", dense(tensors, f"{name}.output.dense")
        ),
        **flatten(
            "feed_forward_norm", norm(tensors, f"{name}.output.LayerNorm")
        ),
    }


def encoder_values(tensors, prefix, transformer_config):
    """The weights of ``embedding`` and ``encoder`` (path -> array)."""
    values = _embedding(tensors, prefix, transformer_config.num_segments)
    for index in range(transformer_config.num_layers):
        layer = _layer(tensors, prefix, index, transformer_config.num_heads)
        values.update(flatten(f"encoder/layer_{index}", layer))
    return values


def _masked_lm_head(tensors, embeddings):
    decoder = tensors.get("cls.predictions.decoder.weight")
    if decoder is not None:
        tensors.used.add("cls.predictions.decoder.weight")
        if decoder.shape != embeddings.shape or (decoder != embeddings).any():
            raise ConfigError(
                "the checkpoint's masked-LM decoder is not tied to its word "
                "embeddings, which this package's masked-LM head requires."
            )
    return {
        **flatten(
            "mlm_transform", dense(tensors, "cls.predictions.transform.dense")
        ),
        **flatten(
            "mlm_norm", norm(tensors, "cls.predictions.transform.LayerNorm")
        ),
        "output_bias/bias": take(tensors, "cls.predictions.bias"),
    }


def _classes(tensors, name):
    return int(tensors[f"{name}.weight"].shape[0])


def _head(name, tensors, transformer_config, values):
    """The model of the architecture ``name`` and the weights of its
    head."""
    if name == "BertForSequenceClassification":
        values.update(flatten("pooler", dense(tensors, "bert.pooler.dense")))
        values.update(flatten("logits", dense(tensors, "classifier")))
        classes = _classes(tensors, "classifier")
        if classes < 2:
            raise ConfigError(
                "the checkpoint classifies into 1 class (a regression "
                "head); this package's classifier needs 2 or more."
            )
        return Classifier(transformer_config, classes, pooling="pooler")
    if name == "BertForTokenClassification":
        values.update(flatten("logits", dense(tensors, "classifier")))
        return TokenClassifier(
            transformer_config, _classes(tensors, "classifier")
        )
    if name == "BertForQuestionAnswering":
        values.update(
            flatten("span_logits/dense", dense(tensors, "qa_outputs"))
        )
        return QuestionAnswerer(transformer_config)
    if name == "BertForMaskedLM":
        embeddings = values["embedding/token_embedding/embeddings"]
        values.update(_masked_lm_head(tensors, embeddings))
        return MaskedLanguageModel(transformer_config)
    return TextEncoder(transformer_config)


#: The architectures ``build`` knows (the key of ``config.json``'s
#: ``architectures``; none: ``BertModel``).
ARCHITECTURES = (
    "BertModel",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertForQuestionAnswering",
    "BertForMaskedLM",
)


def build(hf, tensors):
    """The model of a BERT checkpoint with its weights.

    Args:
        hf: ``config.json`` (a dict).
        tensors: a ``weights.Tensors`` of the checkpoint's arrays.

    Returns:
        The model (see the module docstring).

    Raises:
        ConfigError: an unsupported setting or architecture, a missing
            tensor or a shape that does not fit.
    """
    name = architecture(hf, ARCHITECTURES)
    transformer_config = config(hf, output_bias=name == "BertForMaskedLM")
    values = encoder_values(tensors, _prefix(tensors), transformer_config)
    model = _head(name, tensors, transformer_config, values)
    assign(model, values)
    return model


def pretrained_values(hf, tensors):
    """The weights fine-tuning starts from (path -> array): ``embedding``
    and ``encoder``, and ``pooler`` where the checkpoint has one.

    Args:
        hf: ``config.json`` (a dict).
        tensors: a ``weights.Tensors`` of the checkpoint's arrays.
    """
    prefix = _prefix(tensors)
    values = encoder_values(tensors, prefix, config(hf))
    if f"{prefix}pooler.dense.weight" in tensors:
        values.update(
            flatten("pooler", dense(tensors, f"{prefix}pooler.dense"))
        )
    return values


_WORDS = "embeddings.word_embeddings.weight"


def _prefix(tensors):
    """``"bert."`` for a checkpoint with a head, ``""`` for a bare one."""
    return "bert." if f"bert.{_WORDS}" in tensors else ""


__all__ = [
    "ARCHITECTURES",
    "BUFFERS",
    "build",
    "config",
    "encoder_values",
    "pretrained_values",
]
