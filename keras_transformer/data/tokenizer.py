"""Tokenizers that run as TensorFlow graph ops, in tf.data and SavedModels.

Two tokenizers share one interface (:class:`Tokenizer`) and one set of
special ids, so that models, data pipelines and decoders never need to know
which one they were given:

========  ===  ==========================================================
name      id   meaning
========  ===  ==========================================================
PAD_ID    0    padding of batches; dropped by ``detokenize``
UNK_ID    1    unknown piece (a character the vocabulary does not cover)
BOS_ID    2    begin of sequence (decoder start token); dropped
EOS_ID    3    end of sequence; ``detokenize`` drops it and all after it
========  ===  ==========================================================

* :class:`SentencePieceTokenizer` wraps a serialized SentencePiece model
  (unigram or BPE, see :func:`train_sentencepiece`) and runs it with
  ``tensorflow_text.SentencepieceTokenizer``.
* :class:`ByteTokenizer` maps UTF-8 bytes to ids (``id = byte + 4``, 260
  ids) with ``tf.strings`` ops only; it needs no training and its round trip
  is exact for every UTF-8 string.

Every tokenizer is a ``tf.Module``: its TensorFlow resources are tracked, so
a ``tf.Module`` (or Keras model) that holds one can be written with
``tf.saved_model.save`` and the SavedModel tokenizes and detokenizes strings
after being loaded with only ``tensorflow`` and ``tensorflow_text`` imported.
All methods are built from graph ops, so they also run inside
``tf.data.Dataset.map`` and ``tf.function``.

``Tokenizer.save(path)`` writes a directory with ``tokenizer.json`` (and
``spm.model`` for SentencePiece, a normal SentencePiece model file);
``Tokenizer.load(path)`` reads it back. Both use ``tf.io.gfile``, so ``path``
may also be a ``gs://`` URL.
"""

import io
import json
import os
import random
import re
import uuid

import numpy as np
import sentencepiece as spm
import tensorflow as tf

# Importing tensorflow_text registers its ops; the SentencePiece ones are
# used directly (see _SentencePieceResource for why).
from tensorflow_text.python.ops.sentencepiece_tokenizer import (
    gen_sentencepiece_tokenizer as _sp_ops,
)

from keras_transformer.special_tokens import (
    BOS_ID,
    EOS_ID,
    MASK_PIECE,
    PAD_ID,
    SPECIAL_PIECES,
    UNK_ID,
)

#: ``ByteTokenizer`` id of byte ``b`` is ``b + BYTE_OFFSET``.
BYTE_OFFSET = 4

#: The model types :func:`train_sentencepiece` accepts.
MODEL_TYPES = ("unigram", "bpe")

CONFIG_FILE = "tokenizer.json"
#: The special ids every tokenizer has, as ``tokenizer.json`` names them.
SPECIAL_KEYS = ("pad_id", "unk_id", "bos_id", "eos_id")
SENTENCEPIECE_FILE = "spm.model"
FORMAT_VERSION = 1

# What the byte tokenizer's ``detokenize`` writes for UNK: U+FFFD, the
# Unicode replacement character.
_REPLACEMENT = "\ufffd".encode("utf-8")

__all__ = [
    "PAD_ID",
    "UNK_ID",
    "BOS_ID",
    "EOS_ID",
    "BYTE_OFFSET",
    "MASK_PIECE",
    "MODEL_TYPES",
    "Tokenizer",
    "SentencePieceTokenizer",
    "ByteTokenizer",
    "train_sentencepiece",
]


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
        types = _tokenizer_types()
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


def _model_type_of(model_proto):
    """The model type ("unigram", "bpe", ...) stored in a model proto."""
    try:
        from sentencepiece import sentencepiece_model_pb2
    except ImportError:  # pragma: no cover - needs protobuf, which TF has
        return "unknown"
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model_proto)
    type_enum = sentencepiece_model_pb2.TrainerSpec.ModelType
    return type_enum.Name(proto.trainer_spec.model_type).lower()


