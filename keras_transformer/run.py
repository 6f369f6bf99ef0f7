"""The run directory: its files, atomic writes, the lock, loading a run.

A run lives in a work directory::

    workdir/
      config.yaml        the resolved experiment (written once the data and
                         settings are checked)
      tokenizer/         (or tokenizer_source/ and tokenizer_target/)
      labels.json        class names (classification)
      backup/            checkpoints ckpt-<step>.keras, the newest two; kept
                         until metrics.json is written
      logs/              TensorBoard logs
      history.csv        loss and metrics per epoch, with the step
      model.keras        the final model (with its optimizer state)
      metrics.json       evaluation of the final model, with its step count
      eval/              results of ``keras-transformer evaluate``
      .lock              held by the live trainer

Every file is written to a temporary name in the same directory and moved
into place with ``os.replace`` once complete, so a stop at any moment
leaves either the old file or the new one, never half of one.

This module imports neither TensorFlow nor Keras at import time.
"""

import contextlib
import dataclasses
import errno
import json
import math
import os
import re
import shutil
import socket
import stat
import time
import zipfile

from keras_transformer.errors import ConfigError, RunError, brief

CONFIG_FILE = "config.yaml"
MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
LABELS_FILE = "labels.json"
#: The architecture of the published checkpoint a run was fine-tuned from
#: (``model.init_from``), so that the run needs the checkpoint no more.
PRETRAINED_FILE = "pretrained.json"
HISTORY_FILE = "history.csv"
#: The steps planned for ``training.time_budget`` and the seconds spent.
PLAN_FILE = "plan.json"
#: Checkpoint averaging: the snapshots, what was averaged, and the final
#: model before averaging.
AVERAGE_DIR = "average"
AVERAGE_FILE = "average.json"
UNAVERAGED_FILE = "model.unaveraged.keras"
BACKUP_DIR = "backup"
LOG_DIR = "logs"
EVAL_DIR = "eval"
LOCK_FILE = ".lock"
TOKENIZER_DIRS = ("tokenizer", "tokenizer_source", "tokenizer_target")
TEMPORARY_MARK = ".tmp-"

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


def path(workdir, name):
    """``workdir/name``."""
    return os.path.join(workdir, name)


# ------------------------------------------------------------ atomic writes


def _temporary_name(target):
    """A hidden name beside ``target`` that keeps its suffix."""
    directory, name = os.path.split(os.path.abspath(target))
    return os.path.join(directory, f"{TEMPORARY_MARK}{os.getpid()}-{name}")


def _fsync_directory(directory):
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _remove(target):
    if os.path.isdir(target) and not os.path.islink(target):
        shutil.rmtree(target, ignore_errors=True)
    elif os.path.lexists(target):
        with contextlib.suppress(OSError):
            os.remove(target)


@contextlib.contextmanager
def atomic_path(target):
    """Yields a temporary path; moves it to ``target`` when the block ends.

    The temporary path is in ``target``'s directory and ends with the same
    name (so ``.keras`` stays the suffix). It may become a file or a
    directory (a directory cannot replace an existing non-empty one: that
    raises ``OSError``). If the block raises, the temporary path is removed
    and ``target`` is untouched.

    Example:

    >>> with atomic_path("run/model.keras") as temporary:
    ...     model.save(temporary)
    """
    temporary = _temporary_name(target)
    _remove(temporary)
    try:
        yield temporary
        if os.path.isfile(temporary):
            with open(temporary, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        _remove(temporary)
        raise
    _fsync_directory(os.path.dirname(os.path.abspath(target)))


#: ``os.open`` flags of a new file that no symbolic link can redirect: it
#: must not exist yet, and a link in its place is an error (not followed).
NEW_FILE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
)


def open_new(target, mode="w"):
    """Opens a file that does not exist yet for writing (``"w"`` text,
    UTF-8, or ``"wb"``); never follows a symbolic link."""
    descriptor = os.open(target, NEW_FILE_FLAGS, 0o644)
    if mode == "wb":
        return os.fdopen(descriptor, "wb")
    return os.fdopen(descriptor, mode, encoding="utf-8")


def write_text(target, text):
    """Writes ``text`` (UTF-8) to ``target`` atomically.

    The text goes to a new temporary file (never through a symbolic link)
    that then replaces ``target``; a link at ``target`` is replaced, not
    followed.
    """
    with atomic_path(target) as temporary:
        with open_new(temporary) as handle:
            handle.write(text)
            handle.flush()


