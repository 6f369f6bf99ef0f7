"""The notebooks: paired with their text, committed with clean outputs, and
executed top to bottom in a configuration smaller than their quick one."""

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


# What the run below changes in each notebook (old text: new text, each old
# text found once): fewer steps, examples and epochs than the notebooks'
# quick defaults, which made their committed outputs. Every cell still runs
# (more than one epoch where the notebook plots epochs); what the outputs
# say about a trained model is the committed notebooks' business.
SMALLER = {
    "01_blog_snippets_corrected": {
        "EPOCHS = 3\n": "EPOCHS = 1\n",
        "keyword_data(3000)": "keyword_data(300)",
        "keyword_data(500)": "keyword_data(50)",
        "reversal_data(6000)": "reversal_data(600)",
        "mlm_data(6000)": "mlm_data(600)",
    },
    "04_translation": {
        '"training.steps=300"': '"training.steps=40"',
        '"training.steps_per_epoch=100"': '"training.steps_per_epoch=20"',
        '"training.warmup_steps=200"': '"training.warmup_steps=20"',
        '"data.train_size=10000"': '"data.train_size=1000"',
        '"data.validation_size=200"': '"data.validation_size=20"',
        '"evaluation.max_examples=100"': '"evaluation.max_examples=10"',
    },
    "05_text_classification": {
        '"training.steps=200"': '"training.steps=40"',
        '"training.steps_per_epoch=100"': '"training.steps_per_epoch=20"',
    },
    "06_language_model": {
        '"training.steps=300"': '"training.steps=40"',
        '"training.steps_per_epoch=100"': '"training.steps_per_epoch=20"',
        '"training.warmup_steps=100"': '"training.warmup_steps=20"',
        "NEW_TOKENS = 80\n": "NEW_TOKENS = 20\n",
    },
    "07_export_and_serving": {
        '"training.steps=150"': '"training.steps=30"',
        '"training.steps_per_epoch=150"': '"training.steps_per_epoch=30"',
        '"training.warmup_steps=100"': '"training.warmup_steps=20"',
        '"data.train_size=5000"': '"data.train_size=1000"',
        '"evaluation.max_examples=100"': '"evaluation.max_examples=10"',
    },
    "08_pretraining_and_fine_tuning": {
        "UNLABELLED = 5000 ": "UNLABELLED = 1000 ",
        "\nLABELLED = 1000 ": "\nLABELLED = 200 ",
        "TRAIN_LABELS = 300 ": "TRAIN_LABELS = 100 ",
        '"training.steps=400"': '"training.steps=40"',
        '"training.steps_per_epoch=100"': '"training.steps_per_epoch=20"',
        '"training.warmup_steps=100"': '"training.warmup_steps=20"',
        '"training.steps=30"': '"training.steps=10"',
        '"training.steps_per_epoch=15"': '"training.steps_per_epoch=5"',
    },
    "09_ner_qa_summarisation": {
        "NER_STEPS = 600\n": "NER_STEPS = 40\n",
        "QA_STEPS = 300\n": "QA_STEPS = 40\n",
        "SUMMARY_STEPS = 150": "SUMMARY_STEPS = 30",
        '("emerging.test.annotated", 200)': '("emerging.test.annotated", 20)',
        "for a in range(120)": "for a in range(40)",
        '("train.json.gz", 1500)': '("train.json.gz", 300)',
        '("test.json", 40)': '("test.json", 10)',
    },
}


def _smaller(name, notebook):
    """``notebook`` with the changes of ``SMALLER[name]``."""
    for old, new in SMALLER.get(name, {}).items():
        cells = [c for c in notebook.cells if old in c.source]
        assert len(cells) == 1 and cells[0].source.count(old) == 1, (
            f"{name}: {old!r} is not in exactly one place; update SMALLER"
        )
        cells[0].source = cells[0].source.replace(old, new)
    return notebook


def test_the_smaller_settings_are_in_the_notebooks():
    for name in SMALLER:
        assert name in NAMES
        _smaller(name, execute.build(os.path.join(NOTEBOOKS, name + ".py")))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(name):
    notebook = execute.build(os.path.join(NOTEBOOKS, name + ".py"))
    notebook = _smaller(name, notebook)
    execute.run(notebook, NOTEBOOKS)  # raises on the first failing cell
    outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
