"""``PretrainedStart``: where a run's model starts, ``model.init_from``.

The same for every task: a finished run of this package (its ``embedding``
and ``encoder`` are copied) or a published Hugging Face checkpoint
directory (its weights are read by ``checkpoints.huggingface``), its fit
with the experiment checked before any step, and LoRA adapters on the
parts it fills. The task only declares the checkpoint families it starts
from (``Task.checkpoint_families``).
"""

import math
import os

from keras_transformer import run_files
from keras_transformer.checkpoints import huggingface
from keras_transformer.errors import ConfigError, RunError
from keras_transformer.models import TransformerConfig
from keras_transformer.models.lora import without_adapters
from keras_transformer.training.checkpoint import load_model

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


def read_pretrained(target):
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


class PretrainedStart:
    """The start of a task's model: ``model.init_from``, or none.

    Args:
        experiment: the ``Experiment``.
        task_name: the task's name, for messages.
        families: the checkpoint families (``config.json``'s
            ``model_type``) the task may start from.

    Attributes:
        config: the ``TransformerConfig`` of the published checkpoint the
            run starts from, once read (``pretrained.json``), else None.
    """

    def __init__(self, experiment, task_name, families):
        self.experiment = experiment
        self.task_name = task_name
        self.families = families
        self.config = None
        self._source_model = None

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

    @property
    def is_published(self):
        """Whether the model is (or was made from) a published checkpoint."""
        return self.checkpoint is not None or self.config is not None

    def pretrained_config(self):
        """The architecture of the checkpoint the run starts from (a
        ``TransformerConfig``), or None for a run of its own settings."""
        if self.config is not None:
            return self.config
        if self.checkpoint:
            return huggingface.pretrained_config(self.checkpoint)
        return None

    def model_config(self, own):
        """The model's ``TransformerConfig``: the checkpoint's, with the
        run's dropout, or ``own`` (the experiment's, a callable)."""
        pretrained = self.pretrained_config()
        if pretrained is None:
            return own()
        model = self.experiment.model
        return pretrained.replace(
            **{key: model[key] for key in TUNABLE_FIELDS if key in model}
        )

    def read(self, workdir):
        """Reads the checkpoint architecture a run directory keeps."""
        self.config = read_pretrained(
            run_files.path(workdir, run_files.PRETRAINED_FILE)
        )

    def check_source(self):
        """Refuses an ``init_from`` that is neither a finished run nor a
        checkpoint of a family the task starts from."""
        if self.checkpoint:
            self._check_family()
            return
        source_run = self.init_from
        if source_run and not os.path.exists(
            run_files.path(source_run, run_files.MODEL_FILE)
        ):
            raise ConfigError(
                f"model.init_from: {source_run} holds no finished run (no "
                f"{run_files.MODEL_FILE}) and is no Hugging Face checkpoint "
                "(no config.json); train it first, e.g. keras-transformer "
                f"train configs/mlm_local.yaml --workdir {source_run}"
            )

    def _check_family(self):
        family = huggingface.read_config(self.checkpoint).get("model_type")
        if family not in self.families:
            starts = ", ".join(self.families) or "none"
            raise ConfigError(
                f"model.init_from: the {self.task_name} task cannot start "
                f"from a {family} checkpoint ({self.checkpoint}); the "
                f"checkpoint families it starts from: {starts}."
            )

    def tokenizer_origin(self):
        """The tokenizer directory ``init_from`` brings, or None."""
        if self.checkpoint:
            return self.checkpoint
        if self.init_from:
            return run_files.path(self.init_from, run_files.TOKENIZER_DIRS[0])
        return None

    def save(self, workdir):
        """Keeps the checkpoint's architecture in the run directory."""
        target = run_files.path(workdir, run_files.PRETRAINED_FILE)
        if self.config is None:
            config = huggingface.pretrained_config(self.checkpoint)
            run_files.write_json(
                target,
                {"init_from": self.checkpoint, "config": config.to_dict()},
            )
            self.config = config

    def check_fit(self, model_config, vocab_size):
        """Refuses model settings that do not fit the start: the
        checkpoint's architecture, positions and vocabulary, or the
        pretrained run's encoder shapes.

        Args:
            model_config: returns the model's ``TransformerConfig``.
            vocab_size: the pieces of the run's (first) tokenizer.
        """
        if self.checkpoint:
            self._check_checkpoint_fits(vocab_size)
        elif self.init_from:
            self._check_run_fits(model_config())

    def _check_checkpoint_fits(self, vocab_size):
        path, config = self.checkpoint, self.config
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
        if vocab_size > config.vocab_size:
            raise ConfigError(
                f"the tokenizer of {path} has {vocab_size} pieces, more "
                f"than the {config.vocab_size} of its model's vocab_size."
            )

    def _check_run_fits(self, ours):
        theirs = self.source_model().transformer_config
        different = [
            f"{field} {getattr(theirs, field)!r} there, "
            f"{getattr(ours, field)!r} here"
            for field in ENCODER_SHAPE_FIELDS
            if getattr(theirs, field) != getattr(ours, field)
        ]
        if different:
            raise ConfigError(
                f"model.init_from={self.init_from!r} does not fit this "
                f"model: {'; '.join(different)}. Use the same model "
                "settings as the pretrained run."
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
            parts = self._copy_encoder(model)
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

    def _copy_encoder(self, model):
        """Copies the run's ``embedding`` and ``encoder`` into ``model``;
        returns the layers copied."""
        source_run, pretrained = self.init_from, self.source_model()
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
            try:
                _set_weights(without_adapters(ours), theirs.get_weights())
            except ValueError as err:
                raise ConfigError(
                    f"model.init_from={source_run!r}: its {part} does not "
                    f"fit ({err})."
                ) from None
            copied.append(ours)
        return copied

    def parts(self, model):
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
        parts = self.parts(model)
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
