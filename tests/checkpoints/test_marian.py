"""Marian (OPUS-MT) checkpoints load into ``Transformer`` with logits and
searches equal to the reference implementation's (``transformers``; the
fixture and its generator are in tests/fixtures/huggingface), import as a
run, and export a SavedModel that translates text in a clean process."""

import json
import os
import shutil

import numpy as np
import pytest

from keras_transformer.checkpoints import load_huggingface
from keras_transformer.cli import main
from keras_transformer.data.tokenizers.marian import marian_order
from keras_transformer.errors import ConfigError
from keras_transformer.export import export_run
from keras_transformer.import_checkpoint import import_checkpoint
from keras_transformer.inference.beam import beam_search
from keras_transformer.inference.decoding import (
    greedy_decode,
    suppress_special,
)
from keras_transformer.models import Transformer
from keras_transformer.run import load_finished
from keras_transformer.special_tokens import BOS_ID, EOS_ID, PAD_ID
from tests.checkpoints.ids import to_ours, until_eos
from tests.serving import serve_saved_model

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
MARIAN = os.path.join(FIXTURES, "huggingface", "marian")
BERT = os.path.join(FIXTURES, "huggingface", "bert_model")


@pytest.fixture(scope="module")
def loaded():
    """The model, its tokenizer, the reference arrays and the id maps."""
    with open(os.path.join(MARIAN, "config.json")) as handle:
        hf = json.load(handle)
    order = marian_order(hf)
    model, tokenizer = load_huggingface(MARIAN, log=lambda _: None)
    reference = dict(np.load(os.path.join(MARIAN, "reference.npz")))
    return model, tokenizer, reference, order, hf


def sources(reference, order):
    """The reference batch of sources, padded with this package's PAD."""
    mask = reference["source_mask"] == 1
    return np.where(mask, to_ours(reference["source_ids"], order), PAD_ID)


def generated(reference, name, order):
    """A ``generate`` output in this package's ids, without its start
    token, cut after EOS."""
    return until_eos(to_ours(reference[name][:, 1:], order))


def test_the_vocabulary_is_reordered_to_this_packages_special_ids(loaded):
    model, tokenizer, _, order, hf = loaded
    pad, eos = hf["pad_token_id"], hf["eos_token_id"]
    assert order[:4] == [pad, 1, pad, eos]
    assert model.transformer_config.vocab_size == hf["vocab_size"] + 1
    assert tokenizer.vocab_size == hf["vocab_size"] + 1
    assert tokenizer.id_to_piece([0, 1, 2, 3]).numpy().tolist() == [
        b"<pad>",
        b"<unk>",
        b"<pad>",
        b"</s>",
    ]


def test_logits_equal_the_reference_implementation(loaded):
    model, _, reference, order, hf = loaded
    assert isinstance(model, Transformer)
    decoder = reference["decoder_ids"]
    logits = np.array(
        model(
            {
                "source_tokens": sources(reference, order)[:2],
                "target_tokens": to_ours(decoder, order),
            }
        )
    )
    expected = reference["logits"][..., order]
    # Positions after the target (padded with <pad>) are not compared.
    real = np.cumsum(decoder == hf["pad_token_id"], axis=1) <= 1
    assert real.sum() > 20 and not real.all()
    np.testing.assert_allclose(logits[real], expected[real], atol=1e-4)


def test_greedy_search_equals_generate(loaded):
    model, _, reference, order, _ = loaded
    steps = reference["greedy"].shape[1] - 1
    tokens, _ = greedy_decode(model, sources(reference, order), steps)
    expected = generated(reference, "greedy", order)
    assert until_eos(tokens) == expected


