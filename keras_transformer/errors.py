"""The errors a user can fix, each with a message that says how.

The command line prints the message of any ``UserError`` as one line (no
traceback) and exits with status 1; ``TrainingInterrupted`` exits with 130,
as a shell does after Ctrl-C. Library callers can catch ``UserError`` to
tell these apart from bugs.

This module imports nothing heavy, so the command line can use it before
TensorFlow is loaded.
"""

#: The most characters of a value that an error message quotes.
BRIEF_LENGTH = 80


def brief(value, limit=BRIEF_LENGTH):
    """``repr(value)``, cut to ``limit`` characters for an error message.

    Example:

    >>> brief("x" * 200, 12)
    "'xxxxxxx...(202 characters)"
    """
    try:
        text = repr(value)
    except RecursionError:
        text = f"<a deeply nested {type(value).__name__}>"
    if len(text) <= limit:
        return text
    return f"{text[: max(limit - 4, 1)]}...({len(text)} characters)"


def shorten(text, limit=BRIEF_LENGTH):
    """``text`` (a string), cut to ``limit`` characters with a count of
    the whole."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[: max(limit - 4, 1)]}...({len(text)} characters)"


class UserError(Exception):
    """An error caused by input the user controls; the message names the fix."""


class ConfigError(UserError, ValueError):
    """An experiment file, an override or a setting is invalid."""


class MissingFileError(UserError, FileNotFoundError):
    """A file the user named (config, data, run) does not exist."""


class DataError(UserError, ValueError):
    """The data cannot be used as configured (missing, empty, malformed)."""


class RunError(UserError):
    """A run directory cannot be used: locked, damaged or of another run."""


class TrainingDivergedError(UserError, RuntimeError):
    """The training loss became NaN, infinite or far above chance."""


class TrainingInterrupted(UserError):
    """Training (or evaluation) was stopped with Ctrl-C or SIGTERM."""


__all__ = [
    "ConfigError",
    "DataError",
    "MissingFileError",
    "RunError",
    "TrainingDivergedError",
    "TrainingInterrupted",
    "UserError",
    "brief",
    "shorten",
]
