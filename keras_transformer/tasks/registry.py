"""The YAML ``task:`` name -> its ``Task`` class.

The registry holds module paths and imports a task's module only when the
task is asked for: reading an experiment imports its task (and the tasks
it has ``task_settings`` for), whose settings dataclass checks that
section. ``register_task`` adds a task defined elsewhere.
"""

import importlib

# The tasks built in: ``name -> ".<package>.task:Class"``, a module of
# this package (a new task: its package, and one line here).
_TASKS = {
    "translation": ".translation.task:TranslationTask",
    "classification": ".classification.task:ClassificationTask",
    "language_modeling": ".language_modeling.task:LanguageModelingTask",
    "masked_lm": ".masked_lm.task:MaskedLanguageModelingTask",
    "token_classification": (
        ".token_classification.task:TokenClassificationTask"
    ),
    "question_answering": ".question_answering.task:QuestionAnsweringTask",
    "summarization": ".summarization.task:SummarizationTask",
}

#: The task of an experiment that names none.
DEFAULT_TASK = "translation"
#: Command-line names of ``predict`` for the runs of one task alone:
#: ``{command: task name}``.
PREDICT_ALIASES = {"translate": "translation"}


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
        target = getattr(
            importlib.import_module(module, package=__package__), attribute
        )
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
