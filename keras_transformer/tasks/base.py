"""``Task``: everything that differs between applications, in one object.

A task is made from an ``Experiment`` (``tasks.get_task(experiment)``) and
holds its assets once they exist: ``tokenizers`` (source, target; the same
object twice for one-sided tasks) and, for classification, ``label_names``.
Training (``keras_transformer/train.py``), evaluation, export and the command
line only call the methods below; they never test a task's name.

To add an application: subclass ``Task``, implement the methods marked
*required*, and ``register_task("name", YourTask)`` (or add it to
``tasks/registry.py``). The README's "Tasks" section has a walk-through.
"""

import math
import os
import time

import tensorflow as tf

from keras_transformer import run_files
from keras_transformer.checkpoints import huggingface
from keras_transformer.data import batch_shapes, datasets, pipeline
from keras_transformer.data.tokenizers import (
    ByteTokenizer,
    Tokenizer,
    train_sentencepiece,
)
from keras_transformer.errors import ConfigError, DataError, RunError
from keras_transformer.models import TransformerConfig
from keras_transformer.models.lora import without_adapters
from keras_transformer.training.checkpoint import load_model
from keras_transformer.training.losses import (
    MaskedSparseCategoricalCrossentropy,
)
from keras_transformer.training.metrics import MaskedAccuracy, Perplexity

# Model fields that fix the shapes of an encoder's weights: a pretrained
# encoder fits a new model only if they agree.
ENCODER_SHAPE_FIELDS = (
    "vocab_size",
    "d_model",
    "num_layers",
    "num_heads",
    "ff_dim",
    "max_length",
    "position",
    "norm_first",
)
# Model fields a run may set for itself when it starts from a published
# checkpoint (the checkpoint fixes every other one).
TUNABLE_FIELDS = ("dropout", "attention_dropout")

#: The parts ``model.init_from`` copies from a pretrained run.
RUN_PARTS = ("embedding", "encoder")


def _is_empty(dataset):
    return next(iter(dataset.take(1)), None) is None


def _set_weights(variables, values):
    """``Layer.set_weights`` for a list of variables."""
    if len(variables) != len(values):
        raise ValueError(f"{len(values)} arrays for {len(variables)} weights")
    for variable, value in zip(variables, values):
        if tuple(variable.shape) != tuple(value.shape):
            raise ValueError(
                f"{variable.path} is {tuple(variable.shape)}, the run's "
                f"{tuple(value.shape)}"
            )
        variable.assign(value)


def _load_tokenizer(directory, setting):
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


