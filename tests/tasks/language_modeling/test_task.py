"""The language-modelling task's batches."""

import pytest
import tensorflow as tf

from keras_transformer.errors import ConfigError
from keras_transformer.experiment import experiment_from_dict
from keras_transformer.tasks import get_task


def test_a_batch_size_that_does_not_split_over_the_devices_is_refused():
    experiment = experiment_from_dict(
        {"task": "language_modeling", "training": {"batch_size": 6}}
    )
    task = get_task(experiment)
    windows = tf.data.Dataset.range(24).map(lambda i: ({"tokens": [i]}, [i]))
    assert len(list(task.batch(windows, training=True))) == 4
    task.batch_multiple = 4  # a JAX run over four devices
    with pytest.raises(ConfigError) as raised:
        task.batch(windows, training=True)
    assert str(raised.value) == (
        "training.batch_size=6 does not split evenly over the 4 devices "
        "that share each batch: choose a multiple of 4."
    )
    assert len(list(task.batch(windows, training=False))) == 4  # evaluation
