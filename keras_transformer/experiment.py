"""Experiment settings: the YAML schema, loading, validation and overrides.

An experiment YAML file has the sections ``task``, ``data``,
``tokenizer``, ``model``, ``training``, ``evaluation`` and
``task_settings`` (one section per task, read by the task's own settings
dataclass); every key is described by the dataclasses below and by the
settings reference (and commented in ``configs/*.yaml``).
Unknown keys and wrong types raise ``ConfigError`` naming the key and the
valid choices.
"""

import dataclasses
import math
import os
import re
from typing import Dict, Literal, Optional

import yaml

from keras_transformer.errors import (
    ConfigError,
    MissingFileError,
    brief,
    shorten,
)
from keras_transformer.inference.decoding_config import DecodingConfig
from keras_transformer.models.config import TransformerConfig
from keras_transformer.setting import (
    coerce,
    key_names,
    read_settings,
    setting,
)
from keras_transformer.tasks.registry import (
    DEFAULT_TASK,
    get_task_class,
    task_names,
)

# Keys of the ``model`` section that are not ``TransformerConfig`` fields.
MODEL_EXTRA_KEYS = ("preset", "init_from")


@dataclasses.dataclass
class DataConfig:
    """Where the examples come from.

    ``source``: "builtin" (generated, no download), "tfds" (a
    tensorflow-datasets name) or "files" (local files, ``format`` says
    which kind). File ``path``s may contain ``{split}`` and ``{lang}``
    placeholders; ``split_names`` maps train/validation/test to the names
    used in the files. Without ``{split}`` one file is split
    deterministically by ``validation_fraction`` and ``test_fraction``.
    """

    #: where the examples come from: "builtin" (generated, no download), "tfds"
    #: (a tensorflow-datasets name) or "files" (local files, ``format`` says
    #: which kind).
    source: Literal["builtin", "tfds", "files"] = "builtin"
    #: builtin: the generated task ("dates": dates in 12 human formats to ISO
    #: 8601; "numbers": spelled-out English numbers to digits; "copy";
    #: "reverse").
    task: Literal["dates", "numbers", "copy", "reverse"] = "dates"
    #: builtin: the number of generated training examples.
    train_size: int = setting(20000, minimum=1)
    #: builtin: held-out examples checked after every epoch.
    validation_size: int = setting(1000, minimum=1)
    #: builtin: held-out examples for the final evaluation.
    test_size: int = setting(1000, minimum=1)
    #: tfds: the tensorflow-datasets name (and config), e.g.
    #: "wmt14_translate/de-en".
    name: Optional[str] = None
    #: tfds: the folder of prepared tensorflow-datasets data (null:
    #: ~/tensorflow_datasets).
    data_dir: Optional[str] = None
    #: files: "tsv" (tab-separated pairs), "parallel" (line-aligned files, one
    #: per language), "labelled" (TSV/CSV of text and label), "text" (plain
    #: text), "conll" (word first, tag last), "squad" (SQuAD v1.1 JSON) or
    #: "json" (a list of objects or JSON Lines).
    format: Literal[
        "tsv", "parallel", "labelled", "text", "conll", "squad", "json"
    ] = "tsv"
    #: files: the file, which may contain ``{split}`` (replaced by
    #: ``split_names``) and ``{lang}`` (replaced by the languages); gzip
    #: allowed. Without ``{split}`` one file is split by ``validation_fraction``
    #: and ``test_fraction``.
    path: Optional[str] = None
    #: the name of each split (train, validation, test) in the files or in tfds.
    split_names: Dict[str, str] = dataclasses.field(
        default_factory=lambda: {
            "train": "train",
            "validation": "validation",
            "test": "test",
        }
    )
    #: ``{lang}`` of the source side (tfds: the feature read as the source).
    source_language: Optional[str] = None
    #: ``{lang}`` of the target side (tfds: the feature read as the target).
    target_language: Optional[str] = None
    #: tsv: the 0-based column of the source sentence.
    source_column: int = setting(0, minimum=0)
    #: tsv: the 0-based column of the target sentence.
    target_column: int = setting(1, minimum=0)
    #: labelled files: the 0-based columns of the text and the label
    #: (null: found by the header's names, or guessed from the values).
    text_column: Optional[int] = setting(None, minimum=0)
    #: labelled files: the 0-based column of the label (null: found by the
    #: header's names, or guessed from the values).
    label_column: Optional[int] = setting(None, minimum=0)
    #: tfds: the feature of the text (token classification: of the words); null:
    #: the data set's usual one.
    text_key: Optional[str] = None
    #: tfds: the feature of the label (token classification: of the tags).
    label_key: str = "label"
    #: translation, classification, summarization files: skip examples
    #: with a blank side (counted in the log) instead of refusing them.
    skip_empty: bool = False
    #: a file without ``{split}``: the share of the examples held out for
    #: validation.
    validation_fraction: float = setting(0.1, minimum=0.0, below=1.0)
    #: a file without ``{split}``: the share of the examples held out for the
    #: test.
    test_fraction: float = setting(0.1, minimum=0.0, below=1.0)
    #: read at most this many training examples (null: all).
    max_train_examples: Optional[int] = setting(None, minimum=1)
    #: the seed of shuffling and of the deterministic split.
    seed: int = setting(0, minimum=0)


