"""``training.time_budget``: durations, the plan, and runs that plan,
stop and resume."""

import json
import math
import os
import time

import pytest

from keras_transformer.errors import ConfigError, RunError, TrainingInterrupted
from keras_transformer.experiment import (
    BUDGET_COOLDOWN_SHARE,
    experiment_from_dict,
    parse_duration,
)
from keras_transformer.run import load_run
from keras_transformer.train import train_and_evaluate
from keras_transformer.training import time_budget
from tests.test_train import TINY


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("90s", 90),
        ("30m", 1800),
        ("1.5h", 5400),
        ("45", 45),
        (" 2M ", 120),
        (12, 12),
        (".5m", 30),
    ],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "0m", "-1s", "10d", "inf", "1e3"])
def test_bad_durations_are_refused_in_one_line(text):
    with pytest.raises(ValueError, match=r"90s, 30m, 1\.5h"):
        parse_duration(text)
    with pytest.raises(ConfigError, match="training.time_budget"):
        experiment_from_dict({"training": {"time_budget": text}})


def _most_steps(budget, spent, step, epoch_seconds, per_epoch, reserve):
    """The largest n whose steps and epoch ends fit: by counting."""
    left = budget * (1 - time_budget.MARGIN_SHARE) - spent - reserve
    n = 0
    while (n + 1) * step + math.ceil((n + 1) / per_epoch) * epoch_seconds <= (
        left
    ):
        n += 1
    return n


@pytest.mark.parametrize(
    "budget, spent, step, epoch_seconds, per_epoch, reserve",
    [
        (600, 20, 1.7, 4.2, 500, 10),
        (600, 20, 0.05, 3.0, 100, 0),
        (60, 9, 0.18, 1.3, 250, 7),
        (100, 10, 1.0, 0.0, 10, 0),
    ],
)
def test_the_plan_fits_the_steps_and_epoch_ends_in_the_budget(
    budget, spent, step, epoch_seconds, per_epoch, reserve
):
    planned = time_budget.plan_steps(
        budget, spent, step, epoch_seconds, per_epoch, done=7, reserve=reserve
    )
    assert planned == 7 + max(
        1, _most_steps(budget, spent, step, epoch_seconds, per_epoch, reserve)
    )


def test_a_budget_already_spent_plans_one_more_step():
    assert time_budget.plan_steps(10, 20, 1.0, 0.0, 10, done=5) == 6


def test_steady_step_time_leaves_out_the_steps_that_traced():
    durations = [5.0, 1.0, 1.2, 0.8, 1.0, 4.0, 1.0]  # median 1.0
    seconds, tracing = time_budget.steady_step_seconds(durations)
    assert seconds == pytest.approx(1.0)
    assert tracing == pytest.approx((5.0 - 1.0) + (4.0 - 1.0))


def test_elapsed_at_is_that_of_the_newest_record_at_or_before_a_step():
    plan = time_budget.Plan(60, 100, 0.1, 10, 1.0, {"10": 9.0, "50": 31.0})
    assert plan.elapsed_at(0) == 0.0
    assert plan.elapsed_at(10) == 9.0
    assert plan.elapsed_at(49) == 9.0
    assert plan.elapsed_at(50) == 31.0
    assert plan.final_step == 100
    plan.stopped_at = 80
    assert plan.final_step == 80


@pytest.mark.parametrize(
    "content", ['{"steps": "x"}', "[1, 2]", '{"budget_seconds": 1, "x": 2}']
)
def test_a_damaged_plan_is_named(tmp_path, content):
    (tmp_path / "plan.json").write_text(content)
    with pytest.raises(RunError, match="plan.json"):
        time_budget.read_plan(str(tmp_path))


def _experiment(budget, steps, **training):
    values = json.loads(json.dumps(TINY))
    values["training"].update(
        time_budget=budget,
        steps=steps,
        steps_per_epoch=20,
        warmup_steps=None,
        **training,
    )
    return experiment_from_dict(values)


def _plan(workdir):
    with open(os.path.join(workdir, "plan.json")) as handle:
        return json.load(handle)


