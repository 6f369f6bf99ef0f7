"""``train_and_evaluate``: the one training entry point, and ``evaluate``.

A run lives in a work directory (its layout is in ``keras_transformer.run``).
Training checkpoints every ``training.steps_per_epoch`` steps (one Keras
"epoch"); rerunning the same command after any stop (Ctrl-C, kill -9, a
full disk, an error in the final evaluation) resumes from the last complete
checkpoint, losing at most the steps since then. A finished run is not
trained again; rerunning it with more ``training.steps`` trains on. One
trainer at a time may use a run directory (``run.RunLock``).
"""

import math
import os
import shutil
import time

import keras
import tensorflow as tf

from keras_transformer import run
from keras_transformer.data import datasets, pipeline
from keras_transformer.data.tokenizer import ByteTokenizer, train_sentencepiece
from keras_transformer.errors import (
    DataError,
    RunError,
    TrainingDivergedError,
    TrainingInterrupted,
)
from keras_transformer.evaluation import translation_metrics
from keras_transformer.experiment import Experiment, save_experiment
from keras_transformer.inference.translator import Translator
from keras_transformer.models import (
    build_classifier,
    build_language_model,
    build_transformer,
)
from keras_transformer.run import load_run, read_experiment
from keras_transformer.training import distribute
from keras_transformer.training.callbacks import (
    HistoryLogger,
    StepCounter,
    StepLimit,
    StopOnNaN,
)
from keras_transformer.training.checkpoint import (
    Checkpointer,
    load_into,
    restore_latest,
)
from keras_transformer.training.losses import (
    MaskedSparseCategoricalCrossentropy,
)
from keras_transformer.training.metrics import MaskedAccuracy, Perplexity
from keras_transformer.training.schedule import TransformerSchedule

# ---------------------------------------------------------------- tokenizers


def _train_tokenizer(config, texts):
    if config.type == "byte":
        return ByteTokenizer()
    return train_sentencepiece(
        texts,
        vocab_size=config.vocab_size,
        model_type=config.model_type,
        character_coverage=config.character_coverage,
        split_digits=config.split_digits,
    )


def tokenizers_for(experiment, splits, workdir):
    """Loads the run's tokenizers, or trains and saves them.

    Returns:
        ``(source_tokenizer, target_tokenizer)``; the same object twice
        when the vocabulary is shared (and for one-sided tasks).
    """
    config = experiment.tokenizer
    names = run.tokenizer_names(experiment)
    paths = [run.path(workdir, name) for name in names]
    if all(os.path.exists(path) for path in paths):
        return run.load_tokenizers(workdir, experiment)
    texts = datasets.training_texts(splits, experiment.task)
    if experiment.task != "translation":
        texts = [texts]
    elif len(names) == 1:
        texts = [texts[0] + texts[1]]
    started = time.time()
    trained = [_train_tokenizer(config, side) for side in texts]
    if config.type != "byte":
        sizes = ", ".join(f"{t.vocab_size:,}" for t in trained)
        print(
            f"Tokenizer: SentencePiece {config.model_type}, {sizes} pieces, "
            f"trained in {time.time() - started:.1f} s."
        )
    for tokenizer, path in zip(trained, paths):
        with run.atomic_path(path) as temporary:
            tokenizer.save(temporary)
    return trained[0], trained[-1]


# ------------------------------------------------------------------ datasets


def encode_split(experiment, split_data, tokenizers, training):
    """One split as a ``tf.data`` dataset of encoded (unbatched) examples.

    Training examples longer than ``training.max_length`` are dropped (as
    the paper filters long sentences); evaluation examples are truncated.
    """
    source_tokenizer, target_tokenizer = tokenizers
    max_length = experiment.training.max_length
    if experiment.task == "language_modeling":
        ids = source_tokenizer.tokenize(
            tf.constant(split_data.splitlines(keepends=True) or [""])
        ).flat_values
        return pipeline.encode_language_model(ids, max_length)
    if experiment.task == "classification":
        return pipeline.encode_classification(
            split_data,
            source_tokenizer,
            max_length,
            add_bos=experiment.training.pooling == "first",
        )
    return pipeline.encode_translation(
        split_data,
        source_tokenizer,
        target_tokenizer,
        max_length,
        truncate=not training,
    )


