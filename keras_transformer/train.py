"""``train_and_evaluate``: the one training entry point, and ``evaluate``.

Training knows nothing of the application: the experiment's ``Task``
(``keras_transformer/tasks``) reads the data, makes the tokenizers, encodes
and batches, builds the model and gives the loss, the metrics and the
evaluation.

A run lives in a work directory (its files are described in
``keras_transformer.run_files``; ``keras_transformer.run`` loads a run).
Training checkpoints every ``training.steps_per_epoch`` steps (one Keras
"epoch"); rerunning the same command after any stop (Ctrl-C, kill -9, a
full disk, an error in the final evaluation) resumes from the last complete
checkpoint, losing at most the steps since then. A finished run is not
trained again; rerunning it with more ``training.steps`` trains on. One
trainer at a time may use a run directory (``run_files.RunLock``).

The model trains under the Keras backend of ``KERAS_BACKEND``: TensorFlow
(the default) or JAX (every device, XLA always on; ``distribute``). The data
pipeline, the checkpoints and the run directory are the same under both: a
run of either resumes and evaluates under either, and exports under
TensorFlow (``keras_transformer.backend``).
"""

import csv
import dataclasses
import io
import math
import os
import shutil
import time

import keras

from keras_transformer import run, run_files, terminal
from keras_transformer.errors import (
    DataError,
    RunError,
    TrainingDivergedError,
    TrainingInterrupted,
)
from keras_transformer.experiment import Experiment, save_experiment
from keras_transformer.run import load_run, read_experiment
from keras_transformer.tasks import get_task
from keras_transformer.training import averaging, distribute, time_budget
from keras_transformer.training.callbacks import (
    HistoryLogger,
    StepCounter,
    StepLimit,
    StopOnDivergence,
    divergence_limit,
)
from keras_transformer.training.checkpoint import (
    Checkpoint,
    Checkpointer,
    check_keras_file,
    list_checkpoints,
    load_into,
    optimizer_steps,
    restore_latest,
)
from keras_transformer.training.jax_devices import ReplicatedEvaluation
from keras_transformer.training.memory import check_fits
from keras_transformer.training.progress_log import progress_callbacks
from keras_transformer.training.schedule import (
    LinearSchedule,
    TransformerSchedule,
)


def make_schedule(training, d_model):
    """The learning rate of ``training`` (a ``TrainingConfig``): a
    schedule, or a number for the constant schedule."""
    if training.schedule == "transformer":
        return TransformerSchedule(
            d_model,
            training.warmup,
            training.lr_scale,
            total_steps=training.steps,
            cooldown_steps=training.cooldown,
            batches_per_update=training.gradient_accumulation_steps,
            max_rate=training.max_learning_rate,
        )
    if training.schedule == "linear":
        return LinearSchedule(
            training.learning_rate,
            training.warmup,
            training.steps,
            batches_per_update=training.gradient_accumulation_steps,
        )
    return training.learning_rate


def make_optimizer(experiment, d_model, steps=None):
    """Adam(0.9, 0.98, 1e-9) with the paper's schedule, by default.

    Args:
        steps: the steps the schedule plans for (default:
            ``training.steps``; a time budget's plan gives its own).
    """
    config = experiment.training
    if steps is not None:
        config = dataclasses.replace(config, steps=steps)
    kwargs = dict(
        learning_rate=make_schedule(config, d_model),
        beta_1=config.beta_1,
        beta_2=config.beta_2,
        epsilon=config.epsilon,
        global_clipnorm=config.clipnorm,
        gradient_accumulation_steps=(
            config.gradient_accumulation_steps
            if config.gradient_accumulation_steps > 1
            else None
        ),
    )
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(
            weight_decay=config.weight_decay, **kwargs
        )
    return keras.optimizers.Adam(**kwargs)


