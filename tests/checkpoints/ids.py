"""A published checkpoint's ids in this package's ids, for comparing the
outputs of ``transformers`` with ours."""

import numpy as np

from keras_transformer.special_tokens import EOS_ID, checkpoint_ids


def to_ours(ids, order):
    """The checkpoint's ``ids`` (an array) in this package's ids."""
    inverse = checkpoint_ids(order)
    return np.vectorize(inverse.get)(np.asarray(ids)).astype("int32")


def until_eos(tokens):
    """Each row of ``tokens`` up to its first EOS, as a list."""
    rows = []
    for row in np.asarray(tokens):
        ends = np.flatnonzero(row == EOS_ID)
        rows.append(list(row[: ends[0] + 1] if ends.size else row))
    return rows
