"""Prompts in, continuations out: a language model's generation graph."""

import tensorflow as tf

from keras_transformer.inference.decoding_config import DecodingConfig
from keras_transformer.inference.predictor import (
    Predictor,
    dense_ids,
    one_line,
    search_for,
)


class TextGenerator(Predictor):
    """Continues prompts with a trained ``models.LanguageModel``.

    Prompts keep their last tokens (those that leave room for the
    continuation); an empty prompt starts from BOS.

    Args:
        model: a ``models.LanguageModel``.
        tokenizer: the run's tokenizer.
        max_new_tokens: tokens generated per prompt.
        max_length: the model's position limit (None: unlimited); prompts
            keep their last ``max_length - max_new_tokens`` tokens.
        max_prompt_length: longest prompt kept when ``max_length`` is None.
        decoding: a ``DecodingConfig`` (default: greedy).

    Call arguments (``serve``):
        prompt: (B,) ``tf.string``.

    Returns:
        ``{"completion": (B,) tf.string (the continuation only), "score":
        (B,) float32}``.

    Example:

    >>> generator = TextGenerator(model, tokenizer, max_new_tokens=20)
    >>> generator.predict(["To be, or not"])[0]["completion"]
    """

    input_name = "prompt"

    def __init__(
        self,
        model,
        tokenizer,
        max_new_tokens=100,
        max_length=None,
        max_prompt_length=256,
        decoding=None,
    ):
        if max_length is not None and max_new_tokens >= max_length:
            raise ValueError(
                f"max_new_tokens={max_new_tokens} leaves no room for a "
                f"prompt in the model's max_length={max_length}: choose "
                "fewer new tokens."
            )
        super().__init__(name="text_generator")
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.prompt_length = (
            max_length - max_new_tokens if max_length else max_prompt_length
        )
        self.decoding = decoding or DecodingConfig("greedy")
        self._function, self._kwargs = search_for(self, self.decoding)

    def _serve(self, prompt):
        ids = self.tokenizer.tokenize(prompt)
        empty = ids.row_lengths() == 0
        ids = ids[:, -self.prompt_length :]  # the last tokens
        prompts = tf.cast(dense_ids(ids, self.prompt_length), tf.int32)
        first = tf.where(empty, self.tokenizer.bos_id, prompts[:, 0])
        prompts = tf.concat([first[:, None], prompts[:, 1:]], axis=1)
        tokens, scores = self._function(
            self.model,
            prompts,
            max_length=self.max_new_tokens,
            **self._kwargs,
        )
        return {
            "completion": self.tokenizer.detokenize(tokens),
            "score": tf.cast(scores, tf.float32),
        }

    def format(self, row):
        return one_line(row["completion"])


__all__ = ["TextGenerator"]