class _SentencePieceResource(tf.saved_model.experimental.TrackableResource):
    """The tensorflow_text SentencePiece model resource, under a shared name.

    ``tensorflow_text.SentencepieceTokenizer`` makes the model a resource
    owned by the kernel that created it, and ``keras.backend.
    clear_session()`` (which clears TensorFlow's kernel cache) deletes it:
    every later call fails with "Resource ... does not exist". A shared name
    puts the resource in the device's resource manager instead, where it
    stays until the process ends (like ``tf.lookup.StaticHashTable``). It is
    never destroyed, because tf.data pipelines and tf.functions may still
    use it after the tokenizer object is gone. Being a ``TrackableResource``,
    it is re-created from the model proto when a SavedModel is loaded.
    """

    def __init__(self, model_proto):
        super().__init__()
        self._model_proto = model_proto
        self._shared_name = f"keras_transformer_spm_{uuid.uuid4().hex}"
        _ = self.resource_handle  # creates the resource now

    def _create_resource(self):
        return _sp_ops.sentencepiece_op(
            model=self._model_proto, shared_name=self._shared_name
        )


# How the SentencePiece ops split: the best segmentation (no sampling), no
# BOS/EOS added by the op, int64 row splits.
_SPLIT_OPTIONS = dict(
    nbest_size=0,
    alpha=1.0,
    add_bos=False,
    add_eos=False,
    reverse=False,
    Tsplits=tf.int64,
)


def sentencepiece_split(resource, texts, out_type):
    """[N] ``texts`` split by a ``_SentencePieceResource``'s model: a
    ragged [N, None] batch of ids (``out_type=tf.int32``) or of pieces
    (``tf.string``), no BOS/EOS, row splits int64."""
    values, splits = _sp_ops.sentencepiece_tokenize_op(
        resource.resource_handle, texts, out_type=out_type, **_SPLIT_OPTIONS
    )
    return tf.RaggedTensor.from_row_splits(values, splits, validate=False)