def compile_model(model, task, jit_compile, steps=None, build=True):
    """Compiles ``model`` with the task's loss and metrics and the
    experiment's optimizer (its schedule planned for ``steps``; with
    ``build``, its slots made now)."""
    experiment = task.experiment
    model.compile(
        optimizer=make_optimizer(
            experiment, task.model_config().d_model, steps=steps
        ),
        loss=task.loss(),
        metrics=task.metrics(),
        jit_compile=jit_compile,
    )
    # Outside a distribution strategy's scope Keras creates the optimizer's
    # slots during the first trace of the train step, and a tf.function
    # that created variables is traced a second time: building them here
    # halves the time ``fit`` takes to start.
    if build:
        model.optimizer.build(model.trainable_variables)


# ---------------------------------------------------------------- workdir

# Files derived from the task, data and tokenizer settings: a run that
# never trained a step starts over without them when those settings change.
_DERIVED = run_files.TOKENIZER_DIRS + (
    run_files.LABELS_FILE,
    run_files.PRETRAINED_FILE,
)


def _derived_from(key):
    return key in ("task", "model.init_from") or key.startswith(
        ("data.", "tokenizer.")
    )


def _check_resume(experiment, state, workdir):
    """Refuses to continue a run whose experiment differs in a way that
    would change its meaning; reports the settings that did change.

    Nothing in ``workdir`` is modified when a run is refused.
    """
    saved = state.experiment
    if saved is None:
        if state.started:
            raise RunError(
                f"{workdir} holds checkpoints or a model but no "
                f"{run_files.CONFIG_FILE}: it cannot be resumed safely. Use a "
                "new --workdir."
            )
        return
    allowed, forbidden = run.resume_differences(saved, experiment)
    if forbidden and not state.started:
        print(
            f"{workdir} holds a run that never trained a step, of another "
            f"experiment ({run.describe_differences(forbidden)}); starting "
            "it over."
        )
        if any(_derived_from(key) for key, _, _ in forbidden):
            for name in _DERIVED:
                target = run_files.path(workdir, name)
                if os.path.isdir(target):
                    shutil.rmtree(target)
                elif os.path.exists(target):
                    os.remove(target)
        return
    if forbidden:
        changeable = ", ".join(run.CHANGEABLE_ON_RESUME)
        raise RunError(
            f"{workdir} holds a run of a different experiment "
            f"({run.describe_differences(forbidden)}). Only these settings "
            f"may change when a run resumes: {changeable}. Use a new "
            f"--workdir, or delete {workdir} to start over."
        )
    newest = state.newest_step
    if newest is not None and experiment.training.steps < newest:
        raise RunError(
            f"{workdir} has already trained {newest} steps; "
            f"training.steps={experiment.training.steps} would throw some "
            f"away. Use training.steps >= {newest} (more steps train on), "
            "or a new --workdir."
        )
    if allowed and state.started and newest != experiment.training.steps:
        print(f"Changed settings: {run.describe_differences(allowed)}.")


def load_data(task):
    """The task's splits, checked for emptiness, with a summary line."""
    started = time.time()
    splits = task.load_splits()
    print(f"Data: {task.describe(splits)} ({time.time() - started:.1f} s).")
    task.check_splits(splits)
    return splits


def _restore(model, workdir, state, steps_per_epoch):
    """Loads the newest usable training state into ``model``.

    Returns:
        ``(step, source)``: the step restored (0 for a fresh start) and a
        description of where it came from (None for a fresh start).
    """
    backup_dir = run_files.path(workdir, run_files.BACKUP_DIR)
    model_path = run_files.path(workdir, run_files.MODEL_FILE)
    try:
        checkpoint = restore_latest(model, backup_dir, steps_per_epoch)
    except RunError:
        if not state.has_model:
            raise
        print(
            f"WARNING: no usable checkpoint in {backup_dir}; continuing "
            f"from {model_path} instead."
        )
        checkpoint = None
    if checkpoint is not None:
        return checkpoint.step, checkpoint.name
    if not state.has_model:
        return 0, None
    final = Checkpoint(model_path, state.trained_steps)
    try:
        load_into(model, final)
    except RunError as err:
        raise RunError(
            f"{model_path} cannot be used ({err}) and no checkpoint is "
            f"left in {backup_dir}. Train again in a new --workdir."
        ) from None
    if final.step is None:  # stored before its step was recorded
        final.step = optimizer_steps(model)
    return final.step, run_files.MODEL_FILE


