"""The translate/evaluate command line on a finished run."""

import io
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _cli(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "keras_transformer", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=600,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )


def _stdin(monkeypatch, text):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text)))


def test_translate_arguments_stdin_strategies_and_attention(
    translation_run, tmp_path, capsys, monkeypatch
):
    from keras_transformer.run import load_finished

    task, model = load_finished(translation_run)
    texts = ["abc def", "x y z"]
    expected = task.predictor(model).translate(texts)

    picture = tmp_path / "attention.png"
    code, out, err = _main(
        capsys,
        "translate",
        "--workdir",
        translation_run,
        *texts,
        "--attention",
        picture,
    )
    assert code == 0, err
    assert out.splitlines()[:2] == expected
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # stdin, greedy with scores; sampling with a seed is reproducible.
    _stdin(monkeypatch, b"abc def\nx y z\n")
    code, out, err = _main(
        capsys,
        "translate",
        "--workdir",
        translation_run,
        "--decode",
        "greedy",
        "--scores",
    )
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and all("\t" in line for line in lines)
    assert all(float(line.split("\t")[0]) <= 0 for line in lines)
    sampling = ["--decode", "sampling", "--temperature", "1.5", "--seed", "3"]
    sampled = [
        _main(
            capsys, "translate", "--workdir", translation_run, *sampling, *texts
        )
        for _ in range(2)
    ]
    assert sampled[0][0] == 0, sampled[0][2]
    assert sampled[0][1].count("\n") == 2 and sampled[0] == sampled[1]


