"""Loading a run: its experiment, its task and its final model, and what
its directory holds for resuming.

The files of a run directory, their names and how they are written are in
``keras_transformer.run_files``; its checkpoints in
``keras_transformer.training.checkpoint``.
"""

import dataclasses
import os

from keras_transformer.errors import ConfigError, RunError
from keras_transformer.experiment import read_experiment_file
from keras_transformer.run_files import (
    BACKUP_DIR,
    CONFIG_FILE,
    METRICS_FILE,
    MODEL_FILE,
    path,
    read_metrics,
)
from keras_transformer.tasks import get_task
from keras_transformer.training.checkpoint import (
    check_keras_file,
    list_checkpoints,
)

# Settings that may differ when a run resumes: how long and how fast it
# trains, and everything about evaluation. Anything else (data, tokenizer,
# model, optimizer kind, batching, seed) would make the checkpoint the
# result of a different experiment.
CHANGEABLE_ON_RESUME = (
    "training.steps",
    "training.clipnorm",
    "training.learning_rate",
    "training.lr_scale",
    "training.max_learning_rate",
    "training.average_last",
    "training.average_interval",
    "training.log_every",
    "training.warmup_steps",
    "training.cooldown_fraction",
    "training.label_smoothing",
    "training.weight_decay",
    "training.jit_compile",
    "training.max_batch_shapes",
    "training.strategy",
    "training.model_parallel",
    "training.tpu",
    "evaluation.*",
)


# ------------------------------------------------------------ experiments


def read_experiment(workdir):
    """The ``Experiment`` stored in a run directory.

    Raises:
        RunError: there is no run in ``workdir`` or its config is damaged.
    """
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise RunError(
            f"{workdir} is a file, not a run directory: pass the --workdir "
            "given to keras-transformer train."
        )
    config_path = path(workdir, CONFIG_FILE)
    if not os.path.exists(config_path):
        raise RunError(
            f"{config_path} does not exist: {workdir} holds no run. Train "
            f"first: keras-transformer train CONFIG --workdir {workdir}"
        )
    try:
        return read_experiment_file(config_path, stored=True)
    except ConfigError as err:
        raise RunError(
            f"{err} (this is the run's own copy of its experiment: fix it, "
            "or train again in a new --workdir)"
        ) from None


def load_task(workdir):
    """The ``Task`` of the run in ``workdir``, its assets loaded.

    Raises:
        RunError: there is no run, or its files are damaged.
    """
    return get_task(read_experiment(workdir)).load(workdir)


def load_finished(workdir, compile=True):
    """The task (assets loaded) and the final model of a finished run.

    Args:
        workdir: the run directory.
        compile: restore the optimizer and losses too (False for
            inference and export: smaller and faster; a model trained with
            LoRA adapters then comes merged, without them).

    Returns:
        ``(task, model)``.

    Raises:
        RunError: no finished run in ``workdir``, or its files are damaged.
    """
    experiment = read_experiment(workdir)
    model_path = path(workdir, MODEL_FILE)
    if not os.path.exists(model_path):
        raise RunError(
            f"{model_path} does not exist: {workdir} holds no finished run. "
            "Train first (or finish training): keras-transformer train "
            f"CONFIG --workdir {workdir}"
        )
    try:
        check_keras_file(model_path)
    except RunError as err:
        steps = experiment.training.steps_per_epoch
        if list_checkpoints(path(workdir, BACKUP_DIR), steps):
            fix = (
                "Rerun keras-transformer train with the same config and "
                f"--workdir {workdir} to write it again from the last "
                "checkpoint."
            )
        else:
            fix = "No checkpoint is left to rebuild it: train again."
        raise RunError(f"{err} {fix}") from None
    task = load_task(workdir)
    model = task.load_model(model_path, compile=compile)
    if not compile and getattr(model, "lora", None):
        model = model.merged()
    return task, model


def load_run(workdir, compile=True):
    """The experiment, model and tokenizers of a finished run.

    Args:
        workdir: the run directory.
        compile: restore the optimizer and losses too.

    Returns:
        ``(experiment, model, (source_tokenizer, target_tokenizer))``.

    Raises:
        RunError: no finished run in ``workdir``, or its files are damaged.
    """
    task, model = load_finished(workdir, compile=compile)
    return task.experiment, model, task.tokenizers


# ------------------------------------------------------------------ resume


def _flatten(values, prefix=""):
    flat = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _changeable(key):
    for pattern in CHANGEABLE_ON_RESUME:
        if pattern.endswith(".*"):
            if key.startswith(pattern[:-1]):
                return True
        elif key == pattern:
            return True
    return False


def resume_differences(saved, current):
    """Settings that differ between two experiments, split in two.

    Returns:
        ``(allowed, forbidden)``: lists of ``(key, saved, current)`` for the
        settings that may change when a run resumes and those that may not.
    """
    old, new = _flatten(saved.to_dict()), _flatten(current.to_dict())
    allowed, forbidden = [], []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            entry = (key, old.get(key), new.get(key))
            (allowed if _changeable(key) else forbidden).append(entry)
    return allowed, forbidden


def describe_differences(entries):
    """``"model.d_model: 32 -> 64, ..."``."""
    return ", ".join(f"{key}: {a!r} -> {b!r}" for key, a, b in entries)


@dataclasses.dataclass
class RunState:
    """What a run directory holds, read without loading any model.

    Attributes:
        experiment: the stored experiment (None before the first start).
        checkpoints: the ``Checkpoint``s in ``backup/``, newest first.
        has_model: whether ``model.keras`` exists.
        metrics: the contents of ``metrics.json`` (None if absent).
    """

    experiment: object = None
    checkpoints: tuple = ()
    has_model: bool = False
    metrics: dict = None

    @property
    def started(self):
        """Whether any training progress is stored."""
        return bool(self.checkpoints) or self.has_model

    @property
    def newest_step(self):
        """The highest step stored in a checkpoint or the final model."""
        steps = [c.step for c in self.checkpoints if c.step is not None]
        if self.has_model and self.trained_steps is not None:
            steps.append(self.trained_steps)
        return max(steps, default=None)

    @property
    def trained_steps(self):
        """Steps of the evaluated model (None: unknown or not finished)."""
        if self.metrics is None:
            return None
        steps = self.metrics.get("steps")
        if steps is None and self.experiment is not None:
            # metrics.json written before steps were recorded: the run
            # trained its configured steps.
            steps = self.experiment.training.steps
        return steps


def run_state(workdir):
    """The ``RunState`` of ``workdir`` (empty if it holds no run)."""
    state = RunState()
    if os.path.exists(path(workdir, CONFIG_FILE)):
        state.experiment = read_experiment(workdir)
    steps_per_epoch = (
        state.experiment.training.steps_per_epoch if state.experiment else 1
    )
    state.checkpoints = tuple(
        list_checkpoints(path(workdir, BACKUP_DIR), steps_per_epoch)
    )
    state.has_model = os.path.exists(path(workdir, MODEL_FILE))
    metrics_path = path(workdir, METRICS_FILE)
    if os.path.exists(metrics_path):
        state.metrics = read_metrics(metrics_path)
    return state


__all__ = [
    "CHANGEABLE_ON_RESUME",
    "RunState",
    "describe_differences",
    "load_finished",
    "load_run",
    "load_task",
    "read_experiment",
    "resume_differences",
    "run_state",
]