def _finished_metrics(experiment, state, workdir, final_step):
    """The stored metrics when the run is complete (its model trained
    ``final_step`` steps), else None.

    A complete run whose evaluation settings changed is evaluated again
    (None); other changes cannot apply to a complete run and are reported.
    """
    if not state.has_model or state.trained_steps != final_step:
        return None
    allowed, _ = run.resume_differences(state.experiment, experiment)
    if any(key.startswith("evaluation.") for key, _, _ in allowed):
        print("The run is trained; evaluating it with the new settings.")
        return None
    if allowed:
        print(
            f"The run is complete, so these changes have no effect: "
            f"{run.describe_differences(allowed)}."
        )
    model_path = run_files.path(workdir, run_files.MODEL_FILE)
    try:
        check_keras_file(model_path)
    except RunError as err:
        if state.checkpoints:
            print(f"WARNING: {err} Writing it again from the checkpoint.")
            return None
        raise RunError(
            f"{err} No checkpoint is left to write it again from: train "
            "again in a new --workdir."
        ) from None
    return state.metrics


def train_and_evaluate(experiment: Experiment, workdir, verbose="auto"):
    """Trains the experiment's model in ``workdir`` and evaluates it.

    Resumes from ``workdir`` when it holds an interrupted run of the same
    experiment; trains on when ``training.steps`` grew; returns the stored
    metrics when the run is complete. Everything is checked before the
    first step: the settings, that ``workdir`` is writable and not in use,
    that the data holds examples.

    Args:
        experiment: an ``Experiment`` (see ``load_experiment``).
        workdir: the run's directory (created if needed).
        verbose: Keras verbosity: "auto" (progress bars on a terminal;
            elsewhere a line per epoch and every ``training.log_every``),
            0, 1 (progress bars) or 2 (lines).

    Returns:
        The evaluation metrics (also written to ``workdir/metrics.json``),
        with ``steps``, the number of training steps of the model.

    Raises:
        RunError: ``workdir`` is in use, damaged, or holds another run.
        DataError: the data would train or evaluate nothing.
        TrainingDivergedError: the loss became NaN, infinite or far above
            chance (resumable).
        TrainingInterrupted: Ctrl-C or SIGTERM (resumable).
    """
    config = experiment.training
    strategy = distribute.get_strategy(
        config.strategy, config.tpu, config.model_parallel
    )
    check_fits(experiment, distribute.accelerator_kind(strategy))
    workdir = distribute.worker_workdir(strategy, workdir)
    run_files.check_writable(workdir, "train")
    run_files.check_no_links(workdir)
    with run_files.RunLock(workdir) as lock:
        if lock.stale_holder:
            print(
                f"Took over the lock of PID {lock.stale_holder.get('pid')}, "
                "which is no longer running."
            )
        for name in ("", run_files.BACKUP_DIR, run_files.AVERAGE_DIR):
            run_files.remove_stale_temporaries(run_files.path(workdir, name))
        return _train_and_evaluate(
            experiment, workdir, strategy, terminal.verbosity(verbose)
        )


def _read_plan(config, state, workdir):
    """The time budget's plan of a run that has trained (None: no budget,
    or nothing trained yet: a new start plans again)."""
    if config.time_budget is None:
        return None
    if not state.started:
        target = run_files.path(workdir, run_files.PLAN_FILE)
        if os.path.exists(target):
            os.remove(target)
        return None
    return time_budget.read_plan(workdir)