class SentencePieceTokenizer(Tokenizer):
    """A SentencePiece model (unigram or BPE) run with tensorflow_text ops.

    The model must use the project's special ids (``pad_id=0, unk_id=1,
    bos_id=2, eos_id=3``), as models from :func:`train_sentencepiece` do.

    Round-trip guarantee: ``detokenize(tokenize(x))`` equals the
    SentencePiece *normalized* form of ``x``: with the default
    ``nmt_nfkc`` rule, text is NFKC-normalized, tabs and newlines become
    spaces, runs of whitespace become one space and leading and trailing
    whitespace is removed; characters outside the vocabulary come back as
    ``" ⁇ "`` (the UNK piece). So the round trip is exact for NFKC text
    with single spaces between words, no other whitespace and only
    characters seen in training (all of them when
    ``character_coverage=1``). It always matches the ``sentencepiece``
    library's ``decode(encode(x))``. Use :class:`ByteTokenizer` where text
    must come back byte for byte.

    Args:
        model_proto: the serialized model (``bytes``; the content of a
            SentencePiece ``.model`` file).
        name: name of the ``tf.Module``.

    Returns:
        The tokenizer.

    Example:

    >>> sentences = [
    ...     "the quick brown fox jumps over the lazy dog",
    ...     "she sells sea shells by the sea shore",
    ... ] * 50
    >>> tokenizer = train_sentencepiece(sentences, vocab_size=32)
    >>> again = SentencePieceTokenizer(tokenizer.model_proto)
    >>> again.tokenize("the dog sat").numpy().tolist() == (
    ...     tokenizer.tokenize("the dog sat").numpy().tolist()
    ... )
    True
    """

    type_name = "sentencepiece"

    def __init__(self, model_proto, name=None):
        super().__init__(name=name)
        if isinstance(model_proto, bytearray):
            model_proto = bytes(model_proto)
        if not isinstance(model_proto, bytes) or not model_proto:
            raise ValueError(
                "SentencePieceTokenizer expects the serialized model as "
                f"non-empty bytes. Received: {type(model_proto).__name__}. "
                "Read the .model file in binary mode ('rb'), or use "
                "Tokenizer.load() on a saved directory."
            )
        processor = spm.SentencePieceProcessor()
        try:
            processor.LoadFromSerializedProto(model_proto)
        except (RuntimeError, OSError) as error:
            raise ValueError(
                "`model_proto` is not a valid SentencePiece model "
                f"({error}). Pass the bytes of a .model file."
            ) from error
        found = (
            processor.pad_id(),
            processor.unk_id(),
            processor.bos_id(),
            processor.eos_id(),
        )
        if found != (PAD_ID, UNK_ID, BOS_ID, EOS_ID):
            raise ValueError(
                "The SentencePiece model has pad/unk/bos/eos ids "
                f"{found}, but this project needs "
                f"{(PAD_ID, UNK_ID, BOS_ID, EOS_ID)}. Train it with "
                "train_sentencepiece(), or pass pad_id=0, unk_id=1, "
                "bos_id=2, eos_id=3 to SentencePieceTrainer."
            )
        self._model_proto = model_proto
        self._vocab_size = int(processor.vocab_size())
        mask_id = processor.piece_to_id(MASK_PIECE)
        self._mask_id = mask_id if mask_id != UNK_ID else None
        self._model_type = _model_type_of(model_proto)
        self._resource = _SentencePieceResource(model_proto)

    @property
    def vocab_size(self):
        """Number of pieces in the model, special ids included.

        Returns:
            A Python int.

        Example:

        >>> train_sentencepiece(sentences, vocab_size=32).vocab_size
        32
        """
        return self._vocab_size

    @property
    def mask_id(self):
        """The id of ``[MASK]`` when the model has it, else None.

        Example:

        >>> train_sentencepiece(sentences, 32, user_defined_symbols=[
        ...     MASK_PIECE]).mask_id
        4
        """
        return self._mask_id

    @property
    def model_type(self):
        """The SentencePiece model type.

        Returns:
            ``"unigram"`` or ``"bpe"`` (``"char"`` or ``"word"`` for models
            trained elsewhere).

        Example:

        >>> train_sentencepiece(sentences, 32, model_type="bpe").model_type
        'bpe'
        """
        return self._model_type

    @property
    def model_proto(self):
        """The serialized SentencePiece model.

        Returns:
            ``bytes``: the content of a SentencePiece ``.model`` file.

        Example:

        >>> tokenizer = train_sentencepiece(sentences, vocab_size=32)
        >>> processor = sentencepiece.SentencePieceProcessor(
        ...     model_proto=tokenizer.model_proto
        ... )
        >>> processor.vocab_size()
        32
        """
        return self._model_proto

    def __repr__(self):
        return (
            f"SentencePieceTokenizer(vocab_size={self.vocab_size}, "
            f"model_type={self.model_type!r})"
        )

    def _tokenize_batch(self, texts):
        return sentencepiece_split(self._resource, texts, tf.int32)

    def _tokenize_with_offsets_batch(self, texts):
        values, splits, starts, ends = (
            _sp_ops.sentencepiece_tokenize_with_offsets_op(
                self._resource.resource_handle,
                texts,
                out_type=tf.int32,
                **_SPLIT_OPTIONS,
            )
        )
        return tuple(
            tf.RaggedTensor.from_row_splits(part, splits, validate=False)
            for part in (values, starts, ends)
        )

    def _detokenize_batch(self, ids):
        return _sp_ops.sentencepiece_detokenize_op(
            self._resource.resource_handle,
            ids.values,
            ids.row_splits,
            add_bos=False,
            add_eos=False,
            reverse=False,
        )

    def _id_to_piece_flat(self, ids):
        return _sp_ops.sentencepiece_id_to_string_op(
            self._resource.resource_handle, ids
        )

    def _config(self):
        return {"model_type": self.model_type, "model_file": SENTENCEPIECE_FILE}

    def _save_assets(self, path):
        with tf.io.gfile.GFile(_join(path, SENTENCEPIECE_FILE), "wb") as f:
            f.write(self._model_proto)

    @classmethod
    def _from_saved(cls, path, config):
        name = config.get("model_file", SENTENCEPIECE_FILE)
        if not _is_plain_name(name):
            raise ValueError(
                f"{_join(path, CONFIG_FILE)!r} names model_file={name!r}; "
                "it must be the plain name of a file in the tokenizer's own "
                f"directory (e.g. {SENTENCEPIECE_FILE!r})."
            )
        model_path = _join(path, name)
        if not tf.io.gfile.exists(model_path):
            raise FileNotFoundError(
                f"The SentencePiece model {model_path!r} is missing. Save "
                "the tokenizer again with Tokenizer.save()."
            )
        with tf.io.gfile.GFile(model_path, "rb") as f:
            return cls(f.read())