def make_dataset(experiment, split_data, tokenizers, training, seed_offset=0):
    """The batched ``tf.data`` pipeline of one split.

    ``seed_offset`` changes the shuffle order (after a resume).
    """
    config = experiment.training
    seed = config.seed + seed_offset
    dataset = encode_split(experiment, split_data, tokenizers, training)
    if experiment.task == "language_modeling":
        if training:
            dataset = dataset.shuffle(10000, seed=seed).repeat()
        dataset = dataset.batch(config.batch_size, drop_remainder=training)
    else:
        if training:
            dataset = dataset.shuffle(20000, seed=seed).repeat()
        dataset = pipeline.batch_by_tokens(
            dataset,
            config.batch_tokens,
            config.max_length,
            drop_remainder=training,
            max_batch_size=config.batch_size
            if experiment.task == "classification"
            else None,
        )
    if not training:
        dataset = _with_known_length(dataset)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _with_known_length(dataset):
    """Counts the batches of a finite dataset, so progress bars know it."""
    count = int(dataset.reduce(0, lambda count, _: count + 1))
    return dataset.apply(tf.data.experimental.assert_cardinality(count))


def _is_empty(dataset):
    return next(iter(dataset.take(1)), None) is None


def check_splits(experiment, splits):
    """Refuses empty training, validation or evaluation splits.

    Raises:
        DataError: naming the split and the settings that choose it.
    """
    for split in dict.fromkeys(
        ("train", "validation", experiment.evaluation.split)
    ):
        data = splits[split]
        if not data.strip() if isinstance(data, str) else _is_empty(data):
            raise DataError(
                f"The {split} split is empty: check data.path, "
                "data.split_names and the split sizes or fractions."
            )


def check_data(experiment, splits, tokenizers):
    """Refuses data that would train or evaluate nothing, before step 1.

    After ``check_splits``, with the tokenizers: checks that the training
    split keeps at least one example after encoding and length filtering,
    and that the validation and evaluation splits yield examples.

    Raises:
        DataError: naming the split and the setting to change.
    """
    max_length = experiment.training.max_length
    train = splits["train"]
    if _is_empty(encode_split(experiment, train, tokenizers, training=True)):
        if experiment.task == "language_modeling":
            raise DataError(
                "The training text is shorter than one example of "
                f"training.max_length + 1 = {max_length + 1} tokens: use "
                "more text or a smaller training.max_length."
            )
        raise DataError(
            "No training example fits in training.max_length="
            f"{max_length} tokens (with BOS/EOS), so nothing would be "
            "trained: raise training.max_length."
        )
    for split in dict.fromkeys(("validation", experiment.evaluation.split)):
        data = _limit_split(splits[split], experiment)
        # (Only a text shorter than one window can encode to nothing.)
        if _is_empty(encode_split(experiment, data, tokenizers, False)):
            raise DataError(
                f"The {split} split yields no examples: a text must be "
                f"longer than training.max_length + 1 = {max_length + 1} "
                "tokens. Check data.path, data.split_names and the split "
                "fractions, or use a smaller training.max_length."
            )


# ------------------------------------------------------------------- models


def build_model(experiment, tokenizers, num_classes=None):
    """The model of the experiment's task, sized for its tokenizers."""
    source_tokenizer, target_tokenizer = tokenizers
    target_vocab = (
        target_tokenizer.vocab_size
        if target_tokenizer is not source_tokenizer
        else None
    )
    config = experiment.model_config(source_tokenizer.vocab_size, target_vocab)
    if experiment.task == "translation":
        return build_transformer(config)
    if experiment.task == "classification":
        return build_classifier(
            config, num_classes, pooling=experiment.training.pooling
        )
    return build_language_model(config)