def _describe_schedule(training):
    if training.schedule != "transformer":
        return f"learning rate {training.learning_rate}"
    warmup = f"warmup {training.warmup} steps" + (
        " (10% of the steps)" if training.warmup_steps is None else ""
    )
    cooldown = (
        f", cooldown {training.cooldown} steps" if training.cooldown else ""
    )
    cap = (
        f", at most {training.max_learning_rate:g}"
        if training.max_learning_rate
        else ""
    )
    return warmup + cooldown + cap


def _train_and_evaluate(experiment, workdir, strategy, verbose):
    config = experiment.training
    state = run.run_state(workdir)
    _check_resume(experiment, state, workdir)
    plan = _read_plan(config, state, workdir)
    final_step = plan.final_step if plan else config.steps
    metrics = _finished_metrics(experiment, state, workdir, final_step)
    if metrics is not None:
        print(f"{workdir} holds a finished run; its metrics:")
        _remove_backups(workdir)
        return metrics
    started = time.time()
    task, splits, model = _set_up(experiment, workdir, strategy, plan)
    with strategy.scope():
        start_step, source = _restore(
            model, workdir, state, config.steps_per_epoch
        )
        if source is None:
            task.start.initialize(model)
    counter = StepCounter(start_step, config.gradient_accumulation_steps)
    if start_step < final_step:
        _set_aside_evaluations(workdir, state)
        with distribute.training_scope(strategy):
            if config.time_budget:
                _fit_within_budget(
                    task, model, splits, workdir, counter, source, verbose, plan
                )
            else:
                _fit(task, model, splits, workdir, counter, source, verbose)
                _check_reached(counter, config.steps)
        _check_trained(model, counter)
    else:
        print(
            f"Training is complete ({start_step} steps, {source}); evaluating."
        )
    averaged = None
    if source != run_files.MODEL_FILE or counter.step != start_step:
        averaged = _save_final(model, workdir, config)
    train_seconds = time.time() - started
    metrics = _evaluate_trained(task, model, splits, workdir, counter, verbose)
    metrics["train_seconds"] = round(train_seconds, 1)
    if averaged:
        metrics["averaged"] = averaged["steps"]
    run_files.write_json(
        run_files.path(workdir, run_files.METRICS_FILE), metrics
    )
    _remove_backups(workdir)
    return metrics


def _set_up(experiment, workdir, strategy, plan):
    """The run's task (its assets prepared), data and compiled model, with
    the seed, precision and XLA settings in effect; saves the experiment
    in the run directory.

    Returns:
        ``(task, splits, model)``.
    """
    config = experiment.training
    keras.utils.set_random_seed(config.seed)
    policy = distribute.resolve_mixed_precision(
        config.mixed_precision, strategy
    )
    jit_compile = distribute.resolve_jit_compile(config.jit_compile, strategy)
    distribute.set_precision(policy)
    task = get_task(experiment)
    task.max_shapes = config.max_batch_shapes if jit_compile else None
    task.batch_multiple = distribute.batch_multiple(strategy)
    splits = load_data(task)
    # From here on the run's files derive from this experiment.
    save_experiment(experiment, run_files.path(workdir, run_files.CONFIG_FILE))
    task.prepare(workdir, splits)
    task.check_data(splits)
    built = time.time()
    planned = dataclasses.replace(config, steps=plan.steps) if plan else config
    with strategy.scope():
        model = task.build_model()
        task.start.enable_lora(model)
        compile_model(model, task, jit_compile, steps=planned.steps)
    print(
        f"{experiment.task}: {model.count_params():,} parameters "
        f"(built in {time.time() - built:.1f} s), "
        f"{_describe_schedule(planned)}"
        + (" until the plan" if config.time_budget and not plan else "")
        + f", precision {policy}, XLA {'on' if jit_compile else 'off'}, "
        f"{distribute.describe(strategy)}."
    )
    return task, splits, model