def _schedule(workdir):
    model = load_run(workdir)[1]
    return model.optimizer._learning_rate.get_config()


@pytest.mark.slow
def test_a_budget_run_plans_its_schedule_and_stops_by_the_deadline(
    tmp_path, capsys
):
    workdir = str(tmp_path / "run")
    metrics = train_and_evaluate(
        _experiment("10s", 100_000), workdir, verbose=0
    )
    plan = _plan(workdir)
    assert "Time budget 10s: planned" in capsys.readouterr().out
    final = plan["stopped_at"] or plan["steps"]
    assert plan["probe_steps"] >= time_budget.PROBE_MIN_STEPS
    assert plan["steps"] > plan["probe_steps"]
    assert metrics["steps"] == final
    assert int(load_run(workdir)[1].optimizer.iterations.numpy()) == final
    # The schedule is that of the planned steps: warmup 10% of them,
    # cooldown 20% (the default with a budget), and the default cap.
    schedule = _schedule(workdir)
    assert schedule["total_steps"] == plan["steps"]
    assert schedule["warmup_steps"] == round(0.1 * plan["steps"])
    assert schedule["cooldown_steps"] == round(
        BUDGET_COOLDOWN_SHARE * plan["steps"]
    )
    assert schedule["max_rate"] == 1e-3
    # A finished budget run is not trained again.
    again = train_and_evaluate(_experiment("10s", 100_000), workdir, verbose=0)
    assert again["steps"] == final
    assert _plan(workdir) == plan


@pytest.mark.slow
def test_an_interrupted_budget_run_resumes_with_its_plan(
    tmp_path, capsys, monkeypatch
):
    """The plan (capped at 80 steps) survives the interruption; the rerun
    resumes from the checkpoint, keeps the schedule, and spends only the
    rest of the budget. The budget is ample, so that a loaded machine still
    plans the cap, and the probe is its 10 steps (not 3% of the budget,
    which would run all 80)."""
    monkeypatch.setattr(time_budget, "PROBE_SHARE", 0.0)
    workdir = str(tmp_path / "run")
    budget = 600
    experiment = _experiment(f"{budget}s", 80)
    record = time_budget.BudgetClock.on_epoch_end

    def interrupt_after_recording(self, epoch, logs=None):
        record(self, epoch, logs)
        raise KeyboardInterrupt

    monkeypatch.setattr(
        time_budget.BudgetClock, "on_epoch_end", interrupt_after_recording
    )
    with pytest.raises(TrainingInterrupted):
        train_and_evaluate(experiment, workdir, verbose=0)
    plan = _plan(workdir)
    assert plan["steps"] == 80  # capped by training.steps
    assert "capped by training.steps" in capsys.readouterr().out
    recorded = sorted(int(step) for step in plan["elapsed"])
    assert len(recorded) == 2 and recorded[0] == plan["probe_steps"]
    interrupted_at = recorded[1]
    assert interrupted_at < 80

    monkeypatch.setattr(time_budget.BudgetClock, "on_epoch_end", record)
    spent = []
    deadline = time_budget.Deadline.__init__

    def remember(self, at):
        spent.append(at)
        deadline(self, at)

    monkeypatch.setattr(time_budget.Deadline, "__init__", remember)
    before = time.monotonic()
    metrics = train_and_evaluate(experiment, workdir, verbose=0)
    after = time.monotonic()
    out = capsys.readouterr().out
    assert f"(step {interrupted_at}); training to step 80" in out
    assert "Time budget" not in out  # not planned again
    assert metrics["steps"] == 80
    assert _plan(workdir)["steps"] == 80
    assert _schedule(workdir)["total_steps"] == 80
    # The deadline is the rest of the budget after the resumed checkpoint.
    left = budget - plan["elapsed"][str(interrupted_at)]
    assert len(spent) == 1
    assert before + left <= spent[0] <= after + left
    assert int(load_run(workdir)[1].optimizer.iterations.numpy()) == 80


def test_the_time_budget_may_not_change_when_a_run_resumes():
    from keras_transformer.run import CHANGEABLE_ON_RESUME

    assert "training.time_budget" not in CHANGEABLE_ON_RESUME
