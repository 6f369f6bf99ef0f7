"""Checkpoints of a training run: written atomically, verified before use.

A checkpoint is a complete ``.keras`` archive (architecture, weights and the
optimizer's state) named after the optimizer step it was taken at:
``backup/ckpt-<step>.keras``. It is written to a temporary name and moved
into place when complete, so a stop at any moment (kill -9, a full disk)
leaves only complete checkpoints. The newest two are kept.

Before a checkpoint is used it is verified: the archive's checksums, the
loading of every weight, and the optimizer's step count against the step in
its name. A checkpoint that fails is reported and the next older one is
tried; if none is usable the run stops with an error instead of silently
starting over.
"""

import dataclasses
import os
import re
import zipfile

import keras

# The package's layers, models, losses, metrics and schedules register
# with Keras when imported: every model of this package then loads.
import keras_transformer.layers  # noqa: F401
import keras_transformer.models  # noqa: F401
import keras_transformer.training  # noqa: F401
from keras_transformer import run_files
from keras_transformer.errors import RunError, brief

KEEP = 2

# --------------------------------------------------------- the files

CHECKPOINT_PREFIX = "ckpt-"
_CHECKPOINT_NAME = re.compile(r"^ckpt-(\d+)\.keras$")
# Checkpoints of earlier versions (keras.callbacks.BackupAndRestore).
LEGACY_CHECKPOINTS = (
    ("latest.weights.h5", "training_metadata.json"),
    ("latest.weights.h5.bkp", "training_metadata.json.bkp"),
)


@dataclasses.dataclass
class Checkpoint:
    """One checkpoint file of a run.

    Attributes:
        path: the file.
        step: the training step it was taken after (None: unknown).
        problem: why it cannot be used, when that is known without
            loading it.
    """

    path: str
    step: int = None
    problem: str = None

    @property
    def name(self):
        """``backup/<file>``, for messages."""
        parent = os.path.basename(os.path.dirname(self.path))
        return f"{parent}/{os.path.basename(self.path)}"


def checkpoint_path(backup_dir, step):
    """``backup_dir/ckpt-<step>.keras``."""
    return os.path.join(backup_dir, f"{CHECKPOINT_PREFIX}{step}.keras")


def _legacy_checkpoints(backup_dir, steps_per_epoch):
    found = []
    for weights, metadata in LEGACY_CHECKPOINTS:
        weights_path = os.path.join(backup_dir, weights)
        if not os.path.exists(weights_path):
            continue
        checkpoint = Checkpoint(weights_path)
        try:
            values = run_files.read_json(os.path.join(backup_dir, metadata))
            checkpoint.step = int(values["epoch"]) * steps_per_epoch
        except (RunError, OSError, KeyError, TypeError, ValueError) as err:
            checkpoint.problem = (
                f"its {metadata} is missing or damaged "
                f"({str(err).splitlines()[0] if str(err) else err!r})"
            )
        found.append(checkpoint)
    return found


def list_checkpoints(backup_dir, steps_per_epoch):
    """The checkpoints in ``backup_dir``, newest first.

    Args:
        backup_dir: the run's ``backup/`` directory.
        steps_per_epoch: converts the epochs of older checkpoints to steps.

    Returns:
        A list of ``Checkpoint``.
    """
    if not os.path.isdir(backup_dir):
        return []
    found = []
    for name in os.listdir(backup_dir):
        match = _CHECKPOINT_NAME.match(name)
        if match:
            found.append(
                Checkpoint(os.path.join(backup_dir, name), int(match.group(1)))
            )
    found.sort(key=lambda checkpoint: checkpoint.step, reverse=True)
    return found + _legacy_checkpoints(backup_dir, steps_per_epoch)


# ------------------------------------------------------------ keras files


def check_keras_file(target):
    """Checks that ``target`` is a complete ``.keras`` archive.

    Reads every member and compares its CRC, so truncated or overwritten
    files are found before Keras tries to load them.

    Raises:
        RunError: naming the file and what is wrong with it.
    """
    if not os.path.isfile(target):
        raise RunError(f"{target} does not exist.")
    try:
        with zipfile.ZipFile(target) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise RunError(
            f"{target} is damaged: not a complete .keras archive "
            f"({err}); truncated or overwritten?"
        ) from None
    if damaged is not None:
        raise RunError(
            f"{target} is damaged: its member {damaged} fails its checksum."
        )


def _first_line(err):
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {brief(text[0], 160) if text else ''}"


def load_model(target, compile=True):
    """Loads a ``.keras`` file after checking it is complete.

    Keras' safe mode stays on: a file that would run code (a ``Lambda``,
    an arbitrary function) is refused, not executed.

    Raises:
        RunError: naming the file, when it is damaged or is not a model of
            this package.
    """
    check_keras_file(target)
    try:
        return keras.saving.load_model(target, compile=compile)
    except Exception as err:  # any content of a foreign or crafted file
        raise RunError(
            f"{target} is not a model this package can load "
            f"({_first_line(err)}). Use the model.keras that "
            "keras-transformer train wrote, or train again."
        ) from None


