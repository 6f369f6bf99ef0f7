"""Hyperparameters and residual wiring shared by encoder and decoder layers."""

import keras

from keras_transformer.layers import validation as check
from keras_transformer.layers.feed_forward import (
    PositionwiseFeedForward,
    get_activation,
)
from keras_transformer.layers.multi_head_attention import MultiHeadAttention


class TransformerBlock(keras.layers.Layer):
    """Base of ``TransformerEncoderLayer`` and ``TransformerDecoderLayer``.

    Holds the hyperparameters both take, builds their sublayers and applies
    one residual sublayer: ``LayerNorm(x + Dropout(f(x)))`` (post-LN, the
    paper's) or ``x + Dropout(f(LayerNorm(x)))`` (pre-LN). See the
    subclasses for the arguments.
    """

    def __init__(
        self,
        num_heads,
        ff_dim,
        key_dim=None,
        dropout=0.1,
        activation="relu",
        norm_first=False,
        layer_norm_epsilon=1e-6,
        use_bias=True,
        attention_dropout=0.0,
        activation_dropout=0.0,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = check.positive_int("num_heads", num_heads)
        self.ff_dim = check.positive_int("ff_dim", ff_dim)
        self.key_dim = check.positive_int("key_dim", key_dim, allow_none=True)
        self.dropout = check.rate("dropout", dropout)
        self.activation = get_activation(activation)
        self.norm_first = bool(norm_first)
        if not isinstance(layer_norm_epsilon, (int, float)) or not (
            layer_norm_epsilon > 0
        ):
            raise ValueError(
                "`layer_norm_epsilon` must be a positive number. Received: "
                f"layer_norm_epsilon={layer_norm_epsilon!r}"
            )
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.use_bias = bool(use_bias)
        self.attention_dropout = check.rate(
            "attention_dropout", attention_dropout
        )
        self.activation_dropout = check.rate(
            "activation_dropout", activation_dropout
        )
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    def _head_size(self, model_dim):
        if self.key_dim is not None:
            return self.key_dim
        if model_dim % self.num_heads:
            raise ValueError(
                f"Layer '{self.name}': the model size D={model_dim} is not "
                f"divisible by num_heads={self.num_heads}, so the head size "
                "cannot be inferred. Pass `key_dim` or change `num_heads`."
            )
        return model_dim // self.num_heads

    def _make_attention(self, name, query_shape, value_shape):
        layer = MultiHeadAttention(
            self.num_heads,
            self._head_size(query_shape[-1]),
            dropout=self.attention_dropout,
            use_bias=self.use_bias,
            output_shape=query_shape[-1],
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name=name,
        )
        layer.build(query_shape, value_shape)
        return layer

    def _make_feed_forward(self, inputs_shape):
        layer = PositionwiseFeedForward(
            self.ff_dim,
            activation=self.activation,
            dropout=self.activation_dropout,
            use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name="feed_forward",
        )
        layer.build(inputs_shape)
        return layer

    def _make_norm(self, name, inputs_shape):
        layer = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )
        layer.build(inputs_shape)
        return layer

    def _make_dropout(self, name):
        return keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name=name
        )

    def _build_self_attention(self, inputs_shape):
        """Creates ``self_attention`` with its norm and residual dropout."""
        self.self_attention = self._make_attention(
            "self_attention", inputs_shape, inputs_shape
        )
        self.self_attention_norm = self._make_norm(
            "self_attention_norm", inputs_shape
        )
        self.self_attention_dropout = self._make_dropout(
            "self_attention_dropout"
        )

    def _build_feed_forward(self, inputs_shape):
        """Creates ``feed_forward`` with its norm and residual dropout."""
        self.feed_forward = self._make_feed_forward(inputs_shape)
        self.feed_forward_norm = self._make_norm(
            "feed_forward_norm", inputs_shape
        )
        self.feed_forward_dropout = self._make_dropout("feed_forward_dropout")

    def _layer_config(self):
        """The block arguments, to build one layer of a stack."""
        config = TransformerBlock.get_config(self)
        for key in ("name", "trainable", "dtype"):
            config.pop(key, None)
        return config

    def _build_final_norm(self, inputs_shape):
        """The LayerNorm after a pre-LN stack (None for post-LN)."""
        self.final_norm = (
            self._make_norm("final_norm", inputs_shape)
            if self.norm_first
            else None
        )

    def _residual(self, inputs, norm, dropout, sublayer, training):
        """Applies one residual sublayer; ``sublayer`` returns (y, extras)."""
        x = norm(inputs) if self.norm_first else inputs
        outputs, extras = sublayer(x)
        outputs = inputs + dropout(outputs, training=training)
        if not self.norm_first:
            outputs = norm(outputs)
        return outputs, extras

    def compute_output_shape(self, inputs_shape, *args, **kwargs):
        return tuple(inputs_shape)

    def compute_output_spec(self, *args, **kwargs):
        # Trace `call`, so that scores and caches get their specs too.
        return keras.Operation.compute_output_spec(self, *args, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "ff_dim": self.ff_dim,
                "key_dim": self.key_dim,
                "dropout": self.dropout,
                "activation": keras.activations.serialize(self.activation),
                "norm_first": self.norm_first,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "use_bias": self.use_bias,
                "attention_dropout": self.attention_dropout,
                "activation_dropout": self.activation_dropout,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(
                    self.bias_initializer
                ),
            }
        )
        return config
