"""Position-wise feed-forward network (section 3.3)."""

import keras

from keras_transformer.layers import validation as check
from keras_transformer.layers.multi_head_attention import clone_initializer

#: The feed-forward activations of the paper and of published checkpoints.
ACTIVATIONS = ("relu", "gelu", "gelu_tanh", "silu")


@keras.saving.register_keras_serializable(package="keras_transformer")
def gelu_tanh(x):
    """GELU's tanh approximation (GPT-2's "gelu_new"; ``gelu`` is exact)."""
    return keras.activations.gelu(x, approximate=True)


def get_activation(identifier):
    """The activation function of a name of ``ACTIVATIONS`` (or anything
    ``keras.activations.get`` takes)."""
    if identifier == "gelu_tanh":
        return gelu_tanh
    return keras.activations.get(identifier)


@keras.saving.register_keras_serializable(package="keras_transformer")
class PositionwiseFeedForward(keras.layers.Layer):
    """FFN(x) = max(0, x W1 + b1) W2 + b2, applied at every position.

    Args:
        ff_dim: size of the inner layer (2048 in the base model).
        activation: activation of the inner layer ("relu" in the paper).
        dropout: dropout on the inner activations (training only; 0 in the
            paper, whose residual dropout lives in the Transformer layers).
        use_bias: whether both projections have biases.
        output_dim: size of the output; defaults to the input size D.
        kernel_initializer: initializer of both kernels.
        bias_initializer: initializer of both biases.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: (B, T, D) tensor.
        training: whether dropout is active.

    Returns:
        (B, T, D) tensor (or (B, T, output_dim)).

    Example:

    >>> ffn = PositionwiseFeedForward(ff_dim=2048)
    >>> ffn(np.zeros((2, 10, 512), "float32")).shape
    (2, 10, 512)
    """

    def __init__(
        self,
        ff_dim,
        activation="relu",
        dropout=0.0,
        use_bias=True,
        output_dim=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.ff_dim = check.positive_int("ff_dim", ff_dim)
        self.activation = get_activation(activation)
        self.dropout = check.rate("dropout", dropout)
        self.use_bias = bool(use_bias)
        self.output_dim = check.positive_int(
            "output_dim", output_dim, allow_none=True
        )
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    def _dense(self, units, activation, name):
        return keras.layers.Dense(
            units,
            activation=activation,
            use_bias=self.use_bias,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, inputs_shape):
        check.sequence_shape("inputs", inputs_shape, "PositionwiseFeedForward")
        self.inner_dense = self._dense(
            self.ff_dim, self.activation, "inner_dense"
        )
        self.inner_dense.build(inputs_shape)
        self.activation_dropout = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="activation_dropout"
        )
        self.outer_dense = self._dense(
            self.output_dim or inputs_shape[-1], None, "outer_dense"
        )
        self.outer_dense.build(tuple(inputs_shape[:-1]) + (self.ff_dim,))
        self.built = True

    def call(self, inputs, training=None):
        hidden = self.inner_dense(inputs)
        hidden = self.activation_dropout(hidden, training=training)
        return self.outer_dense(hidden)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape[:-1]) + (self.output_dim or inputs_shape[-1],)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "ff_dim": self.ff_dim,
                "activation": keras.activations.serialize(self.activation),
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "output_dim": self.output_dim,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(
                    self.bias_initializer
                ),
            }
        )
        return config