class ByteTokenizer(Tokenizer):
    """UTF-8 bytes as ids: ``id = byte + 4``, 260 ids in all.

    Needs no training and no files. ``detokenize(tokenize(x)) == x`` for
    every UTF-8 string ``x``, whitespace, control characters and emoji
    included. ``detokenize`` always returns valid UTF-8: byte sequences
    that are not (e.g. a character cut in half by a decoder) and
    ``UNK_ID`` become U+FFFD (the replacement character).

    Args:
        name: name of the ``tf.Module``.

    Returns:
        The tokenizer.

    Example:

    >>> tokenizer = ByteTokenizer()
    >>> tokenizer.tokenize("é").numpy()
    array([199, 173], dtype=int32)
    >>> tokenizer.detokenize([199, 173, 3]).numpy().decode()
    'é'
    """

    type_name = "byte"

    @property
    def vocab_size(self):
        """Always 260: 4 special ids and 256 bytes.

        Returns:
            260.

        Example:

        >>> ByteTokenizer().vocab_size
        260
        """
        return BYTE_OFFSET + 256

    def __repr__(self):
        return f"ByteTokenizer(vocab_size={self.vocab_size})"

    def _tokenize_batch(self, texts):
        chars = tf.strings.bytes_split(texts)
        # Every element of chars.values is one byte long, so decode_raw
        # reads each as one uint8: shape [num_bytes, 1].
        flat = tf.reshape(tf.io.decode_raw(chars.values, tf.uint8), [-1])
        return chars.with_values(tf.cast(flat, tf.int32) + BYTE_OFFSET)

    def _tokenize_with_offsets_batch(self, texts):
        ids = self._tokenize_batch(texts)
        starts = tf.ragged.range(ids.row_lengths())
        return ids, starts, starts + 1

    def _detokenize_batch(self, ids):
        table = tf.constant(
            [b"", _REPLACEMENT, b"", b""] + [bytes([b]) for b in range(256)]
        )
        pieces = ids.with_values(tf.gather(table, ids.values))
        joined = tf.strings.reduce_join(pieces, axis=-1)
        return tf.strings.unicode_transcode(
            joined, "UTF-8", "UTF-8", errors="replace"
        )

    def _id_to_piece_flat(self, ids):
        names = list(SPECIAL_PIECES)
        for byte in range(256):
            if 0x21 <= byte <= 0x7E:
                names.append(chr(byte))
            else:
                names.append(f"<0x{byte:02X}>")
        return tf.gather(tf.constant(names), ids)

    @classmethod
    def _from_saved(cls, path, config):
        return cls()


