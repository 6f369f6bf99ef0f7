"""Test settings: quiet TensorFlow, deterministic seeds, clean dtype policy."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# The two xdist workers (and the processes tests start, which inherit this)
# share the cores: one thread per TensorFlow pool and OpenMP keeps them from
# oversubscribing the machine. On 2 cores the export, checkpoint and
# inference tests then take 11% less CPU time and 9% less wall time.
for _name in (
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "OMP_NUM_THREADS",
):
    os.environ.setdefault(_name, "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests.generated import MASKED_LM, counting_lines  # noqa: E402

# Modules whose tests each take a minute or more (notebook kernels, command
# lines in subprocesses, several processes training together, JAX).
_LONGEST_FIRST = (
    "test_notebooks.py",
    "test_readme.py",
    "test_multi_worker_fix.py",
    "test_faults.py",
    "test_distribute.py",
    "test_jax_backend.py",
)


def pytest_collection_modifyitems(config, items):
    """Runs the longest tests first, then the other slow ones, then the
    rest: with ``make test``'s ``-n 2 --maxschedchunk 2`` the two workers
    take tests as they free up, and the short ones even out the end."""

    def rank(item):
        if item.path.name in _LONGEST_FIRST:
            return 0
        return 1 if item.get_closest_marker("slow") else 2

    items.sort(key=rank)


@pytest.fixture(autouse=True)
def _reset_keras_state():
    """Each test starts with the float32 policy and a fixed seed.

    (``keras.backend.clear_session()`` is not called: it costs most of a
    second per test and no test depends on fresh layer names.)
    """
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(1234)
    yield
    keras.config.set_dtype_policy("float32")


# Small finished runs of every task, trained once per test session (per
# xdist worker) by the tests that need them.

MODEL = {"num_layers": 1, "d_model": 32, "num_heads": 2, "ff_dim": 64}


def _train(workdir, values):
    from keras_transformer.experiment import experiment_from_dict
    from keras_transformer.train import train_and_evaluate

    train_and_evaluate(experiment_from_dict(values), str(workdir), verbose=0)
    return str(workdir)


@pytest.fixture(scope="session")
def translation_run(tmp_path_factory):
    return _train(
        tmp_path_factory.mktemp("translation") / "run",
        {
            "task": "translation",
            "data": {
                "source": "builtin",
                "task": "reverse",
                "train_size": 2000,
                "validation_size": 20,
                "test_size": 20,
            },
            "tokenizer": {"vocab_size": 60},
            "model": MODEL,
            "training": {
                "steps": 60,
                "steps_per_epoch": 60,
                "batch_tokens": 1024,
                "max_length": 24,
                "warmup_steps": 30,
            },
            "evaluation": {"max_examples": 20},
        },
    )


@pytest.fixture(scope="session")
def classification_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("classification")
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(200):
        positive = rng.random() < 0.5
        filler = " ".join(rng.choice(["the", "a", "film", "was"], 4))
        word = "good" if positive else "bad"
        lines.append(f"{'pos' if positive else 'neg'}\t{word} {filler}")
    (root / "labelled.tsv").write_text("\n".join(lines) + "\n")
    return _train(
        root / "run",
        {
            "task": "classification",
            "data": {
                "source": "files",
                "format": "labelled",
                "path": str(root / "labelled.tsv"),
            },
            "tokenizer": {"vocab_size": 20},
            "model": MODEL,
            "training": {
                "steps": 40,
                "steps_per_epoch": 40,
                "batch_tokens": 512,
                "max_length": 16,
                "schedule": "constant",
                "learning_rate": 0.003,
            },
        },
    )


@pytest.fixture(scope="session")
def language_model_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("language_model")
    (root / "text.txt").write_text("abcdefgh\n" * 300)
    return _train(
        root / "run",
        {
            "task": "language_modeling",
            "data": {
                "source": "files",
                "format": "text",
                "path": str(root / "text.txt"),
            },
            "tokenizer": {"type": "byte"},
            "model": MODEL,
            "training": {
                "steps": 60,
                "steps_per_epoch": 60,
                "batch_size": 16,
                "max_length": 32,
                "schedule": "constant",
                "learning_rate": 0.003,
            },
            "evaluation": {"decoding": {"strategy": "greedy"}},
        },
    )


@pytest.fixture(scope="session")
def masked_lm_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("masked_lm")
    text = root / "counting.txt"
    text.write_text("\n".join(line for line, _ in counting_lines(3000)) + "\n")
    values = dict(
        MASKED_LM,
        data={"source": "files", "format": "text", "path": str(text)},
    )
    return _train(root / "run", values)