def _finite(value):
    """``value`` with every non-finite float replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def write_json(target, value):
    """Writes ``value`` as indented, strict JSON to ``target`` atomically.

    NaN and infinite numbers, which strict JSON readers refuse, are written
    as ``null``.
    """
    text = json.dumps(_finite(value), indent=2, allow_nan=False)
    write_text(target, text + "\n")


def read_json(target, what=None):
    """The JSON value in ``target``; a ``RunError`` naming it if damaged."""
    try:
        with open(target, encoding="utf-8") as handle:
            return json.load(handle)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        detail = str(err) or "nested too deeply"
        raise RunError(
            f"{target} is damaged ({what or 'not valid JSON'}: {detail}). "
            "Delete it to have it written again."
        ) from None
    except OSError as err:
        raise RunError(
            f"Cannot read {target}: {err.strerror or err}."
        ) from None


def remove_stale_temporaries(directory):
    """Removes temporary files left in ``directory`` by dead processes."""
    if not os.path.isdir(directory):
        return
    for name in os.listdir(directory):
        if not name.startswith(TEMPORARY_MARK):
            continue
        pid = name[len(TEMPORARY_MARK) :].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            _remove(os.path.join(directory, name))


def process_alive(pid):
    """Whether a process with this PID runs on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ------------------------------------------------------------- disk errors

_DISK_PROBLEMS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


def disk_problem(err):
    """A short description of a disk error, or None for others.

    Recognises ``OSError``s by their ``errno``, and the errors of other
    libraries (TensorFlow's file system, SentencePiece) by the operating
    system's message for the same ``errno`` ("No space left on device").
    """
    code = getattr(err, "errno", None)
    if isinstance(err, OSError) and code in _DISK_PROBLEMS:
        return _DISK_PROBLEMS[code]
    text = str(err)
    for number, problem in _DISK_PROBLEMS.items():
        if os.strerror(number) in text:
            return problem
    return None


#: How to get past a directory that cannot be written.
WRITABLE_FIX = (
    "Choose a writable directory (or free space), then rerun the same command."
)


def check_writable(directory, purpose="write results", fix=WRITABLE_FIX):
    """Creates ``directory`` if needed and checks a file can be written.

    Args:
        directory: the directory.
        purpose: what the directory is for, for the message.
        fix: what to do instead, for the message.

    Raises:
        RunError: naming the directory, the reason and the fix.
    """
    if "://" in str(directory):
        raise RunError(
            f"{directory}: run and export directories must be local paths "
            "(atomic renames and the run lock need a local file system); "
            "write locally, then copy the result."
        )
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise RunError(
            f"{directory} is a file, not a directory: pass a directory to "
            f"{purpose} in."
        )
    probe = _temporary_name(os.path.join(directory, "write-check"))
    try:
        os.makedirs(directory, exist_ok=True)
        _remove(probe)
        with open_new(probe) as handle:
            handle.write("ok")
    except OSError as err:
        problem = disk_problem(err) or err.strerror or str(err)
        raise RunError(
            f"Cannot {purpose} in {directory}: {problem}. {fix}"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            os.remove(probe)


# ------------------------------------------------------- what is in a run


def _file_kind(mode):
    """``"a directory"``, ``"a FIFO"``... for an ``st_mode``."""
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


#: The directories of a run that training and evaluation write into.
WRITTEN_DIRS = (BACKUP_DIR, LOG_DIR, EVAL_DIR, AVERAGE_DIR)


def check_no_links(workdir, names=WRITTEN_DIRS):
    """Refuses a run whose written entries are symbolic links.

    A run writes only inside its own directory: a link in place of
    ``backup/`` (say) would send checkpoints, or deletions, elsewhere.

    Raises:
        RunError: naming the link and the fix.
    """
    for name in names:
        target = path(workdir, name)
        if os.path.islink(target):
            raise RunError(
                f"{target} is a symbolic link (to {os.readlink(target)}); a "
                "run writes only inside its own directory. Remove the link "
                "(or use another --workdir), then rerun the same command."
            )


# -------------------------------------------------------------------- lock


class RunLock:
    """An exclusive lock on a run directory, held while a trainer runs.

    The lock is an ``flock`` on ``workdir/.lock``, which also records the
    holder's PID, host and start time. The operating system releases it
    when the holder exits in any way (kill -9 included), so a lock left by
    a dead process is simply taken over; ``stale_holder`` then describes
    that process.

    Raises:
        RunError: another live process holds the lock (the message names
            its PID).

    Example:

    >>> with RunLock("runs/demo"):
    ...     train()
    """

    def __init__(self, workdir):
        self.workdir = workdir
        self.lock_path = path(workdir, LOCK_FILE)
        self.stale_holder = None
        self._descriptor = None

    @staticmethod
    def _holder(descriptor):
        os.lseek(descriptor, 0, os.SEEK_SET)
        raw = os.read(descriptor, 4096)
        try:
            holder = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None
        return holder if isinstance(holder, dict) else None

    def _refuse(self, what):
        raise RunError(
            f"{self.lock_path} is {what}, not a regular file: the run's lock "
            "is a plain file that the trainer writes. Remove it, then rerun "
            "the same command."
        )

    def _open(self):
        """The lock file's descriptor; refuses anything but a regular file
        (a symbolic link is never followed, a FIFO never waited on)."""
        if os.path.islink(self.lock_path):
            self._refuse("a symbolic link")
        try:
            descriptor = os.open(
                self.lock_path,
                os.O_RDWR
                | os.O_CREAT
                | getattr(os, "O_NOFOLLOW", 0)
                | getattr(os, "O_NONBLOCK", 0),
                0o644,
            )
        except IsADirectoryError:
            self._refuse("a directory")
        except OSError as err:
            if err.errno == errno.ELOOP:
                self._refuse("a symbolic link")
            raise
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            os.close(descriptor)
            self._refuse(_file_kind(mode))
        return descriptor

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return self
        descriptor = self._open()
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = self._holder(descriptor) or {}
            os.close(descriptor)
            who = (
                f"PID {holder.get('pid')} on {holder.get('host')}, since "
                f"{holder.get('started')}"
                if holder
                else "another process"
            )
            raise RunError(
                f"{self.workdir} is in use by another trainer ({who}). Wait "
                "for it to finish or stop it, or use another --workdir."
            ) from None
        previous = self._holder(descriptor)
        if previous and previous.get("pid") != os.getpid():
            self.stale_holder = previous
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        os.ftruncate(descriptor, 0)
        os.lseek(descriptor, 0, os.SEEK_SET)
        os.write(descriptor, json.dumps(record).encode("utf-8"))
        self._descriptor = descriptor
        return self

    def __exit__(self, *exc_info):
        if self._descriptor is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._descriptor, 0)
        os.close(self._descriptor)  # releases the flock
        self._descriptor = None


