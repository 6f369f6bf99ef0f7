"""``train_and_evaluate``: the one training entry point, and ``evaluate``.

A run lives in a work directory::

    workdir/
      config.yaml        the resolved experiment
      tokenizer/         (or tokenizer_source/ and tokenizer_target/)
      labels.json        class names (classification)
      backup/            the last checkpoint (weights, optimizer, epoch)
      logs/              TensorBoard logs
      history.csv        loss and metrics per epoch (appended on resume)
      model.keras        the final model
      metrics.json       evaluation of the final model

Training checkpoints every ``training.steps_per_epoch`` steps (one Keras
"epoch"); rerunning the same command after an interruption resumes from the
last checkpoint, losing at most the steps since then.
"""

import json
import math
import os
import time

import keras
import tensorflow as tf

from keras_transformer.data import datasets, pipeline
from keras_transformer.data.tokenizer import (
    ByteTokenizer,
    Tokenizer,
    train_sentencepiece,
)
from keras_transformer.evaluation import translation_metrics
from keras_transformer.experiment import (
    ConfigError,
    Experiment,
    experiment_from_dict,
    save_experiment,
)
from keras_transformer.inference.translator import Translator
from keras_transformer.models import (
    build_classifier,
    build_language_model,
    build_transformer,
)
from keras_transformer.training import distribute
from keras_transformer.training.losses import (
    MaskedSparseCategoricalCrossentropy,
)
from keras_transformer.training.metrics import MaskedAccuracy, Perplexity
from keras_transformer.training.schedule import TransformerSchedule