def test_evaluate_keeps_every_result_and_prints_one_line(
    translation_run, tmp_path, capsys
):
    import csv
    import json

    metrics_before = open(os.path.join(translation_run, "metrics.json")).read()
    results = {}
    for decode in ("greedy", "beam"):
        code, out, err = _main(
            capsys, "evaluate", "--workdir", translation_run, "--decode", decode
        )
        assert code == 0, err
        summary = out.strip().splitlines()[-1]
        assert summary.startswith("test, ") and "bleu " in summary
        results[decode] = summary
    assert "test, greedy: bleu" in results["greedy"]
    assert "test, beam4 alpha=0.6: bleu" in results["beam"]
    eval_dir = os.path.join(translation_run, "eval")
    assert sorted(os.listdir(eval_dir)) == [
        "test-beam4-alpha0.6.json",
        "test-beam4-alpha0.6.tsv",
        "test-greedy.json",
        "test-greedy.tsv",
    ]
    with open(os.path.join(eval_dir, "test-greedy.json")) as handle:
        greedy = json.load(handle)
    assert greedy["decode"] == "greedy"
    assert greedy["bleu_signature"].startswith("nrefs:1|case:mixed")
    with open(os.path.join(eval_dir, "test-greedy.tsv"), newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert len(rows) == 20  # every test sentence, not only the examples
    assert set(rows[0]) == {"source", "reference", "translation"}
    # The training run's own final evaluation is untouched.
    assert open(os.path.join(translation_run, "metrics.json")).read() == (
        metrics_before
    )

    # The console command itself (python -m keras_transformer): a missing
    # run is one line, no traceback.
    missing = _cli("translate", "--workdir", str(tmp_path / "nothing"), "a")
    assert missing.returncode == 1
    assert "holds no" in missing.stderr
    assert "Traceback" not in missing.stderr
    # An argument error, before anything is loaded.
    beam = ["--beam-size", "0"]
    with pytest.raises(SystemExit) as raised:
        _main(capsys, "translate", "--workdir", translation_run, *beam, "a")
    err = capsys.readouterr().err
    assert raised.value.code == 2 and "beam_size must be" in err


# ------------------------------------------------- one-line errors, in-process


def _main(capsys, *argv):
    from keras_transformer.cli import main

    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _config(tmp_path, content=b"training:\n  steps: 10\n"):
    path = tmp_path / "e.yaml"
    path.write_bytes(content)
    return path


def _train(tmp_path, *settings, content=b"training:\n  steps: 10\n"):
    """``train`` of a small config in ``tmp_path/w`` with ``--set``s."""
    argv = ["train", _config(tmp_path, content), "--workdir", tmp_path / "w"]
    for setting in settings:
        argv += ["--set", setting]
    return argv


CASES = {
    "yaml syntax": (
        lambda t: _train(t, content=b"training: [1\n"),
        r"e.yaml:2:1: invalid YAML",
    ),
    "config is a directory": (
        lambda t: ["train", t, "--workdir", t / "w"],
        "is a directory; pass an experiment file",
    ),
    "latin-1 config": (
        lambda t: _train(t, content=b"# caf\xe9\n"),
        "is not UTF-8 text (byte 0xe9",
    ),
    "unknown key": (
        lambda t: _train(t, content=b"training:\n  stepz: 3\n"),
        "training.stepz",
    ),
    "bad --set value": (
        lambda t: _train(t, "training.steps=[1"),
        "--set training.steps=[1: the value is not valid YAML",
    ),
    "steps 0": (
        lambda t: _train(t, "training.steps=0"),
        "training.steps: invalid value 0; it must be >= 1",
    ),
    "steps_per_epoch 0": (
        lambda t: _train(t, "training.steps_per_epoch=0"),
        "training.steps_per_epoch: invalid value 0",
    ),
    "train workdir is a file": (
        lambda t: ["train", _config(t), "--workdir", _config(t)],
        "is a file, not a directory",
    ),
    "evaluate workdir is a file": (
        lambda t: ["evaluate", "--workdir", _config(t)],
        "is a file, not a run directory",
    ),
    "no run": (
        lambda t: ["evaluate", "--workdir", t / "nothing"],
        "holds no run. Train first",
    ),
    "damaged run config": (
        lambda t: [
            "translate",
            "--workdir",
            _config(t, b"a: [").parent.joinpath("w"),
            "x",
        ],
        None,  # built below
    ),
}


def _blank_targets(t):
    (t / "pairs.tsv").write_text("".join(f"source {i}\t \n" for i in range(40)))
    return _train(
        t,
        content=f"data:\n  source: files\n  format: tsv\n  path: "
        f"{t / 'pairs.tsv'}\n".encode(),
    )


def _in_run(name, make):
    """``train`` into ``t/w``, where ``make(t/w/name)`` made something."""

    def arguments(t):
        os.makedirs(t / "w")
        make(t / "w" / name, t)
        return _train(t)

    return arguments


# The cases of round two of the hostile-input review, each refused in one
# line before any work.
HOSTILE = {
    "yaml alias bomb": (
        lambda t: _train(
            t,
            "data.task=[&a [x,x,x,x,x,x,x,x,x], &b [*a,*a,*a,*a,*a,*a,*a,*a,"
            "*a], &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]]",
        ),
        "aliases (*name) are not accepted",
    ),
    "two training sections": (
        lambda t: _train(
            t, content=b"training:\n  steps: 10\ntraining:\n  seed: 1\n"
        ),
        "e.yaml:3:1: invalid YAML (the key 'training' is repeated (first on "
        "line 1)",
    ),
    "a huge value": (
        lambda t: _train(t, "data.task=" + "x" * 1_000_000),
        "data.task: invalid value 'xxxx",
    ),
    "learned positions shorter than the data": (
        lambda t: _train(
            t,
            "model.position=learned",
            "model.max_length=8",
            "training.max_length=32",
        ),
        "model.max_length=8 is shorter than training.max_length=32",
    ),
    "a model that cannot fit": (
        lambda t: _train(t, "model.d_model=1000000000"),
        "training needs at least",
    ),
    "blank targets": (_blank_targets, "40 of 40 pairs have a blank side"),
    "lock is a symbolic link": (
        _in_run(".lock", lambda p, t: os.symlink(_config(t), p)),
        ".lock is a symbolic link, not a regular file",
    ),
    "lock is a directory": (
        _in_run(".lock", lambda p, t: os.mkdir(p)),
        ".lock is a directory, not a regular file",
    ),
    "lock is a FIFO": (
        _in_run(".lock", lambda p, t: os.mkfifo(p)),
        ".lock is a FIFO, not a regular file",
    ),
    "backup is a symbolic link": (
        _in_run("backup", lambda p, t: os.symlink(t, p)),
        "backup is a symbolic link",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES) + sorted(HOSTILE))
def test_errors_are_one_line_naming_the_fix(case, tmp_path, capsys):
    arguments, message = {**CASES, **HOSTILE}[case]
    argv = arguments(tmp_path)
    if case == "damaged run config":
        os.makedirs(tmp_path / "w")
        (tmp_path / "w" / "config.yaml").write_text("task: [\n")
        message = "config.yaml:2:1: invalid YAML"
    code, out, err = _main(capsys, *argv)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert message in lines[0]
    assert len(lines[0]) < 1000
    assert "Tokenizer" not in out  # refused before any work


@pytest.mark.parametrize(
    "argv",
    [
        ["translate", "--workdir", "w", "--batch-size", "0", "a"],
        ["translate", "--workdir", "w", "--batch-size", "-3", "a"],
        ["export", "--workdir", "w", "e", "--version", "-1"],
        ["export", "--workdir", "w", "e", "--version", "0"],
    ],
)
def test_non_positive_counts_are_argument_errors(argv, capsys):
    from keras_transformer.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err


def test_attention_without_matplotlib_names_the_package(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    code, _, err = _main(
        capsys, "translate", "--workdir", tmp_path, "--attention", "a.png", "x"
    )
    assert code == 1 and "pip install matplotlib" in err


def test_export_into_a_file_is_refused(translation_run, tmp_path, capsys):
    target = _config(tmp_path)
    code, _, err = _main(capsys, "export", "--workdir", translation_run, target)
    assert code == 1 and "is a file, not a directory" in err


class _Stdin:
    def __init__(self, data):
        self.buffer = io.BytesIO(data)


def test_invalid_utf8_lines_are_named_and_the_others_translated(
    translation_run, capsys, monkeypatch
):
    from keras_transformer.run import load_finished

    task, model = load_finished(translation_run)
    expected = task.predictor(model).translate(["abc def", "x y z"])
    monkeypatch.setattr(sys, "stdin", _Stdin(b"abc def\n\xff bad\nx y z\n"))
    code, out, err = _main(capsys, "translate", "--workdir", translation_run)
    assert code == 1
    assert out.split("\n")[:3] == [expected[0], "", expected[1]]
    assert "line 2 of stdin is not valid UTF-8 (byte 0xff at column 1)" in err


def test_sigterm_is_handled_like_ctrl_c_only_while_running(capsys):
    from keras_transformer import cli

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        cli._interrupt(signal.SIGTERM, None)
    _main(capsys, "evaluate", "--workdir", "/nonexistent/run")
    assert signal.getsignal(signal.SIGTERM) is before


def test_predict_answers_for_every_task(
    classification_run, language_model_run, masked_lm_run, tmp_path, capsys
):
    code, out, err = _main(
        capsys, "predict", "--workdir", classification_run, "good a film"
    )
    assert code == 0, err
    label, probability = out.strip().split("\t")
    assert label == "pos" and 0.5 < float(probability) <= 1.0

    code, out, err = _main(
        capsys,
        "predict",
        "--workdir",
        language_model_run,
        "--max-new-tokens",
        "5",
        "--scores",
        "abc",
    )
    assert code == 0, err
    score, completion = out.rstrip("\n").split("\t")
    assert completion == "defgh" and float(score) <= 0

    output = tmp_path / "fills.txt"
    code, out, err = _main(
        capsys,
        "predict",
        "--workdir",
        masked_lm_run,
        "--output",
        output,
        "five six [MASK] eight",
        "ten eleven twelve",
    )
    assert code == 0, err
    assert "2 outputs written" in out
    lines = output.read_text().splitlines()
    assert lines[0].startswith("five six seven eight\tseven 0.")
    assert lines[1] == "ten eleven twelve"  # no mask: nothing to fill

    # translate is the translation task's alias only.
    code, _, err = _main(
        capsys, "translate", "--workdir", classification_run, "x"
    )
    assert code == 1 and "has no translate command; use predict" in err

    # export --jit-compile compiles a search, which a classifier has not.
    code, _, err = _main(
        capsys,
        "export",
        "--workdir",
        classification_run,
        tmp_path / "exports",
        "--jit-compile",
    )
    assert code == 1 and "--jit-compile compiles the search" in err
    assert err.count("\n") == 1


def test_models_saved_by_earlier_versions_still_load(translation_run, tmp_path):
    import shutil

    import keras

    from keras_transformer.models import Transformer
    from keras_transformer.run import load_finished

    copy = str(tmp_path / "run")
    shutil.copytree(translation_run, copy)
    task, model = load_finished(copy, compile=False)
    legacy = keras.Model(model.inputs, model.outputs)  # no attributes
    legacy.save(os.path.join(copy, "model.keras"))
    _, loaded = load_finished(copy, compile=False)
    assert type(loaded) is Transformer
    inputs = {
        "source_tokens": np.array([[5, 6, 7, 3]]),
        "target_tokens": np.array([[2, 9, 4]]),
    }
    np.testing.assert_array_equal(model(inputs), loaded(inputs))
    assert task.predictor(loaded).translate(["abc def"]) == (
        task.predictor(model).translate(["abc def"])
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["train", "--help"],
        ["evaluate", "--workdir", "run", "--beam-size", "0"],
        ["train", "configs/demo.yaml"],  # --workdir missing
    ],
)
def test_help_and_argument_errors_import_no_framework(argv):
    """``--help`` and argument errors answer before TensorFlow, Keras or
    NumPy is imported (the imports take seconds)."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "keras_transformer"] + argv,
        capture_output=True,
        text=True,
        cwd=os.path.join(os.path.dirname(__file__), ".."),
    )
    assert result.returncode == (0 if "--help" in argv else 2)
    assert "usage: keras-transformer" in result.stdout + result.stderr
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "keras_transformer.cli" in imported
    assert not imported & {"tensorflow", "keras", "numpy"}, imported & {
        "tensorflow",
        "keras",
        "numpy",
    }


# ------------------------------------------- damaged or foreign run files


def _copy(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


def _one_error_line(code, err):
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


def _foreign_models(copy):
    """Models that are not this package's: a named Lambda, and a layer
    whose activation names ``os.system``."""
    import json
    import zipfile

    import keras

    inputs = keras.Input((3,))
    lambda_model = keras.Model(
        inputs, keras.layers.Lambda(lambda x: x * 2, name="double")(inputs)
    )
    lambda_path = str(copy / "lambda.keras")
    lambda_model.save(lambda_path)
    dense = keras.Model(inputs, keras.layers.Dense(2, name="d")(inputs))
    dense_path = str(copy / "dense.keras")
    dense.save(dense_path)
    crafted = str(copy / "crafted.keras")
    with zipfile.ZipFile(dense_path) as source:
        with zipfile.ZipFile(crafted, "w") as target:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == "config.json":
                    config = json.loads(data)
                    layer = config["config"]["layers"][-1]["config"]
                    layer["activation"] = {"module": "os", "config": "system"}
                    data = json.dumps(config).encode()
                target.writestr(item, data)
    return lambda_path, crafted


def test_a_model_file_of_another_kind_is_refused_in_one_line(
    translation_run, tmp_path, capsys
):
    copy = _copy(translation_run, tmp_path)
    for foreign in _foreign_models(copy):
        os.replace(foreign, copy / "model.keras")
        line = _one_error_line(
            *_main(capsys, "translate", "--workdir", copy, "abc")[::2]
        )
        assert "model.keras is not a model this package can load" in line


@pytest.mark.parametrize(
    "labels, message",
    [
        ("5", "labels.json is damaged: expected a JSON list of class names"),
        ('{"a": 1}', "expected a JSON list of class names"),
        ('["only"]', "has 1 class names, but the model has 2 outputs"),
    ],
)
def test_damaged_labels_are_refused_by_predict(
    classification_run, tmp_path, capsys, labels, message
):
    copy = _copy(classification_run, tmp_path)
    (copy / "labels.json").write_text(labels)
    code, _, err = _main(capsys, "predict", "--workdir", copy, "good a film")
    assert message in _one_error_line(code, err)


def test_damaged_metrics_are_refused_naming_the_file(
    classification_run, tmp_path, capsys
):
    copy = _copy(classification_run, tmp_path)
    (copy / "metrics.json").write_text('{"steps": "abc"}')
    code, _, err = _main(capsys, "evaluate", "--workdir", copy)
    line = _one_error_line(code, err)
    assert "metrics.json is damaged" in line and "steps" in line


def test_evaluate_writes_elsewhere_when_the_run_cannot_be_written(
    classification_run, tmp_path, capsys, monkeypatch
):
    import json

    from keras_transformer import run_files

    copy = _copy(classification_run, tmp_path)
    kept = sorted(os.listdir(copy / "eval"))  # train's final evaluation
    results = tmp_path / "results"
    code, out, err = _main(
        capsys, "evaluate", "--workdir", copy, "--output-dir", results
    )
    assert code == 0, err
    assert sorted(os.listdir(copy / "eval")) == kept
    written = json.loads((results / "test.json").read_text())
    assert written["steps"] == 40 and written["split"] == "test"

    def read_only(target, mode="w"):
        raise PermissionError(13, "Permission denied", target)

    monkeypatch.setattr(run_files, "open_new", read_only)
    line = _one_error_line(*_main(capsys, "evaluate", "--workdir", copy)[::2])
    assert "permission denied. Pass --output-dir DIR" in line


def test_a_full_disk_reported_by_another_library_is_one_line(
    tmp_path, capsys, monkeypatch
):
    import tensorflow as tf

    from keras_transformer.data.tokenizers import Tokenizer

    def save(self, path):
        raise tf.errors.ResourceExhaustedError(
            None, None, f"{path}/spm.model; No space left on device"
        )

    monkeypatch.setattr(Tokenizer, "save", save)
    code, _, err = _main(
        capsys,
        *_train(tmp_path, "data.train_size=50", "tokenizer.type=byte"),
    )
    line = _one_error_line(code, err)
    assert "error: no space left on the device" in line
    assert "rerun the same command" in line
