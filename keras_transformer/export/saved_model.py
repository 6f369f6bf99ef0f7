"""SavedModels with tokenization, decoding and detokenization in the graph.

``export_run(workdir, export_dir)`` writes ``export_dir/<version>/``, the
layout TensorFlow Serving expects, with one ``serving_default`` signature:

- translation: ``text`` (tf.string, [None]) -> ``translation`` (tf.string,
  [None]) and ``score`` (float32, [None], the length-normalised
  log-probability of the translation);
- classification: ``text`` -> ``probabilities`` (float32, [None, C]) and
  ``label`` (tf.string, [None]);
- language modelling: ``prompt`` -> ``completion`` (tf.string, [None], the
  continuation only) and ``score``.

The SavedModel needs only ``tensorflow`` and ``tensorflow_text`` (for the
SentencePiece ops) to load and run. Inputs longer than the model's maximum
length are truncated (translation: the first ``max_length - 1`` tokens and
EOS; classification: the first ``max_length`` tokens; prompts: the last
tokens that leave room for the completion). Empty or whitespace-only texts
translate to ``""`` with score 0; an empty text is classified as one
unknown token; an empty prompt starts from BOS.
"""

import os
import time

import keras
import tensorflow as tf

from keras_transformer import run
from keras_transformer.errors import ConfigError, RunError
from keras_transformer.inference.decoding_config import DecodingConfig
from keras_transformer.inference.translator import decode_limit


def _dense(ragged, width, pad_id=0):
    """(B, W) ids of a ragged batch, at most ``width`` wide (W >= 1)."""
    dense = ragged.to_tensor(default_value=pad_id)
    dense = dense[:, :width]
    missing = tf.maximum(1 - tf.shape(dense)[1], 0)
    return tf.pad(dense, [[0, 0], [0, missing]])


def _search(module, decoding):
    function, kwargs = decoding.search()
    if decoding.strategy == "sampling":
        # A generator variable saved with the model: each request draws anew.
        generator = keras.random.SeedGenerator(decoding.seed)
        module.seed_state = generator.state  # tracked, so it is saved
        kwargs = dict(kwargs, seed=generator)
    return function, kwargs


class TranslationServer(tf.Module):
    """Strings in, translations and scores out, in one TensorFlow graph.

    Args:
        model: a model from ``build_transformer``.
        source_tokenizer, target_tokenizer: the run's tokenizers.
        max_source_length: longest source in tokens (with EOS).
        max_target_length: cap on generated tokens (None: none).
        extra_length: tokens allowed beyond the source length (50).
        decoding: a ``DecodingConfig`` (default: beam 4, alpha 0.6).

    Example:

    >>> server = TranslationServer(model, tok, tok, 64)
    >>> server.serve(tf.constant(["5 March 2021"]))["translation"]
    """

    def __init__(
        self,
        model,
        source_tokenizer,
        target_tokenizer,
        max_source_length,
        max_target_length=None,
        extra_length=50,
        decoding=None,
    ):
        super().__init__(name="translation_server")
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_source_length = max_source_length
        self.extra_length = extra_length
        self.max_target_length = max_target_length
        self.limit = decode_limit(
            max_source_length, extra_length, max_target_length
        )
        self.decoding = decoding or DecodingConfig()
        self._function, self._kwargs = _search(self, self.decoding)
        self.serve = tf.function(
            self._serve,
            input_signature=[tf.TensorSpec([None], tf.string, name="text")],
        )

    def _serve(self, text):
        width = self.max_source_length
        ids = self.source_tokenizer.tokenize(text, add_eos=True)
        row_lengths = tf.cast(ids.row_lengths(), tf.int32)
        sources = tf.cast(_dense(ids, width), tf.int32)
        kept = tf.minimum(row_lengths, width)
        positions = tf.range(tf.shape(sources)[1])[None, :]
        # Truncated rows keep their first width - 1 tokens and EOS.
        ends_here = (positions == kept[:, None] - 1) & (row_lengths > width)[
            :, None
        ]
        sources = tf.where(ends_here, self.source_tokenizer.eos_id, sources)
        lengths = kept + self.extra_length
        if self.max_target_length:
            lengths = tf.minimum(lengths, self.max_target_length)
        tokens, scores = self._function(
            self.model,
            sources,
            max_length=self.limit,
            lengths=lengths,
            **self._kwargs,
        )
        blank = kept <= 1  # nothing but EOS
        tokens = tf.where(blank[:, None], tf.zeros_like(tokens), tokens)
        translation = self.target_tokenizer.detokenize(tokens)
        return {
            "translation": tf.where(blank, "", translation),
            "score": tf.where(blank, 0.0, tf.cast(scores, tf.float32)),
        }


class ClassifierServer(tf.Module):
    """Strings in, class probabilities and label names out.

    Args:
        model: a model from ``build_classifier``.
        tokenizer: the run's tokenizer.
        label_names: class names, in class-id order.
        max_length: tokens kept per text (the first ones).
        add_bos: prepend BOS (``pooling: first`` models).
    """

    def __init__(self, model, tokenizer, label_names, max_length, add_bos):
        super().__init__(name="classifier_server")
        self.model = model
        self.tokenizer = tokenizer
        self.label_names = tf.constant(label_names, tf.string)
        self.max_length = max_length
        self.add_bos = add_bos
        self.serve = tf.function(
            self._serve,
            input_signature=[tf.TensorSpec([None], tf.string, name="text")],
        )

    def _serve(self, text):
        ids = self.tokenizer.tokenize(text, add_bos=self.add_bos)
        tokens = tf.cast(_dense(ids, self.max_length), tf.int32)
        # An empty text is read as one unknown token (a mean over no tokens
        # is undefined).
        empty = ids.row_lengths() == 0
        first = tf.where(empty, self.tokenizer.unk_id, tokens[:, 0])
        tokens = tf.concat([first[:, None], tokens[:, 1:]], axis=1)
        logits = self.model({"tokens": tokens})
        probabilities = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
        label = tf.gather(self.label_names, tf.argmax(probabilities, -1))
        return {"probabilities": probabilities, "label": label}


