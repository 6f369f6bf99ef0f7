"""SavedModels with tokenization, decoding and detokenization in the graph.

``export_run(workdir, export_dir)`` writes ``export_dir/<version>/``, the
layout TensorFlow Serving expects, with one ``serving_default`` signature:
the ``serve`` graph of the run's task predictor (``Task.predictor``), the
very graph that ``keras-transformer predict`` runs in-process:

- translation (``Translator``): ``text`` (tf.string, [None]) ->
  ``translation`` (tf.string, [None]) and ``score`` (float32, [None], the
  length-normalised log-probability of the translation);
- classification (``LabelPredictor``): ``text`` -> ``probabilities``
  (float32, [None, C]) and ``label`` (tf.string, [None]);
- language modelling (``TextGenerator``): ``prompt`` -> ``completion``
  (tf.string, [None], the continuation only) and ``score``;
- masked LM (``MaskFiller``): ``text`` with ``[MASK]``s -> ``filled``,
  ``fillers`` (tf.string, [None, M, 5]) and ``probabilities``;
- token classification (``EntityTagger``): ``text`` -> ``types``,
  ``texts`` (tf.string, [None, E]), ``starts``, ``ends`` (int32, [None,
  E], character offsets; padding "" and -1), ``words`` and ``tags``
  (tf.string, [None, W]);
- question answering (``AnswerExtractor``): ``question`` and ``context``
  (tf.string, [None] each) -> ``answer`` (tf.string, [None]), ``score``
  (float32, [None]) and ``start``, ``end`` (int32, [None], character
  offsets: ``answer == context[start:end]``).

The signature runs its work on chunks of at most ``serve_batch_size``
inputs (``inference.Predictor``), so a request of any size takes the
memory of one chunk.

The SavedModel needs only ``tensorflow`` and ``tensorflow_text`` (for the
SentencePiece ops) to load and run.
"""

import os
import time

import tensorflow as tf

from keras_transformer import backend, run, run_files
from keras_transformer.errors import ConfigError, RunError


def _next_version(export_dir):
    versions = [
        int(name)
        for name in (
            os.listdir(export_dir) if os.path.isdir(export_dir) else []
        )
        if name.isdigit()
    ]
    return max(versions, default=0) + 1


def check_backend():
    """Refuses to export under another backend than TensorFlow.

    Raises:
        ConfigError: naming the fix (``KERAS_BACKEND=tensorflow``).
    """
    backend.require_tensorflow("export (a SavedModel is a TensorFlow graph)")


def server_for_run(
    workdir,
    decoding=None,
    max_new_tokens=100,
    jit_compile=False,
    serve_batch_size=None,
    quantize=None,
):
    """The serving module of a finished run: its task's predictor.

    Args:
        workdir: the run directory.
        decoding: a ``DecodingConfig`` (default: the run's).
        max_new_tokens: tokens a language model generates per prompt.
        jit_compile: run the search under XLA (translation, summarisation).
        serve_batch_size: the most inputs the graph runs at once (None:
            the predictor's default, ``Predictor.serve_batch_size``).
        quantize: ``"int8"``: the model's weights quantized
            (``TransformerModel.quantize``); None: as trained.

    Raises:
        ConfigError: ``jit_compile`` for a task without a search, or an
            unsupported ``quantize`` mode.
    """
    task, model = run.load_finished(workdir, compile=False)
    if quantize is not None:
        try:
            model.quantize(quantize)
        except ValueError as err:
            raise ConfigError(f"--quantize: {err}") from None
    options = {"max_new_tokens": max_new_tokens}
    if jit_compile:
        if not task.compiles_search:
            raise ConfigError(
                "--jit-compile compiles the search of translation and "
                f"summarisation; a {task.name} run has none. Export without "
                "it."
            )
        options["jit_compile"] = True
    server = task.predictor(model, decoding, **options)
    if serve_batch_size is not None:
        server.serve_batch_size = serve_batch_size
    return server


def export_run(
    workdir,
    export_dir,
    version=None,
    decoding=None,
    max_new_tokens=100,
    jit_compile=False,
    serve_batch_size=None,
    quantize=None,
):
    """Exports a finished run as a SavedModel for TensorFlow Serving.

    The SavedModel is written to a hidden temporary directory beside the
    version directory and renamed into place only when complete, so a
    server watching ``export_dir`` never sees half a version (TensorFlow
    Serving only loads directories named by a number).

    Args:
        workdir: the run directory (``keras-transformer train``).
        export_dir: the model's base directory; the SavedModel goes to
            ``export_dir/<version>``.
        version: the version number, >= 1 (default: one above the highest).
        decoding: a ``DecodingConfig`` (default: the run's evaluation
            settings).
        max_new_tokens: tokens a language model generates per prompt.
        jit_compile: (translation, summarisation) run the search under XLA,
            sources padded to bucket lengths: one compilation per (batch
            size, bucket) at its first request, then faster requests.
            TensorFlow Serving needs ``--xla_cpu_compilation_enabled=true``
            to run it on a CPU.
        serve_batch_size: the most inputs the graph runs at once, which
            bounds its memory; larger requests run in chunks of this size,
            one after the other (None: ``Predictor.serve_batch_size``).
        quantize: ``"int8"``: serve the model with int8 weights (about a
            quarter of the float32 file); None: as trained.

    Returns:
        A dict with ``path``, ``version``, ``bytes`` and ``seconds``.

    Raises:
        ConfigError: ``version`` is not a positive integer, the Keras
            backend is not TensorFlow (a run trained under JAX exports
            under TensorFlow), or ``jit_compile`` for a task without a
            search.
        RunError: ``workdir`` holds no finished run, ``export_dir`` is not
            a writable directory (or the disk fills up while writing), or
            the version exists.

    Example:

    >>> export_run("runs/demo", "exports/demo")["path"]
    'exports/demo/1'
    """
    check_backend()
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or version < 1
    ):
        raise ConfigError(
            f"The export version must be an integer >= 1; got {version!r}."
        )
    run.read_experiment(workdir)  # a clear error before any other work
    run_files.check_writable(export_dir, "export")
    run_files.remove_stale_temporaries(export_dir)
    if version is None:
        version = _next_version(export_dir)
    path = os.path.join(export_dir, str(version))
    if os.path.exists(path):
        raise RunError(
            f"{path} already exists: choose another --version or remove it."
        )
    started = time.time()
    server = server_for_run(
        workdir,
        decoding,
        max_new_tokens,
        jit_compile,
        serve_batch_size,
        quantize,
    )
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("WARNING")  # not "INFO: Assets written to ..."
    try:
        with run_files.atomic_path(path) as temporary:
            tf.saved_model.save(
                server, temporary, signatures={"serving_default": server.serve}
            )
    except (OSError, tf.errors.OpError) as err:
        problem = run_files.disk_problem(err)
        if problem is None and not isinstance(err, OSError):
            raise  # not the disk's fault: a bug
        raise RunError(
            f"Cannot write the SavedModel to {path}: {problem or err}. "
            "Nothing was left behind; fix that and export again."
        ) from None
    finally:
        logger.setLevel(level)
    size = sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(path)
        for name in names
    )
    return {
        "path": path,
        "version": version,
        "bytes": size,
        "seconds": round(time.time() - started, 1),
    }
