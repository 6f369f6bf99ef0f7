"""One ``Task`` per application: the only code that knows what a task is.

A task owns what differs between applications: the examples it reads, its
tokenizers, the encoding into model inputs and labels, the model, the loss
and metrics, the evaluation, prediction and the exported serving graph.
Training, evaluation, export and the command line call these and nothing
else. See ``Task`` in ``tasks/base.py`` and the README's "Tasks".
"""

from keras_transformer.tasks.registry import (
    get_task,
    get_task_class,
    register_task,
    task_names,
)

__all__ = ["get_task", "get_task_class", "register_task", "task_names"]