class LanguageModelServer(tf.Module):
    """Prompts in, continuations out.

    Args:
        model: a model from ``build_language_model``.
        tokenizer: the run's tokenizer.
        max_new_tokens: tokens generated per prompt.
        max_length: the model's position limit (None: unlimited); prompts
            keep their last ``max_length - max_new_tokens`` tokens.
        max_prompt_length: longest prompt kept when ``max_length`` is None.
        decoding: a ``DecodingConfig``.
    """

    def __init__(
        self,
        model,
        tokenizer,
        max_new_tokens=100,
        max_length=None,
        max_prompt_length=256,
        decoding=None,
    ):
        super().__init__(name="language_model_server")
        if max_length is not None and max_new_tokens >= max_length:
            raise ValueError(
                f"max_new_tokens={max_new_tokens} leaves no room for a "
                f"prompt in the model's max_length={max_length}: choose "
                "fewer new tokens."
            )
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.prompt_length = (
            max_length - max_new_tokens if max_length else max_prompt_length
        )
        self.decoding = decoding or DecodingConfig("greedy")
        self._function, self._kwargs = _search(self, self.decoding)
        self.serve = tf.function(
            self._serve,
            input_signature=[tf.TensorSpec([None], tf.string, name="prompt")],
        )

    def _serve(self, prompt):
        ids = self.tokenizer.tokenize(prompt)
        empty = ids.row_lengths() == 0
        ids = ids[:, -self.prompt_length :]  # the last tokens
        prompts = tf.cast(_dense(ids, self.prompt_length), tf.int32)
        first = tf.where(empty, self.tokenizer.bos_id, prompts[:, 0])
        prompts = tf.concat([first[:, None], prompts[:, 1:]], axis=1)
        tokens, scores = self._function(
            self.model,
            prompts,
            max_length=self.max_new_tokens,
            **self._kwargs,
        )
        return {
            "completion": self.tokenizer.detokenize(tokens),
            "score": tf.cast(scores, tf.float32),
        }


def _next_version(export_dir):
    versions = [
        int(name)
        for name in (
            os.listdir(export_dir) if os.path.isdir(export_dir) else []
        )
        if name.isdigit()
    ]
    return max(versions, default=0) + 1


def server_for_run(workdir, decoding=None, max_new_tokens=100):
    """The serving module of a finished run (any task)."""
    from keras_transformer.training.train import translator_for

    experiment, model, (source_tokenizer, target_tokenizer) = run.load_run(
        workdir, compile=False
    )
    training = experiment.training
    if experiment.task == "translation":
        translator = translator_for(
            experiment, model, (source_tokenizer, target_tokenizer), decoding
        )
        return TranslationServer(
            model,
            source_tokenizer,
            target_tokenizer,
            max_source_length=translator.max_source_length,
            max_target_length=translator.max_target_length,
            extra_length=translator.extra_length,
            decoding=translator.decoding,
        )
    if experiment.task == "classification":
        label_names = run.read_json(run.path(workdir, run.LABELS_FILE))
        return ClassifierServer(
            model,
            source_tokenizer,
            label_names,
            training.max_length,
            add_bos=training.pooling == "first",
        )
    model_config = experiment.model_config(source_tokenizer.vocab_size)
    learned = model_config.position == "learned"
    return LanguageModelServer(
        model,
        source_tokenizer,
        max_new_tokens=max_new_tokens,
        max_length=model_config.max_length if learned else None,
        max_prompt_length=training.max_length,
        decoding=decoding or experiment.evaluation.decoding,
    )


def export_run(
    workdir, export_dir, version=None, decoding=None, max_new_tokens=100
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

    Returns:
        A dict with ``path``, ``version``, ``bytes`` and ``seconds``.

    Raises:
        ConfigError: ``version`` is not a positive integer.
        RunError: ``workdir`` holds no finished run, ``export_dir`` is not
            a writable directory, or the version exists.

    Example:

    >>> export_run("runs/demo", "exports/demo")["path"]
    'exports/demo/1'
    """
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or version < 1
    ):
        raise ConfigError(
            f"The export version must be an integer >= 1; got {version!r}."
        )
    run.read_experiment(workdir)  # a clear error before any other work
    run.check_writable(export_dir, "export")
    run.remove_stale_temporaries(export_dir)
    if version is None:
        version = _next_version(export_dir)
    path = os.path.join(export_dir, str(version))
    if os.path.exists(path):
        raise RunError(
            f"{path} already exists: choose another --version or remove it."
        )
    started = time.time()
    server = server_for_run(workdir, decoding, max_new_tokens)
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("WARNING")  # not "INFO: Assets written to ..."
    try:
        with run.atomic_path(path) as temporary:
            tf.saved_model.save(
                server, temporary, signatures={"serving_default": server.serve}
            )
    except OSError as err:
        problem = run.disk_problem(err) or str(err)
        raise RunError(
            f"Cannot write the SavedModel to {path}: {problem}. Nothing was "
            "left behind; fix that and export again."
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
