"""The translate/evaluate command line on a finished run."""

import os
import subprocess
import sys

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


def test_translate_arguments_stdin_strategies_and_attention(
    translation_run, tmp_path
):
    from keras_transformer.training.train import load_run, translator_for

    experiment, model, tokenizers = load_run(translation_run)
    texts = ["abc def", "x y z"]
    expected = translator_for(experiment, model, tokenizers).translate(texts)

    picture = tmp_path / "attention.png"
    result = _cli(
        "translate",
        "--workdir",
        translation_run,
        *texts,
        "--attention",
        str(picture),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == expected
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # stdin, greedy with scores; sampling with a seed is reproducible.
    result = _cli(
        "translate",
        "--workdir",
        translation_run,
        "--decode",
        "greedy",
        "--scores",
        stdin="abc def\nx y z\n",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all("\t" in line for line in lines)
    assert all(float(line.split("\t")[0]) <= 0 for line in lines)
    sampled = _cli(
        "translate",
        "--workdir",
        translation_run,
        "--decode",
        "sampling",
        "--temperature",
        "1.5",
        "--seed",
        "3",
        *texts,
    )
    assert sampled.returncode == 0, sampled.stderr
    assert sampled.stdout.count("\n") == 2


def test_evaluate_reports_the_decoding_and_errors_are_one_line(
    translation_run, tmp_path
):
    result = _cli(
        "evaluate", "--workdir", translation_run, "--decode", "greedy"
    )
    assert result.returncode == 0, result.stderr
    assert '"decode": "greedy"' in result.stdout  # the run's default: beam
    assert '"bleu_signature": "nrefs:1|case:mixed' in result.stdout

    missing = _cli("translate", "--workdir", str(tmp_path / "nothing"), "a")
    assert missing.returncode == 1
    assert "holds no" in missing.stderr
    assert "Traceback" not in missing.stderr
    result = _cli(
        "translate", "--workdir", translation_run, "--beam-size", "0", "a"
    )
    assert result.returncode == 1 and "beam_size" in result.stderr