def _tokenizer_types():
    """``type`` name -> class of every tokenizer a directory may hold."""
    from keras_transformer.data.byte_pair import BytePairTokenizer
    from keras_transformer.data.marian_tokenizer import MarianTokenizer
    from keras_transformer.data.wordpiece import WordPieceTokenizer

    classes = (
        SentencePieceTokenizer,
        ByteTokenizer,
        WordPieceTokenizer,
        MarianTokenizer,
        BytePairTokenizer,
    )
    return {cls.type_name: cls for cls in classes}


def _as_text(item, index):
    """One training sentence as str (str, bytes or a tf/np string)."""
    if tf.is_tensor(item):
        item = item.numpy()
    if isinstance(item, np.ndarray) and item.ndim == 0:
        item = item.item()
    if isinstance(item, (bytes, np.bytes_)):
        try:
            return bytes(item).decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"texts[{index}] is bytes that are not UTF-8 ({error}). "
                "Decode the text to str first."
            ) from error
    if isinstance(item, str):
        return str(item)
    raise ValueError(
        f"texts must contain strings; texts[{index}] is a "
        f"{type(item).__name__}: {item!r:.100}."
    )


def _sample(texts, max_sentences, seed):
    """Reservoir-samples at most ``max_sentences`` non-blank texts.

    One pass over ``texts`` (so generators work), memory for
    ``max_sentences`` texts, the same sample for the same ``seed``, kept in
    input order. All texts are kept when there are few enough.
    """
    rng = random.Random(seed)
    reservoir = []
    count = 0
    for index, item in enumerate(texts):
        text = _as_text(item, index)
        if not text.strip():
            continue
        if count < max_sentences:
            reservoir.append((count, text))
        else:
            slot = rng.randrange(count + 1)
            if slot < max_sentences:
                reservoir[slot] = (count, text)
        count += 1
    reservoir.sort()
    return [text for _, text in reservoir]


