"""The reference of every experiment setting, generated from the schema.

``settings_markdown()`` writes one table per section of an experiment YAML
file (``data``, ``tokenizer``, ``model``, ``training``, ``evaluation``,
``evaluation.decoding`` and one ``task_settings.<task>`` section per task
that has settings): every key with its type, default, bounds and meaning.
The meaning of a field is the ``#:`` comment right above it in its class
(for ``DecodingConfig``, the help of its command-line flag when it has no
such comment). The documentation's ``settings.md`` page is this function's
output, so it cannot fall behind the code.
"""

import dataclasses
import inspect
import re
import typing

import yaml

_FIELD_LINE = re.compile(r"^\s+([A-Za-z_]\w*)\s*:")
_COMMENT_LINE = re.compile(r"^\s*#:\s?(.*)$")

#: Keys of the ``model`` section that are not fields of
#: ``TransformerConfig``, with their type, default and meaning.
MODEL_EXTRA_SETTINGS = (
    (
        "preset",
        'one of "small", "base", "big"',
        "small",
        "the sizes the other keys start from: the paper's base or big "
        "model (Table 3), or a small model for CPU work.",
    ),
    (
        "init_from",
        "str or null",
        None,
        "a finished run directory, or a published (Hugging Face) checkpoint "
        "directory, whose weights start this model (its pretrained parts); "
        "null: random initialisation.",
    ),
)
#: The introduction of the tasks' own settings.
TASK_SETTINGS = (
    "The settings of one task alone, in a section named after the task "
    "(`task_settings: {question_answering: {doc_stride: 128}}`). A file "
    "may hold the sections of several tasks, so that `--set task=...` "
    "can switch its task; each section is checked by its task's "
    "dataclass, and the experiment's task gets its defaults when it has "
    "no section. The tasks without a section below have no settings of "
    "their own."
)
#: ``TransformerConfig`` fields that are not YAML keys: the vocabulary
#: sizes come from the tokenizer.
MODEL_HIDDEN_FIELDS = ("vocab_size", "target_vocab_size")


def field_comments(cls):
    """``{field name: meaning}`` from the ``#:`` comment lines right above
    each field of the dataclass ``cls`` (fields without one are left
    out)."""
    names = {field.name for field in dataclasses.fields(cls)}
    comments, pending = {}, []
    for line in inspect.getsource(cls).splitlines():
        comment = _COMMENT_LINE.match(line)
        if comment:
            pending.append(comment.group(1).strip())
            continue
        field = _FIELD_LINE.match(line)
        if field and field.group(1) in names and pending:
            comments.setdefault(field.group(1), " ".join(pending))
        pending = []
    return comments


def field_meanings(cls):
    """``{field name: meaning}`` for every field of ``cls``: its ``#:``
    comment, else the ``help`` of its metadata, else ``""``."""
    comments = field_comments(cls)
    return {
        field.name: comments.get(field.name) or field.metadata.get("help", "")
        for field in dataclasses.fields(cls)
    }


def type_name(annotation):
    """A reader's name of a field's type: ``int``, ``str or null``,
    ``one of "a", "b"``, ..."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(f'"{arg}"' for arg in args)
    if origin is typing.Union:
        rest = [arg for arg in args if arg is not type(None)]
        name = " or ".join(type_name(arg) for arg in rest)
        return name + " or null" if len(rest) < len(args) else name
    if origin in (dict, typing.Dict):
        return f"mapping of {type_name(args[0])} to {type_name(args[1])}"
    if origin in (tuple, list):
        return f"list of {type_name(args[0])}" if args else "list"
    if dataclasses.is_dataclass(annotation):
        return "section"
    return getattr(annotation, "__name__", str(annotation))


def yaml_value(value):
    """``value`` as it is written in a YAML file, on one line."""
    if isinstance(value, tuple):
        value = list(value)
    text = yaml.safe_dump(
        value, default_flow_style=True, width=1000, sort_keys=False
    )
    return text.strip().removesuffix("...").strip()


def field_default(field):
    """The default value of a dataclass field (``MISSING`` when none)."""
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def bounds_text(field):
    """The bounds of a field made with ``experiment.setting``:
    ``>= 1``, ``> 0.0 and <= 1.0``, ... (``""`` when none)."""
    bounds = field.metadata.get("bounds", {})
    symbols = (("minimum", ">="), ("above", ">"), ("maximum", "<="))
    symbols += (("below", "<"),)
    return " and ".join(
        f"{symbol} {bounds[name]}" for name, symbol in symbols if name in bounds
    )


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(text):
    return f"`{text}`" if text != "" else ""


def _table(rows):
    lines = [
        "| key | type | default | bounds | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, kind, default, bounds, meaning in rows:
        cells = (_code(key), kind, default, _code(bounds), meaning)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def dataclass_rows(cls, defaults=None, skip=()):
    """The table rows of the fields of ``cls``: (key, type, default,
    bounds, meaning). ``defaults`` maps field names to the default shown
    instead of the field's own (a markdown cell)."""
    defaults = defaults or {}
    meanings = field_meanings(cls)
    hints = typing.get_type_hints(cls)
    rows = []
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        annotation = hints.get(field.name, field.type)
        if dataclasses.is_dataclass(annotation):
            continue  # a nested section has a table of its own
        default = defaults.get(field.name)
        if default is None:
            value = field_default(field)
            default = (
                "required"
                if value is dataclasses.MISSING
                else _code(yaml_value(value))
            )
        rows.append(
            (
                field.name,
                type_name(annotation),
                default,
                bounds_text(field),
                meanings[field.name],
            )
        )
    return rows


