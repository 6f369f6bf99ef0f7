"""Summarisation learns generated dialogues, beats longest-3, exports."""

import gzip
import json
import pathlib
import random

import pytest
from rouge_score import rouge_scorer

from keras_transformer.errors import ConfigError, DataError
from keras_transformer.experiment import experiment_from_dict
from keras_transformer.tasks.summarization.metrics import (
    longest_lines,
    split_sentences,
    summarization_metrics,
)
from keras_transformer.tasks.summarization.summaries import (
    join_lines_text,
    read_summary_pairs,
)

NAMES = ["Ann", "Bob", "Cleo", "Dan", "Eve", "Finn", "Gia", "Hugo"]
PLACES = ["park", "cafe", "station", "library", "gym", "cinema"]
DAYS = ["monday", "tuesday", "friday", "saturday", "sunday"]
CHATTER = [
    "how was your week",
    "i am so tired today after all that work",
    "did you see the game last night",
    "my sister says hello to you",
    "the weather is terrible again",
    "i finished the report at last",
    "what are you doing now",
]


def meeting_dialogues(count, seed=0):
    """SAMSum-like records: two people chat and agree where and when to
    meet; the summary says who meets where and when. Long chatter lines
    make the longest-3 baseline a poor summary."""
    rng = random.Random(seed)
    records = []
    for index in range(count):
        a, b = rng.sample(NAMES, 2)
        place, day = rng.choice(PLACES), rng.choice(DAYS)
        lines = [f"{a}: hi {b}", f"{b}: hey"]
        for _ in range(rng.randint(1, 3)):
            lines.append(f"{rng.choice([a, b])}: {rng.choice(CHATTER)}")
        lines += [f"{a}: meet at the {place} on {day}?", f"{b}: sure"]
        for _ in range(rng.randint(0, 2)):
            lines.append(f"{rng.choice([a, b])}: {rng.choice(CHATTER)}")
        records.append(
            {
                "id": str(index),
                "dialogue": "\r\n".join(lines),
                "summary": f"{a} and {b} will meet at the {place} on {day}.",
            }
        )
    return records


def _write_json(path, records, lines=False):
    text = (
        "".join(json.dumps(r) + "\n" for r in records)
        if lines
        else json.dumps(records)
    )
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def _experiment(root, **changes):
    values = {
        "task": "summarization",
        "data": {
            "source": "files",
            "format": "json",
            "path": str(root / "{split}"),
            "split_names": {
                "train": "train.json.gz",
                "validation": "val.jsonl",
                "test": "test.json",
            },
        },
        "tokenizer": {"vocab_size": 90},
        "model": {
            "num_layers": 1,
            "d_model": 48,
            "num_heads": 4,
            "ff_dim": 96,
            "dropout": 0.0,
        },
        "training": {
            "steps": 120,
            "steps_per_epoch": 120,
            "batch_tokens": 1024,
            "max_length": 96,
            "schedule": "constant",
            "learning_rate": 0.003,
            "label_smoothing": 0.0,
        },
        "evaluation": {
            "max_examples": 20,
            "decoding": {"beam_size": 2, "no_repeat_ngram_size": 3},
        },
        "task_settings": {"summarization": {"max_summary_length": 24}},
    }
    for key, value in changes.items():
        values[key].update(value)
    return experiment_from_dict(values)


@pytest.fixture(scope="module")
def summarization_run(tmp_path_factory):
    from keras_transformer.train import train_and_evaluate

    root = tmp_path_factory.mktemp("summarization")
    _write_json(root / "train.json.gz", meeting_dialogues(1500, seed=0))
    _write_json(root / "val.jsonl", meeting_dialogues(20, seed=1), lines=True)
    _write_json(root / "test.json", meeting_dialogues(20, seed=2))
    workdir = str(root / "run")
    # The copying model of configs/samsum.yaml: training, decoding, the
    # CLI and the export below all go through its PointerGenerator.
    experiment = _experiment(root, model={"copy_source": True})
    metrics = train_and_evaluate(experiment, workdir, verbose=0)
    return workdir, metrics


# ----------------------------------------------------------------- reading


def test_json_jsonl_and_tsv_read_the_same_pairs(tmp_path):
    records = meeting_dialogues(3)
    _write_json(tmp_path / "a.json", records)
    _write_json(tmp_path / "a.jsonl.gz", records, lines=True)
    (tmp_path / "a.tsv").write_text(
        "".join(
            f"{join_lines_text(r['dialogue'])}\t{r['summary']}\n"
            for r in records
        )
    )
    expected = [
        (r["dialogue"].replace("\r\n", "\n"), r["summary"]) for r in records
    ]
    assert read_summary_pairs(tmp_path / "a.json") == expected
    assert read_summary_pairs(tmp_path / "a.jsonl.gz") == expected
    tsv = read_summary_pairs(tmp_path / "a.tsv", format="tsv")
    assert [s for _, s in tsv] == [s for _, s in expected]
    assert "\n" not in tsv[0][0] and " | " in tsv[0][0]
    assert join_lines_text(expected[0][0]) == tsv[0][0]


