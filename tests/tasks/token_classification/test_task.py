"""Token classification (NER) learns, predicts, exports and reads tfds."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_transformer.errors import DataError
from keras_transformer.experiment import experiment_from_dict
from keras_transformer.run import load_finished
from keras_transformer.tasks import get_task
from keras_transformer.tasks.token_classification.tagged_words import (
    word_pieces,
)
from keras_transformer.train import train_and_evaluate
from tests.generated import (
    MASKED_LM,
    NER_FILLER,
    conll_text,
    entity_sentences,
)

pytestmark = pytest.mark.slow

SIZES = {"train": 3000, "validation": 40, "test": 100}


def _values(root, **training):
    return {
        "task": "token_classification",
        "data": {
            "source": "files",
            "format": "conll",
            "path": str(root / "{split}.conll"),
        },
        "tokenizer": {"vocab_size": 400},
        "model": {
            "num_layers": 1,
            "d_model": 64,
            "num_heads": 4,
            "ff_dim": 128,
            "dropout": 0.0,
            "norm_first": True,
        },
        "training": {
            "steps": 200,
            "steps_per_epoch": 200,
            "batch_tokens": 2048,
            "max_length": 32,
            "schedule": "constant",
            "learning_rate": 0.003,
            "label_smoothing": 0.0,
            **training,
        },
        "evaluation": {"max_examples": None},
    }


def _write_data(root, sizes=SIZES):
    for seed, (split, count) in enumerate(sizes.items()):
        (root / f"{split}.conll").write_text(
            conll_text(entity_sentences(count, seed=seed)), encoding="utf-8"
        )


@pytest.fixture(scope="module")
def tagger(ner_run):
    task, model = load_finished(ner_run, compile=False)
    return task.predictor(model)


@pytest.fixture(scope="module")
def ner_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ner")
    _write_data(root)
    workdir = str(root / "run")
    train_and_evaluate(experiment_from_dict(_values(root)), workdir, verbose=0)
    return workdir


def _spans(tags):
    """(type, first word, last word) of each entity, as conlleval reads
    BIO tags (an I-X that does not continue an X entity starts one)."""
    spans, current = [], None
    for index, tag in enumerate(tags + ["O"]):
        prefix, _, kind = tag.partition("-")
        if current and (prefix != "I" or kind != current[0]):
            spans.append((current[0], current[1], index - 1))
            current = None
        if prefix in ("B", "I") and current is None:
            current = (kind, index)
    return spans


def _f1(gold, predicted):
    found = right = expected = 0
    for number, (tags, guess) in enumerate(zip(gold, predicted)):
        truth = {(number, *span) for span in _spans(tags)}
        spans = {(number, *span) for span in _spans(guess)}
        expected += len(truth)
        found += len(spans)
        right += len(truth & spans)
    precision, recall = right / max(found, 1), right / max(expected, 1)
    return 2 * precision * recall / max(precision + recall, 1e-12)


def test_entity_f1_is_far_above_the_most_frequent_tag_baseline(ner_run):
    with open(os.path.join(ner_run, "metrics.json")) as handle:
        metrics = json.load(handle)
    # The baseline, computed here: each test word gets its most frequent
    # training tag (unknown words: O).
    train = entity_sentences(SIZES["train"], seed=0)
    test = entity_sentences(SIZES["test"], seed=2)
    counts = {}
    for words, tags in train:
        for word, tag in zip(words, tags):
            counts.setdefault(word, {}).setdefault(tag, 0)
            counts[word][tag] += 1
    guess = [
        [max(counts[w], key=counts[w].get) if w in counts else "O" for w in ws]
        for ws, _ in test
    ]
    baseline = _f1([tags for _, tags in test], guess)
    assert metrics["baseline_f1"] == pytest.approx(baseline, abs=1e-4)
    assert baseline < 0.25
    assert metrics["entity_f1"] > 0.6 > 2.4 * baseline
    assert {"entity_precision", "entity_recall", "f1_person"} <= set(metrics)


def test_evaluation_rows_and_f1_match_an_independent_count(ner_run):
    task, model = load_finished(ner_run)
    splits = task.load_splits()
    metrics, rows = task.evaluate(model, splits, "test", verbose=0)
    assert len(rows) == SIZES["test"]
    test = entity_sentences(SIZES["test"], seed=2)
    assert [row["words"] for row in rows] == [" ".join(w) for w, _ in test]
    assert [row["tags"] for row in rows] == [" ".join(t) for _, t in test]
    gold = [row["tags"].split() for row in rows]
    predicted = [row["predicted"].split() for row in rows]
    assert metrics["entity_f1"] == pytest.approx(_f1(gold, predicted), abs=1e-4)
    # The words after the first piece do not count: the accuracy is over
    # words, as counted from the rows.
    words = sum(len(tags) for tags in gold)
    wrong = sum(row["wrong"] for row in rows)
    assert metrics["accuracy"] == pytest.approx(1 - wrong / words, abs=1e-3)


def _windows(words, counts, kept):
    """Consecutive runs of whole words of at most ``kept`` pieces."""
    windows, size = [], kept
    for word, count in zip(words, counts):
        if size + count > kept:
            windows.append([])
            size = 0
        windows[-1].append(word)
        size += count
    return windows


def test_evaluation_tags_the_words_of_every_window(ner_run):
    task, model = load_finished(ner_run, compile=False)
    whole = task.predictor(model)
    sentences = [words for words, _ in entity_sentences(SIZES["test"], 2)]
    counts = [_piece_counts(whole, words) for words in sentences]
    # Windows of as many pieces as the longest word: none is cut.
    kept = max(max(row) for row in counts)
    windows = [
        _windows(words, row, kept) for words, row in zip(sentences, counts)
    ]
    assert sum(len(row) > 2 for row in windows) > len(sentences) / 2
    task.experiment.training.max_length = kept + 2
    data = task.load_splits()["test"]
    metrics, rows = task.evaluate_outputs(model, data, verbose=0)
    predicted = [row["predicted"].split() for row in rows]
    # As tagged window by window, each window a short sentence.
    alone = iter(whole.tag_words([w for row in windows for w in row]))
    expected = [sum((next(alone) for _ in row), []) for row in windows]
    assert predicted == expected
    later = [
        tag
        for row, tags in zip(windows, expected)
        for tag in tags[len(row[0]) :]
    ]
    assert sum(tag != "O" for tag in later) > len(sentences) / 2
    gold = [row["tags"].split() for row in rows]
    assert metrics["entity_f1"] == pytest.approx(_f1(gold, predicted), abs=1e-4)
    words = sum(len(tags) for tags in gold)
    wrong = sum(row["wrong"] for row in rows)
    assert metrics["accuracy"] == pytest.approx(1 - wrong / words, abs=1e-4)


TEXTS = [
    "later we met Bébé Ørka  in Kalomi today",
    "",
    "   ",
    "a nice day",
    "they called Zøra then",
]


def _check_entities(texts, rows):
    for text, row in zip(texts, rows):
        assert row["words"] == text.split()
        assert len(row["tags"]) == len(row["words"])
        for entity in row["entities"]:
            assert text[entity["start"] : entity["end"]] == entity["text"]
            assert entity["type"] in ("person", "location")


def test_predict_finds_entities_with_character_offsets(tagger):
    rows = tagger.predict(TEXTS)
    _check_entities(TEXTS, rows)
    # Made-up names after "met" and "in": a person and a location.
    assert {"type": "location", "text": "Kalomi", "start": 27, "end": 33} in (
        rows[0]["entities"]
    )
    assert rows[0]["entities"][0]["type"] == "person"
    assert rows[0]["entities"][0]["start"] == 13
    assert rows[1] == rows[2] == {"entities": [], "words": [], "tags": []}
    assert rows[3]["entities"] == []
    assert tagger.format(rows[0]).startswith('person "Bébé')


def _piece_counts(tagger, words):
    pieces = word_pieces(tagger.tokenizer, tf.constant(words, tf.string))
    return pieces.row_lengths().numpy().tolist()


def _long_text(tagger, short):
    """A window's worth of one-piece filler words, then ``short``."""
    kept = tagger.max_length - 2
    assert sum(_piece_counts(tagger, short.split())) <= kept
    counts = _piece_counts(tagger, NER_FILLER)
    assert 1 in counts
    return " ".join([NER_FILLER[counts.index(1)]] * kept) + "  " + short


