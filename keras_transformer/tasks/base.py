"""``Task``: everything that differs between applications, in one object.

A task is made from an ``Experiment`` (``tasks.get_task(experiment)``) and
holds its assets once they exist: ``tokenizers`` (source, target; the same
object twice for one-sided tasks) and, for classification, ``label_names``.
Training (``keras_transformer/train.py``), evaluation, export and the command
line only call the methods below; they never test a task's name.

To add an application: a package ``tasks/<name>/`` whose ``task.py``
subclasses ``Task`` and implements the methods marked *required*, and one
line of ``tasks/registry.py`` (or ``register_task("name", YourTask)`` for
a task of your own package). docs/new-task.md walks through one.
"""

import time

import tensorflow as tf

from keras_transformer import run_files
from keras_transformer.data import batch_shapes, datasets, pipeline
from keras_transformer.errors import ConfigError, DataError, RunError
from keras_transformer.setting import read_settings
from keras_transformer.tasks import run_assets
from keras_transformer.tasks.pretrained_start import PretrainedStart
from keras_transformer.training.checkpoint import load_model
from keras_transformer.training.losses import (
    MaskedSparseCategoricalCrossentropy,
)
from keras_transformer.training.metrics import MaskedAccuracy, Perplexity


def _is_empty(dataset):
    return next(iter(dataset.take(1)), None) is None


