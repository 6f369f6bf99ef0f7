"""GPT-2 checkpoints load into ``LanguageModel`` with logits and searches
equal to the reference implementation's (``transformers``; the fixture and
its generator are in tests/fixtures/huggingface), import as a run, and
export a SavedModel that completes text in a clean process."""

import json
import os

import numpy as np
import pytest

from keras_transformer.checkpoints import load_huggingface
from keras_transformer.checkpoints.gpt2 import gpt2_order
from keras_transformer.cli import main
from keras_transformer.errors import ConfigError
from keras_transformer.export import export_run
from keras_transformer.inference.beam import beam_search
from keras_transformer.inference.decoding import greedy_decode
from keras_transformer.models import LanguageModel
from keras_transformer.run import load_finished
from keras_transformer.special_tokens import EOS_ID, PAD_ID, UNK_ID
from tests.checkpoints.ids import to_ours, until_eos
from tests.serving import serve_saved_model

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
GPT2 = os.path.join(FIXTURES, "huggingface", "gpt2")


@pytest.fixture(scope="module")
def loaded():
    """The model, its tokenizer, the reference arrays and the order."""
    with open(os.path.join(GPT2, "config.json")) as handle:
        hf = json.load(handle)
    model, tokenizer = load_huggingface(GPT2, log=lambda _: None)
    reference = dict(np.load(os.path.join(GPT2, "reference.npz")))
    return model, tokenizer, reference, gpt2_order(hf)


def prompts(reference, order):
    """The reference prompts, right-padded with this package's PAD."""
    mask = reference["mask"] == 1
    return np.where(mask, to_ours(reference["ids"], order), PAD_ID)


def test_every_special_id_is_end_of_text(loaded):
    model, tokenizer, _, order = loaded
    end = order[0]
    assert order[:4] == [end] * 4 and order[4] == 0
    assert isinstance(model, LanguageModel)
    assert model.transformer_config.vocab_size == tokenizer.vocab_size
    assert model.transformer_config.suppressed_ids == (UNK_ID,)


def test_logits_equal_the_reference_implementation(loaded):
    model, _, reference, order = loaded
    logits = np.array(model({"tokens": prompts(reference, order)}))
    real = reference["mask"] == 1
    assert not real.all()  # the batch is padded
    expected = reference["logits"][..., order]
    np.testing.assert_allclose(logits[real], expected[real], atol=1e-4)


@pytest.mark.parametrize("search", ["greedy", "beam_alpha0"])
def test_searches_equal_generate(loaded, search):
    # generate left-pads the prompts; ours are right-padded, each row's
    # positions counted from its first token in both.
    model, _, reference, order = loaded
    expected = until_eos(to_ours(reference[search], order))
    steps = reference[search].shape[1]
    if search == "greedy":
        tokens, _ = greedy_decode(model, prompts(reference, order), steps)
    else:
        tokens, _ = beam_search(
            model, prompts(reference, order), steps, length_penalty=0.0
        )
    assert until_eos(tokens) == expected
    # <|endoftext|> ends texts: as EOS, never as its UNK copy (the same
    # logit, a lower id), which the model's suppressed_ids rule out.
    assert sum(row[-1] == EOS_ID for row in expected) >= 2


def test_the_cached_decode_equals_the_full_pass(loaded):
    model, _, reference, order = loaded
    row = prompts(reference, order)[2:]
    length = int(reference["prompt_lengths"][2])
    prompt = row[:, :length]
    tokens, _ = greedy_decode(model, prompt, 5)
    text = np.concatenate([prompt, np.array(tokens)], axis=1)
    logits = np.array(model({"tokens": text}))
    logits[..., [PAD_ID, UNK_ID, 2]] = -np.inf
    full = np.argmax(logits[0, length - 1 : -1], axis=-1)
    np.testing.assert_array_equal(full, np.array(tokens)[0])


def test_an_imported_run_completes_text_and_its_export_serves_the_same(
    tmp_path,
):
    workdir = str(tmp_path / "run")
    assert main(["import", GPT2, "--workdir", workdir]) == 0
    task, model = load_finished(workdir)
    assert type(task.tokenizers[0]).__name__ == "BytePairTokenizer"
    assert model.transformer_config.suppressed_ids == (UNK_ID,)
    generator = task.predictor(model, max_new_tokens=6)
    texts = ["A dog runs on the beach.", "Café au lait! A cat"]
    completions = [row["completion"] for row in generator.predict(texts)]
    info = export_run(workdir, str(tmp_path / "export"), max_new_tokens=6)
    served = serve_saved_model(info["path"], texts, name="prompt")
    assert served["foreign"] == []
    assert served["batch"]["completion"] == completions


def test_settings_gpt2_does_not_have_are_refused(tmp_path):
    import shutil

    with open(os.path.join(GPT2, "config.json")) as handle:
        hf = json.load(handle)
    broken = tmp_path / "gpt2"
    shutil.copytree(GPT2, broken)
    for key, value in (
        ("scale_attn_by_inverse_layer_idx", True),
        ("add_cross_attention", True),
    ):
        with open(broken / "config.json", "w") as handle:
            json.dump(dict(hf, **{key: value}), handle)
        with pytest.raises(ConfigError, match=key):
            load_huggingface(str(broken))
