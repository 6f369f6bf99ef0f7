"""Each task reads its examples from every source it supports."""

import gzip

import pytest

from keras_transformer.experiment import DataConfig, Experiment, TokenizerConfig
from keras_transformer.tasks import get_task


def load_splits(config, task):
    return get_task(Experiment(task=task, data=config)).load_splits()


def _write(path, lines, compress=False):
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if compress:
        data = gzip.compress(data)
    path.write_bytes(data)


def test_parallel_files_with_split_and_lang_placeholders(tmp_path):
    for split, count in (("train", 20), ("dev", 3), ("tst", 4)):
        _write(
            tmp_path / f"{split}.en.gz",
            [f"{split} english {i}" for i in range(count)],
            compress=True,
        )
        _write(
            tmp_path / f"{split}.de.gz",
            [f"{split} deutsch {i}" for i in range(count)],
            compress=True,
        )
    config = DataConfig(
        source="files",
        format="parallel",
        path=str(tmp_path / "{split}.{lang}.gz"),
        split_names={"train": "train", "validation": "dev", "test": "tst"},
        source_language="en",
        target_language="de",
    )
    splits = load_splits(config, "translation")
    test = list(splits["test"].as_numpy_iterator())
    assert len(test) == 4
    assert test[0] == (b"tst english 0", b"tst deutsch 0")
    experiment = Experiment(
        task="translation", data=config, tokenizer=TokenizerConfig(shared=False)
    )
    sources, targets = get_task(experiment).tokenizer_texts(splits)
    assert len(sources) == 20 and targets[3] == "train deutsch 3"


def test_one_tsv_is_split_deterministically(tmp_path):
    _write(
        tmp_path / "pairs.tsv",
        [f"source {i}\ttarget {i}\tattribution" for i in range(100)],
    )
    config = DataConfig(
        source="files", format="tsv", path=str(tmp_path / "pairs.tsv")
    )
    first = load_splits(config, "translation")
    second = load_splits(config, "translation")
    sizes = {s: len(list(first[s])) for s in ("train", "validation", "test")}
    assert sum(sizes.values()) == 100 and sizes["train"] >= 70
    assert list(first["test"].as_numpy_iterator()) == list(
        second["test"].as_numpy_iterator()
    )
    train = {s for s, _ in first["train"].as_numpy_iterator()}
    assert not train & {s for s, _ in first["test"].as_numpy_iterator()}


def test_classification_labels_are_indexed(tmp_path):
    _write(
        tmp_path / "data.tsv",
        ["label\ttext"]
        + [f"{'spam' if i % 3 else 'ham'}\tmessage {i}" for i in range(60)],
    )
    config = DataConfig(
        source="files", format="labelled", path=str(tmp_path / "data.tsv")
    )
    splits = load_splits(config, "classification")
    assert splits.label_names == ["ham", "spam"]
    labels = {int(y) for _, y in splits["train"].as_numpy_iterator()}
    assert labels == {0, 1}


def test_builtin_and_wrong_format_errors(tmp_path):
    splits = load_splits(
        DataConfig(task="copy", train_size=50, validation_size=5, test_size=5),
        "translation",
    )
    assert len(list(splits["validation"])) == 5
    with pytest.raises(ValueError, match="does not fit task"):
        load_splits(
            DataConfig(source="files", format="text", path="x"), "translation"
        )
    with pytest.raises(ValueError, match="data.path is required"):
        load_splits(DataConfig(source="files", format="tsv"), "translation")
    with pytest.raises(FileNotFoundError):
        load_splits(
            DataConfig(
                source="files", format="tsv", path=str(tmp_path / "missing.tsv")
            ),
            "translation",
        )
    with pytest.raises(ValueError, match="data.source 'builtin' does not fit"):
        load_splits(DataConfig(source="builtin"), "classification")
    with pytest.raises(ValueError, match="split"):
        splits["dev"]


def test_a_missing_split_file_names_the_settings_to_change(tmp_path):
    _write(tmp_path / "train.tsv", ["a\tb"] * 10)
    config = DataConfig(
        source="files",
        format="tsv",
        path=str(tmp_path / "{split}.tsv"),
        split_names={"train": "train", "validation": "val", "test": "test"},
    )
    with pytest.raises(FileNotFoundError) as info:
        load_splits(config, "translation")
    message = str(info.value)
    assert "val.tsv" in message
    assert "data.split_names.validation='val'" in message
    assert "data.path=" in message
