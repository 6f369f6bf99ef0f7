"""Marian's (OPUS-MT's) tokenizer in the graph, read from a checkpoint.

A Marian checkpoint has two SentencePiece models, ``source.spm`` and
``target.spm``, and one ``vocab.json`` that maps their pieces to the
model's ids (the SentencePiece ids are not used). Its special ids are not
this package's: ``</s>`` is 0, ``<unk>`` 1, and ``<pad>``, which is also
the decoder's start token, is the last id. ``MarianTokenizer`` reorders
the vocabulary as ``checkpoint_order`` says (``<pad>`` at PAD 0 and BOS 2,
``<unk>`` at 1, ``</s>`` at 3, the other pieces after them, in their
order), and ``checkpoints.marian`` reorders the model's embedding rows the
same way. So the model, the data pipelines and the searches keep their
special ids.

As ``transformers``' ``MarianTokenizer``, it splits a leading language
code (``>>de<<``, multilingual models) off the text, runs the source
SentencePiece model, looks every piece up in the vocabulary (``<unk>``
when it is missing) and appends ``</s>``; ``detokenize`` joins the pieces
of the ids and drops the special ones (``<unk>`` too). ``target_tokenizer``
is the same vocabulary with ``target.spm``, for the targets of
fine-tuning. Two differences are known: ``transformers`` first normalizes
punctuation with ``sacremoses`` when it is installed (not done here), and
reads a special piece written in the text (``</s>``) as that token (here
SentencePiece splits it).
"""

import json
import os

import tensorflow as tf

from keras_transformer.data.tokenizers.base import (
    CONFIG_FILE,
    Tokenizer,
    _is_plain_name,
    _join,
)
from keras_transformer.data.tokenizers.sentencepiece import (
    _SentencePieceResource,
    sentencepiece_split,
)
from keras_transformer.special_tokens import (
    EOS_ID,
    SPECIAL_NAMES,
    UNK_ID,
    checkpoint_order,
)

#: Marian's vocabularies put ``<unk>`` at id 1 (and ``</s>`` at 0).
MARIAN_UNK_ID = 1
SOURCE_FILE = "source.spm"
TARGET_FILE = "target.spm"
VOCAB_FILE = "vocab.json"
#: SentencePiece's word-boundary mark, a space in the text.
_SPACE = "\u2581"


def marian_order(hf):
    """``checkpoint_order`` of a Marian ``config.json`` (a dict): this
    package's id -> the checkpoint's id.

    Raises:
        ValueError: the config lacks ``vocab_size`` or ``pad_token_id``.
    """
    for key in ("vocab_size", "pad_token_id"):
        if not isinstance(hf.get(key), int):
            raise ValueError(f"config.json has no integer {key!r}.")
    pad = hf["pad_token_id"]
    start = hf.get("decoder_start_token_id")
    specials = {
        "pad": pad,
        "unk": MARIAN_UNK_ID,
        "bos": pad if start is None else start,
        "eos": hf.get("eos_token_id", 0),
    }
    return checkpoint_order(hf["vocab_size"], specials)


def _read_bytes(path):
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{path} is missing.")
    with tf.io.gfile.GFile(path, "rb") as handle:
        return handle.read()


