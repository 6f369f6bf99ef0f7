"""An encoder that points at answer spans (extractive question answering)."""

import keras
import numpy as np
from keras import ops

from keras_transformer.models.base import TransformerModel, as_config
from keras_transformer.models.config import TransformerConfig
from keras_transformer.models.parts import encode, encoder_inputs


@keras.saving.register_keras_serializable(package="keras_transformer")
class SpanLogits(keras.layers.Layer):
    """Start and end logits at every position; padding gets the lowest
    float32 value, so no probability falls on it.

    Args:
        **kwargs: ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: (B, T, D) states.
        mask: (B, T) boolean, True at real tokens (Keras passes the
            embedding's padding mask).

    Returns:
        (B, T, 2) float32 logits: ``[..., 0]`` start, ``[..., 1]`` end.

    Example:

    >>> SpanLogits()(np.ones((1, 3, 8)), mask=np.array([[1, 1, 0]]) > 0)
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(
            2, dtype=self.dtype_policy, name="dense"
        )

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, inputs, mask=None):
        logits = ops.cast(self.dense(ops.cast(inputs, "float32")), "float32")
        if mask is None:
            return logits
        lowest = ops.convert_to_tensor(np.finfo("float32").min, "float32")
        return ops.where(ops.expand_dims(mask, -1), logits, lowest)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (2,)


@keras.saving.register_keras_serializable(package="keras_transformer")
class QuestionAnswerer(TransformerModel):
    """Encoder + one dense layer: start and end logits of an answer span.

    The input is a window ``BOS question EOS context EOS`` (see
    ``data.question_windows``). The model scores every position; choosing
    a span inside the context (end >= start, at most a given length) is
    the ``AnswerExtractor``'s job. Position 0 (BOS) is where a window
    without the answer points.

    Args:
        config: a ``TransformerConfig`` (decoder fields are unused).
        name: the model name.

    Call arguments:
        inputs: ``{"tokens": (B, T) int32}``, 0 = padding; with
            ``config.num_segments``, optionally ``"segment_ids"`` (B, T):
            BERT's 0 for ``[CLS] question [SEP]``, 1 for ``context
            [SEP]``.

    Returns:
        (B, T, 2) float32 logits (start, end); padding holds the lowest
        float32 value.

    Attributes:
        embedding, encoder: the encoder's parts (``init_from`` copies them
            from a masked-LM run); head: the ``SpanLogits`` layer.

    Example:

    >>> model = QuestionAnswerer(TransformerConfig.small(vocab_size=500))
    >>> model({"tokens": np.array([[2, 17, 3, 40, 41, 3]])}).shape
    (1, 6, 2)
    """

    def __init__(self, config, name="question_answerer", **kwargs):
        config = as_config(config)
        inputs = encoder_inputs(config)
        embedding, encoder, states = encode(config, inputs)
        dropout = keras.layers.Dropout(config.dropout, name="span_dropout")
        head = SpanLogits(name="span_logits")
        logits = head(dropout(states))
        super().__init__(inputs, logits, config, name=name, **kwargs)
        self.embedding = embedding
        self.encoder = encoder
        self.head = head


def build_question_answerer(
    config: TransformerConfig, name="question_answerer"
):
    """The ``QuestionAnswerer`` of ``config`` (see the class)."""
    return QuestionAnswerer(config, name=name)


__all__ = ["QuestionAnswerer", "SpanLogits", "build_question_answerer"]