@dataclasses.dataclass
class TokenizerConfig:
    """How text becomes token ids.

    ``path``: an existing tokenizer directory (e.g. ``runs/x/tokenizer``)
    to copy instead of training one (one-tokenizer tasks).
    """

    #: "sentencepiece" (trained on the training split) or "byte" (UTF-8 bytes,
    #: 260 ids).
    type: Literal["sentencepiece", "byte"] = "sentencepiece"
    #: sentencepiece: "unigram" or "bpe".
    model_type: Literal["unigram", "bpe"] = "unigram"
    #: sentencepiece: the number of pieces, the special ids included.
    vocab_size: int = setting(8000, minimum=5)
    #: one vocabulary for source and target (with ``model.tie_embeddings``, one
    #: embedding matrix for both sides and the output).
    shared: bool = True
    #: sentencepiece: the share of characters that get a piece of their own; the
    #: rarest others become UNK.
    character_coverage: float = setting(1.0, above=0.0, maximum=1.0)
    #: sentencepiece: every digit is a piece of its own.
    split_digits: bool = False
    #: an existing tokenizer directory (e.g. ``runs/x/tokenizer``) to copy
    #: instead of training one (null: train one).
    path: Optional[str] = None


#: The paper's warmup, and the share of the planned steps that the default
#: warmup takes when that is shorter.
PAPER_WARMUP_STEPS = 4000
WARMUP_SHARE = 0.1
#: The highest learning rate of the paper's schedule by default: its peak
#: with a short warmup is far above the paper's (7e-3 at D 256 and 76
#: warmup steps; the paper's base model peaks at 7e-4).
MAX_LEARNING_RATE = 1e-3
#: Under XLA, the most shapes of training batches (``max_batch_shapes``):
#: each compiles once, seconds on a CPU.
MAX_BATCH_SHAPES = 10
#: The share of the steps that cools the rate down to zero when a run has
#: a time budget and ``cooldown_fraction`` is null.
BUDGET_COOLDOWN_SHARE = 0.2
#: The share of the steps between two snapshots for checkpoint averaging
#: when ``average_interval`` is null.
AVERAGE_INTERVAL_SHARE = 0.02
_DURATION = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)$")
_SECONDS_PER_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600}


def parse_duration(value, key="training.time_budget"):
    """Seconds of ``value``: a number of seconds, or a string such as
    ``"90s"``, ``"30m"`` or ``"1.5h"``.

    Raises:
        ValueError: ``value`` is not a positive duration.
    """
    match = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value).strip().lower())
        seconds = (
            float(match.group(1)) * _SECONDS_PER_UNIT[match.group(2)]
            if match
            else -1
        )
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(
            f"{key}: invalid duration {brief(value)}; write seconds, or a "
            "number with s, m or h (90s, 30m, 1.5h)"
        )
    return seconds