CONFIG_FILE = "config.yaml"
MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
LABELS_FILE = "labels.json"
HISTORY_FILE = "history.csv"
BACKUP_DIR = "backup"


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite."""


class StopOnNaN(keras.callbacks.Callback):
    """Stops training with a clear error when the loss is not finite."""

    def __init__(self, backup_dir):
        super().__init__()
        self.backup_dir = backup_dir

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            step = int(self.model.optimizer.iterations.numpy())
            raise TrainingDivergedError(
                f"The training loss became {float(loss)} at step {step}. The "
                f"last good checkpoint is kept in {self.backup_dir}. Lower "
                "training.lr_scale (or learning_rate), set training.clipnorm "
                "(e.g. 1.0), or use training.mixed_precision: float32, then "
                "rerun the same command to resume from that checkpoint."
            )


def _path(workdir, name):
    return os.path.join(workdir, name)


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
    separate = experiment.task == "translation" and not config.shared
    names = (
        ["tokenizer_source", "tokenizer_target"] if separate else ["tokenizer"]
    )
    paths = [_path(workdir, name) for name in names]
    if all(os.path.exists(path) for path in paths):
        loaded = [Tokenizer.load(path) for path in paths]
        return loaded[0], loaded[-1]
    texts = datasets.training_texts(splits, experiment.task)
    if experiment.task != "translation":
        trained = [_train_tokenizer(config, texts)]
    elif separate:
        trained = [_train_tokenizer(config, side) for side in texts]
    else:
        trained = [_train_tokenizer(config, texts[0] + texts[1])]
    for tokenizer, path in zip(trained, paths):
        tokenizer.save(path)
    return trained[0], trained[-1]


# ------------------------------------------------------------------ datasets


def make_dataset(experiment, split_data, tokenizers, training, seed_offset=0):
    """The batched ``tf.data`` pipeline of one split.

    ``seed_offset`` changes the shuffle order (after a resume).
    """
    config = experiment.training
    seed = config.seed + seed_offset
    source_tokenizer, target_tokenizer = tokenizers
    max_length = config.max_length
    if experiment.task == "language_modeling":
        text = split_data
        ids = source_tokenizer.tokenize(
            tf.constant(text.splitlines(keepends=True) or [""], tf.string)
        ).flat_values
        dataset = pipeline.encode_language_model(ids, max_length)
        if training:
            dataset = dataset.shuffle(10000, seed=seed).repeat()
        dataset = dataset.batch(config.batch_size, drop_remainder=training)
        if not training:
            dataset = _with_known_length(dataset)
        return dataset.prefetch(tf.data.AUTOTUNE)
    if experiment.task == "classification":
        dataset = pipeline.encode_classification(
            split_data,
            source_tokenizer,
            max_length,
            add_bos=config.pooling == "first",
        )
    else:
        dataset = pipeline.encode_translation(
            split_data,
            source_tokenizer,
            target_tokenizer,
            max_length,
            truncate=not training,
        )
    if training:
        dataset = dataset.shuffle(20000, seed=seed).repeat()
    dataset = pipeline.batch_by_tokens(
        dataset,
        config.batch_tokens,
        max_length,
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


def _check_workdir(experiment, workdir):
    """Refuses to resume a work directory of a different experiment."""
    path = _path(workdir, CONFIG_FILE)
    if not os.path.exists(path):
        return
    import yaml

    with open(path, encoding="utf-8") as handle:
        saved = yaml.safe_load(handle)
    current = experiment.to_dict()
    # Training longer (or evaluating differently) may resume the same run.
    for section, key in (("training", "steps"),):
        saved.get(section, {}).pop(key, None)
        current.get(section, {}).pop(key, None)
    saved.pop("evaluation", None)
    current.pop("evaluation", None)
    if saved != current:
        raise ConfigError(
            f"{workdir} holds a run of a different experiment (see its "
            f"{CONFIG_FILE}). Use a new --workdir, or delete this one to "
            "start over."
        )


def _resumed_epoch(workdir):
    path = _path(_path(workdir, BACKUP_DIR), "training_metadata.json")
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as handle:
        return int(json.load(handle).get("epoch", 0))


def prepare(experiment, workdir):
    """Loads data and tokenizers of a run (training them if needed)."""
    splits = datasets.load_splits(experiment.data, experiment.task)
    tokenizers = tokenizers_for(experiment, splits, workdir)
    if experiment.task == "classification":
        labels_path = _path(workdir, LABELS_FILE)
        if not os.path.exists(labels_path):
            with open(labels_path, "w", encoding="utf-8") as handle:
                json.dump(splits.label_names, handle)
    return splits, tokenizers


def train_and_evaluate(experiment: Experiment, workdir, verbose=1):
    """Trains the experiment's model in ``workdir`` and evaluates it.

    Resumes from ``workdir`` when it holds an interrupted run of the same
    experiment; returns the stored metrics when the run is complete.

    Args:
        experiment: an ``Experiment`` (see ``load_experiment``).
        workdir: the run's directory (created if needed).
        verbose: Keras verbosity (1: progress bars).

    Returns:
        The evaluation metrics (also written to ``workdir/metrics.json``).
    """
    config = experiment.training
    strategy = distribute.get_strategy(config.strategy, config.tpu)
    workdir = distribute.worker_workdir(strategy, workdir)
    os.makedirs(workdir, exist_ok=True)
    _check_workdir(experiment, workdir)
    save_experiment(experiment, _path(workdir, CONFIG_FILE))
    keras.utils.set_random_seed(config.seed)
    policy = distribute.resolve_mixed_precision(
        config.mixed_precision, strategy
    )
    jit_compile = distribute.resolve_jit_compile(config.jit_compile, strategy)
    distribute.set_precision(policy)

    started = time.time()
    splits, tokenizers = prepare(experiment, workdir)
    model_path = _path(workdir, MODEL_FILE)
    metrics_path = _path(workdir, METRICS_FILE)
    if os.path.exists(model_path) and os.path.exists(metrics_path):
        print(f"{workdir} holds a finished run; its metrics:")
        with open(metrics_path, encoding="utf-8") as handle:
            return json.load(handle)

    epochs = math.ceil(config.steps / config.steps_per_epoch)
    initial_epoch = _resumed_epoch(workdir)
    if initial_epoch:
        print(
            f"Resuming from the checkpoint after epoch {initial_epoch} "
            f"(step {initial_epoch * config.steps_per_epoch})."
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
    num_classes = len(splits.label_names) if splits.label_names else None
    with strategy.scope():
        model = build_model(experiment, tokenizers, num_classes)
        compile_model(model, experiment, jit_compile)
    print(
        f"{experiment.task}: {model.count_params():,} parameters, "
        f"precision {policy}, XLA {'on' if jit_compile else 'off'}, "
        f"{strategy.num_replicas_in_sync} replica(s)."
    )
    backup_dir = _path(workdir, BACKUP_DIR)
    callbacks = [
        keras.callbacks.BackupAndRestore(
            backup_dir, save_freq="epoch", double_checkpoint=True
        ),
        StopOnNaN(backup_dir),
        keras.callbacks.TensorBoard(_path(workdir, "logs")),
        keras.callbacks.CSVLogger(_path(workdir, HISTORY_FILE), append=True),
    ]
    model.fit(
        train_data,
        epochs=epochs,
        steps_per_epoch=config.steps_per_epoch,
        validation_data=validation_data,
        callbacks=callbacks,
        shuffle=False,  # the pipeline shuffles
        verbose=verbose,
    )
    model.save(model_path)
    train_seconds = time.time() - started
    metrics = evaluate_model(
        experiment,
        model,
        splits,
        tokenizers,
        experiment.evaluation.split,
        verbose=verbose,
    )
    metrics["train_seconds"] = round(train_seconds, 1)
    with open(metrics_path, "w", encoding="utf-8") as handle:
        json.dump(metrics, handle, indent=2)
    return metrics


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
        decoding=decoding or experiment.evaluation.decoding(),
    )


def read_experiment(workdir):
    """The ``Experiment`` stored in a run directory."""
    import yaml

    config_path = _path(workdir, CONFIG_FILE)
    if not os.path.exists(config_path):
        raise FileNotFoundError(
            f"{config_path} does not exist: {workdir} holds no run. Train "
            f"first: keras-transformer train CONFIG --workdir {workdir}"
        )
    with open(config_path, encoding="utf-8") as handle:
        return experiment_from_dict(yaml.safe_load(handle))


def load_run(workdir, compile=True):
    """The experiment, model and tokenizers of a finished run.

    Args:
        compile: restore the optimizer and losses too (False for
            inference and export: smaller and faster).
    """
    config_path = _path(workdir, CONFIG_FILE)
    model_path = _path(workdir, MODEL_FILE)
    for path in (config_path, model_path):
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"{path} does not exist: {workdir} holds no finished run. "
                "Train first: keras-transformer train CONFIG --workdir "
                f"{workdir}"
            )
    experiment = read_experiment(workdir)
    model = keras.saving.load_model(model_path, compile=compile)
    separate = (
        experiment.task == "translation" and not experiment.tokenizer.shared
    )
    names = (
        ["tokenizer_source", "tokenizer_target"] if separate else ["tokenizer"]
    )
    loaded = [Tokenizer.load(_path(workdir, name)) for name in names]
    return experiment, model, (loaded[0], loaded[-1])


def evaluate(workdir, split="test", verbose=1, decoding=None):
    """Recomputes ``metrics.json`` of a finished run on ``split``.

    Args:
        decoding: a ``DecodingConfig`` (default: the run's settings).

    Returns:
        The metrics dict.
    """
    experiment, model, tokenizers = load_run(workdir)
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
    metrics_path = _path(workdir, METRICS_FILE)
    if os.path.exists(metrics_path):
        with open(metrics_path, encoding="utf-8") as handle:
            previous = json.load(handle)
    if "train_seconds" in previous:
        metrics["train_seconds"] = previous["train_seconds"]
    with open(metrics_path, "w", encoding="utf-8") as handle:
        json.dump(metrics, handle, indent=2)
    return metrics


__all__ = [
    "TrainingDivergedError",
    "evaluate",
    "evaluate_model",
    "load_run",
    "read_experiment",
    "train_and_evaluate",
]
