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


def _pairs_file(path, pairs):
    _write(path, [f"{source}\t{target}" for source, target in pairs])
    return DataConfig(source="files", format="tsv", path=str(path))


def test_blank_targets_are_refused_or_skipped(tmp_path):
    from keras_transformer.errors import DataError

    pairs = [
        (f"source {i}", " " if i % 2 else f"target {i}") for i in range(40)
    ]
    config = _pairs_file(tmp_path / "pairs.tsv", pairs)
    with pytest.raises(DataError, match="20 of 40 pairs have a blank side"):
        load_splits(config, "translation")
    config.skip_empty = True
    splits = load_splits(config, "translation")
    kept = [
        target
        for split in ("train", "validation", "test")
        for _, target in splits[split].as_numpy_iterator()
    ]
    assert len(kept) == 20 and all(target.strip() for target in kept)


def test_empty_sources_do_not_fill_one_split(tmp_path, capsys):
    pairs = [("", f"target {i}") for i in range(200)]
    pairs += [(f"source {i}", f"target {i}") for i in range(200)]
    config = _pairs_file(tmp_path / "pairs.tsv", pairs)
    config.skip_empty = True
    splits = load_splits(config, "translation")
    assert len(list(splits["validation"])) == 20
    assert "skipped 200 pairs with a blank side" in capsys.readouterr().out


def test_a_split_that_one_repeated_source_swells_is_named(tmp_path, capsys):
    pairs = [("Thank you.", f"Merci {i}.") for i in range(200)]
    pairs += [(f"source {i}", f"target {i}") for i in range(200)]
    config = _pairs_file(tmp_path / "pairs.tsv", pairs)
    config.seed = next(
        seed for seed in range(50) if _repeats_land_in_a_small_split(seed)
    )
    load_splits(config, "translation")
    output = capsys.readouterr().out
    assert "WARNING: the" in output and "split has" in output
    assert "200 examples share the source 'Thank you.'" in output


def _repeats_land_in_a_small_split(seed):
    from keras_transformer.data.splitting import split_examples

    pairs = [("Thank you.", str(i)) for i in range(200)]
    pairs += [(f"source {i}", str(i)) for i in range(200)]
    splits = split_examples(pairs, 0.1, 0.1, seed=seed)
    return len(splits["validation"]) + len(splits["test"]) > 200


def test_labels_that_differ_only_in_case_or_spaces_are_warned(tmp_path, capsys):
    labels = ["pos", "Pos", "POS ", "neg"]
    _write(
        tmp_path / "data.tsv",
        [f"{labels[i % 4]}\ttext number {i}" for i in range(80)],
    )
    config = DataConfig(
        source="files", format="labelled", path=str(tmp_path / "data.tsv")
    )
    load_splits(config, "classification")
    output = capsys.readouterr().out
    assert "WARNING: the labels 'POS', 'Pos', 'pos' differ only in case" in (
        output
    )
    assert "'neg'" not in output


def test_label_and_text_columns_can_be_chosen(tmp_path):
    _write(
        tmp_path / "data.tsv",
        [f"{i}\ttext {i}\t{'a' if i % 2 else 'b'}" for i in range(60)],
    )
    config = DataConfig(
        source="files",
        format="labelled",
        path=str(tmp_path / "data.tsv"),
        text_column=1,
        label_column=2,
    )
    splits = load_splits(config, "classification")
    assert splits.label_names == ["a", "b"]
    texts = [t.decode() for t, _ in splits["train"].as_numpy_iterator()]
    assert all(text.startswith("text ") for text in texts)