@dataclasses.dataclass
class TrainingConfig:
    """The training recipe (section 5 of the paper) and its machinery.

    ``warmup_steps`` null (the default) warms up for 10% of ``steps``, at
    most the paper's 4,000: a short run is not spent at a near-zero
    learning rate, and a long one follows the paper. ``cooldown_fraction``
    (0 by default, as in the paper) brings the rate linearly to zero over
    that share of ``steps`` at the end of the run; as a share, it still
    fits when ``steps`` is changed. Every step count is of optimizer
    updates: with ``gradient_accumulation_steps`` N, a step averages the
    gradients of N batches.

    ``time_budget`` (``"30m"``) plans the steps from the measured step
    time instead: ``steps`` is then the most the plan may choose, and
    warmup and cooldown are shares of the planned steps. With
    ``average_last`` K, ``model.keras`` is the average of the weights at
    the last K snapshots, taken every ``average_interval`` steps.
    """

    #: optimizer steps in all (with ``time_budget``: the most the plan may
    #: choose).
    steps: int = setting(10000, minimum=1)
    #: steps between checkpoints and validations (a Keras epoch).
    steps_per_epoch: int = setting(500, minimum=1)
    #: tokens per batch (per side): examples are bucketed by length and batched
    #: by token count.
    batch_tokens: int = setting(4096, minimum=1)
    #: at most this many examples per batch.
    batch_size: int = setting(64, minimum=1)
    #: the longest sequence in tokens (BOS and EOS included); longer training
    #: examples are dropped. Also the model's ``max_length`` unless set.
    max_length: int = setting(128, minimum=2)
    #: "adam" (the paper's) or "adamw" (decoupled weight decay).
    optimizer: Literal["adam", "adamw"] = "adam"
    #: "transformer" (the paper's), "constant" (``learning_rate``) or
    #: "linear" (BERT's: up to ``learning_rate`` over the warmup, then
    #: down to zero at ``steps``).
    schedule: Literal["transformer", "constant", "linear"] = "transformer"
    #: the rate of the "constant" schedule, and the peak of the "linear" one.
    learning_rate: float = setting(1e-3, above=0.0)
    #: the steps of the rise to the peak rate (null: 10% of ``steps``, at most
    #: the paper's 4,000).
    warmup_steps: Optional[int] = setting(None, minimum=1)
    #: a multiplier of the transformer schedule's rate (1: the paper's equation
    #: 3).
    lr_scale: float = setting(1.0, above=0.0)
    #: the transformer schedule's highest rate (null: no cap, the paper's).
    max_learning_rate: Optional[float] = setting(MAX_LEARNING_RATE, above=0.0)
    #: null: 0.2 with a ``time_budget``, else 0 (the paper's).
    cooldown_fraction: Optional[float] = setting(None, minimum=0.0, maximum=1.0)
    #: wall-clock training time ("90s", "30m", "1.5h"); null: ``steps``.
    time_budget: Optional[str] = None
    #: checkpoint averaging: the number of snapshots (0: none).
    average_last: int = setting(0, minimum=0)
    #: steps between snapshots (null: 2% of the steps).
    average_interval: Optional[int] = setting(None, minimum=1)
    #: off a terminal: a progress line this often ("1m"; null: none).
    log_every: Optional[str] = "1m"
    #: Adam's beta_1 (the paper: 0.9).
    beta_1: float = setting(0.9, minimum=0.0, below=1.0)
    #: Adam's beta_2 (the paper: 0.98).
    beta_2: float = setting(0.98, minimum=0.0, below=1.0)
    #: Adam's epsilon (the paper: 1e-9).
    epsilon: float = setting(1e-9, above=0.0)
    #: adamw's decoupled weight decay (0 with adam).
    weight_decay: float = setting(0.0, minimum=0.0)
    #: label smoothing of the cross-entropy (the paper: 0.1, section 5.4).
    label_smoothing: float = setting(0.1, minimum=0.0, below=1.0)
    #: clip the gradients' global norm to this (null: no clipping).
    clipnorm: Optional[float] = setting(None, above=0.0)
    #: batches per optimizer step, their gradients averaged.
    gradient_accumulation_steps: int = setting(1, minimum=1)
    #: "auto": mixed_float16 on GPUs, mixed_bfloat16 on TPUs, float32 on CPUs.
    mixed_precision: Literal[
        "auto", "float32", "mixed_float16", "mixed_bfloat16"
    ] = "auto"
    #: compile training steps with XLA; "auto": on GPUs and TPUs, off on CPUs.
    jit_compile: Literal["auto", "true", "false"] = "auto"
    #: under XLA: the most shapes of training batches (each compiles once).
    max_batch_shapes: int = setting(MAX_BATCH_SHAPES, minimum=1)
    #: "auto": a TPU if ``tpu`` is set, MirroredStrategy over several GPUs
    #: (under JAX, data parallel over every device), else one device; or
    #: "one_device", "mirrored", "multi_worker" (reads ``TF_CONFIG``), "tpu".
    strategy: Literal[
        "auto", "one_device", "mirrored", "multi_worker", "tpu"
    ] = "auto"
    #: the TPU to connect to (its name or address); null: none.
    tpu: Optional[str] = None
    #: under JAX: the devices each copy of the model is sharded over
    #: (attention heads and feed-forward units split); the batch is split
    #: over the rest. 1: data parallel over every device.
    model_parallel: int = setting(1, minimum=1)
    #: LoRA: the rank of adapters on the projections of the pretrained
    #: parts, which stay frozen (null: every weight trains).
    lora_rank: Optional[int] = setting(None, minimum=1)
    #: the adapters' update is scaled by lora_alpha / lora_rank (null: 1).
    lora_alpha: Optional[float] = setting(None, above=0.0)
    #: the projections adapted: "query_value" (the LoRA paper's),
    #: "attention" (query, key, value, output) or "all" (and feed-forward).
    lora_targets: Literal["query_value", "attention", "all"] = "query_value"
    #: the seed of initialisation and shuffling.
    seed: int = setting(0, minimum=0)

    @property
    def warmup(self):
        """The warmup steps in effect: ``warmup_steps``, or 10% of
        ``steps`` (at least 1) capped at 4,000."""
        if self.warmup_steps is not None:
            return self.warmup_steps
        return max(1, min(PAPER_WARMUP_STEPS, round(WARMUP_SHARE * self.steps)))

    def __post_init__(self):
        if isinstance(self.time_budget, (int, float)):
            self.time_budget = str(self.time_budget)
        if self.time_budget is not None:
            parse_duration(self.time_budget)
        if isinstance(self.log_every, (int, float)):
            self.log_every = str(self.log_every)
        if self.log_every is not None:
            parse_duration(self.log_every, "training.log_every")

    @property
    def log_seconds(self):
        """``log_every`` in seconds (None: no progress lines)."""
        if self.log_every is None:
            return None
        return parse_duration(self.log_every, "training.log_every")

    @property
    def budget_seconds(self):
        """``time_budget`` in seconds (None: no budget)."""
        if self.time_budget is None:
            return None
        return parse_duration(self.time_budget)

    @property
    def cooldown_share(self):
        """``cooldown_fraction``, or its default when null."""
        if self.cooldown_fraction is not None:
            return self.cooldown_fraction
        return BUDGET_COOLDOWN_SHARE if self.time_budget else 0.0

    @property
    def cooldown(self):
        """The cooldown steps in effect: ``cooldown_share`` of ``steps``,
        at least 1 when the share is not 0."""
        if not self.cooldown_share:
            return 0
        return max(1, round(self.cooldown_share * self.steps))

    @property
    def snapshot_interval(self):
        """Steps between averaging snapshots: ``average_interval``, or 2%
        of ``steps`` (at least 1)."""
        if self.average_interval is not None:
            return self.average_interval
        return max(1, round(AVERAGE_INTERVAL_SHARE * self.steps))


