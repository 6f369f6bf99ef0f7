"""``training.time_budget``: a run that plans its steps to end, cooled
down, at a deadline.

Training starts with a short probe (``PROBE_SHARE`` of the budget, at
least ``PROBE_MIN_STEPS`` steps) whose step times, validation and
checkpoint are measured. The plan then gives the steps that fit in the
rest of the budget (``plan_steps``); the schedule is rebuilt for them, so
warmup and cooldown are shares of the planned steps, and training goes
on to the planned step. A deadline stops training at the budget whatever
the plan said; the run then ends at the step reached.

The plan and the training seconds spent at each checkpoint are kept in
``plan.json``: a resumed run keeps its plan and schedule, and its deadline
is the budget minus the seconds spent up to the checkpoint it resumed from.
"""

import dataclasses
import math
import os
import statistics
import time

import keras

from keras_transformer import run_files
from keras_transformer.errors import RunError

#: The probe's share of the budget, and its fewest steps.
PROBE_SHARE = 0.03
PROBE_MIN_STEPS = 10
#: A step that takes this many times the median step traced a new shape.
TRACE_FACTOR = 3.0
#: The plan sets aside this many times the probe's tracing (the training
#: step is traced again after the probe, and new shapes come later), and
#: this share of the budget, so that the run ends at its planned step.
TRACE_RESERVE = 2.0
MARGIN_SHARE = 0.02


@dataclasses.dataclass
class Plan:
    """The steps of a run with a time budget.

    Attributes:
        budget_seconds: the budget.
        steps: the planned optimizer steps.
        step_seconds: the measured seconds of a step (without tracing).
        probe_steps: the steps of the probe.
        epoch_seconds: the measured seconds of a validation and checkpoint.
        elapsed: training seconds spent, by checkpoint step (str keys).
        stopped_at: the step at which the deadline stopped training
            before ``steps`` (None: it did not).
    """

    budget_seconds: float
    steps: int
    step_seconds: float
    probe_steps: int
    epoch_seconds: float
    elapsed: dict = dataclasses.field(default_factory=dict)
    stopped_at: int = None

    @property
    def final_step(self):
        """The step at which training ends (or ended)."""
        return self.stopped_at if self.stopped_at is not None else self.steps

    def elapsed_at(self, step):
        """Training seconds spent up to ``step`` (that of the newest
        record at or before it)."""
        before = [int(s) for s in self.elapsed if int(s) <= step]
        return self.elapsed[str(max(before))] if before else 0.0


def read_plan(workdir):
    """The ``Plan`` of ``workdir`` (None: not planned yet)."""
    path = run_files.path(workdir, run_files.PLAN_FILE)
    if not os.path.exists(path):
        return None
    values = run_files.read_json(path)
    names = {field.name for field in dataclasses.fields(Plan)}
    try:
        if not isinstance(values, dict) or set(values) - names:
            raise TypeError("unexpected keys")
        plan = Plan(**values)
        if not isinstance(plan.steps, int) or plan.steps < 1:
            raise TypeError("steps")
    except TypeError as err:
        raise RunError(
            f"{path} is damaged ({err}): delete it to plan the run again, "
            "or use a new --workdir."
        ) from None
    return plan


def write_plan(workdir, plan):
    run_files.write_json(
        run_files.path(workdir, run_files.PLAN_FILE), dataclasses.asdict(plan)
    )


def plan_steps(
    budget,
    spent,
    step_seconds,
    epoch_seconds,
    steps_per_epoch,
    done,
    reserve=0.0,
):
    """The steps a run reaches in ``budget`` seconds.

    Args:
        budget: the budget in seconds.
        spent: seconds spent so far (at step ``done``).
        step_seconds: seconds per step.
        epoch_seconds: seconds of the validation and checkpoint that end
            each epoch of ``steps_per_epoch`` steps (and the last one).
        done: steps trained so far.
        reserve: seconds set aside (tracing the training step again).

    Returns:
        The planned step count, at least ``done + 1``.
    """
    left = budget * (1 - MARGIN_SHARE) - spent - reserve
    # Whole epochs (steps and the validation that ends each), then the
    # steps of a last, partial epoch after its own validation is set aside.
    epoch = steps_per_epoch * step_seconds + epoch_seconds
    epochs = max(0, math.floor(left / epoch))
    rest = left - epochs * epoch - epoch_seconds
    partial = max(0, math.floor(rest / step_seconds)) if rest > 0 else 0
    return done + max(1, epochs * steps_per_epoch + partial)


def steady_step_seconds(durations):
    """The mean step time without the steps that traced a new shape, and
    the seconds those steps spent tracing."""
    if not durations:
        raise ValueError("no step was timed")
    median = statistics.median(durations)
    steady = [d for d in durations if d <= TRACE_FACTOR * median]
    tracing = sum(d - median for d in durations if d > TRACE_FACTOR * median)
    return sum(steady) / len(steady), tracing


class StepTimer(keras.callbacks.Callback):
    """Records the wall seconds of each training batch, and of the end of
    the last epoch (validation and the callbacks before this one: put it
    last)."""

    def __init__(self):
        super().__init__()
        self.durations = []
        self.epoch_seconds = 0.0
        self._last = None

    def on_train_batch_begin(self, batch, logs=None):
        self._last = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        self.durations.append(time.monotonic() - self._last)
        self._last = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if self._last is not None:
            self.epoch_seconds = time.monotonic() - self._last


class ProbeLimit(keras.callbacks.Callback):
    """Stops the probe once it has run ``seconds`` and ``steps`` steps."""

    def __init__(self, counter, start_step, seconds, steps=PROBE_MIN_STEPS):
        super().__init__()
        self.counter = counter
        self.start_step = start_step
        self.seconds = seconds
        self.steps = steps
        self.started = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if (
            self.counter.step - self.start_step >= self.steps
            and time.monotonic() - self.started >= self.seconds
        ):
            self.model.stop_training = True


class Deadline(keras.callbacks.Callback):
    """Stops training at ``deadline`` (``time.monotonic()`` seconds)."""

    def __init__(self, deadline):
        super().__init__()
        self.deadline = deadline
        self.reached = False

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() >= self.deadline:
            self.reached = True
            self.model.stop_training = True


class BudgetClock(keras.callbacks.Callback):
    """Records in ``plan.json`` the training seconds spent at each
    checkpoint (after the ``Checkpointer``, at each epoch's end)."""

    def __init__(self, workdir, plan, counter, spent):
        super().__init__()
        self.workdir = workdir
        self.plan = plan
        self.counter = counter
        self.spent = spent
        self.started = time.monotonic()

    def seconds(self):
        return self.spent + time.monotonic() - self.started

    def on_epoch_end(self, epoch, logs=None):
        self.plan.elapsed[str(self.counter.step)] = round(self.seconds(), 2)
        write_plan(self.workdir, self.plan)


def describe(plan, training):
    """``"planned 812 steps for 10m (0.71 s a step, ...)"``."""
    return (
        f"Time budget {training.time_budget}: planned {plan.steps} steps "
        f"({plan.step_seconds:.3f} s a step measured over "
        f"{plan.probe_steps} steps, {plan.epoch_seconds:.1f} s for each "
        f"validation and checkpoint)"
    )


__all__ = [
    "BudgetClock",
    "Deadline",
    "Plan",
    "ProbeLimit",
    "StepTimer",
    "describe",
    "plan_steps",
    "read_plan",
    "steady_step_seconds",
    "write_plan",
]
