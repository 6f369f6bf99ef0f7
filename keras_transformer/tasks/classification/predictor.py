"""Text in, class probabilities and label names out, in one graph."""

import tensorflow as tf

from keras_transformer.inference.predictor import (
    Predictor,
    dense_ids,
    one_line,
    truncated_ids,
)


class LabelPredictor(Predictor):
    """Classifies strings with a trained ``models.Classifier``.

    Texts keep their first ``max_length`` tokens (with BOS first for
    ``pooling: first`` models, as in training). An empty text is read as one
    unknown token (a mean over no tokens is undefined).

    Args:
        model: a ``models.Classifier``.
        tokenizer: the run's tokenizer.
        label_names: class names, in class-id order.
        max_length: tokens kept per text.
        add_bos: prepend BOS (``pooling: first`` models).
        add_eos: append EOS, kept when a text is cut (models fine-tuned
            from a published checkpoint: ``[CLS] text [SEP]``).

    Call arguments (``serve``):
        text: (B,) ``tf.string``.

    Returns:
        ``{"probabilities": (B, C) float32, "label": (B,) tf.string}``.

    Example:

    >>> predictor = LabelPredictor(model, tokenizer, ["neg", "pos"], 128,
    ...                            add_bos=False)
    >>> predictor.predict(["a fine film"])[0]["label"]
    'pos'
    """

    def __init__(
        self, model, tokenizer, label_names, max_length, add_bos, add_eos=False
    ):
        super().__init__(name="label_predictor")
        self.model = model
        self.tokenizer = tokenizer
        self.label_names = tf.constant(label_names, tf.string)
        self.max_length = max_length
        self.add_bos = add_bos
        self.add_eos = add_eos

    def _serve(self, text):
        if self.add_eos:
            tokens, _ = truncated_ids(
                self.tokenizer, text, self.max_length, add_bos=self.add_bos
            )
            return self._classify(tokens)
        ids = self.tokenizer.tokenize(text, add_bos=self.add_bos)
        tokens = tf.cast(dense_ids(ids, self.max_length), tf.int32)
        empty = ids.row_lengths() == 0
        first = tf.where(empty, self.tokenizer.unk_id, tokens[:, 0])
        tokens = tf.concat([first[:, None], tokens[:, 1:]], axis=1)
        return self._classify(tokens)

    def _classify(self, tokens):
        logits = self.model({"tokens": tokens})
        probabilities = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
        label = tf.gather(self.label_names, tf.argmax(probabilities, -1))
        return {"probabilities": probabilities, "label": label}

    def format(self, row):
        return f"{one_line(row['label'])}\t{max(row['probabilities']):.4f}"


__all__ = ["LabelPredictor"]
