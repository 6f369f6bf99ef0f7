"""The YAML ``task:`` name -> its ``Task`` class.

The registry holds module paths and imports a task's module only when the
task is asked for, so reading and checking an experiment needs no
TensorFlow. ``register_task`` adds a task defined elsewhere.
"""

import importlib

_TASKS = {
    "translation": "keras_transformer.tasks.translation:TranslationTask",
    "classification": (
        "keras_transformer.tasks.classification:ClassificationTask"
    ),
    "language_modeling": (
        "keras_transformer.tasks.language_modeling:LanguageModelingTask"
    ),
    "masked_lm": "keras_transformer.tasks.masked_lm:MaskedLanguageModelingTask",
    "token_classification": (
        "keras_transformer.tasks.token_classification:TokenClassificationTask"
    ),
    "question_answering": (
        "keras_transformer.tasks.question_answering:QuestionAnsweringTask"
    ),
    "summarization": (
        "keras_transformer.tasks.summarization:SummarizationTask"
    ),
}


def task_names():
    """The names a YAML ``task:`` may take, in registration order."""
    return tuple(_TASKS)


def register_task(name, task_class):
    """Makes ``task: name`` in an experiment use ``task_class``.

    Args:
        name: the YAML name.
        task_class: a ``Task`` subclass, or ``"module.path:ClassName"``.
    """
    _TASKS[name] = task_class


def get_task_class(name):
    """The ``Task`` class registered as ``name``.

    Raises:
        ValueError: ``name`` is not registered (the message lists the
            names that are).
    """
    if name not in _TASKS:
        raise ValueError(
            f"Unknown task {name!r}; choose one of {', '.join(_TASKS)}."
        )
    target = _TASKS[name]
    if isinstance(target, str):
        module, _, attribute = target.partition(":")
        target = getattr(importlib.import_module(module), attribute)
        _TASKS[name] = target
    return target


def task_for_checkpoint(model_type):
    """The name of the task that uses a published checkpoint of the family
    ``model_type`` whole, as it is (``keeps_whole_checkpoint``, the
    family in its ``checkpoint_families``).

    Raises:
        ValueError: no task does (a BERT encoder gets a new head: it
            starts a run through ``model.init_from`` instead).
    """
    for name in _TASKS:
        task = get_task_class(name)
        if task.keeps_whole_checkpoint and (
            model_type in task.checkpoint_families
        ):
            return name
    raise ValueError(
        f"a {model_type} checkpoint is not a model to use as it is; "
        "fine-tune it instead, with model.init_from: CHECKPOINT"
    )


def get_task(experiment):
    """The ``Task`` of an ``Experiment`` (an instance, without assets)."""
    return get_task_class(experiment.task)(experiment)


__all__ = [
    "get_task",
    "get_task_class",
    "register_task",
    "task_for_checkpoint",
    "task_names",
]
