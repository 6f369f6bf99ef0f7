"""Layers use keras.ops only, so they run on every Keras backend."""

import ast
import pathlib

import keras_transformer.layers

LAYERS_DIR = pathlib.Path(keras_transformer.layers.__file__).parent
FORBIDDEN = ("tensorflow", "jax", "torch", "tf_keras")


def test_layer_modules_import_no_backend_framework():
    offenders = []
    for path in sorted(LAYERS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in FORBIDDEN or name.startswith(
                    "keras.src"
                ):
                    offenders.append(f"{path.name}: {name}")
    assert not offenders, offenders
