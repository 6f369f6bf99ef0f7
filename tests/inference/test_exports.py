import importlib
import inspect
import pkgutil

import keras_transformer.inference as inference


def test_exported_names_are_the_objects_even_after_submodule_imports():
    # Importing a submodule sets an attribute of that name on the package;
    # a submodule named like an exported function would shadow it.
    for info in pkgutil.iter_modules(inference.__path__):
        importlib.import_module(f"{inference.__name__}.{info.name}")
    for name in inference.__all__:
        value = getattr(inference, name)
        assert not inspect.ismodule(value), name
        assert value.__name__ == name