class Task:
    """An application of the Transformer (see the module docstring).

    Args:
        experiment: the ``Experiment``.

    Attributes:
        name: the YAML ``task:`` name.
        file_formats: the ``data.format`` values it reads from files.
        model_class: the class of its model (for ``load_model``).
        tokenizers: ``(source, target)`` once prepared or loaded.
        label_names: class names (tasks with labels).
        labels_path: the run's ``labels.json`` once loaded.
        start: the ``PretrainedStart`` of its model (``model.init_from``).
    """

    name = None
    file_formats = ()
    model_class = None
    #: Whether the evaluation decodes outputs (its results then depend on
    #: the decoding settings).
    decodes = False
    #: Pieces the tokenizer must always keep whole (e.g. ``[MASK]``).
    tokenizer_symbols = ()
    #: The published (Hugging Face) checkpoint families (``config.json``'s
    #: ``model_type``) that ``model.init_from`` may name: BERT for the
    #: encoder tasks (a new head; their pipelines read every special id
    #: from the tokenizer), Marian for translation, GPT-2 for language
    #: modelling.
    checkpoint_families = ()
    #: Whether the model is the checkpoint's whole model (a translator, a
    #: language model), which ``keras-transformer import`` makes a run of.
    keeps_whole_checkpoint = False
    #: What the names in the run's ``labels.json`` are ("class", "tag"):
    #: ``prepare`` saves ``splits.label_names`` there and ``load`` reads
    #: them into ``label_names``. None: the task has no label names.
    label_noun = None
    #: The dataclass of the task's own settings (an experiment's
    #: ``task_settings:`` section, checked by ``settings_from``), or None:
    #: the task has none.
    settings_class = None

    def __init__(self, experiment):
        self.experiment = experiment
        self.tokenizers = None
        self.label_names = None
        self.labels_path = None
        self.start = PretrainedStart(
            experiment, self.name, self.checkpoint_families
        )

    @classmethod
    def settings_from(cls, values, where="task_settings"):
        """The task's settings read from ``values`` (a mapping, or an
        instance of ``settings_class``).

        Raises:
            ConfigError: an unknown key, a wrong type or a value out of
                bounds, or any setting for a task that has none.
        """
        if isinstance(values, dict) or values is None:
            values = dict(values or {})
        elif cls.settings_class and isinstance(values, cls.settings_class):
            return values
        if cls.settings_class is None:
            if values:
                raise ConfigError(
                    f"{where}: task {cls.name!r} has no settings of its own; "
                    "remove the section."
                )
            return None
        return read_settings(cls.settings_class, values, where)

    @property
    def settings(self):
        """The task's own settings (a ``settings_class``: the experiment's
        ``task_settings`` section of this task, or its defaults), or
        None."""
        values = self.experiment.task_settings.get(self.name)
        return self.settings_from(values, f"task_settings.{self.name}")

    # ------------------------------------------------------------ examples

    def load_splits(self):
        """*Required.* The train/validation/test data (``datasets.Splits``)."""
        raise NotImplementedError

    def tokenizer_names(self):
        """Directory names of the run's tokenizers."""
        return [run_files.TOKENIZER_DIRS[0]]

    def tokenizer_texts(self, splits):
        """*Required.* The texts each tokenizer is trained on, one list of
        ``str`` per name in ``tokenizer_names``."""
        raise NotImplementedError

    def describe(self, splits):
        """One line about the data, for the log."""
        return datasets.describe(splits)

    def check_splits(self, splits):
        """Refuses empty training, validation or evaluation splits.

        Raises:
            DataError: naming the split and the settings that choose it.
        """
        evaluation = self.experiment.evaluation.split
        for split in dict.fromkeys(("train", "validation", evaluation)):
            data = splits[split]
            empty = (
                not data.strip() if isinstance(data, str) else _is_empty(data)
            )
            if empty:
                raise DataError(
                    f"The {split} split is empty: check data.path, "
                    "data.split_names and the split sizes or fractions."
                )

    # -------------------------------------------------------------- assets

    def prepare(self, workdir, splits):
        """Makes the run's assets (``run_assets.prepare``): tokenizers and
        label names, trained, copied or loaded."""
        run_assets.prepare(self, workdir, splits)

    def load(self, workdir):
        """Loads the assets of a run directory into this task."""
        run_assets.load(self, workdir)
        return self

    # ---------------------------------------------------------------- data

    def encode(self, split_data, training):
        """*Required.* One split as a dataset of encoded (unbatched)
        examples: ``(features, labels)``, or what ``vary`` makes them
        from."""
        raise NotImplementedError

    #: The most examples in a batch (None: as many as ``batch_tokens``
    #: allows).
    max_batch_size = None

    #: The most shapes of training batches (None: no bound). ``train``
    #: sets it to ``training.max_batch_shapes`` when it compiles with XLA,
    #: where every shape compiles once.
    max_shapes = None
    #: The ``BatchShapes`` chosen for ``max_shapes`` (once per run).
    _shapes = None
    #: What training batch sizes divide by: ``train`` sets it to the
    #: replicas of a JAX run over several devices (each takes an equal
    #: share of a batch).
    batch_multiple = 1

    def batch(self, dataset, training):
        """Batches encoded examples: by token count, bucketed by length;
        training batches take at most ``max_shapes`` shapes, and sizes
        that divide by ``batch_multiple``."""
        config = self.experiment.training
        return pipeline.batch_by_tokens(
            dataset,
            config.batch_tokens,
            config.max_length,
            drop_remainder=training,
            max_batch_size=self.max_batch_size,
            shapes=self._training_shapes(dataset) if training else None,
            batch_multiple=self.batch_multiple if training else 1,
        )

    def _training_shapes(self, dataset):
        """The ``BatchShapes`` of training batches (None: no bound), chosen
        once, on a sample of ``dataset``."""
        max_length = self.experiment.training.max_length
        if not self.max_shapes or not batch_shapes.needs_bound(
            dataset.element_spec, max_length, self.max_shapes
        ):
            return None
        if self._shapes is None:
            started = time.time()
            self._shapes = batch_shapes.plan_shapes(
                dataset, max_length, self.max_shapes
            )
            print(
                f"XLA: training batches take {self._shapes.describe()}, "
                f"chosen in {time.time() - started:.1f} s; each shape "
                "compiles once, in the first steps "
                "(training.max_batch_shapes bounds them).",
                flush=True,
            )
        return self._shapes

    def make_dataset(self, split_data, training, seed_offset=0):
        """The batched ``tf.data`` pipeline of one split.

        Training data is shuffled (``seed_offset`` changes the order after
        a resume) and repeated; evaluation data gets a known length (for
        progress bars).
        """
        config = self.experiment.training
        seed = config.seed + seed_offset
        dataset = self.encode(split_data, training)
        if training:
            dataset = dataset.shuffle(20000, seed=seed).repeat()
        dataset = self.batch(self.vary(dataset, training, seed), training)
        if not training:
            count = int(dataset.reduce(0, lambda count, _: count + 1))
            dataset = dataset.apply(
                tf.data.experimental.assert_cardinality(count)
            )
        return dataset.prefetch(tf.data.AUTOTUNE)

    def vary(self, dataset, training, seed):
        """Changes examples anew at every pass (after the repeat), e.g.
        masking; the base class returns ``dataset``."""
        return dataset

    def limit_split(self, split_data):
        """The first ``evaluation.max_examples`` examples of a split."""
        count = self.experiment.evaluation.max_examples
        if count is None or isinstance(split_data, str):
            return split_data
        return split_data.take(count)

    def check_data(self, splits):
        """Refuses data that would train or evaluate nothing, before step 1.

        Checks, with the tokenizers, that the training split keeps an
        example after encoding and length filtering, and that the
        validation and evaluation splits yield examples.

        Raises:
            DataError: naming the split and the setting to change.
        """
        max_length = self.experiment.training.max_length
        if _is_empty(self.encode(splits["train"], training=True)):
            raise DataError(self.empty_training_message(max_length))
        evaluation = self.experiment.evaluation.split
        for split in dict.fromkeys(("validation", evaluation)):
            data = self.limit_split(splits[split])
            if _is_empty(self.encode(data, training=False)):
                raise DataError(
                    f"The {split} split yields no examples after encoding "
                    f"(training.max_length={max_length}). Check data.path, "
                    "data.split_names and the split fractions."
                )

    def empty_training_message(self, max_length):
        """Why no training example survived encoding, and the fix."""
        return (
            f"No training example fits in training.max_length={max_length} "
            "tokens (with BOS/EOS), so nothing would be trained: raise "
            "training.max_length."
        )

    # --------------------------------------------------------------- model

    def model_config(self):
        """The ``TransformerConfig``, sized for the tokenizers: a published
        checkpoint's (``model.init_from``), with the run's dropout, or the
        experiment's ``model`` settings."""
        source, target = self.tokenizers
        shared = len(self.tokenizer_names()) == 1
        target_vocab = None if shared else target.vocab_size
        return self.start.model_config(
            lambda: self.experiment.model_config(
                source.vocab_size, target_vocab
            )
        )

    def output_classes(self):
        """How many choices each of the model's predictions has (its
        classes, tags or target tokens): a uniform guess has the loss
        ``log(output_classes())``, which tells a diverged run."""
        if self.label_names:
            return len(self.label_names)
        return self.tokenizers[1].vocab_size

    def position_limit(self):
        """The model's position limit: ``max_length`` for learned
        positions, None for sinusoidal ones (unlimited)."""
        config = self.model_config()
        return config.max_length if config.position == "learned" else None

    def build_model(self):
        """*Required.* A new model of this task."""
        raise NotImplementedError

    def loss(self):
        """The loss for ``fit``: token cross-entropy, padding masked."""
        return MaskedSparseCategoricalCrossentropy(
            label_smoothing=self.experiment.training.label_smoothing
        )

    def metrics(self):
        """The metrics for ``fit``."""
        return [MaskedAccuracy(), Perplexity()]

    def load_model(self, path, compile=True):
        """Loads a ``.keras`` model of this task.

        Models saved by earlier versions (plain functional models, without
        attributes) are rebuilt as ``model_class`` with the same weights.
        """
        model = load_model(path, compile=compile)
        if self.model_class is not None and not isinstance(
            model, self.model_class
        ):
            model = self._rebuilt(model, path)
        if self.labels_path:  # labels.json must name every output
            run_files.read_labels(
                self.labels_path, self.label_noun, model.outputs[0].shape[-1]
            )
        return model

    def _rebuilt(self, model, path):
        """A model of ``model_class`` with the weights of ``model`` (a plain
        functional model saved by an earlier version)."""
        rebuilt = self.build_model()
        theirs = [tuple(w.shape) for w in model.get_weights()]
        ours = [tuple(w.shape) for w in rebuilt.get_weights()]
        if theirs != ours:
            raise RunError(
                f"{path} is not a {self.name} model of this run: its weights "
                f"({len(theirs)} arrays) do not fit the model its "
                f"{run_files.CONFIG_FILE} describes ({len(ours)} arrays). Use "
                "the model.keras that keras-transformer train wrote."
            )
        rebuilt.set_weights(model.get_weights())
        return rebuilt

    # ---------------------------------------------------------- evaluation

    def evaluate(self, model, splits, split, decoding=None, verbose=1):
        """Metrics of ``model`` on ``split``, and its outputs.

        Returns:
            ``(metrics, rows)``: a dict of metrics (``loss`` and the
            ``fit`` metrics, plus what ``evaluate_outputs`` adds) and a list
            of dicts, one per example, for ``eval/<split>-<decode>.tsv``
            (empty for tasks without per-example outputs).
        """
        data = self.limit_split(splits[split])
        dataset = self.make_dataset(data, training=False)
        results = model.evaluate(dataset, return_dict=True, verbose=verbose)
        metrics = {"split": split}
        metrics.update({k: round(float(v), 4) for k, v in results.items()})
        extra, rows = self.evaluate_outputs(
            model, data, decoding, verbose=verbose, split=split
        )
        metrics.update(extra)
        return metrics, rows

    def evaluate_outputs(
        self, model, data, decoding=None, verbose=1, split="test"
    ):
        """Metrics from the model's outputs (e.g. BLEU), and the outputs.

        Returns:
            ``(metrics, rows)``; the base class adds nothing.
        """
        return {}, []

    # -------------------------------------------------- prediction, export

    #: Whether ``predictor`` takes ``jit_compile=True``: its search runs
    #: under XLA, one program per bucket of input length (``export
    #: --jit-compile``).
    compiles_search = False

    def predictor(self, model, decoding=None, max_new_tokens=100):
        """*Required.* The ``inference.Predictor`` of this task: the graph
        that ``predict`` runs and ``export`` saves.

        Args:
            model: the trained model.
            decoding: a ``DecodingConfig`` (default: the experiment's).
            max_new_tokens: tokens a generator adds to a prompt.
            jit_compile: (only where ``compiles_search``) the search under
                XLA.
        """
        raise NotImplementedError

    def decoding(self, decoding=None):
        """The ``DecodingConfig`` to use: ``decoding`` or the experiment's."""
        return decoding or self.experiment.evaluation.decoding


__all__ = ["Task"]
