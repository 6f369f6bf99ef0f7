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

import keras

from keras_transformer.models.config import TransformerConfig


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

    def __call__(self, inputs, *args, **kwargs):
        # An optional input (``segment_ids``) may be left out of the dict.
        if self._optional_inputs and isinstance(inputs, dict):
            missing = [k for k in self._optional_inputs if k not in inputs]
            inputs = dict(inputs, **dict.fromkeys(missing))
        return super().__call__(inputs, *args, **kwargs)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "config": self.transformer_config.to_dict(),
            **self._constructor_arguments,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