def _evaluate_trained(task, model, splits, workdir, counter, verbose):
    """The final evaluation; an interruption says that training is saved."""
    try:
        return _evaluate_final(
            task, model, splits, workdir, counter.step, verbose
        )
    except KeyboardInterrupt:
        raise TrainingInterrupted(
            f"Interrupted during the final evaluation. Training is complete "
            f"and saved ({counter.step} steps): rerun the same command to "
            "evaluate."
        ) from None


def _remove_backups(workdir):
    """Deletes the run's backups (resume checkpoints) once it is done."""
    shutil.rmtree(
        run_files.path(workdir, run_files.BACKUP_DIR), ignore_errors=True
    )


def _save_final(model, workdir, config):
    """Writes ``model.keras``: with ``average_last``, the average of the
    snapshots, the final weights kept as ``model.unaveraged.keras``.

    Returns:
        What was averaged (``averaging.average_into``), or None.
    """
    if not config.average_last:
        with run_files.atomic_path(
            run_files.path(workdir, run_files.MODEL_FILE)
        ) as temporary:
            model.save(temporary)
        return None
    with run_files.atomic_path(
        run_files.path(workdir, run_files.UNAVERAGED_FILE)
    ) as temporary:
        model.save(temporary)
    kept = len(
        averaging.list_snapshots(run_files.path(workdir, run_files.AVERAGE_DIR))
    )
    record = averaging.average_into(
        model, workdir, min(config.average_last, kept)
    )
    with run_files.atomic_path(
        run_files.path(workdir, run_files.MODEL_FILE)
    ) as temporary:
        model.save(temporary)
    return record


def _fit_within_budget(
    task, model, splits, workdir, counter, source, verbose, plan
):
    """Trains within ``training.time_budget``: probes and plans the steps
    first (unless ``plan`` exists), then trains to the plan or the
    deadline, whichever comes first."""
    config = task.experiment.training
    if plan is None:
        plan = _probe_and_plan(task, model, splits, workdir, counter, verbose)
        source = "the probe"
    spent = plan.elapsed_at(counter.step)
    left = plan.budget_seconds - spent
    if left > 0 and counter.step < plan.steps:
        deadline = time_budget.Deadline(time.monotonic() + left)
        clock = time_budget.BudgetClock(workdir, plan, counter, spent)
        _fit(
            task,
            model,
            splits,
            workdir,
            counter,
            source,
            verbose,
            target=plan.steps,
            extra_callbacks=[deadline, clock],
        )
    else:
        deadline = None
    if counter.step < plan.steps:
        if deadline is not None and not deadline.reached:
            _check_reached(counter, plan.steps)
        plan.stopped_at = counter.step
        time_budget.write_plan(workdir, plan)
        print(
            f"The time budget ({config.time_budget}) ended training at step "
            f"{counter.step} of the {plan.steps} planned."
        )


def _probe_and_plan(task, model, splits, workdir, counter, verbose):
    """Trains the probe, measures it, plans the steps and rebuilds the
    schedule for them (the training step is traced again)."""
    config = task.experiment.training
    budget = config.budget_seconds
    timer = time_budget.StepTimer()
    probe = time_budget.ProbeLimit(
        counter, counter.step, time_budget.PROBE_SHARE * budget
    )
    started = time.monotonic()
    _fit(
        task,
        model,
        splits,
        workdir,
        counter,
        None,
        verbose,
        target=config.steps,
        extra_callbacks=[probe, timer],
        snapshots=False,
    )
    spent = time.monotonic() - started
    batch_seconds, tracing = time_budget.steady_step_seconds(timer.durations)
    step_seconds = batch_seconds * config.gradient_accumulation_steps
    steps = time_budget.plan_steps(
        budget,
        spent,
        step_seconds,
        timer.epoch_seconds,
        config.steps_per_epoch,
        counter.step,
        reserve=time_budget.TRACE_RESERVE * tracing,
    )
    plan = time_budget.Plan(
        budget_seconds=budget,
        steps=min(steps, config.steps),
        step_seconds=round(step_seconds, 4),
        probe_steps=counter.step,
        epoch_seconds=round(timer.epoch_seconds, 2),
        elapsed={str(counter.step): round(spent, 2)},
    )
    time_budget.write_plan(workdir, plan)
    planned = dataclasses.replace(config, steps=plan.steps)
    print(
        time_budget.describe(plan, config)
        + (" capped by training.steps" if steps > config.steps else "")
        + f"; {_describe_schedule(planned)}."
    )
    model.optimizer.learning_rate = make_schedule(
        planned, task.model_config().d_model
    )
    model.make_train_function(force=True)
    return plan