@dataclasses.dataclass
class EvaluationConfig:
    """What is measured after training, and how outputs are decoded.

    ``decoding`` holds the search and its settings (``DecodingConfig``;
    beam search by default, as in the paper).
    """

    #: the split of the final evaluation: "validation" or "test".
    split: Literal["validation", "test"] = "test"
    #: evaluate on at most this many examples (null: all).
    max_examples: Optional[int] = setting(1000, minimum=1)
    #: how outputs are decoded (also by ``predict`` and ``export``): see
    #: ``evaluation.decoding``.
    decoding: DecodingConfig = dataclasses.field(default_factory=DecodingConfig)
    #: decode up to the input's length plus this (the paper: 50).
    extra_decode_length: int = setting(50, minimum=0)
    #: examples per batch of the evaluation.
    batch_size: int = setting(64, minimum=1)
    #: outputs printed at the end of the evaluation.
    show_examples: int = setting(5, minimum=0)


@dataclasses.dataclass
class Experiment:
    """One experiment: everything needed to train and evaluate a model."""

    task: str = DEFAULT_TASK
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = dataclasses.field(
        default_factory=TokenizerConfig
    )
    model: Dict[str, object] = dataclasses.field(
        default_factory=lambda: {"preset": "small"}
    )
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = dataclasses.field(
        default_factory=EvaluationConfig
    )
    #: the settings of tasks that have their own (``Task.settings_class``),
    #: one section per task name: ``question_answering: {doc_stride: 128}``.
    #: A file may hold several (its experiment can switch ``task``); the
    #: experiment's task gets its defaults when it has no section. Read,
    #: each section is an instance of its task's dataclass.
    task_settings: Dict[str, object] = dataclasses.field(default_factory=dict)

    def model_config(self, vocab_size, target_vocab_size=None):
        """The ``TransformerConfig`` for the given vocabulary sizes."""
        values = dict(self.model)
        preset = values.pop("preset", "small")
        values.pop("init_from", None)
        values.setdefault("max_length", self.training.max_length)
        try:
            return TransformerConfig.preset(
                preset,
                vocab_size=vocab_size,
                target_vocab_size=target_vocab_size,
                **values,
            )
        except (TypeError, ValueError) as err:
            raise ConfigError(f"model: {err}") from err

    def to_dict(self):
        """Plain nested dicts, ready for YAML."""
        return dataclasses.asdict(self)


