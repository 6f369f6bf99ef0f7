"""``model.init_from`` a Hugging Face checkpoint directory: classification,
token classification and question answering start from its encoder (the
small random BERT of tests/fixtures/huggingface, made by
``transformers``), with its WordPiece tokenizer, and a new head."""

import json
import os
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file

from keras_transformer import run, run_files
from keras_transformer.checkpoints.huggingface import load_tokenizer
from keras_transformer.errors import ConfigError, TrainingInterrupted
from keras_transformer.experiment import experiment_from_dict
from keras_transformer.run import load_finished
from keras_transformer.tasks.pretrained_start import PretrainedStart
from keras_transformer.train import train_and_evaluate
from keras_transformer.training.checkpoint import Checkpointer, load_model
from tests.generated import conll_text, entity_sentences
from tests.serving import serve_saved_model
from tests.tasks.question_answering.test_task import generated_squad

pytestmark = pytest.mark.slow

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
CHECKPOINT = os.path.join(FIXTURES, "huggingface", "bert_model")
# The fixture's special ids are not this package's 0-3.
CLS, SEP = 4, 5
TRAINING = {
    "steps": 3,
    "steps_per_epoch": 3,
    "batch_tokens": 512,
    "max_length": 24,
    "schedule": "constant",
    "learning_rate": 0.001,
}


def _experiment(task, data, settings=None, **training):
    return experiment_from_dict(
        {
            "task": task,
            "data": {"source": "files", **data},
            "model": {"init_from": CHECKPOINT, "dropout": 0.0},
            "training": {**TRAINING, **training},
            "evaluation": {"max_examples": 20},
            "task_settings": {task: settings or {}},
        }
    )


def _classification(tmp_path, **training):
    lines = [
        f"{'good' if i % 2 else 'bad'}\t{'Hello world' if i % 2 else 'Bye'}"
        f" number {i}\n"
        for i in range(60)
    ]
    path = tmp_path / "labelled.tsv"
    path.write_text("".join(lines), encoding="utf-8")
    data = {"format": "labelled", "path": str(path)}
    return _experiment("classification", data, **training)


def _token_classification(tmp_path):
    for seed, (split, count) in enumerate(
        {"train": 60, "validation": 10, "test": 10}.items()
    ):
        (tmp_path / f"{split}.conll").write_text(
            conll_text(entity_sentences(count, seed=seed)), encoding="utf-8"
        )
    data = {"format": "conll", "path": str(tmp_path / "{split}.conll")}
    return _experiment("token_classification", data)


def _question_answering(tmp_path):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(generated_squad(20)), encoding="utf-8")
    data = {"format": "squad", "path": str(path)}
    return _experiment("question_answering", data, {"doc_stride": 8})


def _train(experiment, workdir, monkeypatch):
    """Trains, keeping the model's weights right after initialisation."""
    seen = {}
    initialize = PretrainedStart.initialize

    def spy(self, model, log=print):
        initialize(self, model, log)
        seen.update({w.path: w.numpy().copy() for w in model.weights})

    monkeypatch.setattr(PretrainedStart, "initialize", spy)
    metrics = train_and_evaluate(experiment, workdir, verbose=0)
    return metrics, seen


def _check_loaded(seen, heads):
    """The encoder's weights are the file's; the head is new."""
    tensors = load_file(os.path.join(CHECKPOINT, "model.safetensors"))
    np.testing.assert_array_equal(
        seen["embedding/token_embedding/embeddings"],
        tensors["embeddings.word_embeddings.weight"],
    )
    np.testing.assert_array_equal(
        seen["embedding/segment_embedding/embeddings"],
        tensors["embeddings.token_type_embeddings.weight"],
    )
    np.testing.assert_array_equal(
        seen["encoder/layer_1/feed_forward/outer_dense/kernel"],
        tensors["encoder.layer.1.output.dense.weight"].T,
    )
    np.testing.assert_array_equal(
        seen["encoder/layer_0/self_attention/query/kernel"],
        tensors["encoder.layer.0.attention.self.query.weight"].T.reshape(
            16, 4, 4
        ),
    )
    new = {path.split("/")[0] for path in seen} - {"embedding", "encoder"}
    assert new == set(heads)


