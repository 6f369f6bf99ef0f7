"""Checkpoint averaging (section 6.1 of the paper: the last 5 checkpoints
of the base model, the last 20 of the big one).

With ``training.average_last`` K, training saves the weights every
``training.average_interval`` steps (and at its last step) as snapshots in
``average/step-<N>.weights.h5``, keeping the newest K. At the end,
``model.keras`` becomes their element-wise mean and the un-averaged final
model is kept as ``model.unaveraged.keras``. ``average_run`` does the same
later, for any K up to the snapshots kept (``keras-transformer average``).

A snapshot that cannot be loaded, or whose weights are not finite, is
named and left out of the mean, never averaged in.
"""

import os
import re

import keras
import numpy as np

from keras_transformer import run_files
from keras_transformer.errors import RunError

_SNAPSHOT_NAME = re.compile(r"^step-(\d+)\.weights\.h5$")


def snapshot_path(directory, step):
    """``directory/step-<step>.weights.h5``."""
    return os.path.join(directory, f"step-{step}.weights.h5")


def list_snapshots(directory):
    """``[(step, path), ...]`` of ``directory``'s snapshots, oldest first."""
    if not os.path.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        match = _SNAPSHOT_NAME.match(name)
        if match:
            found.append((int(match.group(1)), os.path.join(directory, name)))
    return sorted(found)


def _float_weight(variable):
    return "float" in str(variable.dtype)


def average_snapshots(model, paths, log=print):
    """Sets ``model``'s weights to the mean of the snapshots ``paths``.

    Float weights are averaged (in float64); other weights (counters,
    seeds) are those of the last usable snapshot.

    Returns:
        ``(used, left_out)``: the paths averaged, and ``(path, reason)``
        for each snapshot left out.

    Raises:
        RunError: no snapshot could be used.
    """
    total, used, left_out, last = None, [], [], None
    for path in paths:
        try:
            model.load_weights(path)
        except Exception as err:  # h5py and Keras raise many kinds
            reason = str(err).splitlines()[0] if str(err) else repr(err)
            left_out.append((path, f"it cannot be loaded ({reason[:200]})"))
            continue
        values = [keras.ops.convert_to_numpy(v.value) for v in model.weights]
        if not all(
            np.isfinite(value).all()
            for value, v in zip(values, model.weights)
            if _float_weight(v)
        ):
            left_out.append((path, "its weights are not all finite"))
            continue
        if total is None:
            total = [value.astype("float64") for value in values]
        else:
            total = [t + value for t, value in zip(total, values)]
        used.append(path)
        last = values
    for path, reason in left_out:
        log(f"WARNING: left {path} out of the average: {reason}.")
    if not used:
        reasons = "; ".join(reason for _, reason in left_out)
        raise RunError(f"No snapshot could be averaged ({reasons}).")
    for variable, summed, final in zip(model.weights, total, last):
        if _float_weight(variable):
            variable.assign((summed / len(used)).astype(final.dtype))
        else:
            variable.assign(final)
    return used, left_out


class Snapshotter(keras.callbacks.Callback):
    """Saves the weights every ``interval`` steps and at the end of
    training into ``directory``, keeping the newest ``keep``.

    Snapshots of steps after ``counter.step`` when training starts (left
    by a run that stopped before its next checkpoint) are removed first.
    """

    def __init__(self, directory, counter, interval, keep):
        super().__init__()
        self.directory = directory
        self.counter = counter
        self.interval = interval
        self.keep = keep
        self.saved_step = None
        for step, path in list_snapshots(directory):
            if step > counter.step:
                os.remove(path)

    def _save(self):
        step = self.counter.step
        if step == self.saved_step:
            return
        os.makedirs(self.directory, exist_ok=True)
        with run_files.atomic_path(
            snapshot_path(self.directory, step)
        ) as temporary:
            self.model.save_weights(temporary)
        self.saved_step = step
        for _, path in list_snapshots(self.directory)[: -self.keep]:
            os.remove(path)

    def on_train_batch_end(self, batch, logs=None):
        if self.counter.step and self.counter.step % self.interval == 0:
            self._save()

    def on_train_end(self, logs=None):
        self._save()


def average_into(model, workdir, last, log=print):
    """Averages the newest ``last`` snapshots of ``workdir`` into
    ``model``; records what was averaged in ``average.json``.

    Returns:
        The record: ``{"last", "steps", "left_out"}``.
    """
    directory = run_files.path(workdir, run_files.AVERAGE_DIR)
    snapshots = list_snapshots(directory)
    if not snapshots:
        raise RunError(
            f"{workdir} holds no snapshots to average (in {directory}): "
            "train with training.average_last: K to keep the last K."
        )
    if last > len(snapshots):
        raise RunError(
            f"--last {last} needs {last} snapshots; {directory} holds "
            f"{len(snapshots)} (training.average_last). Use --last "
            f"{len(snapshots)} or fewer."
        )
    chosen = snapshots[-last:]
    used, left_out = average_snapshots(model, [p for _, p in chosen], log)
    steps = [step for step, path in chosen if path in used]
    record = {
        "last": last,
        "steps": steps,
        "left_out": [os.path.basename(path) for path, _ in left_out],
    }
    run_files.write_json(
        run_files.path(workdir, run_files.AVERAGE_FILE), record
    )
    listed = ", ".join(map(str, steps))
    log(
        f"Averaged {len(steps)} snapshot(s) (steps {listed})"
        + (f"; left out {len(left_out)}" if left_out else "")
        + "."
    )
    return record


__all__ = [
    "Snapshotter",
    "average_into",
    "average_snapshots",
    "list_snapshots",
    "snapshot_path",
]