@pytest.mark.parametrize(
    "content, message",
    [
        (
            '[{"dialogue": "A: hi", "summary": "x"}, {"dialogue": " ", '
            '"summary": "y", "id": "7"}]',
            r"a\.json, record 1 \(id 7\): the document \(dialogue\) is empty",
        ),
        (
            '{"dialogue": "A: hi", "summary": "x"}\n\n'
            '{"dialogue": "A: hi", "summary": ""}\n',
            r"a\.json, line 3: the summary \(summary\) is empty.*skip_empty",
        ),
        (
            '[{"text": "A: hi", "summary": "x"}]',
            r"record 0: no key 'dialogue' \(set by "
            r"task_settings\.document_key\); its keys are "
            r"\['summary', 'text'\]",
        ),
        ('[{"dialogue": 3, "summary": "x"}]', "'dialogue' must be a string"),
        ('[{"dialogue": "a", "summary": "x"},]', "invalid JSON at line 1"),
        (
            '{"dialogue": "a", "summary": "x"}\n{"dialogue": \n',
            "line 2: invalid JSON",
        ),
        ('["just text"]', "record 0: expected an object"),
    ],
)
def test_bad_json_names_file_record_and_fix(tmp_path, content, message):
    (tmp_path / "a.json").write_text(content)
    with pytest.raises(DataError, match=message):
        read_summary_pairs(tmp_path / "a.json")


def test_empty_sides_in_tsv_name_the_line_or_are_skipped(tmp_path):
    path = tmp_path / "a.tsv"
    path.write_text("doc one\tsum one\n\n   \tsum two\ndoc three\tsum\n")
    with pytest.raises(DataError, match=r"a\.tsv, line 3: the document"):
        read_summary_pairs(path, format="tsv")
    logged = []
    pairs = read_summary_pairs(
        path, format="tsv", skip_empty=True, log=logged.append
    )
    assert pairs == [("doc one", "sum one"), ("doc three", "sum")]
    assert "skipped 1 pairs" in logged[0]
    with pytest.raises(DataError, match="line 1: expected at least 3"):
        read_summary_pairs(path, format="tsv", target_column=2)


def test_a_wrong_format_or_source_is_a_config_error(tmp_path):
    from keras_transformer.tasks import get_task

    experiment = _experiment(tmp_path, data={"format": "labelled"})
    with pytest.raises(ConfigError, match="does not fit task"):
        get_task(experiment).load_splits()
    experiment = _experiment(tmp_path, data={"source": "builtin"})
    with pytest.raises(ConfigError, match="does not fit task"):
        get_task(experiment).load_splits()


@pytest.mark.parametrize(
    "name, document_key", [("samsum", "dialogue"), ("xsum", "document")]
)
def test_tfds_pairs_come_from_the_configured_features(name, document_key):
    from keras_transformer.tasks import get_task
    from tests.data.test_tfds_sources import raw_examples, run_mocked

    def body():
        experiment = _experiment(
            pathlib.Path("."),
            data={
                "source": "tfds",
                "name": name,
                "split_names": {
                    "train": "train",
                    "validation": "validation",
                    "test": "test",
                },
            },
            task_settings={"summarization": {"document_key": document_key}},
        )
        splits = get_task(experiment).load_splits()
        pairs = list(splits["test"].as_numpy_iterator())
        raw = raw_examples(name, "test")
        bad = _experiment(
            pathlib.Path("."),
            data={"source": "tfds", "name": name},
            task_settings={"summarization": {"document_key": "text"}},
        )
        with pytest.raises(
            ValueError, match="document_key=.text. .*Available feature"
        ):
            get_task(bad).load_splits()
        return pairs, raw

    pairs, raw = run_mocked(body)
    assert pairs and len(pairs) == len(raw)
    assert [p[0] for p in pairs] == [r[document_key] for r in raw]
    assert [p[1] for p in pairs] == [r["summary"] for r in raw]


# ----------------------------------------------------------------- metrics


