"""The notebooks: paired with their text, committed with clean outputs, and
executed top to bottom in their quick configuration."""

import importlib.util
import os

import nbformat
import pytest

NOTEBOOKS = os.path.join(os.path.dirname(__file__), "..", "notebooks")
_spec = importlib.util.spec_from_file_location(
    "notebook_execute", os.path.join(NOTEBOOKS, "execute.py")
)
execute = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(execute)

SOURCES = execute.notebook_sources()
# The notebooks whose point is made with plots.
PICTURES = {
    "02_attention_from_scratch",
    "03_positional_encoding_and_blocks",
    "04_translation",
    "05_text_classification",
    "06_language_model",
    "08_pretraining_and_fine_tuning",
    "09_ner_qa_summarisation",
}
NAMES = [os.path.basename(path)[:-3] for path in SOURCES]


def test_the_nine_notebooks_exist():
    assert [name[:2] for name in NAMES] == [f"0{i}" for i in range(1, 10)]


def _committed(name):
    return nbformat.read(os.path.join(NOTEBOOKS, name + ".ipynb"), 4)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_matches_its_text_pair(name):
    text = execute.build(os.path.join(NOTEBOOKS, name + ".py"))
    committed = _committed(name)
    assert [(c.cell_type, c.source) for c in text.cells] == [
        (c.cell_type, c.source) for c in committed.cells
    ], f"{name}.ipynb is out of date: run python notebooks/execute.py {name}"


@pytest.mark.parametrize("name", NAMES)
def test_committed_outputs_are_complete_and_error_free(name):
    cells = [c for c in _committed(name).cells if c.cell_type == "code"]
    assert all(c.execution_count for c in cells), f"{name} was not run"
    for cell in cells:
        for output in cell.outputs:
            assert output.output_type != "error", (name, output.get("ename"))
            text = output.get("text", "")
            assert "Traceback (most recent call last)" not in text, name
    if name in PICTURES:
        assert any(
            "image/png" in output.get("data", {})
            for cell in cells
            for output in cell.outputs
        ), f"{name} shows no picture"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(name):
    notebook = execute.build(os.path.join(NOTEBOOKS, name + ".py"))
    execute.run(notebook, NOTEBOOKS)  # raises on the first failing cell
    outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
