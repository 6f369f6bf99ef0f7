"""``Tokenizer``: the interface every tokenizer shares, and its files.

Every tokenizer maps text to ids and back with TensorFlow graph ops, in
``tf.data`` and in SavedModels, with the special ids of
``keras_transformer.special_tokens`` (PAD 0, UNK 1, BOS 2, EOS 3).
``Tokenizer.save(path)`` writes a directory with ``tokenizer.json``;
``Tokenizer.load(path)`` reads it back as the subclass that wrote it.
Both use ``tf.io.gfile``, so ``path`` may also be a ``gs://`` URL.
"""

import json
import os

import numpy as np
import tensorflow as tf

# Importing tensorflow_text registers its ops; the SentencePiece ones are
# used directly (see _SentencePieceResource for why).
from keras_transformer.special_tokens import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    UNK_ID,
)

CONFIG_FILE = "tokenizer.json"
#: The special ids every tokenizer has, as ``tokenizer.json`` names them.
SPECIAL_KEYS = ("pad_id", "unk_id", "bos_id", "eos_id")
FORMAT_VERSION = 1


def _string_input(texts):
    """Converts ``texts`` to a string tensor of rank 0 or 1."""
    if isinstance(texts, tf.RaggedTensor):
        raise ValueError(
            "tokenize() expects a string scalar or a 1-D string tensor, "
            "not a RaggedTensor. Pass `texts.flat_values` and rebuild the "
            "nesting with `texts.with_flat_values(...)`."
        )
    if not tf.is_tensor(texts):
        try:
            texts = tf.convert_to_tensor(texts, dtype=tf.string)
        except (TypeError, ValueError) as error:
            raise ValueError(
                "tokenize() expects a str, a list of str or a tf.string "
                f"tensor. Received: {texts!r:.200}"
            ) from error
    if texts.dtype != tf.string:
        raise ValueError(
            "tokenize() expects tf.string input. Received a tensor of dtype "
            f"{texts.dtype.name}; pass the raw text, not ids."
        )
    rank = texts.shape.rank
    if rank not in (0, 1):
        raise ValueError(
            "tokenize() expects a string scalar or a 1-D batch of strings. "
            f"Received shape {texts.shape}; reshape it to [-1] first."
        )
    return texts


def _ids_input(ids):
    """Converts ``ids`` to int32 of rank 1, or rank 2 (dense or ragged)."""
    if isinstance(ids, (list, tuple)):
        try:
            ids = tf.ragged.constant(ids, dtype=tf.int64)
        except (TypeError, ValueError) as error:
            raise ValueError(
                "detokenize() expects integer ids (a list, a list of lists, "
                f"a Tensor or a RaggedTensor). Received: {ids!r:.200}"
            ) from error
    elif not isinstance(ids, tf.RaggedTensor) and not tf.is_tensor(ids):
        ids = tf.convert_to_tensor(ids)
    if not ids.dtype.is_integer:
        raise ValueError(
            "detokenize() expects integer ids. Received dtype "
            f"{ids.dtype.name}; take the argmax of logits first."
        )
    rank = ids.shape.rank
    if isinstance(ids, tf.RaggedTensor):
        if rank != 2 or ids.ragged_rank != 1:
            raise ValueError(
                "detokenize() expects a ragged batch of shape [N, None]. "
                f"Received a RaggedTensor of shape {ids.shape}."
            )
        return tf.cast(ids, tf.int32).with_row_splits_dtype(tf.int64)
    if rank not in (1, 2):
        raise ValueError(
            "detokenize() expects ids of shape [L] (one sequence) or [N, L] "
            f"(a padded batch). Received shape {ids.shape}."
        )
    return tf.cast(ids, tf.int32)


