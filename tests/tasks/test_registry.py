"""The task registry and the name checks of experiments."""

import pytest

from keras_transformer.errors import ConfigError
from keras_transformer.experiment import experiment_from_dict
from keras_transformer.tasks import get_task, register_task, task_names
from keras_transformer.tasks.base import Task
from keras_transformer.tasks.translation.task import TranslationTask


def test_every_registered_task_loads():
    assert set(task_names()) >= {
        "translation",
        "classification",
        "language_modeling",
        "masked_lm",
    }
    for name in task_names():
        task = get_task(experiment_from_dict({"task": name}))
        assert isinstance(task, Task) and task.name == name


def test_unknown_tasks_are_named_with_the_choices():
    with pytest.raises(ConfigError, match="task: invalid value 'summarise'"):
        experiment_from_dict({"task": "summarise"})


def test_a_task_defined_elsewhere_can_be_registered():
    class Reversal(TranslationTask):
        name = "reversal"

    register_task("reversal", Reversal)
    experiment = experiment_from_dict({"task": "reversal"})
    assert type(get_task(experiment)) is Reversal
