"""Where output goes: a terminal gets progress bars; a file, a pipe or CI
gets a line per epoch (the Keras convention), because a progress bar
written to a file is a new line at every update."""

import sys

#: The Keras verbosity on a terminal (a progress bar) and elsewhere (a
#: line per epoch, or once at the end).
TERMINAL_VERBOSITY = 1
FILE_VERBOSITY = 2


def on_terminal(stream=None):
    """Whether ``stream`` (default: ``sys.stdout``) is a terminal."""
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def verbosity(verbose="auto"):
    """The Keras ``verbose`` for ``fit``, ``evaluate`` and ``Progbar``:
    ``"auto"`` is a progress bar on a terminal, else one line per epoch;
    0, 1 and 2 are kept."""
    if verbose == "auto":
        return TERMINAL_VERBOSITY if on_terminal() else FILE_VERBOSITY
    return verbose


__all__ = ["FILE_VERBOSITY", "TERMINAL_VERBOSITY", "on_terminal", "verbosity"]
