"""Question answering: a tiny model learns generated SQuAD data far above
the overlap-sentence baseline; predict, export and the command line give
answers with character offsets; bad input gives one-line errors."""

import json
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transformer import cli
from keras_transformer.data.tokenizers import ByteTokenizer
from keras_transformer.errors import DataError
from keras_transformer.experiment import (
    experiment_from_dict,
    load_experiment,
)
from keras_transformer.run import load_finished
from keras_transformer.tasks import get_task
from keras_transformer.tasks.question_answering.predictor import AnswerExtractor
from keras_transformer.train import train_and_evaluate

NAMES = "Ann Bo Cleo José Karl Lena Mia Zoë Ægir Søren".split()
CITIES = "Paris Rome Oslo Kraków Zürich Lima Cairo Malmö".split()
JOBS = "baker pilot nurse farmer singer chef".split()


def generated_squad(num_articles, seed=0, paragraphs=4):
    """SQuAD v1.1 JSON of contexts about two people ("Zoë lives in Kraków.
    Bo works as a chef. ..."), asking where one lives or what their job
    is. The sentence sharing most words with a question is a sentence
    about the right person, but half the time not the asked fact; as an
    answer it scores F1 2/5 at best."""
    rng = np.random.default_rng(seed)
    data, number = [], 0
    for article in range(num_articles):
        items = []
        for _ in range(paragraphs):
            facts = []
            for name in rng.choice(NAMES, 2, replace=False):
                facts.append(
                    (
                        name,
                        "lives in",
                        str(rng.choice(CITIES)),
                        f"Where does {name} live?",
                    )
                )
                facts.append(
                    (
                        name,
                        "works as a",
                        str(rng.choice(JOBS)),
                        f"What is the job of {name}?",
                    )
                )
            context, qas = "", []
            for index in rng.permutation(len(facts)):
                name, verb, value, question = facts[index]
                start = len(context) + len(f"{name} {verb} ")
                context += f"{name} {verb} {value}. "
                qas.append(
                    {
                        "id": f"q{number}",
                        "question": question,
                        "answers": [{"text": value, "answer_start": start}],
                    }
                )
                number += 1
            chosen = rng.choice(len(qas), 2, replace=False)
            items.append(
                {"context": context.strip(), "qas": [qas[i] for i in chosen]}
            )
        data.append({"title": f"article {article}", "paragraphs": items})
    return {"version": "1.1", "data": data}


def qa_values(path, **training):
    return {
        "task": "question_answering",
        "data": {"source": "files", "format": "squad", "path": str(path)},
        "tokenizer": {"vocab_size": 160, "model_type": "bpe"},
        "model": {
            "num_layers": 2,
            "d_model": 32,
            "num_heads": 4,
            "ff_dim": 64,
            "dropout": 0.0,
        },
        "training": {
            "steps": 200,
            "steps_per_epoch": 200,
            "batch_tokens": 1024,
            "max_length": 32,
            "schedule": "constant",
            "learning_rate": 0.003,
            **training,
        },
        "task_settings": {
            "question_answering": {"doc_stride": 8, "max_answer_length": 4}
        },
    }


@pytest.fixture(scope="module")
def qa_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("question_answering")
    path = root / "squad.json"
    path.write_text(json.dumps(generated_squad(100)), encoding="utf-8")
    workdir = str(root / "run")
    train_and_evaluate(
        experiment_from_dict(qa_values(path)), workdir, verbose=0
    )
    return workdir


@pytest.mark.slow
def test_learns_far_above_the_overlap_sentence_baseline(qa_run):
    with open(f"{qa_run}/metrics.json") as handle:
        metrics = json.load(handle)
    assert metrics["steps"] == 200
    # Best sentence: "Zoë lives in Kraków." for "Kraków": F1 2/5 = 40 at
    # most, 0 when it is the person's other sentence.
    assert 10 < metrics["baseline_f1"] <= 40
    assert metrics["baseline_exact_match"] == 0
    assert metrics["f1"] > 2 * metrics["baseline_f1"]
    assert metrics["exact_match"] > 40


