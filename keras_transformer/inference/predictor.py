"""The base of every predictor: one TensorFlow graph from text to outputs,
used in-process and exported as the SavedModel's ``serving_default``.

A ``Predictor`` is a ``tf.Module`` whose ``serve`` is a ``tf.function``
from a [None] ``tf.string`` batch to a dict of tensors: tokenization,
truncation, the model, decoding and detokenization all happen in that one
graph. ``predict(texts)`` runs it eagerly on batches and returns one dict
per text, so what a program gets in-process is what a server gets from the
export, by construction.

``serve`` runs its work on chunks of at most ``serve_batch_size`` inputs,
one after the other, so that its memory is bounded whatever the size of a
request; ``format`` writes one line per example, with ``one_line``'s
escapes.
"""

import functools
import re
import time

import keras
import numpy as np
import tensorflow as tf

from keras_transformer import terminal
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


#: ``serve``'s default chunk size: the most inputs the graph runs at once.
SERVE_BATCH_SIZE = 64

# What would break a line of ``format`` (a line break for ``str.splitlines``,
# a tab between fields) and the backslash that starts an escape.
_SPECIAL = re.compile(r"[\\\n\r\t\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_SHORT = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNSHORT = {escaped[1]: char for char, escaped in _SHORT.items()}
_ESCAPED = re.compile(r"\\(?:u([0-9a-f]{4})|(.))", re.DOTALL)


def one_line(text):
    """``text`` as one line without tabs, reversibly (``unescape``).

    A backslash, newline, carriage return and tab become ``\\\\``,
    ``\\n``, ``\\r`` and ``\\t``; the other line breaks of
    ``str.splitlines`` become ``\\uXXXX``. Every predictor's ``format``
    writes its texts so.

    Args:
        text: a ``str``.

    Returns:
        The escaped ``str``.

    Example:

    >>> print(one_line("a\\tb\\nc\\\\d"))
    a\\tb\\nc\\\\d
    """
    return _SPECIAL.sub(
        lambda match: (
            _SHORT.get(match.group()) or f"\\u{ord(match.group()):04x}"
        ),
        text,
    )


def unescape(line):
    """The text that ``one_line`` escaped into ``line``.

    Example:

    >>> unescape(one_line("a\\nb")) == "a\\nb"
    True
    """

    def replace(match):
        code, char = match.groups()
        return chr(int(code, 16)) if code else _UNSHORT.get(char, char)

    return _ESCAPED.sub(replace, line)


def _python(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        return [_python(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _padded(values, shape, padding):
    """(B, ...) ``values`` padded at the end of every trailing dim to
    ``shape`` (its trailing dims, a 1-D tensor) with ``padding``."""
    missing = shape - tf.shape(values)[1:]
    paddings = tf.stack([tf.zeros_like(missing), missing], axis=1)
    paddings = tf.concat([[[0, 0]], paddings], axis=0)
    return tf.pad(values, paddings, constant_values=padding)


def concat_padded(first, second, padding):
    """``first`` then ``second`` along the batch, their trailing dims
    padded to the larger of the two with ``padding``.

    Args:
        first: (B1, D1, ...) values.
        second: (B2, D2, ...) values of the same dtype and rank.
        padding: a scalar of their dtype.

    Returns:
        (B1 + B2, max(D1, D2), ...) values.

    Example:

    >>> concat_padded(tf.constant([[1]]), tf.constant([[2, 3]]), -1).numpy()
    array([[ 1, -1],
           [ 2,  3]], dtype=int32)
    """
    if first.shape.rank == 1:
        return tf.concat([first, second], axis=0)
    shape = tf.maximum(tf.shape(first)[1:], tf.shape(second)[1:])
    joined = tf.concat(
        [_padded(first, shape, padding), _padded(second, shape, padding)],
        axis=0,
    )
    trailing = first.shape[1:].most_specific_compatible_shape(second.shape[1:])
    joined.set_shape(tf.TensorShape([None]).concatenate(trailing))
    return joined


class Predictor(tf.Module):
    """Base class: ``serve`` (one graph) and ``predict`` (eager batches).

    Subclasses implement ``_serve(text)`` -> dict of [B, ...] tensors and
    ``format(row)`` -> one line of text for the command line (its texts
    written with ``one_line``). A predictor of several strings per example
    (e.g. a question and a context) names them in ``input_names``; its
    ``_serve`` takes one [B] tensor each, and ``parse_line`` reads them
    from one line of the command line.

    ``serve`` runs ``_serve`` on chunks of at most ``serve_batch_size``
    inputs, one after the other (a ``tf.while_loop``), and concatenates
    their outputs in order: a request of any size takes the memory of one
    chunk. An output whose trailing dims differ between chunks (e.g. one
    column per entity of the chunk's text with the most) is padded to the
    widest chunk with its ``pad_values`` entry ("" for strings and 0 for
    numbers if it has none). A request gives what its chunks would give as
    requests of their own, one after the other (a sampling predictor's
    seed draws anew for each chunk).

    Args:
        name: the ``tf.Module`` name.

    Attributes:
        input_name: the name of the signature's string input.
        input_names: the names of its string inputs (None: ``input_name``
            alone).
        pad_values: padding of outputs by key, where chunks may differ in
            their trailing dims.
        serve_batch_size: the most inputs ``_serve`` runs at once (default
            ``SERVE_BATCH_SIZE``); setting it makes a new ``serve`` graph.
    """

    input_name = "text"
    input_names = None
    pad_values = {}

    def __init__(self, name=None):
        super().__init__(name=name)
        self.serve_batch_size = SERVE_BATCH_SIZE

    @property
    def serve_batch_size(self):
        return self._serve_batch_size

    @serve_batch_size.setter
    def serve_batch_size(self, size):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(
                f"serve_batch_size must be an integer >= 1; got {size!r}."
            )
        self._serve_batch_size = size
        signature = [
            tf.TensorSpec([None], tf.string, name=input_name)
            for input_name in self._input_names
        ]
        self._serve_chunk = tf.function(
            self._serve, input_signature=signature, autograph=False
        )
        self.serve = tf.function(
            self._serve_chunks, input_signature=signature, autograph=False
        )

    def _serve_chunks(self, *columns):
        """``_serve`` on chunks of ``columns``; see the class docstring."""
        size = self.serve_batch_size
        count = (tf.shape(columns[0])[0] + size - 1) // size

        def chunk(index):
            begin = index * size
            return self._serve_chunk(
                *[column[begin : begin + size] for column in columns]
            )

        if tf.executing_eagerly():  # under JAX: see eager_predictors
            return self._gather_eagerly(chunk, int(count))
        return self._gather_in_graph(chunk, count)

    def _gather_eagerly(self, chunk, count):
        """The outputs of ``chunk(0)``, ..., ``chunk(count - 1)`` (or of
        the empty ``chunk(0)``), joined by a Python loop."""
        chunks = [chunk(index) for index in range(max(count, 1))]
        return {
            key: functools.reduce(
                functools.partial(self._concat, key),
                [outputs[key] for outputs in chunks],
            )
            for key in chunks[0]
        }

    def _gather_in_graph(self, chunk, count):
        """The outputs of ``chunk(0)``, ..., ``chunk(count - 1)``, joined
        by a ``tf.while_loop`` that runs one chunk at a time."""
        # ``_serve`` is traced once: its outputs' dtypes and shapes give the
        # loop's empty start, and every iteration calls that one graph.
        specs = self._serve_chunk.get_concrete_function().structured_outputs
        empty = {
            key: tf.zeros([0] + [d or 0 for d in spec.shape[1:]], spec.dtype)
            for key, spec in specs.items()
        }
        shapes = {
            key: tf.TensorShape([None]).concatenate(spec.shape[1:])
            for key, spec in specs.items()
        }

        def body(index, gathered):
            outputs = chunk(index)
            return index + 1, {
                key: self._concat(key, gathered[key], outputs[key])
                for key in gathered
            }

        _, gathered = tf.while_loop(
            lambda index, _: index < count,
            body,
            (tf.constant(0), empty),
            shape_invariants=(tf.TensorShape([]), shapes),
            parallel_iterations=1,  # one chunk at a time: bounded memory
        )
        return gathered

    def _concat(self, key, first, second):
        """Output ``key`` of two chunks, padded with its ``pad_values``."""
        if key in self.pad_values:
            padding = tf.constant(self.pad_values[key], first.dtype)
        else:
            padding = tf.zeros([], first.dtype)
        return concat_padded(first, second, padding)

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
            keras.utils.Progbar(
                len(texts), unit_name="text", verbose=terminal.verbosity()
            )
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

    def output_lines(self, inputs, batch_size=64, scores=False):
        """One line per input (``format``), as ``predict`` writes them.

        Args:
            inputs: parsed inputs (``parse_line``); None for an input that
                could not be read, which gets an empty line.
            batch_size: inputs per call of the graph.
            scores: each line starts with the output's score and a tab,
                where the predictor gives one.
        """
        valid = [value for value in inputs if value is not None]
        rows = iter(self.predict(valid, batch_size=batch_size))
        lines = []
        for value in inputs:
            row = None if value is None else next(rows)
            line = "" if row is None else self.format(row)
            if row is not None and scores and "score" in row:
                line = f"{row['score']:.4f}\t{line}"
            lines.append(line)
        return lines


__all__ = [
    "SERVE_BATCH_SIZE",
    "Predictor",
    "concat_padded",
    "dense_ids",
    "one_line",
    "search_for",
    "truncated_ids",
    "unescape",
]
