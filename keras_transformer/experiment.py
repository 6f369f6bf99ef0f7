"""Experiment settings: the YAML schema, loading, validation and overrides.

An experiment YAML file has the sections ``task``, ``data``,
``tokenizer``, ``model``, ``training`` and ``evaluation``; every key is
described by the dataclasses below (and commented in ``configs/*.yaml``).
Unknown keys and wrong types raise ``ConfigError`` naming the key and the
valid choices.
"""

import dataclasses
import typing
from typing import Dict, Literal, Optional

import yaml

from keras_transformer.models.config import TransformerConfig

TASKS = ("translation", "classification", "language_modeling")


class ConfigError(ValueError):
    """An experiment file or override is invalid."""


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

    source: Literal["builtin", "tfds", "files"] = "builtin"
    task: Literal["dates", "numbers", "copy", "reverse"] = "dates"
    train_size: int = 20000
    validation_size: int = 1000
    test_size: int = 1000
    name: Optional[str] = None
    data_dir: Optional[str] = None
    format: Literal["tsv", "parallel", "labelled", "text"] = "tsv"
    path: Optional[str] = None
    split_names: Dict[str, str] = dataclasses.field(
        default_factory=lambda: {
            "train": "train",
            "validation": "validation",
            "test": "test",
        }
    )
    source_language: Optional[str] = None
    target_language: Optional[str] = None
    source_column: int = 0
    target_column: int = 1
    text_key: Optional[str] = None
    label_key: str = "label"
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    max_train_examples: Optional[int] = None
    seed: int = 0


@dataclasses.dataclass
class TokenizerConfig:
    """How text becomes token ids."""

    type: Literal["sentencepiece", "byte"] = "sentencepiece"
    model_type: Literal["unigram", "bpe"] = "unigram"
    vocab_size: int = 8000
    shared: bool = True
    character_coverage: float = 1.0
    split_digits: bool = False


@dataclasses.dataclass
class TrainingConfig:
    """The training recipe (section 5 of the paper) and its machinery."""

    steps: int = 10000
    steps_per_epoch: int = 500
    batch_tokens: int = 4096
    batch_size: int = 64
    max_length: int = 128
    optimizer: Literal["adam", "adamw"] = "adam"
    schedule: Literal["transformer", "constant"] = "transformer"
    learning_rate: float = 1e-3
    warmup_steps: int = 4000
    lr_scale: float = 1.0
    beta_1: float = 0.9
    beta_2: float = 0.98
    epsilon: float = 1e-9
    weight_decay: float = 0.0
    label_smoothing: float = 0.1
    clipnorm: Optional[float] = None
    gradient_accumulation_steps: int = 1
    mixed_precision: Literal[
        "auto", "float32", "mixed_float16", "mixed_bfloat16"
    ] = "auto"
    jit_compile: Literal["auto", "true", "false"] = "auto"
    strategy: Literal[
        "auto", "one_device", "mirrored", "multi_worker", "tpu"
    ] = "auto"
    tpu: Optional[str] = None
    pooling: Literal["mean", "first"] = "mean"
    seed: int = 0