@pytest.mark.slow
def test_predict_finds_answers_of_the_asked_kind_at_their_offsets(qa_run):
    task, model = load_finished(qa_run, compile=False)
    extractor = task.predictor(model)
    context = "Zoë works as a nurse. Søren lives in Malmö. Zoë lives in Kraków."
    questions = ["Where does Zoë live?", "What is the job of Zoë?"]
    rows = extractor.predict([(q, context) for q in questions])
    assert rows[0]["answer"] in CITIES and rows[1]["answer"] in JOBS
    for row in rows:
        assert context[row["start"] : row["end"]] == row["answer"]
        assert 0 < row["score"] <= 1
    # Shorter windows (several per context) still find an answer of the
    # right kind, at its character offsets.
    short = AnswerExtractor(model, task.tokenizers[0], 20, 4, 4)
    again = short.predict([(q, context) for q in questions])
    assert again[0]["answer"] in CITIES and again[1]["answer"] in JOBS
    for row in again:
        assert context[row["start"] : row["end"]] == row["answer"]


@pytest.mark.slow
def test_the_export_answers_as_predict_does(qa_run, tmp_path):
    from keras_transformer.export.saved_model import export_run

    task, model = load_finished(qa_run, compile=False)
    pairs = [
        ("Where does Bo live?", "Bo lives in Zürich. Bo works as a chef."),
        (
            "What is the job of Ægir?",
            "Ægir works as a pilot. Mia lives in Lima.",
        ),
    ]
    expected = task.predictor(model).predict(pairs)
    path = export_run(qa_run, str(tmp_path / "export"))["path"]
    serve = tf.saved_model.load(path).signatures["serving_default"]
    outputs = serve(
        question=tf.constant([q for q, _ in pairs]),
        context=tf.constant([c for _, c in pairs]),
    )
    assert [a.decode() for a in outputs["answer"].numpy()] == [
        row["answer"] for row in expected
    ]
    assert outputs["start"].numpy().tolist() == [r["start"] for r in expected]
    assert outputs["end"].numpy().tolist() == [r["end"] for r in expected]
    np.testing.assert_allclose(
        outputs["score"].numpy(), [r["score"] for r in expected], rtol=1e-5
    )


@pytest.mark.slow
def test_cli_predict_reads_question_tab_context(qa_run, capsys):
    context = "Karl lives in Oslo. Karl works as a baker."
    status = cli.main(
        ["predict", "--workdir", qa_run, f"Where does Karl live?\t{context}"]
    )
    out = capsys.readouterr().out.strip().splitlines()[-1]
    answer, start, end = out.split("\t")
    assert status == 0
    assert context[int(start) : int(end)] == answer
    status = cli.main(["predict", "--workdir", qa_run, "no tab here"])
    error = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert error == [
        "error: argument 1: expected question<TAB>context, got a line "
        "without a tab: 'no tab here'"
    ]


@pytest.mark.slow
def test_bad_questions_and_contexts_are_refused(qa_run):
    task, model = load_finished(qa_run, compile=False)
    extractor = task.predictor(model)
    with pytest.raises(DataError, match="question 2 has .* tokens.*at most"):
        extractor.predict([("Who?", "Bo."), (" ".join(NAMES * 4), "Bo.")])
    with pytest.raises(DataError, match="example 1 has an empty context"):
        extractor.predict([("Who?", "")])


# ---------------------------------------------------- without training


class PointAt(keras.Model):
    """Start logit 5 at one token id, end logit 5 at another: the span
    between them is the answer (a stand-in for a trained model)."""

    def __init__(self, start_id, end_id):
        super().__init__(name="point_at")
        self.start_id, self.end_id = start_id, end_id

    def call(self, inputs):
        tokens = inputs["tokens"]
        start = tf.cast(tokens == self.start_id, tf.float32) * 5.0
        end = tf.cast(tokens == self.end_id, tf.float32) * 5.0
        return tf.stack([start, end], axis=-1)


