"""SavedModel export: signatures, fresh-process serving, edge cases."""

import errno
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_transformer import run_files
from keras_transformer.cli import main
from keras_transformer.data.pipeline import pad_to_bucket
from keras_transformer.errors import ConfigError, RunError
from keras_transformer.export import export_run
from keras_transformer.inference import greedy_decode
from keras_transformer.inference.decoding_config import DecodingConfig
from keras_transformer.run import load_finished, load_run
from keras_transformer.tasks.classification.predictor import LabelPredictor
from tests.inference.test_predictor import count_rows
from tests.serving import serve_saved_model

pytestmark = pytest.mark.slow

EDGE_CASES = [
    "abc def",
    "",
    "   ",
    "çà déjà vu – 東京 🙂",
    "long " * 80,  # beyond the model's max_length: truncated
    "x",
]


def test_translation_export_serves_in_a_fresh_process(
    translation_run, tmp_path
):
    export_dir = str(tmp_path / "exports")
    info = export_run(translation_run, export_dir)
    assert info["path"] == os.path.join(export_dir, "1")
    assert os.path.exists(os.path.join(info["path"], "saved_model.pb"))
    assert info["bytes"] > 0

    served = serve_saved_model(info["path"], EDGE_CASES)
    assert served["foreign"] == []  # keras_transformer was not imported
    batch = served["batch"]
    assert len(batch["translation"]) == len(batch["score"]) == len(EDGE_CASES)
    assert all(isinstance(t, str) for t in batch["translation"])
    assert batch["translation"][1] == batch["translation"][2] == ""
    assert batch["score"][1] == batch["score"][2] == 0.0
    assert all(np.isfinite(batch["score"]))
    # A batch of mixed lengths gives each sentence its own translation.
    for index, single in enumerate(served["single"]):
        assert single["translation"][0] == batch["translation"][index]
        np.testing.assert_allclose(
            single["score"][0], batch["score"][index], atol=1e-4
        )
    # Same translations as the in-process translator with the same search.
    task, model = load_finished(translation_run)
    translator = task.predictor(model)
    assert translator.decoding.strategy == "beam"
    translations, scores = translator.translate_with_scores(EDGE_CASES)
    assert translations == batch["translation"]
    np.testing.assert_allclose(scores, batch["score"], atol=1e-4)

    # The next export is version 2; an existing version is refused.
    greedy = DecodingConfig("greedy")
    assert (
        export_run(translation_run, export_dir, decoding=greedy)["version"] == 2
    )
    with pytest.raises(RunError, match="already exists"):
        export_run(translation_run, export_dir, version=1)


def test_xla_export_pads_sources_to_buckets_and_serves_the_same(
    translation_run, classification_run, tmp_path
):
    texts = ["abc def", "", "long " * 80]
    info = export_run(translation_run, str(tmp_path / "x"), jit_compile=True)
    served = serve_saved_model(info["path"], texts)
    task, model = load_finished(translation_run)
    translator = task.predictor(model, jit_compile=True)
    # Sources are padded to the training buckets, and padding changes
    # nothing: the graph without XLA gives the same translations.
    ids = translator.encode_sources(texts)
    longest = translator.max_source_length
    assert pad_to_bucket(ids[:, :5], longest).shape[1] == 8
    # The longest source is cut to max_length, itself the last bucket.
    assert pad_to_bucket(ids, longest).shape[1] == ids.shape[1] == longest
    translations, scores = task.predictor(model).translate_with_scores(texts)
    assert served["batch"]["translation"] == translations
    np.testing.assert_allclose(served["batch"]["score"], scores, atol=1e-4)
    for index, single in enumerate(served["single"]):
        assert single["translation"] == [translations[index]]
    with pytest.raises(ConfigError, match="--jit-compile.*classification"):
        export_run(classification_run, str(tmp_path / "c"), jit_compile=True)


