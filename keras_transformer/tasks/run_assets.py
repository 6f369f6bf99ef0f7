"""The assets of a run directory, made and read the same way for every
task: its tokenizers (trained on the task's texts, or copied from
``tokenizer.path`` or ``model.init_from``), its label names
(``labels.json``) and the architecture of the published checkpoint it
starts from (``pretrained.json``).

A task says only what differs: ``tokenizer_names``, ``tokenizer_texts``,
``tokenizer_symbols`` and ``label_noun``.
"""

import os
import time

from keras_transformer import run_files
from keras_transformer.checkpoints import huggingface
from keras_transformer.data.tokenizers import (
    ByteTokenizer,
    Tokenizer,
    train_sentencepiece,
)
from keras_transformer.errors import ConfigError, RunError


def load_tokenizer(directory, setting):
    """The tokenizer saved in ``directory``, which ``setting`` names.

    Raises:
        ConfigError: naming the setting and what is wrong.
    """
    if os.path.isdir(directory) and huggingface.is_checkpoint(directory):
        return huggingface.load_tokenizer(directory)
    try:
        return Tokenizer.load(directory)
    except (OSError, ValueError) as err:
        raise ConfigError(f"{setting}: {err}") from None


def prepare(task, workdir, splits):
    """Makes the run's assets: trains (or copies) and saves its
    tokenizers and saves its label names, unless the run has them; then
    loads them into ``task`` and checks the model's start fits.

    Args:
        task: the ``Task``.
        workdir: the run directory.
        splits: the task's ``datasets.Splits`` (the tokenizers' texts and
            the label names).
    """
    task.start.check_source()
    if task.label_noun:
        labels = run_files.path(workdir, run_files.LABELS_FILE)
        if not os.path.exists(labels):
            run_files.write_json(labels, splits.label_names)
    paths = [run_files.path(workdir, name) for name in task.tokenizer_names()]
    origin = _tokenizer_origin(task)
    if not all(os.path.exists(path) for path in paths):
        if origin:
            # Saved anew: only the tokenizer's own files, as regular
            # files, whatever else the directory holds or links to.
            with run_files.atomic_path(paths[0]) as temporary:
                load_tokenizer(*origin).save(temporary)
            print(f"Tokenizer: copied from {origin[0]}.")
        else:
            _train_tokenizers(task, splits, paths)
    task.load(workdir)
    if task.start.checkpoint:
        task.start.save(workdir)
    task.start.check_fit(task.model_config, task.tokenizers[0].vocab_size)


def _tokenizer_origin(task):
    """The tokenizer directory to copy (``init_from``'s, or
    ``tokenizer.path``) and the setting that names it, or None to train
    one."""
    origin = task.start.tokenizer_origin()
    if origin:
        return origin, "model.init_from"
    origin = task.experiment.tokenizer.path
    if origin is None:
        return None
    if len(task.tokenizer_names()) != 1:
        raise ConfigError(
            "tokenizer.path gives one tokenizer, but this experiment has "
            f"{len(task.tokenizer_names())} (set tokenizer.shared: true)."
        )
    load_tokenizer(origin, "tokenizer.path")
    return origin, "tokenizer.path"


def _train_tokenizers(task, splits, paths):
    """Trains one tokenizer per path on the task's texts and saves it."""
    config = task.experiment.tokenizer
    started = time.time()
    trained = []
    for texts in task.tokenizer_texts(splits):
        if config.type != "byte":
            print(
                f"Tokenizer: training SentencePiece on {len(texts):,} "
                "texts ...",
                flush=True,
            )
        trained.append(_train_tokenizer(task, texts))
    for tokenizer, path in zip(trained, paths):
        with run_files.atomic_path(path) as temporary:
            tokenizer.save(temporary)
    if config.type != "byte":
        sizes = ", ".join(f"{t.vocab_size:,}" for t in trained)
        print(
            f"Tokenizer: SentencePiece {config.model_type}, {sizes} pieces, "
            f"trained in {time.time() - started:.1f} s."
        )


def _train_tokenizer(task, texts):
    config = task.experiment.tokenizer
    if config.type == "byte":
        if task.tokenizer_symbols:
            raise ConfigError(
                f"task {task.name!r} needs the pieces "
                f"{list(task.tokenizer_symbols)}, which the byte "
                "tokenizer lacks: use tokenizer.type: sentencepiece."
            )
        return ByteTokenizer()
    return train_sentencepiece(
        texts,
        vocab_size=config.vocab_size,
        model_type=config.model_type,
        character_coverage=config.character_coverage,
        split_digits=config.split_digits,
        user_defined_symbols=task.tokenizer_symbols,
    )


def load(task, workdir):
    """Reads the assets of a run directory into ``task``: its
    ``tokenizers``, ``label_names`` and checkpoint architecture.

    Raises:
        RunError: a tokenizer is missing or damaged.
    """
    loaded = []
    for name in task.tokenizer_names():
        try:
            loaded.append(Tokenizer.load(run_files.path(workdir, name)))
        except (OSError, ValueError) as err:
            raise RunError(
                f"{workdir} has no usable tokenizer: {err}"
            ) from None
    task.tokenizers = (loaded[0], loaded[-1].target_tokenizer)
    task.start.read(workdir)
    if task.label_noun:
        task.labels_path = run_files.path(workdir, run_files.LABELS_FILE)
        task.label_names = run_files.read_labels(
            task.labels_path, task.label_noun
        )