def _check_model_section(model):
    fields = {f.name for f in dataclasses.fields(TransformerConfig)}
    fields -= {"vocab_size", "target_vocab_size"}
    unknown = sorted(set(model) - fields - set(MODEL_EXTRA_KEYS), key=str)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {key_names(unknown, 'model.')}; valid "
            f"keys of model: {', '.join(MODEL_EXTRA_KEYS)}, "
            f"{', '.join(sorted(fields))} (vocabulary sizes come from the "
            "tokenizer)"
        )
    # YAML 1.1 reads 1e-12 (no dot) as a string: a number field takes it.
    for field in dataclasses.fields(TransformerConfig):
        if field.type is float and isinstance(model.get(field.name), str):
            model[field.name] = coerce(
                model[field.name], float, f"model.{field.name}"
            )
    init_from = model.get("init_from")
    if init_from is not None:
        if not isinstance(init_from, str) or not init_from:
            raise ConfigError(
                "model.init_from: expected the path of a run directory or a "
                f"Hugging Face checkpoint directory, got "
                f"{brief(init_from)}"
            )

    preset = model.get("preset", "small")
    if preset not in ("small", "base", "big"):
        raise ConfigError(
            f"model.preset: invalid value {brief(preset)}; valid choices: "
            "'small', 'base', 'big'"
        )


# Decoding settings of earlier versions, directly under ``evaluation``.
_FLAT_DECODING = {
    "decode": "strategy",
    "beam_size": "beam_size",
    "length_penalty": "length_penalty",
    "temperature": "temperature",
    "top_k": "top_k",
    "top_p": "top_p",
    "seed": "seed",
}