def _add_special(ids, bos=None, eos=None):
    """Puts ``bos`` in front of / ``eos`` behind every row of a ragged
    batch (None: nothing)."""
    if bos is None and eos is None:
        return ids
    column = tf.ones([ids.nrows(), 1], tf.int32)
    parts = [ids]
    if bos is not None:
        parts.insert(0, tf.RaggedTensor.from_tensor(column * bos))
    if eos is not None:
        parts.append(tf.RaggedTensor.from_tensor(column * eos))
    return tf.concat(parts, axis=1)


def _strip_special(ids, tokenizer):
    """Keeps the ids before each row's first EOS that are not PAD or BOS
    (the ``tokenizer``'s ids).

    Ids outside ``[0, vocab_size)`` become UNK.
    """
    values = ids.values
    values = tf.where(
        (values < 0) | (values >= tokenizer.vocab_size),
        tf.constant(tokenizer.unk_id),
        values,
    )
    rowids = ids.value_rowids()
    is_eos = tf.cast(tf.equal(values, tokenizer.eos_id), tf.int32)
    eos_so_far = tf.cumsum(is_eos)
    eos_before = tf.cumsum(is_eos, exclusive=True)
    eos_before_row = tf.gather(eos_before, tf.gather(ids.row_starts(), rowids))
    keep = (
        tf.equal(eos_so_far, eos_before_row)
        & tf.not_equal(values, tokenizer.pad_id)
        & tf.not_equal(values, tokenizer.bos_id)
    )
    return tf.RaggedTensor.from_value_rowids(
        tf.boolean_mask(values, keep),
        tf.boolean_mask(rowids, keep),
        nrows=ids.nrows(),
        validate=False,
    )


def _join(path, name):
    return tf.io.gfile.join(path, name)