def test_saved_model_cli_lists_the_signature(translation_run, tmp_path, capsys):
    export = ["export", "--workdir", translation_run, str(tmp_path / "exports")]
    code = main(export + ["--decode", "sampling", "--seed", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "exports/1" in out
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run(
        [cli, "show", "--dir", str(tmp_path / "exports" / "1"), "--all"],
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    assert "signature_def['serving_default']" in shown
    for name in (
        "inputs['text']",
        "outputs['translation']",
        "outputs['score']",
    ):
        assert name in shown
    served = serve_saved_model(str(tmp_path / "exports" / "1"), EDGE_CASES)
    assert len(served["batch"]["translation"]) == len(EDGE_CASES)


def test_classifier_export(classification_run, tmp_path):
    info = export_run(classification_run, str(tmp_path / "exports"))
    texts = ["good the film", "bad a film was", "", "été 🙂 " * 30]
    served = serve_saved_model(info["path"], texts)
    probabilities = np.array(served["batch"]["probabilities"])
    assert probabilities.shape == (4, 2)
    np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)
    assert served["batch"]["label"][:2] == ["pos", "neg"]
    experiment, model, (tokenizer, _) = load_run(classification_run)
    ids = tokenizer.tokenize(texts[:2]).to_tensor().numpy()
    logits = np.array(model({"tokens": ids}))
    expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(probabilities[:2], expected, atol=1e-5)


def test_int8_export_serves_the_quantized_model(translation_run, tmp_path):
    export_dir = str(tmp_path / "exports")
    code = main(
        [
            "export",
            "--workdir",
            translation_run,
            export_dir,
            "--quantize",
            "int8",
        ]
    )
    assert code == 0
    path = os.path.join(export_dir, "1")
    reader = tf.train.load_checkpoint(
        os.path.join(path, "variables", "variables")
    )
    dtypes = reader.get_variable_to_dtype_map()
    matrices = [n for n in dtypes if "/_kernel/" in n or "/_embeddings/" in n]
    assert matrices  # every projection and embedding matrix is int8
    assert {dtypes[name].name for name in matrices} == {"int8"}
    texts = ["abc def", "ghi", ""]
    served = serve_saved_model(path, texts)
    task, model = load_finished(translation_run, compile=False)
    model.quantize("int8")
    translations, scores = task.predictor(model).translate_with_scores(texts)
    assert served["batch"]["translation"] == translations
    np.testing.assert_allclose(served["batch"]["score"], scores, atol=1e-4)


def test_language_model_export(language_model_run, tmp_path):
    info = export_run(
        language_model_run, str(tmp_path / "exports"), max_new_tokens=8
    )
    prompts = ["abc", "", "defgh\nab", "é"]
    served = serve_saved_model(info["path"], prompts, name="prompt")
    completions = served["batch"]["completion"]
    assert len(completions) == 4 and all(
        isinstance(c, str) for c in completions
    )
    assert completions[0].startswith("defgh")  # the text is predictable
    for index, single in enumerate(served["single"]):
        assert single["completion"][0] == completions[index]
    _, model, (tokenizer, _) = load_run(language_model_run)
    ids = tokenizer.tokenize(["abc"]).to_tensor().numpy()
    tokens, _ = greedy_decode(model, ids, 8)
    expected = tokenizer.detokenize(np.array(tokens)).numpy()[0].decode()
    assert completions[0] == expected


def test_keras_model_round_trips_in_a_fresh_process(translation_run, tmp_path):
    _, model, _ = load_run(translation_run)
    rng = np.random.default_rng(0)
    inputs = {
        "source_tokens": rng.integers(4, 60, (3, 9)).astype("int32"),
        "target_tokens": rng.integers(4, 60, (3, 7)).astype("int32"),
    }
    np.savez(tmp_path / "inputs.npz", **inputs)
    script = (
        "import sys, numpy as np, keras\n"
        "import keras_transformer  # registers the layers\n"
        "model = keras.saving.load_model(sys.argv[1])\n"
        "inputs = dict(np.load(sys.argv[2]))\n"
        "np.save(sys.argv[3], np.asarray(model(inputs)))\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            os.path.join(translation_run, "model.keras"),
            str(tmp_path / "inputs.npz"),
            str(tmp_path / "logits.npy"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_array_equal(
        np.load(tmp_path / "logits.npy"), np.asarray(model(inputs))
    )


def test_masked_lm_export_fills_masks(masked_lm_run, tmp_path):
    info = export_run(masked_lm_run, str(tmp_path / "exports"))
    texts = ["five six [MASK] eight", "[MASK] four [MASK] six", "none"]
    served = serve_saved_model(info["path"], texts)["batch"]
    assert served["filled"][0] == "five six seven eight"
    assert np.array(served["probabilities"]).shape == (3, 2, 5)
    assert served["fillers"][0][0][0] == "seven"
    assert served["fillers"][0][1] == [""] * 5  # one mask only: padded
    assert served["fillers"][2] == [[""] * 5, [""] * 5]
    task, model = load_finished(masked_lm_run, compile=False)
    in_process = task.predictor(model).predict(texts)
    assert [row["filled"] for row in in_process] == served["filled"]


def test_export_runs_a_large_request_in_chunks(
    classification_run, tmp_path, monkeypatch, capsys
):
    count_rows(monkeypatch, LabelPredictor)
    export_dir = tmp_path / "exports"
    code = main(
        ["export", "--workdir", classification_run, str(export_dir)]
        + ["--serve-batch-size", "2"]
    )
    assert code == 0, capsys.readouterr().err
    serve = tf.saved_model.load(str(export_dir / "1")).signatures[
        "serving_default"
    ]
    texts = ["good the film", "bad a film was", "", "a", "good " * 30]
    served = serve(text=tf.constant(texts))
    assert max(served["rows"].numpy()) <= 2
    task, model = load_finished(classification_run, compile=False)
    expected = task.predictor(model).predict(texts)
    assert [row["rows"] for row in expected] == [len(texts)] * len(texts)
    assert [label.decode() for label in served["label"].numpy()] == [
        row["label"] for row in expected
    ]
    np.testing.assert_allclose(
        served["probabilities"].numpy(),
        [row["probabilities"] for row in expected],
        atol=1e-5,
    )


@pytest.mark.parametrize(
    "error, number",
    [
        (tf.errors.ResourceExhaustedError, errno.ENOSPC),
        (tf.errors.UnknownError, errno.EDQUOT),
        (tf.errors.FailedPreconditionError, errno.EROFS),
    ],
)
def test_a_full_disk_while_saving_is_one_line_and_leaves_nothing(
    classification_run, tmp_path, monkeypatch, error, number
):
    def save(module, path, signatures=None):
        os.makedirs(os.path.join(path, "variables"))  # half written
        with open(os.path.join(path, "saved_model.pb"), "wb") as handle:
            handle.write(b"partial")
        message = f"{path}/saved_model.pb; {os.strerror(number)}"
        raise error(None, None, message)

    monkeypatch.setattr(tf.saved_model, "save", save)
    export_dir = tmp_path / "exports"
    with pytest.raises(RunError) as raised:
        export_run(classification_run, str(export_dir))
    message = str(raised.value)
    assert "\n" not in message
    version = os.path.join(export_dir, "1")
    assert message.startswith(f"Cannot write the SavedModel to {version}:")
    assert (
        run_files.disk_problem(OSError(number, os.strerror(number))) in message
    )
    assert os.listdir(export_dir) == []  # no version, no temporary

    def broken(module, path, signatures=None):
        raise error(None, None, "not the disk's fault")

    monkeypatch.setattr(tf.saved_model, "save", broken)
    with pytest.raises(error, match="not the disk's fault"):
        export_run(classification_run, str(export_dir))
    assert os.listdir(export_dir) == []
