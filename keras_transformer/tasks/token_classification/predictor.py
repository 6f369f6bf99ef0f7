"""Text in, named entities with character offsets out, in one graph."""

import tensorflow as tf
import tensorflow_text as tf_text

from keras_transformer.data.conll import split_tag
from keras_transformer.inference.predictor import Predictor, one_line
from keras_transformer.tasks.token_classification.tagged_words import (
    first_piece_positions,
    word_pieces,
)


def window_rows(piece_counts, kept):
    """Cuts sentences into windows of whole words, ``kept`` pieces each.

    Each sentence's words fill a window in order until the next word's
    pieces would not fit; that word opens the sentence's next window (a
    word of more than ``kept`` pieces counts as ``kept``: it is cut).
    The windows of all sentences, in order, are the rows of one batch.

    Args:
        piece_counts: int64 ``tf.RaggedTensor`` [B, (W)], pieces per word.
        kept: the most pieces per window (``max_length - 2``).

    Returns:
        ``(rows, count)``: int64 [N], the window (batch row) of each of
        the N words, and R, the number of windows.

    Example:

    >>> counts = tf.ragged.constant([[2, 1, 2], [], [5]], tf.int64)
    >>> rows, count = window_rows(counts, 3)
    >>> rows.numpy().tolist(), int(count)
    ([0, 0, 1, 2], 3)
    """
    flat = tf.minimum(piece_counts.flat_values, kept)
    sentence = piece_counts.value_rowids()
    ends = tf.cumsum(flat)
    starts = ends - flat
    nrows = piece_counts.nrows()
    unplaced = tf.fill(tf.shape(flat), tf.constant(-1, tf.int64))

    def place(step, window):
        # Each sentence's next window begins at its first unplaced word.
        begin = tf.math.unsorted_segment_min(
            tf.where(window < 0, starts, starts.dtype.max), sentence, nrows
        )
        fits = (window < 0) & (ends - tf.gather(begin, sentence) <= kept)
        return step + 1, tf.where(fits, step, window)

    _, window = tf.while_loop(
        lambda step, window: tf.reduce_any(window < 0),
        place,
        [tf.constant(0, tf.int64), unplaced],
    )
    first = tf.ragged.range(piece_counts.row_lengths()).flat_values == 0
    previous = tf.concat([[-1], window[:-1]], axis=0)
    opens = first | (window != previous)
    opens = tf.cast(opens, tf.int64)
    return tf.cumsum(opens) - 1, tf.reduce_sum(opens)


