"""What training prints: a progress bar on a terminal; elsewhere (a file, a
pipe, CI) one line per epoch and a line every ``training.log_every``.

Keras' progress bar writes a new line at every step when its output is
not a terminal, so ``train`` follows the Keras convention (``verbose=2``
off a terminal, ``terminal.verbosity``) and adds ``ProgressLog`` for
long epochs.
"""

import statistics
import time

import keras

from keras_transformer.terminal import FILE_VERBOSITY
from keras_transformer.training import time_budget
from keras_transformer.training.metrics import MaskedTokenMean


def _token_metric(model):
    """The first compiled metric that counts non-padding tokens (a
    ``MaskedTokenMean``: its ``count`` variable), or None."""
    pending = list(getattr(model, "metrics", None) or [])
    while pending:
        metric = pending.pop(0)
        if isinstance(metric, MaskedTokenMean):
            return metric
        pending.extend(getattr(metric, "metrics", None) or [])
    return None


def _number(value):
    return float(keras.ops.convert_to_numpy(value))


def _duration(seconds):
    """``seconds`` as ``1h02m``, ``12m05s`` or ``42s``."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"


class ProgressLog(keras.callbacks.Callback):
    """Prints one line every ``interval`` seconds of training: the step,
    the loss, the learning rate, target tokens per second and the time
    left.

    Tokens are read from the token metrics' running counts (the
    ``count`` of a ``MaskedTokenMean``, such as ``MaskedAccuracy``; not
    the loss tracker's, which counts examples), so tokens/s is left out for
    tasks without one, and where the backend does not update the count
    during an epoch.

    Args:
        counter: the run's ``StepCounter``.
        total_steps: the step training ends at.
        interval: seconds between lines.
        clock: a monotonic clock (tests pass their own).
        print_fn: where the lines go.

    Example:

    >>> model.fit(..., callbacks=[counter, ProgressLog(counter, 2000, 60)])
    step 420/2,000 (21%) - loss 4.112 - lr 7.3e-04 - 5,210 tokens/s - 12m10s
    elapsed, 45m40s left
    """

    def __init__(
        self,
        counter,
        total_steps,
        interval,
        clock=time.monotonic,
        print_fn=print,
    ):
        super().__init__()
        self.counter = counter
        self.total_steps = total_steps
        self.interval = interval
        self.clock = clock
        self.print_fn = print_fn

    def on_train_begin(self, logs=None):
        self._begin = self._last = self.clock()
        self._last_step = self.counter.step
        self._counted = 0.0  # the metric's count at the last line
        self._uncounted = 0.0  # tokens of earlier epochs not yet reported

    def on_epoch_begin(self, epoch, logs=None):
        self._counted = 0.0  # fit resets the metrics at each epoch

    def on_test_begin(self, logs=None):
        # Validation resets the metrics: keep the epoch's tokens first.
        self._uncounted += self._take_tokens()

    def _take_tokens(self):
        """Tokens counted since the last call (0 without a count)."""
        metric = _token_metric(self.model)
        if metric is None:
            return 0.0
        count = _number(metric.count)
        tokens = max(count - self._counted, 0.0)
        self._counted = count
        return tokens

    def on_train_batch_end(self, batch, logs=None):
        now = self.clock()
        if now - self._last < self.interval:
            return
        self.print_fn(self.line(now, logs or {}), flush=True)

    def line(self, now, logs):
        """The progress line at clock time ``now``; resets the interval."""
        step = self.counter.step
        seconds = max(now - self._last, 1e-9)
        tokens = self._uncounted + self._take_tokens()
        rate = (step - self._last_step) / seconds
        parts = [
            f"step {step:,}/{self.total_steps:,} "
            f"({100 * step / max(self.total_steps, 1):.0f}%)"
        ]
        if "loss" in logs:
            parts.append(f"loss {float(logs['loss']):.4g}")
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            parts.append(f"lr {_number(optimizer.learning_rate):.2e}")
        if tokens:
            parts.append(f"{tokens / seconds:,.0f} tokens/s")
        elapsed = f"{_duration(now - self._begin)} elapsed"
        if rate > 0:
            left = (self.total_steps - step) / rate
            elapsed += f", {_duration(left)} left"
        parts.append(elapsed)
        self._last, self._last_step, self._uncounted = now, step, 0.0
        return " - ".join(parts)


class CompileReport(time_budget.StepTimer):
    """Prints, after the first epoch, how long XLA compiled: the steps
    over ``TRACE_FACTOR`` times the median step traced and compiled a new
    batch shape. Steps are timed in the first epoch only.

    Args:
        print_fn: where the line goes.
    """

    def __init__(self, print_fn=print):
        super().__init__()
        self.print_fn = print_fn
        self.reported = False

    def on_train_batch_end(self, batch, logs=None):
        if not self.reported:
            super().on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.reported or not self.durations:
            return
        self.reported = True
        self.print_fn(self.line(self.durations), flush=True)

    @staticmethod
    def line(durations):
        step, compiling = time_budget.steady_step_seconds(durations)
        median = statistics.median(durations)
        slow = sum(d > time_budget.TRACE_FACTOR * median for d in durations)
        return (
            f"XLA: {slow} of the first {len(durations)} steps compiled a "
            f"new batch shape, {compiling:.0f} s in all; a compiled step "
            f"takes {step:.3f} s."
        )


def progress_callbacks(verbose, counter, total_steps, interval, compiled):
    """The callbacks that report progress: ``ProgressLog`` off a terminal
    (``verbose`` 2) with an ``interval`` (a terminal has the progress
    bar), and ``CompileReport`` when the step is ``compiled`` by XLA."""
    callbacks = []
    if verbose == FILE_VERBOSITY and interval:
        callbacks.append(ProgressLog(counter, total_steps, interval))
    if compiled and verbose:
        callbacks.append(CompileReport())
    return callbacks


__all__ = ["CompileReport", "ProgressLog", "progress_callbacks"]
