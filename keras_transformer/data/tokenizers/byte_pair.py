"""GPT-2's byte-level BPE tokenizer in the graph, read from a checkpoint.

``BytePairTokenizer`` gives the ids of ``transformers.GPT2Tokenizer`` (the
``tokenizers`` library's byte-level BPE) for a GPT-2 ``vocab.json`` and
``merges.txt``, with TensorFlow and tensorflow-text ops only, so it runs
in ``tf.data``, in ``tf.function`` and in a SavedModel loaded with only
``tensorflow`` and ``tensorflow_text`` imported. The steps are GPT-2's:

1. The text is cut at every ``<|endoftext|>``, which becomes that id.
2. Each part is split into words by GPT-2's regular expression
   ``'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+
   |\\s+(?!\\S)|\\s+``. RE2 has no lookahead, so the whitespace is cut
   first, from the code points (of a run of whitespace before a
   non-space, the last character goes with the next word if it is a
   space, else stands alone), and RE2 splits the rest.
3. Every word's UTF-8 bytes start as one symbol each; the merge of lowest
   rank (the leftmost of equal ones) is applied until none is left, in a
   ``tf.while_loop`` over all distinct words of the batch at once.

Two differences from ``transformers`` are known:

- ``tokenizers``' regex engine knows Unicode 16, RE2's tables in
  TensorFlow 2.21 Unicode 15.1: the letters and digits added in Unicode 16
  are listed here by hand (``_EXTRA_LETTERS``, ``_EXTRA_DIGITS``), so
  both agree on every code point today; characters a later Unicode adds
  may differ.
- Input must be UTF-8, as a Python ``str`` is: bytes that are not valid
  UTF-8 are read as U+FFFD (the replacement character), and the offsets
  of ``tokenize_with_offsets`` count the bytes of that replaced text.
"""

import json
import os

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from keras_transformer.data.tokenizers.base import (
    CONFIG_FILE,
    Tokenizer,
    _is_plain_name,
    _join,
)
from keras_transformer.special_tokens import (
    EOS_ID,
    SPECIAL_NAMES,
    SPECIAL_PIECES,
    checkpoint_ids,
    checkpoint_order,
)

VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
#: GPT-2's one special token: PAD, UNK, BOS and EOS at once.
END_OF_TEXT = "<|endoftext|>"
_MERGES_HEADER = "#version: 0.2"

