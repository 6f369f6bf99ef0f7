"""``SentencePieceTokenizer``: a SentencePiece model (unigram or BPE) run
with tensorflow_text's ops."""

import uuid

import sentencepiece as spm
import tensorflow as tf

# Importing tensorflow_text registers its ops; the SentencePiece ones are
# used directly (see _SentencePieceResource for why).
from tensorflow_text.python.ops.sentencepiece_tokenizer import (
    gen_sentencepiece_tokenizer as _sp_ops,
)

from keras_transformer.data.tokenizers.base import (
    CONFIG_FILE,
    Tokenizer,
    _is_plain_name,
    _join,
)
from keras_transformer.special_tokens import (
    BOS_ID,
    EOS_ID,
    MASK_PIECE,
    PAD_ID,
    UNK_ID,
)

SENTENCEPIECE_FILE = "spm.model"


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