# ------------------------------------------------------ saving, loading


def save_checkpoint(model, backup_dir, step, keep=KEEP, previous_step=None):
    """Saves ``model`` (with its optimizer) as the checkpoint of ``step``.

    The file appears only once complete; older checkpoints beyond the
    newest ``keep`` are then removed.

    Args:
        previous_step: the step of the newest complete checkpoint, named
            in the error message when this one cannot be written.

    Returns:
        The checkpoint's path.

    Raises:
        RunError: the disk is full or not writable (nothing is left
            half-written; the previous checkpoints are kept).
    """
    os.makedirs(backup_dir, exist_ok=True)
    target = checkpoint_path(backup_dir, step)
    try:
        with run_files.atomic_path(target) as temporary:
            model.save(temporary)
    except OSError as err:
        problem = run_files.disk_problem(err) or str(err)
        resume = (
            f"from step {previous_step}"
            if previous_step is not None
            else "from step 0 (no checkpoint was written yet)"
        )
        raise RunError(
            f"Cannot write the checkpoint of step {step} to {backup_dir}: "
            f"{problem}. No file was left half-written: free space (or fix "
            f"the directory), then rerun the same command to resume {resume}."
        ) from None
    for old in list_checkpoints(backup_dir, 1)[keep:]:
        if old.path != target:
            os.remove(old.path)
    # The metadata of a removed checkpoint of an earlier version.
    for weights, metadata in LEGACY_CHECKPOINTS:
        metadata_path = os.path.join(backup_dir, metadata)
        if not os.path.exists(os.path.join(backup_dir, weights)):
            if os.path.exists(metadata_path):
                os.remove(metadata_path)
    return target


def optimizer_steps(model):
    """The updates ``model``'s optimizer has made (with gradient
    accumulation, one per ``gradient_accumulation_steps`` batches)."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def load_into(model, checkpoint):
    """Loads ``checkpoint`` (weights and optimizer state) into ``model``.

    Raises:
        RunError: the file is damaged, does not fit the model, or its
            optimizer step count disagrees with its name.
    """
    if checkpoint.problem:
        raise RunError(checkpoint.problem)
    if checkpoint.path.endswith(".keras"):
        check_keras_file(checkpoint.path)
    optimizer = model.optimizer
    if optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)
    try:
        model.load_weights(checkpoint.path)
    except Exception as err:  # h5py/keras raise many kinds
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise RunError(f"it cannot be loaded ({message[:300]})") from None
    if optimizer is None:
        return
    if checkpoint.step is None:
        return
    updates = optimizer_steps(model)
    if updates != checkpoint.step:
        raise RunError(
            f"its optimizer has taken {updates} steps, not the "
            f"{checkpoint.step} its name says"
        )


def restore_latest(model, backup_dir, steps_per_epoch, log=print):
    """Loads the newest usable checkpoint of ``backup_dir`` into ``model``.

    Unusable checkpoints are reported through ``log`` and skipped.

    Returns:
        The ``Checkpoint`` loaded, or None if there is none at all.

    Raises:
        RunError: there are checkpoints but none can be used.
    """
    checkpoints = list_checkpoints(backup_dir, steps_per_epoch)
    problems = []
    for checkpoint in checkpoints:
        try:
            load_into(model, checkpoint)
        except RunError as err:
            problems.append(f"{checkpoint.name}: {err}")
            log(
                f"WARNING: checkpoint {checkpoint.name} is unusable ({err});"
                " trying an older one."
            )
            continue
        return checkpoint
    if problems:
        raise RunError(
            f"No usable checkpoint in {backup_dir} ({'; '.join(problems)}). "
            f"To train from step 0, move {backup_dir} away and rerun the "
            "same command."
        )
    return None


class Checkpointer(keras.callbacks.Callback):
    """Saves a checkpoint at the end of every epoch.

    Args:
        backup_dir: where checkpoints go.
        counter: an object whose ``step`` attribute counts optimizer steps
            (a ``StepCounter``); checkpoints are named after it.
        saved_step: the step of the checkpoint training resumed from.

    Attributes:
        saved_step: the step of the newest checkpoint (None: none yet).
    """

    def __init__(self, backup_dir, counter, saved_step=None):
        super().__init__()
        self.backup_dir = backup_dir
        self.counter = counter
        self.saved_step = saved_step

    @property
    def step(self):
        return self.counter.step

    def on_epoch_end(self, epoch, logs=None):
        save_checkpoint(
            self.model,
            self.backup_dir,
            self.counter.step,
            previous_step=self.saved_step,
        )
        self.saved_step = self.counter.step


__all__ = [
    "Checkpointer",
    "load_into",
    "optimizer_steps",
    "restore_latest",
    "save_checkpoint",
]