def _nest_decoding(values, stored):
    """Moves flat ``evaluation`` decoding keys under ``evaluation.decoding``.

    Run directories written by earlier versions are read as they are; in a
    user's file the old keys are an error that names the new ones.
    """
    evaluation = values.get("evaluation") if isinstance(values, dict) else None
    if not isinstance(evaluation, dict):
        return values
    flat = [key for key in _FLAT_DECODING if key in evaluation]
    if not flat:
        return values
    if not stored:
        moved = ", ".join(
            f"evaluation.{key} -> evaluation.decoding.{_FLAT_DECODING[key]}"
            for key in flat
        )
        raise ConfigError(
            f"the decoding settings moved under evaluation.decoding: {moved} "
            "(see configs/demo.yaml)"
        )
    evaluation = dict(evaluation)
    decoding = dict(evaluation.get("decoding") or {})
    for key in flat:
        decoding[_FLAT_DECODING[key]] = evaluation.pop(key)
    evaluation["decoding"] = decoding
    return dict(values, evaluation=evaluation)


# Task settings of earlier versions, in the shared sections.
_TASK_KEYS = {
    "data": ("document_key", "summary_key"),
    "training": ("pooling", "doc_stride"),
    "evaluation": ("max_answer_length", "max_summary_length"),
}


def _move_task_settings(values, stored):
    """Moves the task settings of earlier versions under ``task_settings``.

    Run directories written by earlier versions are read as they are (a
    key the task does not have is dropped there: those versions kept
    every task's default); in a user's file the old keys are an error
    that names the new ones.
    """
    if not isinstance(values, dict):
        return values
    found = [
        (section, key)
        for section, keys in _TASK_KEYS.items()
        if isinstance(values.get(section), dict)
        for key in keys
        if key in values[section]
    ]
    if not found:
        return values
    if not stored:
        moved = ", ".join(
            f"{section}.{key} -> task_settings.TASK.{key}"
            for section, key in found
        )
        raise ConfigError(
            f"these settings of one task moved under task_settings, in a "
            f"section named after the task: {moved} (e.g. task_settings: "
            "{question_answering: {doc_stride: 128}})"
        )
    task = values.get("task", Experiment.task)
    settings_class = (
        get_task_class(task).settings_class if task in task_names() else None
    )
    keys = (
        {field.name for field in dataclasses.fields(settings_class)}
        if settings_class
        else set()
    )
    values = dict(values)
    sections = dict(values.get("task_settings") or {})
    settings = dict(sections.get(task) or {})
    for section, key in found:
        values[section] = dict(values[section])
        value = values[section].pop(key)
        if key in keys:
            settings.setdefault(key, value)
    if settings:
        sections[task] = settings
    values["task_settings"] = sections
    return values


def experiment_from_dict(values, stored=False):
    """Validates a nested dict and returns an ``Experiment``.

    Args:
        values: the nested settings (as read from YAML).
        stored: the dict comes from a run directory, possibly written by
            an earlier version (its older layout is accepted).

    Every setting is checked here, before any data is read or any step is
    trained: keys, types, bounds, the model fields and the decoding
    settings of the evaluation.
    """
    values = _move_task_settings(_nest_decoding(values, stored), stored)
    experiment = read_settings(Experiment, values, "")
    _expand_paths(experiment)
    if experiment.task not in task_names():
        raise ConfigError(
            f"task: invalid value {brief(experiment.task)}; valid choices: "
            f"{', '.join(repr(name) for name in task_names())}"
        )
    experiment.task_settings = _read_task_settings(
        experiment.task_settings, experiment.task
    )
    _check_model_section(experiment.model)
    _check_cooldown(experiment.training)
    _check_weight_decay(experiment.training)
    _check_lora(experiment)
    # Build once to validate the model fields and their types.
    _check_positions(experiment.model_config(vocab_size=8), experiment.training)
    return experiment