def _check_tokenizer(workdir):
    """The run's tokenizer is the checkpoint's, saved in the run."""
    ours = run.load_task(workdir).tokenizers[0]
    theirs = load_tokenizer(CHECKPOINT)
    texts = ["Hello, world!", "Café résumé"]
    assert type(ours).__name__ == "WordPieceTokenizer"
    assert ours.tokenize(texts).to_list() == theirs.tokenize(texts).to_list()
    assert (ours.bos_id, ours.eos_id) == (CLS, SEP)


def test_classification_fine_tunes_a_checkpoint_and_exports_from_text(
    tmp_path, monkeypatch, capsys
):
    workdir = str(tmp_path / "run")
    copy = str(tmp_path / "checkpoint")
    shutil.copytree(CHECKPOINT, copy)
    experiment = _classification(tmp_path)
    experiment.model["init_from"] = copy
    metrics, seen = _train(experiment, workdir, monkeypatch)
    output = capsys.readouterr().out
    assert f"Tokenizer: copied from {copy}." in output
    assert f"Initialised from {copy}: embedding (" in output
    assert output.count("new: logits.") == 1
    _check_loaded(seen, ["logits"])
    _check_tokenizer(workdir)
    assert metrics["steps"] == 3 and 0 <= metrics["accuracy"] <= 1
    # The run needs the checkpoint no more: it keeps the architecture.
    shutil.rmtree(copy)
    with open(run_files.path(workdir, run_files.PRETRAINED_FILE)) as handle:
        assert json.load(handle)["config"]["d_model"] == 16
    task, model = load_finished(workdir, compile=False)
    assert task.model_config().d_model == 16
    # [CLS] text [SEP], as BERT was pretrained.
    batch = next(iter(task.make_dataset(task.load_splits()["test"], False)))
    tokens = batch[0]["tokens"].numpy()
    assert (tokens[:, 0] == CLS).all()
    last = (tokens != 0).sum(axis=1) - 1
    assert (tokens[np.arange(len(tokens)), last] == SEP).all()
    # The export answers from text in a process with only tensorflow and
    # tensorflow-text, as the predictor does.
    from keras_transformer.export import export_run

    texts = ["Hello world number 3", "Bye number 4", "", "ünïcödé " * 30]
    info = export_run(workdir, str(tmp_path / "export"))
    served = serve_saved_model(info["path"], texts)
    assert served["foreign"] == []
    expected = task.predictor(model).predict(texts)
    assert served["batch"]["label"] == [row["label"] for row in expected]
    np.testing.assert_allclose(
        served["batch"]["probabilities"],
        [row["probabilities"] for row in expected],
        atol=1e-5,
    )


def test_token_classification_starts_from_a_checkpoint(tmp_path, monkeypatch):
    workdir = str(tmp_path / "run")
    experiment = _token_classification(tmp_path)
    metrics, seen = _train(experiment, workdir, monkeypatch)
    _check_loaded(seen, ["logits"])
    _check_tokenizer(workdir)
    assert "entity_f1" in metrics
    task, model = load_finished(workdir, compile=False)
    batch = next(iter(task.make_dataset(task.load_splits()["test"], False)))
    tokens = batch[0]["tokens"].numpy()
    assert (tokens[:, 0] == CLS).all()
    last = (tokens != 0).sum(axis=1) - 1
    assert (tokens[np.arange(len(tokens)), last] == SEP).all()
    rows = task.predictor(model).predict(["We met Kalo Mira in Paris ."])
    assert isinstance(rows[0]["entities"], list)


