import re
import types

import keras
import numpy as np

from keras_transformer.training.callbacks import StepCounter
from keras_transformer.training.progress_log import (
    CompileReport,
    ProgressLog,
    progress_callbacks,
)


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _model(learning_rate=5e-4):
    from keras_transformer.training.metrics import MaskedAccuracy

    accuracy = MaskedAccuracy()
    # As Keras nests compiled metrics in a container, after the loss
    # tracker (a Mean, whose count is of examples, not tokens).
    loss = keras.metrics.Mean(name="loss")
    loss.count.assign(1e6)
    container = types.SimpleNamespace(metrics=[accuracy])
    return types.SimpleNamespace(
        metrics=[loss, container],
        optimizer=types.SimpleNamespace(
            learning_rate=np.float32(learning_rate)
        ),
    ), accuracy


def _started_log(counter, total_steps, interval):
    """A started ``ProgressLog`` on a fake clock and model, its lines in a
    list: ``(log, clock, lines, accuracy)``."""
    clock, lines = _Clock(), []
    log = ProgressLog(
        counter,
        total_steps,
        interval,
        clock=clock,
        print_fn=lambda s, **_: lines.append(s),
    )
    model, accuracy = _model()
    log.set_model(model)
    log.on_train_begin()
    log.on_epoch_begin(0)
    return log, clock, lines, accuracy


def test_a_line_every_interval_with_rate_tokens_per_second_and_time_left():
    counter = StepCounter(initial_step=100)
    log, clock, lines, accuracy = _started_log(counter, 1100, 60)
    for second in range(1, 121):  # a step a second, 500 tokens a step
        clock.now = float(second)
        counter.on_train_batch_end(0)
        accuracy.count.assign_add(500.0)
        log.on_train_batch_end(0, {"loss": 3.5})
    assert len(lines) == 2
    assert lines[0] == (
        "step 160/1,100 (15%) - loss 3.5 - lr 5.00e-04 - 500 tokens/s - "
        "1m00s elapsed, 15m40s left"
    )
    assert lines[1].startswith("step 220/1,100 (20%)")
    assert "500 tokens/s - 2m00s elapsed, 14m40s left" in lines[1]


def test_tokens_of_an_epoch_are_kept_across_validation_and_the_reset():
    log, clock, lines, accuracy = _started_log(StepCounter(), 100, 10)
    clock.now = 5.0
    accuracy.count.assign_add(4000.0)
    log.on_test_begin()  # validation, then fit resets the metrics
    accuracy.count.assign(0.0)
    log.on_epoch_begin(1)
    clock.now = 10.0
    accuracy.count.assign_add(1000.0)
    log.on_train_batch_end(0, {})
    assert "500 tokens/s" in lines[0]  # 5,000 tokens in 10 s


def test_without_a_token_count_tokens_per_second_is_left_out():
    clock, lines = _Clock(), []
    log = ProgressLog(
        StepCounter(),
        10,
        1,
        clock=clock,
        print_fn=lambda s, **_: lines.append(s),
    )
    log.set_model(types.SimpleNamespace(metrics=[], optimizer=None))
    log.on_train_begin()
    clock.now = 2.0
    log.on_train_batch_end(0, {})
    assert "tokens/s" not in lines[0] and "lr" not in lines[0]


def test_compile_report_counts_the_steps_that_compiled():
    line = CompileReport.line([9.0, 0.1, 0.1, 8.0, 0.1, 0.1, 0.1])
    assert re.fullmatch(
        r"XLA: 2 of the first 7 steps compiled a new batch shape, 17 s in "
        r"all; a compiled step takes 0\.100 s\.",
        line,
    )


def test_progress_lines_only_off_a_terminal_and_compile_reports_under_xla():
    counter = StepCounter()
    kinds = lambda *a: [type(c).__name__ for c in progress_callbacks(*a)]  # noqa: E731
    assert kinds(1, counter, 10, 60.0, False) == []
    assert kinds(2, counter, 10, 60.0, False) == ["ProgressLog"]
    assert kinds(2, counter, 10, None, False) == []
    assert kinds(2, counter, 10, 60.0, True) == ["ProgressLog", "CompileReport"]
    assert kinds(0, counter, 10, 60.0, True) == []


def test_in_a_real_fit_the_line_reads_the_token_count_and_the_rate():
    import keras

    from keras_transformer.training.metrics import MaskedAccuracy
    from keras_transformer.training.schedule import TransformerSchedule

    model = keras.Sequential(
        [keras.Input((4,), dtype="int32"), keras.layers.Embedding(10, 10)]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(TransformerSchedule(16, 2)),
        loss="sparse_categorical_crossentropy",
        metrics=[MaskedAccuracy()],
    )
    labels = np.array([[1, 2, 0, 0]] * 8)  # 2 real tokens an example
    counter, lines, ticks = StepCounter(), [], iter(range(1000))
    log = ProgressLog(
        counter,
        4,
        0,
        clock=lambda: float(next(ticks)),  # a second a call: one a step
        print_fn=lambda s, **_: lines.append(s),
    )
    model.fit(
        labels,
        labels,
        batch_size=4,
        epochs=2,
        callbacks=[counter, log],
        validation_data=(labels, labels),
        verbose=0,
    )
    assert len(lines) == 4  # interval 0: every step
    assert lines[-1].startswith("step 4/4 (100%) - loss ")
    # 4 examples of 2 real tokens a step, a step a second, also across
    # the validation between the epochs.
    for line in lines:
        assert re.search(r"lr [\d.]+e-0\d - 8 tokens/s - ", line), line
