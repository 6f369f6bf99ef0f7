"""Settings dataclasses: ``setting`` (a field with bounds) and
``read_settings`` (a dataclass read from a YAML mapping, every key, type
and bound checked), for the experiment's sections and each task's
``task_settings``.
"""

import dataclasses
import math
import typing
from typing import Dict, Literal

from keras_transformer.errors import ConfigError, brief


def setting(
    default=None,
    *,
    minimum=None,
    maximum=None,
    above=None,
    below=None,
    default_factory=None,
):
    """A dataclass field with bounds, checked when an experiment is read.

    ``minimum``/``maximum`` are inclusive, ``above``/``below`` exclusive;
    None values (optional settings) are not checked.
    """
    bounds = dict(minimum=minimum, maximum=maximum, above=above, below=below)
    metadata = {"bounds": {k: v for k, v in bounds.items() if v is not None}}
    if default_factory is not None:
        return dataclasses.field(
            default_factory=default_factory, metadata=metadata
        )
    return dataclasses.field(default=default, metadata=metadata)


def check_bounds(field, value, where):
    """Refuses ``value`` outside the bounds of its ``setting`` ``field``.

    Raises:
        ConfigError: naming ``where`` (the key) and the bounds.
    """
    bounds = field.metadata.get("bounds", {})
    if value is None or not bounds:
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(
            f"{where}: expected a finite number, got {brief(value)}"
        )
    checks = (
        ("minimum", lambda low: value >= low, ">= {}"),
        ("maximum", lambda high: value <= high, "<= {}"),
        ("above", lambda low: value > low, "> {}"),
        ("below", lambda high: value < high, "< {}"),
    )
    wanted = [
        template.format(bounds[name])
        for name, _, template in checks
        if name in bounds
    ]
    for name, passes, _ in checks:
        if name in bounds and not passes(bounds[name]):
            raise ConfigError(
                f"{where}: invalid value {brief(value)}; it must be "
                f"{' and '.join(wanted)}"
            )


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


def coerce(value, annotation, where):
    """Checks (and lightly converts) ``value`` against ``annotation``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is None:
            return None
        return coerce(value, args[0], where)
    if origin is Literal:
        choices = typing.get_args(annotation)
        if isinstance(value, bool) and "true" in choices:
            value = "true" if value else "false"
        if value not in choices:
            raise ConfigError(
                f"{where}: invalid value {brief(value)}; valid choices: "
                f"{', '.join(repr(c) for c in choices)}"
            )
        return value
    if origin in (dict, Dict):
        if not isinstance(value, dict):
            raise ConfigError(
                f"{where}: expected a mapping, got {brief(value)}"
            )
        return dict(value)
    if dataclasses.is_dataclass(annotation):
        return read_settings(annotation, value, where)
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(
                f"{where}: expected true or false, got {brief(value)}"
            )
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(
                f"{where}: expected an integer, got {brief(value)}"
            )
        return value
    if annotation is float:
        if isinstance(value, str):
            # YAML 1.1 reads 1e-9 (no dot) as a string: accept it as a number.
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {brief(value)}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {brief(value)}")
        return value
    return value


def key_names(keys, prefix=""):
    """``"training.stepz, training.x"``: keys as a message names them (each
    cut short)."""
    return ", ".join(
        prefix + (brief(key)[1:-1] if isinstance(key, str) else brief(key))
        for key in keys
    )


def read_settings(cls, values, where=""):
    """An instance of the settings dataclass ``cls`` read from ``values``.

    Args:
        cls: a dataclass whose fields are annotated with the types above
            (nested dataclasses are read the same way).
        values: a mapping of its keys (None: every default).
        where: the key of the mapping, for messages ("" at the top).

    Raises:
        ConfigError: an unknown key, a wrong type or a value out of
            bounds, naming the key and the valid choices.
    """
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(
            f"{where or 'config'}: expected a mapping of keys, got "
            f"{brief(values)}"
        )
    hints = typing.get_type_hints(cls)
    names = [field.name for field in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(names), key=str)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"unknown key(s) {key_names(unknown, prefix)}; valid "
            f"keys{' of ' + where if where else ''}: {', '.join(names)}"
        )
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name in values:
            key = f"{where}.{field.name}" if where else field.name
            kwargs[field.name] = coerce(
                values[field.name], hints[field.name], key
            )
            check_bounds(field, kwargs[field.name], key)
    try:
        return cls(**kwargs)
    except ValueError as err:  # the dataclass's own checks
        raise ConfigError(f"{where or 'config'}: {err}") from None