# Python's (and tokenizers') \s: the code points of Unicode's White_Space.
_WHITESPACE = (
    [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680]
    + list(range(0x2000, 0x200B))
    + [0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
)
# Letters (\p{L}) and digits (\p{N}) of Unicode 16, which RE2's tables in
# TensorFlow 2.21 (Unicode 15.1) lack.
_EXTRA_LETTERS = (
    (0x1C89, 0x1C8A),
    (0xA7CB, 0xA7CD),
    (0xA7DA, 0xA7DC),
    (0x105C0, 0x105F3),
    (0x10D4A, 0x10D65),
    (0x10D6F, 0x10D85),
    (0x10EC2, 0x10EC4),
    (0x11380, 0x11389),
    (0x1138B, 0x1138B),
    (0x1138E, 0x1138E),
    (0x11390, 0x113B5),
    (0x113B7, 0x113B7),
    (0x113D1, 0x113D1),
    (0x113D3, 0x113D3),
    (0x11BC0, 0x11BE0),
    (0x13460, 0x143FA),
    (0x16100, 0x1611D),
    (0x16D40, 0x16D6C),
    (0x18CFF, 0x18CFF),
    (0x1E5D0, 0x1E5ED),
    (0x1E5F0, 0x1E5F0),
    (0x2EBF0, 0x2EE5D),
)
_EXTRA_DIGITS = (
    (0x10D40, 0x10D49),
    (0x116D0, 0x116E3),
    (0x11BF0, 0x11BF9),
    (0x16130, 0x16139),
    (0x16D70, 0x16D79),
    (0x1CCF0, 0x1CCF9),
    (0x1E5F1, 0x1E5FA),
)


def _class(code_points=(), ranges=(), properties=""):
    """The inside of an RE2 character class."""
    parts = [f"\\x{{{c:X}}}" for c in code_points]
    parts += [f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges]
    return properties + "".join(parts)


_S = _class(_WHITESPACE)
_L = _class(ranges=_EXTRA_LETTERS, properties=r"\p{L}")
_N = _class(ranges=_EXTRA_DIGITS, properties=r"\p{N}")
# GPT-2's pattern without the lookahead, for text whose whitespace is
# already cut: a run of whitespace, or at most one leading space and no
# other whitespace.
_WORD_PATTERN = (
    f"'s|'t|'re|'ve|'m|'ll|'d| ?[{_L}]+| ?[{_N}]+| ?[^{_S}{_L}{_N}]+|[{_S}]+"
)
# A rank above every merge's.
_NO_MERGE = np.iinfo(np.int32).max


def byte_symbols():
    """GPT-2's printable stand-in for every byte (``bytes_to_unicode``).

    A byte-level vocabulary spells each byte as one character: the
    printable Latin-1 ones as themselves, the others (space, control
    characters, ...) as ``chr(256 + k)`` (the space is ``"Ġ"``).

    Returns:
        A list of 256 one-character strings, indexed by byte.

    Example:

    >>> byte_symbols()[ord(" ")], byte_symbols()[ord("a")]
    ('Ġ', 'a')
    """
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    symbols = {byte: chr(byte) for byte in printable}
    extra = 0
    for byte in range(256):
        if byte not in symbols:
            symbols[byte] = chr(256 + extra)
            extra += 1
    return [symbols[byte] for byte in range(256)]


def _piece_bytes(piece, byte_of_symbol):
    """The bytes a vocabulary piece stands for (ByteLevel decoding: a
    character that is no byte's symbol stands for its own UTF-8)."""
    return b"".join(
        bytes([byte_of_symbol[char]])
        if char in byte_of_symbol
        else char.encode("utf-8")
        for char in piece
    )


def _shift(values, fill, step):
    """``values`` moved ``step`` (1 or -1) places along axis 0: element
    ``i`` of the result is ``values[i - step]``, ``fill`` where none."""
    size = tf.shape(values)[0]
    pad = tf.fill([1], fill)
    if step == 1:
        return tf.concat([pad, values], 0)[:size]
    return tf.concat([values, pad], 0)[1:]


class BytePairTokenizer(Tokenizer):
    """GPT-2's byte-level BPE tokenizer, as TensorFlow ops.

    Gives the ids of ``transformers.GPT2Tokenizer`` (``encode(text)``),
    renumbered to this package's special ids: GPT-2's one special token
    ``<|endoftext|>`` stands for PAD, UNK, BOS and EOS, which are ids 0 to
    3 here, and the other pieces follow in the vocabulary's order
    (:func:`keras_transformer.special_tokens.checkpoint_order`; with
    ``<|endoftext|>`` last, as in GPT-2, GPT-2's id ``g`` is ``g + 4``
    here). So ``vocab_size`` is the vocabulary's size plus 3, and
    ``<|endoftext|>`` in the text becomes ``eos_id`` (3).

    ``detokenize`` stops at the first EOS (so at ``<|endoftext|>``), where
    ``GPT2Tokenizer.decode(ids, skip_special_tokens=True)`` drops it and
    goes on; before it, both give the same text: the pieces' bytes,
    decoded as UTF-8 with each invalid sequence (a character cut in half)
    replaced by U+FFFD.

    Args:
        vocabulary: ``{piece: id}``, GPT-2's ids (``vocab.json``): ids
            ``0 ... len - 1``, the 256 byte symbols (see
            :func:`byte_symbols`) and ``<|endoftext|>`` among the pieces.
        merges: the merge rules, lowest rank first: ``"a b"`` strings (the
            lines of ``merges.txt``; a ``#version`` line is skipped) or
            ``(a, b)`` pairs.
        name: name of the ``tf.Module``.

    Returns:
        The tokenizer.

    Example:

    >>> tokenizer = BytePairTokenizer.from_huggingface("gpt2")
    >>> tokenizer.tokenize("Hello world").numpy()  # GPT-2's [15496, 995]
    array([15500,   999], dtype=int32)
    >>> tokenizer.detokenize([15500, 999, 3]).numpy()
    b'Hello world'
    """

    type_name = "byte_pair"

    def __init__(self, vocabulary, merges, name=None):
        super().__init__(name=name)
        if not isinstance(vocabulary, dict):
            raise ValueError(
                "`vocabulary` must be a dict {piece: id} (vocab.json). "
                f"Received: {type(vocabulary).__name__}"
            )
        vocabulary = {str(piece): int(i) for piece, i in vocabulary.items()}
        size = len(vocabulary)
        if sorted(vocabulary.values()) != list(range(size)):
            raise ValueError(
                f"The vocabulary's ids must be 0 to {size - 1}, each once."
            )
        symbols = byte_symbols()
        missing = [s for s in symbols + [END_OF_TEXT] if s not in vocabulary]
        if missing:
            raise ValueError(
                f"A byte-level BPE vocabulary needs {END_OF_TEXT} and the "
                f"256 byte symbols; this one lacks {missing[:10]}"
                f"{' ...' if len(missing) > 10 else ''}."
            )
        self.vocabulary = vocabulary
        self.merges = _merge_pairs(merges)

        pieces = sorted(vocabulary, key=vocabulary.get)
        end = vocabulary[END_OF_TEXT]
        self._order = checkpoint_order(
            size, {role: end for role in SPECIAL_NAMES}
        )
        ours = checkpoint_ids(self._order)
        self._ours = tf.constant([ours[g] for g in range(size)], tf.int32)
        self._byte_ids = tf.constant([vocabulary[s] for s in symbols], tf.int32)

        self._merge_keys, self._merge_ranks, self._merge_results = (
            self._merge_table(vocabulary)
        )

        # Per id of this package: its piece (id_to_piece), its bytes
        # (detokenize) and their number (offsets).
        byte_of_symbol = {symbol: b for b, symbol in enumerate(symbols)}
        self._pieces = tf.constant(
            list(SPECIAL_PIECES) + [pieces[g] for g in self._order[4:]]
        )
        raw = [b""] * len(SPECIAL_PIECES) + [
            _piece_bytes(pieces[g], byte_of_symbol) for g in self._order[4:]
        ]
        self._bytes = tf.constant(raw, tf.string)
        lengths = [len(piece) for piece in raw]
        lengths[EOS_ID] = len(END_OF_TEXT.encode("utf-8"))
        self._byte_lengths = tf.constant(lengths, tf.int64)
        self._whitespace = tf.constant(_WHITESPACE, tf.int32)

    def _merge_table(self, vocabulary):
        """The merges as three sorted constants: keys ``a * size + b`` of
        the pairs (a last key above all others ends a search), their
        ranks and their merged ids. A pair listed twice keeps its last
        rank, as tokenizers' BPE does.

        Raises:
            ValueError: a merge needs a piece the vocabulary lacks.
        """
        size = len(vocabulary)
        rules = {}
        for rank, (left, right) in enumerate(self.merges):
            for part in (left, right, left + right):
                if part not in vocabulary:
                    raise ValueError(
                        f"The merge {left!r} {right!r} needs the piece "
                        f"{part!r}, which is not in the vocabulary."
                    )
            key = vocabulary[left] * size + vocabulary[right]
            rules[key] = (rank, vocabulary[left + right])
        keys = sorted(rules)
        return (
            tf.constant(keys + [np.iinfo(np.int64).max], tf.int64),
            tf.constant([rules[k][0] for k in keys] + [_NO_MERGE], tf.int32),
            tf.constant([rules[k][1] for k in keys] + [0], tf.int32),
        )

    @property
    def vocab_size(self):
        """The vocabulary's size plus 3 (``<|endoftext|>`` is 4 ids here).

        Returns:
            A Python int.

        Example:

        >>> BytePairTokenizer.from_huggingface("gpt2").vocab_size
        50260
        """
        return len(self._order)

    @property
    def end_of_text_id(self):
        """GPT-2's id of ``<|endoftext|>`` (50256 in GPT-2's vocabulary).

        Example:

        >>> BytePairTokenizer.from_huggingface("gpt2").end_of_text_id
        50256
        """
        return self.vocabulary[END_OF_TEXT]

    @property
    def checkpoint_order(self):
        """GPT-2's id of each id of this package (to reorder the rows of
        a checkpoint's embedding matrix): ``checkpoint_order[i]``.

        Example:

        >>> BytePairTokenizer.from_huggingface("gpt2").checkpoint_order[:6]
        [50256, 50256, 50256, 50256, 0, 1]
        """
        return list(self._order)

    def __repr__(self):
        return (
            f"BytePairTokenizer(vocab_size={self.vocab_size}, "
            f"merges={len(self.merges)})"
        )

    # Kernels ------------------------------------------------------------

    def _tokenize_batch(self, texts):
        return self._encode(texts)

    # One graph, also when called eagerly (the merge loop would otherwise
    # run op by op); inside another tf.function it is a call of it.
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def _encode(self, texts):
        # <|endoftext|> cuts the text; the parts are tokenized alone.
        parts = tf.strings.split(texts, sep=END_OF_TEXT)
        ids = self._tokenize_parts(parts.flat_values)
        # Every part but the last of its text is followed by EOS.
        last = parts.row_limits() - 1
        follows = tf.ones(tf.shape(parts.flat_values), tf.int64)
        follows = tf.tensor_scatter_nd_update(
            follows, last[:, tf.newaxis], tf.zeros_like(last)
        )
        end = tf.RaggedTensor.from_row_lengths(
            tf.fill([tf.reduce_sum(follows)], EOS_ID), follows
        )
        ids = tf.concat([ids, end], axis=1)
        return tf.RaggedTensor.from_row_splits(
            ids, parts.row_splits
        ).merge_dims(1, 2)

    def _tokenize_parts(self, parts):
        """[P] strings without <|endoftext|> -> ids [P, None] (ours)."""
        code_points = tf.strings.unicode_decode(
            parts, "UTF-8", errors="replace"
        )
        words = self._split_words(code_points)
        # The words' bytes, read from the (valid UTF-8) text.
        text = tf.strings.unicode_encode(code_points, "UTF-8")
        flat_bytes = tf.strings.bytes_split(text).flat_values
        word_text = tf.strings.reduce_join(
            tf.RaggedTensor.from_row_lengths(flat_bytes, words.flat_values),
            axis=1,
        )
        # BPE of each distinct word once.
        distinct, index = tf.unique(word_text)
        pieces = tf.gather(self._merge_words(distinct), index)
        pieces = pieces.with_values(tf.gather(self._ours, pieces.values))
        return tf.RaggedTensor.from_row_splits(
            pieces, words.row_splits
        ).merge_dims(1, 2)

    def _split_words(self, code_points):
        """Code points [P, None] -> byte lengths of GPT-2's words [P, None].

        The words tile the text. First the whitespace is cut from the code
        points into the pieces GPT-2's lookahead gives; RE2 then splits
        each piece with the rest of GPT-2's pattern.
        """
        flat = code_points.flat_values
        rows = code_points.value_rowids()
        index = tf.range(tf.size(flat, out_type=tf.int64), dtype=tf.int64)
        first = tf.equal(index, tf.gather(code_points.row_starts(), rows))
        last = tf.equal(index, tf.gather(code_points.row_limits(), rows) - 1)
        space = tf.reduce_any(
            tf.equal(flat[:, tf.newaxis], self._whitespace), axis=1
        )
        space_before = _shift(space, False, 1) & ~first
        space_after = _shift(space, False, -1) & ~last
        # The last whitespace character before a non-space: a piece of
        # its own, which a non-space after a " " joins.
        tail = space & ~space_after & ~last
        joins = _shift(tail & tf.equal(flat, 32), False, 1) & ~first
        starts = (
            first
            | tail
            | (space & ~space_before)
            | (~space & space_before & ~joins)
        )
        piece_of = tf.cumsum(tf.cast(starts, tf.int64)) - 1
        count = tf.reduce_sum(tf.cast(starts, tf.int64))
        # tensorflow_text's regex_split ends its input at NUL: \x01 (of
        # the same class, one byte too) takes its place in the copy RE2
        # reads; the words' bytes come from the text itself.
        readable = tf.where(tf.equal(flat, 0), tf.ones_like(flat), flat)
        piece_text = tf.strings.unicode_encode(
            tf.RaggedTensor.from_value_rowids(readable, piece_of, nrows=count),
            "UTF-8",
        )
        _, word_starts, word_ends = tf_text.regex_split_with_offsets(
            piece_text, _WORD_PATTERN, _WORD_PATTERN
        )
        lengths = word_ends.with_flat_values(
            word_ends.flat_values - word_starts.flat_values
        )
        piece_row = tf.boolean_mask(rows, starts)
        return tf.RaggedTensor.from_value_rowids(
            lengths, piece_row, nrows=code_points.nrows()
        ).merge_dims(1, 2)

    def _merge_words(self, words):
        """[W] distinct words -> GPT-2 ids [W, None] after all merges."""
        chars = tf.strings.bytes_split(words)
        byte_values = tf.reshape(
            tf.io.decode_raw(chars.flat_values, tf.uint8), [-1]
        )
        symbols = tf.gather(self._byte_ids, tf.cast(byte_values, tf.int32))
        lengths = chars.row_lengths()
        num_words = tf.shape(words, out_type=tf.int64)[0]
        size = tf.constant(len(self.vocabulary), tf.int64)

        def merge_once(symbols, lengths, _):
            count = tf.size(symbols, out_type=tf.int64)
            word = tf.repeat(tf.range(num_words), lengths)
            pair_word = word[:-1]
            key = tf.cast(symbols[:-1], tf.int64) * size + tf.cast(
                symbols[1:], tf.int64
            )
            found_at = tf.searchsorted(self._merge_keys, key)
            found = tf.equal(word[1:], pair_word) & tf.equal(
                tf.gather(self._merge_keys, found_at), key
            )
            rank = tf.where(
                found, tf.gather(self._merge_ranks, found_at), _NO_MERGE
            )
            best = tf.math.unsorted_segment_min(rank, pair_word, num_words)
            best_here = found & tf.equal(rank, tf.gather(best, pair_word))
            position = tf.where(
                best_here, tf.range(tf.maximum(count - 1, 0)), count
            )
            leftmost = tf.math.unsorted_segment_min(
                position, pair_word, num_words
            )
            merging = leftmost < count
            chosen = tf.boolean_mask(leftmost, merging)
            merged = tf.gather(self._merge_results, tf.gather(found_at, chosen))
            symbols = tf.tensor_scatter_nd_update(
                symbols, chosen[:, tf.newaxis], merged
            )
            keep = tf.tensor_scatter_nd_update(
                tf.ones([count], tf.bool),
                chosen[:, tf.newaxis] + 1,
                tf.zeros_like(chosen, tf.bool),
            )
            symbols = tf.boolean_mask(symbols, keep)
            lengths = lengths - tf.cast(merging, tf.int64)
            return symbols, lengths, tf.reduce_any(merging)

        symbols, lengths, _ = tf.while_loop(
            lambda symbols, lengths, merged: merged,
            merge_once,
            (symbols, lengths, tf.constant(True)),
            shape_invariants=(
                tf.TensorShape([None]),
                tf.TensorShape([None]),
                tf.TensorShape([]),
            ),
        )
        return tf.RaggedTensor.from_row_lengths(symbols, lengths)

    def _tokenize_with_offsets_batch(self, texts):
        # The ids tile the text: each stands for its piece's bytes
        # (<|endoftext|>'s 13 for EOS).
        ids = tf.cast(self._tokenize_batch(texts), tf.int32)
        lengths = tf.gather(self._byte_lengths, ids.values)
        total = tf.cumsum(lengths)
        before_row = tf.gather(
            tf.concat([tf.zeros([1], tf.int64), total], 0),
            tf.gather(ids.row_starts(), ids.value_rowids()),
        )
        ends = total - before_row
        return ids, ids.with_values(ends - lengths), ids.with_values(ends)

    def _detokenize_batch(self, ids):
        pieces = ids.with_values(tf.gather(self._bytes, ids.values))
        text = tf.strings.reduce_join(pieces, axis=-1)
        return tf.strings.unicode_transcode(
            text, "UTF-8", "UTF-8", errors="replace"
        )

    def _id_to_piece_flat(self, ids):
        return tf.gather(self._pieces, ids)

    # Saving -------------------------------------------------------------

    def _config(self):
        return {"vocab_file": VOCAB_FILE, "merges_file": MERGES_FILE}

    def _save_assets(self, path):
        # tf.Module wraps dict attributes (for tracking): json needs a dict.
        vocabulary = dict(self.vocabulary)
        with tf.io.gfile.GFile(_join(path, VOCAB_FILE), "w") as f:
            f.write(json.dumps(vocabulary, ensure_ascii=False))
        with tf.io.gfile.GFile(_join(path, MERGES_FILE), "w") as f:
            f.write(_MERGES_HEADER + "\n")
            f.write("".join(f"{a} {b}\n" for a, b in self.merges))

    @classmethod
    def _from_saved(cls, path, config):
        files = {}
        for key, default in (
            ("vocab_file", VOCAB_FILE),
            ("merges_file", MERGES_FILE),
        ):
            name = config.get(key, default)
            if not _is_plain_name(name):
                raise ValueError(
                    f"{_join(path, CONFIG_FILE)!r} names {key}={name!r}; "
                    "it must be the plain name of a file in the "
                    f"tokenizer's own directory (e.g. {default!r})."
                )
            files[key] = _join(path, name)
            if not tf.io.gfile.exists(files[key]):
                raise FileNotFoundError(
                    f"The tokenizer file {files[key]!r} is missing. Save "
                    "the tokenizer again with Tokenizer.save()."
                )
        return cls(
            read_vocabulary(files["vocab_file"]),
            read_merges(files["merges_file"]),
        )

    @classmethod
    def from_huggingface(cls, directory):
        """The tokenizer of a Hugging Face GPT-2 checkpoint directory.

        Reads its ``vocab.json`` and ``merges.txt`` or, without them, its
        ``tokenizer.json`` (a ``tokenizers`` BPE model with a ByteLevel
        pre-tokenizer and no other special token than ``<|endoftext|>``).

        Args:
            directory: the checkpoint's local directory.

        Returns:
            A :class:`BytePairTokenizer`.

        Raises:
            ValueError: neither file, or a tokenizer this class cannot
                reproduce (another model or pre-tokenizer, a normalizer,
                ``add_prefix_space``, other special tokens).

        Example:

        >>> tokenizer = BytePairTokenizer.from_huggingface("gpt2")
        >>> tokenizer.tokenize(["Hello world"], add_bos=True)
        <tf.RaggedTensor [[2, 15500, 999]]>
        """
        directory = os.fspath(directory)
        vocab_path = os.path.join(directory, VOCAB_FILE)
        merges_path = os.path.join(directory, MERGES_FILE)
        if os.path.exists(vocab_path) and os.path.exists(merges_path):
            settings = os.path.join(directory, "tokenizer_config.json")
            if os.path.exists(settings):
                with open(settings, encoding="utf-8") as handle:
                    if json.load(handle).get("add_prefix_space"):
                        raise ValueError(
                            f"{settings}: add_prefix_space=true is not "
                            "supported (GPT-2 does not add a space)."
                        )
            return cls(read_vocabulary(vocab_path), read_merges(merges_path))
        json_path = os.path.join(directory, "tokenizer.json")
        if os.path.exists(json_path):
            return cls(*_from_tokenizer_json(json_path))
        raise ValueError(
            f"{directory} has neither {VOCAB_FILE} + {MERGES_FILE} nor "
            "tokenizer.json: copy the checkpoint's tokenizer files next "
            "to its weights."
        )


def _merge_pairs(merges):
    """``[(a, b), ...]`` of merge lines or pairs (``#version`` skipped)."""
    if isinstance(merges, (str, bytes)):
        raise ValueError(
            "`merges` must be a list of merge rules, not one string; read "
            "merges.txt with read_merges()."
        )
    pairs = []
    for merge in merges:
        if isinstance(merge, str):
            if merge.startswith("#version") or not merge.strip():
                continue
            parts = merge.split(" ")
        else:
            parts = list(merge)
        if len(parts) != 2 or not all(isinstance(p, str) for p in parts):
            raise ValueError(
                f"A merge rule is two pieces, 'a b' or (a, b). Received: "
                f"{merge!r}"
            )
        pairs.append((parts[0], parts[1]))
    return pairs


def read_vocabulary(path):
    """The ``{piece: id}`` of a ``vocab.json``."""
    with tf.io.gfile.GFile(path, "r") as handle:
        return json.loads(handle.read())


def read_merges(path):
    """The merge rules (``"a b"``, lowest rank first) of a ``merges.txt``."""
    with tf.io.gfile.GFile(path, "r") as handle:
        lines = handle.read().split("\n")
    return [
        line.rstrip("\r")
        for line in lines
        if line.rstrip("\r") and not line.startswith("#version")
    ]


def _from_tokenizer_json(path):
    """``(vocabulary, merges)`` of a ``tokenizers`` byte-level BPE file."""
    with open(path, encoding="utf-8") as handle:
        spec = json.load(handle)
    model = spec.get("model") or {}
    problems = []
    if model.get("type") != "BPE":
        problems.append(f"a {model.get('type')!r} model, not BPE")
    for key in ("continuing_subword_prefix", "end_of_word_suffix", "dropout"):
        if model.get(key):
            problems.append(f"{key}={model[key]!r}")
    if model.get("ignore_merges"):
        problems.append("ignore_merges=true")
    if spec.get("normalizer"):
        problems.append(f"a {spec['normalizer'].get('type')} normalizer")
    pre = spec.get("pre_tokenizer") or {}
    if pre.get("type") != "ByteLevel":
        problems.append(f"a {pre.get('type')!r} pre-tokenizer, not ByteLevel")
    elif pre.get("add_prefix_space") or not pre.get("use_regex", True):
        problems.append("a ByteLevel pre-tokenizer that is not GPT-2's")
    others = [
        token.get("content")
        for token in spec.get("added_tokens") or []
        if token.get("content") != END_OF_TEXT
    ]
    if others:
        problems.append(f"the added tokens {others[:5]}")
    if problems:
        raise ValueError(
            f"{path}: {'; '.join(problems)}. Only GPT-2's byte-level BPE "
            "is supported."
        )
    return dict(model.get("vocab") or {}), _merge_pairs(model["merges"])


__all__ = [
    "BytePairTokenizer",
    "END_OF_TEXT",
    "byte_symbols",
    "read_merges",
    "read_vocabulary",
]