def make_optimizer(experiment, d_model):
    """Adam(0.9, 0.98, 1e-9) with the paper's schedule, by default."""
    config = experiment.training
    if config.schedule == "transformer":
        learning_rate = TransformerSchedule(
            d_model, config.warmup_steps, config.lr_scale
        )
    else:
        learning_rate = config.learning_rate
    kwargs = dict(
        learning_rate=learning_rate,
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


def compile_model(model, experiment, jit_compile):
    """Compiles with the task's loss and metrics."""
    config = experiment.training
    d_model = experiment.model_config(8).d_model
    if experiment.task == "classification":
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    else:
        loss = MaskedSparseCategoricalCrossentropy(
            label_smoothing=config.label_smoothing
        )
        metrics = [MaskedAccuracy(), Perplexity()]
    model.compile(
        optimizer=make_optimizer(experiment, d_model),
        loss=loss,
        metrics=metrics,
        jit_compile=jit_compile,
    )


# ---------------------------------------------------------------- workdir

# Files derived from the task, data and tokenizer settings: a run that
# never trained a step starts over without them when those settings change.
_DERIVED = run.TOKENIZER_DIRS + (run.LABELS_FILE,)


def _derived_from(key):
    return key == "task" or key.startswith(("data.", "tokenizer."))


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
                f"{run.CONFIG_FILE}: it cannot be resumed safely. Use a new "
                "--workdir."
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
                target = run.path(workdir, name)
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


def load_data(experiment):
    """The experiment's splits, checked for emptiness, with a summary."""
    started = time.time()
    splits = datasets.load_splits(experiment.data, experiment.task)
    print(f"Data: {datasets.describe(splits)} ({time.time() - started:.1f} s).")
    check_splits(experiment, splits)
    return splits


def prepare(experiment, workdir, splits=None):
    """Loads data and tokenizers of a run (training them if needed)."""
    if splits is None:
        splits = load_data(experiment)
    tokenizers = tokenizers_for(experiment, splits, workdir)
    if splits.label_names:
        labels_path = run.path(workdir, run.LABELS_FILE)
        if not os.path.exists(labels_path):
            run.write_json(labels_path, splits.label_names)
    return splits, tokenizers


def _restore(model, workdir, state, steps_per_epoch):
    """Loads the newest usable training state into ``model``.

    Returns:
        ``(step, source)``: the step restored (0 for a fresh start) and a
        description of where it came from (None for a fresh start).
    """
    backup_dir = run.path(workdir, run.BACKUP_DIR)
    model_path = run.path(workdir, run.MODEL_FILE)
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
    final = run.Checkpoint(model_path, state.trained_steps)
    try:
        load_into(model, final)
    except RunError as err:
        raise RunError(
            f"{model_path} cannot be used ({err}) and no checkpoint is "
            f"left in {backup_dir}. Train again in a new --workdir."
        ) from None
    if final.step is None:  # stored before its step was recorded
        iterations = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        accumulation = model.optimizer.gradient_accumulation_steps or 1
        final.step = iterations * accumulation
    return final.step, run.MODEL_FILE


def _finished_metrics(experiment, state, workdir):
    """The stored metrics when the run is complete, else None.

    A complete run whose evaluation settings changed is evaluated again
    (None); other changes cannot apply to a complete run and are reported.
    """
    if not state.has_model or state.trained_steps != experiment.training.steps:
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
    model_path = run.path(workdir, run.MODEL_FILE)
    try:
        run.check_keras_file(model_path)
    except RunError as err:
        if state.checkpoints:
            print(f"WARNING: {err} Writing it again from the checkpoint.")
            return None
        raise RunError(
            f"{err} No checkpoint is left to write it again from: train "
            "again in a new --workdir."
        ) from None
    return state.metrics


def train_and_evaluate(experiment: Experiment, workdir, verbose=1):
    """Trains the experiment's model in ``workdir`` and evaluates it.

    Resumes from ``workdir`` when it holds an interrupted run of the same
    experiment; trains on when ``training.steps`` grew; returns the stored
    metrics when the run is complete. Everything is checked before the
    first step: the settings, that ``workdir`` is writable and not in use,
    that the data holds examples.

    Args:
        experiment: an ``Experiment`` (see ``load_experiment``).
        workdir: the run's directory (created if needed).
        verbose: Keras verbosity (1: progress bars).

    Returns:
        The evaluation metrics (also written to ``workdir/metrics.json``),
        with ``steps``, the number of training steps of the model.

    Raises:
        RunError: ``workdir`` is in use, damaged, or holds another run.
        DataError: the data would train or evaluate nothing.
        TrainingDivergedError: the loss became NaN (resumable).
        TrainingInterrupted: Ctrl-C or SIGTERM (resumable).
    """
    config = experiment.training
    strategy = distribute.get_strategy(config.strategy, config.tpu)
    workdir = distribute.worker_workdir(strategy, workdir)
    run.check_writable(workdir, "train")
    with run.RunLock(workdir) as lock:
        if lock.stale_holder:
            print(
                f"Took over the lock of PID {lock.stale_holder.get('pid')}, "
                "which is no longer running."
            )
        for directory in (workdir, run.path(workdir, run.BACKUP_DIR)):
            run.remove_stale_temporaries(directory)
        return _train_and_evaluate(experiment, workdir, strategy, verbose)


def _train_and_evaluate(experiment, workdir, strategy, verbose):
    config = experiment.training
    state = run.run_state(workdir)
    _check_resume(experiment, state, workdir)
    metrics = _finished_metrics(experiment, state, workdir)
    if metrics is not None:
        print(f"{workdir} holds a finished run; its metrics:")
        shutil.rmtree(run.path(workdir, run.BACKUP_DIR), ignore_errors=True)
        return metrics
    keras.utils.set_random_seed(config.seed)
    policy = distribute.resolve_mixed_precision(
        config.mixed_precision, strategy
    )
    jit_compile = distribute.resolve_jit_compile(config.jit_compile, strategy)
    distribute.set_precision(policy)

    started = time.time()
    splits = load_data(experiment)
    # From here on the run's files derive from this experiment.
    save_experiment(experiment, run.path(workdir, run.CONFIG_FILE))
    splits, tokenizers = prepare(experiment, workdir, splits)
    check_data(experiment, splits, tokenizers)
    backup_dir = run.path(workdir, run.BACKUP_DIR)
    num_classes = len(splits.label_names) if splits.label_names else None
    with strategy.scope():
        model = build_model(experiment, tokenizers, num_classes)
        compile_model(model, experiment, jit_compile)
    print(
        f"{experiment.task}: {model.count_params():,} parameters, "
        f"precision {policy}, XLA {'on' if jit_compile else 'off'}, "
        f"{strategy.num_replicas_in_sync} replica(s)."
    )
    with strategy.scope():
        start_step, source = _restore(
            model, workdir, state, config.steps_per_epoch
        )
    counter = StepCounter(start_step)
    if start_step < config.steps:
        _fit(
            experiment,
            model,
            splits,
            tokenizers,
            workdir,
            counter,
            source,
            verbose,
        )
    else:
        print(
            f"Training is complete ({start_step} steps, {source}); evaluating."
        )
    if source != run.MODEL_FILE or counter.step != start_step:
        with run.atomic_path(run.path(workdir, run.MODEL_FILE)) as temporary:
            model.save(temporary)
    train_seconds = time.time() - started
    try:
        metrics = evaluate_model(
            experiment,
            model,
            splits,
            tokenizers,
            experiment.evaluation.split,
            verbose=verbose,
        )
    except KeyboardInterrupt:
        raise TrainingInterrupted(
            f"Interrupted during the final evaluation. Training is complete "
            f"and saved ({counter.step} steps): rerun the same command to "
            "evaluate."
        ) from None
    metrics["steps"] = counter.step
    metrics["train_seconds"] = round(train_seconds, 1)
    run.write_json(run.path(workdir, run.METRICS_FILE), metrics)
    shutil.rmtree(backup_dir, ignore_errors=True)
    return metrics


def _fit(
    experiment, model, splits, tokenizers, workdir, counter, source, verbose
):
    """Runs ``fit`` from ``counter.step`` to ``training.steps``."""
    config = experiment.training
    start_step = counter.step
    epoch_length = config.steps_per_epoch
    initial_epoch = math.ceil(start_step / epoch_length)
    remaining = config.steps - start_step
    epochs = initial_epoch + math.ceil(remaining / epoch_length)
    if source:
        print(
            f"Resuming from {source} (step {start_step}); training to step "
            f"{config.steps}."
        )
    # A different shuffle order after a resume, reproducible from the seed.
    train_data = make_dataset(
        experiment,
        splits["train"],
        tokenizers,
        training=True,
        seed_offset=initial_epoch,
    )
    validation_data = make_dataset(
        experiment,
        _limit_split(splits["validation"], experiment),
        tokenizers,
        training=False,
    )
    checkpointer = Checkpointer(
        run.path(workdir, run.BACKUP_DIR),
        counter,
        saved_step=start_step if source else None,
    )
    callbacks = [
        counter,  # first: the others read its step
        StopOnNaN(checkpointer),
        StepLimit(counter, config.steps),
        HistoryLogger(
            run.path(workdir, run.HISTORY_FILE),
            counter,
            initial_step=start_step,
            steps_per_epoch=epoch_length,
        ),
        checkpointer,
        keras.callbacks.TensorBoard(run.path(workdir, run.LOG_DIR)),
    ]
    try:
        model.fit(
            train_data,
            initial_epoch=initial_epoch,
            epochs=epochs,
            steps_per_epoch=epoch_length,
            validation_data=validation_data,
            callbacks=callbacks,
            shuffle=False,  # the pipeline shuffles
            verbose=verbose,
        )
    except KeyboardInterrupt:
        # What is on disk, whatever the moment of the interruption.
        checkpoints = run.list_checkpoints(
            run.path(workdir, run.BACKUP_DIR), epoch_length
        )
        resume = (
            f"resume from step {checkpoints[0].step}"
            if checkpoints
            else "start again from step 0 (no checkpoint was written yet)"
        )
        raise TrainingInterrupted(
            f"Interrupted at step {counter.step}: rerun the same command to "
            f"{resume}."
        ) from None
    if counter.step < config.steps:
        raise DataError(
            f"Training stopped after {counter.step} of {config.steps} steps: "
            "the training data ran out. Check the training split and "
            "training.max_length."
        )


def _limit_split(split_data, experiment):
    limit = experiment.evaluation.max_examples
    if limit is None or isinstance(split_data, str):
        return split_data
    return split_data.take(limit)


def evaluate_model(
    experiment, model, splits, tokenizers, split, verbose=1, decoding=None
):
    """Loss and accuracy on ``split``, plus BLEU/exact match (translation).

    Returns:
        A dict of metrics.
    """
    data = _limit_split(splits[split], experiment)
    dataset = make_dataset(experiment, data, tokenizers, training=False)
    results = model.evaluate(dataset, return_dict=True, verbose=verbose)
    metrics = {"split": split}
    metrics.update({k: round(float(v), 4) for k, v in results.items()})
    if experiment.task != "translation":
        return metrics
    sources, references = [], []
    for source, target in data.as_numpy_iterator():
        sources.append(source.decode("utf-8"))
        references.append(target.decode("utf-8"))
    translator = translator_for(experiment, model, tokenizers, decoding)
    started = time.time()
    hypotheses = translator.translate(
        sources, batch_size=experiment.evaluation.batch_size
    )
    metrics.update(translation_metrics(hypotheses, references))
    metrics["decode"] = translator.decoding.describe()
    metrics["decode_seconds"] = round(time.time() - started, 1)
    metrics["examples"] = [
        {"source": s, "reference": r, "translation": h}
        for s, r, h in list(zip(sources, references, hypotheses))[
            : experiment.evaluation.show_examples
        ]
    ]
    return metrics


def translator_for(experiment, model, tokenizers, decoding=None):
    """A ``Translator`` with the experiment's lengths and decoding.

    Args:
        decoding: a ``DecodingConfig``; default: the experiment's
            ``evaluation`` settings.
    """
    model_config = experiment.model_config(8)
    max_target = (
        model_config.max_length if model_config.position == "learned" else None
    )
    return Translator(
        model,
        tokenizers[0],
        tokenizers[1],
        max_source_length=experiment.training.max_length,
        max_target_length=max_target,
        extra_length=experiment.evaluation.extra_decode_length,
        decoding=decoding or experiment.evaluation.decoding,
    )


def evaluate(workdir, split="test", verbose=1, decoding=None):
    """Recomputes ``metrics.json`` of a finished run on ``split``.

    Args:
        decoding: a ``DecodingConfig`` (default: the run's settings).

    Returns:
        The metrics dict.
    """
    experiment, model, tokenizers = run.load_run(workdir)
    run.check_writable(workdir, "write the evaluation")
    splits = datasets.load_splits(experiment.data, experiment.task)
    metrics = evaluate_model(
        experiment,
        model,
        splits,
        tokenizers,
        split,
        verbose=verbose,
        decoding=decoding,
    )
    previous = {}
    metrics_path = run.path(workdir, run.METRICS_FILE)
    if os.path.exists(metrics_path):
        previous = run.read_json(metrics_path)
    for key in ("train_seconds", "steps"):
        if key in previous:
            metrics[key] = previous[key]
    run.write_json(metrics_path, metrics)
    return metrics


__all__ = [
    "TrainingDivergedError",
    "evaluate",
    "evaluate_model",
    "load_run",
    "read_experiment",
    "train_and_evaluate",
    "translator_for",
]