def train_sentencepiece(
    texts,
    vocab_size,
    model_type="unigram",
    character_coverage=1.0,
    max_sentences=1_000_000,
    seed=0,
    user_defined_symbols=(),
    split_digits=False,
):
    """Trains a SentencePiece model in memory (no files, no logs).

    The model uses ``pad_id=0, unk_id=1, bos_id=2, eos_id=3`` and the
    default ``nmt_nfkc`` normalization (see :class:`SentencePieceTokenizer`
    for what the round trip keeps). ``vocab_size`` is a hard limit: the
    model has exactly ``vocab_size`` pieces (so embedding sizes computed
    from it are right), and data too small for it is an error rather than a
    silently smaller vocabulary. The same ``texts``, arguments and ``seed``
    give the same model bytes.

    Args:
        texts: any iterable of ``str`` (``bytes`` are read as UTF-8), e.g.
            a list or a generator; read once. Blank texts are skipped.
        vocab_size: number of pieces, special ids included.
        model_type: ``"unigram"`` or ``"bpe"``.
        character_coverage: fraction of the characters (by frequency) that
            get their own piece, in (0, 1]; the rarest others become UNK.
            1.0 for small alphabets, ~0.9995 for Chinese or Japanese.
        max_sentences: at most this many texts are used, a reservoir sample
            (uniform over ``texts``, fixed by ``seed``, in input order).
        seed: seed of the sampling and of SentencePiece's random generator.
        user_defined_symbols: strings that are always one piece each
            (e.g. ``["<sep>"]``); they get the ids after the 4 special ids.
        split_digits: make every digit its own piece (numbers are then
            read digit by digit, which helps numeric tasks).

    Returns:
        A :class:`SentencePieceTokenizer`.

    Raises:
        ValueError: for bad arguments, no text, or a ``vocab_size`` the
            data cannot fill (the message gives the largest possible one).

    Example:

    >>> sentences = [
    ...     "the quick brown fox jumps over the lazy dog",
    ...     "she sells sea shells by the sea shore",
    ... ] * 50
    >>> tokenizer = train_sentencepiece(sentences, vocab_size=32)
    >>> tokenizer.detokenize(tokenizer.tokenize("the dog sat")).numpy()
    b'the dog sat'
    """
    if isinstance(texts, (str, bytes)):
        raise ValueError(
            "`texts` must be an iterable of sentences, not a single string. "
            "Pass a list (or generator) of str, e.g. [text]."
        )
    if model_type not in MODEL_TYPES:
        raise ValueError(
            f"`model_type` must be one of {list(MODEL_TYPES)}. Received: "
            f"model_type={model_type!r}"
        )
    if isinstance(user_defined_symbols, str):
        raise ValueError(
            "`user_defined_symbols` must be a list of strings, not one "
            f"string. Received: {user_defined_symbols!r}; pass "
            f"[{user_defined_symbols!r}]."
        )
    symbols = list(user_defined_symbols)
    for symbol in symbols:
        if not isinstance(symbol, str) or not symbol:
            raise ValueError(
                "`user_defined_symbols` must contain non-empty strings. "
                f"Received: {symbols!r}"
            )
    if len(set(symbols)) != len(symbols) or set(symbols) & set(SPECIAL_PIECES):
        raise ValueError(
            "`user_defined_symbols` must be distinct and must not repeat "
            f"the special pieces {list(SPECIAL_PIECES)}. Received: "
            f"{symbols!r}"
        )
    minimum = len(SPECIAL_PIECES) + len(symbols) + 1
    if (
        isinstance(vocab_size, bool)
        or not isinstance(vocab_size, int)
        or vocab_size < minimum
    ):
        raise ValueError(
            f"`vocab_size` must be an int >= {minimum} (4 special ids, "
            f"{len(symbols)} user-defined symbols and at least one piece). "
            f"Received: vocab_size={vocab_size!r}"
        )
    if isinstance(character_coverage, bool) or not isinstance(
        character_coverage, (int, float)
    ):
        raise ValueError(
            "`character_coverage` must be a float in (0, 1]. Received: "
            f"character_coverage={character_coverage!r}"
        )
    if not 0.0 < character_coverage <= 1.0:
        raise ValueError(
            "`character_coverage` must be a float in (0, 1]. Received: "
            f"character_coverage={character_coverage!r}"
        )
    if (
        isinstance(max_sentences, bool)
        or not isinstance(max_sentences, int)
        or max_sentences <= 0
    ):
        raise ValueError(
            "`max_sentences` must be a positive int. Received: "
            f"max_sentences={max_sentences!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(
            f"`seed` must be a non-negative int. Received: seed={seed!r}"
        )

    sentences = _sample(texts, max_sentences, seed)
    if not sentences:
        raise ValueError(
            "train_sentencepiece() got no text: `texts` is empty or blank. "
            "Pass the training sentences."
        )
    options = dict(
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=float(character_coverage),
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=EOS_ID,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        hard_vocab_limit=True,
        split_digits=bool(split_digits),
        minloglevel=2,
    )
    if symbols:
        options["user_defined_symbols"] = symbols
    spm.set_random_generator_seed(seed)
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences), model_writer=model, **options
        )
    except RuntimeError as error:
        message = str(error)
        if "Vocabulary size too high" in message:
            limit = re.search(r"<=\s*(\d+)", message)
            hint = f"vocab_size <= {limit.group(1)}" if limit else "less"
            raise ValueError(
                f"vocab_size={vocab_size} is too high for this training "
                f"data ({len(sentences)} sentences): SentencePiece cannot "
                f"find that many pieces in it. Pass a smaller `vocab_size` "
                f"({hint}) or train on more text."
            ) from error
        if "smaller than required_chars" in message:
            raise ValueError(
                f"vocab_size={vocab_size} is smaller than the number of "
                "distinct characters to cover. Pass a larger `vocab_size` "
                "or a smaller `character_coverage` (e.g. 0.9995). "
                f"SentencePiece said: {message}"
            ) from error
        raise
    return SentencePieceTokenizer(model.getvalue())
