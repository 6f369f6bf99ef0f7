"""The run directory's files: their names, atomic writes, the lock.

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

This module imports nothing of the package but its errors, and neither
TensorFlow nor Keras. Checkpoints are in ``training/checkpoint.py``;
loading a run is ``keras_transformer.run``.
"""

import contextlib
import errno
import json
import math
import os
import shutil
import socket
import stat
import time

from keras_transformer.errors import RunError, brief

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


# ------------------------------------------------------------ readers


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
