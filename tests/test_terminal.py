import io
import sys

from keras_transformer import terminal


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_auto_is_a_progress_bar_on_a_terminal_and_lines_elsewhere(
    monkeypatch,
):
    monkeypatch.setattr(sys, "stdout", _Terminal())
    assert terminal.on_terminal()
    assert terminal.verbosity("auto") == terminal.TERMINAL_VERBOSITY == 1
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert not terminal.on_terminal()
    assert terminal.verbosity("auto") == terminal.FILE_VERBOSITY == 2
    # A stream without isatty (some loggers) is not a terminal.
    assert not terminal.on_terminal(object())
    for verbose in (0, 1, 2):
        assert terminal.verbosity(verbose) == verbose
