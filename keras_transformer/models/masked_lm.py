"""An encoder with a masked-language-model head (BERT-style pretraining)."""

import keras

from keras_transformer.layers import OutputBias
from keras_transformer.models.base import TransformerModel, as_config
from keras_transformer.models.config import TransformerConfig
from keras_transformer.models.parts import (
    encode,
    encoder_inputs,
    output_logits,
    output_projection,
)


@keras.saving.register_keras_serializable(package="keras_transformer")
class MaskedLanguageModel(TransformerModel):
    """Encoder + transform + vocabulary logits at every position.

    The head is BERT's: a dense layer of size D with GELU, a LayerNorm, and
    the vocabulary projection, tied to the token embedding unless
    ``config.tie_embeddings`` is False, plus a bias with
    ``config.output_bias``. The encoder (``embedding`` and
    ``encoder``) is what fine-tuning reuses (``model.init_from``).

    Args:
        config: a ``TransformerConfig`` (decoder fields are unused).
        name: the model name.

    Call arguments:
        inputs: ``{"tokens": (B, T) int32}``, 0 = padding, masked positions
            holding the tokenizer's ``mask_id``; with
            ``config.num_segments``, optionally ``"segment_ids"`` (B, T).

    Returns:
        float32 logits (B, T, V): the prediction of the original token at
        every position (the loss reads only the masked ones).

    Attributes:
        embedding, encoder: the encoder's parts; transform, norm,
        output_projection (None when tied): the head.

    Example:

    >>> model = MaskedLanguageModel(TransformerConfig.small(vocab_size=500))
    >>> model({"tokens": np.array([[2, 17, 4, 3]])}).shape
    (1, 4, 500)
    """

    def __init__(self, config, name="masked_language_model", **kwargs):
        config = as_config(config)
        inputs = encoder_inputs(config)
        embedding, encoder, states = encode(config, inputs)
        transform = keras.layers.Dense(
            config.d_model, activation="gelu", name="mlm_transform"
        )
        norm = keras.layers.LayerNormalization(
            epsilon=config.layer_norm_epsilon, name="mlm_norm"
        )
        projection = output_projection(config)
        bias = OutputBias(name="output_bias") if config.output_bias else None
        states = norm(transform(states))
        logits = output_logits(states, embedding, projection, bias=bias)
        super().__init__(inputs, logits, config, name=name, **kwargs)
        self.embedding = embedding
        self.encoder = encoder
        self.transform = transform
        self.norm = norm
        self.output_projection = projection


def build_masked_language_model(
    config: TransformerConfig, name="masked_language_model"
):
    """The ``MaskedLanguageModel`` of ``config`` (see the class)."""
    return MaskedLanguageModel(config, name=name)