def _read_pretrained(target):
    """The ``TransformerConfig`` of a run's ``pretrained.json``, or None
    when the run has none."""
    if not os.path.exists(target):
        return None
    values = run_files.read_json(target)
    try:
        return TransformerConfig.from_dict(values["config"])
    except (TypeError, ValueError, KeyError) as err:
        raise RunError(
            f"{target} is not a checkpoint description ({err}); delete the "
            "run directory and train again."
        ) from None


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
    """

    name = None
    file_formats = ()
    model_class = None
    #: Whether the evaluation decodes outputs (its results then depend on
    #: the decoding settings).
    decodes = False
    #: The command-line commands that run its predictor.
    commands = ("predict",)
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

    def __init__(self, experiment):
        self.experiment = experiment
        self.tokenizers = None
        self.label_names = None
        self._labels_path = None
        self._pretrained = None
        self._source_model = None

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

    def _train_tokenizer(self, texts):
        config = self.experiment.tokenizer
        if config.type == "byte":
            if self.tokenizer_symbols:
                raise ConfigError(
                    f"task {self.name!r} needs the pieces "
                    f"{list(self.tokenizer_symbols)}, which the byte "
                    "tokenizer lacks: use tokenizer.type: sentencepiece."
                )
            return ByteTokenizer()
        return train_sentencepiece(
            texts,
            vocab_size=config.vocab_size,
            model_type=config.model_type,
            character_coverage=config.character_coverage,
            split_digits=config.split_digits,
            user_defined_symbols=self.tokenizer_symbols,
        )

    def prepare(self, workdir, splits):
        """Makes the run's assets: loads its tokenizers, or trains (or copies
        from ``model.init_from``) and saves them; saves ``label_names``.
        """
        if self.checkpoint:
            self._check_family()
        if self.label_noun:
            labels = run_files.path(workdir, run_files.LABELS_FILE)
            if not os.path.exists(labels):
                run_files.write_json(labels, splits.label_names)
        names = self.tokenizer_names()
        paths = [run_files.path(workdir, name) for name in names]
        source_run = self.init_from
        if (
            source_run
            and not self.checkpoint
            and not os.path.exists(
                run_files.path(source_run, run_files.MODEL_FILE)
            )
        ):
            raise ConfigError(
                f"model.init_from: {source_run} holds no finished run (no "
                f"{run_files.MODEL_FILE}) and is no Hugging Face checkpoint "
                "(no config.json); train it first, e.g. keras-transformer "
                f"train configs/mlm_local.yaml --workdir {source_run}"
            )
        origin = self._tokenizer_origin()
        if not all(os.path.exists(path) for path in paths):
            if origin:
                # Saved anew: only the tokenizer's own files, as regular
                # files, whatever else the directory holds or links to.
                with run_files.atomic_path(paths[0]) as temporary:
                    _load_tokenizer(*origin).save(temporary)
                print(f"Tokenizer: copied from {origin[0]}.")
            else:
                started = time.time()
                trained = []
                for texts in self.tokenizer_texts(splits):
                    if self.experiment.tokenizer.type != "byte":
                        print(
                            f"Tokenizer: training SentencePiece on "
                            f"{len(texts):,} texts ...",
                            flush=True,
                        )
                    trained.append(self._train_tokenizer(texts))
                for tokenizer, path in zip(trained, paths):
                    with run_files.atomic_path(path) as temporary:
                        tokenizer.save(temporary)
                if self.experiment.tokenizer.type != "byte":
                    sizes = ", ".join(f"{t.vocab_size:,}" for t in trained)
                    print(
                        f"Tokenizer: SentencePiece "
                        f"{self.experiment.tokenizer.model_type}, {sizes} "
                        f"pieces, trained in {time.time() - started:.1f} s."
                    )
        self.load(workdir)
        if self.checkpoint:
            self._save_pretrained(workdir)
            self._check_checkpoint_fits()
        elif source_run:
            self._check_pretrained_fits(source_run)

    def _check_family(self):
        """Refuses a checkpoint of a family this task cannot start from."""
        family = huggingface.read_config(self.checkpoint).get("model_type")
        if family not in self.checkpoint_families:
            starts = ", ".join(self.checkpoint_families) or "none"
            raise ConfigError(
                f"model.init_from: the {self.name} task cannot start from a "
                f"{family} checkpoint ({self.checkpoint}); the checkpoint "
                f"families it starts from: {starts}."
            )

    def _tokenizer_origin(self):
        """The tokenizer directory to copy (``init_from``'s, or
        ``tokenizer.path``) and the setting that names it, or None to
        train one."""
        if self.checkpoint:
            return self.checkpoint, "model.init_from"
        if self.init_from:
            origin = run_files.path(self.init_from, run_files.TOKENIZER_DIRS[0])
            return origin, "model.init_from"
        origin = self.experiment.tokenizer.path
        if origin is None:
            return None
        if len(self.tokenizer_names()) != 1:
            raise ConfigError(
                "tokenizer.path gives one tokenizer, but this experiment has "
                f"{len(self.tokenizer_names())} (set tokenizer.shared: true)."
            )
        _load_tokenizer(origin, "tokenizer.path")
        return origin, "tokenizer.path"

    def load(self, workdir):
        """Loads the assets of a run directory into this task."""
        loaded = []
        for name in self.tokenizer_names():
            try:
                loaded.append(Tokenizer.load(run_files.path(workdir, name)))
            except (OSError, ValueError) as err:
                raise RunError(
                    f"{workdir} has no usable tokenizer: {err}"
                ) from None
        self.tokenizers = (loaded[0], loaded[-1].target_tokenizer)
        self._pretrained = _read_pretrained(
            run_files.path(workdir, run_files.PRETRAINED_FILE)
        )
        if self.label_noun:
            self._labels_path = run_files.path(workdir, run_files.LABELS_FILE)
            self.label_names = run_files.read_labels(
                self._labels_path, self.label_noun
            )
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
        pretrained = self.pretrained_config()
        if pretrained is not None:
            model = self.experiment.model
            return pretrained.replace(
                **{key: model[key] for key in TUNABLE_FIELDS if key in model}
            )
        source, target = self.tokenizers
        shared = len(self.tokenizer_names()) == 1
        target_vocab = None if shared else target.vocab_size
        return self.experiment.model_config(source.vocab_size, target_vocab)

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
        if self._labels_path:  # labels.json must name every output
            run_files.read_labels(
                self._labels_path, self.label_noun, model.outputs[0].shape[-1]
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

    @property
    def init_from(self):
        """The run or checkpoint directory ``model.init_from`` names, or
        None."""
        return self.experiment.model.get("init_from")

    @property
    def checkpoint(self):
        """``model.init_from`` when it names a published (Hugging Face)
        checkpoint directory rather than a run, else None."""
        path = self.init_from
        if path and os.path.isdir(path) and huggingface.is_checkpoint(path):
            return path
        return None

    def pretrained_config(self):
        """The architecture of the checkpoint the run starts from (a
        ``TransformerConfig``), or None for a run of its own settings."""
        if self._pretrained is not None:
            return self._pretrained
        if self.checkpoint:
            return huggingface.pretrained_config(self.checkpoint)
        return None

    def _save_pretrained(self, workdir):
        """Keeps the checkpoint's architecture in the run directory."""
        target = run_files.path(workdir, run_files.PRETRAINED_FILE)
        if self._pretrained is None:
            config = huggingface.pretrained_config(self.checkpoint)
            run_files.write_json(
                target,
                {"init_from": self.checkpoint, "config": config.to_dict()},
            )
            self._pretrained = config

    def _check_checkpoint_fits(self):
        """Refuses model settings that contradict the checkpoint, a
        ``training.max_length`` beyond its positions and a tokenizer
        larger than its vocabulary."""
        path, config = self.checkpoint, self._pretrained
        for key, value in self.experiment.model.items():
            if key in ("init_from",) + TUNABLE_FIELDS:
                continue
            theirs = getattr(config, key, None)
            if key == "preset" or theirs != value:
                raise ConfigError(
                    f"model.{key}={value!r} contradicts the checkpoint "
                    f"{path} ({key} {theirs!r} there): remove it, the "
                    "checkpoint fixes the architecture."
                )
        max_length = self.experiment.training.max_length
        if max_length > config.max_length:
            raise ConfigError(
                f"training.max_length={max_length} is longer than the "
                f"{config.max_length} positions of the checkpoint {path}: "
                f"set training.max_length <= {config.max_length}."
            )
        size = self.tokenizers[0].vocab_size
        if size > config.vocab_size:
            raise ConfigError(
                f"the tokenizer of {path} has {size} pieces, more than the "
                f"{config.vocab_size} of its model's vocab_size."
            )

    def source_model(self):
        """The final model of the run ``model.init_from`` names (its
        pretrained parts are copied from it): uncompiled, LoRA adapters
        merged; loaded once.

        Raises:
            RunError: its ``model.keras`` is damaged or of no model of
                this package.
            ConfigError: it was saved by an earlier version, as a plain
                functional model without named parts.
        """
        if self._source_model is None:
            target = run_files.path(self.init_from, run_files.MODEL_FILE)
            model = load_model(target, compile=False)
            if getattr(model, "transformer_config", None) is None:
                raise ConfigError(
                    f"model.init_from={self.init_from!r}: its {target} was "
                    "saved by an earlier version, without the parts "
                    "init_from copies; train that run again."
                )
            if getattr(model, "lora", None):
                model = model.merged()
            self._source_model = model
        return self._source_model

    def _check_pretrained_fits(self, source_run):
        theirs = self.source_model().transformer_config
        ours = self.model_config()
        different = [
            f"{field} {getattr(theirs, field)!r} there, "
            f"{getattr(ours, field)!r} here"
            for field in ENCODER_SHAPE_FIELDS
            if getattr(theirs, field) != getattr(ours, field)
        ]
        if different:
            raise ConfigError(
                f"model.init_from={source_run!r} does not fit this model: "
                f"{'; '.join(different)}. Use the same model settings as "
                "the pretrained run."
            )

    def initialize(self, model, log=print):
        """Copies the pretrained encoder of ``model.init_from`` into
        ``model`` (a fresh start only); the task's head stays new.

        The parts are matched by the models' attributes (``embedding``,
        ``encoder``), not by layer names.
        """
        source_run = self.init_from
        if not source_run:
            return
        if self.checkpoint:
            parts = huggingface.load_encoder(source_run, model)
        else:
            parts = self._copy_encoder(source_run, model)
        weights = {part.name: without_adapters(part) for part in parts}
        counts = sum(math.prod(w.shape) for ws in weights.values() for w in ws)
        loaded = {id(w) for part in parts for w in part.weights}
        new = sorted(
            {w.path.split("/")[0] for w in model.weights if id(w) not in loaded}
        )
        copied = ", ".join(
            f"{name} ({len(ws)} arrays)" for name, ws in weights.items()
        )
        log(
            f"Initialised from {source_run}: {copied}, {counts:,} "
            f"parameters; new: {', '.join(new) or 'none'}."
        )

    def pretrained_parts(self, model):
        """The names of the parts of ``model`` that ``model.init_from``
        fills (none without it)."""
        if self.checkpoint:
            return huggingface.pretrained_parts(self.checkpoint, model)
        return list(RUN_PARTS) if self.init_from else []

    def enable_lora(self, model, log=print):
        """With ``training.lora_rank``, freezes the pretrained parts of
        ``model`` and adapts their projections (``TransformerModel.
        enable_lora``); the task's new layers train in full."""
        training = self.experiment.training
        if training.lora_rank is None:
            return
        parts = self.pretrained_parts(model)
        model.enable_lora(
            training.lora_rank,
            training.lora_alpha,
            training.lora_targets,
            parts=parts,
        )
        trainable = sum(
            math.prod(variable.shape) for variable in model.trainable_variables
        )
        total = model.count_params()
        log(
            f"LoRA: rank {training.lora_rank} on the "
            f"{training.lora_targets} projections of {', '.join(parts)} "
            f"(frozen); {trainable:,} of {total:,} parameters train "
            f"({100 * trainable / total:.2f}%)."
        )

    def _copy_encoder(self, source_run, model):
        """Copies the run's ``embedding`` and ``encoder`` into ``model``;
        returns the layers copied."""
        pretrained = self.source_model()
        copied = []
        for part in RUN_PARTS:
            ours = getattr(model, part, None)
            theirs = getattr(pretrained, part, None)
            if ours is None or theirs is None:
                raise ConfigError(
                    f"model.init_from={source_run!r}: the {part} of "
                    f"{'this model' if ours is None else 'that run'} is "
                    "missing; init_from joins two encoder models."
                )
            weights = theirs.get_weights()
            try:
                _set_weights(without_adapters(ours), weights)
            except ValueError as err:
                raise ConfigError(
                    f"model.init_from={source_run!r}: its {part} does not "
                    f"fit ({err})."
                ) from None
            copied.append(ours)
        return copied

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


__all__ = ["ENCODER_SHAPE_FIELDS", "Task"]