def _set_aside_evaluations(workdir, state, name=None):
    """Moves the ``eval/`` results of a finished model that training is
    about to replace into ``eval/step-<N>/`` (or ``eval/<name>/``): kept,
    but no longer beside the results of the new model."""
    eval_dir = run_files.path(workdir, run_files.EVAL_DIR)
    if not state.has_model or not os.path.isdir(eval_dir):
        return
    names = sorted(
        name
        for name in os.listdir(eval_dir)
        if os.path.isfile(os.path.join(eval_dir, name))
    )
    if not names:
        return
    steps = state.trained_steps
    if name is None:
        name = "earlier-model" if steps is None else f"step-{steps}"
    aside = os.path.join(eval_dir, name)
    os.makedirs(aside, exist_ok=True)
    for name in names:
        os.replace(os.path.join(eval_dir, name), os.path.join(aside, name))
    print(
        f"Moved {len(names)} result(s) of the earlier model to {aside}: "
        "training now replaces that model."
    )


def _check_trained(model, counter):
    """Refuses to report a model whose optimizer did not make the steps
    that training counted (nothing would have been learned)."""
    updates = optimizer_steps(model)
    if updates != counter.step:
        raise RunError(
            f"Training counted {counter.step} steps, but the optimizer made "
            f"{updates} updates: the model was not trained as configured. "
            "Please report this with the run's config.yaml."
        )


def _check_reached(counter, target):
    if counter.step < target:
        raise DataError(
            f"Training stopped after {counter.step} of {target} steps: "
            "the training data ran out. Check the training split and "
            "training.max_length."
        )


def _fit(
    task,
    model,
    splits,
    workdir,
    counter,
    source,
    verbose,
    target=None,
    extra_callbacks=(),
    snapshots=True,
):
    """Runs ``fit`` from ``counter.step`` to ``target`` (default:
    ``training.steps``); ``extra_callbacks`` run last. ``snapshots``:
    save the averaging snapshots of ``training.average_last``."""
    config = task.experiment.training
    target = config.steps if target is None else target
    start_step = counter.step
    epoch_length = config.steps_per_epoch
    initial_epoch = math.ceil(start_step / epoch_length)
    remaining = target - start_step
    epochs = initial_epoch + math.ceil(remaining / epoch_length)
    if source:
        print(
            f"Resuming from {source} (step {start_step}); training to step "
            f"{target}."
        )
    # A different shuffle order after a resume, reproducible from the seed.
    train_data = task.make_dataset(
        splits["train"], training=True, seed_offset=initial_epoch
    )
    validation_data = task.make_dataset(
        task.limit_split(splits["validation"]), training=False
    )
    checkpointer = Checkpointer(
        run_files.path(workdir, run_files.BACKUP_DIR),
        counter,
        saved_step=start_step if source else None,
    )
    callbacks = _callbacks(
        task, model, workdir, counter, checkpointer, target, verbose
    )
    if config.average_last and snapshots:
        callbacks.append(
            averaging.Snapshotter(
                run_files.path(workdir, run_files.AVERAGE_DIR),
                counter,
                dataclasses.replace(config, steps=target).snapshot_interval,
                config.average_last,
            )
        )
    callbacks.extend(extra_callbacks)
    if keras.distribution.distribution() is not None:  # JAX, several devices
        callbacks.append(ReplicatedEvaluation())
    try:
        model.fit(
            train_data,
            initial_epoch=initial_epoch,
            epochs=epochs,
            # An epoch of steps: with gradient accumulation, several
            # batches a step.
            steps_per_epoch=epoch_length * config.gradient_accumulation_steps,
            validation_data=validation_data,
            callbacks=callbacks,
            shuffle=False,  # the pipeline shuffles
            verbose=verbose,
        )
    except KeyboardInterrupt:
        raise _interrupted(workdir, counter, epoch_length) from None