def test_question_answering_reads_question_sep_context_with_segments(
    tmp_path, monkeypatch
):
    workdir = str(tmp_path / "run")
    metrics, seen = _train(_question_answering(tmp_path), workdir, monkeypatch)
    _check_loaded(seen, ["span_logits"])
    _check_tokenizer(workdir)
    assert "f1" in metrics and "baseline_f1" in metrics
    task, model = load_finished(workdir, compile=False)
    features, _ = next(
        iter(task.make_dataset(task.load_splits()["test"], False))
    )
    tokens = features["tokens"].numpy()
    segments = features["segment_ids"].numpy()
    for row, segment in zip(tokens, segments):
        length = int((row != 0).sum())
        first_sep = int(np.argmax(row == SEP))
        # [CLS] question [SEP] | context [SEP]: 0s, then 1s, then padding.
        assert row[0] == CLS and row[length - 1] == SEP
        assert (segment[: first_sep + 1] == 0).all()
        assert (segment[first_sep + 1 : length] == 1).all()
        assert (segment[length:] == 0).all()
    rows = task.predictor(model).predict(
        [("Where does Ann live?", "Ann lives in Rome. Bo works as a chef.")]
    )
    assert set(rows[0]) >= {"answer", "score", "start", "end"}


@pytest.mark.parametrize(
    "model, training, message",
    [
        ({"d_model": 32}, {}, r"model.d_model=32 contradicts the checkpoint"),
        ({"preset": "base"}, {}, r"model.preset='base' contradicts"),
        ({"position": "sinusoidal"}, {}, "position 'learned' there"),
        ({}, {"max_length": 64}, r"longer than the 40 positions"),
    ],
)
def test_settings_that_contradict_the_checkpoint_are_refused(
    tmp_path, model, training, message
):
    experiment = _classification(tmp_path, **training)
    experiment.model.update(model)
    with pytest.raises(ConfigError, match=message):
        train_and_evaluate(experiment, str(tmp_path / "run"), verbose=0)


def test_tokenizer_path_may_name_a_checkpoint(tmp_path):
    from keras_transformer.tasks.run_assets import load_tokenizer

    tokenizer = load_tokenizer(CHECKPOINT, "tokenizer.path")
    assert (tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id) == (0, 4, 5)
    with pytest.raises(ConfigError, match="tokenizer.path: .*nothing"):
        load_tokenizer(str(tmp_path / "nothing"), "tokenizer.path")


def test_a_damaged_pretrained_json_is_named(tmp_path):
    from keras_transformer.errors import RunError
    from keras_transformer.tasks.pretrained_start import read_pretrained

    target = tmp_path / run_files.PRETRAINED_FILE
    assert read_pretrained(str(target)) is None
    target.write_text('{"config": {"d_model": 16, "bogus": 1}}')
    with pytest.raises(RunError, match="pretrained.json is not a checkpoint"):
        read_pretrained(str(target))


def test_a_task_that_cannot_start_from_a_checkpoint_says_so(tmp_path):
    from tests.generated import MASKED_LM

    values = json.loads(json.dumps(MASKED_LM))
    (tmp_path / "lines.txt").write_text("one two three\nfour five six\n")
    path = str(tmp_path / "lines.txt")
    values["data"] = {"source": "files", "format": "text", "path": path}
    values["model"] = {"init_from": CHECKPOINT}
    with pytest.raises(ConfigError, match="the masked_lm task cannot start"):
        train_and_evaluate(
            experiment_from_dict(values), str(tmp_path / "run"), verbose=0
        )
    # A task refuses a checkpoint of a family it does not start from: a
    # translator is not a BERT encoder with a new head.
    translation = {"task": "translation", "model": {"init_from": CHECKPOINT}}
    message = "cannot start from a bert checkpoint .* families it starts "
    with pytest.raises(ConfigError, match=message + "from: marian"):
        train_and_evaluate(
            experiment_from_dict(translation),
            str(tmp_path / "translation"),
            verbose=0,
        )