def _model_rows():
    from keras_transformer.experiment import Experiment
    from keras_transformer.models.config import TransformerConfig

    preset = Experiment().model.get("preset", "small")
    values = TransformerConfig.preset(preset, vocab_size=8000)
    defaults = {
        field.name: _code(yaml_value(getattr(values, field.name)))
        for field in dataclasses.fields(TransformerConfig)
    }
    defaults["max_length"] = "`training.max_length`"
    rows = [
        (key, kind, _code(yaml_value(default)), "", meaning)
        for key, kind, default, meaning in MODEL_EXTRA_SETTINGS
    ]
    return rows + dataclass_rows(
        TransformerConfig, defaults, skip=MODEL_HIDDEN_FIELDS
    )


def task_settings_classes():
    """``[(task name, settings dataclass)]`` of the registered tasks whose
    class has a dataclass ``settings_class``."""
    from keras_transformer.tasks.registry import get_task_class, task_names

    found = []
    for name in task_names():
        settings = getattr(get_task_class(name), "settings_class", None)
        if settings is not None and dataclasses.is_dataclass(settings):
            found.append((name, settings))
    return found


def sections(include_tasks=True):
    """``[(YAML section, introduction, rows)]`` in the order of a config
    file."""
    from keras_transformer.experiment import (
        DataConfig,
        EvaluationConfig,
        TokenizerConfig,
        TrainingConfig,
    )
    from keras_transformer.inference.decoding_config import DecodingConfig

    found = [
        (
            "data",
            "Where the examples come from (`DataConfig`).",
            dataclass_rows(DataConfig),
        ),
        (
            "tokenizer",
            "How text becomes token ids (`TokenizerConfig`).",
            dataclass_rows(TokenizerConfig),
        ),
        (
            "model",
            "The model's hyperparameters: `preset` and `init_from`, then "
            "the fields of `TransformerConfig`, which override the "
            "preset's values. The defaults shown are those of the default "
            "preset, `small`; `base` and `big` set `num_layers`, "
            "`d_model`, `ff_dim`, `num_heads` and `dropout` to the "
            "paper's values. The vocabulary sizes are not keys: they come "
            "from the tokenizer.",
            _model_rows(),
        ),
        (
            "training",
            "The training recipe and its machinery (`TrainingConfig`).",
            dataclass_rows(TrainingConfig),
        ),
        (
            "evaluation",
            "What is measured after training (`EvaluationConfig`).",
            dataclass_rows(EvaluationConfig),
        ),
        (
            "evaluation.decoding",
            "How outputs are decoded (`DecodingConfig`). Every key is also "
            "a flag of `evaluate`, `translate`, `predict` and `export`.",
            dataclass_rows(DecodingConfig),
        ),
    ]
    if include_tasks:
        for name, settings in task_settings_classes():
            doc = inspect.getdoc(settings) or ""
            intro = doc.split("\n\n")[0].replace("\n", " ")
            found.append(
                (
                    f"task_settings.{name}",
                    f"Settings of the `{name}` task (`{settings.__name__}`)."
                    + (f" {intro}" if intro else ""),
                    dataclass_rows(settings),
                )
            )
    return found


def _task_names():
    from keras_transformer.tasks.registry import task_names

    return task_names()


def settings_markdown(include_tasks=True):
    """The settings reference page, in Markdown."""
    parts = [
        "# Settings reference",
        "An experiment is one YAML file with the sections below; "
        "`--set section.key=value` overrides any key on the command line. "
        "Unknown keys, wrong types and values outside the bounds are "
        "refused with the key's name. This page is generated from the "
        "settings' dataclasses when the documentation is built.",
        "## `task`",
        "The application, one of "
        + ", ".join(f"`{name}`" for name in _task_names())
        + " (see [Tasks](tasks.md)).",
    ]
    for section, intro, rows in sections(include_tasks):
        if section.startswith("task_settings.") and TASK_SETTINGS not in parts:
            parts += ["## `task_settings`", TASK_SETTINGS]
        parts += [f"## `{section}`", intro, _table(rows)]
    return "\n\n".join(parts) + "\n"