def test_words_beyond_the_first_window_are_tagged_as_in_a_short_text(tagger):
    short = TEXTS[0]
    long = _long_text(tagger, short)
    long_row, short_row = tagger.predict([long, short])
    assert {e["type"] for e in short_row["entities"]} == {"person", "location"}
    first = len(long.split()) - len(short.split())
    assert long_row["words"][first:] == short_row["words"]
    assert long_row["tags"][first:] == short_row["tags"]
    shift = long.index(short)
    assert [e for e in long_row["entities"] if e["start"] >= shift] == [
        dict(e, start=e["start"] + shift, end=e["end"] + shift)
        for e in short_row["entities"]
    ]
    _check_entities([long], [long_row])


def test_export_serves_the_same_entities(ner_run, tagger, tmp_path):
    from keras_transformer.export import export_run

    info = export_run(ner_run, str(tmp_path / "exports"))
    served = tf.saved_model.load(info["path"]).signatures["serving_default"]
    texts = TEXTS + [_long_text(tagger, TEXTS[0])]
    outputs = served(text=tf.constant(texts))
    expected = tagger.serve(tf.constant(texts))
    assert set(outputs) == set(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(outputs[key].numpy(), value.numpy())
    assert outputs["starts"].numpy()[0].tolist()[-1] == 27
    assert set(outputs["types"].numpy()[1].tolist()) <= {b""}
    assert b"location" in outputs["types"].numpy()[-1].tolist()


def test_cli_predict_prints_one_line_per_text(ner_run, tagger, capsys):
    from keras_transformer.cli import main

    code = main(["predict", "--workdir", ner_run, TEXTS[0], TEXTS[3]])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    expected = [tagger.format(row) for row in tagger.predict(TEXTS[:1])]
    assert lines == expected + [""]
    assert lines[0].endswith('location "Kalomi" 27-33')


def test_init_from_a_masked_lm_run_copies_the_encoder(
    masked_lm_run, tmp_path, capsys
):
    _write_data(tmp_path, {"train": 50, "validation": 5, "test": 5})
    values = _values(tmp_path, steps=2, steps_per_epoch=2, max_length=16)
    values["model"] = dict(MASKED_LM["model"], init_from=masked_lm_run)
    values["tokenizer"] = MASKED_LM["tokenizer"]
    train_and_evaluate(
        experiment_from_dict(values), str(tmp_path / "run"), verbose=0
    )
    output = capsys.readouterr().out
    assert f"Initialised from {masked_lm_run}: embedding" in output
    assert "new: logits" in output


def test_tags_missing_from_training_are_refused(tmp_path):
    _write_data(tmp_path, {"train": 20, "validation": 5, "test": 5})
    with open(tmp_path / "test.conll", "a") as handle:
        handle.write("Paris\tB-city\n\n")
    task = get_task(experiment_from_dict(_values(tmp_path)))
    with pytest.raises(DataError, match=r"test split has tags \['B-city'\]"):
        task.load_splits()


def test_tfds_conll2003_gives_words_and_tag_names(tmp_path):
    import tensorflow_datasets as tfds

    values = _values(tmp_path)
    values["data"] = {
        "source": "tfds",
        "name": "conll2003",
        "label_key": "ner",
        "split_names": {"validation": "dev"},
    }
    values["tokenizer"] = {"type": "byte"}
    task = get_task(experiment_from_dict(values))
    with tfds.testing.mock_data(num_examples=3):
        splits = task.load_splits()
        builder = tfds.builder("conll2003")
        names = builder.info.features["ner"].feature.names
        examples = list(splits["validation"].as_numpy_iterator())
        raw = list(tfds.as_numpy(builder.as_dataset(split="dev")))
        values["data"]["label_key"] = "pos"  # part-of-speech: not BIO
        with pytest.raises(DataError, match="label_key='pos'.*BIO or BIOES"):
            get_task(experiment_from_dict(values)).load_splits()
    assert splits.label_names == list(names)
    assert splits.label_names[:3] == ["O", "B-PER", "I-PER"]
    assert len(examples) == len(raw) == 3
    for (words, tags), example in zip(examples, raw):
        assert words.dtype == object and tags.dtype == np.int64
        assert words.tolist() == example["tokens"].tolist()
        assert tags.tolist() == example["ner"].tolist()


def test_a_bad_conll_line_is_one_error_line_naming_file_and_line(
    tmp_path, capsys
):
    from keras_transformer.cli import main

    _write_data(tmp_path, {"train": 20, "validation": 5, "test": 5})
    with open(tmp_path / "validation.conll", "a") as handle:
        handle.write("New York\tB-location\n")
    config = tmp_path / "ner.yaml"
    config.write_text(
        "task: token_classification\n"
        "data:\n"
        "  source: files\n"
        "  format: conll\n"
        f"  path: {tmp_path}/{{split}}.conll\n"
    )
    code = main(["train", str(config), "--workdir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    lines = (tmp_path / "validation.conll").read_text().splitlines()
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert f"validation.conll', line {len(lines)}: 3 column(s)" in err
    assert not (tmp_path / "run" / "model.keras").exists()