# ------------------------------------------------------------ checkpoints

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
            values = read_json(os.path.join(backup_dir, metadata))
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


# ------------------------------------------------------------ experiments


def read_experiment(workdir):
    """The ``Experiment`` stored in a run directory.

    Raises:
        RunError: there is no run in ``workdir`` or its config is damaged.
    """
    from keras_transformer.experiment import read_experiment_file

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
    from keras_transformer.tasks import get_task

    return get_task(read_experiment(workdir)).load(workdir)


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
    import keras

    import keras_transformer  # noqa: F401  (registers the custom objects)

    check_keras_file(target)
    try:
        return keras.saving.load_model(target, compile=compile)
    except Exception as err:  # any content of a foreign or crafted file
        raise RunError(
            f"{target} is not a model this package can load "
            f"({_first_line(err)}). Use the model.keras that "
            "keras-transformer train wrote, or train again."
        ) from None


def read_metrics(target):
    """The contents of a run's ``metrics.json``, checked.

    Raises:
        RunError: naming the file, when it is not a JSON object or its
            ``steps`` is not a count of steps.
    """
    metrics = read_json(target)
    if not isinstance(metrics, dict):
        raise RunError(
            f"{target} is damaged: expected a JSON object of metrics, got "
            f"{brief(metrics)}. Delete it to have it written again."
        )
    steps = metrics.get("steps")
    if steps is not None and (
        isinstance(steps, bool) or not isinstance(steps, int) or steps < 0
    ):
        raise RunError(
            f'{target} is damaged: "steps" must be a count of training '
            f"steps, got {brief(steps)}. Delete it to have it written again."
        )
    return metrics


def read_labels(target, noun="label", count=None):
    """The names in a run's ``labels.json``: a list of distinct strings.

    Args:
        target: the file.
        noun: what the names are ("class", "tag"), for messages.
        count: the number of names the model has outputs for (None: not
            checked).

    Raises:
        RunError: naming the file and what is wrong.
    """
    if not os.path.exists(target):
        raise RunError(f"{target} is missing: the run's {noun} names are lost.")
    names = read_json(target)
    fix = "Restore the file that keras-transformer train wrote."
    if not isinstance(names, list) or not all(
        isinstance(name, str) for name in names
    ):
        raise RunError(
            f"{target} is damaged: expected a JSON list of {noun} names "
            f"(strings), got {brief(names)}. {fix}"
        )
    if len(set(names)) != len(names):
        raise RunError(f"{target} is damaged: it repeats a {noun} name. {fix}")
    if count is not None and len(names) != count:
        raise RunError(
            f"{target} has {len(names)} {noun} names, but the model has "
            f"{count} outputs. {fix}"
        )
    return names


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
    "Checkpoint",
    "RunLock",
    "RunState",
    "atomic_path",
    "check_keras_file",
    "check_no_links",
    "check_writable",
    "list_checkpoints",
    "load_finished",
    "load_run",
    "load_task",
    "read_experiment",
    "read_labels",
    "read_metrics",
    "resume_differences",
    "run_state",
    "write_json",
    "write_text",
]
