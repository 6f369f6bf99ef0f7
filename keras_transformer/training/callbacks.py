"""Training callbacks: count steps, stop on divergence (a NaN, infinite or
far too high loss), stop at an exact step, and log the history.

``StepCounter`` comes first in the callback list: the others (and
``Checkpointer`` in ``training/checkpoint.py``) read its ``step``.
"""

import csv
import io
import math
import os

import keras

from keras_transformer import run_files
from keras_transformer.errors import TrainingDivergedError


class StepCounter(keras.callbacks.Callback):
    """Counts optimizer steps over the whole run (resumes included).

    With gradient accumulation the optimizer updates the weights once per
    ``batches_per_step`` batches; a step is one update.

    Args:
        initial_step: the step training starts from.
        batches_per_step: ``training.gradient_accumulation_steps``.

    Attributes:
        step: optimizer steps done, in all.
    """

    def __init__(self, initial_step=0, batches_per_step=1):
        super().__init__()
        self.step = initial_step
        self.batches_per_step = batches_per_step
        self._batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        if self._batches % self.batches_per_step == 0:
            self.step += 1


#: A training loss this many times the loss of a uniform guess (or more)
#: means training has diverged: healthy training starts near that loss
#: and goes down.
DIVERGENCE_FACTOR = 5.0


def divergence_limit(output_classes):
    """The training loss above which training has diverged, for a model
    that chooses among ``output_classes`` (a uniform guess has loss
    ``log(output_classes)``)."""
    chance = math.log(max(output_classes, 2))
    return max(DIVERGENCE_FACTOR * chance, chance + 10.0)


class StopOnDivergence(keras.callbacks.Callback):
    """Stops training with a clear error when the loss diverges: when it
    is not finite, or above ``limit``.

    Args:
        checkpointer: the run's ``Checkpointer`` (for the step of the last
            good checkpoint), or a directory name for the message.
        limit: the highest acceptable loss (the epoch's running mean, as
            Keras logs it); None: only NaN and infinity stop training.

    Raises:
        TrainingDivergedError: from the batch whose loss is NaN, infinite
            or above ``limit``.
    """

    def __init__(self, checkpointer, limit=None):
        super().__init__()
        self.checkpointer = checkpointer
        self.limit = limit

    def _last_checkpoint(self):
        saved = getattr(self.checkpointer, "saved_step", None)
        if saved is None:
            return (
                "No checkpoint was written yet, so a rerun starts from step 0"
            )
        backup = getattr(self.checkpointer, "backup_dir", self.checkpointer)
        return (
            f"The last good checkpoint is step {saved} in {backup}; a rerun "
            "resumes from it"
        )

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isfinite(loss) and (self.limit is None or loss <= self.limit):
            return
        step = getattr(self.checkpointer, "step", None)
        at = f" at step {step}" if step is not None else ""
        how = (
            f"{loss:.4g}, over {self.limit:.3g}, {DIVERGENCE_FACTOR:g} times "
            "the loss of a uniform guess: training diverged"
            if math.isfinite(loss)
            else f"{loss}"
        )
        raise TrainingDivergedError(
            f"The training loss became {how}{at}. "
            f"{self._last_checkpoint()}. Change a setting that may change on "
            "resume: lower training.lr_scale (or training.learning_rate), "
            "raise training.warmup_steps, or set training.clipnorm (e.g. "
            "--set training.clipnorm=1.0); then rerun the same command."
        )


class StepLimit(keras.callbacks.Callback):
    """Ends training after exactly ``steps`` optimizer steps in all.

    ``fit`` runs whole epochs; with this callback the last one ends early
    when ``steps`` is not a multiple of the epoch length (the epoch's
    validation and checkpoint still happen).

    Args:
        counter: the run's ``StepCounter``.
        steps: the step to stop at.
    """

    def __init__(self, counter, steps):
        super().__init__()
        self.counter = counter
        self.steps = steps

    def on_train_batch_end(self, batch, logs=None):
        if self.counter.step >= self.steps:
            self.model.stop_training = True


class HistoryLogger(keras.callbacks.Callback):
    """Writes the logs of every epoch to a CSV file, with the step.

    The file is rewritten atomically at the end of every epoch. When a run
    resumes from step ``initial_step``, rows of later steps (epochs that
    ran after that checkpoint and are now run again) are dropped, so every
    step appears once.

    Args:
        path: the CSV file.
        counter: the run's ``StepCounter``.
        initial_step: the step training resumes from.
        steps_per_epoch: gives the step of rows written without one (by
            ``keras.callbacks.CSVLogger`` in earlier versions).
    """

    def __init__(self, path, counter, initial_step=0, steps_per_epoch=None):
        super().__init__()
        self.path = path
        self.counter = counter
        self.initial_step = initial_step
        self.steps_per_epoch = steps_per_epoch
        self.rows = []

    def _step(self, row):
        for value, scale in (
            (row.get("step"), 1),
            (row.get("epoch"), self.steps_per_epoch),
        ):
            try:
                number = int(float(value))
            except (TypeError, ValueError):
                continue
            if scale is None:
                return None
            return number if scale == 1 else (number + 1) * scale
        return None

    def _read(self):
        if not os.path.exists(self.path):
            return []
        with open(self.path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        kept = []
        for row in rows:
            step = self._step(row)
            if step is not None and step <= self.initial_step:
                kept.append(row)
        return kept

    def _write(self):
        columns = []
        for row in self.rows:
            columns.extend(key for key in row if key not in columns)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        run_files.write_text(self.path, buffer.getvalue())

    def on_train_begin(self, logs=None):
        self.rows = self._read()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch, "step": self.counter.step}
        for key, value in (logs or {}).items():
            try:
                row[key] = float(value)
            except (TypeError, ValueError):
                continue
        self.rows.append(row)
        self._write()


__all__ = [
    "HistoryLogger",
    "StepCounter",
    "StepLimit",
    "StopOnDivergence",
    "divergence_limit",
]
