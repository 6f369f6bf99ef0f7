"""One Transformer encoder layer (section 3.1, figure 1 left)."""

import keras

from keras_transformer.layers import masking
from keras_transformer.layers import validation as check
from keras_transformer.layers.transformer_block import TransformerBlock


@keras.saving.register_keras_serializable(package="keras_transformer")
class TransformerEncoderLayer(TransformerBlock):
    """Self-attention and a feed-forward network, each in a residual block.

    Post-LN (``norm_first=False``, the paper's):
    ``x = LayerNorm(x + Dropout(Sublayer(x)))``. Pre-LN (``norm_first=True``):
    ``x = x + Dropout(Sublayer(LayerNorm(x)))``, which trains more stably
    without warmup; a stack of pre-LN layers needs a final LayerNorm
    (``TransformerEncoder`` adds it).

    Args:
        num_heads: N, the number of attention heads.
        ff_dim: inner size of the feed-forward network.
        key_dim: H, the head size; defaults to D / N (D must divide).
        dropout: residual dropout on each sublayer output, before the add
            (section 5.4; 0.1 in the base model).
        activation: feed-forward activation ("relu" in the paper).
        norm_first: False for post-LN (paper), True for pre-LN.
        layer_norm_epsilon: epsilon of the layer normalisations.
        use_bias: whether the projections have biases.
        attention_dropout: dropout on attention weights (0 in the paper).
        activation_dropout: dropout inside the feed-forward network.
        kernel_initializer: initializer of all kernels.
        bias_initializer: initializer of all biases.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: (B, T, D) sequence.
        padding_mask: (B, T) boolean, True on real tokens. Defaults to the
            Keras implicit mask of ``inputs``, if any.
        attention_mask: (B, T, T) or (T, T) boolean, True = may attend.
        return_attention_scores: also return the (B, N, T, T) weights.
        training: whether dropout is active.

    Returns:
        (B, T, D) outputs, and the scores when requested.

    Example:

    >>> layer = TransformerEncoderLayer(num_heads=8, ff_dim=2048)
    >>> x = np.random.rand(2, 10, 512).astype("float32")
    >>> mask = np.arange(10) < np.array([[7], [10]])  # lengths 7 and 10
    >>> layer(x, padding_mask=mask).shape
    (2, 10, 512)
    """

    def build(self, inputs_shape):
        inputs_shape = check.sequence_shape(
            "inputs", inputs_shape, f"TransformerEncoderLayer '{self.name}'"
        )
        self._build_self_attention(inputs_shape)
        self._build_feed_forward(inputs_shape)
        self.built = True

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        mask=None,
        inputs_mask=None,
    ):
        # `mask` / `inputs_mask` are filled in by Keras from the implicit
        # mask of `inputs` (one or several tensor arguments).
        padding_mask = masking.check_padding_mask(
            masking.first_given(padding_mask, mask, inputs_mask),
            "padding_mask",
            inputs.shape[:2],
        )

        def attend(x):
            # The weights are computed only when asked for, so that the
            # attention may run fused (see MultiHeadAttention).
            results = self.self_attention(
                x,
                x,
                query_mask=padding_mask,
                value_mask=padding_mask,
                attention_mask=attention_mask,
                return_attention_scores=return_attention_scores,
                training=training,
            )
            return results if return_attention_scores else (results, None)

        x, scores = self._residual(
            inputs,
            self.self_attention_norm,
            self.self_attention_dropout,
            attend,
            training,
        )
        x, _ = self._residual(
            x,
            self.feed_forward_norm,
            self.feed_forward_dropout,
            lambda y: (self.feed_forward(y, training=training), None),
            training,
        )
        return (x, scores) if return_attention_scores else x