# Paths in experiment files may name environment variables: ``$DATA_DIR``
# is the folder of the corpora (docs/data.md lists what it holds).
_VARIABLE = re.compile(r"\$\{?(\w+)\}?")
_PATH_KEYS = (
    ("data", "path"),
    ("data", "data_dir"),
    ("tokenizer", "path"),
)


def _expand(value, where):
    """``value`` with its ``$NAME`` / ``${NAME}`` variables filled in.

    Raises:
        ConfigError: a variable is not set (the message says how).
    """
    for name in _VARIABLE.findall(value):
        if name not in os.environ:
            what = (
                "the folder that holds the corpora (see docs/data.md)"
                if name == "DATA_DIR"
                else "its value"
            )
            raise ConfigError(
                f"{where}: {value} uses ${name}, which is not set; run "
                f"export {name}=... with {what}, or give the path itself."
            )
    return os.path.expandvars(value)


def _expand_paths(experiment):
    for section, key in _PATH_KEYS:
        settings = getattr(experiment, section)
        value = getattr(settings, key)
        if isinstance(value, str) and "$" in value:
            setattr(settings, key, _expand(value, f"{section}.{key}"))
    init_from = experiment.model.get("init_from")
    if isinstance(init_from, str) and "$" in init_from:
        experiment.model["init_from"] = _expand(init_from, "model.init_from")


def _read_task_settings(sections, task):
    """``{task name: its settings dataclass}`` read from ``sections``,
    with the defaults of ``task`` when it has settings and no section."""
    read = {}
    for name, values in {task: None, **sections}.items():
        if name not in task_names():
            raise ConfigError(
                f"task_settings.{brief(name)[1:-1]}: not a task; the "
                f"sections are named after tasks: {', '.join(task_names())}"
            )
        settings = get_task_class(name).settings_from(
            values, f"task_settings.{name}"
        )
        if settings is not None:
            read[name] = settings
    return read


def _check_positions(model, training):
    if model.position == "learned" and model.max_length < training.max_length:
        raise ConfigError(
            f"model.max_length={model.max_length} is shorter than "
            f"training.max_length={training.max_length}: learned positions "
            f"exist only up to model.max_length. Raise model.max_length to "
            f"{training.max_length} or more (or leave it out: it follows "
            "training.max_length), or lower training.max_length."
        )


def _check_lora(experiment):
    training = experiment.training
    if training.lora_rank is None:
        return
    if not experiment.model.get("init_from"):
        raise ConfigError(
            f"training.lora_rank={training.lora_rank}: LoRA adapts a "
            "pretrained model, and none is given: set model.init_from to a "
            "run or a published checkpoint, or remove training.lora_rank."
        )
    if training.average_last:
        raise ConfigError(
            "training.average_last: checkpoint averaging is not available "
            "with training.lora_rank; set average_last: 0."
        )


def _check_weight_decay(training):
    if training.weight_decay and training.optimizer != "adamw":
        raise ConfigError(
            f"training.weight_decay={training.weight_decay} is decoupled "
            "weight decay, which only adamw applies: set training.optimizer: "
            "adamw, or weight_decay: 0."
        )


