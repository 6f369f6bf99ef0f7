"""An encoder without a head: the states of every token (BERT's model)."""

import keras

from keras_transformer.models.base import TransformerModel, as_config
from keras_transformer.models.parts import encode, encoder_inputs


@keras.saving.register_keras_serializable(package="keras_transformer")
class TextEncoder(TransformerModel):
    """Embedding + encoder stack: contextual states of every token.

    What a published encoder checkpoint without a task head (``BertModel``,
    a sentence-transformers model) becomes; the task models
    (``Classifier``, ``TokenClassifier``, ``QuestionAnswerer``,
    ``MaskedLanguageModel``) have the same ``embedding`` and ``encoder``.

    Args:
        config: a ``TransformerConfig`` (decoder fields are unused).
        name: the model name.

    Call arguments:
        inputs: ``{"tokens": (B, T) int32}``, 0 = padding; with
            ``config.num_segments``, optionally ``"segment_ids"`` (B, T).

    Returns:
        (B, T, D) states (padding positions carry the Keras mask).

    Attributes:
        embedding, encoder: the parts.

    Example:

    >>> model = TextEncoder(TransformerConfig.small(vocab_size=500))
    >>> model({"tokens": np.array([[2, 17, 40, 3]])}).shape
    (1, 4, 128)
    """

    def __init__(self, config, name="text_encoder", **kwargs):
        config = as_config(config)
        inputs = encoder_inputs(config)
        embedding, encoder, states = encode(config, inputs)
        super().__init__(inputs, states, config, name=name, **kwargs)
        self.embedding = embedding
        self.encoder = encoder


__all__ = ["TextEncoder"]
