"""Multi-head attention (section 3.2.2), a drop-in for Keras' own layer."""

import functools

import keras
from keras import ops

from keras_transformer.layers import masking
from keras_transformer.layers import validation as check
from keras_transformer.layers.attention import (
    fused_dot_product_attention,
    scaled_dot_product_attention,
)


@functools.cache
def accelerator_present():
    """Whether Keras sees a GPU or TPU (checked once per process)."""
    devices = keras.distribution.list_devices()
    return any(not device.lower().startswith("cpu") for device in devices)


def _heads_first(tensor):
    """(B, T, N, H) -> (B, N, T, H)."""
    return ops.transpose(tensor, (0, 2, 1, 3))


def clone_initializer(initializer):
    """A fresh copy, so that sublayers do not share one seeded instance."""
    return initializer.__class__.from_config(initializer.get_config())


@keras.saving.register_keras_serializable(package="keras_transformer")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention with masks, score output and a key/value cache.

    MultiHead(Q, K, V) = Concat(head_1, ..., head_N) W^O with
    head_i = Attention(Q W^Q_i, K W^K_i, V W^V_i) (paper section 3.2.2).

    The weights have the shapes and the ``get_weights()`` order of
    ``keras.layers.MultiHeadAttention`` (query, key, value and output
    projections; kernel then bias), so
    ``ours.set_weights(keras_mha.get_weights())`` reproduces its outputs and
    scores. Two differences: the softmax always runs in float32, and masks
    never use a ``-1e9`` constant, so float16/bfloat16 inputs and fully
    masked rows stay finite (such rows get zero weights).

    For incremental decoding the layer takes a fixed-size key/value
    ``cache``: with ``cache_update_index`` the keys/values of the new
    positions are written into the cache at that index (static shapes, so
    the decoding loop compiles under XLA); without it the cache is read as
    precomputed keys/values, e.g. the projections of the encoder output
    made once by ``compute_key_value``.

    Args:
        num_heads: N, the number of attention heads.
        key_dim: H, the size of each query/key head.
        value_dim: Hv, the size of each value head; defaults to ``key_dim``.
        dropout: dropout rate on the attention weights (training only).
        use_bias: whether the four projections have biases.
        output_shape: size of the last output axis; defaults to the last
            axis of ``query``.
        kernel_initializer: initializer of the projection kernels.
        bias_initializer: initializer of the projection biases.
        seed: seed of the attention dropout.
        fused_attention: "auto" (default), True or False. When a call
            needs neither the attention weights nor dropout on them, uses no
            cache, has ``value_dim == key_dim`` and a compute dtype other
            than float16, True computes it with
            ``keras.ops.dot_product_attention`` (cuDNN flash attention with
            JAX on a GPU); False always uses the explicit
            softmax(Q K^T) V. "auto" fuses only when Keras sees a GPU or
            TPU: on a CPU the fused op measured slower (bench/attention.py).
            Both paths give the same outputs, masks included.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Call arguments:
        query: (B, T, Dq) queries.
        value: (B, S, Dv) values; may be None when ``cache`` holds
            precomputed keys/values.
        key: (B, S, Dk) keys; defaults to ``value``.
        query_mask: (B, T) True on real query tokens. Filled in by Keras
            from an implicit mask (``Embedding(mask_zero=True)``).
        value_mask: (B, S) True on real key/value tokens; likewise.
        key_mask: (B, S) True on real key tokens; likewise.
        attention_mask: boolean (B, T, S) or (T, S) mask, True = may
            attend. With a cache, S is the cache length.
        use_causal_mask: query i may only attend to keys j <= i (j <=
            ``cache_update_index + i`` with a cache).
        return_attention_scores: also return the (B, N, T, S) weights.
        training: whether dropout is active.
        cache: tuple ``(key_cache, value_cache)`` of shapes (B, N, S, H)
            and (B, N, S, Hv) (heads first, the layout the attention
            products read, so no step transposes a cache), from
            ``init_cache`` or
            ``compute_key_value``.
        cache_update_index: int or scalar tensor, the position of the first
            query; the new keys/values are written there and cache slots
            after the last written one are masked.
        decoding_weights: optional dict from ``decoding_weights()``: the
            same projections as 2-D kernels, made once before a decoding
            loop (faster under XLA on CPU; the outputs are unchanged).

    Returns:
        ``outputs`` (B, T, D); then ``scores`` (B, N, T, S) when
        ``return_attention_scores``; then the updated ``cache`` when a cache
        was passed.

    Example:

    >>> mha = MultiHeadAttention(num_heads=8, key_dim=64)
    >>> x = np.random.rand(2, 10, 512).astype("float32")
    >>> y, scores = mha(x, x, use_causal_mask=True,
    ...                 return_attention_scores=True)
    >>> y.shape, scores.shape
    ((2, 10, 512), (2, 8, 10, 10))
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        seed=None,
        fused_attention="auto",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if fused_attention not in ("auto", True, False):
            raise ValueError(
                '`fused_attention` must be "auto", True or False. Received: '
                f"fused_attention={fused_attention!r}"
            )
        self.fused_attention = fused_attention
        self.supports_masking = True
        self.num_heads = check.positive_int("num_heads", num_heads)
        self.key_dim = check.positive_int("key_dim", key_dim)
        self.value_dim = (
            check.positive_int("value_dim", value_dim, allow_none=True)
            or self.key_dim
        )
        self.dropout = check.rate("dropout", dropout)
        self.use_bias = bool(use_bias)
        if isinstance(output_shape, (tuple, list)):
            if len(output_shape) != 1:
                raise ValueError(
                    "`output_shape` must be an int (the size of the last "
                    f"output axis). Received: output_shape={output_shape!r}"
                )
            output_shape = output_shape[0]
        self.output_dim = check.positive_int(
            "output_shape", output_shape, allow_none=True
        )
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.seed = seed
        self.seed_generator = (
            keras.random.SeedGenerator(seed) if self.dropout > 0 else None
        )

    def _dense(self, equation, output_shape, bias_axes, name):
        dense = keras.layers.EinsumDense(
            equation,
            output_shape=output_shape,
            bias_axes=bias_axes if self.use_bias else None,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name=name,
        )
        # Inputs may carry Keras implicit masks; this layer consumes them, so
        # let the projections pass them through instead of warning.
        dense.supports_masking = True
        return dense

    def build(self, query_shape, value_shape=None, key_shape=None):
        name = f"{self.__class__.__name__} '{self.name}'"
        query_shape = check.sequence_shape("query", query_shape, name)
        if value_shape is None:
            value_shape = query_shape
        value_shape = check.sequence_shape("value", value_shape, name)
        key_shape = value_shape if key_shape is None else key_shape
        key_shape = check.sequence_shape("key", key_shape, name)
        heads = (None, self.num_heads)
        self.query_dense = self._dense(
            "abc,cde->abde", heads + (self.key_dim,), "de", "query"
        )
        self.query_dense.build(query_shape)
        self.key_dense = self._dense(
            "abc,cde->abde", heads + (self.key_dim,), "de", "key"
        )
        self.key_dense.build(key_shape)
        self.value_dense = self._dense(
            "abc,cde->abde", heads + (self.value_dim,), "de", "value"
        )
        self.value_dense.build(value_shape)
        output_dim = self.output_dim or query_shape[-1]
        self.output_dense = self._dense(
            "abcd,cde->abe", (None, output_dim), "e", "attention_output"
        )
        self.output_dense.build(
            query_shape[:2] + (self.num_heads, self.value_dim)
        )
        self.built = True

    def init_cache(self, batch_size, max_length):
        """Zero key/value cache for ``max_length`` positions.

        Returns:
            ``(key_cache, value_cache)`` of shapes (B, N, L, H) and
            (B, N, L, Hv) in the compute dtype.
        """
        self._require_built("init_cache")
        dtype = self.compute_dtype
        shape = (batch_size, self.num_heads, max_length)
        return (
            ops.zeros(shape + (self.key_dim,), dtype=dtype),
            ops.zeros(shape + (self.value_dim,), dtype=dtype),
        )

    def compute_key_value(self, value, key=None):
        """Projects ``value`` (and ``key``) once, for a read-only cache.

        Returns:
            ``(keys, values)`` of shapes (B, N, S, H) and (B, N, S, Hv).
        """
        self._require_built("compute_key_value")
        key = value if key is None else key
        return (
            _heads_first(self.key_dense(key)),
            _heads_first(self.value_dense(value)),
        )

    def decoding_weights(self, fuse_qkv=False):
        """The projections as 2-D kernels, made once before a decoding loop.

        The layer keeps the weight layout of Keras' MultiHeadAttention
        (e.g. a (D, N, H) query kernel). Inside a compiled decoding loop a
        3-D kernel is reshaped at every step, and XLA on CPU then fuses that
        reshape (and the layer norm before it) into a slow loop around the
        one-token matrix-vector product. These 2-D copies, made once outside
        the loop and passed back through ``call(decoding_weights=...)``,
        give the same outputs with plain matrix products.

        Args:
            fuse_qkv: one (D, N*(2H + Hv)) kernel that projects a token to
                its query, key and value at once (self-attention, where all
                three come from the same input).

        Returns:
            A dict of compute-dtype tensors: ``"qkv"`` (with ``fuse_qkv``)
            or ``"query"``, and ``"output"`` (N*Hv, D); each with a
            ``"..._bias"`` entry when the layer has biases. None when the
            layer is quantized (``quantize("int8")``): its steps then run
            its quantized projections, as a full pass does.

        Example:

        >>> weights = mha.decoding_weights(fuse_qkv=True)
        >>> y, cache = mha(x, x, cache=cache, cache_update_index=i,
        ...                decoding_weights=weights)
        """
        self._require_built("decoding_weights")
        projections = (
            self.query_dense,
            self.key_dense,
            self.value_dense,
            self.output_dense,
        )
        if any(dense.quantization_mode for dense in projections):
            return None
        dtype = self.compute_dtype
        denses = [self.query_dense]
        if fuse_qkv:
            denses += [self.key_dense, self.value_dense]
        kernels, biases = [], []
        for dense in denses:
            kernel = ops.cast(dense.kernel, dtype)
            kernels.append(ops.reshape(kernel, (kernel.shape[0], -1)))
            if self.use_bias:
                biases.append(ops.reshape(ops.cast(dense.bias, dtype), (-1,)))
        name = "qkv" if fuse_qkv else "query"
        weights = {name: ops.concatenate(kernels, axis=1)}
        if self.use_bias:
            weights[f"{name}_bias"] = ops.concatenate(biases, axis=0)
        output = ops.cast(self.output_dense.kernel, dtype)
        weights["output"] = ops.reshape(output, (-1, output.shape[-1]))
        if self.use_bias:
            weights["output_bias"] = ops.cast(self.output_dense.bias, dtype)
        return weights

    def _packed_projection(self, inputs, weights, name, sizes):
        """``inputs`` (B, T, D) through the 2-D kernel ``weights[name]``,
        split into (B, T, N, size) heads, one for each of ``sizes``."""
        outputs = ops.matmul(inputs, weights[name])
        if f"{name}_bias" in weights:
            outputs = outputs + weights[f"{name}_bias"]
        shape = tuple(ops.shape(inputs)[:2])
        heads, start = [], 0
        for size in sizes:
            width = self.num_heads * size
            part = outputs[..., start : start + width]
            heads.append(ops.reshape(part, shape + (self.num_heads, size)))
            start += width
        return heads

    def _output_projection(self, outputs, weights):
        """(B, T, N, Hv) attention outputs to (B, T, D)."""
        if weights is None:
            return self.output_dense(outputs)
        shape = tuple(ops.shape(outputs)[:2])
        outputs = ops.reshape(
            outputs, shape + (self.num_heads * self.value_dim,)
        )
        outputs = ops.matmul(outputs, weights["output"])
        if "output_bias" in weights:
            outputs = outputs + weights["output_bias"]
        return outputs

    def _fuses(self):
        if self.fused_attention == "auto":
            return accelerator_present()
        return self.fused_attention

    def _can_fuse(self, heads_first, return_attention_scores, training):
        """Whether ``keras.ops.dot_product_attention`` may compute this call:
        no weights to return, no dropout on them, no cache."""
        dropout = bool(training) and self.dropout > 0
        return (
            self._fuses()
            and self.value_dim == self.key_dim  # as the Keras op requires
            # JAX on a CPU has no float16 x float16 -> float32 product.
            and self.compute_dtype != "float16"
            and not heads_first
            and not return_attention_scores
            and not dropout
        )

    def _require_built(self, what):
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' must be built before `{what}()`: call "
                "it once on inputs or call `build(query_shape)`."
            )

    def call(
        self,
        query,
        value=None,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=None,
        cache=None,
        cache_update_index=None,
        decoding_weights=None,
    ):
        fused = self._check_inputs(
            value, key, cache, cache_update_index, decoding_weights
        )
        q, new_k, new_v = self._project_query(query, decoding_weights, fused)
        # Caches hold (B, N, S, H) keys and values: heads first, as the
        # attention products read them. Projected ones are (B, S, N, H).
        heads_first = cache is not None
        k, v, key_padding, cache = self._keys_and_values(
            value,
            key,
            value_mask,
            key_mask,
            cache,
            cache_update_index,
            new_k,
            new_v,
        )
        mask = self._mask(
            query,
            k,
            heads_first,
            query_mask,
            key_padding,
            attention_mask,
            use_causal_mask,
            cache_update_index,
        )
        k, v = ops.cast(k, q.dtype), ops.cast(v, q.dtype)
        if self._can_fuse(heads_first, return_attention_scores, training):
            outputs = fused_dot_product_attention(q, k, v, mask=mask)
        else:
            if not heads_first:
                k, v = _heads_first(k), _heads_first(v)
            outputs, scores = scaled_dot_product_attention(
                _heads_first(q),
                k,
                v,
                mask=mask,
                dropout_rate=self.dropout,
                seed=self.seed_generator,
                training=training,
            )
            outputs = ops.transpose(outputs, (0, 2, 1, 3))
        outputs = self._output_projection(outputs, decoding_weights)
        results = (outputs,)
        if return_attention_scores:
            results += (scores,)
        if cache is not None:
            results += (cache,)
        return results[0] if len(results) == 1 else results

    def _check_inputs(
        self, value, key, cache, cache_update_index, decoding_weights
    ):
        """Refuses inputs that do not go together; returns whether the
        fused ``qkv`` kernel of ``decoding_weights`` projects them."""
        if value is None and (cache is None or cache_update_index is not None):
            raise ValueError(
                f"Layer '{self.name}' needs `value`; it may only be omitted "
                "when `cache` holds precomputed keys/values (and no "
                "`cache_update_index` is given)."
            )
        fused = decoding_weights is not None and "qkv" in decoding_weights
        if fused and (cache_update_index is None or key is not None):
            raise ValueError(
                f"Layer '{self.name}': `decoding_weights` with a fused "
                "'qkv' kernel project keys and values from `query`, so they "
                "need a `cache` with `cache_update_index` and no separate "
                "`key` (self-attention decoding). Use "
                "`decoding_weights(fuse_qkv=False)` otherwise."
            )
        return fused

    def _project_query(self, query, decoding_weights, fused):
        """(B, T, N, H) queries, and with the fused kernel the new keys and
        values too (else None, None)."""
        if fused:
            return self._packed_projection(
                query,
                decoding_weights,
                "qkv",
                (self.key_dim, self.key_dim, self.value_dim),
            )
        if decoding_weights is not None:
            (q,) = self._packed_projection(
                query, decoding_weights, "query", (self.key_dim,)
            )
            return q, None, None
        return self.query_dense(query), None, None

    def _keys_and_values(
        self,
        value,
        key,
        value_mask,
        key_mask,
        cache,
        cache_update_index,
        new_k,
        new_v,
    ):
        """The keys and values to attend to, their padding mask (None when
        a cache is being filled) and the cache to return.

        Without a cache: projected from ``value`` (and ``key``), (B, S, N,
        H). With a cache and no ``cache_update_index``: the cache's (B, N,
        S, H). With both: the new step's keys and values (projected, or
        ``new_k`` and ``new_v``) written into the cache at the index.
        """
        if cache is None:
            k = self.key_dense(value if key is None else key)
            v = self.value_dense(value)
            return k, v, masking.logical_and(value_mask, key_mask), None
        if cache_update_index is None:
            k, v = cache
            return k, v, masking.logical_and(value_mask, key_mask), cache
        key_cache, value_cache = cache
        start = [0, 0, cache_update_index, 0]
        if new_k is None:
            new_k = self.key_dense(value if key is None else key)
            new_v = self.value_dense(value)
        k = ops.slice_update(
            key_cache, start, ops.cast(_heads_first(new_k), key_cache.dtype)
        )
        v = ops.slice_update(
            value_cache, start, ops.cast(_heads_first(new_v), value_cache.dtype)
        )
        return k, v, None, (k, v)

    def _mask(
        self,
        query,
        k,
        heads_first,
        query_mask,
        key_padding,
        attention_mask,
        use_causal_mask,
        cache_update_index,
    ):
        """The (B, 1, T, S) boolean mask shared by the heads (True: may
        attend), or None when every query may attend to every key."""
        axis = 2 if heads_first else 1
        key_length = k.shape[axis] or ops.shape(k)[axis]
        if key_padding is not None:
            key_padding = masking.check_padding_mask(
                key_padding, "value_mask", (query.shape[0], k.shape[axis])
            )
        attention_mask = masking.check_attention_mask(
            attention_mask,
            "attention_mask",
            query.shape[0],
            query.shape[1],
            key_length,
        )
        if query_mask is not None:
            query_mask = masking.check_padding_mask(
                query_mask, "query_mask", query.shape[:2]
            )
        query_length = ops.shape(query)[1]
        offset = 0 if cache_update_index is None else cache_update_index
        mask = masking.merge_masks(
            query_mask=query_mask,
            key_mask=key_padding,
            attention_mask=attention_mask,
            use_causal_mask=use_causal_mask,
            query_length=query_length,
            key_length=key_length,
            causal_offset=offset,
        )
        if cache_update_index is not None and not use_causal_mask:
            # Slots after the last written position hold no keys yet.
            filled = masking.causal_mask(
                1, key_length, offset + query_length - 1
            )
            mask = masking.logical_and(mask, filled)
        if mask is None:
            return None
        return ops.expand_dims(mask, 1)  # (B, 1, T, S): shared by heads

    def compute_output_shape(
        self, query_shape, value_shape=None, key_shape=None
    ):
        output_dim = self.output_dim or query_shape[-1]
        return tuple(query_shape[:-1]) + (output_dim,)

    def compute_output_spec(self, *args, **kwargs):
        # Trace `call`, so that scores and caches get their specs too.
        return keras.Operation.compute_output_spec(self, *args, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "value_dim": self.value_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "output_shape": self.output_dim,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(
                    self.bias_initializer
                ),
                "seed": self.seed,
                "fused_attention": self.fused_attention,
            }
        )
        return config