def _check_cooldown(training):
    if training.cooldown_fraction and training.schedule != "transformer":
        raise ConfigError(
            "training.cooldown_fraction: the cooldown is part of the "
            "'transformer' schedule; set training.schedule: transformer, "
            "or cooldown_fraction: 0."
        )


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses aliases and repeated keys.

    An alias (``*name``) lets a few lines expand into gigabytes (a "billion
    laughs"); a repeated key would silently replace the first one (two
    ``training:`` sections, say). Both are errors with line and column.
    """

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None,
                None,
                "aliases (*name) are not accepted: write the value out",
                self.peek_event().start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:  # an unhashable key: SafeLoader names it
                continue
            if first is not key_node:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the key {brief(key)} is repeated (first on line "
                    f"{first.start_mark.line + 1}); a later one would "
                    "replace it: merge the two",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep)


def load_yaml(text):
    """The value of a YAML document, read safely (no tags that build
    Python objects, no aliases, no repeated keys).

    Raises:
        yaml.YAMLError: invalid, or one of the refused constructs.
    """
    return yaml.load(text, Loader=_StrictLoader)


def _yaml_error(err, where, position=True):
    """A one-line description of a YAML syntax error, with line:column."""
    mark = getattr(err, "problem_mark", None) or getattr(
        err, "context_mark", None
    )
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    detail = f"{context}, {problem}" if context else problem
    if mark is not None and position:
        where = f"{where}:{mark.line + 1}:{mark.column + 1}"
    return f"{where}: invalid YAML ({detail})"


def set_override(values, assignment):
    """Applies one ``--set key.sub=value`` (value parsed as YAML)."""
    if "=" not in assignment:
        raise ConfigError(
            f"--set expects key=value (e.g. training.steps=100); got "
            f"{brief(assignment)}"
        )
    key, raw = assignment.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise ConfigError(
            f"--set {shorten(assignment)}: the key must be section.name, e.g. "
            "training.steps"
        )
    node = values
    for part in parts[:-1]:
        parent, node = node, node.setdefault(part, {})
        if node is None:
            node = parent[part] = {}
        if not isinstance(node, dict):
            raise ConfigError(
                f"--set {shorten(key)}: {shorten(part)} is not a section"
            )
    try:
        node[parts[-1]] = load_yaml(raw)
    except yaml.YAMLError as err:
        raise ConfigError(
            _yaml_error(
                err, f"--set {shorten(assignment)}", position=False
            ).replace(": invalid YAML", ": the value is not valid YAML", 1)
        ) from None
    return values


def read_yaml_file(path, what="experiment file"):
    """The YAML value in ``path``; one-line errors for every failure.

    Raises:
        MissingFileError: the file does not exist.
        ConfigError: it is a directory, not UTF-8, or not valid YAML (the
            message gives line and column).
    """
    if os.path.isdir(path):
        raise ConfigError(
            f"{path} is a directory; pass an {what} (YAML), e.g. "
            "configs/demo.yaml"
        )
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise MissingFileError(
            f"The {what} {path!r} does not exist; see configs/ for examples."
        ) from None
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {raw[err.start]:#04x} at "
            f"position {err.start}); save it as UTF-8"
        ) from None
    try:
        return load_yaml(text)
    except yaml.YAMLError as err:
        raise ConfigError(_yaml_error(err, path)) from None


def read_experiment_file(path, overrides=(), stored=False):
    """Reads, overrides and validates an experiment; errors name ``path``.

    ``stored``: the file is a run directory's ``config.yaml``.
    """
    values = read_yaml_file(path)
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(
            f"{path}: expected a mapping of sections (task, data, tokenizer, "
            f"model, training, evaluation, task_settings), got "
            f"{type(values).__name__}"
        )
    for assignment in overrides:
        set_override(values, assignment)
    try:
        return experiment_from_dict(values, stored=stored)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def load_experiment(path, overrides=()):
    """Reads a YAML experiment file, applies ``overrides``, validates it.

    Args:
        path: the YAML file.
        overrides: ``"key.sub=value"`` strings, applied in order.

    Returns:
        An ``Experiment``.

    Raises:
        MissingFileError: the file does not exist (a ``FileNotFoundError``).
        ConfigError: the file is not valid YAML, a key is unknown, or a
            value has the wrong type or is out of range.

    Example:

    >>> experiment = load_experiment("configs/demo.yaml",
    ...                              ["training.steps=200"])
    """
    return read_experiment_file(path, overrides)


def experiment_yaml(experiment):
    """The resolved experiment as YAML text."""
    return yaml.safe_dump(experiment.to_dict(), sort_keys=False)


def save_experiment(experiment, path):
    """Writes the resolved experiment as YAML (atomically)."""
    from keras_transformer.run_files import write_text

    write_text(path, experiment_yaml(experiment))