class EntityTagger(Predictor):
    """Finds named entities with a trained ``models.TokenClassifier``.

    The graph splits each text into words at whitespace (with their
    offsets), tokenizes every word on its own (as in training), runs the
    model on BOS + pieces + EOS, takes the tag of each word's first piece
    and reads the entities from the BIO / BIOES tags the way conlleval
    does (an ``I-X`` that does not continue an ``X`` entity starts one).

    A text of more than ``max_length - 2`` pieces is tagged in windows
    (``window_rows``): consecutive runs of whole words of at most
    ``max_length - 2`` pieces each, every one run through the model as
    BOS + pieces + EOS, all windows of a batch as one batch of rows.
    Every word gets the tag of its first piece in its window; a word of
    more pieces than fit keeps its first ones. The windows do not
    overlap (simple, and each word is tagged once): a word at the start
    of a window sees no words before it. The entities and their offsets
    are read from the tags of the whole text, so an entity may span two
    windows.

    Args:
        model: a ``models.TokenClassifier``.
        tokenizer: the run's tokenizer.
        tag_names: the tags, in tag-id order (``O`` among them).
        max_length: tokens per model row (a window), BOS and EOS
            included.

    Call arguments (``serve``):
        text: (B,) ``tf.string``.

    Returns:
        ``{"types", "texts": (B, E) tf.string, "starts", "ends": (B, E)
        int32, "words", "tags": (B, W) tf.string}``: entity ``e`` of text
        ``b`` is ``text[starts[b, e]:ends[b, e]]`` in characters (padding:
        "" and -1); ``tags`` holds each word's tag (padding "").

    Example:

    >>> tagger = EntityTagger(model, tokenizer, ["O", "B-city"], 64)
    >>> tagger.predict(["I love Zürich"])[0]["entities"]
    [{'type': 'city', 'text': 'Zürich', 'start': 7, 'end': 13}]
    """

    pad_values = {"starts": -1, "ends": -1}

    def __init__(self, model, tokenizer, tag_names, max_length):
        super().__init__(name="entity_tagger")
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        tag_names = list(tag_names)
        parts = [split_tag(name) for name in tag_names]
        self.tag_names = tf.constant(tag_names, tf.string)
        self.prefixes = tf.constant([p for p, _ in parts], tf.string)
        self.kinds = tf.constant([k for _, k in parts], tf.string)
        self.splitter = tf_text.WhitespaceTokenizer()

    def _tag_ids(self, words):
        """Tag ids of ragged words [B, (W)] -> int64 ragged [B, (W)]."""
        kept = self.max_length - 2
        pieces = word_pieces(self.tokenizer, words.flat_values)[:, :kept]
        counts = words.with_flat_values(pieces.row_lengths())
        rows, count = window_rows(counts, kept)
        windows = tf.RaggedTensor.from_value_rowids(pieces, rows, nrows=count)
        positions = first_piece_positions(windows.row_lengths(axis=2))
        batch = windows.nrows()
        tokens = tf.concat(
            [
                tf.fill([batch, 1], self.tokenizer.bos_id),
                windows.merge_dims(1, 2),
                tf.fill([batch, 1], self.tokenizer.eos_id),
            ],
            axis=1,
        ).to_tensor()
        logits = self.model({"tokens": tf.cast(tokens, tf.int32)})
        predicted = tf.argmax(logits, axis=-1)
        index = tf.stack([rows, positions.flat_values], axis=-1)
        return words.with_flat_values(tf.gather_nd(predicted, index))

    def _entities(self, text, tags, starts, ends):
        """Entity spans of ragged tag ids and character offsets."""
        flat = tags.flat_values
        prefix = tf.gather(self.prefixes, flat)
        kind = tf.gather(self.kinds, flat)
        first = tf.ragged.range(tags.row_lengths()).flat_values == 0
        before = tf.concat([["O"], prefix[:-1]], axis=0)
        before = tf.where(first, "O", before)
        kind_before = tf.concat([[""], kind[:-1]], axis=0)
        inside = prefix != "O"
        continues = (
            ((before == "B") | (before == "I"))
            & (kind_before == kind)
            & ((prefix == "I") | (prefix == "E"))
        )
        start = inside & ~continues
        number = tf.cumsum(tf.cast(start, tf.int64)) - 1
        count = tf.reduce_sum(tf.cast(start, tf.int64))
        entity_ends = tf.math.unsorted_segment_max(
            tf.boolean_mask(ends.flat_values, inside),
            tf.boolean_mask(number, inside),
            count,
        )
        entity_starts = tf.boolean_mask(starts.flat_values, start)
        rows = tf.boolean_mask(tags.value_rowids(), start)
        entity_texts = tf.strings.substr(
            tf.gather(text, rows),
            entity_starts,
            entity_ends - entity_starts,
            unit="UTF8_CHAR",
        )
        batch = tags.nrows()

        def dense(values, padding):
            return tf.RaggedTensor.from_value_rowids(
                values, rows, nrows=batch
            ).to_tensor(default_value=padding)

        return {
            "types": dense(tf.boolean_mask(kind, start), ""),
            "texts": dense(entity_texts, ""),
            "starts": dense(entity_starts, self.pad_values["starts"]),
            "ends": dense(entity_ends, self.pad_values["ends"]),
        }

    def _serve(self, text):
        words, byte_starts, byte_ends = self.splitter.tokenize_with_offsets(
            text
        )
        words = words.with_row_splits_dtype(tf.int64)
        owner = tf.gather(text, words.value_rowids())

        def characters(offsets):
            offsets = offsets.flat_values
            prefix = tf.strings.substr(owner, tf.zeros_like(offsets), offsets)
            length = tf.strings.length(prefix, unit="UTF8_CHAR")
            return words.with_flat_values(length)

        tags = self._tag_ids(words)
        outputs = self._entities(
            text, tags, characters(byte_starts), characters(byte_ends)
        )
        outputs["words"] = words.to_tensor(default_value="")
        outputs["tags"] = tf.gather(self.tag_names, tags).to_tensor(
            default_value=""
        )
        return outputs

    def tag_words(self, sentences, batch_size=64):
        """The tag of every word of pre-split sentences (evaluation).

        Args:
            sentences: a list of lists of words (``str``).
            batch_size: sentences per model call (all their windows).

        Returns:
            A list of lists of tag names, one per word.
        """
        names = self.tag_names.numpy()
        tagged = []
        for begin in range(0, len(sentences), batch_size):
            batch = sentences[begin : begin + batch_size]
            flat = [word for words in batch for word in words]
            words = tf.RaggedTensor.from_row_lengths(
                tf.constant(flat, tf.string, shape=[len(flat)]),
                tf.constant([len(words) for words in batch], tf.int64),
            )
            for ids in self._tag_ids(words).to_list():
                tagged.append([names[i].decode("utf-8") for i in ids])
        return tagged

    def predict(self, texts, batch_size=64, progress=False):
        """One dict per text: ``entities`` (a list of dicts with ``type``,
        ``text``, ``start``, ``end``), ``words`` and ``tags``."""
        rows = super().predict(texts, batch_size=batch_size, progress=progress)
        cleaned = []
        for row in rows:
            entities = [
                {"type": kind, "text": text, "start": start, "end": end}
                for kind, text, start, end in zip(
                    row["types"], row["texts"], row["starts"], row["ends"]
                )
                if kind
            ]
            count = sum(1 for tag in row["tags"] if tag)
            cleaned.append(
                {
                    "entities": entities,
                    "words": row["words"][:count],
                    "tags": row["tags"][:count],
                }
            )
        return cleaned

    def format(self, row):
        return "; ".join(
            f'{e["type"]} "{one_line(e["text"])}" {e["start"]}-{e["end"]}'
            for e in row["entities"]
        )


__all__ = ["EntityTagger", "window_rows"]
