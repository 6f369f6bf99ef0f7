import json

import keras
import numpy as np
import pytest

from keras_transformer.training import LinearSchedule, TransformerSchedule


def _formula(step, d_model, warmup, scale=1.0):
    step = step + 1
    return scale * d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)


@pytest.mark.parametrize("step", [0, 1, 100, 3999, 4000, 10000, 100000])
def test_equation_3(step):
    schedule = TransformerSchedule(512, 4000)
    assert float(schedule(step)) == pytest.approx(
        _formula(step, 512, 4000), rel=1e-5
    )


def test_warmup_then_decay_and_scale():
    schedule = TransformerSchedule(128, warmup_steps=100, scale=2.0)
    rates = np.array([float(schedule(s)) for s in range(400)])
    peak = int(np.argmax(rates))
    assert peak == 99  # step 100 counted from 1
    assert np.all(np.diff(rates[:peak]) > 0)
    assert np.all(np.diff(rates[peak + 1 :]) < 0)
    assert rates[peak] == pytest.approx(_formula(99, 128, 100, 2.0), rel=1e-5)


def test_serializable_inside_an_optimizer():
    optimizer = keras.optimizers.Adam(TransformerSchedule(64, 10, 0.5))
    config = json.loads(json.dumps(keras.optimizers.serialize(optimizer)))
    restored = keras.optimizers.deserialize(config)
    schedule = restored._learning_rate  # the schedule object itself
    assert isinstance(schedule, TransformerSchedule)
    assert float(restored.learning_rate) == pytest.approx(float(schedule(0)))
    assert (schedule.d_model, schedule.warmup_steps, schedule.scale) == (
        64,
        10,
        0.5,
    )


@pytest.mark.parametrize(
    "kwargs", [{"d_model": 0}, {"warmup_steps": -1}, {"scale": 0}]
)
def test_bad_arguments(kwargs):
    values = {"d_model": 64, "warmup_steps": 10, "scale": 1.0}
    values.update(kwargs)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        TransformerSchedule(**values)


@pytest.mark.parametrize(
    "steps, warmup_steps, expected",
    [
        (300, None, 30),
        (1000, None, 100),
        (100000, None, 4000),
        (3, None, 1),
        (300, 1000, 1000),
    ],
)
def test_default_warmup_is_a_share_of_the_steps_capped_at_the_papers(
    steps, warmup_steps, expected
):
    from keras_transformer.experiment import TrainingConfig

    config = TrainingConfig(steps=steps, warmup_steps=warmup_steps)
    assert config.warmup == expected


def test_cooldown_brings_the_rate_linearly_to_zero():
    plain = TransformerSchedule(64, warmup_steps=10)
    cooled = TransformerSchedule(
        64, warmup_steps=10, total_steps=100, cooldown_steps=20
    )
    # Untouched before the last 20 of 100 updates (steps 0..99).
    for step in range(80):
        assert float(cooled(step)) == pytest.approx(float(plain(step)))
    for step in range(80, 100):
        factor = (100 - step) / 20  # 1 at step 80, 1/20 at the last
        assert float(cooled(step)) == pytest.approx(
            factor * float(plain(step)), rel=1e-5
        )
    assert float(cooled(100)) == 0.0  # a resumed run past the end: no step
    config = json.loads(json.dumps(cooled.get_config()))
    restored = TransformerSchedule.from_config(config)
    assert float(restored(90)) == pytest.approx(float(cooled(90)))


@pytest.mark.parametrize(
    "kwargs, wanted",
    [
        ({"cooldown_steps": -1}, "cooldown_steps"),
        ({"cooldown_steps": 10}, "total_steps"),
        ({"cooldown_steps": 10, "total_steps": 5}, "total_steps"),
    ],
)
def test_bad_cooldowns(kwargs, wanted):
    with pytest.raises(ValueError, match=wanted):
        TransformerSchedule(64, 10, **kwargs)


def test_linear_rises_to_the_peak_then_falls_to_zero_at_the_end():
    schedule = LinearSchedule(3e-4, warmup_steps=10, total_steps=50)
    rates = np.array([float(schedule(s)) for s in range(60)])
    # An independent computation, step counted from 1.
    steps = np.arange(1, 61)
    wanted = 3e-4 * np.clip(np.minimum(steps / 10, (51 - steps) / 41), 0.0, 1.0)
    np.testing.assert_allclose(rates, wanted, rtol=1e-5, atol=1e-12)
    assert rates[9] == pytest.approx(3e-4) and rates[49] > 0
    assert (rates[50:] == 0).all()
    accumulating = LinearSchedule(3e-4, 10, 50, batches_per_update=4)
    assert float(accumulating(4 * 9 + 3)) == pytest.approx(3e-4)
    optimizer = keras.optimizers.Adam(schedule)
    config = json.loads(json.dumps(keras.optimizers.serialize(optimizer)))
    restored = keras.optimizers.deserialize(config)._learning_rate
    assert isinstance(restored, LinearSchedule)
    assert restored.get_config() == schedule.get_config()


@pytest.mark.parametrize(
    "kwargs, wanted",
    [
        ({"peak": 0}, "positive"),
        ({"warmup_steps": 0}, "warmup_steps"),
        ({"warmup_steps": 60}, "exceeds"),
        ({"batches_per_update": 0}, "batches_per_update"),
    ],
)
def test_linear_bad_arguments(kwargs, wanted):
    values = {"peak": 1e-4, "warmup_steps": 10, "total_steps": 50, **kwargs}
    with pytest.raises(ValueError, match=wanted):
        LinearSchedule(**values)


@pytest.mark.parametrize("d_model", [64, 256, 512])
@pytest.mark.parametrize("warmup", [10, 76, 400, 4000])
def test_the_cap_holds_the_rate_then_equation_3_takes_over(d_model, warmup):
    schedule = TransformerSchedule(d_model, warmup, max_rate=1e-3)
    steps = np.arange(0, 12000, 7)
    rates = np.array([float(schedule(s)) for s in steps])
    formula = np.array([_formula(s, d_model, warmup) for s in steps])
    assert rates.max() <= 1e-3 * (1 + 1e-6)
    np.testing.assert_allclose(rates, np.minimum(formula, 1e-3), rtol=1e-5)


def test_a_cap_must_be_a_positive_number():
    for bad in (0, -1e-3, "1e-3", True):
        with pytest.raises(ValueError, match="max_rate"):
            TransformerSchedule(64, 10, max_rate=bad)
    assert TransformerSchedule(64, 10).get_config()["max_rate"] is None
