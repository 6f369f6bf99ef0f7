"""A stack of Transformer decoder layers."""

import keras

from keras_transformer.layers import masking
from keras_transformer.layers import validation as check
from keras_transformer.layers.transformer_block import TransformerBlock
from keras_transformer.layers.transformer_decoder_layer import (
    TransformerDecoderLayer,
)


@keras.saving.register_keras_serializable(package="keras_transformer")
class TransformerDecoder(TransformerBlock):
    """``num_layers`` decoder layers, plus a final LayerNorm for pre-LN.

    Built with ``encoder_outputs`` every layer has cross-attention;
    without, the stack is a decoder-only language model body.

    The other arguments are those of ``TransformerDecoderLayer``.

    Args:
        num_layers: number of layers (6 in the paper).

    Call arguments:
        inputs: (B, T, D) embedded target sequence.
        encoder_outputs: (B, S, De) encoder outputs (encoder-decoder only).
        padding_mask: (B, T) True on real target tokens.
        encoder_padding_mask: (B, S) True on real source tokens.
        attention_mask: (B, T, T) or (T, T) self-attention mask.
        use_causal_mask: mask future positions (default True).
        return_attention_scores: also return the list of per-layer score
            dicts (``"self_attention"``, ``"cross_attention"``).
        training: whether dropout is active.
        cache: list of per-layer caches from ``init_cache``.
        cache_update_index: position of the first of the T inputs.

    Returns:
        (B, T, D) outputs; then the list of score dicts when requested;
        then the updated cache list when a cache was passed.

    Example:

    >>> decoder = TransformerDecoder(num_layers=2, num_heads=4, ff_dim=256)
    >>> source = np.random.rand(1, 7, 64).astype("float32")
    >>> target = np.random.rand(1, 5, 64).astype("float32")
    >>> full = decoder(target, source)          # teacher forcing
    >>> cache = decoder.init_cache(1, 5, source)
    >>> for i in range(5):                      # one position at a time
    ...     step, cache = decoder(target[:, i:i + 1], cache=cache,
    ...                           cache_update_index=i)
    """

    def __init__(self, num_layers, num_heads, ff_dim, **kwargs):
        super().__init__(num_heads, ff_dim, **kwargs)
        self.num_layers = check.positive_int("num_layers", num_layers)

    def build(self, inputs_shape, encoder_outputs_shape=None):
        inputs_shape = check.sequence_shape(
            "inputs", inputs_shape, f"TransformerDecoder '{self.name}'"
        )
        block_config = self._layer_config()
        self.decoder_layers = []
        for index in range(self.num_layers):
            layer = TransformerDecoderLayer(
                **block_config, dtype=self.dtype_policy, name=f"layer_{index}"
            )
            layer.build(inputs_shape, encoder_outputs_shape)
            self.decoder_layers.append(layer)
        self._build_final_norm(inputs_shape)
        self.built = True

    @property
    def has_cross_attention(self):
        """Whether the layers were built with cross-attention."""
        return self.decoder_layers[0].has_cross_attention

    def init_cache(self, batch_size, max_length, encoder_outputs=None):
        """One cache per layer (see ``TransformerDecoderLayer.init_cache``)."""
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' must be built before `init_cache()`: "
                "call it once on inputs (and encoder outputs)."
            )
        return [
            layer.init_cache(batch_size, max_length, encoder_outputs)
            for layer in self.decoder_layers
        ]

    def call(
        self,
        inputs,
        encoder_outputs=None,
        padding_mask=None,
        encoder_padding_mask=None,
        attention_mask=None,
        use_causal_mask=True,
        return_attention_scores=False,
        training=None,
        cache=None,
        cache_update_index=None,
        mask=None,
        inputs_mask=None,
        encoder_outputs_mask=None,
    ):
        if cache is not None and len(cache) != self.num_layers:
            raise ValueError(
                f"`cache` must hold one entry per layer ({self.num_layers}); "
                f"received {len(cache)}. Create it with `init_cache()`."
            )
        padding_mask = masking.first_given(padding_mask, mask, inputs_mask)
        encoder_padding_mask = masking.first_given(
            encoder_padding_mask, encoder_outputs_mask
        )
        x = inputs
        all_scores = []
        new_cache = []
        for index, layer in enumerate(self.decoder_layers):
            results = layer(
                x,
                encoder_outputs,
                padding_mask=padding_mask,
                encoder_padding_mask=encoder_padding_mask,
                attention_mask=attention_mask,
                use_causal_mask=use_causal_mask,
                return_attention_scores=return_attention_scores,
                training=training,
                cache=None if cache is None else cache[index],
                cache_update_index=cache_update_index,
            )
            if not isinstance(results, tuple):
                results = (results,)
            x = results[0]
            if return_attention_scores:
                all_scores.append(results[1])
            if cache is not None:
                new_cache.append(results[-1])
        if self.final_norm is not None:
            x = self.final_norm(x)
        results = (x,)
        if return_attention_scores:
            results += (all_scores,)
        if cache is not None:
            results += (new_cache,)
        return results[0] if len(results) == 1 else results

    def get_config(self):
        config = super().get_config()
        config["num_layers"] = self.num_layers
        return config
