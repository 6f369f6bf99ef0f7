"""Tokenizers that run as TensorFlow graph ops, in tf.data and SavedModels.

Every tokenizer shares one interface (:class:`Tokenizer`, ``base.py``) and
one set of special ids, so that models, data pipelines and decoders never
need to know which one they were given:

========  ===  ==========================================================
name      id   meaning
========  ===  ==========================================================
PAD_ID    0    padding of batches; dropped by ``detokenize``
UNK_ID    1    unknown piece (a character the vocabulary does not cover)
BOS_ID    2    begin of sequence (decoder start token); dropped
EOS_ID    3    end of sequence; ``detokenize`` drops it and all after it
========  ===  ==========================================================

One module per tokenizer:

* :class:`SentencePieceTokenizer` (``sentencepiece.py``) wraps a serialized
  SentencePiece model (unigram or BPE, trained by :func:`train_sentencepiece`
  in ``trainer.py``) and runs it with tensorflow_text's ops.
* :class:`ByteTokenizer` (``byte.py``) maps UTF-8 bytes to ids (``id = byte
  + 4``, 260 ids) with ``tf.strings`` ops only; it needs no training and its
  round trip is exact for every UTF-8 string.
* :class:`WordPieceTokenizer` (``wordpiece.py``, BERT's),
  :class:`BytePairTokenizer` (``byte_pair.py``, GPT-2's) and
  :class:`MarianTokenizer` (``marian.py``, OPUS-MT's) read the files of
  published checkpoints.

Every tokenizer is a ``tf.Module``: its TensorFlow resources are tracked, so
a ``tf.Module`` (or Keras model) that holds one can be written with
``tf.saved_model.save`` and the SavedModel tokenizes and detokenizes strings
after being loaded with only ``tensorflow`` and ``tensorflow_text`` imported.
All methods are built from graph ops, so they also run inside
``tf.data.Dataset.map`` and ``tf.function``.

``Tokenizer.save(path)`` writes a directory with ``tokenizer.json`` (and
``spm.model`` for SentencePiece, a normal SentencePiece model file);
``Tokenizer.load(path)`` reads it back as the class that wrote it: importing
this package registers every tokenizer. Both use ``tf.io.gfile``, so
``path`` may also be a ``gs://`` URL.
"""

from keras_transformer.data.tokenizers.base import CONFIG_FILE, Tokenizer
from keras_transformer.data.tokenizers.byte import BYTE_OFFSET, ByteTokenizer
from keras_transformer.data.tokenizers.byte_pair import BytePairTokenizer
from keras_transformer.data.tokenizers.marian import MarianTokenizer
from keras_transformer.data.tokenizers.sentencepiece import (
    SentencePieceTokenizer,
)
from keras_transformer.data.tokenizers.trainer import (
    MODEL_TYPES,
    train_sentencepiece,
)
from keras_transformer.data.tokenizers.wordpiece import WordPieceTokenizer
from keras_transformer.special_tokens import (
    BOS_ID,
    EOS_ID,
    MASK_PIECE,
    PAD_ID,
    UNK_ID,
)

__all__ = [
    "BOS_ID",
    "BYTE_OFFSET",
    "CONFIG_FILE",
    "EOS_ID",
    "MASK_PIECE",
    "MODEL_TYPES",
    "PAD_ID",
    "UNK_ID",
    "BytePairTokenizer",
    "ByteTokenizer",
    "MarianTokenizer",
    "SentencePieceTokenizer",
    "Tokenizer",
    "WordPieceTokenizer",
    "train_sentencepiece",
]
