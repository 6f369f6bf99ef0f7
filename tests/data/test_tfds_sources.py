"""The tensorflow-datasets loaders, on ``tfds.testing.mock_data`` (no
network)."""

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_transformer.data.tfds_sources import (
    tfds_classification,
    tfds_text,
    tfds_translation,
)


def run_mocked(fn, num_examples=4):
    """Runs ``fn`` under ``tfds.testing.mock_data``.

    The default policy is tried first; if it asks for metadata files that
    are not installed, ``MockPolicy.USE_CODE`` is used instead.
    """
    try:
        with tfds.testing.mock_data(num_examples=num_examples):
            return fn()
    except ValueError as err:
        if "metadata" not in str(err):
            raise
    with tfds.testing.mock_data(
        num_examples=num_examples, policy=tfds.testing.MockPolicy.USE_CODE
    ):
        return fn()


def raw_examples(name, split="train"):
    """The mocked examples as dicts of numpy values, straight from tfds."""
    return list(tfds.as_numpy(tfds.load(name, split=split)))


def scalar_spec(dtype):
    return tf.TensorSpec(shape=(), dtype=dtype)


@pytest.mark.parametrize(
    "name, source, target",
    [
        ("ted_hrlr_translate/pt_to_en", "pt", "en"),
        ("wmt14_translate/de-en", "de", "en"),
    ],
)
def test_tfds_translation(name, source, target):
    def body():
        dataset = tfds_translation(name, "train")
        swapped = tfds_translation(name, "train", target, source)
        return (
            dataset.element_spec,
            list(dataset.as_numpy_iterator()),
            list(swapped.as_numpy_iterator()),
            raw_examples(name),
        )

    spec, pairs, swapped, raw = run_mocked(body)
    assert spec == (scalar_spec(tf.string), scalar_spec(tf.string))
    assert len(pairs) == 4
    # Defaults follow supervised_keys: source first.
    assert pairs == [(ex[source], ex[target]) for ex in raw]
    assert any(s != t for s, t in pairs)
    assert swapped == [(t, s) for s, t in pairs]


def test_tfds_translation_bad_language():
    def body():
        with pytest.raises(ValueError) as info:
            tfds_translation("ted_hrlr_translate/pt_to_en", "train", "fr")
        return str(info.value)

    message = run_mocked(body)
    assert "'fr'" in message and "'pt'" in message and "'en'" in message


@pytest.mark.parametrize(
    "name, text_key, expected_text_key, names",
    [
        ("imdb_reviews", None, "text", ["neg", "pos"]),
        (
            "ag_news_subset",
            None,
            "description",
            ["World", "Sports", "Business", "Sci/Tech"],
        ),
        (
            "ag_news_subset",
            "title",
            "title",
            ["World", "Sports", "Business", "Sci/Tech"],
        ),
    ],
)
def test_tfds_classification(name, text_key, expected_text_key, names):
    def body():
        dataset, class_names = tfds_classification(
            name, "train", text_key=text_key
        )
        return (
            dataset.element_spec,
            list(dataset.as_numpy_iterator()),
            class_names,
            raw_examples(name),
        )

    spec, examples, class_names, raw = run_mocked(body, num_examples=6)
    assert spec == (scalar_spec(tf.string), scalar_spec(tf.int64))
    assert class_names == names
    assert [text for text, _ in examples] == [
        ex[expected_text_key] for ex in raw
    ]
    assert [int(label) for _, label in examples] == [
        int(ex["label"]) for ex in raw
    ]
    assert all(0 <= label < len(names) for _, label in examples)


def test_tfds_classification_bad_keys():
    def body():
        messages = []
        for kwargs in ({"text_key": "body"}, {"label_key": "title"}):
            with pytest.raises(ValueError) as info:
                tfds_classification("ag_news_subset", "train", **kwargs)
            messages.append(str(info.value))
        return messages

    missing, not_class_label = run_mocked(body)
    assert "'body'" in missing and "'description'" in missing
    assert "ClassLabel" in not_class_label


@pytest.mark.parametrize("num_examples", [1, 3])
def test_tfds_text(num_examples):
    def body():
        return tfds_text("tiny_shakespeare", "train"), raw_examples(
            "tiny_shakespeare"
        )

    text, raw = run_mocked(body, num_examples=num_examples)
    assert isinstance(text, str)
    assert text == "\n".join(ex["text"].decode("utf-8") for ex in raw)
    assert len(raw) == num_examples


def test_tfds_unknown_dataset():
    with pytest.raises(ValueError, match="no_such_dataset_xyz"):
        tfds_translation("no_such_dataset_xyz", "train")
    with pytest.raises(ValueError, match="no_such_dataset_xyz"):
        tfds_text("no_such_dataset_xyz", "train")


def test_tfds_without_data_or_network(tmp_path, monkeypatch):
    def no_network(self, *args, **kwargs):
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr(
        tfds.core.DatasetBuilder, "download_and_prepare", no_network
    )
    with pytest.raises(FileNotFoundError) as info:
        tfds_text("tiny_shakespeare", "train", data_dir=str(tmp_path))
    message = str(info.value)
    assert "internet" in message and "data_dir" in message
    assert str(tmp_path) in message
    assert isinstance(info.value.__cause__, ConnectionError)


def test_tfds_not_prepared_and_download_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(
        tfds.core.DatasetBuilder,
        "download_and_prepare",
        lambda self, *args, **kwargs: None,
    )
    with pytest.raises(FileNotFoundError, match="data_dir") as info:
        tfds_classification("imdb_reviews", "train", data_dir=str(tmp_path))
    assert info.value.__cause__ is not None
