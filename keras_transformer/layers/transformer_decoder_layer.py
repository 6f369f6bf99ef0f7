"""One Transformer decoder layer (section 3.1, figure 1 right)."""

import keras

from keras_transformer.layers import masking
from keras_transformer.layers import validation as check
from keras_transformer.layers.transformer_block import TransformerBlock


@keras.saving.register_keras_serializable(package="keras_transformer")
class TransformerDecoderLayer(TransformerBlock):
    """Causal self-attention, cross-attention and a feed-forward network.

    Each sublayer sits in a residual block, post-LN or pre-LN as in
    ``TransformerEncoderLayer``. Built with ``encoder_outputs`` it has a
    cross-attention sublayer (encoder-decoder model); built without, it is a
    decoder-only (GPT-style) block.

    For incremental decoding pass a ``cache`` from ``init_cache``: the
    self-attention keys/values of each new position are written at
    ``cache_update_index``, and the cross-attention keys/values of the
    encoder output are computed once by ``init_cache`` and reused.

    Its arguments are those of ``TransformerEncoderLayer``.

    Call arguments:
        inputs: (B, T, D) target sequence.
        encoder_outputs: (B, S, De) encoder outputs; required when the layer
            has cross-attention, unless ``cache`` holds its keys/values.
        padding_mask: (B, T) True on real target tokens. Defaults to the
            implicit mask of ``inputs``.
        encoder_padding_mask: (B, S) True on real source tokens. Defaults
            to the implicit mask of ``encoder_outputs``.
        attention_mask: (B, T, T) or (T, T) self-attention mask, True = may
            attend (with a cache: (B, T, L) over the L cache slots, to mask
            e.g. left padding of a prompt).
        use_causal_mask: mask future positions in self-attention (default).
        return_attention_scores: also return a dict of the
            ``"self_attention"`` (B, N, T, T) and ``"cross_attention"``
            (B, N, T, S) weights.
        training: whether dropout is active.
        cache: dict from ``init_cache``.
        cache_update_index: position of the first of the T inputs.

    Returns:
        (B, T, D) outputs; then the scores dict when requested; then the
        updated cache when a cache was passed.

    Example:

    >>> layer = TransformerDecoderLayer(num_heads=8, ff_dim=2048)
    >>> target = np.random.rand(2, 9, 512).astype("float32")
    >>> source = np.random.rand(2, 12, 512).astype("float32")
    >>> y, scores = layer(target, source, return_attention_scores=True)
    >>> scores["cross_attention"].shape
    (2, 8, 9, 12)
    """

    def build(self, inputs_shape, encoder_outputs_shape=None):
        where = f"TransformerDecoderLayer '{self.name}'"
        inputs_shape = check.sequence_shape("inputs", inputs_shape, where)
        self._build_self_attention(inputs_shape)
        self.cross_attention = None
        self.cross_attention_norm = None
        if encoder_outputs_shape is not None:
            encoder_outputs_shape = check.sequence_shape(
                "encoder_outputs", encoder_outputs_shape, where
            )
            self.cross_attention = self._make_attention(
                "cross_attention", inputs_shape, encoder_outputs_shape
            )
            self.cross_attention_norm = self._make_norm(
                "cross_attention_norm", inputs_shape
            )
            self.cross_attention_dropout = self._make_dropout(
                "cross_attention_dropout"
            )
        self._build_feed_forward(inputs_shape)
        self.built = True

    @property
    def has_cross_attention(self):
        """Whether the layer was built with a cross-attention sublayer."""
        return getattr(self, "cross_attention", None) is not None

    def init_cache(self, batch_size, max_length, encoder_outputs=None):
        """A cache for decoding up to ``max_length`` positions.

        Args:
            batch_size: B.
            max_length: L, the number of self-attention cache slots.
            encoder_outputs: (B, S, De), required with cross-attention; its
                keys/values are projected here, once.

        Returns:
            ``{"self_attention": (k, v), "weights": {...}}``, plus
            ``"cross_attention"`` with cross-attention. ``"weights"`` holds
            each attention's ``decoding_weights()``, made here once so that
            a decoding loop does not reshape kernels at every step (absent
            for a quantized attention, which has none).
        """
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' must be built before `init_cache()`: "
                "call it once on inputs (and encoder outputs)."
            )
        cache = {
            "self_attention": self.self_attention.init_cache(
                batch_size, max_length
            )
        }
        weights = {
            "self_attention": self.self_attention.decoding_weights(
                fuse_qkv=True
            )
        }
        if self.has_cross_attention:
            if encoder_outputs is None:
                raise ValueError(
                    f"Layer '{self.name}' has cross-attention: pass "
                    "`encoder_outputs` to `init_cache()`."
                )
            cache["cross_attention"] = self.cross_attention.compute_key_value(
                encoder_outputs
            )
            weights["cross_attention"] = self.cross_attention.decoding_weights()
        # A loop's state holds no None: a quantized attention has none.
        weights = {k: v for k, v in weights.items() if v is not None}
        if weights:
            cache["weights"] = weights
        return cache

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
        # `mask`, `inputs_mask` and `encoder_outputs_mask` are filled in by
        # Keras from implicit masks.
        cross_cache = None if cache is None else cache.get("cross_attention")
        self._check_inputs(
            encoder_outputs, cross_cache, cache, cache_update_index
        )
        padding_mask = masking.check_padding_mask(
            masking.first_given(padding_mask, mask, inputs_mask),
            "padding_mask",
            inputs.shape[:2],
        )
        step = _Step(cache, return_attention_scores, training)
        x, scores = self._residual(
            inputs,
            self.self_attention_norm,
            self.self_attention_dropout,
            lambda x: step.attend(
                self.self_attention,
                "self_attention",
                x,
                x,
                query_mask=padding_mask,
                value_mask=None if cache is not None else padding_mask,
                attention_mask=attention_mask,
                use_causal_mask=use_causal_mask,
                cache_update_index=cache_update_index,
            ),
            training,
        )
        step.scores["self_attention"] = scores
        if self.has_cross_attention:
            x, step.scores["cross_attention"] = self._residual(
                x,
                self.cross_attention_norm,
                self.cross_attention_dropout,
                lambda y: step.attend(
                    self.cross_attention,
                    "cross_attention",
                    y,
                    encoder_outputs,
                    query_mask=padding_mask,
                    value_mask=masking.first_given(
                        encoder_padding_mask, encoder_outputs_mask
                    ),
                ),
                training,
            )
        x, _ = self._residual(
            x,
            self.feed_forward_norm,
            self.feed_forward_dropout,
            lambda y: (self.feed_forward(y, training=training), None),
            training,
        )
        return step.results(x)

    def _check_inputs(self, encoder_outputs, cross_cache, cache, index):
        """Refuses cross-attention inputs that do not fit the layer, and a
        cache without its position."""
        if self.has_cross_attention:
            if encoder_outputs is None and cross_cache is None:
                raise ValueError(
                    f"Layer '{self.name}' was built with cross-attention "
                    "and needs `encoder_outputs` (or a cache from "
                    "`init_cache(..., encoder_outputs)`)."
                )
        elif encoder_outputs is not None:
            raise ValueError(
                f"Layer '{self.name}' was built without cross-attention "
                "(decoder-only) but received `encoder_outputs`. Build a new "
                "layer by calling it with `encoder_outputs` first."
            )
        if cache is not None and index is None:
            raise ValueError(
                "`cache_update_index` is required with a `cache`: the "
                "position of the first of the new inputs."
            )


