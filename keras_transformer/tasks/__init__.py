"""One package per application, ``tasks/<name>/``: the only code that knows
what a task is.

A task owns what differs between applications: the examples it reads, its
tokenizers' texts, the encoding into model inputs and labels, the model,
the loss and metrics, its own settings, the evaluation, and the predictor
that serves it. Training, evaluation, export and the command line call
these and nothing else. What is the same for every task lives here too:
the ``Task`` contract (``base``), the registry (``registry``), the run's
assets (``run_assets``) and the model's start from ``model.init_from``
(``pretrained_start``). docs/new-task.md adds a task, step by step.
"""

from keras_transformer.tasks.registry import (
    get_task,
    get_task_class,
    register_task,
    task_names,
)

__all__ = ["get_task", "get_task_class", "register_task", "task_names"]
