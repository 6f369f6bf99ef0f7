"""A published checkpoint as a run directory, in one call.

``import_checkpoint(path, workdir)`` writes what ``train`` would have
written for a model it trained: ``config.yaml`` (the experiment, whose
``model.init_from`` names the checkpoint), the tokenizer, the checkpoint's
architecture (``pretrained.json``) and ``model.keras`` with its weights.
``translate``, ``predict``, ``evaluate`` and ``export`` then work on the
run as on any other, and a fine-tuning experiment starts from the
checkpoint with the same ``model.init_from``.
"""

import dataclasses
import os

from keras_transformer import run_files
from keras_transformer.checkpoints import huggingface
from keras_transformer.errors import ConfigError
from keras_transformer.experiment import Experiment, save_experiment
from keras_transformer.tasks import get_task
from keras_transformer.tasks.pretrained_start import TUNABLE_FIELDS
from keras_transformer.tasks.registry import task_for_checkpoint


def checkpoint_task(path):
    """The task that uses the checkpoint in ``path`` as it is (Marian:
    ``translation``, GPT-2: ``language_modeling``).

    Raises:
        ConfigError: not a checkpoint, or one that no task uses as it is.
    """
    hf = huggingface.read_config(path)
    huggingface.family_of(hf)  # an unsupported model_type: one line
    try:
        return task_for_checkpoint(hf["model_type"])
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from None


def import_checkpoint(path, workdir, experiment=None, log=print):
    """Makes ``workdir`` a finished run of the checkpoint in ``path``.

    Args:
        path: a Hugging Face checkpoint directory of a family that a task
            uses as it is (``checkpoint_task``: Marian -> translation).
        workdir: the new run directory (absent or empty).
        experiment: the ``Experiment`` of its data, evaluation and
            decoding settings (None: the defaults). Its task must be the
            checkpoint's; its ``model`` section is replaced by
            ``init_from: path`` (dropout settings are kept), and its
            ``training.max_length`` is cut to the checkpoint's positions.
        log: where progress lines go.

    Returns:
        The model, with the checkpoint's weights.

    Raises:
        ConfigError: the checkpoint cannot be imported, the experiment's
            task is another, or ``workdir`` already holds files.

    Example:

    >>> model = import_checkpoint("opus-mt-en-de", "runs/opus-en-de")
    """
    path = os.path.abspath(path)
    experiment = experiment or Experiment(task=checkpoint_task(path))
    hf = huggingface.read_config(path)
    model_type = hf["model_type"]
    task = get_task(experiment)
    whole = task.keeps_whole_checkpoint
    if not whole or model_type not in task.checkpoint_families:
        raise ConfigError(
            f"{path} is a {model_type} checkpoint, which the "
            f"{experiment.task} task cannot use as it is: set task: "
            f"{checkpoint_task(path)}."
        )
    if os.path.isdir(workdir) and os.listdir(workdir):
        raise ConfigError(
            f"{workdir} is not empty: import into a new run directory."
        )
    family, _ = huggingface.family_of(hf)
    limit = family.config(hf).max_length
    if experiment.training.max_length > limit:
        log(f"training.max_length: {limit}, the checkpoint's positions.")
        experiment.training = dataclasses.replace(
            experiment.training, max_length=limit
        )
    kept = {k: v for k, v in experiment.model.items() if k in TUNABLE_FIELDS}
    experiment.model = {"init_from": path, **kept}
    os.makedirs(workdir, exist_ok=True)
    save_experiment(experiment, run_files.path(workdir, run_files.CONFIG_FILE))
    task.prepare(workdir, splits=None)
    model = task.build_model()
    task.start.initialize(model, log=log)
    with run_files.atomic_path(
        run_files.path(workdir, run_files.MODEL_FILE)
    ) as temporary:
        model.save(temporary)
    log(
        f"Imported {path} as a {experiment.task} run in {workdir}: "
        f"{model.count_params():,} parameters."
    )
    return model


__all__ = ["checkpoint_task", "import_checkpoint"]
