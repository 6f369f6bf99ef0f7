"""Each application lives in its own package, ``tasks/<name>/``.

Read from the source with ``ast`` (imports inside functions included):
nothing outside ``tasks/`` imports a task's package or names a task, and
a task's package imports no other task's, except the one it is built on.
"""

import ast
import pathlib

import pytest

from keras_transformer.tasks import task_names
from tests.test_import_graph import GRAPH, MODULES

PACKAGE = pathlib.Path(MODULES["keras_transformer"]).parent
TASKS = "keras_transformer.tasks"
#: The task packages that another task is built on (its Task subclasses
#: theirs): summarisation is translation with documents.
BUILT_ON = {"summarization": {"translation"}}


def _task_of(module):
    """The task package ``module`` belongs to, or None."""
    parts = module.split(".")
    if module.startswith(TASKS + ".") and parts[2] in task_names():
        return parts[2]
    return None


def test_every_built_in_task_is_a_package_with_its_task_module():
    for name in task_names():
        assert f"{TASKS}.{name}.task" in MODULES, name
        assert not (PACKAGE / "tasks" / f"{name}.py").exists(), name


def test_only_tasks_import_a_task_package():
    outside = [
        f"{MODULES[module]}:{line} imports {imported}"
        for module, imports in GRAPH.items()
        for imported, line in imports.items()
        if _task_of(imported) and not module.startswith(TASKS + ".")
    ]
    assert not outside, "\n".join(outside)


def test_a_task_package_imports_no_other_task_but_its_base():
    crossing = [
        f"{MODULES[module]}:{line} imports {imported}"
        for module, imports in GRAPH.items()
        for imported, line in imports.items()
        if _task_of(module)
        and _task_of(imported) not in (None, _task_of(module))
        and _task_of(imported) not in BUILT_ON.get(_task_of(module), ())
    ]
    assert not crossing, "\n".join(crossing)


def _task_names_used(path):
    """``(line, name)`` where the code of ``path`` tests or sets a task by
    its name: compares a string with a task name, or passes, stores or
    assigns one as a task (docstrings and output keys aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        values = []
        if isinstance(node, ast.Compare):
            values = [node.left, *node.comparators]
            values += [
                item
                for value in values
                if isinstance(value, (ast.Tuple, ast.List, ast.Set))
                for item in value.elts
            ]
        elif isinstance(node, ast.keyword) and node.arg == "task":
            values = [node.value]
        elif isinstance(node, ast.Dict):
            values = [
                value
                for key, value in zip(node.keys, node.values)
                if isinstance(key, ast.Constant) and key.value == "task"
            ]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = getattr(node, "targets", [getattr(node, "target", None)])
            if any("task" in ast.unparse(target) for target in targets):
                values = [node.value]
        found += [
            (value.lineno, value.value)
            for value in values
            if isinstance(value, ast.Constant) and value.value in task_names()
        ]
    return found


def test_no_code_outside_tasks_names_a_task():
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line}: {text!r}"
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] != "tasks"
        for line, text in _task_names_used(path)
    ]
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize(
    "source, flagged",
    [
        ('if kind == "translation":\n    pass\n', True),
        ('if name in ("masked_lm", "x"):\n    pass\n', True),
        ('x = {"task": "summarization"}\n', True),
        ('run(task="classification")\n', True),
        ('default_task = "translation"\n', True),
        ('def f():\n    """Runs a translation."""\n', False),
        ('outputs = {"translation": text}\n', False),
        ('message = f"a {task} run"\n', False),
    ],
)
def test_the_name_check_sees_tests_and_settings(tmp_path, source, flagged):
    path = tmp_path / "module.py"
    path.write_text(source)
    assert bool(_task_names_used(path)) is flagged
