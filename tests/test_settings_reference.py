"""The settings reference (docs/settings.md, generated) gives every key of
an experiment its type, default and meaning."""

import dataclasses

import pytest

from keras_transformer import settings_reference
from keras_transformer.experiment import (
    MODEL_EXTRA_KEYS,
    DataConfig,
    EvaluationConfig,
    TokenizerConfig,
    TrainingConfig,
)
from keras_transformer.inference.decoding_config import DecodingConfig
from keras_transformer.models.config import TransformerConfig

CLASSES = (
    DataConfig,
    TokenizerConfig,
    TrainingConfig,
    EvaluationConfig,
    DecodingConfig,
    TransformerConfig,
)
SETTINGS = tuple(
    settings for _, settings in settings_reference.task_settings_classes()
)


def _tables(markdown):
    """``{section: {key: [type, default, bounds, meaning]}}`` of the
    page's tables."""
    tables, section = {}, None
    for line in markdown.splitlines():
        if line.startswith("## "):
            section = line[3:].strip("`")
            tables[section] = {}
        elif line.startswith("| `") and section is not None:
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            tables[section][cells[0].strip("`")] = cells[1:]
    return tables


@pytest.fixture(scope="module")
def tables():
    return _tables(settings_reference.settings_markdown())


@pytest.mark.parametrize(
    "cls", CLASSES + SETTINGS, ids=lambda cls: cls.__name__
)
def test_every_field_has_a_meaning(cls):
    meanings = settings_reference.field_meanings(cls)
    missing = [
        name for name, meaning in meanings.items() if not meaning.strip()
    ]
    assert not missing, f"{cls.__name__}: no #: comment above {missing}"


def test_comments_are_read_from_the_source():
    comments = settings_reference.field_comments(TrainingConfig)
    assert comments["max_learning_rate"] == (
        "the transformer schedule's highest rate (null: no cap, the paper's)."
    )
    # A comment belongs to the field right below it only.
    assert "steps" in comments and "lora_alpha" in comments
    assert comments["lora_rank"] != comments["lora_alpha"]


SECTIONS = (
    ("data", DataConfig, {}),
    ("tokenizer", TokenizerConfig, {}),
    ("training", TrainingConfig, {}),
    ("evaluation", EvaluationConfig, {"decoding"}),
    ("evaluation.decoding", DecodingConfig, {}),
) + tuple(
    (f"task_settings.{name}", settings, {})
    for name, settings in settings_reference.task_settings_classes()
)


@pytest.mark.parametrize(
    "section, cls, nested", SECTIONS, ids=[s[0] for s in SECTIONS]
)
def test_the_page_lists_every_key_with_its_default(
    tables, section, cls, nested
):
    table = tables[section]
    for field in dataclasses.fields(cls):
        if field.name in nested:
            assert field.name not in table  # a section of its own
            continue
        assert field.name in table, f"{section}.{field.name} is missing"
        kind, default, bounds, meaning = table[field.name]
        value = settings_reference.field_default(field)
        assert default == f"`{settings_reference.yaml_value(value)}`"
        assert kind
        assert meaning, f"{section}.{field.name} has no meaning"
        for limit in field.metadata.get("bounds", {}).values():
            assert str(limit) in bounds


def test_the_model_section_lists_the_yaml_keys_of_the_model(tables):
    table = tables["model"]
    hidden = set(settings_reference.MODEL_HIDDEN_FIELDS)
    fields = {f.name for f in dataclasses.fields(TransformerConfig)}
    assert set(table) == (fields - hidden) | set(MODEL_EXTRA_KEYS)
    # The defaults are those of the default preset, "small".
    assert table["num_layers"][1] == "`2`"
    assert table["d_model"][1] == "`128`"
    assert table["preset"][1] == "`small`"
    assert table["max_length"][1] == "`training.max_length`"
    assert all(row[3] for row in table.values())  # every key has a meaning


def test_bounds_and_types_are_written_for_readers():
    bounds = {
        f.name: settings_reference.bounds_text(f)
        for f in dataclasses.fields(TokenizerConfig)
    }
    assert bounds["character_coverage"] == "> 0.0 and <= 1.0"
    assert bounds["vocab_size"] == ">= 5"
    assert bounds["shared"] == ""
    hints = {f.name: f.type for f in dataclasses.fields(TrainingConfig)}
    assert settings_reference.type_name(hints["clipnorm"]) == "float or null"
    assert settings_reference.type_name(hints["optimizer"]) == (
        'one of "adam", "adamw"'
    )


def test_the_built_in_tasks_with_settings_have_sections(tables):
    names = {name for name, _ in settings_reference.task_settings_classes()}
    assert names == {"classification", "question_answering", "summarization"}
    assert tables["task_settings.question_answering"]["doc_stride"][1] == (
        "`64`"
    )


def test_task_settings_sections_come_from_settings_classes(monkeypatch):
    from keras_transformer.tasks import registry

    @dataclasses.dataclass
    class ExampleSettings:
        """Settings of an example task."""

        #: the window size.
        window: int = 3

    class ExampleTask:
        settings_class = ExampleSettings

    class PlainTask:
        pass

    monkeypatch.setattr(registry, "task_names", lambda: ("example", "plain"))
    classes = {"example": ExampleTask, "plain": PlainTask}
    monkeypatch.setattr(registry, "get_task_class", classes.__getitem__)
    tables = _tables(settings_reference.settings_markdown())
    assert "task_settings.example" in tables
    assert "task_settings.plain" not in tables
    row = tables["task_settings.example"]["window"]
    assert row == ["int", "`3`", "", "the window size."]
