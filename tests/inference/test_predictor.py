"""Predictor: ``serve`` in chunks of bounded size, one line per output."""

import types

import numpy as np
import pytest
import tensorflow as tf

from keras_transformer import backend
from keras_transformer.data.tokenizers import ByteTokenizer
from keras_transformer.inference import DecodingConfig, Translator
from keras_transformer.inference.predictor import unescape
from keras_transformer.run import load_finished
from keras_transformer.tasks.classification.predictor import LabelPredictor
from keras_transformer.tasks.language_modeling.predictor import TextGenerator
from keras_transformer.tasks.masked_lm.predictor import MaskFiller
from keras_transformer.tasks.question_answering.predictor import (
    AnswerExtractor,
)
from keras_transformer.tasks.summarization.predictor import Summarizer

CHUNK = 2

# Line breaks, tabs, backslashes and what looks like an escape already.
AWKWARD = "one\ntwo\r\nthree\tfour \\n five\\ six\u2028seven"


def count_rows(monkeypatch, predictor_class):
    """Adds the output ``rows`` to ``predictor_class``'s ``_serve``: for
    each input, the size of the batch that ``_serve`` (the model) ran it in.
    """
    serve = predictor_class._serve

    def counted(self, *columns):
        batch = tf.shape(columns[0])[0]
        return dict(serve(self, *columns), rows=tf.fill([batch], batch))

    monkeypatch.setattr(predictor_class, "_serve", counted)


def chunked(predictor, size=CHUNK):
    predictor.serve_batch_size = size
    return predictor


def assert_same_rows(rows, expected, keys, atol=1e-5):
    for key in keys:
        values = [row[key] for row in rows]
        wanted = [row[key] for row in expected]
        if isinstance(wanted[0], float):
            np.testing.assert_allclose(values, wanted, atol=atol)
        else:
            assert values == wanted, key


# ------------------------------------------------------------ chunks


def test_beam_translator_in_chunks_translates_as_in_one_batch(
    translation_run, monkeypatch
):
    count_rows(monkeypatch, Translator)
    task, model = load_finished(translation_run, compile=False)
    texts = ["abc def", "", "x", "long " * 30, "ab cd ef gh"]
    whole = task.predictor(model)
    assert whole.decoding.strategy == "beam"
    expected = whole.predict(texts)
    assert [row["rows"] for row in expected] == [len(texts)] * len(texts)
    rows = chunked(task.predictor(model)).predict(texts)
    assert max(row["rows"] for row in rows) <= CHUNK
    assert_same_rows(rows, expected, ["translation", "score"], atol=1e-4)


def test_xla_translator_in_chunks_translates_as_without_xla(
    translation_run, monkeypatch
):
    count_rows(monkeypatch, Translator)
    task, model = load_finished(translation_run, compile=False)
    texts = ["abc", "de"]  # one bucket: one XLA program
    greedy = DecodingConfig("greedy")
    expected = task.predictor(model, greedy).predict(texts)
    translator = chunked(task.predictor(model, greedy, jit_compile=True), 1)
    rows = translator.predict(texts)
    assert max(row["rows"] for row in rows) == 1
    assert_same_rows(rows, expected, ["translation", "score"], atol=1e-4)


def test_sampling_in_chunks_draws_as_the_chunks_one_after_the_other(
    language_model_run, monkeypatch
):
    count_rows(monkeypatch, TextGenerator)
    task, model = load_finished(language_model_run, compile=False)
    decoding = DecodingConfig("sampling", temperature=5.0, seed=3)
    prompts = ["abc", "", "fgh", "a", "bcd"]
    rows = chunked(task.predictor(model, decoding, 8)).predict(prompts)
    assert max(row["rows"] for row in rows) <= CHUNK
    # A fresh generator, same seed, the chunks as requests of their own.
    separate = task.predictor(model, decoding, 8)
    expected = []
    for begin in range(0, len(prompts), CHUNK):
        expected += separate.predict(prompts[begin : begin + CHUNK])
    assert_same_rows(rows, expected, ["completion", "score"])


class MarkTokenizer(ByteTokenizer):
    """Bytes, with "#" as the mask."""

    mask_id = int(ByteTokenizer().tokenize("#")[0])


