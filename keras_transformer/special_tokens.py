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

#: The names of the special ids, in id order (``PAD_ID`` first).
SPECIAL_NAMES = ("pad", "unk", "bos", "eos")


def checkpoint_order(vocab_size, specials):
    """Where each of this package's ids comes from in a published
    checkpoint's vocabulary, whose special tokens have other ids.

    This package's ids 0 to 3 are PAD, UNK, BOS and EOS; a checkpoint's
    may be anywhere (Marian: EOS 0, UNK 1, PAD = decoder start = the last
    id; GPT-2: one ``<|endoftext|>`` for all). The checkpoint's vocabulary
    is reordered so that its special tokens come first, in this package's
    order, and its other ids follow in their own order. A checkpoint id
    that stands for several special ids (GPT-2's) is copied to each.

    Args:
        vocab_size: the checkpoint's vocabulary size.
        specials: ``{"pad": id, "unk": id, "bos": id, "eos": id}``: the
            checkpoint's id of each special token.

    Returns:
        A list: element ``i`` is the checkpoint id of this package's id
        ``i``. Its length is ``4 + vocab_size - len(set(specials))``.

    Example:

    >>> order = checkpoint_order(6, {"pad": 5, "unk": 1, "bos": 5, "eos": 0})
    >>> order
    [5, 1, 5, 0, 2, 3, 4]
    """
    ids = [specials[name] for name in SPECIAL_NAMES]
    taken = set(ids)
    return ids + [i for i in range(vocab_size) if i not in taken]


def checkpoint_ids(order):
    """The inverse of ``checkpoint_order``: checkpoint id -> this
    package's id. A checkpoint id copied to several special ids maps to
    the first of EOS, UNK, BOS, PAD, so text never becomes PAD.

    Example:

    >>> checkpoint_ids([5, 1, 5, 0, 2, 3, 4])
    {0: 3, 1: 1, 5: 2, 2: 4, 3: 5, 4: 6}
    """
    inverse = {}
    for ours in (EOS_ID, UNK_ID, BOS_ID, PAD_ID):
        inverse.setdefault(order[ours], ours)
    for ours in range(len(SPECIAL_NAMES), len(order)):
        inverse[order[ours]] = ours
    return inverse


__all__ = [
    "BOS_ID",
    "EOS_ID",
    "MASK_PIECE",
    "PAD_ID",
    "SPECIAL_NAMES",
    "SPECIAL_PIECES",
    "UNK_ID",
    "checkpoint_ids",
    "checkpoint_order",
]