def _is_plain_name(name):
    """Whether ``name`` is a file name without a directory part."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
    )


def _check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(
            f"`{name}` must be a Python bool. Received: {name}={value!r}"
        )
    return bool(value)


class Tokenizer(tf.Module):
    """Base class: text <-> int32 ids, as TensorFlow graph ops.

    Subclasses implement the batch kernels; this class handles the input
    shapes, BOS/EOS, PAD, out-of-range ids and saving. The tokenizers this
    package trains use the special ids ``PAD_ID = 0``, ``UNK_ID = 1``,
    ``BOS_ID = 2`` and ``EOS_ID = 3``; a published checkpoint's
    ``WordPieceTokenizer`` has its vocabulary's (BERT's [CLS] is its BOS,
    [SEP] its EOS).

    Args:
        name: name of the ``tf.Module``.

    Returns:
        A tokenizer (only through a subclass; the base class is abstract).

    Example:

    >>> tokenizer = ByteTokenizer()
    >>> ids = tokenizer.tokenize(["hi", "hello"], add_eos=True)
    >>> tokenizer.detokenize(ids.to_tensor()).numpy()
    array([b'hi', b'hello'], dtype=object)
    """

    #: The ``type`` written to ``tokenizer.json``; set by subclasses.
    type_name = None
    #: ``type`` name -> class of every tokenizer a directory may hold:
    #: each subclass that sets its own ``type_name`` adds itself (one that
    #: inherits it, e.g. to change a method, loads as its parent).
    types = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("type_name") is not None:
            Tokenizer.types[cls.type_name] = cls

    @property
    def vocab_size(self):
        """Number of ids, special ids included: the model's vocabulary size.

        Returns:
            A Python int; every id the tokenizer produces is below it.

        Example:

        >>> ByteTokenizer().vocab_size
        260
        """
        raise NotImplementedError

    @property
    def pad_id(self):
        """The padding id.

        Returns:
            ``PAD_ID`` (0), for the tokenizers this package trains.

        Example:

        >>> ByteTokenizer().pad_id
        0
        """
        return PAD_ID

    @property
    def unk_id(self):
        """The unknown-piece id.

        Returns:
            ``UNK_ID`` (1), for the tokenizers this package trains.

        Example:

        >>> ByteTokenizer().unk_id
        1
        """
        return UNK_ID

    @property
    def bos_id(self):
        """The begin-of-sequence id (the decoder's start token).

        Returns:
            ``BOS_ID`` (2), for the tokenizers this package trains.

        Example:

        >>> ByteTokenizer().bos_id
        2
        """
        return BOS_ID

    @property
    def eos_id(self):
        """The end-of-sequence id.

        Returns:
            ``EOS_ID`` (3), for the tokenizers this package trains.

        Example:

        >>> ByteTokenizer().eos_id
        3
        """
        return EOS_ID

    @property
    def mask_id(self):
        """The id of ``MASK_PIECE`` (``[MASK]``), or None without one.

        A SentencePiece model trained with ``user_defined_symbols=
        [MASK_PIECE]`` (as the ``masked_lm`` task does) has it; the text
        ``[MASK]`` in input then tokenizes to this id.

        Returns:
            An int, or None.

        Example:

        >>> ByteTokenizer().mask_id is None
        True
        """
        return None

    @property
    def target_tokenizer(self):
        """The tokenizer of the target side of a pair: the same ids, split
        by the target language's model where the vocabulary has one
        (Marian's ``target.spm``); this tokenizer otherwise.

        Example:

        >>> tokenizer = ByteTokenizer()
        >>> tokenizer.target_tokenizer is tokenizer
        True
        """
        return self

    def tokenize(self, texts, add_bos=False, add_eos=False):
        """Turns text into int32 ids.

        Args:
            texts: a ``tf.string`` scalar (or ``str``), or a 1-D batch of
                N strings (a list of ``str`` or a ``[N]`` tensor).
            add_bos: whether to put ``BOS_ID`` in front of every sequence.
            add_eos: whether to put ``EOS_ID`` at the end of every sequence.

        Returns:
            For a scalar, a 1-D int32 ``tf.Tensor`` of ids; for a batch, an
            int32 ``tf.RaggedTensor`` of shape ``[N, None]`` (use
            ``.to_tensor()`` to pad it with ``PAD_ID``). The empty string
            gives no ids (only BOS/EOS if asked for).

        Example:

        >>> tokenizer = ByteTokenizer()
        >>> tokenizer.tokenize("hi", add_bos=True, add_eos=True).numpy()
        array([  2, 108, 109,   3], dtype=int32)
        """
        add_bos = _check_bool("add_bos", add_bos)
        add_eos = _check_bool("add_eos", add_eos)
        texts = _string_input(texts)
        with tf.name_scope(f"{self.name}_tokenize"):
            batch = texts[tf.newaxis] if texts.shape.rank == 0 else texts
            ids = self._tokenize_batch(batch)
            ids = tf.cast(ids, tf.int32).with_row_splits_dtype(tf.int64)
            ids = _add_special(
                ids,
                self.bos_id if add_bos else None,
                self.eos_id if add_eos else None,
            )
            return ids.values if texts.shape.rank == 0 else ids

    def tokenize_with_offsets(self, texts):
        """Turns a batch of texts into ids and the byte span of each id.

        Args:
            texts: a 1-D batch of N strings (a list of ``str`` or a
                ``[N]`` ``tf.string`` tensor).

        Returns:
            ``(ids, starts, ends)``: int32 ids and int64 byte offsets, each
            a ``tf.RaggedTensor`` ``[N, None]``: id ``i`` of text ``n``
            stands for the bytes ``texts[n][starts[n, i]:ends[n, i]]``
            (SentencePiece counts the space before a word in its piece).

        Example:

        >>> ids, starts, ends = ByteTokenizer().tokenize_with_offsets(["hé"])
        >>> starts.numpy().tolist(), ends.numpy().tolist()
        ([[0, 1, 2]], [[1, 2, 3]])
        """
        texts = _string_input(texts)
        if texts.shape.rank != 1:
            raise ValueError(
                "tokenize_with_offsets() expects a 1-D batch of strings."
            )
        with tf.name_scope(f"{self.name}_tokenize_with_offsets"):
            ids, starts, ends = self._tokenize_with_offsets_batch(texts)
            return (
                tf.cast(ids, tf.int32).with_row_splits_dtype(tf.int64),
                tf.cast(starts, tf.int64).with_row_splits_dtype(tf.int64),
                tf.cast(ends, tf.int64).with_row_splits_dtype(tf.int64),
            )

    def detokenize(self, ids):
        """Turns ids back into text.

        In every sequence, the first ``EOS_ID`` and everything after it are
        dropped, and so are all ``PAD_ID`` and ``BOS_ID``; ids outside
        ``[0, vocab_size)`` are read as ``UNK_ID``. So the padded output of
        a decoder can be passed as it is.

        Args:
            ids: integer ids: a padded batch ``[N, L]`` (``tf.Tensor`` or
                array), a ``tf.RaggedTensor`` ``[N, None]``, a list of
                lists, or a single sequence ``[L]``.

        Returns:
            A ``tf.string`` tensor: ``[N]`` for a batch, a scalar for a
            single sequence.

        Example:

        >>> tokenizer = ByteTokenizer()
        >>> ids = [[2, 108, 109, 3, 108], [108, 0, 0, 0, 0]]
        >>> tokenizer.detokenize(ids).numpy()
        array([b'hi', b'h'], dtype=object)
        """
        ids = _ids_input(ids)
        with tf.name_scope(f"{self.name}_detokenize"):
            single = not isinstance(ids, tf.RaggedTensor) and (
                ids.shape.rank == 1
            )
            if single:
                ids = ids[tf.newaxis]
            if not isinstance(ids, tf.RaggedTensor):
                ids = tf.RaggedTensor.from_tensor(ids)
            ids = _strip_special(ids, self)
            texts = self._detokenize_batch(ids)
            return texts[0] if single else texts

    def id_to_piece(self, ids):
        """Names the piece of every id (for attention plots and debugging).

        Args:
            ids: integer ids of any shape, dense or ragged. Ids outside
                ``[0, vocab_size)`` give the UNK piece.

        Returns:
            A ``tf.string`` tensor (ragged if ``ids`` is) of the same shape.
            Special ids give ``"<pad>"``, ``"<unk>"``, ``"<s>"`` and
            ``"</s>"``.

        Example:

        >>> tokenizer = ByteTokenizer()
        >>> tokenizer.id_to_piece([2, 108, 36, 3]).numpy()
        array([b'<s>', b'h', b'<0x20>', b'</s>'], dtype=object)
        """
        if isinstance(ids, tf.RaggedTensor):
            return ids.with_flat_values(self.id_to_piece(ids.flat_values))
        ids = tf.convert_to_tensor(ids)
        if not ids.dtype.is_integer:
            raise ValueError(
                "id_to_piece() expects integer ids. Received dtype "
                f"{ids.dtype.name}."
            )
        with tf.name_scope(f"{self.name}_id_to_piece"):
            flat = tf.reshape(tf.cast(ids, tf.int32), [-1])
            flat = tf.where(
                (flat < 0) | (flat >= self.vocab_size),
                tf.constant(self.unk_id),
                flat,
            )
            return tf.reshape(self._id_to_piece_flat(flat), tf.shape(ids))

    def save(self, path):
        """Writes the tokenizer to the directory ``path``.

        The directory gets ``tokenizer.json`` (the type, vocab_size and
        special ids) and, for SentencePiece, ``spm.model``. Existing files
        of these names are overwritten.

        Args:
            path: a directory (created if missing); local or ``gs://``.

        Returns:
            None.

        Example:

        >>> ByteTokenizer().save("/tmp/byte_tokenizer")
        >>> Tokenizer.load("/tmp/byte_tokenizer").vocab_size
        260
        """
        path = os.fspath(path)
        if tf.io.gfile.exists(path) and not tf.io.gfile.isdir(path):
            raise ValueError(
                f"Tokenizer.save() writes a directory, but {path!r} is a "
                "file. Pass the path of a (new or existing) directory."
            )
        tf.io.gfile.makedirs(path)
        self._save_assets(path)
        config = {
            "type": self.type_name,
            "format_version": FORMAT_VERSION,
            "vocab_size": self.vocab_size,
            **self.special_ids(),
        }
        config.update(self._config())
        with tf.io.gfile.GFile(_join(path, CONFIG_FILE), "w") as f:
            f.write(json.dumps(config, indent=2, sort_keys=True) + "\n")

    @staticmethod
    def load(path):
        """Reads a tokenizer written by :meth:`save`.

        Args:
            path: the directory given to :meth:`save`; local or ``gs://``.

        Returns:
            The tokenizer, an instance of the subclass that was saved.

        Raises:
            FileNotFoundError: if ``path`` or a file in it is missing.
            ValueError: if the files are not a tokenizer this code can read.

        Example:

        >>> ByteTokenizer().save("/tmp/byte_tokenizer")
        >>> Tokenizer.load("/tmp/byte_tokenizer")
        ByteTokenizer(vocab_size=260)
        """
        path = os.fspath(path)
        config_path = _join(path, CONFIG_FILE)
        if not tf.io.gfile.exists(config_path):
            what = "has no" if tf.io.gfile.isdir(path) else "is not a"
            raise FileNotFoundError(
                f"No tokenizer at {path!r}: it {what} directory with "
                f"{CONFIG_FILE!r}. Pass the directory written by "
                "Tokenizer.save()."
            )
        with tf.io.gfile.GFile(config_path, "r") as f:
            try:
                config = json.loads(f.read())
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"{config_path!r} is not valid JSON ({error}). Save the "
                    "tokenizer again with Tokenizer.save()."
                ) from error
        if not isinstance(config, dict):
            raise ValueError(
                f"{config_path!r} is not a tokenizer description (a JSON "
                "object); save the tokenizer again with Tokenizer.save()."
            )
        types = Tokenizer.types
        kind = config.get("type")
        if kind not in types:
            raise ValueError(
                f"{config_path!r} has type={kind!r}; expected one of "
                f"{sorted(types)}. Was it written by Tokenizer.save()?"
            )
        tokenizer = types[kind]._from_saved(path, config)
        special = {key: config.get(key) for key in SPECIAL_KEYS}
        if special != tokenizer.special_ids():
            raise ValueError(
                f"{config_path!r} has special ids {special}, but the "
                f"tokenizer has {tokenizer.special_ids()}. Save the "
                "tokenizer again with Tokenizer.save()."
            )
        if tokenizer.vocab_size != config.get("vocab_size"):
            raise ValueError(
                f"{config_path!r} says vocab_size={config.get('vocab_size')}"
                f" but the saved tokenizer has {tokenizer.vocab_size} ids; "
                "the directory is inconsistent, save the tokenizer again."
            )
        return tokenizer

    def special_ids(self):
        """``{"pad_id": ..., "unk_id": ..., "bos_id": ..., "eos_id": ...}``:
        the tokenizer's special ids (``tokenizer.json`` records them)."""
        return {key: getattr(self, key) for key in SPECIAL_KEYS}

    # Subclass hooks ---------------------------------------------------------

    def _tokenize_batch(self, texts):
        """[N] tf.string -> int RaggedTensor [N, None] (no BOS/EOS)."""
        raise NotImplementedError

    def _tokenize_with_offsets_batch(self, texts):
        """[N] tf.string -> (ids, byte starts, byte ends), ragged."""
        raise NotImplementedError

    def _detokenize_batch(self, ids):
        """int32 RaggedTensor [N, None] without specials -> [N] tf.string."""
        raise NotImplementedError

    def _id_to_piece_flat(self, ids):
        """int32 [M] ids in range -> [M] tf.string."""
        raise NotImplementedError

    def _config(self):
        """Extra entries of tokenizer.json."""
        return {}

    def _save_assets(self, path):
        """Writes the files besides tokenizer.json."""

    @classmethod
    def _from_saved(cls, path, config):
        """Builds the tokenizer from a saved directory."""
        raise NotImplementedError
