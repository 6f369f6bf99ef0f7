"""The Python examples of README.md run and do what they say."""

import pathlib
import re

import numpy as np
import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_has_examples():
    assert len(_python_blocks()) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_readme_example_runs(index):
    namespace = {}
    exec(
        compile(_python_blocks()[index], f"README.md[{index}]", "exec"),
        namespace,
    )
    if "history" in namespace:  # the classifier learns the task
        assert namespace["history"].history["accuracy"][-1] > 0.9
    if "generated" in namespace:  # the translator reverses unseen inputs
        generated = np.concatenate(namespace["generated"], 1)
        expected = namespace["test_source"][:, ::-1]
        assert (generated == expected).mean() > 0.9
