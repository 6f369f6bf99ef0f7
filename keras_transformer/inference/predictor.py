"""The base of every predictor: one TensorFlow graph from text to outputs,
used in-process and exported as the SavedModel's ``serving_default``.

A ``Predictor`` is a ``tf.Module`` whose ``serve`` is a ``tf.function``
from a [None] ``tf.string`` batch to a dict of tensors: tokenization,
truncation, the model, decoding and detokenization all happen in that one
graph. ``predict(texts)`` runs it eagerly on batches and returns one dict
per text, so what a program gets in-process is what a server gets from the
export, by construction.
"""

import time

import keras
import numpy as np
import tensorflow as tf

from keras_transformer.backend import eager_predictors


def dense_ids(ragged, width, pad_id=0):
    """(B, W) ids of a ragged batch, at most ``width`` wide (W >= 1)."""
    dense = ragged.to_tensor(default_value=pad_id)
    dense = dense[:, :width]
    missing = tf.maximum(1 - tf.shape(dense)[1], 0)
    return tf.pad(dense, [[0, 0], [0, missing]])


def truncated_ids(tokenizer, text, width, add_bos=False):
    """EOS-terminated ids of ``text``, at most ``width`` per row.

    A longer row keeps its first ``width - 1`` tokens and the EOS.

    Returns:
        ``(ids, lengths)``: (B, S) int32 ids (0-padded, S <= ``width``)
        and (B,) int32 lengths, EOS included.
    """
    ragged = tokenizer.tokenize(text, add_bos=add_bos, add_eos=True)
    row_lengths = tf.cast(ragged.row_lengths(), tf.int32)
    ids = tf.cast(dense_ids(ragged, width), tf.int32)
    kept = tf.minimum(row_lengths, width)
    positions = tf.range(tf.shape(ids)[1])[None, :]
    ends_here = (positions == kept[:, None] - 1) & (row_lengths > width)[
        :, None
    ]
    return tf.where(ends_here, tokenizer.eos_id, ids), kept


def search_for(module, decoding):
    """``(function, keyword arguments)`` of a decoding config's search.

    For sampling, the seed becomes a ``keras.random.SeedGenerator`` tracked
    by ``module``, so that an exported model draws anew at every request
    (and still reproduces a sequence from the configured seed).
    """
    function, kwargs = decoding.search()
    if decoding.strategy == "sampling":
        generator = keras.random.SeedGenerator(decoding.seed)
        module.seed_state = generator.state  # tracked, so it is saved
        kwargs = dict(kwargs, seed=generator)
    return function, kwargs


def _python(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        return [_python(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


class Predictor(tf.Module):
    """Base class: ``serve`` (one graph) and ``predict`` (eager batches).

    Subclasses implement ``_serve(text)`` -> dict of [B, ...] tensors and
    ``format(row)`` -> one line of text for the command line. A predictor
    of several strings per example (e.g. a question and a context) names
    them in ``input_names``; its ``_serve`` takes one [B] tensor each, and
    ``parse_line`` reads them from one line of the command line.

    Args:
        name: the ``tf.Module`` name.

    Attributes:
        input_name: the name of the signature's string input.
        input_names: the names of its string inputs (None: ``input_name``
            alone).
    """

    input_name = "text"
    input_names = None

    def __init__(self, name=None):
        super().__init__(name=name)
        self.serve = tf.function(
            self._serve,
            input_signature=[
                tf.TensorSpec([None], tf.string, name=input_name)
                for input_name in self._input_names
            ],
        )

    @property
    def _input_names(self):
        return tuple(self.input_names or (self.input_name,))

    def _columns(self, batch):
        """The [B] string tensors of ``serve`` for a list of examples."""
        if len(self._input_names) == 1:
            return [tf.constant(batch, tf.string)]
        columns = []
        for position, input_name in enumerate(self._input_names):
            columns.append(
                tf.constant(
                    [
                        example[input_name]
                        if isinstance(example, dict)
                        else example[position]
                        for example in batch
                    ],
                    tf.string,
                )
            )
        return columns

    def parse_line(self, line):
        """One example from one line of input (the command line's
        ``predict``); the base class takes the line as the text."""
        return line

    def _serve(self, text):
        raise NotImplementedError

    def predict(self, texts, batch_size=64, progress=False):
        """One dict of Python values per text (``str``, ``float``, lists).

        Args:
            texts: a list of ``str``; for a predictor of several inputs, a
                list of tuples (in ``input_names`` order) or of dicts.
            batch_size: texts per call of the graph.
            progress: show a progress bar with the texts per second.
        """
        if isinstance(texts, str):
            raise ValueError(
                "predict() expects a list of texts, not one string: pass "
                "[text]."
            )
        bar = (
            keras.utils.Progbar(len(texts), unit_name="text")
            if progress and texts
            else None
        )
        started = time.time()
        rows = []
        for begin in range(0, len(texts), batch_size):
            batch = list(texts[begin : begin + batch_size])
            with eager_predictors():  # under JAX: the graph runs eagerly
                outputs = self.serve(*self._columns(batch))
            outputs = {key: value.numpy() for key, value in outputs.items()}
            for index in range(len(batch)):
                rows.append(
                    {
                        key: _python(value[index])
                        for key, value in outputs.items()
                    }
                )
            if bar is not None:
                rate = len(rows) / max(time.time() - started, 1e-9)
                bar.update(len(rows), [("texts/s", rate)], finalize=False)
        if bar is not None:
            bar.update(len(rows), finalize=True)
        return rows

    def format(self, row):
        """One line of text for ``row`` (an element of ``predict``)."""
        raise NotImplementedError


__all__ = ["Predictor", "dense_ids", "search_for", "truncated_ids"]