class _Step:
    """One call of a ``TransformerDecoderLayer``: the cache it reads, the
    cache and attention scores it returns.

    Args:
        cache: the layer's cache (``init_cache``), or None.
        return_attention_scores: whether the call returns the scores.
        training: the call's ``training``.
    """

    def __init__(self, cache, return_attention_scores, training):
        self.cache = cache
        self.weights = {} if cache is None else cache.get("weights", {})
        self.new_cache = {"weights": self.weights} if self.weights else {}
        self.return_attention_scores = return_attention_scores
        self.training = training
        self.scores = {}

    def attend(self, attention, name, query, value, **kwargs):
        """``(outputs, scores or None)`` of ``attention``; keeps its
        updated cache."""
        cached = None if self.cache is None else self.cache.get(name)
        results = attention(
            query,
            value,
            return_attention_scores=self.return_attention_scores,
            training=self.training,
            cache=cached,
            decoding_weights=self.weights.get(name),
            **kwargs,
        )
        # The scores are computed only when asked for, so that the
        # attention may run fused (see MultiHeadAttention).
        if not isinstance(results, tuple):
            results = (results,)
        if cached is not None:
            self.new_cache[name] = results[-1]
        scores = results[1] if self.return_attention_scores else None
        return results[0], scores

    def results(self, outputs):
        """The layer's return value: ``outputs``, then the scores and the
        new cache when asked for."""
        results = (outputs,)
        if self.return_attention_scores:
            results += (self.scores,)
        if self.cache is not None:
            results += (self.new_cache,)
        return results[0] if len(results) == 1 else results
