"""The base of every model: a functional ``keras.Model`` built in
``__init__`` from a ``TransformerConfig``, with its parts as attributes.

As keras-hub's ``Backbone``, each model class builds its layers and wires
them with the functional API, then calls ``keras.Model.__init__(inputs,
outputs)``. The result is an ordinary functional model (``summary``, ``fit``,
``save``), whose parts are also attributes (``model.encoder``,
``model.embedding``, ...): decoding, fine-tuning and plotting use those,
never layer names. ``get_config`` returns the constructor's arguments, so a
``.keras`` file rebuilds the same class.
"""

import contextlib
import gc
import warnings

import keras

from keras_transformer.models import lora
from keras_transformer.models.config import TransformerConfig

#: The quantization modes of ``TransformerModel.quantize``: every model of
#: this package gives outputs close to its float ones under them.
QUANTIZATION_MODES = ("int8",)


@contextlib.contextmanager
def _collect_once():
    """Runs the garbage collector once, at the end, instead of each time
    Keras deletes a float kernel while quantizing (a full collection each,
    96% of ``quantize``'s time on a small Transformer: 5 s against 0.2 s;
    the memory freed is the same)."""
    collect = gc.collect
    gc.collect = lambda *args, **kwargs: 0
    try:
        yield
    finally:
        gc.collect = collect
        collect()


def as_config(config):
    """A ``TransformerConfig`` from a config or its dict."""
    if isinstance(config, TransformerConfig):
        return config
    if isinstance(config, dict):
        return TransformerConfig.from_dict(config)
    raise ValueError(
        "`config` must be a TransformerConfig (or its dict). Received: "
        f"{config!r:.200}"
    )


class TransformerModel(keras.Model):
    """Base class of the package's models (see the module docstring).

    Subclasses call ``super().__init__(inputs, outputs, config,
    arguments, name=...)``: ``arguments`` are their other constructor
    arguments (e.g. ``num_classes``), returned by ``get_config``.

    Attributes:
        transformer_config: the model's ``TransformerConfig``.
    """

    def __init__(self, inputs, outputs, config, arguments=None, **kwargs):
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.transformer_config = config
        self._constructor_arguments = dict(arguments or {})
        self._optional_inputs = [
            key
            for key, tensor in inputs.items()
            if getattr(tensor._keras_history.operation, "optional", False)
        ]

    def _completed(self, inputs):
        """``inputs`` with None for each optional input (``segment_ids``)
        left out of the dict."""
        if self._optional_inputs and isinstance(inputs, dict):
            missing = [k for k in self._optional_inputs if k not in inputs]
            inputs = dict(inputs, **dict.fromkeys(missing))
        return inputs

    def __call__(self, inputs, *args, **kwargs):
        return super().__call__(self._completed(inputs), *args, **kwargs)

    def call(self, inputs, *args, **kwargs):
        # The JAX trainer calls `call` (through `stateless_call`), not
        # `__call__`.
        return super().call(self._completed(inputs), *args, **kwargs)

    def quantize(self, mode=None, **kwargs):
        """Quantizes the model's weights (``keras.Model.quantize``), and
        remembers the mode, so that a ``.keras`` file of the quantized
        model loads as one.

        Args:
            mode: ``"int8"``: every projection (Dense, EinsumDense) and
                embedding keeps int8 weights with per-channel scales;
                tied logits read the embedding with its scales.
            **kwargs: ``keras.Model.quantize``'s other arguments, but
                ``filters``: a ``.keras`` file records only the mode, for
                all layers.

        Raises:
            ValueError: another mode, ``filters``, a model quantized
                already, or one with LoRA adapters.

        Example:

        >>> model.quantize("int8")
        >>> model.save("model.int8.keras")   # loads quantized
        """
        if mode not in QUANTIZATION_MODES:
            raise ValueError(
                f"quantize: mode {mode!r} is not supported by this "
                f"package's models; supported: {', '.join(QUANTIZATION_MODES)}."
            )
        if kwargs.get("filters") is not None:
            raise ValueError(
                "quantize: filters not supported: a saved model records "
                "only the mode, for all its layers. Pass the mode alone."
            )
        if self.lora:
            raise ValueError(
                f"quantize: model '{self.name}' has LoRA adapters; quantize "
                "its merged() copy."
            )
        if self.quantization is not None:
            raise ValueError(
                f"quantize: model '{self.name}' is quantized already "
                f"({self.quantization}); quantize the float model once."
            )
        with warnings.catch_warnings(), _collect_once():
            # Keras names every layer without weights to quantize (norms,
            # dropout, ...): not a problem.
            warnings.filterwarnings(
                "ignore", message=".*does not have a `quantize`"
            )
            super().quantize(mode, **kwargs)
        self._quantization = mode

    @property
    def quantization(self):
        """The mode of ``quantize`` (``"int8"``), or None for a float
        model. (Keras' ``quantization_mode`` of the model itself stays
        None: its layers are quantized, not the model.)"""
        return getattr(self, "_quantization", None)

    def enable_lora(self, rank, alpha=None, targets="query_value", parts=None):
        """Freezes the pretrained parts and adds LoRA adapters to their
        projections (``keras_transformer.models.lora``).

        Args:
            rank: the adapters' rank (>= 1).
            alpha: the update is scaled by ``alpha / rank`` (None: rank).
            targets: "query_value" (the LoRA paper's), "attention" (query,
                key, value and output) or "all" (attention and the
                feed-forward layers).
            parts: the names of the parts to freeze and adapt (None:
                ``embedding``, ``encoder``, ``decoder``, ``output_bias``
                that the model has); other layers (a new head) train.

        Raises:
            ValueError: an invalid setting, or adapters enabled already.

        Example:

        >>> model.enable_lora(8)
        >>> model.save("adapted.keras")    # loads adapted; resumes exactly
        >>> plain = model.merged()         # W + (alpha / rank) A B, no LoRA
        """
        if self.quantization:
            raise ValueError(
                f"enable_lora: model '{self.name}' is quantized; adapt the "
                "float model, then quantize its merged() copy."
            )
        self._lora = lora.enable_lora(self, rank, alpha, targets, parts)

    @property
    def lora(self):
        """The LoRA adaptation (a dict: rank, alpha, targets, parts), or
        None for a model without adapters."""
        return getattr(self, "_lora", None)

    def merged(self):
        """A new model of the same class without adapters, each adapted
        kernel replaced by ``W + (alpha / rank) A B``: the same outputs,
        for export and serving. A model without adapters returns itself.
        """
        if not self.lora:
            return self
        config = self.get_config()
        del config["lora"]
        plain = self.__class__.from_config(config)
        plain.set_weights(lora.merged_weights(self))
        return plain

    def get_config(self):
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "config": self.transformer_config.to_dict(),
            **self._constructor_arguments,
        }
        if self.quantization:
            config["quantization"] = self.quantization
        if self.lora:
            config["lora"] = dict(self.lora)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        mode = config.pop("quantization", None)
        adaptation = config.pop("lora", None)
        model = cls(**config)
        if adaptation:
            model.enable_lora(**adaptation)
        if mode:
            model.quantize(mode)
        return model
