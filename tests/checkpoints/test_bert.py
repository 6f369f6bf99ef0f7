"""BERT checkpoints load into this package's models with outputs equal to
the reference implementation's (``transformers``; the fixtures and their
generator are in tests/fixtures/huggingface)."""

import json
import os
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from keras_transformer.checkpoints import load_huggingface
from keras_transformer.errors import ConfigError
from keras_transformer.models import (
    Classifier,
    MaskedLanguageModel,
    QuestionAnswerer,
    TextEncoder,
    TokenClassifier,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
HF = os.path.join(FIXTURES, "huggingface")

MODELS = {
    "bert_model": TextEncoder,
    "bert_sequence": Classifier,
    "bert_token": TokenClassifier,
    "bert_qa": QuestionAnswerer,
    "bert_mlm": MaskedLanguageModel,
}


def _load(name, log=None):
    messages = []
    model, tokenizer = load_huggingface(
        os.path.join(HF, name), log=log or messages.append
    )
    return model, tokenizer, messages


@pytest.mark.parametrize("name", sorted(MODELS))
def test_outputs_equal_the_reference_implementation(name):
    model, _, _ = _load(name)
    assert type(model) is MODELS[name]
    reference = np.load(os.path.join(HF, name, "reference.npz"))
    ids, segments = reference["ids"], reference["segment_ids"]
    output = np.array(
        model({"tokens": ids.astype("int32"), "segment_ids": segments})
    )
    expected = reference["output"]
    assert output.shape == expected.shape
    if output.ndim == 3:  # per position: padding is not compared
        real = ids != 0
        output, expected = output[real], expected[real]
    np.testing.assert_allclose(output, expected, atol=1e-5)
    assert segments.any()  # the batch holds a second segment


def test_segment_ids_may_be_left_out():
    model, _, _ = _load("bert_model")
    ids = np.load(os.path.join(HF, "bert_model", "reference.npz"))["ids"]
    ids = ids.astype("int32")
    np.testing.assert_array_equal(
        np.array(model({"tokens": ids})),
        np.array(model({"tokens": ids, "segment_ids": np.zeros_like(ids)})),
    )


def test_unused_tensors_are_named_and_heads_are_loaded():
    _, tokenizer, messages = _load("bert_model")
    assert len(messages) == 1
    assert "pooler.dense.bias, pooler.dense.weight" in messages[0]
    assert _load("bert_sequence")[2] == []  # its pooler is used
    assert tokenizer.special_ids()["bos_id"] == tokenizer.vocabulary.index(
        "[CLS]"
    )


def _copy(tmp_path, name="bert_model"):
    target = tmp_path / name
    shutil.copytree(os.path.join(HF, name), target)
    return target


def _edit_config(directory, **changes):
    path = directory / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


def _drop_tensor(directory, name):
    path = str(directory / "model.safetensors")
    tensors = load_file(path)
    del tensors[name]
    save_file(tensors, path)


REFUSALS = {
    "unknown model_type": (
        lambda d: _edit_config(d, model_type="t5"),
        "model_type 't5' is not supported; supported: bert",
    ),
    "missing tensor": (
        lambda d: _drop_tensor(d, "encoder.layer.1.output.dense.weight"),
        "no tensor 'encoder.layer.1.output.dense.weight'",
    ),
    "shape mismatch": (
        lambda d: _edit_config(d, max_position_embeddings=64),
        "shape mismatch for embedding/position_embedding/embeddings: the "
        "checkpoint has (40, 16), the model (64, 16)",
    ),
    "unsupported activation": (
        lambda d: _edit_config(d, hidden_act="mish"),
        "hidden_act='mish' is not supported",
    ),
    "unsupported positions": (
        lambda d: _edit_config(d, position_embedding_type="relative_key"),
        "position_embedding_type='relative_key' is not supported",
    ),
    "unknown architecture": (
        lambda d: _edit_config(d, architectures=["BertForNextSentence"]),
        "architecture 'BertForNextSentence' is not supported",
    ),
    "no weights": (
        lambda d: os.remove(d / "model.safetensors"),
        "has no model.safetensors",
    ),
    "no config": (
        lambda d: os.remove(d / "config.json"),
        "has no config.json",
    ),
    "no tokenizer": (
        lambda d: os.remove(d / "tokenizer.json"),
        "has neither tokenizer.json nor vocab.txt",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_are_one_line_naming_the_problem(case, tmp_path):
    damage, message = REFUSALS[case]
    directory = _copy(tmp_path)
    damage(directory)
    with pytest.raises(ConfigError) as raised:
        load_huggingface(str(directory), log=lambda _: None)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