def test_the_best_span_over_windows_maps_to_characters():
    tokenizer = ByteTokenizer()
    ids = tokenizer.tokenize("<>").numpy().tolist()
    # Bytes before the answer are 2 per character (é), so character and
    # byte offsets differ; the answer lies in windows 5 and 6 only.
    context = "é" * 30 + " <ü> " + "a" * 40
    extractor = AnswerExtractor(
        PointAt(*ids),
        tokenizer,
        max_length=20,
        stride=6,
        max_answer_length=6,
    )
    (row,) = extractor.predict([("Q", context)])
    assert row["answer"] == "<ü>"
    assert (row["start"], row["end"]) == (31, 34)
    assert context[row["start"] : row["end"]] == "<ü>"
    # Too long: an end more than max_answer_length tokens after the start.
    narrow = AnswerExtractor(PointAt(*ids), tokenizer, 20, 6, 3)
    (row,) = narrow.predict([("Q", context)])
    assert row["answer"] != "<ü>"
    assert extractor.parse_line("a\tb\tc") == ("a", "b\tc")
    with pytest.raises(DataError, match="without a tab"):
        extractor.parse_line("a b")


def test_a_question_too_long_for_training_is_named(tmp_path):
    path = tmp_path / "squad.json"
    data = generated_squad(6, paragraphs=2)
    data["data"][0]["paragraphs"][0]["qas"][0]["question"] = "why " * 20
    path.write_text(json.dumps(data), encoding="utf-8")
    values = qa_values(path, steps=1, max_length=48)
    values["tokenizer"] = {"type": "byte"}
    values["data"].update(validation_fraction=0.2, test_fraction=0.2)
    with pytest.raises(DataError, match=r"question 'q\d+' has 80 tokens"):
        train_and_evaluate(
            experiment_from_dict(values), str(tmp_path / "run"), verbose=0
        )


def test_masked_lm_reads_the_training_contexts_of_the_same_split(tmp_path):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(generated_squad(10)), encoding="utf-8")
    values = qa_values(path)
    values["data"].update(validation_fraction=0.2, test_fraction=0.2)
    qa_splits = get_task(experiment_from_dict(values)).load_splits()
    values["task"] = "masked_lm"
    mlm_splits = get_task(experiment_from_dict(values)).load_splits()
    for split in ("train", "test"):
        contexts = [
            example["context"]
            for example in qa_splits[split].as_numpy_iterator()
        ]
        texts = list(mlm_splits[split].as_numpy_iterator())
        assert texts == list(dict.fromkeys(contexts))
    test = set(mlm_splits["test"].as_numpy_iterator())
    assert test and not test & set(mlm_splits["train"].as_numpy_iterator())


def test_the_tfds_config_reads_squad_and_windows_it():
    tfds = pytest.importorskip("tensorflow_datasets")
    config = pathlib.Path(__file__).parents[3] / "configs" / "squad.yaml"
    experiment = load_experiment(
        str(config),
        [
            "training.max_length=24",
            "task_settings.question_answering.doc_stride=4",
        ],
    )
    task = get_task(experiment)
    task.tokenizers = (ByteTokenizer(), ByteTokenizer())
    with tfds.testing.mock_data(num_examples=3):
        splits = task.load_splits()
        example = next(iter(splits["test"]))
        windows = list(
            task.encode(splits["train"], training=True).as_numpy_iterator()
        )
    assert set(example) == {
        "id",
        "question",
        "context",
        "answers",
        "answer_starts",
    }
    assert example["answer_starts"].dtype == tf.int32
    assert len(windows) > 3  # mock contexts are longer than one window
    for features, labels in windows:
        assert len(features["tokens"]) <= 24
        assert labels.shape == (2,)
        assert (labels >= 0).all() and (labels < 24).all()