def _callbacks(task, model, workdir, counter, checkpointer, target, verbose):
    """The callbacks of every ``fit``: the step counter first (the others
    read its step), divergence, the step limit, the history, checkpoints,
    TensorBoard and progress."""
    config = task.experiment.training
    return [
        counter,
        StopOnDivergence(checkpointer, divergence_limit(task.output_classes())),
        StepLimit(counter, target),
        HistoryLogger(
            run_files.path(workdir, run_files.HISTORY_FILE),
            counter,
            initial_step=counter.step,
            steps_per_epoch=config.steps_per_epoch,
        ),
        checkpointer,
        keras.callbacks.TensorBoard(run_files.path(workdir, run_files.LOG_DIR)),
        *progress_callbacks(
            verbose, counter, target, config.log_seconds, model.jit_compile
        ),
    ]


def _interrupted(workdir, counter, epoch_length):
    """The ``TrainingInterrupted`` of a stop during ``fit``: what is on
    disk, whatever the moment of the interruption."""
    checkpoints = list_checkpoints(
        run_files.path(workdir, run_files.BACKUP_DIR), epoch_length
    )
    resume = (
        f"resume from step {checkpoints[0].step}"
        if checkpoints
        else "start again from step 0 (no checkpoint was written yet)"
    )
    return TrainingInterrupted(
        f"Interrupted at step {counter.step}: rerun the same command to "
        f"{resume}."
    )


def average_run(workdir, last, verbose="auto"):
    """Makes ``model.keras`` the average of the run's newest ``last``
    snapshots, then evaluates it as training does (``metrics.json``).

    The un-averaged final model stays in ``model.unaveraged.keras``;
    ``last=1`` restores it when the last snapshot is of the final step.
    Earlier results in ``eval/`` move to ``eval/<what it was>/``.

    Returns:
        The metrics, with ``averaged``: the steps of the snapshots used.
    """
    verbose = terminal.verbosity(verbose)
    run_files.check_writable(workdir, "average")
    run_files.check_no_links(workdir)
    with run_files.RunLock(workdir):
        state = run.run_state(workdir)
        task, model = run.load_finished(workdir)
        unaveraged = run_files.path(workdir, run_files.UNAVERAGED_FILE)
        previous = run_files.path(workdir, run_files.AVERAGE_FILE)
        was = (
            f"average-last{run_files.read_json(previous).get('last')}"
            if os.path.exists(previous) and os.path.exists(unaveraged)
            else "unaveraged"
        )
        record = averaging.average_into(model, workdir, last)
        if not os.path.exists(unaveraged):
            shutil.copyfile(
                run_files.path(workdir, run_files.MODEL_FILE), unaveraged
            )
        with run_files.atomic_path(
            run_files.path(workdir, run_files.MODEL_FILE)
        ) as temporary:
            model.save(temporary)
        _set_aside_evaluations(workdir, state, name=was)
        splits = task.load_splits()
        metrics = _evaluate_final(
            task, model, splits, workdir, state.trained_steps, verbose
        )
        metrics["averaged"] = record["steps"]
        run_files.write_json(
            run_files.path(workdir, run_files.METRICS_FILE), metrics
        )
    return metrics