def test_translation_fine_tunes_a_marian_checkpoint(tmp_path, monkeypatch):
    marian = os.path.join(FIXTURES, "huggingface", "marian")
    experiment = experiment_from_dict(
        {
            "task": "translation",
            "data": {"train_size": 40, "validation_size": 8, "test_size": 8},
            "model": {"init_from": marian, "dropout": 0.0},
            "training": TRAINING,
            "evaluation": {"decoding": {"strategy": "greedy"}},
        }
    )
    workdir = str(tmp_path / "run")
    metrics, seen = _train(experiment, workdir, monkeypatch)
    tensors = load_file(os.path.join(marian, "model.safetensors"))
    # Every weight comes from the checkpoint (the vocabulary reordered:
    # this package's EOS 3 is Marian's </s> 0).
    np.testing.assert_array_equal(
        seen["embedding/token_embedding/embeddings"][3],
        tensors["model.shared.weight"][0],
    )
    np.testing.assert_array_equal(
        seen["decoder/layer_1/cross_attention/attention_output/bias"],
        tensors["model.decoder.layers.1.encoder_attn.out_proj.bias"],
    )
    assert seen["output_bias/bias"][3] == tensors["final_logits_bias"][0, 0]
    assert {p.split("/")[0] for p in seen} == {
        "embedding",
        "encoder",
        "decoder",
        "output_bias",
    }
    assert metrics["steps"] == 3 and "bleu" in metrics
    task = run.load_task(workdir)
    assert type(task.tokenizers[1]).__name__ == "MarianTokenizer"


def test_a_lora_run_keeps_the_checkpoint_frozen_and_resumes_its_adapters(
    tmp_path, monkeypatch, capsys
):
    """Stopped after its first checkpoint, the rerun resumes the adapters
    (with Keras alone they would come back as zeros, and stay so); the
    frozen encoder stays the checkpoint's; inference gets the merged
    model."""
    workdir = str(tmp_path / "run")
    experiment = _classification(
        tmp_path, lora_rank=2, steps=4, steps_per_epoch=2
    )
    save = Checkpointer.on_epoch_end

    def stop_after_the_first(self, epoch, logs=None):
        save(self, epoch, logs)
        raise KeyboardInterrupt

    monkeypatch.setattr(Checkpointer, "on_epoch_end", stop_after_the_first)
    with pytest.raises(TrainingInterrupted):
        train_and_evaluate(experiment, workdir, verbose=0)
    assert (
        "LoRA: rank 2 on the query_value projections of embedding, encoder "
        "(frozen); " in capsys.readouterr().out
    )
    backup = run_files.path(workdir, run_files.BACKUP_DIR)
    (checkpoint,) = os.listdir(backup)
    halfway = load_model(os.path.join(backup, checkpoint))
    monkeypatch.setattr(Checkpointer, "on_epoch_end", save)
    metrics = train_and_evaluate(experiment, workdir, verbose=0)
    assert "(step 2); training to step 4" in capsys.readouterr().out
    assert metrics["steps"] == 4
    _, model = load_finished(workdir)
    assert model.lora["rank"] == 2 and model.lora["parts"] == [
        "embedding",
        "encoder",
    ]
    tensors = load_file(os.path.join(CHECKPOINT, "model.safetensors"))
    query = "encoder/layer_0/self_attention/query/"
    weights = {w.path: np.array(w) for w in model.weights}
    np.testing.assert_array_equal(
        weights[query + "kernel"],
        tensors["encoder.layer.0.attention.self.query.weight"].T.reshape(
            16, 4, 4
        ),
    )
    then = {w.path: np.array(w) for w in halfway.weights}
    for name in ("lora_kernel_a", "lora_kernel_b"):
        moved = np.abs(weights[query + name] - then[query + name]).max()
        assert np.abs(then[query + name]).max() > 0 and moved > 0
    task, merged = load_finished(workdir, compile=False)
    assert merged.lora is None
    batch = next(iter(task.make_dataset(task.load_splits()["test"], False)))
    np.testing.assert_allclose(
        np.array(merged(batch[0])), np.array(model(batch[0])), atol=1e-5
    )