class MarianTokenizer(Tokenizer):
    """A Marian checkpoint's SentencePiece model and vocabulary, as graph
    ops, with this package's special ids (see the module docstring).

    Args:
        model_proto: the serialized SentencePiece model that splits text
            (``source.spm``).
        pieces: the piece of each of this package's ids, in id order
            (``from_huggingface`` reorders ``vocab.json``).
        target_model_proto: ``target.spm``, for ``target_tokenizer``
            (None: the source model serves both sides).
        name: name of the ``tf.Module``.

    Returns:
        The tokenizer.

    Example:

    >>> tokenizer = MarianTokenizer.from_huggingface("opus-mt-en-de")
    >>> ids = tokenizer.tokenize(["A dog runs."], add_eos=True)
    >>> tokenizer.detokenize(ids).numpy()
    array([b'A dog runs.'], dtype=object)
    """

    type_name = "marian"

    def __init__(self, model_proto, pieces, target_model_proto=None, name=None):
        super().__init__(name=name)
        pieces = [str(piece) for piece in pieces]
        if len(pieces) <= len(SPECIAL_NAMES):
            raise ValueError(
                f"A Marian vocabulary needs more than {len(SPECIAL_NAMES)} "
                f"pieces; this one has {len(pieces)}."
            )
        self.pieces = pieces
        self._model_proto = bytes(model_proto)
        self._target_model_proto = (
            None if target_model_proto is None else bytes(target_model_proto)
        )
        self._resource = _SentencePieceResource(self._model_proto)
        # Text never becomes PAD or BOS: their piece (<pad>) maps nowhere.
        ids = {piece: i for i, piece in reversed(list(enumerate(pieces)))}
        ids[pieces[UNK_ID]], ids[pieces[EOS_ID]] = UNK_ID, EOS_ID
        keys = [p for p, i in ids.items() if i == UNK_ID or i >= EOS_ID]
        self._ids = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(keys), tf.constant([ids[k] for k in keys])
            ),
            default_value=UNK_ID,
        )
        self._pieces = tf.constant(pieces)

    @classmethod
    def from_huggingface(cls, directory):
        """The tokenizer of a Marian checkpoint directory: its
        ``config.json``, ``vocab.json``, ``source.spm`` and ``target.spm``.

        Raises:
            ValueError: a file is missing, or the vocabulary does not
                match the config's special ids.
        """
        try:
            with open(os.path.join(directory, "config.json")) as handle:
                hf = json.load(handle)
            with open(
                os.path.join(directory, VOCAB_FILE), encoding="utf-8"
            ) as f:
                vocabulary = json.load(f)
            source = _read_bytes(os.path.join(directory, SOURCE_FILE))
            target = _read_bytes(os.path.join(directory, TARGET_FILE))
        except (OSError, ValueError) as err:
            raise ValueError(
                f"{directory} is not a complete Marian checkpoint ({err}); "
                f"it needs config.json, {VOCAB_FILE}, {SOURCE_FILE} and "
                f"{TARGET_FILE}."
            ) from None
        return cls(source, _ordered_pieces(hf, vocabulary), target)

    @property
    def vocab_size(self):
        return len(self.pieces)

    @property
    def target_tokenizer(self):
        """The tokenizer of the target side: the same vocabulary and ids,
        with ``target.spm``."""
        if self._target_model_proto is None:
            return self
        return MarianTokenizer(self._target_model_proto, self.pieces)

    def __repr__(self):
        return f"MarianTokenizer(vocab_size={self.vocab_size})"

    def _tokenize_batch(self, texts):
        # transformers' remove_language_code: ">>xx<<" up to the first
        # "<<", a piece of its own; SentencePiece splits the rest.
        code = tf.strings.regex_replace(texts, r"(?s)^(>>.*?<<)?.*$", r"\1")
        start = tf.strings.length(code)
        rest = tf.strings.substr(texts, start, tf.strings.length(texts) - start)
        codes = tf.ragged.boolean_mask(code[:, None], (code != "")[:, None])
        pieces = sentencepiece_split(self._resource, rest, tf.string)
        pieces = tf.concat([codes.with_row_splits_dtype(tf.int64), pieces], 1)
        return pieces.with_values(self._ids.lookup(pieces.values))

    def _tokenize_with_offsets_batch(self, texts):
        raise NotImplementedError(
            "MarianTokenizer gives no character offsets; use it for "
            "translation (tokenize, detokenize)."
        )

    def _detokenize_batch(self, ids):
        # As transformers' decode(skip_special_tokens=True): <unk> too is
        # dropped, pieces are joined and word marks become spaces.
        ids = tf.ragged.boolean_mask(ids, ids != UNK_ID)
        pieces = ids.with_values(tf.gather(self._pieces, ids.values))
        text = tf.strings.reduce_join(pieces, axis=-1)
        return tf.strings.strip(tf.strings.regex_replace(text, _SPACE, " "))

    def _id_to_piece_flat(self, ids):
        return tf.gather(self._pieces, ids)

    def _config(self):
        files = {"source_file": SOURCE_FILE, "vocab_file": VOCAB_FILE}
        if self._target_model_proto is not None:
            files["target_file"] = TARGET_FILE
        return files

    def _save_assets(self, path):
        with tf.io.gfile.GFile(_join(path, SOURCE_FILE), "wb") as f:
            f.write(self._model_proto)
        if self._target_model_proto is not None:
            with tf.io.gfile.GFile(_join(path, TARGET_FILE), "wb") as f:
                f.write(self._target_model_proto)
        with tf.io.gfile.GFile(_join(path, VOCAB_FILE), "w") as f:
            f.write(json.dumps(self.pieces, ensure_ascii=False) + "\n")

    @classmethod
    def _from_saved(cls, path, config):
        names = [config.get(key) for key in ("source_file", "vocab_file")]
        target = config.get("target_file")
        for name in names + ([target] if target is not None else []):
            if not _is_plain_name(name):
                raise ValueError(
                    f"{_join(path, CONFIG_FILE)!r} names the file {name!r}; "
                    "it must be the plain name of a file in the tokenizer's "
                    "own directory."
                )
        source = _read_bytes(_join(path, names[0]))
        with tf.io.gfile.GFile(_join(path, names[1]), "r") as handle:
            pieces = json.loads(handle.read())
        if target is not None:
            target = _read_bytes(_join(path, target))
        return cls(source, pieces, target)


def _ordered_pieces(hf, vocabulary):
    """The pieces of ``vocab.json`` (piece -> checkpoint id) in this
    package's id order."""
    by_id = {i: piece for piece, i in vocabulary.items()}
    order = marian_order(dict(hf, vocab_size=len(by_id)))
    if sorted(by_id) != list(range(len(by_id))):
        raise ValueError(
            f"{VOCAB_FILE}: its ids are not 0 to {len(by_id) - 1}."
        )
    if hf.get("vocab_size") != len(by_id):
        raise ValueError(
            f"{VOCAB_FILE} has {len(by_id)} pieces, but config.json says "
            f"vocab_size={hf.get('vocab_size')}."
        )
    if by_id[MARIAN_UNK_ID] != "<unk>":
        raise ValueError(
            f"{VOCAB_FILE}: id {MARIAN_UNK_ID} is {by_id[MARIAN_UNK_ID]!r}, "
            "not <unk>, as Marian vocabularies have it."
        )
    return [by_id[i] for i in order]


__all__ = ["MARIAN_UNK_ID", "MarianTokenizer", "marian_order"]
