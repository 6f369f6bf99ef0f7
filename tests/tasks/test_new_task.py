"""The walkthrough of docs/new-task.md, as written: its files make a toy
task in a package of its own, which registers, trains, evaluates, resumes
and predicts like a built-in one."""

import os
import pathlib
import re
import sys

import pytest

from keras_transformer.tasks import registry

PAGE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "new-task.md"
BLOCK = re.compile(r'^```(\w+) title="([^"]+)"\n(.*?)^```', re.S | re.M)


def _files():
    """``{title: (language, text)}`` of the page's titled blocks."""
    return {
        title: (language, text)
        for language, title, text in BLOCK.findall(PAGE.read_text())
    }


def test_every_python_block_of_the_page_is_a_file_of_the_walkthrough():
    untitled = re.findall(r"^```python\n", PAGE.read_text(), re.M)
    assert not untitled
    titles = set(_files())
    assert {
        "toy_tasks/majority/settings.py",
        "toy_tasks/majority/predictor.py",
        "toy_tasks/majority/task.py",
        "majority.yaml",
        "run_majority.py",
        "run_majority.py (continued)",
    } == titles


@pytest.mark.slow
def test_the_toy_task_trains_and_predicts_as_the_page_says(
    tmp_path, monkeypatch, capsys
):
    files = _files()
    for title, (_, text) in files.items():
        if "/" in title or title.endswith(".yaml"):
            path = tmp_path / title
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    for package in ("toy_tasks", "toy_tasks/majority"):
        (tmp_path / package / "__init__.py").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_TASKS", dict(registry._TASKS))
    script = (
        files["run_majority.py"][1] + files["run_majority.py (continued)"][1]
    )
    namespace = {}
    try:
        exec(compile(script, "run_majority.py", "exec"), namespace)
    finally:
        for name in [m for m in sys.modules if m.startswith("toy_tasks")]:
            del sys.modules[name]
    assert "majority" in registry.task_names()
    assert namespace["metrics"]["accuracy"] >= 0.9  # chance: 0.5
    assert [row["label"] for row in namespace["rows"]] == ["ones", "zeros"]
    printed = capsys.readouterr().out
    assert "test accuracy: " in printed and "['ones', 'zeros']" in printed
    # The run is a run like any other: its settings were read by the task.
    experiment = namespace["experiment"]
    assert experiment.task_settings["majority"].bits == 9
    assert os.path.exists("runs/majority/model.keras")