def test_beam_search_equals_generate_without_length_penalty(loaded):
    # alpha 0: both rank by the sum of log-probabilities. (With alpha > 0
    # the penalties differ: this package's is GNMT's ((5 + n) / 6) ** alpha,
    # transformers' n ** alpha.)
    model, _, reference, order, _ = loaded
    steps = reference["beam_alpha0"].shape[1] - 1
    tokens, _ = beam_search(
        model, sources(reference, order), steps, length_penalty=0.0
    )
    expected = generated(reference, "beam_alpha0", order)
    assert until_eos(tokens) == expected
    # One hypothesis ends early, so EOS handling is compared too.
    assert any(row[-1] == EOS_ID and len(row) < steps for row in expected)


def test_the_cached_decode_equals_the_full_pass(loaded):
    model, _, reference, order, _ = loaded
    source = sources(reference, order)
    tokens, _ = greedy_decode(model, source, 8)
    tokens = np.array(tokens)
    inputs = np.concatenate(
        [np.full((len(tokens), 1), BOS_ID, "int32"), tokens[:, :-1]], 1
    )
    logits = model({"source_tokens": source, "target_tokens": inputs})
    full = np.argmax(np.array(suppress_special(logits, BOS_ID, PAD_ID)), -1)
    np.testing.assert_array_equal(full, tokens)


def test_an_imported_run_translates_and_its_export_serves_the_same(
    tmp_path, capsys
):
    workdir = str(tmp_path / "run")
    code = main(
        [
            "import",
            MARIAN,
            "--workdir",
            workdir,
            "--set",
            "training.max_length=40",
            "--set",
            "evaluation.decoding.beam_size=2",
            "--set",
            "data.test_size=6",
        ]
    )
    assert code == 0
    assert "as a translation run" in capsys.readouterr().out
    assert main(["evaluate", "--workdir", workdir]) == 0
    assert "test, beam2 alpha=0.6: bleu" in capsys.readouterr().out
    with open(os.path.join(workdir, "pretrained.json")) as handle:
        assert handle.read().count(os.path.abspath(MARIAN)) == 1
    task, model = load_finished(workdir)
    assert type(task.tokenizers[0]).__name__ == "MarianTokenizer"
    texts = ["A dog runs on the beach.", ">>de<< Who runs?", ""]
    translator = task.predictor(model, max_new_tokens=12)
    assert translator.decoding.beam_size == 2
    translations = translator.translate(texts)
    assert len(set(translations[:2])) == 2 and translations[2] == ""
    # Under XLA (--jit-compile), which adds bucketing to the plain export.
    info = export_run(workdir, str(tmp_path / "export"), jit_compile=True)
    served = serve_saved_model(info["path"], texts)
    assert served["foreign"] == []
    assert served["batch"]["translation"] == translations


def test_import_refusals_are_one_line(tmp_path, capsys):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="is not empty"):
        import_checkpoint(MARIAN, str(occupied))
    assert main(["import", BERT, "--workdir", str(tmp_path / "b")]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "model.init_from" in error
    assert "\n" not in error
    other = ["--set", "task=classification"]
    assert main(["import", MARIAN, "--workdir", str(tmp_path / "d")] + other)
    error = capsys.readouterr().err
    assert "cannot use as it is: set task: translation." in error
    broken = tmp_path / "broken"
    shutil.copytree(MARIAN, broken)
    os.remove(broken / "vocab.json")
    code = main(["import", str(broken), "--workdir", str(tmp_path / "c")])
    assert code == 1
    assert "vocab.json" in capsys.readouterr().err


def test_settings_marian_does_not_have_are_refused(tmp_path):
    with open(os.path.join(MARIAN, "config.json")) as handle:
        hf = json.load(handle)
    broken = tmp_path / "two_vocabularies"
    shutil.copytree(MARIAN, broken)
    for key, value, message in (
        ("share_encoder_decoder_embeddings", False, "one shared vocabulary"),
        ("decoder_attention_heads", 2, "differ"),
        ("activation_function", "tanh", "not supported"),
    ):
        with open(broken / "config.json", "w") as handle:
            json.dump(dict(hf, **{key: value}), handle)
        with pytest.raises(ConfigError, match=message):
            load_huggingface(str(broken))
