"""Argument checks shared by the layers: clear ``ValueError`` messages."""


def positive_int(name, value, allow_none=False):
    """Returns ``value`` if it is a positive int, else raises ValueError."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return value


def non_negative_int(name, value):
    """Returns ``value`` if it is an int >= 0, else raises ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"`{name}` must be an integer >= 0. Received: {name}={value!r}"
        )
    return value


def rate(name, value):
    """Returns ``value`` if it is a probability in [0, 1), else raises."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(
            f"`{name}` must be a float in [0, 1). Received: {name}={value!r}"
        )
    if not 0.0 <= value < 1.0:
        raise ValueError(
            f"`{name}` must be a float in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


def one_of(name, value, choices):
    """Returns ``value`` if it is one of ``choices``, else raises."""
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {list(choices)}. Received: "
            f"{name}={value!r}"
        )
    return value


def sequence_shape(name, shape, layer):
    """Checks that ``shape`` is (B, L, D) with a known D."""
    if shape is None or len(shape) != 3 or shape[-1] is None:
        raise ValueError(
            f"{layer} expects `{name}` of shape (batch, length, features) "
            f"with a known feature size. Received: {name}.shape={shape}"
        )
    return tuple(shape)
