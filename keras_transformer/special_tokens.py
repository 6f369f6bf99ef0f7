"""The special token ids every tokenizer, data pipeline and decoder uses.

========  ===  ==========================================================
name      id   meaning
========  ===  ==========================================================
PAD_ID    0    padding of batches; ignored by the losses and metrics
UNK_ID    1    unknown piece (a character the vocabulary does not cover)
BOS_ID    2    begin of sequence: the decoder's start token, the
               classifier's "class" token
EOS_ID    3    end of sequence
========  ===  ==========================================================

A tokenizer trained for masked-language-model pretraining also has the
piece ``MASK_PIECE`` (``[MASK]``), with the next free id (see
``Tokenizer.mask_id``). This module imports nothing, so any part of the
package (and the command line, before TensorFlow loads) can use it.
"""

PAD_ID = 0
UNK_ID = 1
BOS_ID = 2
EOS_ID = 3

#: The pieces of the special ids (the names SentencePiece gives them).
SPECIAL_PIECES = ("<pad>", "<unk>", "<s>", "</s>")

#: The text that stands for a masked token, in input text and in the
#: vocabulary of a masked-language-model tokenizer.
MASK_PIECE = "[MASK]"

__all__ = [
    "BOS_ID",
    "EOS_ID",
    "MASK_PIECE",
    "PAD_ID",
    "SPECIAL_PIECES",
    "UNK_ID",
]
