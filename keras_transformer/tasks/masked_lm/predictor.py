"""Text with ``[MASK]`` in, the likeliest fillers out, in one graph."""

import re

import tensorflow as tf

from keras_transformer.inference.predictor import (
    Predictor,
    one_line,
    truncated_ids,
)
from keras_transformer.special_tokens import MASK_PIECE


class MaskFiller(Predictor):
    """Fills the ``[MASK]``s of texts with a ``models.MaskedLanguageModel``.

    Texts are read as in pretraining (BOS, the pieces, EOS, at most
    ``max_length`` tokens); the tokenizer turns the text ``[MASK]`` into its
    mask id.

    Args:
        model: a ``models.MaskedLanguageModel``.
        tokenizer: the run's tokenizer (with a ``mask_id``).
        max_length: tokens kept per text.
        top_k: fillers reported per mask.

    Call arguments (``serve``):
        text: (B,) ``tf.string``.

    Returns:
        ``{"filled": (B,) tf.string, the text with every mask replaced by
        its likeliest filler; "fillers": (B, M, top_k) tf.string and
        "probabilities": (B, M, top_k) float32, per mask in order of
        appearance (M: the most masks in a text of the batch; rows with
        fewer are padded with "" and 0)}``.

    Example:

    >>> filler = MaskFiller(model, tokenizer, max_length=64)
    >>> filler.predict(["the film was [MASK] good"])[0]["fillers"]
    [['very', 'really', 'so', 'not', 'pretty']]
    """

    pad_values = {"fillers": "", "probabilities": 0.0}

    def __init__(self, model, tokenizer, max_length, top_k=5):
        if tokenizer.mask_id is None:
            raise ValueError(
                "The tokenizer has no [MASK] piece: fill masks with the "
                "model and tokenizer of a masked_lm run."
            )
        super().__init__(name="mask_filler")
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.top_k = top_k

    def _serve(self, text):
        # A masked piece carries its own leading space ("▁word"), as in
        # pretraining: the space before a [MASK] belongs to the mask.
        text = tf.strings.regex_replace(
            text, r"\s+" + re.escape(MASK_PIECE), MASK_PIECE
        )
        tokens, _ = truncated_ids(
            self.tokenizer, text, self.max_length, add_bos=True
        )
        logits = self.model({"tokens": tokens})
        probabilities = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
        positions = tf.where(tokens == self.tokenizer.mask_id)  # (N, 2)
        top = tf.math.top_k(tf.gather_nd(probabilities, positions), self.top_k)
        pieces = self.tokenizer.detokenize(tf.reshape(top.indices, [-1, 1]))
        rows = positions[:, 0]
        batch = tf.shape(tokens, out_type=tf.int64)[0]

        def per_text(key, values):
            ragged = tf.RaggedTensor.from_value_rowids(
                values, rows, nrows=batch
            )
            return ragged.to_tensor(default_value=self.pad_values[key])

        filled = tf.tensor_scatter_nd_update(
            tokens, positions, top.indices[:, 0]
        )
        return {
            "filled": self.tokenizer.detokenize(filled),
            "fillers": per_text(
                "fillers", tf.reshape(pieces, [-1, self.top_k])
            ),
            "probabilities": per_text("probabilities", top.values),
        }

    def format(self, row):
        masks = [
            ", ".join(
                f"{one_line(piece)} {probability:.3f}"
                for piece, probability in zip(pieces, probabilities)
                if piece or probability
            )
            for pieces, probabilities in zip(
                row["fillers"], row["probabilities"]
            )
        ]
        masks = [text for text in masks if text]
        return "\t".join([one_line(row["filled"])] + masks)


__all__ = ["MaskFiller"]
