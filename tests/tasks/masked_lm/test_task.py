"""Masked-LM pretraining learns, fills masks, and starts fine-tuning."""

import collections
import json

import numpy as np
import pytest

from keras_transformer.errors import ConfigError
from keras_transformer.experiment import experiment_from_dict
from keras_transformer.run import load_finished
from keras_transformer.train import train_and_evaluate
from tests.generated import MASKED_LM, counting_lines

pytestmark = pytest.mark.slow


def test_masked_accuracy_is_far_above_the_unigram_baseline(masked_lm_run):
    task, model = load_finished(masked_lm_run)
    with open(f"{masked_lm_run}/metrics.json") as handle:
        metrics = json.load(handle)
    # The unigram baseline: always guess the most frequent ordinary piece.
    tokenizer = task.tokenizers[0]
    texts = [line for line, _ in counting_lines(3000)]
    ids = tokenizer.tokenize(texts).flat_values.numpy()
    counts = collections.Counter(int(i) for i in ids if i > tokenizer.mask_id)
    baseline = max(counts.values()) / sum(counts.values())
    assert baseline < 0.2
    assert metrics["accuracy"] > 0.8 > 4 * baseline
    assert metrics["steps"] == 300


def test_the_mask_filler_predicts_the_missing_word(masked_lm_run):
    task, model = load_finished(masked_lm_run, compile=False)
    filler = task.predictor(model)
    rows = filler.predict(
        ["five six [MASK] eight", "ten eleven twelve", "[MASK] four five six"]
    )
    assert rows[0]["fillers"][0][0] == "seven"
    assert rows[0]["filled"] == "five six seven eight"
    assert rows[0]["probabilities"][0][0] > 0.5
    probabilities = np.array(rows[0]["probabilities"][0])
    assert (np.diff(probabilities) <= 0).all()  # best first
    assert rows[1]["fillers"] == [] or rows[1]["fillers"][0][0] == ""
    assert rows[2]["fillers"][0][0] == "three"
    assert "seven 0." in filler.format(rows[0])


def _fine_tune(tmp_path, pretrained, steps=40, **model):
    data = tmp_path / "labelled.tsv"
    data.write_text(
        "".join(
            f"{'up' if up else 'down'}\t{line}\n"
            for line, up in counting_lines(300, seed=1, descending_share=0.5)
        )
    )
    values = json.loads(json.dumps(MASKED_LM))
    values.update(
        task="classification",
        data={"source": "files", "format": "labelled", "path": str(data)},
    )
    values["model"].update(init_from=pretrained, **model)
    if pretrained is None:
        values["model"].pop("init_from")
    values["training"].update(
        steps=steps,
        steps_per_epoch=steps,
        batch_tokens=512,
        learning_rate=0.001,
    )
    values["task_settings"] = {"classification": {"pooling": "first"}}
    return experiment_from_dict(values)


def test_fine_tuning_starts_from_the_pretrained_encoder(
    masked_lm_run, tmp_path, capsys, monkeypatch
):
    from keras_transformer.tasks.pretrained_start import PretrainedStart

    _, pretrained = load_finished(masked_lm_run, compile=False)
    seen = {}
    initialize = PretrainedStart.initialize

    def spy(self, model, log=print):
        initialize(self, model, log)
        seen["embedding"] = [w.copy() for w in model.embedding.get_weights()]
        seen["encoder"] = [w.copy() for w in model.encoder.get_weights()]
        seen["head"] = model.head

    monkeypatch.setattr(PretrainedStart, "initialize", spy)
    workdir = str(tmp_path / "run")
    metrics = train_and_evaluate(
        _fine_tune(tmp_path, masked_lm_run), workdir, verbose=0
    )
    output = capsys.readouterr().out
    assert f"Tokenizer: copied from {masked_lm_run}" in output
    assert "new: logits" in output
    # Right after loading: the pretrained weights, exactly.
    for part in ("embedding", "encoder"):
        expected = getattr(pretrained, part).get_weights()
        assert len(seen[part]) == len(expected)
        for a, b in zip(seen[part], expected):
            np.testing.assert_array_equal(a, b)
    # The head is the classifier's own: the pretrained model has none.
    assert not hasattr(pretrained, "head")
    assert seen["head"].kernel.shape == (64, 2)
    # Then it learns the task (chance: 0.5). Descending runs of "-teen"
    # words, split into two pieces each by the 40-piece vocabulary, are
    # the last to be learnt: a test set of 30 lines may hold a few.
    assert metrics["accuracy"] >= 0.85


@pytest.mark.parametrize(
    "change, message",
    [
        ({"d_model": 32, "num_heads": 4}, "d_model 64 there, 32 here"),
        ({"num_layers": 1}, "num_layers 2 there, 1 here"),
        ({"position": "learned", "max_length": 64}, "max_length 16 there"),
    ],
)
def test_a_pretrained_run_that_does_not_fit_is_refused(
    masked_lm_run, tmp_path, change, message
):
    experiment = _fine_tune(tmp_path, masked_lm_run, **change)
    with pytest.raises(ConfigError, match=message):
        train_and_evaluate(experiment, str(tmp_path / "run"), verbose=0)
    with pytest.raises(ConfigError, match="holds no finished run"):
        train_and_evaluate(
            _fine_tune(tmp_path, str(tmp_path / "none")),
            str(tmp_path / "other"),
            verbose=0,
        )


def test_tokenizer_path_copies_a_tokenizer_without_weights(
    masked_lm_run, tmp_path, capsys
):
    import os
    import shutil

    experiment = _fine_tune(tmp_path, None, steps=2)
    # A tokenizer directory that also holds a link to a large tree and a
    # link loop: only the tokenizer's own files are copied.
    origin = tmp_path / "tokenizer"
    shutil.copytree(os.path.join(masked_lm_run, "tokenizer"), origin)
    os.symlink(masked_lm_run, origin / "big")
    os.symlink(origin / "loop", origin / "loop")
    experiment.tokenizer.path = str(origin)
    workdir = str(tmp_path / "scratch")
    train_and_evaluate(experiment, workdir, verbose=0)
    output = capsys.readouterr().out
    assert f"Tokenizer: copied from {experiment.tokenizer.path}" in output
    assert "Initialised from" not in output
    copied = os.path.join(workdir, "tokenizer")
    assert sorted(os.listdir(copied)) == ["spm.model", "tokenizer.json"]
    for name in ("spm.model", "tokenizer.json"):
        assert not os.path.islink(os.path.join(copied, name))
        with open(os.path.join(copied, name), "rb") as mine:
            with open(
                os.path.join(masked_lm_run, "tokenizer", name), "rb"
            ) as f:
                assert mine.read() == f.read()
    # A tokenizer.path that is itself a link loop: one line.
    experiment.tokenizer.path = str(origin / "loop")
    with pytest.raises(ConfigError, match="tokenizer.path: No tokenizer"):
        train_and_evaluate(experiment, str(tmp_path / "looped"), verbose=0)
    experiment.tokenizer.path = str(tmp_path / "nothing")
    with pytest.raises(ConfigError, match="tokenizer.path: No tokenizer"):
        train_and_evaluate(experiment, str(tmp_path / "other"), verbose=0)