def next_byte_model(inputs):
    """Logits (B, S, V) that favour each token's next byte, then the one
    after that."""
    tokens = inputs["tokens"]
    size = ByteTokenizer().vocab_size
    return 2.0 * tf.one_hot(tokens + 1, size) + tf.one_hot(tokens + 2, size)


@pytest.mark.parametrize("jax", [False, True], ids=["graph", "eager"])
def test_mask_filler_in_chunks_pads_to_the_most_masks(jax, monkeypatch):
    count_rows(monkeypatch, MaskFiller)
    if jax:  # predict runs serve eagerly, as under JAX
        monkeypatch.setattr(backend, "name", lambda: "jax")
    texts = ["a# b", "no mask", "#x #y #z", "q#", "#a #b"]
    filler = MaskFiller(next_byte_model, MarkTokenizer(), 16, top_k=3)
    expected = filler.serve(tf.constant(texts))
    rows = chunked(filler).predict(texts)
    assert max(row["rows"] for row in rows) <= CHUNK
    for key in ("filled", "fillers", "probabilities"):
        assert [row[key] for row in rows] == [
            tf.nest.map_structure(
                lambda x: x.decode() if isinstance(x, bytes) else x,
                value,
            )
            for value in expected[key].numpy().tolist()
        ], key
    # The widest chunk sets the width; the others are padded.
    widths = {len(row["fillers"]) for row in rows}
    assert widths == {max(text.count("#") for text in texts)}


def test_serve_batch_size_must_be_positive():
    translator = Translator(None, None, None, 8)
    for size in (0, 2.0, True):
        with pytest.raises(ValueError, match="serve_batch_size"):
            translator.serve_batch_size = size


# ---------------------------------------------------------- one line


def _formatters():
    """(predictor, row, number of tab-separated fields, the fields that
    hold ``AWKWARD``) of every predictor with a text output."""
    mask_tokenizer = types.SimpleNamespace(mask_id=4)
    return [
        (Translator(None, None, None, 8), {"translation": AWKWARD}, 1, [0]),
        (Summarizer(None, None, None, 8), {"summary": AWKWARD}, 1, [0]),
        (TextGenerator(None, None, 8), {"completion": AWKWARD}, 1, [0]),
        (
            LabelPredictor(None, None, [AWKWARD], 8, False),
            {"label": AWKWARD, "probabilities": [1.0]},
            2,
            [0],
        ),
        (
            MaskFiller(None, mask_tokenizer, 8),
            {
                "filled": AWKWARD,
                "fillers": [[AWKWARD]],
                "probabilities": [[0.5]],
            },
            2,
            [0],
        ),
        (
            AnswerExtractor(None, None, 8, 4, 4),
            {"answer": AWKWARD, "score": 1.0, "start": 0, "end": 3},
            3,
            [0],
        ),
    ]


FORMATTERS = _formatters()


@pytest.mark.parametrize(
    "predictor, row, fields, texts",
    FORMATTERS,
    ids=[type(case[0]).__name__ for case in FORMATTERS],
)
def test_format_writes_one_line_that_unescapes_to_the_text(
    predictor, row, fields, texts
):
    line = predictor.format(row)
    assert len(line.splitlines()) == 1
    parts = line.split("\t")
    assert len(parts) == fields
    for index in texts:
        assert unescape(parts[index]) == AWKWARD
    if "fillers" in row:  # the filler, then its probability
        assert unescape(parts[1].rsplit(" ", 1)[0]) == AWKWARD


def test_predict_prints_one_line_per_input(language_model_run, capsys):
    from keras_transformer.cli import main

    prompts = ["abc", "fgh"]
    code = main(
        ["predict", "--workdir", language_model_run, "--max-new-tokens", "20"]
        + prompts
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    task, model = load_finished(language_model_run, compile=False)
    completions = [
        row["completion"]
        for row in task.predictor(model, max_new_tokens=20).predict(prompts)
    ]
    assert all("\n" in completion for completion in completions)
    lines = out.splitlines()
    assert len(lines) == len(prompts)
    assert [unescape(line) for line in lines] == completions