def _write_rows(path, rows):
    """``rows`` (dicts) as a TSV file with a header, atomically."""
    if not rows:
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, list(rows[0]), delimiter="\t", lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    run_files.write_text(path, buffer.getvalue())


def evaluate(
    workdir, split="test", verbose="auto", decoding=None, output_dir=None
):
    """Evaluates a finished run on ``split``; keeps every result.

    Writes ``eval/<split>-<decoding>.json`` (the metrics, with ``steps``:
    the training steps of the model measured) and, for tasks with
    per-example outputs, ``eval/<split>-<decoding>.tsv`` (every input,
    reference and output); ``<decoding>`` (e.g. ``beam4-alpha0.6``) is
    left out for tasks that do not decode. ``metrics.json`` stays the
    training run's own final evaluation, and results of other splits or
    decoding settings are kept. When training later goes on, these
    results move to ``eval/step-<N>/``.

    Args:
        workdir: the run directory.
        split: "train", "validation" or "test".
        decoding: a ``DecodingConfig`` (default: the run's settings).
        output_dir: where the results go instead of ``workdir/eval`` (for
            a read-only run directory, say).

    Returns:
        The metrics dict, with ``outputs``: the paths written.
    """
    verbose = terminal.verbosity(verbose)
    # Compiled anew: the stored optimizer is not needed (an imported run
    # has none), and the stored XLA setting is that of the backend and
    # device that trained.
    task, model = run.load_finished(workdir, compile=False)
    jit_compile = distribute.resolve_jit_compile(
        task.experiment.training.jit_compile
    )
    compile_model(model, task, jit_compile, build=False)
    if output_dir is None:
        run_files.check_no_links(workdir, (run_files.EVAL_DIR,))
        output_dir = run_files.path(workdir, run_files.EVAL_DIR)
    run_files.check_writable(
        output_dir,
        "write the evaluation",
        fix="Pass --output-dir DIR (a writable directory) to write the "
        "results there, or free space.",
    )
    steps = run.run_state(workdir).trained_steps
    splits = task.load_splits()
    decoding = task.decoding(decoding)
    metrics, rows = task.evaluate(
        model, splits, split, decoding=decoding, verbose=verbose
    )
    metrics["steps"] = steps
    return _write_evaluation(output_dir, task, split, decoding, metrics, rows)


def _write_evaluation(output_dir, task, split, decoding, metrics, rows):
    """Writes ``<output_dir>/<split>-<decoding>.json`` (``metrics``) and
    ``.tsv`` (``rows``, one per example, when the task has them).

    Returns:
        ``metrics``, with ``outputs``: the paths written.
    """
    decoding = task.decoding(decoding)
    name = f"{split}-{decoding.slug()}" if task.decodes else split
    os.makedirs(output_dir, exist_ok=True)
    stem = os.path.join(output_dir, name)
    outputs = [stem + ".json"] + ([stem + ".tsv"] if rows else [])
    _write_rows(stem + ".tsv", rows)
    metrics = dict(metrics, outputs=outputs)
    run_files.write_json(stem + ".json", metrics)
    return metrics


def _evaluate_final(task, model, splits, workdir, steps, verbose):
    """The final evaluation of ``train`` and ``average`` (of a model
    trained ``steps`` steps): its metrics, with every output kept in
    ``eval/`` as ``evaluate`` keeps them."""
    split = task.experiment.evaluation.split
    metrics, rows = task.evaluate(model, splits, split, verbose=verbose)
    metrics["steps"] = steps
    return _write_evaluation(
        run_files.path(workdir, run_files.EVAL_DIR),
        task,
        split,
        None,
        metrics,
        rows,
    )


__all__ = [
    "TrainingDivergedError",
    "average_run",
    "compile_model",
    "evaluate",
    "load_run",
    "make_optimizer",
    "read_experiment",
    "train_and_evaluate",
]
