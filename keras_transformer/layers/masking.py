"""The one place where attention masks are built, checked and merged.

Convention, everywhere in keras_transformer: a mask is boolean and
``True`` means "may attend" (or "is a real token"). Masks are combined with
logical AND. Masked logits are replaced with the most negative finite value
of the float32 softmax, never with a ``-1e9`` literal, so masking is safe in
float16 and bfloat16; a query row whose keys are all masked gets all-zero
attention weights instead of NaN.

Shapes: B batch, T query (target) length, S key (source) length.
"""

import numpy as np
from keras import ops


def padding_mask(token_ids, pad_id=0):
    """Boolean (B, T) mask that is True on real tokens (``!= pad_id``).

    Example:

    >>> padding_mask(np.array([[5, 7, 0]]))  # [[True, True, False]]
    """
    return ops.not_equal(token_ids, pad_id)


def causal_mask(query_length, key_length=None, offset=0):
    """Boolean (1, T, S) lower-triangular mask: query i sees keys j <= i.

    Args:
        query_length: T, a Python int or scalar tensor.
        key_length: S, defaults to T.
        offset: global position of the first query (an int or scalar
            tensor). With a key/value cache the T new queries sit at
            positions ``offset .. offset + T - 1`` and may attend to cache
            slots ``j <= offset + i``.

    Returns:
        A (1, T, S) boolean tensor.
    """
    key_length = query_length if key_length is None else key_length
    rows = ops.expand_dims(ops.arange(query_length, dtype="int32"), 1)
    rows = rows + ops.cast(offset, "int32")
    cols = ops.expand_dims(ops.arange(key_length, dtype="int32"), 0)
    return ops.expand_dims(ops.greater_equal(rows, cols), 0)


def _static_dims(shape):
    return [d if isinstance(d, int) else None for d in shape]


def check_padding_mask(mask, name, expected_shape):
    """Checks that ``mask`` is a (B, L) padding mask matching ``expected``."""
    if mask is None:
        return None
    shape = _static_dims(mask.shape)
    expected = _static_dims(expected_shape)
    ok = len(shape) == 2 and all(
        a is None or b is None or a == b for a, b in zip(shape, expected)
    )
    if not ok:
        raise ValueError(
            f"`{name}` must be a boolean padding mask of shape "
            f"(batch, length) = {tuple(expected_shape)} with True on real "
            f"tokens. Received: {name}.shape={tuple(mask.shape)}."
        )
    return ops.cast(mask, "bool")


def check_attention_mask(mask, name, batch_size, query_length, key_length):
    """Checks that ``mask`` broadcasts to (B, T, S) and returns it as bool.

    A rank-2 mask is read as (T, S) and shared across the batch.
    """
    if mask is None:
        return None
    shape = _static_dims(mask.shape)
    target = _static_dims((batch_size, query_length, key_length))
    ok = len(shape) in (2, 3) and all(
        a is None or b is None or a == 1 or a == b
        for a, b in zip(reversed(shape), reversed(target))
    )
    if not ok:
        raise ValueError(
            f"`{name}` must broadcast to (batch, query_length, key_length) "
            f"= {tuple(target)}; True marks positions that may be attended "
            f"to. Received: {name}.shape={tuple(mask.shape)}. Pass a "
            "(B, T, S) or (T, S) boolean mask, or a (B, S) padding mask "
            "through the padding-mask argument instead."
        )
    mask = ops.cast(mask, "bool")
    if len(shape) == 2:
        mask = ops.expand_dims(mask, 0)
    return mask


def merge_masks(
    query_mask=None,
    key_mask=None,
    attention_mask=None,
    use_causal_mask=False,
    query_length=None,
    key_length=None,
    causal_offset=0,
):
    """ANDs every mask that applies into one (B|1, T|1, S) boolean mask.

    Args:
        query_mask: (B, T) True on real query tokens, or None.
        key_mask: (B, S) True on real key tokens, or None.
        attention_mask: a checked (B|1, T|1, S) boolean mask, or None.
        use_causal_mask: AND a causal mask (see ``causal_mask``).
        query_length: T, needed for the causal mask.
        key_length: S, needed for the causal mask.
        causal_offset: position of the first query (cached decoding).

    Returns:
        A boolean tensor that broadcasts to (B, T, S), or None when no mask
        applies.
    """
    masks = []
    if query_mask is not None:
        masks.append(ops.expand_dims(ops.cast(query_mask, "bool"), -1))
    if key_mask is not None:
        masks.append(ops.expand_dims(ops.cast(key_mask, "bool"), -2))
    if attention_mask is not None:
        masks.append(ops.cast(attention_mask, "bool"))
    if use_causal_mask:
        masks.append(causal_mask(query_length, key_length, causal_offset))
    return logical_and(*masks)


def logical_and(*masks):
    """ANDs the masks that are not None; None when all of them are None."""
    merged = None
    for mask in masks:
        if mask is None:
            continue
        mask = ops.cast(mask, "bool")
        merged = mask if merged is None else ops.logical_and(merged, mask)
    return merged


def masked_softmax(logits, mask=None, axis=-1):
    """Softmax in float32 that gives masked positions exactly zero weight.

    The logits are cast to float32 (so float16 and bfloat16 models neither
    overflow nor lose the small weights), masked positions are set to the
    smallest finite float32 before the softmax and to zero after it, so a
    fully masked row returns zeros rather than NaN or a uniform
    distribution.

    Args:
        logits: (..., S) attention logits.
        mask: boolean tensor broadcastable to ``logits``; True = may attend.
        axis: the axis to normalise over.

    Returns:
        float32 weights of the shape of ``logits``.
    """
    logits = ops.cast(logits, "float32")
    if logits.shape[axis] == 1:
        # One key: the softmax is 1 (Keras warns on size-1 softmax axes).
        weights = ops.ones_like(logits)
    elif mask is None:
        return ops.softmax(logits, axis=axis)
    else:
        lowest = ops.convert_to_tensor(np.finfo("float32").min, "float32")
        weights = ops.softmax(
            ops.where(ops.cast(mask, "bool"), logits, lowest), axis=axis
        )
    if mask is None:
        return weights
    mask = ops.cast(mask, "bool")
    return ops.where(mask, weights, ops.zeros_like(weights))


def first_given(*masks):
    """The first mask that is not None (explicit before implicit masks)."""
    for mask in masks:
        if mask is not None:
            return mask
    return None
