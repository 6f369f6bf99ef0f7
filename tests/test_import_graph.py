"""The package's import graph: no cycles, and no import that runs upward.

Every ``import`` of the package is read from the source (with ``ast``,
imports inside functions included). The rooms of the package are ranked
below, from the bottom up, in the order data flows: a module may import
from its own room and from lower ones, never from a higher one.
"""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "keras_transformer"

# The rooms (a subpackage, or a module of the top level), bottom up.
RANKS = [
    ("errors", "special_tokens", "terminal", "backend", "setting"),
    ("layers",),
    ("models",),
    ("data",),
    ("checkpoints",),  # published checkpoints -> models, tokenizers
    ("inference",),  # decoding and predictors
    ("run_files",),  # the run directory's files
    ("training",),  # losses, schedules, callbacks, checkpoints of a run
    ("tasks",),
    ("experiment", "settings_reference"),  # the YAML schema; its reference
    ("run",),  # loads a run: experiment, task, model
    ("train", "import_checkpoint"),  # the entry points that write runs
    ("export",),
    ("cli", "__main__", "__init__"),
]
RANK = {room: rank for rank, rooms in enumerate(RANKS) for room in rooms}


def _modules():
    """``{module name: source path}`` of every module of the package."""
    found = {}
    for folder, _, files in os.walk(os.path.join(ROOT, PACKAGE)):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                found[module.removesuffix(".__init__")] = path
    return found


def _imports(path, modules):
    """``{imported module: line}`` of the package's imports in ``path``."""
    found = {}
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif (
            isinstance(node, ast.ImportFrom) and node.module and not node.level
        ):
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            while name and name not in modules:  # the module, not a name
                name = name.rpartition(".")[0]
            if name.startswith(PACKAGE):
                found.setdefault(name, node.lineno)
    return found


def _room(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


MODULES = _modules()
GRAPH = {
    module: {
        imported: line
        for imported, line in _imports(path, MODULES).items()
        if imported != module
    }
    for module, path in MODULES.items()
}


def test_every_room_has_a_rank():
    assert {_room(module) for module in MODULES} <= set(RANK)


def test_no_import_runs_upward():
    upward = [
        f"{MODULES[module]}:{line} imports {imported}"
        for module, imports in GRAPH.items()
        for imported, line in imports.items()
        if RANK[_room(imported)] > RANK[_room(module)]
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    state, cycles = {}, []

    def visit(module, stack):
        state[module] = "open"
        for imported in GRAPH[module]:
            if state.get(imported) == "open":
                cycles.append(stack[stack.index(imported) :] + [imported])
            elif imported not in state:
                visit(imported, stack + [imported])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


@pytest.mark.parametrize(
    "source, found",
    [
        ("import keras_transformer.run\n", {"keras_transformer.run"}),
        (
            "def f():\n    from keras_transformer.tasks import get_task\n",
            {"keras_transformer.tasks"},
        ),
        (
            "from keras_transformer import run_files\n",
            {"keras_transformer.run_files"},
        ),
        ("import os\nfrom . import x\n", set()),
    ],
)
def test_the_reader_finds_imports_at_any_depth(tmp_path, source, found):
    path = tmp_path / "module.py"
    path.write_text(source)
    assert set(_imports(str(path), MODULES)) == found