def test_rouge_is_the_mean_of_rouge_score_with_stemming():
    hypotheses = ["Ann is running late. Bob waits.", "the cats sat", ""]
    references = ["Bob waits for Ann. Ann runs late.", "a cat sits", "x"]
    scorer = rouge_scorer.RougeScorer(
        ["rouge1", "rouge2", "rougeLsum"], use_stemmer=True
    )
    expected = {"rouge1": 0.0, "rouge2": 0.0, "rougeLsum": 0.0}
    for hypothesis, reference in zip(hypotheses, references):
        scores = scorer.score(
            reference.replace(". ", ".\n"), hypothesis.replace(". ", ".\n")
        )
        for name in expected:
            expected[name] += scores[name].fmeasure / 3
    found = summarization_metrics(hypotheses, references)
    for name in expected:
        assert found[name] == pytest.approx(100 * expected[name], abs=0.01)
    # Stemming: "cats sat" meets "cat sits" at "cat" only; "runs"/"running".
    assert found["rouge1"] > 0
    # Sentences on separate lines matter: summary-level LCS of one line is
    # plain LCS, which scores the reordered sentences lower.
    one_line = sum(
        scorer.score(r, h)["rougeLsum"].fmeasure
        for h, r in zip(hypotheses, references)
    )
    assert found["rougeLsum"] > 100 * one_line / 3 + 1


def test_sentences_and_the_longest_three_baseline():
    assert split_sentences("Hi. How are you?\nFine!  ok") == [
        "Hi.",
        "How are you?",
        "Fine!",
        "ok",
    ]
    dialogue = "A: hi\r\nB: how are you today?\nA: fine\nB: ok, bye\nA: a b c d"
    assert longest_lines(dialogue) == (
        "B: how are you today?\nB: ok, bye\nA: a b c d"
    )
    assert longest_lines("One. Three words here. Two words.", count=2) == (
        "Three words here.\nTwo words."
    )
    assert longest_lines("A: hi") == "A: hi"


# --------------------------------------------------------------- learning


@pytest.mark.slow
def test_summaries_beat_the_longest_three_baseline(summarization_run):
    _, metrics = summarization_run
    # The baseline holds the long chatter lines: a poor summary.
    assert metrics["baseline_rouge1"] < 45
    for name in ("rouge1", "rougeLsum"):
        assert metrics[name] > 70
        assert metrics[name] > metrics[f"baseline_{name}"] + 30
    assert metrics["rouge2"] > 50 > metrics["baseline_rouge2"] + 20
    assert "no_repeat_ngram_size=3" in metrics["decode"]


@pytest.mark.slow
def test_names_places_and_days_are_copied(summarization_run):
    from keras_transformer.run import load_finished

    workdir, _ = summarization_run
    task, model = load_finished(workdir, compile=False)
    document = "\n".join(
        [
            "Eve: hi Finn",
            "Finn: hey",
            "Eve: meet at the gym on friday?",
            "Finn: sure",
        ]
    )
    source, output, weights, copied = task.predictor(model).copy_attention(
        document
    )
    words = {"Eve", "Finn", "gym", "friday"}
    named = [t for t, piece in enumerate(output) if piece.strip("▁") in words]
    assert named, output  # the summary names them
    for t in named:
        # Mostly copied, from a source position holding that very piece.
        assert copied[t] > 0.5, (output[t], copied[t])
        assert source[int(weights[t].argmax())] == output[t]
    # A piece absent from the dialogue can only be generated.
    for t, piece in enumerate(output):
        if piece not in source:
            assert copied[t] < 0.5, (piece, copied[t])


@pytest.mark.slow
def test_the_export_and_the_cli_give_the_same_summaries(
    summarization_run, tmp_path, capsys
):
    import tensorflow as tf

    from keras_transformer import cli
    from keras_transformer.export import export_run

    workdir, _ = summarization_run
    records = meeting_dialogues(3, seed=9)
    documents = [r["dialogue"] for r in records]
    # The CLI reads one line per document: " | " separates its lines.
    texts = documents + [join_lines_text(documents[0])]
    capsys.readouterr()
    cli.main(
        [
            "predict",
            "--workdir",
            workdir,
            "--no-repeat-ngram-size",
            "3",
            *texts,
        ]
    )
    lines = capsys.readouterr().out.strip().split("\n")
    assert len(lines) == 4 and lines[3] == lines[0]
    references = [r["summary"] for r in records]
    assert summarization_metrics(lines[:3], references)["rouge1"] > 60

    info = export_run(workdir, str(tmp_path / "export"))
    served = tf.saved_model.load(info["path"]).signatures["serving_default"](
        text=tf.constant(documents)
    )
    assert set(served) == {"summary", "score"}
    assert [s.decode() for s in served["summary"].numpy()] == lines[:3]
    assert (served["score"].numpy() < 0).all()