@dataclasses.dataclass
class EvaluationConfig:
    """What is measured after training, and how translations are decoded.

    ``decode`` is the search (beam by default, as in the paper); the other
    decoding keys are those of ``inference.DecodingConfig``.
    """

    split: Literal["validation", "test"] = "test"
    max_examples: Optional[int] = 1000
    decode: Literal["greedy", "beam", "sampling"] = "beam"
    beam_size: int = 4
    length_penalty: float = 0.6
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: Optional[int] = None
    extra_decode_length: int = 50
    batch_size: int = 64
    show_examples: int = 5

    def decoding(self, **overrides):
        """The ``DecodingConfig`` of these settings (keys may be replaced)."""
        from keras_transformer.inference.decoding_config import (
            DecodingConfig,
        )

        values = dict(
            strategy=self.decode,
            beam_size=self.beam_size,
            length_penalty=self.length_penalty,
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
            seed=self.seed,
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return DecodingConfig(**values)


@dataclasses.dataclass
class Experiment:
    """One experiment: everything needed to train and evaluate a model."""

    task: Literal["translation", "classification", "language_modeling"] = (
        "translation"
    )
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

    def model_config(self, vocab_size, target_vocab_size=None):
        """The ``TransformerConfig`` for the given vocabulary sizes."""
        values = dict(self.model)
        preset = values.pop("preset", "small")
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


def _type_name(annotation):
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(
            repr(a) for a in typing.get_args(annotation)
        )
    if origin is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _type_name(args[0]) + " or null"
    return getattr(annotation, "__name__", str(annotation))


def _coerce(value, annotation, where):
    """Checks (and lightly converts) ``value`` against ``annotation``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, args[0], where)
    if origin is Literal:
        choices = typing.get_args(annotation)
        if isinstance(value, bool) and "true" in choices:
            value = "true" if value else "false"
        if value not in choices:
            raise ConfigError(
                f"{where}: invalid value {value!r}; valid choices: "
                f"{', '.join(repr(c) for c in choices)}"
            )
        return value
    if origin in (dict, Dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(annotation):
        return _from_dict(annotation, value, where)
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def _from_dict(cls, values, where):
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(
            f"{where or 'config'}: expected a mapping of keys, got {values!r}"
        )
    hints = typing.get_type_hints(cls)
    names = [field.name for field in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"unknown key(s) {', '.join(prefix + k for k in unknown)}; valid "
            f"keys{' of ' + where if where else ''}: {', '.join(names)}"
        )
    kwargs = {}
    for name in names:
        if name in values:
            key = f"{where}.{name}" if where else name
            kwargs[name] = _coerce(values[name], hints[name], key)
    return cls(**kwargs)


def _check_model_section(model):
    fields = {f.name for f in dataclasses.fields(TransformerConfig)}
    fields -= {"vocab_size", "target_vocab_size"}
    unknown = sorted(set(model) - fields - {"preset"})
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join('model.' + k for k in unknown)}; valid "
            f"keys of model: preset, {', '.join(sorted(fields))} (vocabulary "
            "sizes come from the tokenizer)"
        )
    preset = model.get("preset", "small")
    if preset not in ("small", "base", "big"):
        raise ConfigError(
            f"model.preset: invalid value {preset!r}; valid choices: 'small', "
            "'base', 'big'"
        )


def experiment_from_dict(values):
    """Validates a nested dict and returns an ``Experiment``."""
    experiment = _from_dict(Experiment, values, "")
    _check_model_section(experiment.model)
    # Build once to validate the model fields and their types.
    experiment.model_config(vocab_size=8)
    return experiment


def set_override(values, assignment):
    """Applies one ``--set key.sub=value`` (value parsed as YAML)."""
    if "=" not in assignment:
        raise ConfigError(
            f"--set expects key=value (e.g. training.steps=100); got "
            f"{assignment!r}"
        )
    key, raw = assignment.split("=", 1)
    parts = key.strip().split(".")
    node = values
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {key}: {part} is not a section")
    node[parts[-1]] = yaml.safe_load(raw)
    return values


def load_experiment(path, overrides=()):
    """Reads a YAML experiment file, applies ``overrides``, validates it.

    Args:
        path: the YAML file.
        overrides: ``"key.sub=value"`` strings, applied in order.

    Returns:
        An ``Experiment``.

    Raises:
        FileNotFoundError: the file does not exist.
        ConfigError: a key is unknown or a value has the wrong type.

    Example:

    >>> experiment = load_experiment("configs/demo.yaml",
    ...                              ["training.steps=200"])
    """
    try:
        with open(path, encoding="utf-8") as handle:
            values = yaml.safe_load(handle) or {}
    except FileNotFoundError:
        raise FileNotFoundError(
            f"Experiment file {path!r} does not exist; see configs/ for "
            "examples."
        ) from None
    for assignment in overrides:
        set_override(values, assignment)
    try:
        return experiment_from_dict(values)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def save_experiment(experiment, path):
    """Writes the resolved experiment as YAML."""
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(experiment.to_dict(), handle, sort_keys=False)
